"""When to be told: daily digests per filter, quiet hours per subscriber, in their zone. The
rules on a frozen clock; the alerts queued by the real match path; the sender over the
loopback Bot API; the commands through the real handlers."""

import json
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import jsonschema
import pytest
from peewee import OperationalError

from lpse_crawler import outbox
from lpse_crawler.matching.alerts import match_tender
from lpse_crawler.matching.saved_filters import load_index, save_filter
from lpse_crawler.outbox import Notification
from lpse_crawler.people.delivery import (
    Delivery,
    DeliveryError,
    Held,
    hold,
    next_at,
    parse_hour,
    parse_window,
    quiet_end,
)
from lpse_crawler.people.models import Subscriber
from lpse_crawler.people.privacy import erase_subscriber, export_subscriber
from lpse_crawler.store.database import utcnow
from lpse_crawler.store.models import Tender
from lpse_crawler.store.tenders import upsert_tender
from tests.test_cli import SCHEMA
from tests.test_sender import ITEM, drain, queue, sender, setup  # noqa: F401 (setup: a fixture)

WIB, WITA, WIT = (ZoneInfo(z) for z in ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"))
NIGHT = (21 * 60, 6 * 60)  # 21:00-06:00
USER = 501


def at(hour: int, minute: int = 0, day: int = 2, tz=WIB) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=tz)


# -- the rules, on a frozen clock --------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "ends"),
    [
        (at(21), at(6, day=3)),  # the window's first minute
        (at(23, 30), at(6, day=3)),
        (at(5, 59), at(6)),  # after midnight: this morning's end
        (at(6), None),  # its end is outside it
        (at(20, 59), None),
    ],
)
def test_quiet_hours_across_midnight_hold_until_their_end(now, ends):
    assert quiet_end(NIGHT, "Asia/Jakarta", now) == ends


def test_quiet_hours_keep_the_subscriber_s_own_clock():
    lunch = (12 * 60, 13 * 60)
    assert quiet_end(lunch, "Asia/Jayapura", at(12, 30, tz=WIT)) == at(13, tz=WIT)
    assert quiet_end(lunch, "Asia/Jayapura", at(12, 30, tz=WIB)) is None  # 14:30 WIT
    assert quiet_end(None, "Asia/Jakarta", at(23)) is None


def test_a_digest_goes_at_its_next_hour_in_the_subscriber_s_zone():
    seven_wita = Delivery("Asia/Makassar", digest_hour=7)
    assert hold([seven_wita], at(6, 59, tz=WITA)) == (Held.DIGEST, at(7, tz=WITA))
    assert hold([seven_wita], at(7, tz=WITA)) == (Held.DIGEST, at(7, day=3, tz=WITA))
    evening = Delivery("Asia/Makassar", digest_hour=19)
    assert hold([seven_wita, evening], at(8, tz=WITA)) == (Held.DIGEST, at(19, tz=WITA))  # the soonest
    assert next_at(0, "Asia/Jayapura", at(23, tz=WIT)) == at(0, day=3, tz=WIT)


def test_an_instant_filter_goes_at_once_unless_it_is_quiet():
    instant, digest = Delivery(quiet=NIGHT), Delivery(digest_hour=7, quiet=NIGHT)
    assert hold([instant], at(12)) == (None, at(12))
    assert hold([digest, instant], at(12)) == (None, at(12))  # one instant filter is enough
    assert hold([instant], at(22)) == (Held.QUIET, at(6, day=3))


@pytest.mark.parametrize(
    ("text", "window"),
    [("21-6", NIGHT), ("21:00-06:00", NIGHT), ("21.30 sampai 05.30", (1290, 330)), ("12 - 13", (720, 780))],
)
def test_quiet_hours_are_written_as_people_write_them(text, window):
    assert parse_window(text) == window


@pytest.mark.parametrize("text", ["", "malam", "21", "25-6", "21-21", "21:75-6", "9" * 5000 + "-6"])
def test_quiet_hours_that_cannot_be_read_are_refused_with_what_to_write(text):
    with pytest.raises(DeliveryError, match="jam|Jam"):
        parse_window(text)


def test_a_digest_hour_is_a_whole_hour():
    assert [parse_hour(t) for t in ("7", "07:00", "jam 19", "0")] == [7, 7, 19, 0]
    for text in ("7:30", "24", "pagi"):
        with pytest.raises(DeliveryError):
            parse_hour(text)


# -- queued by the match path, sent by the sender ----------------------------------------------


@pytest.fixture
def member(chat):
    chat.say(USER, "/start")
    chat.press(USER, "consent:yes")
    return Subscriber.get(Subscriber.chat_id == USER)


