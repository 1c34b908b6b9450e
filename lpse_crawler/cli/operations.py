"""`crawl` and `purge`: running the crawl by hand, and retention."""

import os
import sys
from datetime import timedelta
from pathlib import Path

import click

from lpse_crawler import config
from lpse_crawler.cli.common import audited, db_command
from lpse_crawler.outbox import Notification, Status
from lpse_crawler.spse.registry import split_codes, unknown_codes_problem
from lpse_crawler.store.database import (
    STORAGE_ERRORS,
    WAL_BUSY,
    connect_database,
    utcnow,
    wipe_wal,
    write_transaction,
)
from lpse_crawler.store.models import Tender

ROOT = Path(__file__).resolve().parents[2]
PURGE_CHUNK = 10_000  # ids bound in one statement


@click.command()
@click.option("--instances", "codes", help="Comma-separated instance codes: every listing of these, now.")
@click.option(
    "--minutes",
    type=click.FloatRange(min=0, max=24 * 60),
    help="Keep taking listings as they fall due this long (default LPSE_RUN_MINUTES; 0: what is due now).",
)
@click.option(
    "--every-listing", is_flag=True, help="Check every listing of every active instance, due or not."
)
def crawl(codes, minutes, every_listing):
    """Run the same crawl cron runs: without --instances, the listings that are due by the
    crawl schedule. Exit status 0 ok, 1 could not run (an unknown instance code), 3 instances
    failing, 4 could not store, 5 interrupted (see README).  Examples: python cli.py crawl --minutes 0;
    python cli.py crawl --instances kemkes,jakarta"""
    try:  # a typo in DATABASE_URL must not crawl into a new, empty database
        db = connect_database(create=False, read_only=True)
        try:  # nor a typo in a code crawl nothing and report OK
            problem = unknown_codes_problem(split_codes(codes)) if codes else None
        finally:
            db.close()
    except (ValueError, *STORAGE_ERRORS) as exc:
        raise click.ClickException(str(exc).strip().splitlines()[0]) from exc
    if problem:
        raise click.ClickException(problem)
    command = [sys.executable, "-m", "scrapy", "crawl", "lpse"]
    command += ["-a", f"instances={codes}"] if codes else []
    command += ["-s", f"LPSE_RUN_MINUTES={minutes:g}"] if minutes is not None else []
    command += ["-s", "LPSE_SCHEDULE=0"] if every_listing else []
    # The crawl takes this process's place (same pid, its exit status): a SIGTERM or SIGINT
    # reaches it, and it never runs on outside cron's flock after this process is killed.
    sys.stdout.flush()
    sys.stderr.flush()
    os.chdir(ROOT)
    os.execv(sys.executable, command)


@click.command()
@click.option(
    "--days",
    type=click.IntRange(min=1, max=36500),
    show_default="RETENTION_DAYS or 180",
    default=lambda: config.get("RETENTION_DAYS"),
    help="Keep packages closed fewer days ago than this.",
)
@click.option("--dry-run", is_flag=True, help="Only count what would go.")
@db_command
def purge(days, dry_run):
    """Retention: drop packages closed more than N days ago, with their sent notifications,
    and announcements sent (or given up) more than N days ago.

    "Closed" is a bid deadline (or, without one, the last sighting) older than N days.
    Packages with notifications still to send are kept. Example: python cli.py purge --days 180
    """
    cutoff = utcnow() - timedelta(days=days)
    # a NULL among NOT IN's values matches no row: leave out broadcasts (they have no tender)
    waiting = Notification.select(Notification.tender).where(
        Notification.status.in_([Status.QUEUED, Status.SENDING]), Notification.tender.is_null(False)
    )
    old = Tender.select(Tender.id).where(
        ((Tender.deadline < cutoff) | (Tender.deadline.is_null() & (Tender.last_seen_at < cutoff)))
        & Tender.id.not_in(waiting)
    )
    ids = [t.id for t in old]
    if dry_run:
        return click.echo(f"would remove {len(ids)} packages")
    notes = removed = 0
    with write_transaction():
        for start in range(0, len(ids), PURGE_CHUNK):  # SQLite binds at most 32,766 values
            chunk = ids[start : start + PURGE_CHUNK]
            notes += Notification.delete().where(Notification.tender.in_(chunk)).execute()
            removed += Tender.delete().where(Tender.id.in_(chunk)).execute()
        notices = (
            Notification.delete()
            .where(
                Notification.tender.is_null(),
                Notification.status.in_([Status.SENT, Status.DEAD]),
                Notification.created_at < cutoff,
            )
            .execute()
        )
    wiped = wipe_wal()
    audited("purge", None, f"{removed} packages, {notes} notifications, {notices} notices")
    click.echo(
        f"removed {removed} packages and {notes} notifications closed before {cutoff:%Y-%m-%d}, "
        f"and {notices} announcements handled before then"
    )
    if not wiped:
        raise click.ClickException(f"removed, but {WAL_BUSY}")
