"""Followed packages: a subscriber follows a package from its alert ("Ikuti"), sees them with
/diikuti, is told what changed when a crawl stores a change of it, and is reminded of its
bid deadline 3 days and 1 day before, from 07:00 in the package's own zone (WIB, WITA or
WIT), never after the deadline nor once the package is cancelled or failed. How many
packages one may follow is a plan limit (plans.py).

Changes: `tender.told` keeps what followers were last told (set when the package is first
followed). The store stage marks a followed package it updates (`follow_pending`) in the
transaction that stores it; `tell_followers` compares what was told with what is stored
(following/changes.py), queues one message per follower naming the changes that follower
was not told before (`FollowChange`, by each change's key), and clears the mark, in one
transaction. A crash between the two leaves the mark: the next crawl tells them first.

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

from lpse_crawler.following.changes import Change, Snapshot, changes, describe, next_round, stored_schedule
from lpse_crawler.following.watching import next_read
from lpse_crawler.outbox import REACHABLE, Channel, queue_notice
from lpse_crawler.people.models import Subscriber
from lpse_crawler.people.plans import plan_of
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
CHANGED = "🔔 <b>Perubahan pada paket yang Anda ikuti</b>\n<b>{nama}</b>\n{lpse}\n{lines}\n{link}"
MAX_CHANGE_LINES = 12  # more are counted, so a message stays far under Telegram's 4,096 characters
MORE_CHANGES = "• dan {count} perubahan lain (lihat halaman LPSE)"


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


class FollowChange(BaseModel):
    """A change told to one follower: each at most once (by `Change.key`)."""

    follow = ForeignKeyField(Follow, on_delete="CASCADE", index=False)  # the key leads
    key = CharField()

    class Meta:
        indexes = ((("follow", "key"), True),)


FOLLOW_MODELS = [Follow, FollowReminder, FollowChange]


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
        told = Tender.told.is_null()  # the first follower: what is stored now is what is known
        tender = Tender.get_by_id(tender_id)
        watch_at = first_watch(tender, now)
        Tender.update(told=snapshot_of(tender), watch_due_at=watch_at).where(
            Tender.id == tender_id, told
        ).execute()
    return Outcome.FOLLOWED


def unfollow(subscriber: Subscriber, tender_id: int) -> bool:
    """Stop following a package; False when it was not followed. With its last follower
    gone the package's changes are no longer told."""
    with write_transaction():
        gone = Follow.delete().where(Follow.subscriber == subscriber.id, Follow.tender == tender_id)
        if not gone.execute():
            return False
        forget_unfollowed([tender_id])
    return True


def forget_unfollowed(tender_ids: list[int]) -> None:
    """Of these packages, those nobody follows any more are neither told nor read again, in
    the caller's transaction."""
    still = Follow.select(Follow.tender).where(Follow.tender.in_(tender_ids))
    Tender.update(told=None, follow_pending=False, watch_due_at=None).where(
        Tender.id.in_(tender_ids), Tender.id.not_in(still)
    ).execute()


def first_watch(tender: Tender, now: datetime) -> datetime | None:
    """When a newly followed package is first read again (following/watching.py)."""
    instance = Instance.get_or_none(Instance.code == tender.instance_first_seen_id)
    zone = instance.timezone if instance else "Asia/Jakarta"
    return next_read(tender.jadwal, zone, ended(tender), tender.hasil, tender.first_seen_at, now)


def snapshot_of(tender: Tender) -> dict:
    """What followers are told about, as stored (the JSON of `tender.told`)."""
    flags = {"ulang": tender.ulang, "batal": tender.batal, "gagal": tender.gagal}
    parties = {name: (tender.hasil or {}).get(name) or [] for name in ("winners", "contract")}
    return {"tahap": tender.tahap, **flags, "jadwal": tender.jadwal or [], **parties}


def untold() -> list[int]:
    """Ids of followed packages whose change is stored but not told yet (a crash came between)."""
    return [t for (t,) in Tender.select(Tender.id).where(Tender.follow_pending).tuples()]


def tell_followers(tender_id: int) -> int:
    """Queue what changed for each follower of a marked package and clear the mark, in one
    transaction; returns how many messages were queued."""
    with write_transaction():
        tender = Tender.get_by_id(tender_id)
        instance = Instance.get_or_none(Instance.code == tender.instance_first_seen_id)
        zone = instance.timezone if instance else "Asia/Jakarta"
        now = snapshot_of(tender)
        found = []
        if tender.told:
            told = _snapshot(tender.told, zone)
            now["round"] = next_round(told, _snapshot(now, zone))
            found = changes(told, _snapshot(now, zone))
        queued = 0
        reachable = (
            Follow.select()
            .join(Subscriber)
            .where(Follow.tender == tender_id, Subscriber.status.in_(REACHABLE[Channel.TELEGRAM]))
        )
        for follow_row in reachable if found else ():  # a blocked or gone follower is not written to
            told = {
                k
                for (k,) in FollowChange.select(FollowChange.key)
                .where(FollowChange.follow == follow_row.id)
                .tuples()
            }
            new = [change for change in found if change.key not in told]
            if not new:
                continue
            FollowChange.insert_many([{"follow": follow_row.id, "key": c.key} for c in new]).execute()
            buttons = [(UNFOLLOW_LABEL, f"unfollow:{tender.id}")]
            queue_notice(follow_row.subscriber_id, change_text(tender, instance, new, zone), buttons=buttons)
            queued += 1
        told_now = now if tender.told is not None else None
        Tender.update(told=told_now, follow_pending=False).where(Tender.id == tender_id).execute()
    if queued:
        log.info("Told %d followers what changed in package %s", queued, tender.kode)
    return queued


def _snapshot(told: dict, zone: str) -> Snapshot:
    flags = {name: bool(told.get(name)) for name in ("ulang", "batal", "gagal")}
    parties = {name: tuple(tuple(row) for row in told.get(name) or []) for name in ("winners", "contract")}
    return Snapshot(
        tahap=told.get("tahap") or "",
        schedule=stored_schedule(told.get("jadwal") or [], zone),
        round=told.get("round", 0),
        **flags,
        **parties,
    )


def change_text(tender: Tender, instance: Instance | None, found: list[Change], zone: str) -> str:
    """One follower's message about a package's changes, in Indonesian HTML."""
    lines = [f"• {describe(change, zone)}" for change in found[:MAX_CHANGE_LINES]]
    if len(found) > MAX_CHANGE_LINES:
        lines.append(MORE_CHANGES.format(count=len(found) - MAX_CHANGE_LINES))
    lpse = f"{instance.name} ({instance.code})" if instance else tender.instance_first_seen_id
    return CHANGED.format(
        nama=html.escape(" ".join(tender.nama.split())[:600], quote=False),
        lpse=html.escape(lpse, quote=False),
        lines="\n".join(lines),
        link=html.escape(tender.url),
    )


def follow_limit(subscriber: Subscriber, now: datetime) -> int:
    return plan_of(subscriber, now).max_follows


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
