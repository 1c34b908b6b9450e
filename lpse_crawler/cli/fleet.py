"""`instances`, `outbox`, `broadcast`, `crawl` and `purge`: running the service."""

import csv
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from lpse_crawler import config
from lpse_crawler.cli.common import actor, audited, db_command, emit
from lpse_crawler.outbox import Notification, Status, queue_broadcast
from lpse_crawler.spse.registry import base_url_problem
from lpse_crawler.store.database import utcnow, wipe_wal, write_transaction
from lpse_crawler.store.models import Instance, Tender

ROOT = Path(__file__).resolve().parents[2]


@click.group(help="The LPSE instances the crawler visits, and their health.")
def instances():
    pass


@instances.command("list")
@click.option("--failing", is_flag=True, help="Only instances whose last crawl failed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@db_command
def list_instances(failing, as_json):
    """Instances with their crawl health.  Example: python cli.py instances list --failing"""
    query = Instance.select().order_by(Instance.code)
    if failing:
        query = query.where(Instance.consecutive_failures > 0)
    rows = [
        {
            "code": i.code,
            "active": i.active,
            "province": i.province,
            "last_ok_at": i.last_ok_at,
            "failures": i.consecutive_failures,
            "new": i.last_new,
            "requests": i.last_requests,
            "last_error": (i.last_error or "")[:60],
        }
        for i in query
    ]
    columns = [
        ("code", "CODE"),
        ("active", "ACTIVE"),
        ("failures", "FAILS"),
        ("new", "NEW"),
        ("requests", "REQ"),
        ("last_ok_at", "LAST OK"),
        ("last_error", "LAST ERROR"),
    ]
    emit(rows, as_json, columns)


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise click.ClickException(f"{name} is not a timezone (e.g. Asia/Makassar)") from exc
    return name


@instances.command("add")
@click.argument("code")
@click.option("--name", required=True, help="LPSE name.")
@click.option("--province", help="Province, for filters by province.")
@click.option("--timezone", default="Asia/Jakarta", show_default=True, help="Zone of its dates.")
@click.option("--base-url", help="Override LPSE_BASE_URL/<code>.")
@db_command
def add(code, name, province, timezone, base_url):
    """Add an instance.

    Example: python cli.py instances add newkab --name "LPSE Kab. Baru" --province Papua
    """
    if not code.replace("-", "").isalnum() or code != code.lower():
        raise click.ClickException(f"{code!r}: a code is lower-case letters, digits and '-'")
    if Instance.get_or_none(Instance.code == code):
        raise click.ClickException(f"instance {code} exists")
    if base_url and base_url_problem(base_url):
        raise click.ClickException(base_url_problem(base_url))
    with write_transaction():
        Instance.create(code=code, name=name, province=province, timezone=_zone(timezone), base_url=base_url)
    audited("instances.add", None, code)
    click.echo(f"added {code}")


def _set_active(code: str, active: bool) -> None:
    with write_transaction():
        if not Instance.update(active=active).where(Instance.code == code).execute():
            raise click.ClickException(f"no instance {code!r} (see: python cli.py instances list)")
    audited("instances.enable" if active else "instances.disable", None, code)
    click.echo(f"{code} {'enabled' if active else 'disabled'}")


@instances.command("enable")
@click.argument("code")
@db_command
def enable(code):
    """Crawl this instance again.  Example: python cli.py instances enable kemkes"""
    _set_active(code, True)


@instances.command("disable")
@click.argument("code")
@db_command
def disable(code):
    """Stop crawling this instance.  Example: python cli.py instances disable kemkes"""
    _set_active(code, False)


@instances.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_command
def import_csv(path: Path):
    """Add or update instances from a CSV with columns code,name[,province,timezone,base_url].

    Example: python cli.py instances import new-lpse.csv
    """
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    missing = [n for n, r in enumerate(rows, 2) if not r.get("code") or not r.get("name")]
    if missing:
        raise click.ClickException(f"rows {missing} lack code or name; nothing imported")
    bad = [
        f"row {n}: {base_url_problem(r['base_url'])}"
        for n, r in enumerate(rows, 2)
        if r.get("base_url") and base_url_problem(r["base_url"])
    ]
    if bad:
        raise click.ClickException("; ".join(bad[:5]) + "; nothing imported")
    with write_transaction():
        for r in rows:
            values = {
                "name": r["name"],
                "province": r.get("province") or None,
                "timezone": _zone(r.get("timezone") or "Asia/Jakarta"),
                "base_url": r.get("base_url") or None,
            }
            if not Instance.update(**values).where(Instance.code == r["code"]).execute():
                Instance.create(code=r["code"], **values)
    audited("instances.import", None, f"{len(rows)} rows")
    click.echo(f"imported {len(rows)} instances")


@click.group(help="The notification outbox.")
def outbox():
    pass


@outbox.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@db_command
def status(as_json):
    """Notifications by status.  Example: python cli.py outbox status"""
    counts = {s: Notification.select().where(Notification.status == s).count() for s in Status}
    emit(counts, as_json)


@outbox.command("retry")
@db_command
def retry():
    """Queue dead notifications again.  Example: python cli.py outbox retry"""
    with write_transaction():
        again = {"status": Status.QUEUED, "attempts": 0, "next_attempt_at": utcnow()}
        count = Notification.update(**again).where(Notification.status == Status.DEAD).execute()
    audited("outbox.retry", None, f"{count} notifications")
    click.echo(f"{count} notifications queued again")


@click.command()
@click.option(
    "--message-file", type=click.File(encoding="utf-8"), required=True, help="Plain-text announcement."
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@db_command
def broadcast(message_file, yes):
    """Queue a service update or policy change to every active subscriber.

    Example: python cli.py broadcast --message-file kebijakan-baru.txt
    """
    text = message_file.read().strip()
    if not text or len(text) > 3500:
        raise click.ClickException("the message must have 1 to 3,500 characters")
    if not yes:
        click.confirm("Send this announcement to every active subscriber?", abort=True)
    count = queue_broadcast(text, actor())
    click.echo(f"queued for {count} subscribers")


@click.command()
@click.option("--instances", "codes", help="Comma-separated instance codes (default: every active one).")
def crawl(codes):
    """Run the same crawl cron runs.  Example: python cli.py crawl --instances kemkes,jakarta"""
    command = [sys.executable, "-m", "scrapy", "crawl", "lpse"] + (
        ["-a", f"instances={codes}"] if codes else []
    )
    raise SystemExit(subprocess.run(command, cwd=ROOT).returncode)


@click.command()
@click.option(
    "--days",
    type=click.IntRange(min=1),
    show_default="RETENTION_DAYS or 180",
    default=lambda: config.get("RETENTION_DAYS"),
    help="Keep packages closed fewer days ago than this.",
)
@click.option("--dry-run", is_flag=True, help="Only count what would go.")
@db_command
def purge(days, dry_run):
    """Retention: drop packages closed more than N days ago, with their sent notifications.

    "Closed" is a bid deadline (or, without one, the last sighting) older than N days.
    Packages with notifications still to send are kept. Example: python cli.py purge --days 180
    """
    cutoff = utcnow() - timedelta(days=days)
    waiting = Notification.select(Notification.tender).where(
        Notification.status.in_([Status.QUEUED, Status.SENDING])
    )
    old = Tender.select(Tender.id).where(
        ((Tender.deadline < cutoff) | (Tender.deadline.is_null() & (Tender.last_seen_at < cutoff)))
        & Tender.id.not_in(waiting)
    )
    ids = [t.id for t in old]
    if dry_run:
        return click.echo(f"would remove {len(ids)} packages")
    with write_transaction():
        notes = Notification.delete().where(Notification.tender.in_(ids)).execute() if ids else 0
        removed = Tender.delete().where(Tender.id.in_(ids)).execute() if ids else 0
    wipe_wal()
    audited("purge", None, f"{removed} packages, {notes} notifications")
    click.echo(f"removed {removed} packages and {notes} notifications closed before {cutoff:%Y-%m-%d}")
