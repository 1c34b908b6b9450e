"""Email notices end to end: `broadcast --channel email`, then `outbox send-email` against a
real SMTP server on loopback (aiosmtpd)."""

import json
import socket
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from lpse_crawler import outbox
from lpse_crawler.outbox import Channel, Notification
from lpse_crawler.people.crypto import Keyring
from lpse_crawler.people.models import Subscriber
from lpse_crawler.people.personal_data import create_subscriber
from lpse_crawler.store.database import database, utcnow
from lpse_crawler.store.schema import SchemaVersion, migrate, open_database
from tests.test_cli import KEY, env, person, run  # noqa: F401 (fixtures)

NOTICE = "Kebijakan privasi berubah per 1 Juli: data disimpan di Jakarta.\nTerima kasih — “Pantau”."


class Inbox:
    """An aiosmtpd handler that keeps what it accepts, or answers as a test says."""

    def __init__(self):
        self.messages = []
        self.mail_reply = self.rcpt_reply = self.data_reply = None  # e.g. "451 4.3.0 try later"

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        content = envelope.content.replace(b"\r\n", b"\n")  # as the receiving system stores it
        self.messages.append(message_from_bytes(content, policy=policy.default))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp(env, monkeypatch):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    for name, value in {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(controller.port),
        "SMTP_SECURITY": "none",
    }.items():
        monkeypatch.setenv(name, value)
    yield inbox
    controller.stop()


@pytest.fixture
def queued(person, smtp, tmp_path):
    """The person's tender alert sent; one email notice queued for them."""
    Notification.update(status="sent").execute()
    database.close()
    message = tmp_path / "notice.txt"
    message.write_text(NOTICE, encoding="utf-8")
    assert "queued for 1 subscribers by email" in run(
        "broadcast", "--message-file", str(message), "--channel", "email", "--yes"
    )
    return message


def email_rows():
    return list(Notification.select().where(Notification.channel == "email").order_by(Notification.id))


def test_a_notice_reaches_everyone_with_an_email_once(person, smtp, tmp_path):
    ring = Keyring.parse(KEY)
    create_subscriber(ring, 801, name="Tanpa Email")
    paused = create_subscriber(ring, 802, email="ani@contoh.id")
    Subscriber.update(status="paused").where(Subscriber.id == paused.id).execute()
    Notification.update(status="sent").execute()
    database.close()
    message = tmp_path / "notice.txt"
    message.write_text(NOTICE, encoding="utf-8")
    output = run("broadcast", "--message-file", str(message), "--channel", "both", "--yes")
    assert output == "queued for 2 subscribers by telegram; queued for 2 subscribers by email\n"
    assert {c.chat_id for c in outbox.claim(10)} == {777, 801}  # Telegram: the active only
    assert "2 sent, 0 to retry later, 0 dead" in run("outbox", "send-email")

    assert sorted(m["To"] for m in smtp.messages) == ["ani@contoh.id", "siti@rahma.id"]
    mail = smtp.messages[0]
    assert (
        mail["Subject"] == "Pemberitahuan Pantau LPSE"
        and mail["From"] == "Pantau LPSE <noreply@pantaulpse.id>"
    )
    assert mail["Date"] and mail["Message-ID"].endswith("@pantaulpse.id>")
    assert mail.get_content_type() == "text/plain" and mail.get_content_charset() == "utf-8"
    assert mail.get_content().strip() == NOTICE
    assert {n.status for n in email_rows()} == {"sent"}
    assert run("outbox", "send-email") == "no email notices due\n"
    assert "queued for 0 subscribers by email" in run(
        "broadcast", "--message-file", str(message), "--channel", "email", "--yes"
    )
    assert len(smtp.messages) == 2


def test_a_temporary_refusal_is_retried_on_a_later_run(queued, smtp):
    smtp.data_reply = "451 4.3.0 Mailbox busy, try later"
    assert "0 sent, 1 to retry later" in run("outbox", "send-email", code=2)
    [row] = email_rows()
    assert (row.status, row.attempts, row.last_error) == ("queued", 1, "451 4.3.0 Mailbox busy, try later")
    assert row.next_attempt_at > utcnow() + timedelta(seconds=50)
    smtp.data_reply = None
    assert run("outbox", "send-email") == "no email notices due\n"  # not yet
    Notification.update(next_attempt_at=utcnow()).execute()  # the clock moves on
    assert "1 sent" in run("outbox", "send-email")
    assert [m["To"] for m in smtp.messages] == ["siti@rahma.id"] and email_rows()[0].status == "sent"


def test_a_refused_recipient_is_dead_with_a_redacted_reason(queued, smtp):
    smtp.rcpt_reply = "550 5.1.1 <siti@rahma.id>: Recipient address rejected: User unknown"
    assert "0 sent, 0 to retry later, 1 dead" in run("outbox", "send-email", code=2)
    assert email_rows()[0].status == "dead" and "siti" not in email_rows()[0].last_error
    report = json.loads(run("outbox", "status", "--json"))
    assert report["dead_reasons"] == [
        {"reason": "550 5.1.1 <[email]>: Recipient address rejected: User unknown", "count": 1}
    ]
    assert run("outbox", "send-email") == "no email notices due\n" and smtp.messages == []


