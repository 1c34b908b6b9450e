"""Claims take the oldest due notification of each chat that may send now, so one chat's
backlog never holds back the others (issue 14)."""

from datetime import timedelta

from lpse_crawler import outbox
from lpse_crawler.outbox import Notification
from lpse_crawler.people.models import Subscriber
from lpse_crawler.spse.registry import load_registry, sync_registry
from lpse_crawler.store.database import utcnow
from tests.test_sender import queue


def test_one_chats_backlog_does_not_hold_back_the_others(database):
    sync_registry(load_registry())
    queue([10], tenders=150)  # one chat: 150 queued ahead of everyone else
    Subscriber.insert_many([{"chat_id": 1000 + n} for n in range(40)]).execute()
    tender = Notification.get().tender
    others = Subscriber.select().where(Subscriber.chat_id >= 1000)
    Notification.insert_many(
        [{"subscriber": s.id, "tender": tender, "filter_ids": []} for s in others]
    ).execute()
    claims = outbox.claim(30)
    assert len(claims) == 30 and len({c.chat_id for c in claims}) == 30
    first = Notification.select().order_by(Notification.id).get()
    assert claims[0].notification_id == first.id  # the backlogged chat's oldest, once
    assert [c.chat_id for c in claims[1:]] == list(range(1000, 1029))  # then the others, oldest first


def test_busy_chats_and_chats_with_a_send_in_flight_are_skipped(database):
    sync_registry(load_registry())
    queue([21, 22, 23], tenders=2)
    assert [c.chat_id for c in outbox.claim(10, busy={21})] == [22, 23]
    (claim,) = outbox.claim(10)  # 22 and 23 have a claim unmarked: only 21 may send
    assert claim.chat_id == 21
    sending = Notification.select().join(Subscriber).where(Notification.status == "sending")
    outbox.mark_sent(sending.where(Subscriber.chat_id == 22).get().id)
    assert [c.chat_id for c in outbox.claim(10)] == [22]  # its next one, now nothing is in flight
    assert outbox.claim(10) == []


def test_only_due_queued_rows_of_reachable_subscribers_are_claimed(database):
    sync_registry(load_registry())
    queue([31, 32, 33])
    Notification.update(next_attempt_at=utcnow() + timedelta(minutes=5)).where(
        Notification.subscriber == Subscriber.get(Subscriber.chat_id == 31)
    ).execute()
    Subscriber.update(status="paused").where(Subscriber.chat_id == 32).execute()
    assert [c.chat_id for c in outbox.claim(10)] == [33]
    assert outbox.claim(10) == []


def test_a_claim_counts_the_attempt_and_marks_the_row_sending(database):
    sync_registry(load_registry())
    queue([41])
    (claim,) = outbox.claim(5)
    row = Notification.get()
    assert (row.status, row.attempts, claim.attempts) == ("sending", 1, 1) and row.claimed_at
    outbox.release([claim.notification_id])
    assert (Notification.get().status, Notification.get().attempts) == ("queued", 0)
