"""The outbox: the notification table and its whole state machine.

queued -> sending (claimed) -> sent | queued again (retry later, released, or reclaimed
after a crash) | dead. The crawl enqueues; the bot's sender (bot/sender.py, Telegram I/O
and pacing only) and the email sender (mail.py, SMTP I/O only) claim and mark through the
functions here, each only the rows of its channel.
"""

import html
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache

from peewee import BigIntegerField, CharField, ForeignKeyField, IntegerField, TextField, chunked, fn

from lpse_crawler import usage
from lpse_crawler.matching.index import Match
from lpse_crawler.people import audit
from lpse_crawler.people.delivery import hold
from lpse_crawler.people.models import Subscriber, SubscriberStatus
from lpse_crawler.store.database import (
    AwareDateTimeField,
    BaseModel,
    JSONField,
    database,
    is_postgres,
    utcnow,
    write_transaction,
)
from lpse_crawler.store.models import Tender
from lpse_crawler.store.statements import execute_many, insert_sql


class Status(StrEnum):
    """Where a notification stands."""

    QUEUED = "queued"
    SENDING = "sending"  # claimed by a sender
    SENT = "sent"
    DEAD = "dead"  # given up; see last_error


class Channel(StrEnum):
    """How a notification reaches its subscriber."""

    TELEGRAM = "telegram"  # tender alerts and announcements, by the bot
    EMAIL = "email"  # service and policy notices, by `python cli.py outbox send-email`


# Whom a channel reaches, by subscriber status: Telegram only the active (paused asked for
# quiet, blocked cannot be reached); email every subscriber who gave an address, since a
# service or policy change must reach all whose data we hold.
REACHABLE = {
    Channel.TELEGRAM: (SubscriberStatus.ACTIVE,),
    Channel.EMAIL: (SubscriberStatus.ACTIVE, SubscriberStatus.PAUSED, SubscriberStatus.BLOCKED),
}


class Notification(BaseModel):
    """The outbox: one tender (or one broadcast `body`) for one subscriber, once."""

    subscriber = ForeignKeyField(Subscriber, backref="notifications", on_delete="CASCADE", index=False)
    tender = ForeignKeyField(Tender, null=True, on_delete="CASCADE")
    body = TextField(null=True)  # a service announcement instead of a tender
    status = CharField(default=Status.QUEUED)
    channel = CharField(default=Channel.TELEGRAM)  # telegram | email (see Channel)
    filter_ids = JSONField(default=list)  # every filter of the subscriber that matched
    matched_words = JSONField(default=list)  # why: the keywords that matched
    attempts = IntegerField(default=0)
    next_attempt_at = AwareDateTimeField(default=utcnow)
    claimed_at = AwareDateTimeField(null=True)
    sent_at = AwareDateTimeField(null=True)
    telegram_message_id = BigIntegerField(null=True)
    buttons = JSONField(null=True)  # a notice's inline buttons: [[label, callback data], ...]
    held = CharField(null=True)  # why a tender alert waits: digest | quiet (people/delivery.py)
    last_error = TextField(null=True)

    class Meta:
        indexes = ((("subscriber", "tender"), True), (("status", "next_attempt_at"), False))


def enqueue(tender_id: int, matches: list[Match]) -> int:
    """Queue one notification per subscriber among `matches`; returns how many were new.

    Several filters of one subscriber make one notification that remembers them all (ids
    sorted, words each once, in order); a tender already queued for a subscriber (crawled
    again, listed elsewhere) is skipped. A package may fit a thousand filters or more: one
    cached statement is run for every row.
    """
    rows = _notification_rows(tender_id, matches)
    if not rows:
        return 0
    with write_transaction(join=True):  # the match stage's, which also clears the mark
        queued = execute_many(_enqueue_sql(database.param), rows)
        usage.count("notifications_queued", queued)
    return queued


