"""`outbox` and `broadcast`: the notification queue's state, retries, and service announcements."""

import click

from lpse_crawler.cli.common import actor, audited, db_command, emit
from lpse_crawler.outbox import Notification, Status, queue_broadcast
from lpse_crawler.store.database import utcnow, write_transaction


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
