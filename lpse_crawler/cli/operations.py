"""`crawl` and `purge`: running the crawl by hand, and retention."""

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import click

from lpse_crawler import config
from lpse_crawler.cli.common import audited, db_command
from lpse_crawler.outbox import Notification, Status
from lpse_crawler.store.database import utcnow, wipe_wal, write_transaction
from lpse_crawler.store.models import Tender

ROOT = Path(__file__).resolve().parents[2]


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
