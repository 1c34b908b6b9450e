"""Plan-end reminders: 3 days and 1 day before a trial or paid plan ends, on its last day,
and once when it has ended, naming the filters that keep working within the free limits.
A trial a plan was bought in is reminded of the day before it ends and once it has ended,
when the plan bought keeps fewer filters than the trial, naming those that stop.

Each goes out once per (subscriber, plan expiry, stage) through the outbox; a renewal gives
a new expiry and so new reminders. Run by the bot process every few minutes and by
`python cli.py users remind` (cron). The texts live here, not in bot/texts.py, because the
core writes them into the outbox (and the core never imports the bot).
"""

import html
import logging
from datetime import datetime, timedelta

from peewee import CharField, ForeignKeyField

from lpse_crawler.matching.filters import FilterError
from lpse_crawler.matching.saved_filters import InstanceGeography
from lpse_crawler.outbox import REACHABLE, Channel, queue_notice
from lpse_crawler.people.delivery import DEFAULT_HOUR
from lpse_crawler.people.models import Filter, Subscriber
from lpse_crawler.people.plans import PLANS, Plan
from lpse_crawler.store.database import WIB, AwareDateTimeField, BaseModel, write_transaction
from lpse_crawler.tanggal import tanggal

log = logging.getLogger(__name__)
RENEW = ("Perpanjang paket", "pay:renew")  # the bot answers with the plans to pay for
ENDED_NOTICE_DAYS = 7  # a plan that ended longer ago than this is not announced any more
PLAN_ENDS = (
    "<b>Paket {label} Anda berakhir {left}</b>, {when}.\n"
    "Setelah itu berlaku batas paket Gratis: {free}.\nKetik /paket untuk memperpanjang."
)
FREE_DIGEST = ", notifikasi sebagai ringkasan harian pukul {hour} (atur dengan /ringkasan)"
PLAN_ENDED = (
    "<b>Paket {label} Anda sudah berakhir</b> ({when}). Kini berlaku batas paket Gratis: {free}.\n"
    "{filters}\nKetik /paket untuk memperpanjang."
)
LEFT = {"3d": "{days} hari lagi", "1d": "besok", "today": "hari ini"}
LIMITS = "{max_filters} filter, {max_instances} LPSE dan {max_keywords} kata kunci per filter"
KEPT = "Filter yang tetap berjalan: {names}."
STOPPED = "Berhenti sampai paket diperpanjang (filter tetap tersimpan): {names}."
NONE_KEPT = "Tidak ada filter Anda yang muat dalam batas Gratis."
TRIAL_ENDS = (
    "<b>Uji coba Anda berakhir besok</b>, {when}. Setelah itu berlaku paket {label} yang Anda bayar: "
    "{limits}.\n{filters}\nKetik /paket untuk paket yang lebih besar."
)
TRIAL_ENDED = (
    "<b>Uji coba Anda sudah berakhir</b> ({when}). Kini berlaku paket {label} yang Anda bayar: "
    "{limits}.\n{filters}\nKetik /paket untuk paket yang lebih besar."
)
BEYOND = "Berhenti karena melebihi batas paket {label} (filter tetap tersimpan): {names}."
TRIAL_STAGES = ("1d", "ended")


class PlanReminder(BaseModel):
    """A plan-end reminder queued: at most one per subscriber, expiry and stage."""

    subscriber = ForeignKeyField(Subscriber, on_delete="CASCADE")
    expires_at = AwareDateTimeField()  # the plan expiry it was about
    stage = CharField()  # 3d | 1d | today | ended

    class Meta:
        indexes = ((("subscriber", "expires_at", "stage"), True),)


def stage(expires_at: datetime, now: datetime) -> str | None:
    """Which reminder is due for a plan ending at `expires_at`, counted in Jakarta days:
    `3d` (3 or 2 days left), `1d`, `today`, `ended` (up to ENDED_NOTICE_DAYS after), or None."""
    if expires_at <= now:
        return "ended" if now - expires_at <= timedelta(days=ENDED_NOTICE_DAYS) else None
    days = (expires_at.astimezone(WIB).date() - now.astimezone(WIB).date()).days
    return {0: "today", 1: "1d", 2: "3d", 3: "3d"}.get(days)


def queue_plan_reminders(now: datetime) -> int:
    """Queue the reminders due at `now` that were not queued before; returns how many."""
    horizon = now + timedelta(days=4)
    due = Subscriber.select(Subscriber.id, Subscriber.plan, Subscriber.plan_expires_at).where(
        Subscriber.plan != "free",
        Subscriber.plan_expires_at.between(now - timedelta(days=ENDED_NOTICE_DAYS), horizon),
        Subscriber.status.in_(REACHABLE[Channel.TELEGRAM]),
    )
    geography, queued = None, 0
    for subscriber in due:
        which = stage(subscriber.plan_expires_at, now)
        if which is None:
            continue
        geography = geography or InstanceGeography()
        if _queue(subscriber, which, now, geography):
            queued += 1
    queued += _queue_trial_ends(now)
    if queued:
        log.info("Queued %d plan-end reminders", queued)
    return queued


