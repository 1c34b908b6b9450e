"""A subscriber's life over the real handlers, matching and sender: pausing keeps matches and
/lanjut summarises them once; one who blocked the bot comes back with any message; expired
packages are not announced; alerts say days left, kualifikasi, lokasi and a short method;
/datasaya names the packages."""

import json
from dataclasses import replace
from datetime import datetime, time, timedelta
from pathlib import Path

import jsonschema
import pytest
from telebot.apihelper import ApiTelegramException

from bot import texts
from bot.render import short_method
from lpse_crawler.matching import alerts
from lpse_crawler.matching.saved_filters import load_index
from lpse_crawler.outbox import (
    Notification,
    claim,
    note_summary,
    queue_broadcast,
    reclaim_stale,
    summarise_backlog,
)
from lpse_crawler.people.models import Subscriber, SubscriberStatus
from lpse_crawler.store.database import WIB, utcnow
from lpse_crawler.store.models import Tender
from lpse_crawler.store.tenders import upsert_tender
from tests.test_sender import ITEM, drain, sender

USER = 601
SCHEMA = json.loads((Path(__file__).parent.parent / "schemas" / "export.schema.json").read_text())


@pytest.fixture
def member(chat):
    """A consenting subscriber with one filter, saved before any package below is stored."""
    chat.say(USER, "/start")
    chat.press(USER, "consent:yes")
    assert "tersimpan" in chat.say(USER, "/filter jembatan lpse:kemkes")
    return Subscriber.get(Subscriber.chat_id == USER)


def publish(kode: str, days_left: int = 15, **fields) -> int:
    """Store a package (closing `days_left` Jakarta days from today, 15:00 WIB) and match it
    the way the crawl does; returns how many notifications were queued."""
    today = utcnow().astimezone(WIB).date()
    deadline = datetime.combine(today + timedelta(days=days_left), time(15, 0), tzinfo=WIB)
    nama = fields.pop("nama", f"Pembangunan Jembatan {kode}")
    upsert_tender(
        replace(ITEM, kode=kode, nama=nama, url=f"https://lpse.test/{kode}", deadline=deadline, **fields)
    )
    index, geography = load_index()
    return alerts.match_tender(index, geography, Tender.get(Tender.kode == kode).id)


def status_of(chat_id: int = USER) -> str:
    return Subscriber.get(Subscriber.chat_id == chat_id).status


def statuses() -> list[str]:
    return [n.status for n in Notification.select().order_by(Notification.id)]


def test_pausing_keeps_matches_and_lanjut_sends_them_as_one_summary(chat, telegram, member, bot_config):
    assert "tetap kami simpan" in chat.say(USER, "/jeda")
    assert publish("111000") == 1 and publish("222000") == 1  # queued while paused
    s, _ = sender(chat.telebot, bot_config)
    before = len(telegram.texts_to(USER))
    drain(s)
    assert len(telegram.texts_to(USER)) == before and statuses() == ["queued", "queued"]

    reply = chat.say(USER, "/lanjut")
    assert "aktif kembali" in reply and "<b>2 paket</b>" in reply
    assert '<a href="https://lpse.test/111000">111000</a> Pembangunan Jembatan 111000' in reply
    assert "222000" in reply and status_of() == "active"
    summary_id = telegram.sent[-1]["message_id"]
    rows = list(Notification.select())
    assert {(n.status, n.telegram_message_id) for n in rows} == {("sent", summary_id)}

    count = len(telegram.texts_to(USER))
    drain(s)  # the backlog is not sent again one by one
    assert len(telegram.texts_to(USER)) == count
    assert "sudah aktif" in chat.say(USER, "/lanjut")


def test_a_paused_backlog_is_listed_up_to_twenty(chat, telegram, member):
    chat.say(USER, "/jeda")
    for n in range(25):
        publish(f"{300 + n}000")
    before = len(telegram.sent)
    reply = chat.say(USER, "/lanjut")
    assert len(telegram.sent) == before + 1  # one message, not a flood
    assert "<b>25 paket</b>" in reply and "dan 5 lainnya" in reply
    assert reply.count("<a href=") == 20 and len(reply) <= 4096


def blocked_by_a_403(chat, telegram, bot_config):
    """One alert sent into the user's block: the real sender meets 403; returns that sender."""
    assert publish("111000") == 1
    telegram.blocked.add(USER)
    s, _ = sender(chat.telebot, bot_config)
    drain(s)
    assert status_of() == "blocked" and statuses() == ["dead"]
    return s