def _notification_rows(tender_id: int, matches: list[Match]) -> list[tuple]:
    """One row of `_enqueue_sql` parameters per subscriber, in the database's form."""
    first: dict[int, Match] = {}  # each subscriber's first match
    more: dict[int, list[Match]] = {}  # and its others (few subscribers have any)
    for match in matches:
        subscriber_id = match.filter.subscriber_id
        if subscriber_id in first:
            more.setdefault(subscriber_id, []).append(match)
        else:
            first[subscriber_id] = match
    moment = utcnow()
    now = Notification.created_at.db_value(moment)
    words_json: dict[tuple[str, ...], str] = {}  # few distinct: each serialised once
    holds: dict[object, tuple[str | None, str]] = {}  # few distinct deliveries: each worked out once
    rows = []
    for subscriber_id, match in first.items():
        if subscriber_id in more:
            ids = json_int_list(sorted([match.filter.id, *(m.filter.id for m in more[subscriber_id])]))
            words = tuple(w for m in (match, *more[subscriber_id]) for w in m.words)
            deliveries = [match.filter.delivery, *(m.filter.delivery for m in more[subscriber_id])]
            key: object = tuple(map(id, deliveries))
        else:
            ids, words, deliveries = f"[{match.filter.id:d}]", tuple(match.words), [match.filter.delivery]
            key = id(deliveries[0])  # load_index shares one Delivery among filters alike
        if words not in words_json:
            words_json[words] = Notification.matched_words.db_value(list(dict.fromkeys(words)))
        if key not in holds:
            held, at = hold(deliveries, moment)
            holds[key] = (held, now if at == moment else Notification.next_attempt_at.db_value(at))
        held, at = holds[key]
        rows.append((subscriber_id, tender_id, ids, words_json[words], held, at, now, now))
    return rows


def json_int_list(numbers: list[int]) -> str:
    """What JSONField.db_value writes for a list of ints (json.dumps), for less: their repr."""
    return repr([int(n) for n in numbers])


@cache
def _enqueue_sql(p: str) -> str:
    names = ("subscriber", "tender", "filter_ids", "matched_words", "held")
    names += ("next_attempt_at", "created_at", "updated_at")
    constants = (("status", f"'{Status.QUEUED}'"), ("channel", f"'{Channel.TELEGRAM}'"), ("attempts", "0"))
    return insert_sql(Notification, names, p, " ON CONFLICT DO NOTHING", constants)


BROADCAST_HEADING = "<b>Pengumuman Pantau LPSE</b>\n"


def queue_broadcast(text: str, actor: str, channel: Channel = Channel.TELEGRAM) -> int:
    """Queue an announcement (plain text) to every subscriber `channel` reaches (by email:
    those with an address), except who already has this very text by that channel; returns
    how many. On Telegram the text is escaped here under one heading."""
    body = BROADCAST_HEADING + html.escape(text, quote=False) if channel == Channel.TELEGRAM else text
    now = utcnow()
    with write_transaction():
        already = Notification.select(Notification.subscriber).where(
            Notification.channel == channel, Notification.body == body
        )
        recipients = Subscriber.select(Subscriber.id).where(
            Subscriber.status.in_(REACHABLE[channel]), Subscriber.id.not_in(already)
        )
        if channel == Channel.EMAIL:
            recipients = recipients.where(Subscriber.email_enc.is_null(False))
        rows = [
            {"subscriber": s.id, "body": body, "channel": channel}
            | {"next_attempt_at": now, "created_at": now, "updated_at": now}
            for s in recipients
        ]
        for batch in chunked(rows, 500):  # SQLite caps the variables of one statement
            Notification.insert_many(batch).execute()
        audit.record(actor, "broadcast", None, f"{len(rows)} subscribers by {channel}")
    return len(rows)


@dataclass(frozen=True)
class Claim:
    """A notification a sender has claimed: it sends it, then marks it."""

    notification_id: int
    subscriber_id: int
    chat_id: int
    attempts: int
    last_sent_at: datetime | None = None  # the chat's last Telegram message, by any sender


