"""Freshness: a simulated working day of 600 instances, our crawl schedule against the fixed cycle.

The fleet is the real registry (600 instances, their zones) with two kinds and two fiscal
years each: 2,400 listings. How the publishing rates were chosen:
- 1,000 new packages per working day over the fleet (SPSE publishes some 250,000 tender and
  non-tender packages a year), 35% tenders and 65% non-tenders;
- per instance a rate drawn from a log-normal distribution (sigma 1.5): a few busy
  instances, most quiet (the busiest 1% publish about a seventh of all packages);
- next year's listing publishes 0.5% of this year's (the day is in March);
- each instance keeps its own hours: the working-week shape of policy.py moved by -1 to +2
  hours, and one instance in ten also publishes in the evening, so the schedule has to
  learn shapes it was not given.
Packages arrive as a Poisson process with those rates. The host answers one request per
second (the budget both strategies get); a check costs one request and every package it
finds two more (announcement and jadwal); a package is stored when its jadwal is read.

Fixed cycle (today's main): cron every 15 minutes runs every listing in turn; a run still
going makes the next one skip. Schedule (the code that runs: lpse_crawler/scheduling/policy.py):
cron every minute (a run still going makes it skip); a run starts 15 s late (the process
starting, the filter index) and takes listings as they fall due for LPSE_RUN_MINUTES (30),
the pace refreshed every 5 minutes as the crawl does. Both run 14 days to warm up (the
schedule learns), then a Tuesday is measured: the delay "published -> stored" of every
package published that day, and the requests spent that day.

Then the same day again with 1,000 followed packages read on their own schedule: their
requests per hour come from `python -m bench watching`'s simulation, spread evenly over the
day. They take the host's time from both strategies, and the schedule's pace leaves them
out of the budget as the crawl does (`policy.pace(..., reserved)`). The targets are judged
on the fleet without them (what the issue asks); the figures with them are printed beside.

A short real run then checks that the simulated scheduler is the code that runs: the crawl
(`scrapy crawl lpse`, scheduled) against the replay server, twice, one instance publishing
between the runs; every listing's stored next check must be what policy.next_check gives for
its stored state.
"""

import heapq
import math
import random
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench import watch_requests
from lpse_crawler.scheduling import policy
from lpse_crawler.spse.registry import load_registry

PER_DAY, TENDER_SHARE, SIGMA, NEXT_YEAR_SHARE = 1000, 0.35, 1.5, 0.005
BUDGET = 1.0  # requests per second to the host
START = datetime(2026, 2, 24, 0, 0, tzinfo=UTC).timestamp() - 7 * 3600  # Tuesday 00:00 WIB
WARM_DAYS, TAIL_HOURS = 14, 6
DAY = 86400.0
LIMITS = policy.Limits(
    requests_per_hour=BUDGET * 3600, min_wait=180.0, max_wait=3 * 3600.0, max_wait_next_year=24 * 3600.0
)
CRON_EVERY, RUN_MINUTES, RUN_STARTUP = 60.0, 30.0, 15.0
FIXED_EVERY = 900.0
TARGET_P50, TARGET_P95 = 300.0, 1800.0


@dataclass
class SimListing:
    offset: float
    year: int
    rate_per_day: float  # on a working day
    shape: tuple[float, ...]
    published: list[float] = field(default_factory=list)  # not found yet
    state: policy.Listing | None = None


def instance_shape(rng: random.Random) -> tuple[float, ...]:
    shift = rng.choice([-1, 0, 0, 1, 2])
    week = [policy.WORKING_WEEK[(h - shift) % policy.WEEK_HOURS] for h in range(policy.WEEK_HOURS)]
    if rng.random() < 0.1:  # publishes in the evening too
        week = [w + (0.8 if h % 24 in (19, 20, 21) and h < 120 else 0.0) for h, w in enumerate(week)]
    mean = sum(week) / len(week)
    return tuple(w / mean for w in week)


def make_fleet(rng: random.Random) -> list[SimListing]:
    registry = load_registry()
    draws = [rng.lognormvariate(0, SIGMA) for _ in registry]
    scale = PER_DAY / sum(draws)
    fleet = []
    for record, draw in zip(registry, draws, strict=True):
        offset = policy.utc_offset(record.timezone)
        shape = instance_shape(rng)
        for share in (TENDER_SHARE, 1 - TENDER_SHARE):
            day_rate = draw * scale * share
            fleet.append(SimListing(offset, 2026, day_rate, shape))
            fleet.append(SimListing(offset, 2027, day_rate * NEXT_YEAR_SHARE, shape))
    return fleet


def publish(fleet: list[SimListing], rng: random.Random, end: float) -> list[tuple[float, int]]:
    """Every package's (moment, listing index) from START to `end`, by thinning: a working
    day's rate spread over the week as the listing's shape says (a weekday weighs about
    1.35 times the week's mean hour)."""
    arrivals = []
    for index, listing in enumerate(fleet):
        peak = max(listing.shape)
        hourly = listing.rate_per_day / 24 / 1.35
        if hourly <= 0:
            continue
        moment = START
        while True:
            moment += rng.expovariate(hourly * peak / 3600)
            if moment >= end:
                break
            hour = policy.week_hour(moment, listing.offset)
            if rng.random() < listing.shape[hour] / peak:
                arrivals.append((moment, index))
    arrivals.sort()
    return arrivals


@dataclass
class Outcome:
    delays: list[float]
    requests: int  # during the measured day
    unfound: int
    cpu: float


