"""Followed packages: a subscriber follows a package from its alert ("Ikuti"), sees them with
/diikuti, and is reminded of its bid deadline 3 days and 1 day before, from 07:00 in the
package's own zone (WIB, WITA or WIT), never after the deadline nor once the package is
cancelled or failed. How many packages one may follow is a plan limit (plans.py).

Each reminder goes out once per (follow, deadline, stage) through the outbox: a deadline
that moves gets its own reminders. Run with the plan-end reminders, by the bot process
every few minutes and by `python cli.py users remind` (cron). The texts live here because
the core writes them into the outbox (and the core never imports the bot).
"""

import html
import logging
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from peewee import CharField, ForeignKeyField

from lpse_crawler.outbox import REACHABLE, Channel, queue_notice
from lpse_crawler.people.models import Subscriber
from lpse_crawler.people.plans import effective_plan
from lpse_crawler.spse.stages import CANCELLED_STAGES, FAILED_STAGES
from lpse_crawler.store.database import AwareDateTimeField, BaseModel, write_transaction
from lpse_crawler.store.models import Instance, Tender
from lpse_crawler.tanggal import waktu

log = logging.getLogger(__name__)
REMIND_AT = time(7, 0)  # local time of the package's instance
REMIND_DAYS = {"3d": 3, "1d": 1}  # stage -> calendar days before the deadline, local
UNFOLLOW_LABEL = "Berhenti ikuti"
REMINDER = (
    "⏰ <b>Batas penawaran {left}</b>: {deadline}\n"
    "<b>{nama}</b>\n{lpse}\n{link}\n"
    "Anda mengikuti paket ini. Lihat semua dengan /diikuti."
)
LEFT = {"3d": "3 hari lagi", "1d": "besok"}


class Follow(BaseModel):
    """A package one subscriber follows."""

    subscriber = ForeignKeyField(Subscriber, on_delete="CASCADE", index=False)  # the key leads
    tender = ForeignKeyField(Tender, on_delete="CASCADE")

    class Meta:
        indexes = ((("subscriber", "tender"), True),)


class FollowReminder(BaseModel):
    """A deadline reminder queued: at most one per follow, deadline and stage."""

    follow = ForeignKeyField(Follow, on_delete="CASCADE", index=False)  # the key leads
    deadline = AwareDateTimeField()  # the bid deadline it was about
    stage = CharField()  # 3d | 1d

    class Meta:
        indexes = ((("follow", "deadline", "stage"), True),)


FOLLOW_MODELS = [Follow, FollowReminder]


class Outcome(StrEnum):
    FOLLOWED = "followed"
    ALREADY = "already"
    LIMIT = "limit"  # the plan allows no more
    GONE = "gone"  # no such package (any more)


def follow(subscriber: Subscriber, tender_id: int, now: datetime) -> Outcome:
    """Follow a package, within the subscriber's plan."""
    with write_transaction():
        if not Tender.select().where(Tender.id == tender_id).exists():
            return Outcome.GONE
        mine = Follow.select().where(Follow.subscriber == subscriber.id)
        if mine.where(Follow.tender == tender_id).exists():
            return Outcome.ALREADY
        if mine.count() >= follow_limit(subscriber, now):
            return Outcome.LIMIT
        Follow.insert(subscriber=subscriber.id, tender=tender_id).execute()
    return Outcome.FOLLOWED


def unfollow(subscriber: Subscriber, tender_id: int) -> bool:
    """Stop following a package; False when it was not followed."""
    with write_transaction():
        gone = Follow.delete().where(Follow.subscriber == subscriber.id, Follow.tender == tender_id)
        return gone.execute() > 0


def follow_limit(subscriber: Subscriber, now: datetime) -> int:
    return effective_plan(subscriber.plan, subscriber.plan_expires_at, now).max_follows


def followed(subscriber: Subscriber, now: datetime) -> list[Tender]:
    """The packages the subscriber follows: those still open for bids by the earliest
    deadline, then the rest in the order they were followed."""
    query = Tender.select().join(Follow).where(Follow.subscriber == subscriber.id).order_by(Follow.id)
    return sorted(query, key=lambda t: (0, t.deadline.timestamp()) if bidding(t, now) else (1, 0.0))


def ended(tender: Tender) -> bool:
    """Cancelled or failed: no more deadline to remind of."""
    return tender.batal or tender.gagal or tender.tahap in CANCELLED_STAGES | FAILED_STAGES


def bidding(tender: Tender, now: datetime) -> bool:
    """Whether bids are still open at `now`: a deadline ahead, and not cancelled or failed."""
    return tender.deadline is not None and tender.deadline > now and not ended(tender)


def reminder_stage(deadline: datetime, zone: str, now: datetime) -> str | None:
    """The reminder due at `now` for a bid deadline: `3d` or `1d` on that local calendar day
    before it, from REMIND_AT local time; None otherwise (and after the deadline)."""
    if deadline <= now:
        return None
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    if local.time() < REMIND_AT:
        return None
    days = (deadline.astimezone(tz).date() - local.date()).days
    return next((stage for stage, before in REMIND_DAYS.items() if before == days), None)


def queue_deadline_reminders(now: datetime) -> int:
    """Queue the deadline reminders due at `now` that were not queued before; returns how many."""
    due = (
        Follow.select(Follow, Tender, Instance)
        .join(Tender)
        .join(Instance)
        .switch(Follow)
        .join(Subscriber)
        .where(
            Tender.deadline.between(now, now + timedelta(days=max(REMIND_DAYS.values()) + 1)),
            Subscriber.status.in_(REACHABLE[Channel.TELEGRAM]),
        )
    )
    queued = 0
    for followed_one in due:
        tender, instance = followed_one.tender, followed_one.tender.instance_first_seen
        stage = reminder_stage(tender.deadline, instance.timezone, now)
        if stage is None or ended(tender):
            continue
        if _queue(followed_one, stage, reminder_text(tender, instance, stage)):
            queued += 1
    if queued:
        log.info("Queued %d deadline reminders", queued)
    return queued


def _queue(followed_one: Follow, stage: str, text: str) -> bool:
    """Record and queue one reminder in one transaction; False when it was queued before."""
    tender = followed_one.tender
    with write_transaction():
        inserted = (
            FollowReminder.insert(follow=followed_one.id, deadline=tender.deadline, stage=stage)
            .on_conflict_ignore()
            .as_rowcount()
            .execute()
        )
        if not inserted:
            return False
        buttons = [(UNFOLLOW_LABEL, f"unfollow:{tender.id}")]
        queue_notice(followed_one.subscriber_id, text, buttons=buttons)
    return True


def reminder_text(tender: Tender, instance: Instance, stage: str) -> str:
    """The reminder's HTML, in Indonesian; the deadline in the package's own zone."""
    deadline = tender.deadline.astimezone(ZoneInfo(instance.timezone))
    return REMINDER.format(
        left=LEFT[stage],
        deadline=waktu(deadline),
        nama=html.escape(" ".join(tender.nama.split())[:600], quote=False),
        lpse=html.escape(f"{instance.name} ({instance.code})", quote=False),
        link=html.escape(tender.url),
    )
