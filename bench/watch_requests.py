"""(w) Requests per hour spent watching 1,000 followed packages, and a real run that checks
the simulated cost per read is what the crawl spends.

The packages follow a tender's life as SPSE schedules it (days after the announcement):
bids close after 7-21 days, opening and evaluation take 3-10, the winner is announced and
the objection period (Masa Sanggah) runs 5 days, the award letter 2, the contract is signed
2-7 days later. One in twenty is cancelled at a random moment before the award; one in ten
never records a contract. A package is followed at a random moment of its bidding period
and watched from then until watching ends (following/watching.py). Follows arrive evenly
over 120 days; the hours of days 45-75 are measured and scaled to 1,000 packages followed
at once. Each read costs what the crawl spends (watching.requests_of of the tabs
watching.result_tabs asks for, at the stage the package is in).

The real run: the replay server with 20 instances, 2 packages followed on each (one open for
bids, one past its award, both due), one crawl; the requests the server counts beyond a
crawl with nothing due must equal the simulated cost of those reads and the crawl's stats.
"""

import random
import re
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lpse_crawler.following.watching import next_watch, requests_of, result_tabs

FOLLOWED = 1000
DAYS, MEASURED = 120, (45, 75)
START = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def life(rng: random.Random, announced: datetime) -> tuple[tuple, datetime | None, bool]:
    """(jadwal rows, when cancelled or None, whether a contract is ever recorded)."""
    day = timedelta(days=1)
    close = announced + rng.randint(7, 21) * day
    evaluated = close + rng.randint(3, 10) * day
    sanggah = evaluated + rng.randint(1, 3) * day
    sppbj = sanggah + 5 * day
    kontrak = sppbj + 2 * day
    signed = kontrak + rng.randint(2, 7) * day
    rows = (
        ("Pengumuman Pascakualifikasi", announced, close),
        ("Upload Dokumen Penawaran", announced, close),
        ("Evaluasi Penawaran", close, evaluated),
        ("Pengumuman Pemenang", evaluated, sanggah),
        ("Masa Sanggah", sanggah, sppbj),
        ("Surat Penunjukan Penyedia Barang/Jasa", sppbj, kontrak),
        ("Penandatanganan Kontrak", kontrak, signed),
    )
    cancelled = announced + (evaluated - announced) * rng.random() if rng.random() < 0.05 else None
    return rows, cancelled, rng.random() >= 0.1


def stage_at(rows: tuple, moment: datetime) -> str:
    started = [name for name, start, _ in rows if start <= moment]
    return started[-1] if started else rows[0][0]


def simulate(rng: random.Random) -> tuple[list[int], float, int]:
    """(requests in each measured hour, packages watched at once on average, reads)."""
    hours = int((MEASURED[1] - MEASURED[0]) * 24)
    spent, watched_hours, reads = [0] * hours, 0.0, 0
    window = (START + timedelta(days=MEASURED[0]), START + timedelta(days=MEASURED[1]))
    arrivals = FOLLOWED * 3  # enough follows that about FOLLOWED are watched at once
    for _ in range(arrivals):
        announced = START + timedelta(days=rng.uniform(-30, DAYS))
        rows, cancelled, contracts = life(rng, announced)
        moment = announced + (rows[1][2] - announced) * rng.random()  # followed while bidding
        start = moment
        due = next_watch(rows, moment, False, False)
        while due is not None:
            moment = due
            ended = cancelled is not None and moment >= cancelled
            tabs = () if ended else result_tabs(stage_at(rows, moment), rows, moment)
            contracted = contracts and "contracts" in tabs and moment >= rows[-1][1]
            if window[0] <= moment < window[1]:
                spent[int((moment - window[0]) / HOUR)] += requests_of(tabs)
                reads += 1
            due = next_watch(rows, moment, ended, contracted)
        lo, hi = max(start, window[0]), min(moment, window[1])
        watched_hours += max(0.0, (hi - lo) / HOUR)
    return spent, watched_hours / hours, reads