def simulate(fleet: list[SimListing], arrivals, strategy: str, watching: float = 0.0) -> Outcome:
    """Run the host one request at a time from START; `strategy` is 'fixed' or 'schedule';
    `watching`: requests per hour the host spends reading followed packages besides."""
    cpu = time.process_time()
    day_start = START + WARM_DAYS * DAY
    day_end, end = day_start + DAY, day_start + DAY + TAIL_HOURS * 3600
    for listing in fleet:
        listing.published = []
        listing.state = policy.Listing(listing.offset, listing.year)
    delays, requests, next_arrival = [], 0, 0
    now = START
    listings_share = BUDGET - watching / 3600  # requests per second left to the listings

    def check(index: int) -> None:
        nonlocal now, next_arrival, requests
        while next_arrival < len(arrivals) and arrivals[next_arrival][0] <= now:
            fleet[arrivals[next_arrival][1]].published.append(arrivals[next_arrival][0])
            next_arrival += 1
        listing = fleet[index]
        found, listing.published = listing.published, []
        cost = 1 + policy.DETAIL_REQUESTS * len(found)
        if day_start <= now < day_end:
            requests += cost
        now += cost / listings_share
        delays.extend(now - moment for moment in found if day_start <= moment < day_end)
        listing.state = policy.observe(listing.state, now, len(found))

    if strategy == "fixed":
        while now < end:
            for index in range(len(fleet)):
                check(index)
            now = math.ceil(now / FIXED_EVERY) * FIXED_EVERY  # the next cron start
    else:
        due = [(0.0, index) for index in range(len(fleet))]
        heapq.heapify(due)
        pace, paced_at = 1.0, -1e12
        opens = START + RUN_STARTUP
        while now < end:
            closes = opens - RUN_STARTUP + RUN_MINUTES * 60
            if now < opens:
                now = opens
            if now >= closes:  # the run ends; cron starts the next on the next minute
                opens = math.ceil(now / CRON_EVERY) * CRON_EVERY + RUN_STARTUP
                continue
            if now - paced_at >= 300:
                pace, paced_at = policy.pace([listing.state for listing in fleet], now, LIMITS, watching), now
            when, index = due[0]
            if when > now:
                now = min(when, closes)
                continue
            heapq.heappop(due)
            check(index)
            listing = fleet[index]
            listing.state = policy.next_check(listing.state, now, pace, LIMITS)
            heapq.heappush(due, (listing.state.due, index))
    unfound = sum(1 for listing in fleet for moment in listing.published if day_start <= moment < day_end)
    unfound += sum(1 for moment, _ in arrivals[next_arrival:] if day_start <= moment < day_end)
    return Outcome(delays, requests, unfound, time.process_time() - cpu)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(label: str, outcome: Outcome, published: int) -> None:
    p50, p95 = percentile(outcome.delays, 0.5), percentile(outcome.delays, 0.95)
    print(
        f"    {label:<9} p50 {p50 / 60:5.1f} min  p95 {p95 / 60:5.1f} min  "
        f"requests {outcome.requests:>6,}  stored {len(outcome.delays):,}/{published:,}  "
        f"(simulated in {outcome.cpu:.0f} s CPU)"
    )


def main() -> None:
    wall = time.perf_counter()
    rng = random.Random(2026)
    fleet = make_fleet(rng)
    end = START + (WARM_DAYS + 1) * DAY + TAIL_HOURS * 3600
    arrivals = publish(fleet, rng, end)
    day_start = START + WARM_DAYS * DAY
    published = sum(1 for moment, _ in arrivals if day_start <= moment < day_start + DAY)
    print(
        f"(e) freshness: {len(fleet) // 4} instances, {len(fleet):,} listings, {published:,} packages "
        f"published on the measured Tuesday, host at {BUDGET:.0f} request/s"
    )
    fixed = simulate(fleet, arrivals, "fixed")
    report("fixed", fixed, published)
    scheduled = simulate(fleet, arrivals, "schedule")
    report("schedule", scheduled, published)
    verdicts("", scheduled, fixed, published)
    fixed_p50, p50 = percentile(fixed.delays, 0.5), percentile(scheduled.delays, 0.5)
    print(f"    p50 ratio fixed/schedule = {fixed_p50 / p50:.1f}x")
    watching = watched_per_hour()
    print(
        f"    the same day with {watch_requests.FOLLOWED:,} followed packages read again "
        f"({watching:.0f} requests/h, `python -m bench watching`'s simulation):"
    )
    fixed = simulate(fleet, arrivals, "fixed", watching)
    report("fixed", fixed, published)
    scheduled = simulate(fleet, arrivals, "schedule", watching)
    report("schedule", scheduled, published)
    verdicts("with them, ", scheduled, fixed, published)
    print(f"    wall {time.perf_counter() - wall:.0f} s")
    real_run_check()


def verdicts(label: str, scheduled: Outcome, fixed: Outcome, published: int) -> None:
    p50, p95 = percentile(scheduled.delays, 0.5), percentile(scheduled.delays, 0.95)
    checks = [
        ("p50 under 5 min", p50 < TARGET_P50),
        ("p95 under 30 min", p95 < TARGET_P95),
        ("requests at most the fixed cycle's", scheduled.requests <= fixed.requests),
        ("every package stored", scheduled.unfound == 0 and len(scheduled.delays) == published),
    ]
    print("    " + label + "; ".join(f"{name}: {'MET' if met else 'MISSED'}" for name, met in checks))


def watched_per_hour() -> float:
    """Requests per hour that reading the watching benchmark's followed packages costs."""
    per_hour, _, _ = watch_requests.hourly()
    return sum(per_hour) / len(per_hour)


def real_run_check() -> None:
    """The crawl's own schedule rows follow policy.next_check (see the module's docstring)."""
    from bench.schedule_check import check_real_run

    with tempfile.TemporaryDirectory() as tmp:
        verdict = check_real_run(Path(tmp))
    print(f"    real run against the replay server: {verdict}")


if __name__ == "__main__":
    main()
