"""(a) Items per second through normalise + store, for 50,000 items shaped like the recorded ones.

Baseline, measured in the same run on the same machine: the same rows written with the
standard library's sqlite3, one transaction per row (the least a durable per-item store
can cost). Target: at least 2,000 items/s through normalise + store.
"""

import json
import resource
import sqlite3
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

from lpse_crawler.items import RawPackage
from lpse_crawler.spse.listing import NONTENDER, TENDER, parse_listing_row
from lpse_crawler.spse.normalise import normalise
from lpse_crawler.spse.pages import parse_announcement, parse_schedule
from lpse_crawler.spse.registry import load_registry, sync_registry
from lpse_crawler.store.database import database
from lpse_crawler.store.schema import open_database
from lpse_crawler.store.tenders import upsert_tender

RECORDED = Path(__file__).resolve().parent.parent / "tests" / "files" / "recorded"
ITEMS = 50_000
TARGET = 2_000


def raw_packages(count: int) -> list[RawPackage]:
    """`count` packages: recorded rows (codes renumbered) with the recorded detail pages."""
    announcement = parse_announcement((RECORDED / "nontender_pengumumanpl.htm").read_text())
    announcement.fields.pop("kode paket")
    schedule = parse_schedule((RECORDED / "nontender_jadwal_berubah_pontianak_10748199000.html").read_text())
    sources = [(TENDER, "dt_lelang_kemkes_tahun2025.json"), (NONTENDER, "dt_pl_kemkes_tahun2025.json")]
    rows = [
        (layout, row) for layout, name in sources for row in json.loads((RECORDED / name).read_text())["data"]
    ]
    packages = []
    for n in range(count):
        layout, row = rows[n % len(rows)]
        cells = [str(30_000_000_000 + n * 1000), *row[1:]]
        row = parse_listing_row(layout, cells)
        url = f"https://example.invalid/{n}"
        packages.append(
            RawPackage("kemkes", "Asia/Jakarta", layout.kind, row, cells, announcement, schedule, url)
        )
    return packages


def baseline(items: list, path: Path) -> float:
    """Seconds to write the already-normalised rows with plain sqlite3, one commit each."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=wal")
    db.execute("PRAGMA synchronous=normal")
    db.execute("CREATE TABLE t (kind TEXT, kode TEXT, body TEXT, UNIQUE (kind, kode))")
    start = time.perf_counter()
    for item in items:
        db.execute("BEGIN IMMEDIATE")
        db.execute(
            "INSERT OR REPLACE INTO t VALUES (?, ?, ?)",
            (item.kind, item.kode, json.dumps(asdict(item), default=str)),
        )
        db.execute("COMMIT")
    seconds = time.perf_counter() - start
    db.close()
    return seconds


def main() -> None:
    packages = raw_packages(ITEMS)
    with tempfile.TemporaryDirectory() as tmp:
        open_database(f"sqlite:///{tmp}/bench.db")
        sync_registry(load_registry())
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        items = []
        for raw in packages:
            item = normalise(raw)
            upsert_tender(item)
            items.append(replace(item))
        seconds = time.perf_counter() - start
        rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        database.close()
        base = baseline(items, Path(tmp) / "baseline.db")
    rate, base_rate = ITEMS / seconds, ITEMS / base
    print(
        f"(a) normalise + store: {ITEMS:,} items in {seconds:.1f} s = {rate:,.0f} items/s "
        f"(target >= {TARGET:,}: {'MET' if rate >= TARGET else 'MISSED'})"
    )
    print(
        f"    baseline, plain sqlite3 insert per row: {base_rate:,.0f} rows/s; "
        f"ratio ours/baseline = {rate / base_rate:.2f}"
    )
    print(
        f"    peak RSS {rss_peak / 1024:.0f} MiB ({(rss_peak - rss_before) / 1024:+.0f} MiB during the run)"
    )


if __name__ == "__main__":
    main()