def _queue_trial_ends(now: datetime) -> int:
    """The reminders of trials a plan was bought in that stop some filters at their end."""
    due = Subscriber.select().where(
        Subscriber.trial_until.between(now - timedelta(days=ENDED_NOTICE_DAYS), now + timedelta(days=2)),
        Subscriber.status.in_(REACHABLE[Channel.TELEGRAM]),
    )
    geography, queued = None, 0
    for subscriber in due:
        which = stage(subscriber.trial_until, now)
        if which not in TRIAL_STAGES or subscriber.plan not in PLANS:
            continue
        geography = geography or InstanceGeography()
        plan = PLANS[subscriber.plan]
        kept, stopped = filters_on_plan(subscriber, plan, geography)
        if not stopped:
            continue  # the plan bought keeps every filter: nothing to tell
        limits = _limits(plan)
        lines = [KEPT.format(names=_names(kept))] if kept else []
        lines.append(BEYOND.format(label=plan.label, names=_names(stopped)))
        text = (TRIAL_ENDS if which == "1d" else TRIAL_ENDED).format(
            when=_moment(subscriber.trial_until), label=plan.label, limits=limits, filters="\n".join(lines)
        )
        if _queue(subscriber, which, now, geography, subscriber.trial_until, text):
            queued += 1
    return queued


def _queue(
    subscriber: Subscriber,
    which: str,
    now: datetime,
    geography: InstanceGeography,
    expires_at: datetime | None = None,
    text: str | None = None,
) -> bool:
    """Record and queue one reminder (of the plan's expiry unless `expires_at`, with its
    text unless `text`) in one transaction; False when it was queued before."""
    expires_at = expires_at or subscriber.plan_expires_at
    with write_transaction():
        inserted = (
            PlanReminder.insert(subscriber=subscriber.id, expires_at=expires_at, stage=which)
            .on_conflict_ignore()
            .as_rowcount()
            .execute()
        )
        if not inserted:
            return False
        text = text or reminder_text(subscriber, which, now, geography)
        queue_notice(subscriber.id, text, buttons=[RENEW])
    log.info("Plan-end reminder %s for subscriber %d", which, subscriber.id)
    return True


def reminder_text(subscriber: Subscriber, which: str, now: datetime, geography: InstanceGeography) -> str:
    """The reminder's HTML, in Indonesian."""
    plan = PLANS.get(subscriber.plan, PLANS["free"])
    free = PLANS["free"]
    limits = _limits(free)
    if not free.instant:
        limits += FREE_DIGEST.format(hour=f"{DEFAULT_HOUR:02d}:00")
    when = _moment(subscriber.plan_expires_at)
    if which != "ended":
        days = (subscriber.plan_expires_at.astimezone(WIB).date() - now.astimezone(WIB).date()).days
        left = LEFT[which].format(days=days)
        return PLAN_ENDS.format(label=plan.label, left=left, when=when, free=limits)
    kept, stopped = filters_on_plan(subscriber, free, geography)
    lines = [KEPT.format(names=_names(kept)) if kept else NONE_KEPT] if kept or stopped else []
    if stopped:
        lines.append(STOPPED.format(names=_names(stopped)))
    return PLAN_ENDED.format(label=plan.label, when=when, free=limits, filters="\n".join(lines))


def filters_on_plan(
    subscriber: Subscriber, plan: Plan, geography: InstanceGeography
) -> tuple[list[Filter], list[Filter]]:
    """The subscriber's active filters that `plan` keeps matching and those it stops, as
    load_index decides: the oldest that parse (and on the free plan fit its limits), up to
    its filter count."""
    kept, stopped = [], []
    active = Filter.active == True  # noqa: E712
    for saved in Filter.select().where(Filter.subscriber == subscriber.id, active).order_by(Filter.id):
        try:
            spec = geography.parse(saved.spec)
            fits = geography.fits(plan, spec) if plan is PLANS["free"] else True
        except FilterError:
            fits = False
        (kept if fits and len(kept) < plan.max_filters else stopped).append(saved)
    return kept, stopped


def _limits(plan: Plan) -> str:
    return LIMITS.format(
        max_filters=plan.max_filters, max_instances=plan.max_instances, max_keywords=plan.max_keywords
    )


def _names(filters: list[Filter]) -> str:
    return ", ".join(f"<b>{html.escape(f.name, quote=False)}</b>" for f in filters)


def _moment(moment: datetime) -> str:
    local = moment.astimezone(WIB)
    return f"{tanggal(local)} pukul {local:%H.%M} WIB"
