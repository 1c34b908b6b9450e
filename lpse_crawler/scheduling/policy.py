"""When to check each listing again: pure functions over what was observed.

A listing is one (instance, kind, fiscal year) of SPSE. Each check costs one request (a
listing page) plus two for every package it finds (announcement and jadwal), and every
request comes out of one budget for the whole host. Packages appear in a listing as a
Poisson process whose rate we learn: a mean rate per hour (decayed counts over decayed
hours, with a prior for listings we know little of) times a weekly shape over the 168
hours of the listing's local week (WIB, WITA or WIT), learnt from where its packages fell,
starting from a working-week shape.

The delay of a package is the time from its publication to the next check. Checking a
listing after `target` expected new packages costs one request per `target` packages and
delays each by about half an interval; spending a fixed budget so the total delay is
least gives `target` proportional to the square root of the listing's mean rate (the
square-root rule of polling). The promise is about the typical package, though (the
median delay), and most packages come from a few busy listings: `target` grows with the
rate to the power SPREAD, 0.35, which checks busy listings more often than the rule
would (measured over four draws of the simulated fleet, bench/freshness.py). `pace` finds
the factor that keeps the checks of the whole fleet within the budget at the current
hour; `next_check` walks the listing's expected arrivals forward until `target` of them
have come, so a quiet night is crossed in one step and a busy morning is checked within
minutes. Waking hours (06:00-22:00 local) are planned as at least as busy as an average
hour, and this year's listings never wait longer than DAY_MAX_WAIT then, so a package
published at the edges of the day, or by a listing whose hours are not learnt yet, is not
left to the next morning. Next year's listing waits by its own rate instead: held to that
ceiling as well, from October to January the fleet's 2,400 listings would need 3,600
checks an hour before any busy one is looked at more often. Every wait lies between a
floor and a ceiling (a quiet listing is still checked every few hours at night; next
year's listing rarely, except around the turn of the year), and a failed check is retried
with a backoff under the same ceiling.

Moments are seconds since the epoch (floats), so a simulation can run a day of the fleet
through these functions quickly; lpse_crawler/store/listing_schedule.py converts.
"""

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache, cached_property
from zoneinfo import ZoneInfo

HOUR = 3600.0
WEEK_HOURS = 168
HALF_LIFE_HOURS = 14 * 24.0  # what was seen two weeks ago counts half
PRIOR_HOURS = 12.0  # a new listing is believed to publish at PRIOR_RATE for this long
PRIOR_RATE = 0.03  # packages per hour (the fleet's mean, about 5 a week) before any are seen
SHAPE_PRIOR = 24.0  # pseudo-packages of the default weekly shape in a listing's own
MIN_EXPECTED = 0.01  # never check for fewer expected new packages than this
DAY_MAX_WAIT = 2400.0  # seconds: the longest wait within waking hours (06-22 local)
DAY_FLOOR = 1.0  # plan waking hours (06-22 local) as at least this busy: shoulders of the day
DETAIL_REQUESTS = 2  # requests per package found: announcement and jadwal
SPREAD = 0.35  # target ~ rate ** SPREAD: 0.5 is the square-root rule, 1 checks all alike
PACE_STEPS = 16  # bisection steps of `pace` (over 12 decades: to within 2%)
PACE_MIN, PACE_MAX = 1e-6, 1e6  # PACE_MAX: every listing waits its ceiling
_EPOCH_MONDAY = 3 * 24  # 1970-01-01 was a Thursday: hours from the Monday 00:00 before it


def _working_week() -> tuple[float, ...]:
    """The default shape (mean 1) of when packages are published, in local time: office
    hours Monday to Friday (07:30-16:00 for the civil service, a long break for Friday
    prayers), a little in the evening and on Saturday, almost nothing at night or on
    Sunday. An assumption until a listing's own packages teach it better."""
    day = [0.02] * 6 + [0.1, 0.5] + [1.0] * 8 + [0.6, 0.3, 0.15, 0.1, 0.1, 0.06, 0.04, 0.02]
    friday = day[:11] + [0.4, 0.3, 0.6] + day[14:]
    saturday = [w * 0.15 for w in day]
    sunday = [w * 0.05 for w in day]
    week = day * 4 + friday + saturday + sunday
    mean = sum(week) / WEEK_HOURS
    return tuple(w / mean for w in week)


WORKING_WEEK = _working_week()


@dataclass(frozen=True)
class Limits:
    """The budget and the bounds every listing's waits keep to."""

    requests_per_hour: float
    min_wait: float  # seconds
    max_wait: float  # seconds, this year's listings (and older ones)
    max_wait_next_year: float  # seconds, next year's listing from February to September


