"""When a subscriber is told: per filter at once or in a daily digest at a chosen hour, and
quiet hours per subscriber, both in the subscriber's zone (WIB, WITA or WIT).

A tender alert is held when it is queued: `hold` gives the moment it may go and why
(`digest` or `quiet`), kept on its outbox row. A package that fits several of a
subscriber's filters goes as soon as the soonest of them allows; one that fits an
instant filter during quiet hours waits for their end, as does a digest due in them.
When held alerts fall due the sender sends them together, as one message
(bot/sender.py), so a night or a day of matches is one summary, never a flood. Whether
a plan may have instant filters is the plan's `instant` (plans.py): on a plan without it
every filter is a digest, at its hour or DEFAULT_HOUR. Settings made later apply to
alerts queued from then on.
"""

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo

from lpse_crawler.people.models import Filter, Subscriber
from lpse_crawler.people.plans import Plan, PlanLimitError, plan_of
from lpse_crawler.store.database import utcnow, write_transaction

ZONES = {"WIB": "Asia/Jakarta", "WITA": "Asia/Makassar", "WIT": "Asia/Jayapura"}
DEFAULT_ZONE = "Asia/Jakarta"
DEFAULT_HOUR = 7  # a digest's hour when none was chosen
DAY_MINUTES = 24 * 60
_CLOCK = r"(\d{1,2})(?:[.:](\d{2}))?"
_WINDOW = re.compile(rf"^{_CLOCK}\s*(?:-|–|sampai|s/d|to)\s*{_CLOCK}$", re.IGNORECASE)
_HOUR = re.compile(rf"^(?:jam\s*)?{_CLOCK}$", re.IGNORECASE)


class Held(StrEnum):
    """Why an alert waits (outbox row `held`)."""

    DIGEST = "digest"
    QUIET = "quiet"


class DeliveryError(ValueError):
    """A setting that cannot be used; the message (Indonesian) says what to write."""


@dataclass(frozen=True)
class Delivery:
    """What `hold` needs of one filter and its subscriber."""

    zone: str = DEFAULT_ZONE
    digest_hour: int | None = None  # None: at once
    quiet: tuple[int, int] | None = None  # (start, end) minutes after local midnight


INSTANT = Delivery()


def hold(deliveries: list[Delivery], now: datetime) -> tuple[Held | None, datetime]:
    """(why the alert waits, or None; when it may go) for an alert fitting filters with
    these deliveries (one subscriber's: same zone and quiet hours)."""
    if any(d.digest_hour is None for d in deliveries):
        first = deliveries[0]
        end = quiet_end(first.quiet, first.zone, now)
        return (Held.QUIET, end) if end is not None else (None, now)
    first = deliveries[0]
    due = min(next_at(d.digest_hour * 60, d.zone, now) for d in deliveries)
    return Held.DIGEST, quiet_end(first.quiet, first.zone, due) or due  # a digest keeps quiet hours too


def quiet_end(quiet: tuple[int, int] | None, zone: str, now: datetime) -> datetime | None:
    """When the quiet hours `now` falls in end; None outside them (or without any)."""
    if quiet is None:
        return None
    start, end = quiet
    minute = _local_minute(now, zone)
    inside = start <= minute < end if start < end else minute >= start or minute < end
    return next_at(end, zone, now) if inside else None


def next_at(minute_of_day: int, zone: str, now: datetime) -> datetime:
    """The first moment after `now` that is `minute_of_day` on the local clock of `zone`."""
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    at = datetime.combine(local.date(), time(minute_of_day // 60, minute_of_day % 60), tz)
    return at if at > local else at + timedelta(days=1)


def _local_minute(now: datetime, zone: str) -> int:
    local = now.astimezone(ZoneInfo(zone))
    return local.hour * 60 + local.minute


def parse_window(text: str) -> tuple[int, int]:
    """`21-6`, `21:00-06:00`, `21.30 sampai 05.30` -> (start, end) minutes of the day."""
    found = _WINDOW.match(" ".join(text.split()))
    if not found:
        raise DeliveryError("Tulis jam tenang seperti <code>21-6</code> atau <code>21:00-06:00</code>.")
    start, end = _minute(found.group(1), found.group(2)), _minute(found.group(3), found.group(4))
    if start == end:
        raise DeliveryError("Jam mulai dan jam selesai jam tenang tidak boleh sama.")
    return start, end


def parse_hour(text: str) -> int:
    """`7`, `07:00`, `jam 19` -> the hour of a digest (whole hours only)."""
    found = _HOUR.match(" ".join(text.split()))
    if not found or (found.group(2) not in (None, "00")):
        raise DeliveryError(
            "Tulis jam ringkasan sebagai jam penuh, misalnya <code>7</code> atau <code>19:00</code>."
        )
    return _minute(found.group(1), None) // 60


def _minute(hours: str, minutes: str | None) -> int:
    h, m = int(hours), int(minutes or 0)
    if not (0 <= h <= 23 and 0 <= m <= 59):
        raise DeliveryError("Jam harus antara 00:00 dan 23:59.")
    return h * 60 + m


def clock(minute_of_day: int) -> str:
    """`21:00`"""
    return f"{minute_of_day // 60:02d}:{minute_of_day % 60:02d}"


def zone_label(zone: str) -> str:
    return next((label for label, name in ZONES.items() if name == zone), zone)


def delivery_of(plan: Plan, zone: str | None, digest_hour: int | None, quiet: tuple) -> Delivery:
    """A filter's delivery under its plan (one without instant filters makes every filter a
    digest) and its subscriber's zone and quiet hours (`quiet`: start and end, or Nones)."""
    if digest_hour is None and not plan.instant:
        digest_hour = DEFAULT_HOUR
    return _shared(zone or DEFAULT_ZONE, digest_hour, None if None in quiet else tuple(quiet))


@cache
def _shared(zone: str, digest_hour: int | None, quiet: tuple[int, int] | None) -> Delivery:
    return Delivery(zone, digest_hour, quiet)  # a hundred thousand filters share a few of these


def set_quiet(subscriber: Subscriber, window: tuple[int, int] | None) -> None:
    start, end = window or (None, None)
    with write_transaction():
        Subscriber.update(quiet_start=start, quiet_end=end, updated_at=utcnow()).where(
            Subscriber.id == subscriber.id
        ).execute()


def set_zone(subscriber: Subscriber, label: str) -> str:
    """Set the zone by its Indonesian name (WIB, WITA, WIT); returns the zone."""
    zone = ZONES.get(label.strip().upper())
    if zone is None:
        raise DeliveryError("Pilih zona <code>WIB</code>, <code>WITA</code> atau <code>WIT</code>.")
    with write_transaction():
        Subscriber.update(timezone=zone, updated_at=utcnow()).where(Subscriber.id == subscriber.id).execute()
    return zone


def set_digest(subscriber: Subscriber, saved: Filter, hour: int | None, now: datetime) -> None:
    """A filter's delivery: a digest at `hour`, or at once (None), if the plan allows it."""
    plan = plan_of(subscriber, now)
    if hour is None and not plan.instant:
        raise PlanLimitError(
            f"Paket {plan.label} mengirim ringkasan harian; "
            "kirim langsung ada di paket Dasar dan Pro (/paket)."
        )
    with write_transaction():
        Filter.update(digest_hour=hour, updated_at=utcnow()).where(Filter.id == saved.id).execute()
