"""One request budget per host, shared through the database by every crawl process: N
crawlers never send N times the load to the host, and a 429 pauses them all."""

from datetime import timedelta

from lpse_crawler.store.database import is_postgres, utcnow, write_transaction
from lpse_crawler.store.models import HostBudget


def reserve(host: str, interval: float) -> float:
    """Take the host's next request slot, `interval` seconds after the previous one (and
    after any pause); returns how many seconds to wait for it."""
    now = utcnow()
    with write_transaction():
        _ensure(host, now)
        query = HostBudget.select().where(HostBudget.host == host)
        row = (query.for_update() if is_postgres() else query).get()
        slot = max(now, row.next_at, row.paused_until)
        HostBudget.update(next_at=slot + timedelta(seconds=interval)).where(HostBudget.host == host).execute()
    return (slot - now).total_seconds()


def pause(host: str, seconds: float) -> None:
    """No process sends to `host` for `seconds` (a 429's Retry-After)."""
    until = utcnow() + timedelta(seconds=seconds)
    with write_transaction():
        _ensure(host, utcnow())
        HostBudget.update(paused_until=until).where(
            HostBudget.host == host, HostBudget.paused_until < until
        ).execute()


def _ensure(host: str, now) -> None:
    HostBudget.insert(host=host, next_at=now, paused_until=now).on_conflict_ignore().execute()
