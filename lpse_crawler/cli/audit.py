"""`audit`: the audit trail, newest first, by action, day and subject."""

from datetime import UTC, datetime, timedelta

import click
from peewee import fn

from lpse_crawler.cli.common import emit, read_command
from lpse_crawler.people.audit import Audit
from lpse_crawler.store.database import WIB, in_wib


@click.group(help="The audit trail: who did what to which subject (never personal data).")
def audit():
    pass


@audit.command("list")
@click.option("--action", help="Only actions starting with this, e.g. users or users.export.")
@click.option("--since", help="From this day on (YYYY-MM-DD, WIB).")
@click.option("--until", help="Up to and including this day (YYYY-MM-DD, WIB).")
@click.option("--subject", help="Only this subject: a subscriber id (42) or subscriber:42.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000), help="Rows at most.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@read_command
def list_audit(action, since, until, subject, limit, as_json):
    """The audit trail, newest first (times in WIB).

    Example: python cli.py audit list --action users --since 2026-02-01 --until 2026-02-28
    """
    start = _day_start(since, "--since") if since else None
    end = _day_start(until, "--until") + timedelta(days=1) if until else None
    if start and end and start >= end:
        raise click.ClickException(f"--since {since} is after --until {until}")
    query = Audit.select().order_by(Audit.created_at.desc(), Audit.id.desc())
    if action:
        query = query.where(fn.SUBSTR(Audit.action, 1, len(action)) == action)
    if start:
        query = query.where(Audit.created_at >= start)
    if end:
        query = query.where(Audit.created_at < end)
    if subject:
        query = query.where(Audit.subject == (f"subscriber:{subject}" if subject.isdigit() else subject))
    rows = [
        {
            "at": in_wib(a.created_at),
            "actor": a.actor,
            "action": a.action,
            "subject": a.subject or "",
            "detail": a.detail or "",
        }
        for a in query.limit(limit)
    ]
    if not as_json:
        rows = [r | {"detail": r["detail"][:80]} for r in rows]
    columns = [
        ("at", "AT"),
        ("actor", "ACTOR"),
        ("action", "ACTION"),
        ("subject", "SUBJECT"),
        ("detail", "DETAIL"),
    ]
    emit(rows, as_json, columns)


def _day_start(text: str, option: str) -> datetime:
    """When day `text` (YYYY-MM-DD) began in Jakarta, in UTC like every stored moment."""
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=WIB).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise click.ClickException(
            f"{option} {text[:40]!r} is not a day: use YYYY-MM-DD, e.g. 2026-02-06"
        ) from exc