def claim(limit: int, busy: Collection[int] = (), channel: Channel = Channel.TELEGRAM) -> list[Claim]:
    """Claim up to `limit` due notifications of `channel` whose subscriber it reaches: the
    oldest of each chat, oldest first, none to a chat in `busy` (chat ids the caller must not
    send to yet) nor to one with a claim still unmarked (by any sender), so one chat's backlog
    never holds back the others and a chat has at most one send in flight. Each claim says
    when its chat was last sent to (mark_sent), so a sender spaces the sends of others too."""
    in_flight = Notification.select(Notification.subscriber).where(
        Notification.status == Status.SENDING, Notification.channel == channel
    )
    firsts = (  # each chat's oldest due notification (the index on status, next_attempt_at)
        Notification.select(fn.MIN(Notification.id).alias("first"), Notification.subscriber)
        .where(
            Notification.status == Status.QUEUED,
            Notification.channel == channel,
            Notification.next_attempt_at <= utcnow(),
            Notification.subscriber.not_in(in_flight),
        )
        .group_by(Notification.subscriber)
        .alias("firsts")
    )
    oldest = (
        Subscriber.select(firsts.c.first)
        .join(firsts, on=(firsts.c.subscriber_id == Subscriber.id))
        .where(Subscriber.status.in_(REACHABLE[channel]))
        .order_by(firsts.c.first)
        .limit(limit)
    )
    if busy:
        oldest = oldest.where(Subscriber.chat_id.not_in(list(busy)))
    candidates = [first for (first,) in oldest.tuples()]  # read before taking the write lock
    if not candidates:
        return []
    now = utcnow()
    with write_transaction():  # what another sender claimed meanwhile is left out here
        rows = (
            Notification.select(Notification.id, Notification.attempts)
            .select_extend(Subscriber.id, Subscriber.chat_id, Subscriber.telegram_sent_at)
            .join(Subscriber)
            .where(
                Notification.id.in_(candidates),
                Notification.status == Status.QUEUED,
                Notification.subscriber.not_in(in_flight),
            )
            .order_by(Notification.id)
        )
        if is_postgres():  # SQLite's BEGIN IMMEDIATE already keeps two senders apart; here a
            # subscriber another claim holds is skipped, so two never take one chat at once
            rows = rows.for_update(of=(Notification, Subscriber), skip_locked=True)
        chosen = [
            Claim(
                row.id,
                row.subscriber.id,
                row.subscriber.chat_id,
                row.attempts + 1,
                row.subscriber.telegram_sent_at,
            )
            for row in rows
        ]
        if chosen:
            Notification.update(
                status=Status.SENDING, claimed_at=now, attempts=Notification.attempts + 1
            ).where(Notification.id.in_([c.notification_id for c in chosen])).execute()
    return chosen


def release(ids: list[int]) -> None:
    """Give claims back untried (the attempt is not counted); a row no longer claimed (marked,
    or reclaimed and queued again) is left as it is."""
    if ids:
        with write_transaction():
            Notification.update(
                status=Status.QUEUED, claimed_at=None, attempts=Notification.attempts - 1
            ).where(Notification.id.in_(ids), Notification.status == Status.SENDING).execute()


def mark_sent(
    notification_id: int,
    message_id: int | None = None,
    carried: Collection[int] = (),
    subscriber_id: int | None = None,
) -> datetime:
    """Sent; `message_id` is Telegram's (an email has none). `carried`: the held alerts the
    same message carried (see held_with), sent with it. `subscriber_id`: the chat a Telegram
    message went to, stamped for every sender's spacing (Claim.last_sent_at). Returns the
    moment stamped."""
    now = utcnow()
    with write_transaction():
        Notification.update(
            status=Status.SENT, sent_at=now, telegram_message_id=message_id, last_error=None
        ).where(Notification.id == notification_id).execute()
        if subscriber_id is not None:
            Subscriber.update(telegram_sent_at=now).where(Subscriber.id == subscriber_id).execute()
        sent = 1
        if carried:
            sent += (
                Notification.update(status=Status.SENT, sent_at=now, telegram_message_id=message_id)
                .where(Notification.id.in_(list(carried)), Notification.status == Status.QUEUED)
                .execute()
            )
        usage.count("notifications_sent", sent)
    return now


