"""Plans and their limits: a trial for new subscribers, `free`, and paid plans with expiry.

An expired paid plan (or trial) falls back to the free limits; nothing is ever deleted.
A payment buys whole months of a paid plan (`renewal` says where they land).
"""

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from lpse_crawler.store.database import WIB

TRIAL_DAYS = 14
UPGRADE_HINT = "Ketik /paket untuk melihat paket berbayar dan cara membayar."


@dataclass(frozen=True)
class Plan:
    code: str
    label: str
    price: int  # rupiah per month; 0 for free plans
    max_filters: int
    max_instances: int  # instances one filter may name (a province counts as its instances)
    max_keywords: int  # keywords and phrases in one filter
    max_follows: int  # packages followed at once (people/follows.py)
    instant: bool  # filters may alert at once; without: daily digests only (people/delivery.py)


PLANS = {
    # the trial shows everything Pro does, nationwide filters included (they count every LPSE)
    "trial": Plan("trial", "Uji coba", 0, 30, 600, 40, 100, instant=True),
    "free": Plan("free", "Gratis", 0, 1, 3, 3, 3, instant=False),
    "basic": Plan("basic", "Dasar", 49_000, 5, 25, 15, 25, instant=True),
    "pro": Plan("pro", "Pro", 149_000, 30, 600, 40, 100, instant=True),
}
PAID = ("basic", "pro")
MAX_MONTHS = 36  # the longest period one payment may buy


class PlanLimitError(ValueError):
    """A filter would exceed the subscriber's plan; the message names the limit (Indonesian)."""


def trial_expiry(now: datetime) -> datetime:
    return now + timedelta(days=TRIAL_DAYS)


def paid_until(last_day: date) -> datetime:
    """A plan paid up to and including `last_day` ends when that day ends in Jakarta."""
    return datetime.combine(last_day, time(23, 59, 59), tzinfo=WIB)


def period_end(start: date, months: int) -> date:
    """The last day of `months` months from `start`: the day before the same day that many
    months later (a calendar month when `start` is the 1st), or that month's last day when
    it has no such day (from 31 January, one month ends on the last day of February)."""
    year, month = divmod(start.month - 1 + months, 12)
    year, month = start.year + year, month + 1
    last = calendar.monthrange(year, month)[1]
    if start.day > last:
        return date(year, month, last)
    return date(year, month, start.day) - timedelta(days=1)


def whole_months(start: date, end: date) -> int | None:
    """How many months start..end is (see period_end), or None when it is not whole months
    or longer than MAX_MONTHS: 2026-12-01..2027-02-28 is 3."""
    return next((n for n in range(1, MAX_MONTHS + 1) if period_end(start, n) == end), None)


class PlanConflict(ValueError):
    """A payment would end a higher paid plan early; the message says when to record it."""


def renewal(
    current: str, expires_at: datetime | None, plan: str, start: date, months: int, now: datetime
) -> tuple[date, date, datetime]:
    """Where a payment for `months` of `plan` from `start` lands, for a subscriber on `current`
    until `expires_at`: (first day, last day, the plan's new expiry), never shortening it.

    - No paid plan in force: the period as given.
    - The same plan in force until a day on or after `start`: the period moves to start the
      day after that, keeping its length (paying December again while paid until February
      buys March).
    - A higher plan (upgrade): from `start`; paid days after the period keep the new plan.
    - A lower plan while a higher one is in force: refused (PlanConflict), since a subscriber
      has one plan at a time; record it once the higher plan has ended.
    """
    if current not in PAID or expires_at is None or expires_at <= now:
        return start, period_end(start, months), paid_until(period_end(start, months))
    paid_through = expires_at.astimezone(WIB).date()
    if PLANS[plan].price < PLANS[current].price:
        raise PlanConflict(
            f"the subscriber has {PLANS[current].label} until {paid_through}: a {PLANS[plan].label} "
            f"payment now would end it early; record it after {paid_through}"
        )
    if plan == current and start <= paid_through:
        start = paid_through + timedelta(days=1)
    end = period_end(start, months)
    return start, end, max(expires_at, paid_until(end))


def first_paid_day(
    current: str, expires_at: datetime | None, now: datetime, trial_until: datetime | None = None
) -> date:
    """The first day a payment made `now` without a chosen period covers: today in Jakarta,
    or the day after a trial still running (paying during a trial keeps its days), whether
    the subscriber is on it (`current`) or bought a plan during it (`trial_until`)."""
    today = now.astimezone(WIB).date()
    trial_end = expires_at if current == "trial" else trial_until
    if trial_end is not None and trial_end > now:
        return max(today, trial_end.astimezone(WIB).date() + timedelta(days=1))
    return today


def effective_plan(
    plan: str, expires_at: datetime | None, now: datetime, trial_until: datetime | None = None
) -> Plan:
    """The plan in force: a trial still running when a plan was bought (`trial_until`, the
    plan's paid days start after it: first_paid_day), else `plan` until it expires, then the
    free limits."""
    if trial_until is not None and trial_until > now:
        return PLANS["trial"]
    if plan != "free" and (expires_at is None or expires_at <= now):
        return PLANS["free"]
    return PLANS.get(plan, PLANS["free"])


def plan_of(subscriber, now: datetime) -> Plan:
    """The plan in force for a Subscriber row (see effective_plan)."""
    return effective_plan(subscriber.plan, subscriber.plan_expires_at, now, subscriber.trial_until)


def check_filter_limits(plan: Plan, filters_after_save: int, instances: int, keywords: int) -> None:
    """Raise PlanLimitError naming the first limit a filter would exceed."""
    checks = [
        (filters_after_save, plan.max_filters, "filter"),
        (instances, plan.max_instances, "LPSE dalam satu filter"),
        (keywords, plan.max_keywords, "kata kunci dalam satu filter"),
    ]
    for used, limit, what in checks:
        if used > limit:
            raise PlanLimitError(
                f"Paket {plan.label} Anda hanya boleh {limit} {what} (diminta: {used}). {UPGRADE_HINT}"
            )
