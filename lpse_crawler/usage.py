"""Anonymous daily usage counts: a metric and a number per day (a Jakarta day), never a subscriber."""

from datetime import date
from functools import cache

from peewee import CharField, IntegerField

from lpse_crawler.store.database import WIB, BaseModel, DayField, database, utcnow
from lpse_crawler.store.statements import insert_sql


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
    now = utcnow()
    day = day or now.astimezone(WIB).date()
    stamp = UsageDaily.updated_at.db_value(now)
    params = (UsageDaily.day.db_value(day), metric, amount, stamp, stamp)
    database.execute_sql(_count_sql(database.param), params)  # once per matched package: cached


@cache
def _count_sql(p: str) -> str:
    table = UsageDaily._meta.table_name
    add = (
        f' ON CONFLICT ("day", "metric") DO UPDATE SET "count" = "{table}"."count" + EXCLUDED."count", '
        '"updated_at" = EXCLUDED."updated_at"'
    )
    return insert_sql(UsageDaily, ("day", "metric", "count", "created_at", "updated_at"), p, add)


def set_value(metric: str, value: int, day: date | None = None) -> None:
    """Record a snapshot figure such as active_subscribers."""
    day = day or utcnow().astimezone(WIB).date()
    UsageDaily.insert(day=day, metric=metric, count=value).on_conflict(
        conflict_target=[UsageDaily.day, UsageDaily.metric],
        update={UsageDaily.count: value, UsageDaily.updated_at: utcnow()},
    ).execute()