def real_check() -> None:
    from lpse_crawler.people import follows
    from lpse_crawler.people.crypto import Keyring, generate_key
    from lpse_crawler.people.personal_data import create_subscriber
    from lpse_crawler.spse.registry import load_registry, sync_registry
    from lpse_crawler.store.database import database, utcnow
    from lpse_crawler.store.models import Tender
    from lpse_crawler.store.schema import open_database
    from tests.conftest import run_crawl
    from tests.spse_replay import SpseReplayServer

    codes = [r.code for r in load_registry()][:20]
    env = {"LPSE_CONCURRENCY": "8", "LOG_LEVEL": "INFO"}
    with tempfile.TemporaryDirectory() as tmp, SpseReplayServer(codes, rows_per_kind=3) as server:
        db = Path(tmp) / "bench.db"
        bidding = [server.dataset.publish(code, "tender", 1)[0] for code in codes]
        awarded = [p for p in server.dataset.packages.values() if p.kind == "tender" and p not in bidding]
        awarded = [next(p for p in awarded if code in p.instances) for code in codes]
        for package in awarded:
            server.dataset.set_stage("tender", package.kode, "Pengumuman Pemenang")
        if run_crawl(server.base_url, db, codes, **env).returncode:
            raise SystemExit("the first crawl failed")
        open_database(f"sqlite:///{db}")
        sync_registry(load_registry())
        keyring = Keyring.parse(generate_key("bench"))
        subscriber = create_subscriber(keyring, chat_id=1, name="Bench")
        ids = [Tender.get(Tender.kode == p.kode).id for p in bidding + awarded]
        subscriber.plan, subscriber.plan_expires_at = "pro", utcnow() + timedelta(days=30)
        subscriber.save()
        for tender_id in ids:
            if follows.follow(subscriber, tender_id, utcnow()) is not follows.Outcome.FOLLOWED:
                raise SystemExit(f"could not follow package {tender_id}")
        database.close()
        quiet_before = server.count()
        if run_crawl(server.base_url, db, codes, **env).returncode:
            raise SystemExit("the quiet crawl failed")
        quiet = server.count() - quiet_before
        open_database(f"sqlite:///{db}")
        Tender.update(watch_due_at=utcnow()).where(Tender.id.in_(ids)).execute()
        database.close()
        before = server.count()
        result = run_crawl(server.base_url, db, codes, **env)
        if result.returncode:
            raise SystemExit(f"the watching crawl failed:\n{result.log[-3000:]}")
        spent = server.count() - before - quiet
        counted = int(re.search(r"\((\d+) reading followed packages\)", result.log).group(1))
        expected = len(bidding) * requests_of(()) + len(awarded) * requests_of(("winners",))
        verdict = "MATCH" if spent == counted == expected else "MISMATCH"
        print(
            f"    real run: {len(ids)} due reads cost {spent} requests at the server, the crawl "
            f"counted {counted}, the simulation's cost {expected}: {verdict}"
        )
        if verdict != "MATCH":
            raise SystemExit("the simulated cost per read is not what the crawl spends")


def hourly() -> tuple[list[float], float, float]:
    """(requests in each measured hour, reads per hour, packages watched at once), scaled
    to FOLLOWED watched at once."""
    spent, watched, reads = simulate(random.Random(15))
    scale = FOLLOWED / watched
    return [n * scale for n in spent], reads * scale / len(spent), watched


def main() -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    per_hour, reads, watched = hourly()
    mean = sum(per_hour) / len(per_hour)
    peak = max(per_hour)
    print(f"(w) watching {FOLLOWED:,} followed packages (measured {watched:,.0f} at once, scaled)")
    print(
        f"    {mean:.0f} requests per hour on average, {peak:.0f} in the busiest hour "
        f"({reads:.0f} reads per hour); "
        f"{mean / 3600:.3f} requests/s of the default 3,000/h budget = {mean / 3000:.0%}"
    )
    print(f"    simulated in {time.perf_counter() - wall:.1f} s wall, {time.process_time() - cpu:.1f} s CPU")
    if not 0 < mean < 3000:
        raise SystemExit("watching costs nothing or more than the whole budget: the simulation is wrong")
    real_check()


if __name__ == "__main__":
    main()
