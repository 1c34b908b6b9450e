"""`users`: list, show, add, correct, plan, pause/resume, export and erase subscribers."""

import json

import click
from peewee import JOIN

from lpse_crawler.cli.common import (
    actor,
    audited,
    db_command,
    emit,
    find_person,
    keyring,
    mask,
    read_command,
    write_private,
)
from lpse_crawler.outbox import Notification, resume_one_by_one
from lpse_crawler.people.follows import queue_deadline_reminders
from lpse_crawler.people.models import Filter, Subscriber, SubscriberStatus
from lpse_crawler.people.personal_data import create_subscriber, personal_data, update_personal
from lpse_crawler.people.plans import PAID, PLANS, paid_until
from lpse_crawler.people.privacy import erase_subscriber, export_subscriber
from lpse_crawler.people.reminders import queue_plan_reminders
from lpse_crawler.spse.values import INT64_MAX, INT64_MIN
from lpse_crawler.store.database import WAL_BUSY, in_wib, utcnow, write_transaction
from lpse_crawler.store.models import Tender

WHO = click.argument("who", metavar="ID")
WHO_HELP = "ID is a subscriber id, chat:<telegram chat id>, a phone number or an email."


@click.group(help=f"Subscribers and their personal data. {WHO_HELP}")
def users():
    pass


def row(subscriber: Subscriber, values: dict | None, reveal: bool) -> dict:
    shown = values if reveal else {k: mask(v) for k, v in (values or {}).items()}
    return {
        "id": subscriber.id,
        "chat_id": subscriber.chat_id,
        "plan": subscriber.plan,
        "plan_expires_at": subscriber.plan_expires_at,
        "trial_until": subscriber.trial_until,  # a trial going on before the plan (plans.plan_of)
        "status": subscriber.status,
        **(shown or {}),
    }


