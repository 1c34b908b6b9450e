"""`purge`, `outbox retry` and `outbox status` through the CLI, asserting the database."""

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from lpse_crawler.outbox import Notification, redact_error
from lpse_crawler.people.crypto import Keyring
from lpse_crawler.people.models import Subscriber
from lpse_crawler.people.personal_data import create_subscriber
from lpse_crawler.store.database import database, utcnow
from lpse_crawler.store.models import Tender
from lpse_crawler.store.tenders import upsert_tender
from tests.test_cli import KEY, env, person, run  # noqa: F401 (fixtures)
from tests.test_sender import ITEM


def subscriber(chat_id: int, status: str = "active") -> Subscriber:
    made = create_subscriber(Keyring.parse(KEY), chat_id, name=f"Pelanggan {chat_id}")
    Subscriber.update(status=status).where(Subscriber.id == made.id).execute()
    return made


def test_purge_removes_old_packages_even_with_broadcasts_queued(person, tmp_path):
    kode = "20202020000"
    upsert_tender(replace(ITEM, kode=kode, url=ITEM.url.replace(ITEM.kode, kode)))
    Notification.create(subscriber=person, tender=Tender.get(Tender.kode == kode), status="sent")
    Tender.update(deadline=utcnow() - timedelta(days=400)).execute()
    database.close()
    message = tmp_path / "news.txt"
    message.write_text("Layanan libur 1 Januari.")
    run("broadcast", "--message-file", str(message), "--yes")

    assert "would remove 1" in run("purge", "--days", "180", "--dry-run")
    old_notice = Notification.create(subscriber=person, body="Libur 2025.", status="sent")
    Notification.update(created_at=utcnow() - timedelta(days=200)).where(
        Notification.id == old_notice.id
    ).execute()
    database.close()
    assert "removed 1 packages and 1 notifications closed before" in run("purge", "--days", "180")
    assert Notification.get_or_none(Notification.id == old_notice.id) is None  # an old, sent notice goes
    assert [t.kode for t in Tender.select()] == [ITEM.kode]  # its notification is still queued
    left = Notification.select().order_by(Notification.id)
    assert [(n.tender_id is None, n.status) for n in left] == [(False, "queued"), (True, "queued")]


def test_retry_requeues_dead_notifications_only_where_the_channel_reaches(person):
    paused, blocked = subscriber(801, "paused"), subscriber(802, "blocked")
    for who in (paused, blocked):
        Notification.create(subscriber=who, body="Pengumuman", status="dead", last_error="403")
    Notification.create(subscriber=blocked, body="Notice", channel="email", status="dead", last_error="451")
    Notification.update(status="dead", attempts=6, last_error="500").where(
        Notification.subscriber == person
    ).execute()
    database.close()

    output = run("outbox", "retry")
    assert (
        output
        == "2 notifications queued again; left dead: 1 of blocked subscribers, 1 of paused subscribers\n"
    )
    queued = Notification.select().where(Notification.status == "queued")
    assert sorted((n.subscriber_id, n.channel, n.attempts) for n in queued) == [
        (person, "telegram", 0),
        (blocked.id, "email", 0),
    ]
    assert "0 notifications queued again; left dead" in run("outbox", "retry")


def test_status_counts_ages_and_redacted_dead_reasons(person):
    now = utcnow()
    other = subscriber(803)
    for minutes in (1, 30, 600, 3000):
        Notification.create(subscriber=other, body="x", created_at=now - timedelta(minutes=minutes))
    for error in [
        "400: Bad Request: chat 123456789 not found",
        "400: Bad Request: chat 987654321 not found",
        "550 5.1.1 <siti@rahma.id>: Recipient address rejected",
        "ConnectionError: https://api.telegram.org/bot123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/x",
        "nomor +62 813-9988-7766 tidak valid",
    ]:
        Notification.create(subscriber=other, body="y", channel="email", status="dead", last_error=error)
    database.close()

    report = json.loads(run("outbox", "status", "--json"))
    assert (report["queued"], report["dead"], report["sent"]) == (5, 5, 0)  # person's alert is queued too
    assert report["by_channel"]["email"]["dead"] == 5 and report["by_channel"]["telegram"]["queued"] == 5
    assert report["queued_age"] == {"under 5 min": 2, "under 1 hour": 1, "under 1 day": 1, "older": 1}
    assert 3000 * 60 <= report["oldest_queued_seconds"] < 3000 * 60 + 60
    assert report["dead_reasons"] == [
        {"reason": "400: Bad Request: chat [number] not found", "count": 2},
        {"reason": "550 5.1.1 <[email]>: Recipient address rejected", "count": 1},
        {"reason": "ConnectionError: https://api.telegram.org/bot[token]/x", "count": 1},
        {"reason": "nomor [number] tidak valid", "count": 1},
    ]
    assert report["due_now"] == 5 and report["oldest_due_seconds"] < 60  # created long ago, due just now
    text = run("outbox", "status")
    assert "oldest queued: 2 d ago" in text and "siti" not in text and "123456789" not in text
    assert "due to send now: 5, the oldest due " in text and "sender running" not in text


def test_status_tells_what_is_due_from_what_waits_on_purpose(person):
    now = utcnow()
    Notification.update(next_attempt_at=now + timedelta(hours=3), held="digest").execute()  # person's alert
    paused = subscriber(804)
    paused.status = "paused"
    paused.save()
    Notification.create(subscriber=paused, body="x", created_at=now - timedelta(hours=2))
    Notification.create(subscriber=subscriber(805), body="y", next_attempt_at=now - timedelta(minutes=7))
    database.close()
    report = json.loads(run("outbox", "status", "--json"))
    assert (report["queued"], report["due_now"]) == (3, 1)
    assert 7 * 60 <= report["oldest_due_seconds"] < 8 * 60
    assert "due to send now: 1, the oldest due 7 min ago (is a sender running?)" in run("outbox", "status")


@pytest.mark.parametrize(
    "error, shown",
    [
        ("451 4.7.1 greylisted, try again", "451 4.7.1 greylisted, try again"),
        ("chat_id=-1001234567890 failed", "chat_id=-[number] failed"),
        ("to budi.s+lpse@cv-maju.co.id\nrefused", "to [email] refused"),
        ("x" * 300, "x" * 159 + "…"),
    ],
)
def test_redact_error(error, shown):
    assert redact_error(error) == shown
