"""The outbox (notification table): enqueue matches, one per (subscriber, tender).

The crawler only enqueues here; the bot's sender claims, sends and marks (bot/sender.py).
"""

from peewee import chunked

from lpse_crawler import audit, usage
from lpse_crawler.accounts import Notification, Subscriber
from lpse_crawler.db import utcnow, write_transaction
from lpse_crawler.filter_index import Match


def enqueue(tender_id: int, matches: list[Match]) -> int:
    """Queue one notification per subscriber among `matches`; returns how many were new.

    Several filters of one subscriber make one notification that remembers them all; a
    tender already queued for a subscriber (crawled again, listed elsewhere) is skipped.
    """
    by_subscriber: dict[int, tuple[list[int], list[str]]] = {}
    for match in matches:
        filter_ids, words = by_subscriber.setdefault(match.filter.subscriber_id, ([], []))
        filter_ids.append(match.filter.id)
        words.extend(w for w in match.words if w not in words)
    if not by_subscriber:
        return 0
    now = utcnow()
    rows = [
        {"subscriber": subscriber_id, "tender": tender_id, "filter_ids": sorted(filter_ids),
         "matched_words": words, "next_attempt_at": now, "created_at": now, "updated_at": now}
        for subscriber_id, (filter_ids, words) in by_subscriber.items()
    ]  # fmt: skip
    with write_transaction():
        before = Notification.select().where(Notification.tender == tender_id).count()
        for batch in chunked(rows, 500):  # SQLite caps the variables of one statement
            Notification.insert_many(batch).on_conflict_ignore().execute()
        queued = Notification.select().where(Notification.tender == tender_id).count() - before
        usage.count("notifications_queued", queued)
    return queued


def queue_broadcast(body: str, actor: str) -> int:
    """Queue an announcement (`body` is ready HTML) to every active subscriber; returns how many."""
    now = utcnow()
    with write_transaction():
        ids = [s.id for s in Subscriber.select(Subscriber.id).where(Subscriber.status == "active")]
        rows = [{"subscriber": i, "body": body, "next_attempt_at": now, "created_at": now, "updated_at": now}
                for i in ids]  # fmt: skip
        for batch in chunked(rows, 500):  # SQLite caps the variables of one statement
            Notification.insert_many(batch).execute()
        audit.record(actor, "broadcast", None, f"{len(ids)} subscribers")
    return len(ids)