@dataclass(frozen=True)
class Listing:
    """What is known of one listing's publishing, and when it is checked next."""

    utc_offset: float  # hours, the instance's zone (Indonesia keeps no summer time)
    year: int  # the fiscal year this listing holds
    found: float = 0.0  # packages found, decayed
    hours: float = 0.0  # hours observed, decayed
    shape: tuple[float, ...] = ()  # packages found by local hour of the week, decayed
    last_check: float | None = None  # None: never checked (the first check finds everything)
    due: float = 0.0  # next check
    target: float = 0.0  # expected new packages the last planned wait was for
    failures: int = 0  # failed checks in a row

    @cached_property
    def mean_rate(self) -> float:
        """Packages per hour, averaged over the week."""
        return (self.found + PRIOR_RATE * PRIOR_HOURS) / (self.hours + PRIOR_HOURS)

    def weight(self, hour: int) -> float:
        """The weekly shape at one local week hour (see `weights`)."""
        total = self._shape_total
        if total <= 0:
            return WORKING_WEEK[hour]
        prior = SHAPE_PRIOR * WORKING_WEEK[hour] / WEEK_HOURS
        return (self.shape[hour] + prior) * WEEK_HOURS / (total + SHAPE_PRIOR)

    @cached_property
    def _shape_total(self) -> float:
        return sum(self.shape) if self.shape else 0.0

    def planning_weight(self, hour: int) -> float:
        """`weight`, with waking hours (06:00-22:00 local) raised to at least DAY_FLOOR, so
        a package published early or late, or by a listing whose hours are not learnt
        yet, does not wait for the next morning's first check."""
        weight = self.weight(hour)
        return max(weight, DAY_FLOOR) if awake(hour) else weight

    @cached_property
    def weights(self) -> tuple[float, ...]:
        """The listing's weekly shape (mean 1): its own packages' hours, with the default
        shape as a prior."""
        total = self._shape_total
        if total <= 0:
            return WORKING_WEEK
        scale = WEEK_HOURS / (total + SHAPE_PRIOR)
        return tuple(
            (own + SHAPE_PRIOR * prior / WEEK_HOURS) * scale
            for own, prior in zip(self.shape, WORKING_WEEK, strict=True)
        )


def utc_offset(zone: str) -> float:
    """Hours ahead of UTC of an IANA zone (Asia/Jakarta: 7)."""
    offset = datetime(2026, 1, 1, tzinfo=ZoneInfo(zone)).utcoffset()
    return offset.total_seconds() / HOUR if offset else 0.0


