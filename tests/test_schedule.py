"""The crawl schedule: when each listing is checked (policy.py), kept in the database
(store/listing_schedule.py), and followed by real scheduled crawls against the replay server."""

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from lpse_crawler.scheduling import policy
from lpse_crawler.spse.registry import load_registry, sync_registry
from lpse_crawler.store.database import utcnow
from lpse_crawler.store.listing_schedule import Planner
from lpse_crawler.store.models import Instance, ListingSchedule, Tender
from lpse_crawler.store.schema import open_database
from tests.conftest import ROOT, crawl_environment, run_crawl
from tests.spse_replay import SpseReplayServer
from tests.spse_replay.server import Fault

LIMITS = policy.Limits(requests_per_hour=3000, min_wait=180, max_wait=3 * 3600, max_wait_next_year=24 * 3600)
WIB, WIT = 7.0, 9.0


def moment(text: str, offset: float = WIB) -> float:
    """A local time (`2026-03-10 09:00`) in the zone `offset` hours ahead of UTC, as epoch seconds."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() - offset * 3600


def learnt(rate_per_hour: float, offset: float = WIB, year: int = 2026, days: int = 28) -> policy.Listing:
    """A listing observed for `days` publishing `rate_per_hour` on average, in the default shape."""
    hours = days * 24.0
    found = rate_per_hour * hours
    shape = tuple(w / policy.WEEK_HOURS * found for w in policy.WORKING_WEEK)
    return policy.Listing(offset, year, found=found, hours=hours, shape=shape, last_check=0.0)


def wait_minutes(listing: policy.Listing, now: float, pace: float = 0.2) -> float:
    return (policy.next_check(listing, now, pace, LIMITS).due - now) / 60


# -- the policy --------------------------------------------------------------------------------


def test_a_busy_listing_is_checked_within_minutes_a_quiet_one_far_less_often():
    tuesday_morning = moment("2026-03-10 09:00")
    busy = wait_minutes(learnt(2.0), tuesday_morning)
    quiet = wait_minutes(learnt(0.01), tuesday_morning)
    assert 3 <= busy <= 10
    assert quiet >= 4 * busy
    assert quiet <= policy.DAY_MAX_WAIT / 60  # still within the waking-hours ceiling


def test_a_quiet_night_is_crossed_in_one_wait_and_the_ceiling_still_holds():
    midnight = moment("2026-03-10 00:30")
    assert wait_minutes(learnt(0.05), midnight) == pytest.approx(LIMITS.max_wait / 60)


def test_the_night_ends_with_a_check_soon_after_office_hours_begin():
    late = moment("2026-03-10 03:00")
    due = policy.next_check(learnt(1.0), late, 0.2, LIMITS).due
    local_hour = datetime.fromtimestamp(due + WIB * 3600, UTC).hour
    assert 6 <= local_hour <= 7  # before the office opens at 07:30, not at 03:00 + 3 h blindly


def test_a_quiet_listing_is_looked_at_until_ten_in_the_evening_then_left_for_the_night():
    quiet = learnt(0.01)
    assert wait_minutes(quiet, moment("2026-03-10 21:05"), pace=100) == policy.DAY_MAX_WAIT / 60
    assert wait_minutes(quiet, moment("2026-03-10 22:05"), pace=100) == LIMITS.max_wait / 60


def test_local_hours_follow_the_instance_zone():
    nine_wib = moment("2026-03-10 09:00", WIB)
    assert policy.week_hour(nine_wib, WIB) == 24 + 9  # Tuesday 09:00
    assert policy.week_hour(nine_wib, WIT) == 24 + 11  # the same moment is 11:00 in Jayapura


def test_next_year_is_checked_daily_until_september_then_like_this_year():
    march, november = moment("2026-03-10 10:00"), moment("2026-11-10 10:00")
    assert wait_minutes(learnt(0.5, year=2027), march) == pytest.approx(24 * 60)
    assert wait_minutes(learnt(0.5, year=2027), november) < 60


def test_the_first_check_teaches_nothing_later_ones_count_what_they_found():
    new = policy.Listing(WIB, 2026)
    first = policy.observe(new, moment("2026-03-10 09:00"), 500)  # everything ever published
    assert (first.found, first.hours, first.mean_rate) == (0.0, 0.0, new.mean_rate)
    second = policy.observe(first, moment("2026-03-10 10:00"), 3)
    assert second.found == 3 and second.hours == pytest.approx(1.0)
    assert second.mean_rate > new.mean_rate
    assert sum(second.shape) == pytest.approx(3.0)
    assert second.shape[24 + 9] == pytest.approx(3.0)  # Tuesday 09:00-10:00 WIB


def test_a_check_after_more_than_a_week_unchecked_teaches_nothing():
    listing = learnt(0.05)
    now = listing.last_check + 90 * 86400.0  # an instance disabled for three months
    back = policy.observe(listing, now, 40)  # what it published meanwhile
    assert (back.found, back.hours, back.mean_rate) == (listing.found, listing.hours, listing.mean_rate)
    six_days = listing.last_check + 6 * 86400.0  # within the week: counted
    assert policy.observe(listing, six_days, 3).found == pytest.approx(
        policy.observe(listing, six_days, 0).found + 3
    )


def test_failures_back_off_doubling_up_to_the_ceiling():
    now = moment("2026-03-10 10:00")
    listing, waits = learnt(1.0), []
    for _ in range(8):
        listing = policy.after_failure(listing, now, LIMITS)
        waits.append(listing.due - now)
    assert waits[:3] == [360, 720, 1440]
    assert max(waits) == LIMITS.max_wait and listing.failures == 8
    assert policy.observe(listing, now + 60, 0).failures == 0


def test_the_pace_spends_the_budget_and_no_more():
    now = moment("2026-03-10 10:00")
    fleet = [learnt(rate) for rate in (0.002, 0.01, 0.05, 0.2, 0.5) for _ in range(100)]
    for budget in (1500.0, 3000.0):
        limits = policy.Limits(budget, 180, 3 * 3600, 24 * 3600)
        pace = policy.pace(fleet, now, limits)
        checks = sum(3600 / (policy.next_check(listing, now, pace, limits).due - now) for listing in fleet)
        details = sum(policy.DETAIL_REQUESTS * policy.rate_at(listing, now) for listing in fleet)
        assert checks + details == pytest.approx(budget, rel=0.05)


def test_requests_reserved_for_watching_are_left_out_of_what_the_listings_spend():
    now = moment("2026-03-10 10:00")
    fleet = [learnt(rate) for rate in (0.002, 0.01, 0.05, 0.2, 0.5) for _ in range(100)]
    for reserved in (0.0, 400.0, 1200.0):
        pace = policy.pace(fleet, now, LIMITS, reserved)
        checks = sum(3600 / (policy.next_check(listing, now, pace, LIMITS).due - now) for listing in fleet)
        details = sum(policy.DETAIL_REQUESTS * policy.rate_at(listing, now) for listing in fleet)
        assert checks + details + reserved == pytest.approx(LIMITS.requests_per_hour, rel=0.05)


def test_from_october_to_january_the_fleet_still_fits_the_budget_and_busy_listings_come_first():
    # 600 instances, two kinds, this year and next: 2,400 listings. Held to the waking-hours
    # ceiling, next year's as well, the slowest checks alone would be 3,600 an hour.
    rates = [0.002] * 500 + [0.02] * 80 + [0.3] * 16 + [2.0] * 4  # per instance and kind
    for day in ("2026-10-13 10:00", "2026-11-10 10:00", "2027-01-12 10:00"):
        now, year = moment(day), int(day[:4])
        this_year = [learnt(rate, year=year) for rate in rates for _kind in range(2)]
        fleet = this_year + [learnt(rate / 10, year=year + 1) for rate in rates for _kind in range(2)]
        pace = policy.pace(fleet, now, LIMITS)
        assert pace < policy.PACE_MAX, day
        checks = sum(3600 / (policy.next_check(listing, now, pace, LIMITS).due - now) for listing in fleet)
        details = sum(policy.DETAIL_REQUESTS * policy.rate_at(listing, now) for listing in fleet)
        assert checks + details == pytest.approx(LIMITS.requests_per_hour, rel=0.05), day
        assert wait_minutes(learnt(2.0), now, pace) < 10, day


# -- the schedule in the database ---------------------------------------------------------------


@pytest.fixture
def planner(database):
    sync_registry(load_registry())
    Instance.update(active=False).where(Instance.code.not_in(["kemkes", "jayapurakota"])).execute()
    return Planner(LIMITS, ["tender"], [2026])


def test_listings_never_checked_are_due_first(planner):
    planner.record("kemkes", "tender", 2026, 0)
    due = planner.due()
    assert [(d.instance, d.kind, d.year) for d in due] == [("jayapurakota", "tender", 2026)]


def test_a_check_is_saved_with_its_next_check_and_a_failure_backs_off(planner):
    now = utcnow()
    planner.record("kemkes", "tender", 2026, 0, now)
    planner.record("kemkes", "tender", 2026, 4, now + timedelta(hours=1))
    row = ListingSchedule.get(ListingSchedule.instance == "kemkes")
    assert (row.checks, row.found, row.failures) == (2, 4, 0)
    assert now + timedelta(hours=1, minutes=3) <= row.due_at <= now + timedelta(hours=4)
    planner.record("kemkes", "tender", 2026, None, now + timedelta(hours=2))
    row = ListingSchedule.get(ListingSchedule.instance == "kemkes")
    assert row.failures == 1 and row.due_at == now + timedelta(hours=2, minutes=6)
    assert planner.due(now + timedelta(hours=2, minutes=7))[-1].instance == "kemkes"


def test_a_planner_leaves_what_watching_reserves_and_waits_longer_for_it(planner):
    now = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # a Tuesday, 08:00 WIB
    waits = []
    for reserved in (None, lambda moment: LIMITS.requests_per_hour - 5):
        ListingSchedule.delete().execute()
        paced = Planner(LIMITS, ["tender"], [2026], reserved=reserved)
        paced.record("kemkes", "tender", 2026, 0, now)
        paced.record("kemkes", "tender", 2026, 12, now + timedelta(hours=4))
        due_at = ListingSchedule.get(ListingSchedule.instance == "kemkes").due_at
        waits.append(due_at - (now + timedelta(hours=4)))
    assert paced.reserved_value == LIMITS.requests_per_hour - 5
    assert waits[0] < waits[1]


def test_a_budget_the_slowest_checks_exceed_is_logged(planner, caplog):
    now = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)  # a Tuesday, 10:00 WIB
    Planner(LIMITS, ["tender"], [2026], reserved=lambda moment: 200).record("kemkes", "tender", 2026, 0, now)
    assert "exceed" not in caplog.text
    tight = policy.Limits(2, LIMITS.min_wait, LIMITS.max_wait, LIMITS.max_wait_next_year)
    Planner(tight, ["tender"], [2026], reserved=lambda moment: 1).record("kemkes", "tender", 2026, 0, now)
    assert (
        "The 2 listings' slowest checks (1 requests an hour reserved for followed packages) exceed"
        in caplog.text
    )
    assert "LPSE_REQUESTS_PER_HOUR=2" in caplog.text


# -- scheduled crawls, real processes --------------------------------------------------------------

ACTIVE = ["kemkes", "jakarta"]


@pytest.fixture
def fleet(database_url):
    """A replay server for two active instances (every other one of the registry disabled)."""
    open_database(database_url)
    sync_registry(load_registry())
    Instance.update(active=False).where(Instance.code.not_in(ACTIVE)).execute()
    with SpseReplayServer(ACTIVE, rows_per_kind=5) as server:
        yield server


def scheduled_crawl(server, database_url, **env):
    result = run_crawl(server.base_url, database_url, [], **env)
    assert result.returncode == 0, result.log[-3000:]
    return result


@pytest.mark.slow
def test_a_scheduled_run_checks_only_what_is_due(fleet, database_url):
    scheduled_crawl(fleet, database_url)  # never checked: everything is due
    assert ListingSchedule.select().count() == len(ACTIVE) * 2 * 2
    assert Tender.select().count() == len(ACTIVE) * 2 * 5

    before = fleet.count()
    scheduled_crawl(fleet, database_url)  # checked a moment ago: nothing is due
    assert fleet.count() == before

    (package,) = fleet.dataset.publish("jakarta", "tender", 1, year=2026)
    ListingSchedule.update(due_at=utcnow() - timedelta(seconds=1)).where(
        ListingSchedule.instance == "jakarta", ListingSchedule.kind == "tender", ListingSchedule.year == 2026
    ).execute()
    before = fleet.count()
    scheduled_crawl(fleet, database_url)
    assert fleet.count() - before == 1 + 2  # its listing page, then the new package's two tabs
    assert Tender.get(Tender.kode == package.kode).instance_first_seen_id == "jakarta"
    row = ListingSchedule.get(
        ListingSchedule.instance == "jakarta", ListingSchedule.kind == "tender", ListingSchedule.year == 2026
    )
    assert (row.checks, row.found) == (2, 1)  # the second run did not check it
    assert row.due_at > utcnow()


@pytest.mark.slow
def test_a_run_keeps_taking_listings_as_they_fall_due(fleet, database_url):
    scheduled_crawl(fleet, database_url)
    (package,) = fleet.dataset.publish("kemkes", "nontender", 1, year=2026)
    listing = (ListingSchedule.instance == "kemkes") & (ListingSchedule.kind == "nontender")
    ListingSchedule.update(due_at=utcnow() + timedelta(seconds=5)).where(
        listing, ListingSchedule.year == 2026
    ).execute()
    result = scheduled_crawl(fleet, database_url, LPSE_RUN_MINUTES="0.4")
    assert "Taking listings as they fall due for 0.4 minutes" in result.log
    assert Tender.select().where(Tender.kode == package.kode).exists()


@pytest.mark.slow
def test_a_failed_check_is_retried_sooner_than_a_quiet_listing(fleet, database_url):
    fleet.faults["jakarta"] = Fault("http500")
    result = run_crawl(fleet.base_url, database_url, [], LPSE_RETRY_TIMES="0")
    assert result.returncode == 3  # the instance failed: cron mails it
    failed = ListingSchedule.select().where(ListingSchedule.instance == "jakarta")
    assert {row.failures for row in failed} == {1}
    assert all(row.due_at <= utcnow() + timedelta(minutes=6) for row in failed)


@pytest.mark.slow
def test_the_operator_can_check_every_listing_due_or_not(fleet, database_url):
    scheduled_crawl(fleet, database_url)
    environment = crawl_environment(fleet.base_url, database_url)

    def cli_crawl(*options: str) -> tuple[int, str]:
        before = fleet.count()
        done = subprocess.run(
            [sys.executable, "cli.py", "crawl", *options],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return fleet.count() - before, done.stderr

    spent, log = cli_crawl("--minutes", "0.1")  # waits 6 s for listings to fall due: none do
    assert spent == 0 and "Taking listings as they fall due for 0.1 minutes" in log
    spent, _ = cli_crawl("--every-listing")
    assert spent == len(ACTIVE) * 2 * 2  # one listing page each, due or not


def living_parents() -> dict[int, int]:
    """Every living process and its parent (from /proc; zombies left out)."""
    parents = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if fields[0] != "Z":
            parents[int(entry)] = int(fields[1])
    return parents


def descendants(pid: int) -> set[int]:
    parents, found, more = living_parents(), set(), {pid}
    while more:
        more = {child for child, parent in parents.items() if parent in more} - found
        found |= more
    return found


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_killing_the_cli_crawl_stops_the_crawl_itself(fleet, database_url, sig):
    environment = crawl_environment(fleet.base_url, database_url)
    process = subprocess.Popen(
        [sys.executable, "cli.py", "crawl", "--minutes", "5"],
        cwd=ROOT,
        env=environment,
        stderr=subprocess.PIPE,
        text=True,
    )
    below: set[int] = set()
    try:
        for line in process.stderr:  # the crawl is running, waiting for listings to fall due
            if "Taking listings as they fall due" in line:
                break
        below = descendants(process.pid)
        process.send_signal(sig)
        assert process.wait(timeout=60) == 5  # the README's "interrupted by a signal"
        assert "Crawl result: interrupted before the end" in process.stderr.read()
        assert not below & set(living_parents())  # nothing of it runs on outside cron's lock
    finally:
        for pid in below & set(living_parents()):
            os.kill(pid, signal.SIGKILL)
        process.kill()
        process.wait()
