"""What the crawler remembers between cycles: sessions, listing progress, the detail queue, health."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

from lpse_crawler.spse.coverage import Coverage, Run
from lpse_crawler.store.database import database, upsert, utcnow, write_transaction
from lpse_crawler.store.models import Instance, InstanceCycle, ListingProgress, PendingDetail, SpseSession
from lpse_crawler.store.statements import execute_many, insert_sql

GIVE_UP_DELAY = timedelta(days=1)  # a package over LPSE_DETAIL_ATTEMPTS is still tried this often
CYCLES_KEPT = 50  # crawl cycles of history kept per instance (`instances history`)


@dataclass
class Session:
    """An SPSE listing session: the authenticityToken and the cookies that carry it."""

    token: str
    cookies: dict[str, str]


def load_session(instance: str, kind: str) -> Session | None:
    row = SpseSession.get_or_none(SpseSession.instance == instance, SpseSession.kind == kind)
    return Session(row.token, row.cookies) if row else None


def save_session(instance: str, kind: str, session: Session) -> None:
    with write_transaction():
        values = {"instance": instance, "kind": kind, "token": session.token, "cookies": session.cookies}
        upsert(SpseSession, [SpseSession.instance, SpseSession.kind], values | {"updated_at": utcnow()})


def forget_session(instance: str, kind: str) -> None:
    SpseSession.delete().where(SpseSession.instance == instance, SpseSession.kind == kind).execute()


def load_coverage(instance: str, kind: str, year: int) -> Coverage:
    """What is stored of one listing (nothing yet: an empty Coverage)."""
    row = ListingProgress.get_or_none(
        ListingProgress.instance == instance, ListingProgress.kind == kind, ListingProgress.year == year
    )
    if row is None:
        return Coverage()
    runs = tuple(Run(int(top), int(low), top_at, low_at) for top, low, top_at, low_at in row.runs)
    return Coverage(None if row.ceiling is None else int(row.ceiling), runs, row.version)


def save_coverage(instance: str, kind: str, year: int, coverage: Coverage) -> bool:
    """Store `coverage` if the stored one is still the version it was derived from
    (compare-and-set); False when another write came first or an earlier one was lost.
    Call inside a write transaction."""
    values = {
        "ceiling": None if coverage.ceiling is None else str(coverage.ceiling),
        "runs": [[str(r.top), str(r.low), r.top_at, r.low_at] for r in coverage.runs],
        "version": coverage.version,
    }
    key = (
        (ListingProgress.instance == instance)
        & (ListingProgress.kind == kind)
        & (ListingProgress.year == year)
    )
    expected = ListingProgress.version == coverage.version - 1
    updated = ListingProgress.update(values).where(key & expected).execute()
    if updated:
        return True
    if coverage.version != 1 or ListingProgress.select().where(key).exists():
        return False
    ListingProgress.create(instance=instance, kind=kind, year=year, **values)
    return True


def queue_details(instance: str, kind: str, rows: list[tuple[str, list]]) -> None:
    """Queue listing rows whose detail pages are to fetch (a row already queued keeps its
    failure count and takes the newer cells): one cached statement run for every row."""
    if not rows:
        return
    now = PendingDetail.created_at.db_value(utcnow())
    as_json = PendingDetail.row.db_value
    values = [(instance, kind, kode, as_json(cells), now, now) for kode, cells in rows]
    with write_transaction():
        execute_many(_queue_sql(database.param), values)


@cache
def _queue_sql(p: str) -> str:
    names = ("instance", "kind", "kode", "row", "created_at", "updated_at")
    conflict = ' ON CONFLICT ("instance", "kind", "kode") DO UPDATE SET "row" = excluded."row"'
    return insert_sql(PendingDetail, names, p, conflict, (("attempts", "0"), ("last_error", "''")))


def pending_rows(instance: str, kind: str, max_attempts: int) -> list[list]:
    """Listing rows still waiting for their details: those that failed fewer than
    `max_attempts` times, and, once a day, those that failed more (never dropped)."""
    query = PendingDetail.select(PendingDetail.row).where(
        PendingDetail.instance == instance, PendingDetail.kind == kind, _retry_due(max_attempts)
    )
    return [p.row for p in query.order_by(PendingDetail.kode.desc())]


def queued_codes(instance: str, kind: str, kodes: list[str], max_attempts: int) -> dict[str, bool]:
    """{kode: whether to fetch it again now (as pending_rows would)} of `kodes` waiting in
    the detail queue: a listing check that meets them again finds nothing new."""
    if not kodes:
        return {}
    query = PendingDetail.select(PendingDetail.kode, _retry_due(max_attempts)).where(
        PendingDetail.instance == instance, PendingDetail.kind == kind, PendingDetail.kode.in_(kodes)
    )
    return {kode: bool(due) for kode, due in query.tuples()}


def _retry_due(max_attempts: int):
    return (PendingDetail.attempts < max_attempts) | (PendingDetail.updated_at < utcnow() - GIVE_UP_DELAY)


def detail_failed(instance: str, kind: str, kode: str, row: list, error: str) -> None:
    """Count a failed fetch of a queued package (queued now if it was not)."""
    same = (PendingDetail.instance == instance) & (PendingDetail.kind == kind) & (PendingDetail.kode == kode)
    with write_transaction():
        bump = {"attempts": PendingDetail.attempts + 1, "last_error": error[:2000]}
        if not PendingDetail.update(**bump, row=row).where(same).execute():
            PendingDetail.create(
                instance=instance, kind=kind, kode=kode, row=row, attempts=1, last_error=error[:2000]
            )


@dataclass
class InstanceHealth:
    """One instance's figures for the current crawl."""

    requests: int = 0
    watch_requests: int = 0  # of `requests`: reading followed packages again
    new: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)  # the site: pages, tokens, caps
    storage_errors: list[str] = field(default_factory=list)  # our side: writes that failed
    spse_version: str | None = None

    @property
    def failed(self) -> bool:
        return bool(self.errors or self.storage_errors)

    @property
    def all_errors(self) -> list[str]:
        return list(dict.fromkeys(self.storage_errors + self.errors))