def packages(count: int) -> list[int]:
    """Stored packages fitting `jembatan`, matched as the crawl matches them; their ids."""
    ids = []
    for n in range(count):
        upsert_tender(replace(ITEM, kode=str(20000000000 + n * 1000), deadline=utcnow() + timedelta(days=9)))
        ids.append(Tender.get(Tender.kode == str(20000000000 + n * 1000)).id)
    index, geography = load_index()
    for tender_id in ids:
        match_tender(index, geography, tender_id)
    return ids


def quiet_now(member: Subscriber) -> datetime:
    """Quiet hours around this moment, ending in an hour (WIB); returns their end."""
    local = utcnow().astimezone(WIB)
    minute = local.hour * 60 + local.minute
    Subscriber.update(quiet_start=(minute - 60) % 1440, quiet_end=(minute + 60) % 1440).where(
        Subscriber.id == member.id
    ).execute()
    return next_at((minute + 60) % 1440, "Asia/Jakarta", utcnow())


def window_ends() -> None:
    """Time passes: what was held is due."""
    Notification.update(next_attempt_at=utcnow() - timedelta(seconds=1)).where(
        Notification.held.is_null(False)
    ).execute()


def test_alerts_in_quiet_hours_arrive_as_one_summary_when_they_end_nothing_lost_nothing_twice(
    member, telegram, setup, bot_config
):
    save_filter(member, "Jembatan", "jembatan")
    ends = quiet_now(member)
    ids = packages(12)
    rows = list(Notification.select().where(Notification.subscriber == member.id))
    assert len(rows) == 12 and {(r.held, r.next_attempt_at) for r in rows} == {("quiet", ends)}
    s, _ = sender(setup, bot_config)
    before = len(telegram.texts_to(USER))
    drain(s)
    assert len(telegram.texts_to(USER)) == before  # held: nothing during quiet hours
    window_ends()
    drain(s)
    first, second = telegram.texts_to(USER)[before:]
    assert (
        first.startswith("🌙 <b>Selama jam tenang</b> (")
        and "12 paket baru cocok dengan filter Anda" in first
    )
    assert "1. <b>Pembangunan Jembatan Beton &lt;Tahap II&gt; &amp; Jalan</b>" in first and "10. " in first
    assert "… 2 paket lagi menyusul di pesan berikutnya." in first and "11. " not in first
    assert "2 paket baru" in second and "3. " not in second
    followed = [data for _, data in telegram.buttons(USER)]
    assert followed == [f"follow:{ids[10]}", f"follow:{ids[11]}"]  # the second message's buttons
    sent = Notification.select().where(Notification.subscriber == member.id, Notification.status == "sent")
    assert sent.count() == 12 and len({r.telegram_message_id for r in sent}) == 2


def test_a_summary_that_fails_to_send_keeps_every_alert_it_carried(member, telegram, setup, bot_config):
    save_filter(member, "Jembatan", "jembatan")
    quiet_now(member)
    packages(3)
    window_ends()
    telegram.faults.append(("500",))
    s, clock = sender(setup, bot_config)
    before = len(telegram.texts_to(USER))
    assert s.drain_once() == 1 and len(telegram.texts_to(USER)) == before  # the 500
    queued = Notification.select().where(Notification.status == "queued")
    assert queued.count() == 3  # the one tried waits for its retry; the two it carried still queued
    clock.now += 60
    Notification.update(next_attempt_at=utcnow() - timedelta(seconds=1)).execute()
    drain(s)
    (summary,) = telegram.texts_to(USER)[before:]
    assert "3 paket baru" in summary
    assert Notification.select().where(Notification.status == "sent").count() == 3


def test_the_free_plan_gets_a_daily_digest_at_7(member, telegram, setup, bot_config):
    Subscriber.update(plan="free").where(Subscriber.id == member.id).execute()
    save_filter(member, "Jembatan", "jembatan lpse:kemkes")  # within the free plan's 3 LPSE
    packages(2)
    rows = list(Notification.select())
    (held,) = {r.held for r in rows}
    assert held == "digest"
    assert {r.next_attempt_at.astimezone(WIB).time().isoformat() for r in rows} == {"07:00:00"}
    window_ends()
    s, _ = sender(setup, bot_config)
    before = len(telegram.texts_to(USER))
    drain(s)
    (digest,) = telegram.texts_to(USER)[before:]
    assert digest.startswith("🗞 <b>Ringkasan harian</b>: 2 paket baru cocok dengan filter Anda")
    assert [label for label, _ in telegram.buttons(USER)] == ["Ikuti 1", "Ikuti 2"]


def test_held_alerts_of_a_paused_subscriber_come_in_the_summary_of_lanjut(member, chat):
    save_filter(member, "Jembatan", "jembatan")
    quiet_now(member)
    chat.say(USER, "/jeda")
    packages(2)
    reply = chat.say(USER, "/lanjut")
    assert "Selama itu ada <b>2 paket</b> yang cocok dengan filter Anda" in reply
    assert Notification.select().where(Notification.status == "sent").count() == 2