def held_with(notification: Notification, limit: int) -> tuple[list[Notification], int]:
    """The subscriber's other held tender alerts due with `notification` (held the same way),
    oldest first, at most `limit` with their tenders, and how many more there are. Its claim
    keeps other senders from the subscriber (see claim), so these stay queued until the
    message that carries them is marked."""
    others = (
        Notification.select(Notification, Tender)
        .join(Tender)
        .where(
            Notification.subscriber == notification.subscriber_id,
            Notification.status == Status.QUEUED,
            Notification.channel == Channel.TELEGRAM,
            Notification.held == notification.held,
            Notification.next_attempt_at <= utcnow(),
            Notification.id != notification.id,
        )
        .order_by(Notification.id)
    )
    taken = list(others.limit(limit))
    return taken, max(0, others.count() - len(taken))


def retry_later(notification_id: int, error: str, delay_seconds: float) -> None:
    """Queue a failed send again after `delay_seconds`, keeping its error."""
    with write_transaction():
        Notification.update(
            status=Status.QUEUED,
            claimed_at=None,
            last_error=error,
            next_attempt_at=utcnow() + timedelta(seconds=delay_seconds),
        ).where(Notification.id == notification_id).execute()


def mark_dead(notification_id: int, error: str, blocked_subscriber: int | None = None) -> None:
    """Give a notification up with its error; with `blocked_subscriber`, that subscriber
    blocked the bot and is marked so in the same transaction."""
    with write_transaction():
        if blocked_subscriber is not None:
            Subscriber.update(status=SubscriberStatus.BLOCKED).where(
                Subscriber.id == blocked_subscriber
            ).execute()
        Notification.update(status=Status.DEAD, claimed_at=None, last_error=error).where(
            Notification.id == notification_id
        ).execute()
        usage.count("notifications_dead")


_MET_THE_BLOCK = (Notification.status == Status.DEAD) & Notification.last_error.startswith("403")


@dataclass(frozen=True)
class Missed:
    """A tender alert a subscriber did not get while paused or blocked (see summarise_backlog)."""

    notification_id: int
    kode: str
    nama: str
    url: str
    deadline: datetime | None


def summarise_backlog(subscriber_id: int) -> tuple[list[Missed], datetime]:
    """Make the subscriber active and claim the tender alerts held while paused or blocked
    (queued, or dead on the 403 that found the bot blocked), in one transaction, to be sent
    as one summary, never one by one; returns them and the moment of their claim. Record how
    the summary went with `note_summary`; a crash before that leaves them claimed, and
    `reclaim_stale` queues them again. Notices (announcements, reminders, changes of
    followed packages) that met the 403 are queued again, to follow one by one as those
    held while paused do."""
    now = utcnow()
    with write_transaction():
        _reactivate(subscriber_id, now, notices_only=True)
        held = (Notification.status == Status.QUEUED) | _MET_THE_BLOCK
        rows = (
            Notification.select(Notification.id, Tender.id, Tender.kode, Tender.nama, Tender.url)
            .select_extend(Tender.deadline)
            .join(Tender)
            .where(Notification.subscriber == subscriber_id, Notification.channel == Channel.TELEGRAM, held)
            .order_by(Notification.id)
        )
        missed = [Missed(n.id, n.tender.kode, n.tender.nama, n.tender.url, n.tender.deadline) for n in rows]
        for batch in chunked([m.notification_id for m in missed], 500):
            Notification.update(status=Status.SENDING, claimed_at=now, last_error=None, updated_at=now).where(
                Notification.id.in_(batch)
            ).execute()
    return missed, now


def resume_one_by_one(subscriber_id: int) -> int:
    """Make the subscriber active and queue again everything that met the block (an operator's
    `users resume`: only the bot sends summaries); returns how many of their Telegram
    notifications are now queued, to be sent one by one."""
    now = utcnow()
    with write_transaction():
        _reactivate(subscriber_id, now, notices_only=False)
        return (
            Notification.select()
            .where(
                Notification.subscriber == subscriber_id,
                Notification.channel == Channel.TELEGRAM,
                Notification.status == Status.QUEUED,
            )
            .count()
        )


def _reactivate(subscriber_id: int, now: datetime, notices_only: bool) -> None:
    """Make the subscriber active and queue again their Telegram notifications (only the
    notices: not tender alerts) that died on the 403 that found the bot blocked."""
    Subscriber.update(status=SubscriberStatus.ACTIVE, updated_at=now).where(
        Subscriber.id == subscriber_id
    ).execute()
    which = [
        Notification.subscriber == subscriber_id,
        Notification.channel == Channel.TELEGRAM,
        _MET_THE_BLOCK,
    ]
    if notices_only:
        which.append(Notification.tender.is_null())
    Notification.update(status=Status.QUEUED, attempts=0, last_error=None, next_attempt_at=now).where(
        *which
    ).execute()


