"""`outbox` and `broadcast`: the notification queue's state, retries, email notices, and
service announcements."""

import operator
import smtplib
from collections import Counter
from datetime import timedelta
from functools import reduce

import click
from peewee import fn

from lpse_crawler import config
from lpse_crawler.cli.common import actor, audited, db_command, emit, keyring, read_command
from lpse_crawler.mail import EmailSender, SmtpSettings, Tally, connect
from lpse_crawler.outbox import (
    REACHABLE,
    Channel,
    Notification,
    Status,
    queue_broadcast,
    reclaim_stale,
    redact_error,
    requeue_dead,
)
from lpse_crawler.people.models import Subscriber
from lpse_crawler.store.database import utcnow, write_transaction

AGES = [("under 5 min", 300), ("under 1 hour", 3600), ("under 1 day", 86400)]  # of queued rows
PROGRESS_EVERY = 100  # email notices between two progress lines
STUCK = 300  # seconds a notification may stay due before `outbox status` asks after the sender


@click.group(help="The notification outbox.")
def outbox():
    pass


@outbox.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@read_command
def status(as_json):
    """Notifications by status and channel, the queue's age, and why notifications died.

    Example: python cli.py outbox status --json
    """
    report = status_report()
    if as_json:
        return emit(report, True)
    channels = report["by_channel"]
    emit([{"status": s, **{c: channels[c][s] for c in channels}, "total": report[s]} for s in Status], False)
    click.echo("queued by age: " + ", ".join(f"{label} {n}" for label, n in report["queued_age"].items()))
    if report["oldest_queued_seconds"] is not None:
        click.echo(f"oldest queued: {_duration(report['oldest_queued_seconds'])} ago")
    line, late = f"due to send now: {report['due_now']}", report["oldest_due_seconds"]
    if late is not None:
        line += f", the oldest due {_duration(late)} ago" + (
            " (is a sender running?)" if late >= STUCK else ""
        )
    click.echo(line + "; the other queued wait on purpose (digest, quiet hours, paused, retry later)")
    for reason in report["dead_reasons"]:
        click.echo(f"dead {reason['count']:>6}  {reason['reason']}")


def status_report() -> dict:
    """Counts by status (overall and by channel), queued rows by age, those due to be sent
    now (queued rows past their next attempt whose subscriber the channel reaches: what a
    stuck sender leaves growing), dead rows by reason (redacted: no tokens, addresses,
    chat ids or phone numbers)."""
    by_channel = {c.value: {s.value: 0 for s in Status} for c in Channel}
    counts = Notification.select(Notification.channel, Notification.status, fn.COUNT(Notification.id))
    for channel, state, n in counts.group_by(Notification.channel, Notification.status).tuples():
        by_channel.setdefault(channel, {s.value: 0 for s in Status})[state] = n
    report = {s.value: sum(c.get(s, 0) for c in by_channel.values()) for s in Status}
    now, queued, below = utcnow(), Notification.select().where(Notification.status == Status.QUEUED), 0
    report["by_channel"], report["queued_age"] = by_channel, {}
    for label, seconds in AGES:
        within = queued.where(Notification.created_at >= now - timedelta(seconds=seconds)).count()
        report["queued_age"][label], below = within - below, within
    report["queued_age"]["older"] = report[Status.QUEUED] - below
    oldest = queued.order_by(Notification.created_at).first()
    report["oldest_queued_seconds"] = int((now - oldest.created_at).total_seconds()) if oldest else None
    reached = [
        (Notification.channel == c) & Subscriber.status.in_(statuses) for c, statuses in REACHABLE.items()
    ]
    due = (  # what a sender takes now: the others wait on purpose
        Notification.select(fn.COUNT(Notification.id), fn.MIN(Notification.next_attempt_at))
        .join(Subscriber)
        .where(
            Notification.status == Status.QUEUED,
            Notification.next_attempt_at <= now,
            reduce(operator.or_, reached),
        )
    )
    report["due_now"], first_due = due.tuples().get()
    report["oldest_due_seconds"] = int((now - first_due).total_seconds()) if first_due else None
    reasons = Counter()
    dead = Notification.select(Notification.last_error, fn.COUNT(Notification.id)).where(
        Notification.status == Status.DEAD
    )
    for error, n in dead.group_by(Notification.last_error).tuples():
        reasons[redact_error(error or "no error recorded", 100)] += n
    report["dead_reasons"] = [{"reason": r, "count": n} for r, n in reasons.most_common(10)]
    return report


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