def week_hour(moment: float, utc_offset: float) -> int:
    """The local hour of the week of `moment`, Monday 00:00-01:00 being 0."""
    return int((moment / HOUR + utc_offset + _EPOCH_MONDAY) // 1) % WEEK_HOURS


def awake(hour: int) -> bool:
    """Whether a local week hour lies in waking hours (06:00-22:00: some LPSE publish in the
    evening, and a package of 21:30 should not wait for the night's three-hour check)."""
    return 6 <= hour % 24 < 22


def rate_at(listing: Listing, moment: float) -> float:
    """Expected packages per hour at `moment`."""
    return listing.mean_rate * listing.weight(week_hour(moment, listing.utc_offset))


def _segments(listing: Listing, start: float, end: float):
    """(seconds, local week hour) of each piece of [start, end) cut at hour boundaries."""
    moment = start
    while moment < end:
        boundary = min(end, (math.floor((moment / HOUR) + 1e-9) + 1) * HOUR)
        yield boundary - moment, week_hour(moment, listing.utc_offset)
        moment = boundary


def observe(listing: Listing, now: float, found: int) -> Listing:
    """The listing after a successful check at `now` that found `found` new packages.

    The first check of a listing finds everything it ever published: it teaches nothing
    about the rate, and neither does one after more than a week unchecked (an instance
    disabled, a long outage), whose packages cannot be placed in the week's hours.
    Otherwise the counts decay by the time passed, and the packages are spread over the
    hours since the last check as the listing's shape expects them."""
    if listing.last_check is None or not 0 < now - listing.last_check <= WEEK_HOURS * HOUR:
        return replace(listing, last_check=now, failures=0)
    start = listing.last_check
    hours = (now - start) / HOUR
    decay = 0.5 ** (hours / HALF_LIFE_HOURS)
    shape = list(listing.shape) if listing.shape else [0.0] * WEEK_HOURS
    shape = [value * decay for value in shape]
    if found:
        weights = listing.weights
        pieces = [(seconds * weights[hour], hour) for seconds, hour in _segments(listing, start, now)]
        total = sum(weight for weight, _ in pieces)
        for weight, hour in pieces:
            shape[hour] += found * (weight / total if total else 1 / len(pieces))
    return replace(
        listing,
        found=listing.found * decay + found,
        hours=listing.hours * decay + hours,
        shape=tuple(shape),
        last_check=now,
        failures=0,
    )


def next_year_quiet(listing: Listing, now: float) -> bool:
    """Whether `listing` holds next fiscal year's packages from February to September,
    when hardly any are published yet: it is then checked every `max_wait_next_year`."""
    year, month = _local_month(listing, now)
    return listing.year > year and 2 <= month <= 9


def held_awake(listing: Listing, now: float) -> bool:
    """Whether `listing` keeps the waking-hours ceiling DAY_MAX_WAIT at `now`: this year's
    (and older) listings do, next year's waits by its rate within its ceiling."""
    year, _ = _local_month(listing, now)
    return listing.year <= year


def _local_month(listing: Listing, now: float) -> tuple[int, int]:
    """(year, month) of `now` in the listing's zone."""
    return _month_of_day(int((now + listing.utc_offset * HOUR) // 86400))


@cache
def _month_of_day(day: int) -> tuple[int, int]:
    """(year, month) of a day counted from the epoch."""
    moment = datetime.fromtimestamp(day * 86400, UTC)
    return moment.year, moment.month


def max_wait(listing: Listing, now: float, limits: Limits) -> float:
    """The longest wait."""
    if next_year_quiet(listing, now):
        return max(limits.max_wait, limits.max_wait_next_year)
    return limits.max_wait


def target(listing: Listing, pace: float) -> float:
    """Expected new packages to wait for: `pace` times the mean rate to the power SPREAD."""
    return max(MIN_EXPECTED, pace * listing.mean_rate**SPREAD)


def next_check(listing: Listing, now: float, pace: float, limits: Limits) -> Listing:
    """The listing with its next check planned from `now`: when `target` new packages are
    expected, within the floor and the ceiling."""
    goal = target(listing, pace)
    if next_year_quiet(listing, now):
        return replace(listing, due=now + max_wait(listing, now, limits), target=goal)
    per_second = listing.mean_rate / HOUR
    longest = max_wait(listing, now, limits)
    ceiling = held_awake(listing, now)
    expected, elapsed, waking, wait = 0.0, 0.0, 0.0, longest
    for seconds, hour in _segments(listing, now, now + longest):
        speed = per_second * listing.planning_weight(hour)
        if speed > 0 and expected + speed * seconds >= goal:
            wait = elapsed + (goal - expected) / speed
        if ceiling and awake(hour):
            if waking + seconds >= DAY_MAX_WAIT:
                wait = min(wait, elapsed + DAY_MAX_WAIT - waking)
            waking += seconds
        if wait < longest:
            break
        expected += speed * seconds
        elapsed += seconds
    wait = min(max(wait, limits.min_wait), longest)
    return replace(listing, due=now + wait, target=goal)


def after_failure(listing: Listing, now: float, limits: Limits) -> Listing:
    """A failed check: try again after a wait that doubles with each failure in a row."""
    failures = listing.failures + 1
    wait = min(limits.min_wait * 2 ** min(failures, 20), max_wait(listing, now, limits))
    return replace(listing, due=now + wait, failures=failures)


def pace(listings: list[Listing], now: float, limits: Limits, reserved: float = 0.0) -> float:
    """The factor of `target` that spends the budget at `now`: the checks each listing
    needs at this hour (its rate over its target, within its bounds) plus the detail
    requests of the packages expected, summed over the fleet, plus `reserved` (requests
    per hour spent outside the listings: reading followed packages again), come to the
    budget. When even the slowest checks exceed it, the largest pace (every listing at
    its ceiling)."""
    rows = []
    details, fixed = 0.0, 0.0
    for listing in listings:
        hour = week_hour(now, listing.utc_offset)
        details += DETAIL_REQUESTS * listing.mean_rate * listing.weight(hour)
        now_rate = listing.mean_rate * listing.planning_weight(hour)
        if next_year_quiet(listing, now):
            fixed += HOUR / max_wait(listing, now, limits)
            continue
        day = awake(hour) and held_awake(listing, now)
        slowest = HOUR / (DAY_MAX_WAIT if day else max_wait(listing, now, limits))
        rows.append((now_rate, listing.mean_rate**SPREAD, slowest))
    fastest = HOUR / limits.min_wait
    room = limits.requests_per_hour - details - fixed - reserved

    def spent(factor: float) -> float:
        total = 0.0
        for now_rate, root, slowest in rows:
            goal = factor * root
            checks = now_rate / (goal if goal > MIN_EXPECTED else MIN_EXPECTED)
            total += fastest if checks > fastest else slowest if checks < slowest else checks
        return total

    low, high = PACE_MIN, PACE_MAX
    if spent(high) >= room:
        return high
    if spent(low) <= room:
        return low
    for _ in range(PACE_STEPS):
        middle = math.sqrt(low * high)
        if spent(middle) > room:
            low = middle
        else:
            high = middle
    return high