@users.command("list")
@click.option("--plan", type=click.Choice(sorted(PLANS)), help="Only subscribers on this plan.")
@click.option(
    "--status",
    type=click.Choice([s.value for s in SubscriberStatus if s != SubscriberStatus.DELETED]),
    help="Only this status.",
)
@click.option("--reveal", is_flag=True, help="Show personal fields in clear (audited; needs the key).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@db_command
def list_users(plan, status, reveal, as_json):
    """List subscribers, personal fields masked.

    Example: python cli.py users list --plan pro --status active
    """
    query = Subscriber.select().order_by(Subscriber.id)
    if plan:
        query = query.where(Subscriber.plan == plan)
    if status:
        query = query.where(Subscriber.status == status)
    ring = keyring()
    rows = [row(s, personal_data(ring, s), reveal) for s in query]
    if reveal:
        audited("users.list.reveal", None, f"{len(rows)} subscribers")
    emit(
        rows,
        as_json,
        [
            ("id", "ID"),
            ("chat_id", "CHAT"),
            ("name", "NAME"),
            ("phone", "PHONE"),
            ("email", "EMAIL"),
            ("plan", "PLAN"),
            ("status", "STATUS"),
        ],
    )


@users.command("show")
@WHO
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@db_command
def show(who, as_json):
    """Show one subscriber in clear (audited).

    Example: python cli.py users show budi@cvmaju.co.id
    """
    ring = keyring()
    subscriber = find_person(ring, who)
    data = row(subscriber, personal_data(ring, subscriber), reveal=True)
    data["filters"] = [f.spec for f in subscriber.filters.order_by(Filter.id)]
    audited("users.show", subscriber.id)
    emit(data, as_json)


@users.command("add")
@click.option("--chat-id", type=click.IntRange(INT64_MIN, INT64_MAX), required=True, help="Telegram chat id.")
@click.option("--name", help="Full name.")
@click.option("--phone", help="WhatsApp number, e.g. 0812-3456-7890.")
@click.option("--email", help="Email address.")
@db_command
def add(chat_id, name, phone, email):
    """Add a subscriber (starts a trial; consent is given in the bot with /start).

    Example: python cli.py users add --chat-id 123456 --name "Budi Santoso" --phone 081234567890
    """
    if Subscriber.get_or_none(Subscriber.chat_id == chat_id):
        raise click.ClickException(f"chat {chat_id} already has a subscriber")
    subscriber = create_subscriber(keyring(encrypting=True), chat_id, name=name, phone=phone, email=email)
    audited("users.add", subscriber.id)
    click.echo(f"added subscriber {subscriber.id}")


@users.command("update")
@WHO
@click.option("--name", help="Corrected full name.")
@click.option("--phone", help="Corrected WhatsApp number.")
@click.option("--email", help="Corrected email address.")
@db_command
def update(who, name, phone, email):
    """Correct personal data (the right to rectification).

    Example: python cli.py users update 42 --email budi@baru.id
    """
    values = {k: v for k, v in {"name": name, "phone": phone, "email": email}.items() if v is not None}
    if not values:
        raise click.ClickException("nothing to change: give --name, --phone or --email")
    ring = keyring(encrypting=True)
    subscriber = find_person(ring, who)
    update_personal(ring, subscriber, **values)
    audited("users.update", subscriber.id, ",".join(sorted(values)))
    click.echo(f"updated {', '.join(sorted(values))} of subscriber {subscriber.id}")


@users.command("plan")
@WHO
@click.argument("plan", type=click.Choice(sorted(PLANS)))
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Last day of the plan (YYYY-MM-DD).")
@db_command
def set_plan(who, plan, until):
    """Put a subscriber on a plan until a date. A trial still running before a paid plan
    goes on (as when the plan is bought in the bot); trial or free ends it.

    Example: python cli.py users plan 42 pro --until 2027-01-31
    """
    expires = None
    if plan != "free":
        if until is None:
            raise click.ClickException("--until is required for plans other than free")
        expires = paid_until(until.date())
        if expires <= utcnow():
            raise click.ClickException(f"--until {until:%Y-%m-%d} is in the past")
    subscriber = find_person(None, who)
    trial_until = subscriber.trial_until if plan in PAID and subscriber.trial_until else None
    if trial_until is not None and trial_until <= utcnow():
        trial_until = None
    with write_transaction():
        Subscriber.update(plan=plan, plan_expires_at=expires, trial_until=trial_until).where(
            Subscriber.id == subscriber.id
        ).execute()
    audited("users.plan", subscriber.id, plan)
    trial = f", after the trial that goes on until {in_wib(trial_until)}" if trial_until else ""
    click.echo(
        f"subscriber {subscriber.id} is on {plan}" + (f" until {until:%Y-%m-%d}" if expires else "") + trial
    )


def _set_status(who: str, status: str) -> None:
    subscriber = find_person(None, who)
    with write_transaction():
        Subscriber.update(status=status).where(Subscriber.id == subscriber.id).execute()
    audited(f"users.{status}", subscriber.id)
    click.echo(f"subscriber {subscriber.id} is {status}")


@users.command("pause")
@WHO
@db_command
def pause(who):
    """Pause a subscriber's alerts.  Example: python cli.py users pause 42"""
    _set_status(who, SubscriberStatus.PAUSED)


@users.command("resume")
@WHO
@db_command
def resume(who):
    """Resume a subscriber's alerts: what was held while paused or blocked is sent one by one
    (only the bot's /lanjut sends it as one summary).  Example: python cli.py users resume 42"""
    subscriber = find_person(None, who)
    queued = resume_one_by_one(subscriber.id)
    audited("users.active", subscriber.id)
    click.echo(f"subscriber {subscriber.id} is active; {queued} Telegram notifications queued for them")


@users.command("export")
@WHO
@click.option("--output", "-o", help="New file, readable by you only (default: stdout).")
@db_command
def export(who, output):
    """Everything held about one person, as one JSON document (right of access; audited).

    Example: python cli.py users export chat:123456 -o budi.json
    """
    ring = keyring()
    subscriber = find_person(ring, who)
    audited("users.export", subscriber.id)  # the document shows its own export too
    document = json.dumps(export_subscriber(ring, subscriber), ensure_ascii=False, indent=2) + "\n"
    if output:
        write_private(output, document.encode())
    else:
        click.echo(document, nl=False)


@users.command("delete")
@WHO
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@db_command
def delete(who, yes):
    """Erase a person: every row about them, payments unlinked, disk pages wiped (audited).

    Example: python cli.py users delete 42 --yes
    """
    subscriber = find_person(None, who)
    if not yes:
        click.confirm(
            f"Erase subscriber {subscriber.id} and all their data? This cannot be undone", abort=True
        )
    removed, wiped = erase_subscriber(subscriber, actor=actor())
    click.echo(
        f"erased subscriber {subscriber.id}: " + ", ".join(f"{n} {what}" for what, n in removed.items())
    )
    if not wiped:
        raise click.ClickException(f"erased, but {WAL_BUSY}")


@users.command("notifications")
@WHO
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000), help="Rows at most.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@read_command
def notifications(who, limit, as_json):
    """Which packages reached a person or are on their way, newest first (times in WIB).

    Example: python cli.py users notifications 42 --limit 20
    """
    subscriber = find_person(None, who)
    query = (
        Notification.select(Notification, Tender)
        .join(Tender, JOIN.LEFT_OUTER)
        .where(Notification.subscriber == subscriber.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    )
    rows = [
        {
            "id": n.id,
            "tender": n.tender.kode if n.tender else "",
            "title": n.tender.nama if n.tender else "(pengumuman)",
            "instance": n.tender.instance_first_seen_id if n.tender else "",
            "status": n.status,
            "created_at": in_wib(n.created_at),
            "sent_at": in_wib(n.sent_at),
            "attempts": n.attempts,
            "last_error": n.last_error or "",
        }
        for n in query
    ]
    if not as_json:
        rows = [r | {"title": r["title"][:50], "last_error": r["last_error"][:60]} for r in rows]
    columns = [("id", "ID"), ("tender", "TENDER"), ("title", "TITLE"), ("instance", "INSTANCE")]
    columns += [("status", "STATUS"), ("created_at", "CREATED"), ("sent_at", "SENT"), ("attempts", "TRIES")]
    emit(rows, as_json, columns + [("last_error", "LAST ERROR")])


@users.command("remind")
@db_command
def remind():
    """Queue the plan-end reminders due now (3 days and 1 day before, on the day, and once
    ended) and the bid-deadline reminders of followed packages (3 days and 1 day before,
    from 07:00 local time), each once; the bot sends them. The bot also does this every
    few minutes.

    Example (cron, hourly): python cli.py users remind
    """
    now = utcnow()
    click.echo(f"queued {queue_plan_reminders(now)} plan-end reminders")
    click.echo(f"queued {queue_deadline_reminders(now)} deadline reminders")
