"""The crawl schedule in the database: which listings are due, and what each check taught.

One row per listing (instance, kind, fiscal year); the decisions are policy.py's, this
module only loads rows into `policy.Listing`, and saves them back. A listing without a row
(a new instance, kind or year) is due at once. Rows are shared by every crawl process, so
several crawls on leases (store/leases.py) follow one schedule. What the host's budget
spends outside the listings (reading followed packages again) is left out of what the
listings are paced to.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from lpse_crawler.scheduling import policy
from lpse_crawler.store.database import upsert, utcnow, write_transaction
from lpse_crawler.store.models import Instance, ListingSchedule

log = logging.getLogger(__name__)

PACE_EVERY = 300.0  # seconds between two recomputations of the fleet's pace


def to_epoch(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True)
class Due:
    """A listing to check now."""

    instance: str
    kind: str
    year: int
    due_at: datetime | None  # None: never checked


def to_listing(row: ListingSchedule | None, zone: str, year: int) -> policy.Listing:
    if row is None:
        return policy.Listing(policy.utc_offset(zone), year)
    return policy.Listing(
        utc_offset=policy.utc_offset(zone),
        year=year,
        found=row.found,
        hours=row.hours,
        shape=tuple(row.shape or ()),
        last_check=to_epoch(row.last_checked_at),
        due=row.due_at.timestamp(),
        target=row.target,
        failures=row.failures,
    )


class Planner:
    """The schedule of `kinds` x `years` of every active instance, within `limits`;
    `reserved(now)`: requests per hour the budget spends elsewhere from `now` on."""

    def __init__(
        self,
        limits: policy.Limits,
        kinds: list[str],
        years: list[int],
        reserved: Callable[[datetime], float] | None = None,
    ):
        self.limits, self.kinds, self.years, self.reserved = limits, kinds, years, reserved
        self.pace_value, self.paced_at = 1.0, float("-inf")
        self.reserved_value = 0.0  # what the last pace left out of the budget

    def _zones(self) -> dict[str, str]:
        """{code: zone} of the active instances."""
        query = Instance.select(Instance.code, Instance.timezone).where(Instance.active == True)  # noqa: E712
        return dict(query.tuples())

    def _rows(self) -> dict[tuple[str, str, int], ListingSchedule]:
        query = ListingSchedule.select().where(
            ListingSchedule.kind.in_(self.kinds), ListingSchedule.year.in_(self.years)
        )
        return {(r.instance_id, r.kind, r.year): r for r in query}

    def pace(self, now: float) -> float:
        """The fleet's pace (policy.pace), recomputed at most every PACE_EVERY seconds."""
        if now - self.paced_at >= PACE_EVERY:
            rows = self._rows()
            listings = [
                to_listing(rows.get((code, kind, year)), zone, year)
                for code, zone in self._zones().items()
                for kind in self.kinds
                for year in self.years
            ]
            self.reserved_value = self.reserved(from_epoch(now)) if self.reserved else 0.0
            self.pace_value = policy.pace(listings, now, self.limits, self.reserved_value)
            self.paced_at = now
            if self.pace_value >= policy.PACE_MAX:
                log.warning(
                    "The %d listings' slowest checks (%.0f requests an hour reserved for followed "
                    "packages) exceed LPSE_REQUESTS_PER_HOUR=%g: every listing waits its ceiling",
                    len(listings),
                    self.reserved_value,
                    self.limits.requests_per_hour,
                )
        return self.pace_value

    def due(self, now: datetime | None = None) -> list[Due]:
        """Listings of active instances due by `now`, the longest overdue first (never
        checked: first of all)."""
        now = now or utcnow()
        rows = self._rows()
        due = []
        for code in self._zones():
            for kind in self.kinds:
                for year in self.years:
                    row = rows.get((code, kind, year))
                    if row is None or row.due_at <= now:
                        due.append(Due(code, kind, year, row and row.due_at))
        return sorted(due, key=lambda d: (d.due_at is not None, d.due_at or now, d.instance, d.kind, d.year))

    def record(self, instance: str, kind: str, year: int, found: int | None, now: datetime | None = None):
        """Save one check's outcome (`found` new packages, or None when it failed) and plan
        the listing's next check; returns the listing as planned."""
        now = now or utcnow()
        moment = now.timestamp()
        pace = self.pace(moment)
        with write_transaction():
            zone = Instance.get_by_id(instance).timezone
            key = [ListingSchedule.instance, ListingSchedule.kind, ListingSchedule.year]
            row = ListingSchedule.get_or_none(key[0] == instance, key[1] == kind, key[2] == year)
            listing = to_listing(row, zone, year)
            if found is None:
                listing = policy.after_failure(listing, moment, self.limits)
            else:
                listing = policy.next_check(policy.observe(listing, moment, found), moment, pace, self.limits)
            values = {
                "instance": instance,
                "kind": kind,
                "year": year,
                "found": listing.found,
                "hours": listing.hours,
                "shape": [round(v, 6) for v in listing.shape],
                "last_checked_at": None if listing.last_check is None else from_epoch(listing.last_check),
                "due_at": from_epoch(listing.due),
                "target": listing.target,
                "failures": listing.failures,
                "checks": (row.checks if row else 0) + 1,
                "updated_at": now,
            }
            upsert(ListingSchedule, key, values)
        return listing