# -- the commands ----------------------------------------------------------------------------


def test_quiet_hours_are_set_shown_and_ended_by_command(chat, member):
    assert "Belum ada jam tenang" in chat.say(USER, "/jamtenang")
    assert "Jam tenang diatur: 21:00–06:00 WIB" in chat.say(USER, "/jamtenang 21-6")
    assert "Zona waktu diatur ke WITA" in chat.say(USER, "/zona wita")
    assert "Jam tenang Anda: 21:00–06:00 WITA" in chat.say(USER, "/jamtenang")
    assert "Tulis jam tenang seperti" in chat.say(USER, "/jamtenang nanti malam")
    assert "Pilih zona" in chat.say(USER, "/zona GMT")
    assert "dimatikan" in chat.say(USER, "/quiet off")
    stored = Subscriber.get_by_id(member.id)
    assert (stored.quiet_start, stored.quiet_end, stored.timezone) == (None, None, "Asia/Makassar")


def test_a_filter_becomes_a_digest_and_back_and_the_free_plan_cannot_go_instant(chat, member):
    save_filter(member, "Jembatan", "jembatan")
    assert "1. <b>Jembatan</b>: langsung" in chat.say(USER, "/ringkasan")
    assert "ringkasan harian pukul 19:00 WIB" in chat.say(USER, "/ringkasan 1 19")
    assert "1. <b>Jembatan</b>: ringkasan harian pukul 19:00 WIB" in chat.say(USER, "/ringkasan")
    assert "Tulis nomor filter (1-1)" in chat.say(USER, "/ringkasan 2 7")
    assert "jam penuh" in chat.say(USER, "/ringkasan 1 7:30")
    assert "dikirim langsung" in chat.say(USER, "/ringkasan 1 langsung")
    Subscriber.update(plan="free").where(Subscriber.id == member.id).execute()
    assert "Paket Gratis mengirim ringkasan harian" in chat.say(USER, "/ringkasan 1 langsung")
    assert "1. <b>Jembatan</b>: ringkasan harian pukul 07:00 WIB" in chat.say(USER, "/ringkasan")


def test_delivery_settings_are_in_the_export_and_go_with_the_account(member, keyring):
    flt = save_filter(member, "Jembatan", "jembatan")
    Subscriber.update(quiet_start=NIGHT[0], quiet_end=NIGHT[1], timezone="Asia/Jayapura").where(
        Subscriber.id == member.id
    ).execute()
    type(flt).update(digest_hour=7).where(type(flt).id == flt.id).execute()
    document = json.loads(json.dumps(export_subscriber(keyring, Subscriber.get_by_id(member.id))))
    jsonschema.validate(document, SCHEMA)
    assert document["profile"]["quiet_hours"] == {"start": "21:00", "end": "06:00"}
    assert document["profile"]["timezone"] == "Asia/Jayapura" and document["filters"][0]["digest_hour"] == 7
    erase_subscriber(Subscriber.get_by_id(member.id), "test")
    assert Subscriber.select().count() == 0


def test_alerts_not_held_still_go_one_by_one(setup, telegram, bot_config):
    queue([11], tenders=2)
    drain(sender(setup, bot_config)[0])
    assert len(telegram.texts_to(11)) == 2
    assert [label for label, _ in telegram.buttons(11)] == ["Ikuti", "Abaikan"]


def test_a_summary_sent_whose_mark_fails_is_marked_later_with_all_it_carried(
    member, telegram, setup, bot_config, monkeypatch
):
    save_filter(member, "Jembatan", "jembatan")
    quiet_now(member)
    packages(3)
    window_ends()
    failures, mark_sent = ["once"], outbox.mark_sent

    def failing(*args, **kwargs):
        if failures:  # the database is away for the first mark
            raise OperationalError(f"database is locked ({failures.pop()})")
        mark_sent(*args, **kwargs)

    monkeypatch.setattr(outbox, "mark_sent", failing)
    s, _ = sender(setup, bot_config)
    before = len(telegram.texts_to(USER))
    with pytest.raises(OperationalError):
        s.drain_once()
    drain(s)  # the mark is made good before the next claim
    (summary,) = telegram.texts_to(USER)[before:]  # sent once: nothing it carried goes again
    assert "3 paket baru" in summary
    assert Notification.select().where(Notification.status == "sent").count() == 3


def test_a_digest_whose_hour_falls_in_quiet_hours_waits_for_their_end():
    early = Delivery(digest_hour=5, quiet=NIGHT)
    assert hold([early], at(12)) == (Held.DIGEST, at(6, day=3))
