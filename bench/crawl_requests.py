"""(b) Requests spent by a full cycle over 600 replayed instances: nothing new, then 1% new.

Every instance of the registry is replayed (5 tender + 5 non-tender rows each, recorded
rows renumbered per instance). After a first crawl has stored everything, a cycle with
nothing new must cost at most 2 requests per instance and kind. Then the cost of watching
1,000 followed packages an hour (bench/watch_requests.py).
"""

import random
import tempfile
import time
from pathlib import Path

from bench import watch_requests
from lpse_crawler.spse.registry import load_registry
from tests.conftest import run_crawl
from tests.spse_replay import SpseReplayServer

ROWS_PER_KIND = 5
KINDS = 2
BUDGET = 2  # requests per instance and kind when nothing is new
ENV = {"LPSE_CONCURRENCY": "16", "LPSE_PAGE_SIZE": "100", "LOG_LEVEL": "WARNING"}


def cycle(server: SpseReplayServer, db: Path, codes: list[str], label: str) -> int:
    before, start = server.count(), time.perf_counter()
    result = run_crawl(server.base_url, db, codes, **ENV)
    if result.returncode:
        raise SystemExit(f"crawl failed:\n{result.log[-3000:]}")
    spent, seconds = server.count() - before, time.perf_counter() - start
    per = spent / (len(codes) * KINDS)
    print(f"    {label:<34} {spent:>6} requests = {per:.2f} per instance and kind ({seconds:.0f} s)")
    return spent


def main() -> None:
    codes = [r.code for r in load_registry()]
    with tempfile.TemporaryDirectory() as tmp, SpseReplayServer(codes, rows_per_kind=ROWS_PER_KIND) as server:
        db = Path(tmp) / "bench.db"
        packages = len(server.dataset.packages)
        print(
            f"(b) requests per cycle, {len(codes)} instances x {KINDS} kinds, {packages:,} packages replayed"
        )
        cycle(server, db, codes, "first crawl (stores everything)")
        quiet = cycle(server, db, codes, "nothing new")
        rng = random.Random(600)
        new = max(1, packages // 100)
        for _ in range(new):
            server.dataset.publish(rng.choice(codes), rng.choice(["tender", "nontender"]), 1)
        busy = cycle(server, db, codes, f"1% new ({new} packages)")
        limit = BUDGET * len(codes) * KINDS
        verdict = "MET" if quiet <= limit else "MISSED"
        print(f"    nothing new: {quiet} requests, budget {limit}: {verdict}")
        print(f"    1% new: {busy - quiet} extra requests = {(busy - quiet) / new:.1f} per new package")
    watch_requests.main()


if __name__ == "__main__":
    main()
