"""Offline demo: replay SPSE on loopback, crawl several instances twice, print what was stored.

    make demo        (or: .venv/bin/python scripts/demo.py)

The first crawl stores every replayed package; then two new packages are published and
the second crawl spends only the requests the news needs.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lpse_crawler.crawl_state import last_health  # noqa: E402
from lpse_crawler.db import Tender, TenderListing  # noqa: E402
from lpse_crawler.health import health_table  # noqa: E402
from lpse_crawler.schema import open_database  # noqa: E402
from tests.spse_replay import SpseReplayServer  # noqa: E402

INSTANCES = ["kemkes", "nasional", "jakarta", "pontianak", "makassar", "jayapurakota"]
DATABASE = ROOT / "data" / "demo.db"


def crawl(server: SpseReplayServer) -> None:
    env = os.environ | {
        "LPSE_BASE_URL": server.base_url,
        "DATABASE_URL": f"sqlite:///{DATABASE}",
        "LPSE_YEARS": "2025,2026",  # the recorded listings are fiscal year 2025
        "LPSE_DOWNLOAD_DELAY": "0",  # loopback: no need to be gentle
        "LPSE_AUTOTHROTTLE": "0",
        "LPSE_CONCURRENCY": "4",
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "scrapy", "crawl", "lpse", "-a", f"instances={','.join(INSTANCES)}"]
    subprocess.run(command, env=env, cwd=ROOT, check=True)


def report(title: str, server: SpseReplayServer) -> None:
    print(f"\n== {title} ==")
    print(health_table(last_health(INSTANCES)))
    for kind in ("tender", "nontender"):
        print(f"{kind:>10}: {Tender.select().where(Tender.kind == kind).count()} paket tersimpan")
    print(f"  listings: {TenderListing.select().count()} (a package can be listed on several LPSE)")
    print(f"  replay server answered {server.count()} requests in all")


def main() -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DATABASE}{suffix}").unlink(missing_ok=True)
    with SpseReplayServer(INSTANCES) as server:
        print(f"SPSE replay server on {server.base_url}, database {DATABASE}")
        crawl(server)
        open_database(f"sqlite:///{DATABASE}")
        report("first crawl", server)
        server.dataset.publish("jakarta", "tender", 1)
        server.dataset.publish("makassar", "nontender", 1)
        before = server.count()
        crawl(server)
        report("second crawl: two new packages published", server)
        print(f"  second crawl: {server.count() - before} requests for {len(INSTANCES)} instances x 2 kinds")
        newest = Tender.select().order_by(Tender.first_seen_at.desc()).first()
        hps = f"{newest.hps:,}".replace(",", ".")
        print(f"\nPaket terbaru: [{newest.kode}] {newest.nama}, HPS Rp {hps}, batas {newest.deadline}")


if __name__ == "__main__":
    main()