def test_an_unreachable_server_fails_and_keeps_the_notices_queued(queued, monkeypatch):
    monkeypatch.setenv("SMTP_PORT", str(free_port()))
    output = run("outbox", "send-email", code=1)
    assert output.startswith("Error: cannot use the SMTP server 127.0.0.1:") and output.count("\n") == 1
    assert [(n.status, n.attempts) for n in email_rows()] == [("queued", 0)]


def test_a_claim_left_by_a_crashed_sender_is_sent_after_the_lease(queued, smtp):
    [claim] = outbox.claim(1, channel=Channel.EMAIL)  # then the process died
    Notification.update(claimed_at=utcnow() - timedelta(seconds=30)).execute()
    assert run("outbox", "send-email") == "no email notices due\n"  # within SENDER_CLAIM_LEASE
    Notification.update(claimed_at=utcnow() - timedelta(seconds=61)).execute()
    assert "took back 1" in run("outbox", "send-email")
    assert len(smtp.messages) == 1 and email_rows()[0].status == "sent"


@pytest.mark.parametrize(
    "setting, value, error",
    [
        ("SMTP_HOST", "", "Error: SMTP_HOST is empty: set the SMTP server to send email notices\n"),
        ("SMTP_SECURITY", "ssl", "Error: SMTP_SECURITY='ssl' is not one of starttls, tls, none\n"),
        (
            "SMTP_HOST",
            "mail.example.id",
            "Error: SMTP_SECURITY=none would send SMTP_PASSWORD unencrypted to another host: "
            "use starttls or tls\n",
        ),
    ],
)
def test_email_broadcast_refuses_without_usable_smtp_settings(
    person, tmp_path, monkeypatch, setting, value, error
):
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_SECURITY", "none")
    monkeypatch.setenv("SMTP_USER", "pantau")
    monkeypatch.setenv(setting, value)
    message = tmp_path / "notice.txt"
    message.write_text(NOTICE, encoding="utf-8")
    assert run("broadcast", "--message-file", str(message), "--channel", "email", "--yes", code=1) == error
    assert email_rows() == []


def test_migration_8_gives_existing_notifications_the_telegram_channel(database_url, person):
    database.execute_sql("ALTER TABLE notification DROP COLUMN channel")
    SchemaVersion.delete().where(SchemaVersion.version >= 8).execute()
    database.close()
    db = open_database(database_url)
    assert "channel" in {c.name for c in db.get_columns("notification")}
    assert [(n.channel, n.tender_id is not None) for n in Notification.select()] == [("telegram", True)]
    assert migrate(db) == []


def test_a_closing_server_stops_the_run_and_the_rest_stays_queued(queued, smtp, tmp_path):
    create_subscriber(Keyring.parse(KEY), 803, email="budi@contoh.id")
    database.close()
    run("broadcast", "--message-file", str(queued), "--channel", "email", "--yes")
    smtp.data_reply = "421 4.3.2 Service shutting down"
    assert "0 sent, 1 to retry later, 0 dead" in run("outbox", "send-email", code=2)
    assert [(n.status, n.attempts) for n in email_rows()] == [("queued", 1), ("queued", 0)]


def test_a_refused_sender_address_stops_the_run_and_every_notice_stays_queued(queued, smtp):
    ring = Keyring.parse(KEY)
    for n in range(4):
        create_subscriber(ring, 810 + n, email=f"orang{n}@contoh.id")
    database.close()
    run("broadcast", "--message-file", str(queued), "--channel", "email", "--yes")
    smtp.mail_reply = "553 5.7.1 <noreply@pantaulpse.id>: Sender address rejected: not owned by user"
    output = run("outbox", "send-email", code=1)
    assert "email notices: 0 sent, 0 to retry later, 0 dead" in output
    assert "Error: the SMTP server refused the sender address SMTP_FROM=" in output
    assert "Sender address rejected: not owned by user" in output and "fix SMTP_FROM" in output
    assert [(n.status, n.attempts) for n in email_rows()] == [("queued", 0)] * 5  # none tried
    smtp.mail_reply = None  # SMTP_FROM fixed
    assert "5 sent, 0 to retry later, 0 dead" in run("outbox", "send-email")
    assert len(smtp.messages) == 5 and {n.status for n in email_rows()} == {"sent"}


def test_a_sender_address_put_off_for_now_is_retried_later(queued, smtp):
    run("broadcast", "--message-file", str(queued), "--channel", "email", "--yes")
    smtp.mail_reply = "451 4.7.1 Sender throttled, try again later"
    output = run("outbox", "send-email", code=2)
    assert "0 sent, 1 to retry later, 0 dead" in output and "SMTP_FROM" not in output
    assert [(n.status, n.attempts) for n in email_rows()] == [("queued", 1)]