def test_a_subscriber_who_blocked_the_bot_comes_back_with_any_message(chat, telegram, member, bot_config):
    s = blocked_by_a_403(chat, telegram, bot_config)
    assert publish("222000") == 1 and publish("333000") == 1  # still matched while blocked
    drain(s)
    assert statuses() == ["dead", "queued", "queued"]

    telegram.blocked.discard(USER)  # the user unblocks the bot and writes
    reply = chat.say(USER, "/status")
    assert "Selamat datang kembali" in reply and "<b>3 paket</b>" in reply
    assert all(f">{kode}</a>" in reply for kode in ("111000", "222000", "333000"))
    assert "Status: aktif" in reply and "blocked" not in reply
    assert set(statuses()) == {"sent"} and status_of() == "active"
    count = len(telegram.texts_to(USER))
    drain(s)
    assert len(telegram.texts_to(USER)) == count
    assert publish("444000") == 1
    drain(s)  # new alerts flow again, one by one
    assert "444000" in telegram.texts_to(USER)[-1]


def test_an_announcement_that_met_the_block_follows_the_summary(chat, telegram, member, bot_config):
    telegram.blocked.add(USER)
    queue_broadcast("Kebijakan privasi kami berubah mulai 1 Januari.", "ops-ani")
    s, _ = sender(chat.telebot, bot_config)
    drain(s)  # the announcement meets the 403
    assert publish("111000") == 1  # matched while blocked
    assert status_of() == "blocked" and statuses() == ["dead", "queued"]
    telegram.blocked.discard(USER)
    assert "<b>1 paket</b>" in chat.say(USER, "halo")
    drain(s)
    assert "Kebijakan privasi kami berubah" in telegram.texts_to(USER)[-1]
    assert statuses() == ["sent", "sent"]


def test_blocking_holds_alerts_and_unblocking_sends_their_summary(chat, telegram, member, bot_config):
    telegram.block(USER)
    chat.step()  # Telegram tells the bot at once
    assert status_of() == "blocked"
    assert publish("111000") == 1 and publish("222000") == 1
    s, _ = sender(chat.telebot, bot_config)
    sent = len(telegram.sent)
    drain(s)  # held, not sent into the block to die on its 403
    assert len(telegram.sent) == sent and statuses() == ["queued", "queued"]

    telegram.unblock(USER)  # on Telegram Desktop or Web: no /start, no message
    chat.step()
    reply = "\n".join(telegram.texts_to(USER)[-1:])
    assert "Selamat datang kembali" in reply and "<b>2 paket</b>" in reply
    assert status_of() == "active" and set(statuses()) == {"sent"}


def test_a_paused_subscriber_who_blocks_and_unblocks_stays_paused(chat, telegram, member):
    chat.say(USER, "/jeda")
    telegram.block(USER)
    chat.step()
    telegram.unblock(USER)
    chat.step()
    assert status_of() == "paused"


def test_a_subscriber_back_with_a_button_gets_the_summary(chat, telegram, member, bot_config):
    blocked_by_a_403(chat, telegram, bot_config)
    telegram.blocked.discard(USER)
    reply = chat.press(USER, "recent:0")  # an old /terbaru button, no message written
    assert "Selamat datang kembali" in reply and "<b>1 paket</b>" in reply
    assert status_of() == "active" and statuses() == ["sent"]


@pytest.mark.parametrize("text", ["halo", "/filterku", "/start"])
def test_any_message_reactivates_even_with_nothing_missed(chat, member, text):
    Subscriber.update(status=SubscriberStatus.BLOCKED).execute()  # as the sender does on a 403
    reply = chat.say(USER, text)
    assert "Selamat datang kembali" in reply and texts.MISSED_NONE in reply
    assert status_of() == "active"
    assert "Selamat datang kembali" not in chat.say(USER, text)  # only once


def test_a_package_whose_deadline_passed_is_not_announced(chat, member):
    assert publish("555000", days_left=-1) == 0
    assert Notification.select().count() == 0
    assert Tender.get(Tender.kode == "555000").match_pending is False  # done with, not retried
    assert publish("666000", days_left=1) == 1
    assert "batas penawarannya sudah lewat" in texts.FILTER_HELP_TEXT


def test_the_deadline_is_compared_with_the_moment_of_matching(chat, member):
    publish("777000", days_left=2)
    Notification.delete().execute()
    tender = Tender.get(Tender.kode == "777000")
    index, geography = load_index()
    assert alerts.match_tender(index, geography, tender.id, now=tender.deadline + timedelta(seconds=1)) == 0
    assert alerts.match_tender(index, geography, tender.id, now=tender.deadline - timedelta(hours=1)) == 1


