"""What the crawler remembers between cycles: sessions, failed details, health."""

from dataclasses import dataclass, field

from lpse_crawler.db import Instance, PendingDetail, SpseSession, utcnow, write_transaction


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
        SpseSession.replace(
            instance=instance, kind=kind, token=session.token, cookies=session.cookies,
            updated_at=utcnow(),
        ).execute()  # fmt: skip


def forget_session(instance: str, kind: str) -> None:
    SpseSession.delete().where(SpseSession.instance == instance, SpseSession.kind == kind).execute()


def pending_rows(instance: str, kind: str, max_attempts: int) -> list[list]:
    """Listing rows of packages whose details failed before, to try again."""
    query = PendingDetail.select(PendingDetail.row).where(
        PendingDetail.instance == instance,
        PendingDetail.kind == kind,
        PendingDetail.attempts <= max_attempts,
    )
    return [p.row for p in query]


def remember_pending(instance: str, kind: str, kode: str, row: list, error: str) -> None:
    same = (PendingDetail.instance == instance) & (PendingDetail.kind == kind) & (PendingDetail.kode == kode)
    with write_transaction():
        bump = {"attempts": PendingDetail.attempts + 1, "last_error": error, "updated_at": utcnow()}
        updated = PendingDetail.update(**bump, row=row).where(same).execute()
        if not updated:
            PendingDetail.create(instance=instance, kind=kind, kode=kode, row=row, last_error=error)


def clear_pending(instance: str, kind: str, kode: str) -> None:
    PendingDetail.delete().where(
        PendingDetail.instance == instance, PendingDetail.kind == kind, PendingDetail.kode == kode
    ).execute()


@dataclass
class InstanceHealth:
    """One instance's figures for the current crawl."""

    requests: int = 0
    new: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)
    spse_version: str | None = None


def last_health(codes: list[str] | None = None) -> dict[str, InstanceHealth]:
    """Each instance's figures from its last crawl, as stored on its row."""
    query = Instance.select().where(Instance.last_crawl_at.is_null(False)).order_by(Instance.code)
    if codes:
        query = query.where(Instance.code.in_(codes))
    return {
        i.code: InstanceHealth(
            requests=i.last_requests, new=i.last_new, updated=i.last_updated,
            errors=[i.last_error] if i.consecutive_failures and i.last_error else [],
            spse_version=i.spse_version,
        )
        for i in query
    }  # fmt: skip


def save_health(code: str, health: InstanceHealth) -> None:
    """Write one crawl's outcome onto the instance row."""
    now = utcnow()
    instance = Instance.get_by_id(code)
    instance.last_crawl_at = now
    instance.last_new, instance.last_updated = health.new, health.updated
    instance.last_requests = health.requests
    if health.spse_version:
        instance.spse_version = health.spse_version
    if health.errors:
        instance.last_error = "; ".join(dict.fromkeys(health.errors))[:2000]
        instance.last_error_at = now
        instance.consecutive_failures += 1
    else:
        instance.last_ok_at = now
        instance.consecutive_failures = 0
    with write_transaction():
        instance.save()