@outbox.command("retry")
@db_command
def retry():
    """Queue dead notifications again, of subscribers their channel still reaches (Telegram:
    active ones; email: all but deleted).  Example: python cli.py outbox retry"""
    count, left = requeue_dead()
    audited("outbox.retry", None, f"{count} notifications")
    skipped = ", ".join(f"{n} of {state} subscribers" for state, n in sorted(left.items()))
    click.echo(f"{count} notifications queued again" + (f"; left dead: {skipped}" if skipped else ""))


@outbox.command("send-email")
@db_command
def send_email():
    """Send the email notices that are due, as cron does every minute. Exit status: 0 all
    sent (or none due), 1 could not start or go on (settings, SMTP server unreachable, the
    sender address refused), 2 some will be retried later or are dead (see `outbox status`).

    Example: python cli.py outbox send-email
    """
    lease = config.get("SENDER_CLAIM_LEASE")
    if reclaimed := reclaim_stale(lease):
        click.echo(f"took back {reclaimed} notifications a stopped sender had claimed")
    due = Notification.select().where(
        Notification.status == Status.QUEUED,
        Notification.channel == Channel.EMAIL,
        Notification.next_attempt_at <= utcnow(),
    )
    if not due.exists():
        return click.echo("no email notices due")
    settings, ring = SmtpSettings.from_config(), keyring()
    try:
        smtp = connect(settings, lease)
    except (smtplib.SMTPException, OSError) as exc:
        reason = redact_error(f"{type(exc).__name__}: {exc}")
        raise click.ClickException(
            f"cannot use the SMTP server {settings.host}:{settings.port}: {reason}"
        ) from exc
    with smtp:
        tally = EmailSender(smtp, settings, ring, config.get("SENDER_MAX_ATTEMPTS")).drain(_progress)
    click.echo(f"email notices: {tally.sent} sent, {tally.retried} to retry later, {tally.dead} dead")
    if tally.sender_refused:
        raise click.ClickException(
            f"the SMTP server refused the sender address SMTP_FROM={settings.sender!r} "
            f"({tally.sender_refused}): the other notices stay queued; fix SMTP_FROM or the "
            "SMTP account, then run this again"
        )
    if tally.failed:
        click.get_current_context().exit(2)


def _progress(tally: Tally) -> None:
    if (tally.sent + tally.failed) % PROGRESS_EVERY == 0:
        click.echo(f"... {tally.sent} sent, {tally.failed} failed")


@click.command()
@click.option(
    "--message-file", type=click.File(encoding="utf-8"), required=True, help="Plain-text announcement."
)
@click.option(
    "--channel",
    type=click.Choice([c.value for c in Channel] + ["both"]),
    default=Channel.TELEGRAM.value,
    show_default=True,
    help="telegram: every active subscriber; email: every subscriber with an address, paused and "
    "blocked ones too (needs SMTP_HOST; sent by `outbox send-email`); both.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@db_command
def broadcast(message_file, channel, yes):
    """Queue a service update or policy change to every subscriber the channel reaches.

    Example: python cli.py broadcast --message-file kebijakan-baru.txt --channel both
    """
    text = message_file.read().strip()
    if not text or len(text) > 3500:
        raise click.ClickException("the message must have 1 to 3,500 characters")
    channels = list(Channel) if channel == "both" else [Channel(channel)]
    if Channel.EMAIL in channels:
        SmtpSettings.from_config()  # refuse to queue what could never be sent
    if not yes:
        click.confirm(f"Send this announcement by {' and '.join(channels)}?", abort=True)
    with write_transaction():
        counts = {c: queue_broadcast(text, actor(), c) for c in channels}
    click.echo("; ".join(f"queued for {n} subscribers by {c}" for c, n in counts.items()))
