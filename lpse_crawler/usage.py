"""Anonymous daily usage counts: a metric and a number per day (a Jakarta day), never a subscriber."""

from datetime import date

from peewee import CharField, IntegerField

from lpse_crawler.store.database import WIB, BaseModel, DayField, utcnow


class UsageDaily(BaseModel):
    """Anonymous daily counts (metric names in usage.py); no link to any subscriber."""

    day = DayField()
    metric = CharField()
    count = IntegerField(default=0)

    class Meta:
        indexes = ((("day", "metric"), True),)


METRICS = {
    "notifications_queued": "notifications put in the outbox",
    "notifications_sent": "notifications delivered",
    "notifications_reclaimed": "claims taken back after a sender crash (an upper bound on duplicates)",
    "notifications_dead": "notifications given up after retries",
    "commands": "bot commands answered",
    "active_subscribers": "subscribers with status active (a daily snapshot)",
}


def count(metric: str, amount: int = 1, day: date | None = None) -> None:
    """Add `amount` to today's (or `day`'s) count of `metric`; call inside the caller's transaction."""
    if metric not in METRICS:
        raise ValueError(f"unknown usage metric {metric!r}")
    if amount <= 0:
        return
    day = day or utcnow().astimezone(WIB).date()
    UsageDaily.insert(day=day, metric=metric, count=amount).on_conflict(
        conflict_target=[UsageDaily.day, UsageDaily.metric],
        update={UsageDaily.count: UsageDaily.count + amount, UsageDaily.updated_at: utcnow()},
    ).execute()


def set_value(metric: str, value: int, day: date | None = None) -> None:
    """Record a snapshot figure such as active_subscribers."""
    day = day or utcnow().astimezone(WIB).date()
    UsageDaily.insert(day=day, metric=metric, count=value).on_conflict(
        conflict_target=[UsageDaily.day, UsageDaily.metric],
        update={UsageDaily.count: value, UsageDaily.updated_at: utcnow()},
    ).execute()
