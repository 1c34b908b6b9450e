"""Data rights: export everything held about one subscriber; erase it for good."""

import logging

from peewee import JOIN

from lpse_crawler.outbox import Notification
from lpse_crawler.people import audit
from lpse_crawler.people.audit import Audit
from lpse_crawler.people.checkouts import Checkout
from lpse_crawler.people.crypto import Keyring
from lpse_crawler.people.delivery import clock
from lpse_crawler.people.follows import Follow, FollowReminder, forget_unfollowed
from lpse_crawler.people.models import BotState, Filter, Payment, Subscriber, chat_state_key
from lpse_crawler.people.personal_data import personal_data
from lpse_crawler.store.database import WAL_BUSY, wipe_wal, write_transaction
from lpse_crawler.store.models import Tender

log = logging.getLogger(__name__)

EXPORT_VERSION = 4  # 2: followed packages; 3: zone, quiet hours, digest hours; 4: trial_until, checkouts


def export_subscriber(keyring: Keyring, subscriber: Subscriber) -> dict:
    """One JSON-ready document: profile, filters, followed packages, notifications, payments,
    audit of requests."""
    payment_table = Payment._meta.table_name
    # Tender.id too: without it peewee attaches a Tender whose id is None and, with it, sets
    # the notification's tender_id to None (every package_code came out null).
    notifications = (
        Notification.select(Notification, Tender.id, Tender.kode, Tender.nama)
        .join(Tender, JOIN.LEFT_OUTER)
        .where(Notification.subscriber == subscriber)
        .order_by(Notification.id)
    )
    return {
        "format": "pantau-lpse-export",
        "version": EXPORT_VERSION,
        "profile": {
            "id": subscriber.id,
            "telegram_chat_id": subscriber.chat_id,
            **personal_data(keyring, subscriber),
            "plan": subscriber.plan,
            "plan_expires_at": _iso(subscriber.plan_expires_at),
            "trial_until": _iso(subscriber.trial_until),
            "status": subscriber.status,
            "consent_at": _iso(subscriber.consent_at),
            "language": subscriber.language,
            "created_at": _iso(subscriber.created_at),
            "timezone": subscriber.timezone,
            "quiet_hours": _quiet_hours(subscriber),
        },
        "filters": [
            {
                "id": f.id,
                "name": f.name,
                "spec": f.spec,
                "active": f.active,
                "created_at": _iso(f.created_at),
                "digest_hour": f.digest_hour,
            }
            for f in subscriber.filters.order_by(Filter.id)
        ],
        "follows": [
            {"package_code": f.tender.kode, "package_name": f.tender.nama, "followed_at": _iso(f.created_at)}
            for f in Follow.select(Follow, Tender)
            .join(Tender)
            .where(Follow.subscriber == subscriber)
            .order_by(Follow.id)
        ],
        "notifications": [
            {
                "id": n.id,
                "package_code": n.tender.kode if n.tender_id else None,
                "package_name": n.tender.nama if n.tender_id else None,
                "announcement": n.body,
                "status": n.status,
                "matched_words": n.matched_words,
                "filter_ids": n.filter_ids,
                "queued_at": _iso(n.created_at),
                "sent_at": _iso(n.sent_at),
            }
            for n in notifications
        ],
        "payments": [
            {
                "invoice_no": p.invoice_no,
                "amount": p.amount,
                "method": p.method,
                "plan": p.plan,
                "period_start": p.period_start.isoformat(),
                "period_end": p.period_end.isoformat(),
                "reference": keyring.decrypt(p.reference_enc, payment_table, "reference_enc", p.id),
                "paid_at": _iso(p.paid_at),
            }
            for p in subscriber.payments.order_by(Payment.id)
        ],
        "checkouts": [
            {
                "plan": c.plan,
                "months": c.months,
                "amount": c.amount,
                "gateway": c.gateway,
                "status": c.status,
                "problem": c.problem,
                "opened_at": _iso(c.created_at),
                "expires_at": _iso(c.expires_at),
            }
            for c in Checkout.select().where(Checkout.subscriber == subscriber).order_by(Checkout.id)
        ],
        "audit": [
            {"at": _iso(a.created_at), "actor": a.actor, "action": a.action, "detail": a.detail}
            for a in Audit.select().where(Audit.subject == f"subscriber:{subscriber.id}").order_by(Audit.id)
        ],
    }


def _quiet_hours(subscriber: Subscriber) -> dict | None:
    if subscriber.quiet_start is None or subscriber.quiet_end is None:
        return None
    return {"start": clock(subscriber.quiet_start), "end": clock(subscriber.quiet_end)}


def erase_subscriber(subscriber: Subscriber, actor: str) -> tuple[dict[str, int], bool]:
    """Delete every row about the person; payments stay for accounting, unlinked and without
    their reference; then the WAL is wiped so no byte of the person remains on disk. Returns
    what was removed, and whether the wipe completed: False (logged as an error) when a
    reader kept the WAL busy, so its old pages hold erased bytes until the next wipe."""
    with write_transaction():
        followed = [f.tender_id for f in Follow.select(Follow.tender).where(Follow.subscriber == subscriber)]
        removed = {
            "filters": Filter.delete().where(Filter.subscriber == subscriber).execute(),
            "follow_reminders": FollowReminder.delete()
            .where(FollowReminder.follow.in_(Follow.select(Follow.id).where(Follow.subscriber == subscriber)))
            .execute(),
            "follows": Follow.delete().where(Follow.subscriber == subscriber).execute(),
            "notifications": Notification.delete().where(Notification.subscriber == subscriber).execute(),
            "payments_unlinked": Payment.update(subscriber=None, reference_enc=None)
            .where(Payment.subscriber == subscriber)
            .execute(),
        }
        forget_unfollowed(followed)  # a package nobody follows now is no longer read again
        removed["audit"] = Audit.delete().where(Audit.subject == f"subscriber:{subscriber.id}").execute()
        removed["conversation"] = (
            BotState.delete().where(BotState.key == chat_state_key(subscriber.chat_id)).execute()
        )
        removed["support_threads"] = (  # bot/support.py: support.<chat>.<message> -> subscriber id
            BotState.delete()
            .where(BotState.key.startswith("support."), BotState.value == str(subscriber.id))
            .execute()
        )
        Subscriber.delete().where(Subscriber.id == subscriber.id).execute()
        audit.record(actor, "subscriber.erase", None, f"{sum(removed.values())} rows")
    wiped = wipe_wal()
    if not wiped:
        log.error("Subscriber %d erased, but %s", subscriber.id, WAL_BUSY)
    return removed, wiped


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None