def note_summary(missed: list[Missed], claimed_at: datetime, message_id: int | None) -> None:
    """Mark `missed` (claimed at `claimed_at`) sent in the Telegram message that carried
    their summary; None (the summary could not be sent) queues them again, to be sent one by
    one rather than lost. A row taken back meanwhile (the summary outlasted the claim lease)
    is another claim's now, and left to it."""
    now = utcnow()
    if message_id is None:
        update = {"status": Status.QUEUED, "claimed_at": None, "next_attempt_at": now}
    else:
        update = {
            "status": Status.SENT,
            "claimed_at": None,
            "sent_at": now,
            "telegram_message_id": message_id,
        }
    with write_transaction():
        noted = 0
        for batch in chunked([m.notification_id for m in missed], 500):
            noted += (
                Notification.update(**update)
                .where(
                    Notification.id.in_(batch),
                    Notification.status == Status.SENDING,
                    Notification.claimed_at == claimed_at,
                )
                .execute()
            )
        if message_id is not None:
            usage.count("notifications_sent", noted)  # delivered in the one summary message


def reclaim_stale(lease_seconds: float) -> int:
    """Queue again the claims a dead sender left unmarked for `lease_seconds`; counted as
    possible duplicates (usage metric notifications_reclaimed)."""
    cutoff = utcnow() - timedelta(seconds=lease_seconds)
    with write_transaction():
        count = (
            Notification.update(status=Status.QUEUED, claimed_at=None)
            .where(Notification.status == Status.SENDING, Notification.claimed_at < cutoff)
            .execute()
        )
        usage.count("notifications_reclaimed", count)
    return count


def requeue_dead() -> tuple[int, dict[str, int]]:
    """Queue dead notifications again whose subscriber their channel still reaches; returns
    how many, and how many stay dead by subscriber status."""
    with write_transaction():
        count = 0
        for channel, statuses in REACHABLE.items():
            reached = Subscriber.select(Subscriber.id).where(Subscriber.status.in_(statuses))
            count += (
                Notification.update(status=Status.QUEUED, attempts=0, next_attempt_at=utcnow())
                .where(
                    Notification.status == Status.DEAD,
                    Notification.channel == channel,
                    Notification.subscriber.in_(reached),
                )
                .execute()
            )
        left = (
            Notification.select(Subscriber.status, fn.COUNT(Notification.id))
            .join(Subscriber)
            .where(Notification.status == Status.DEAD)
            .group_by(Subscriber.status)
            .tuples()
        )
        return count, dict(left)


_SECRETS = [
    (re.compile(r"\d{5,}:[\w-]{20,}"), "[token]"),  # a Telegram bot token
    (re.compile(r"[^\s<>\"']*@[^\s<>\"']*"), "[email]"),
    (re.compile(r"\+?\d(?:[ ()-]{0,2}\d){5,}"), "[number]"),  # chat ids, phone numbers
]


def redact_error(text: str, limit: int = 160) -> str:
    """An error as it may be stored or shown: no tokens, email addresses, chat ids or phone
    numbers (six digits or more), on one line, at most `limit` characters."""
    for pattern, placeholder in _SECRETS:
        text = pattern.sub(placeholder, text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def queue_notice(
    subscriber_id: int,
    body: str,
    channel: Channel = Channel.TELEGRAM,
    buttons: list[tuple[str, str]] | None = None,
) -> None:
    """Queue one service notice (`body`, already HTML on Telegram; `buttons` as (label,
    callback data)) for one subscriber, in the caller's transaction: e.g. a plan-end
    reminder recorded with it (people/reminders.py)."""
    now = utcnow()
    moments = {"next_attempt_at": now, "created_at": now, "updated_at": now}
    Notification.insert(
        subscriber=subscriber_id, body=body, channel=channel, buttons=buttons, **moments
    ).execute()