def test_alert_shows_days_left_kualifikasi_lokasi_and_a_short_method(chat, telegram, member, bot_config):
    publish(
        "888000",
        days_left=3,
        kualifikasi_usaha="Kecil",
        lokasi=["Kota Surabaya", "Kab. Sidoarjo"],
        metode="Tender Cepat - Pascakualifikasi Satu File - Harga Terendah Sistem Gugur",
    )
    s, _ = sender(chat.telebot, bot_config)
    drain(s)
    text = telegram.texts_to(USER)[-1]
    assert "15:00 WIB (sisa 3 hari)" in text
    assert "Kualifikasi usaha: Kecil" in text
    assert "Lokasi: Kota Surabaya; Kab. Sidoarjo" in text
    assert "Tender Cepat · Harga Terendah" in text and "Satu File" not in text


@pytest.mark.parametrize(
    "metode, short",
    [
        ("Tender - Pascakualifikasi Satu File - Harga Terendah Sistem Gugur", "Tender · Harga Terendah"),
        ("Tender - Prakualifikasi Dua File - Harga Terendah Ambang Batas", "Tender · Harga Terendah"),
        ("Tender - Pascakualifikasi Dua File - Sistem Nilai", "Tender · Sistem Nilai"),
        ("Seleksi - Prakualifikasi Dua File - Kualitas dan Biaya", "Seleksi · Kualitas dan Biaya"),
        ("Tender - Pascakualifikasi Satu File", "Tender"),
        ("Pengadaan Langsung", "Pengadaan Langsung"),
        ("Darurat", "Darurat"),
        ("", ""),
    ],
)
def test_short_method(metode, short):
    assert short_method(metode) == short


def test_every_status_has_an_indonesian_word():
    assert set(texts.STATUS_WORDS) == {s.value for s in SubscriberStatus}


def test_datasaya_names_every_package(chat, telegram, member):
    publish("999000", nama="Jembatan Beton Kali <Brantas>")
    chat.say(USER, "/datasaya")
    document = json.loads(telegram.sent[-1]["document"])
    jsonschema.validate(document, SCHEMA)
    (notification,) = document["notifications"]
    assert notification["package_code"] == "999000"
    assert notification["package_name"] == "Jembatan Beton Kali <Brantas>"


def test_a_summary_telegram_will_not_take_leaves_the_backlog_queued(chat, telegram, member, monkeypatch):
    chat.say(USER, "/jeda")
    publish("444000")
    monkeypatch.setattr("bot.handlers.RETRY_WAIT", 1.0)
    telegram.throttle(10, retry_after=5)  # every send asks to wait longer than the cap
    chat.say(USER, "/lanjut")
    assert status_of() == "active" and statuses() == ["queued"]  # the sender will deliver it


def test_a_summary_telegram_fails_leaves_the_backlog_queued(chat, telegram, member):
    chat.say(USER, "/jeda")
    publish("444000")
    telegram.faults.append(("500",))  # the summary's send fails outright
    with pytest.raises(ApiTelegramException):
        chat.say(USER, "/lanjut")
    assert status_of() == "active" and statuses() == ["queued"]  # the sender will deliver it
    assert Notification.get().sent_at is None


def test_a_summary_cut_off_before_it_was_noted_is_queued_again_by_the_lease(chat, telegram, member):
    chat.say(USER, "/jeda")
    publish("444000")
    missed, claimed_at = summarise_backlog(Subscriber.get(Subscriber.chat_id == USER).id)  # then the bot dies
    assert [m.kode for m in missed] == ["444000"] and statuses() == ["sending"]
    assert reclaim_stale(lease_seconds=-1) == 1 and statuses() == ["queued"]


def test_a_summary_that_outlasts_the_claim_lease_leaves_the_sender_s_claim_alone(chat, telegram, member):
    chat.say(USER, "/jeda")
    publish("444000")
    missed, claimed_at = summarise_backlog(Subscriber.get(Subscriber.chat_id == USER).id)
    reclaim_stale(lease_seconds=-1)  # the summary's reply is still waiting on Telegram
    (row,) = claim(10)  # and the sender takes the alert
    note_summary(missed, claimed_at, None)  # the summary failed: it must not queue the sender's claim
    assert statuses() == ["sending"]
    note_summary(missed, claimed_at, 99)  # nor, had it gone, mark the sender's claim sent
    assert statuses() == ["sending"] and row.notification_id == Notification.get().id
