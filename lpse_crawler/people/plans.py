"""Plans and their limits: a trial for new subscribers, `free`, and paid plans with expiry.

An expired paid plan (or trial) falls back to the free limits; nothing is ever deleted.
"""

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


PLANS = {
    "trial": Plan("trial", "Uji coba", 0, 5, 25, 15),
    "free": Plan("free", "Gratis", 0, 1, 3, 3),
    "basic": Plan("basic", "Dasar", 49_000, 5, 25, 15),
    "pro": Plan("pro", "Pro", 149_000, 30, 600, 40),
}
PAID = ("basic", "pro")


class PlanLimitError(ValueError):
    """A filter would exceed the subscriber's plan; the message names the limit (Indonesian)."""


def trial_expiry(now: datetime) -> datetime:
    return now + timedelta(days=TRIAL_DAYS)


def paid_until(last_day: date) -> datetime:
    """A plan paid up to and including `last_day` ends when that day ends in Jakarta."""
    return datetime.combine(last_day, time(23, 59, 59), tzinfo=WIB)


def effective_plan(plan: str, expires_at: datetime | None, now: datetime) -> Plan:
    """The plan in force: an expired trial or paid plan gives the free limits."""
    if plan != "free" and (expires_at is None or expires_at <= now):
        return PLANS["free"]
    return PLANS.get(plan, PLANS["free"])


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