def last_health(codes: list[str] | None = None) -> dict[str, InstanceHealth]:
    """Each instance's figures from its last crawl, as stored on its row."""
    query = Instance.select().where(Instance.last_crawl_at.is_null(False)).order_by(Instance.code)
    if codes:
        query = query.where(Instance.code.in_(codes))
    return {
        i.code: InstanceHealth(
            requests=i.last_requests,
            new=i.last_new,
            updated=i.last_updated,
            errors=[i.last_error] if i.consecutive_failures and i.last_error else [],
            spse_version=i.spse_version,
        )
        for i in query
    }


def save_health(code: str, health: InstanceHealth) -> int:
    """Write one crawl's outcome onto the instance row and its history (the last CYCLES_KEPT
    cycles), in one transaction; returns its consecutive failures."""
    now = utcnow()
    error = "; ".join(health.all_errors)[:2000] if health.failed else None
    with write_transaction():
        instance = Instance.get_by_id(code)
        instance.last_crawl_at = now
        instance.last_new, instance.last_updated = health.new, health.updated
        instance.last_requests = health.requests
        if health.spse_version:
            instance.spse_version = health.spse_version
        if health.failed:
            instance.last_error, instance.last_error_at = error, now
            instance.consecutive_failures += 1
        else:
            instance.last_ok_at = now
            instance.consecutive_failures = 0
        instance.save()
        _record_cycle(code, health, now, error)
    return instance.consecutive_failures


def _record_cycle(code: str, health: InstanceHealth, now: datetime, error: str | None) -> None:
    """Append one cycle to the instance's history and drop those beyond CYCLES_KEPT."""
    InstanceCycle.create(
        instance=code,
        crawled_at=now,
        ok=not health.failed,
        new=health.new,
        updated=health.updated,
        requests=health.requests,
        error=error and error[:500],
    )
    mine = InstanceCycle.instance == code
    newest_first = InstanceCycle.select(InstanceCycle.id).where(mine).order_by(InstanceCycle.id.desc())
    oldest_kept = newest_first.offset(CYCLES_KEPT - 1).limit(1).scalar()
    if oldest_kept:
        InstanceCycle.delete().where(mine, InstanceCycle.id < oldest_kept).execute()
