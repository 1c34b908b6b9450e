"""Following packages: the buttons under an alert, /diikuti, the plan's limit, deadline
reminders at 07:00 in the package's zone, and the data rights. The bot over real HTTP."""

import json
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import jsonschema
import pytest

from bot.sender import Sender
from lpse_crawler.following.watched import Read, store_read
from lpse_crawler.items import TenderItem
from lpse_crawler.outbox import Notification
from lpse_crawler.people import follows
from lpse_crawler.people.follows import Follow, FollowReminder, queue_deadline_reminders
from lpse_crawler.people.models import Subscriber
from lpse_crawler.people.personal_data import create_subscriber
from lpse_crawler.people.privacy import erase_subscriber, export_subscriber
from lpse_crawler.pipelines import FollowPipeline, StorePipeline
from lpse_crawler.store.database import utcnow
from lpse_crawler.store.models import Tender
from lpse_crawler.store.tenders import upsert_tender
from tests.test_cli import SCHEMA
from tests.test_sender import ITEM

USER, STRANGER = 501, 503


@pytest.fixture
def member(chat):
    chat.say(USER, "/start")
    chat.press(USER, "consent:yes")
    return Subscriber.get(Subscriber.chat_id == USER)


def stored(kode: str = "10102584000", **fields) -> Tender:
    """A package whose bid deadline is ten days away unless `fields` say otherwise."""
    fields.setdefault("deadline", utcnow() + timedelta(days=10))
    upsert_tender(replace(ITEM, kode=kode, **fields))
    return Tender.get(Tender.kode == kode)


def alert(telebot, bot_config, subscriber: Subscriber, tender: Tender) -> None:
    """The package's alert, queued and sent by the real sender."""
    now = utcnow()
    Notification.insert(
        subscriber=subscriber.id, tender=tender.id, next_attempt_at=now, created_at=now, updated_at=now
    ).execute()
    assert Sender(telebot, bot_config).drain_once() == 1


def follows_of(subscriber: Subscriber) -> list[str]:
    return [
        f.tender.kode
        for f in Follow.select(Follow, Tender).join(Tender).where(Follow.subscriber == subscriber)
    ]


def test_an_alert_offers_follow_and_ignore_and_following_is_confirmed_once(
    chat, telegram, member, bot_config
):
    tender = stored()
    alert(chat.telebot, bot_config, member, tender)
    assert telegram.buttons(USER) == [("Ikuti", f"follow:{tender.id}"), ("Abaikan", f"ignore:{tender.id}")]
    reply = chat.press(USER, f"follow:{tender.id}")
    assert "Anda mengikuti <b>Pembangunan Jembatan Beton &lt;Tahap II&gt; &amp; Jalan</b>" in reply
    assert "3 hari dan 1 hari sebelum batas penawaran" in reply
    assert "sudah mengikuti" in chat.press(USER, f"follow:{tender.id}")
    assert follows_of(member) == [tender.kode]


def test_diikuti_lists_follows_with_their_deadline_and_unfollows_by_button(chat, telegram, member):
    assert "belum mengikuti paket apa pun" in chat.say(USER, "/diikuti")
    later = stored("2", deadline=datetime(2030, 3, 12, 16, 0, tzinfo=ZoneInfo("Asia/Jakarta")))
    cancelled = stored("3", tahap="Tender Batal", batal=True)
    for tender in (later, cancelled):
        chat.press(USER, f"follow:{tender.id}")
    listing = chat.say(USER, "/following")  # the English alias; open for bids first
    assert "Paket yang Anda ikuti</b> (2 dari 100)" in listing
    assert "1. <b>Pembangunan" in listing and "batas penawaran 12 Mar 2030 16:00 WIB" in listing
    assert "2. <b>Pembangunan" in listing and "tahap: Tender Batal" in listing  # no deadline to count down
    assert telegram.buttons(USER) == [
        ("Berhenti ikuti 1", f"unfollow:{later.id}"),
        ("Berhenti ikuti 2", f"unfollow:{cancelled.id}"),
    ]
    assert "Berhenti mengikuti" in chat.press(USER, f"unfollow:{later.id}")
    assert follows_of(member) == ["3"]
    assert "tidak sedang Anda ikuti" in chat.press(USER, f"unfollow:{later.id}")


def test_ignore_takes_the_buttons_off_the_alert_and_the_package_is_not_followed(
    chat, telegram, member, bot_config
):
    tender = stored()
    alert(chat.telebot, bot_config, member, tender)
    alert_id = telegram.last_message_id(USER)
    chat.press(USER, f"follow:{tender.id}")
    assert "Paket diabaikan" in chat.press(USER, f"ignore:{tender.id}", message_id=alert_id)
    (edit,) = telegram.markup_edits
    assert int(edit["message_id"]) == alert_id and not json.loads(edit.get("reply_markup") or "{}")
    assert follows_of(member) == []


def test_the_free_plan_follows_three_packages_at_once(chat, member):
    Subscriber.update(plan="free").where(Subscriber.id == member.id).execute()
    tenders = [stored(str(n)) for n in range(4)]
    for tender in tenders[:3]:
        assert "Anda mengikuti" in chat.press(USER, f"follow:{tender.id}")
    refusal = chat.press(USER, f"follow:{tenders[3].id}")
    assert "Paket Gratis hanya boleh mengikuti 3 paket sekaligus" in refusal and "/paket" in refusal
    assert len(follows_of(member)) == 3
    chat.press(USER, f"unfollow:{tenders[0].id}")
    assert "Anda mengikuti" in chat.press(USER, f"follow:{tenders[3].id}")


def test_forged_or_stale_follow_buttons_are_refused(chat, telegram, member):
    tender = stored()
    for data in ("follow:abc", "follow:-1", f"unfollow:{2**70}", "ignore:"):
        chat.press(USER, data)
        assert telegram.callback_answers[-1].get("text"), data  # the "button no longer valid" answer
    assert "tidak ada lagi" in chat.press(USER, f"follow:{tender.id + 1000}")
    assert "/start" in chat.press(STRANGER, f"follow:{tender.id}")  # no consent, nothing stored
    assert Follow.select().count() == 0


# -- deadline reminders ------------------------------------------------------------------------

ZONES = {
    "kemkes": ("Asia/Jakarta", "WIB"),
    "badungkab": ("Asia/Makassar", "WITA"),
    "ambon": ("Asia/Jayapura", "WIT"),
}


@pytest.mark.parametrize("instance", sorted(ZONES))
def test_reminders_come_at_7_local_on_h3_and_h1_once_each(member, instance):
    zone, label = ZONES[instance]
    tz = ZoneInfo(zone)
    tender = stored(instance=instance, deadline=datetime(2030, 3, 12, 16, 0, tzinfo=tz))
    Follow.insert(subscriber=member.id, tender=tender.id).execute()

    def at(day: int, hour: int, minute: int = 0) -> int:
        return queue_deadline_reminders(datetime(2030, 3, day, hour, minute, tzinfo=tz))

    assert at(9, 6, 59) == 0  # H-3, before 07:00 local
    assert at(9, 7) == 1 and at(9, 12) == 0  # once
    assert at(10, 7) == 0  # H-2
    assert at(11, 6, 30) == 0 and at(11, 7, 5) == 1 and at(11, 20) == 0  # H-1
    assert at(12, 7) == 0  # the day itself: no third reminder
    bodies = [
        n.body
        for n in Notification.select().where(Notification.subscriber == member.id).order_by(Notification.id)
    ]
    assert [b.split("</b>")[0] for b in bodies] == [
        "⏰ <b>Batas penawaran 3 hari lagi",
        "⏰ <b>Batas penawaran besok",
    ]
    assert all(f"12 Mar 2030 16:00 {label}" in body and f"({instance})" in body for body in bodies)
    (buttons,) = {
        json.dumps(n.buttons) for n in Notification.select().where(Notification.subscriber == member.id)
    }
    assert json.loads(buttons) == [["Berhenti ikuti", f"unfollow:{tender.id}"]]


def test_no_reminder_for_a_cancelled_package_nor_after_the_deadline_and_a_moved_one_is_reminded_again(member):
    tz = ZoneInfo("Asia/Jakarta")
    cancelled = stored(
        "1", deadline=datetime(2030, 3, 12, 16, 0, tzinfo=tz), tahap="Tender Batal", batal=True
    )
    passed = stored("2", deadline=datetime(2030, 3, 12, 6, 0, tzinfo=tz))  # closes before 07:00
    moved = stored("3", deadline=datetime(2030, 3, 12, 16, 0, tzinfo=tz))
    for tender in (cancelled, passed, moved):
        Follow.insert(subscriber=member.id, tender=tender.id).execute()
    assert (
        queue_deadline_reminders(datetime(2030, 3, 11, 7, 0, tzinfo=tz)) == 2
    )  # H-1 of `passed` and `moved`
    assert queue_deadline_reminders(datetime(2030, 3, 12, 7, 0, tzinfo=tz)) == 0  # `passed` closed at 06:00
    Tender.update(deadline=datetime(2030, 3, 19, 16, 0, tzinfo=tz)).where(Tender.id == moved.id).execute()
    assert queue_deadline_reminders(datetime(2030, 3, 18, 7, 0, tzinfo=tz)) == 1  # the new deadline's H-1
    paused = Subscriber.update(status="paused").where(Subscriber.id == member.id)
    paused.execute()
    assert queue_deadline_reminders(datetime(2030, 3, 16, 7, 0, tzinfo=tz)) == 0  # H-3 of it, but paused


# -- data rights -------------------------------------------------------------------------------


def test_follows_are_in_the_export_and_go_with_the_account(member, keyring):
    tender = stored(deadline=datetime(2030, 3, 12, 16, 0, tzinfo=ZoneInfo("Asia/Jakarta")))
    assert follows.follow(member, tender.id, utcnow()) is follows.Outcome.FOLLOWED
    assert Tender.get_by_id(tender.id).watch_due_at is not None  # read again while followed
    queue_deadline_reminders(datetime(2030, 3, 9, 7, 0, tzinfo=ZoneInfo("Asia/Jakarta")))
    document = json.loads(json.dumps(export_subscriber(keyring, member)))
    jsonschema.validate(document, SCHEMA)
    (entry,) = document["follows"]
    assert (entry["package_code"], entry["package_name"]) == (tender.kode, tender.nama)
    removed, _ = erase_subscriber(member, "test")
    assert (removed["follows"], removed["follow_reminders"]) == (1, 1)
    assert Follow.select().count() == FollowReminder.select().count() == 0
    assert Tender.select().count() == 1  # the package stays: it is public data
    left = Tender.get_by_id(tender.id)
    assert left.told is None and left.watch_due_at is None  # nobody follows it: no longer read again


# -- telling followers what changed ------------------------------------------------------------

JADWAL = [
    ["Upload Dokumen Penawaran", "3 Maret 2030 08:00", "12 Maret 2030 16:00"],
    ["Evaluasi Penawaran", "13 Maret 2030 08:00", "14 Maret 2030 16:00"],
]
MOVED = [JADWAL[0][:2] + ["19 Maret 2030 16:00"], JADWAL[1]]


@pytest.fixture
def chain(crawler):
    """The store and follow stages as the crawl makes them, and a package stored once."""
    stages = [StorePipeline.from_crawler(crawler), FollowPipeline.from_crawler(crawler)]
    for stage in stages:
        getattr(stage, "open_spider", lambda: None)()

    def crawl(**fields) -> TenderItem:
        item = replace(ITEM, **({"jadwal": JADWAL} | fields))
        for stage in stages:
            item = stage.process_item(item)
        return item

    crawl()
    return crawl


def notices(subscriber_id: int) -> list[str]:
    rows = Notification.select().where(Notification.subscriber == subscriber_id).order_by(Notification.id)
    return [n.body for n in rows]


def people(keyring, *chat_ids: int) -> list[Subscriber]:
    return [create_subscriber(keyring, chat_id=chat_id, name=f"Pelanggan {chat_id}") for chat_id in chat_ids]


def test_followers_are_told_each_change_once_with_the_old_and_new_values(chain, keyring, crawler):
    follower, other = people(keyring, 601, 602)
    tender = Tender.get(Tender.kode == ITEM.kode)
    follows.follow(follower, tender.id, utcnow())
    assert chain().stored_as == "unchanged" and notices(follower.id) == []
    assert chain(jadwal=MOVED).to_tell == [tender.id]
    (moved,) = notices(follower.id)
    assert "Perubahan pada paket yang Anda ikuti</b>\n<b>Pembangunan Jembatan Beton &lt;Tahap II&gt;" in moved
    line = (
        "• Jadwal <b>Upload Dokumen Penawaran</b> berubah: sampai 12 Mar 2030 16:00 WIB → 19 Mar 2030 16:00"
    )
    assert line + " WIB" in moved
    chain(jadwal=MOVED)  # crawled again: nothing new
    chain(jadwal=MOVED, tahap="Tender Batal", batal=True)
    assert len(notices(follower.id)) == 2 and "• Paket dibatalkan (Batal)\n" in notices(follower.id)[1]
    assert "Jadwal" not in notices(follower.id)[1]  # the move was told already
    assert notices(other.id) == [] and crawler.stats.get_value("lpse/changes_told") == 2
    assert not Tender.get_by_id(tender.id).follow_pending


def test_a_change_stored_before_a_crash_is_told_when_the_next_crawl_opens(chain, keyring, crawler):
    (follower,) = people(keyring, 601)
    tender = Tender.get(Tender.kode == ITEM.kode)
    follows.follow(follower, tender.id, utcnow())
    upsert_tender(replace(ITEM, jadwal=MOVED, tahap="Evaluasi Penawaran"))  # stored; killed before telling
    assert Tender.get_by_id(tender.id).follow_pending and notices(follower.id) == []
    FollowPipeline.from_crawler(crawler).open_spider()
    (told,) = notices(follower.id)
    assert "Tahap berubah: Pengumuman Pascakualifikasi → Evaluasi Penawaran" in told and "19 Mar 2030" in told


def test_nothing_is_told_of_a_package_nobody_follows_any_more(chain, keyring):
    (follower,) = people(keyring, 601)
    tender = Tender.get(Tender.kode == ITEM.kode)
    follows.follow(follower, tender.id, utcnow())
    follows.unfollow(follower, tender.id)
    assert chain(jadwal=MOVED).to_tell == [] and notices(follower.id) == []
    assert Tender.get_by_id(tender.id).told is None


def test_a_paused_or_blocked_follower_is_not_written_to(chain, keyring):
    active, paused, blocked = people(keyring, 601, 602, 603)
    tender = Tender.get(Tender.kode == ITEM.kode)
    for subscriber in (active, paused, blocked):
        follows.follow(subscriber, tender.id, utcnow())
    Subscriber.update(status="paused").where(Subscriber.id == paused.id).execute()
    Subscriber.update(status="blocked").where(Subscriber.id == blocked.id).execute()
    chain(jadwal=MOVED)
    assert len(notices(active.id)) == 1 and notices(paused.id) == notices(blocked.id) == []


def test_a_leftover_change_that_cannot_be_told_does_not_keep_the_others_untold(
    chain, keyring, crawler, monkeypatch
):
    (follower,) = people(keyring, 601)
    first = Tender.get(Tender.kode == ITEM.kode)
    chain(kode="10102585000")
    second = Tender.get(Tender.kode == "10102585000")
    for tender in (first, second):
        follows.follow(follower, tender.id, utcnow())
        upsert_tender(replace(ITEM, kode=tender.kode, jadwal=MOVED))  # stored; killed before telling
    tell = follows.tell_followers

    def broken_for_the_first(tender_id):
        if tender_id == first.id:
            raise OSError("disk I/O error")
        return tell(tender_id)

    monkeypatch.setattr(follows, "tell_followers", broken_for_the_first)
    FollowPipeline.from_crawler(crawler).open_spider()
    assert len(notices(follower.id)) == 1 and "Upload Dokumen Penawaran" in notices(follower.id)[0]
    assert Tender.get_by_id(first.id).follow_pending and not Tender.get_by_id(second.id).follow_pending
    assert crawler.stats.get_value("lpse/errors/storage") == 1


def test_a_package_awarded_again_after_a_re_evaluation_is_told_again(chain, keyring):
    (follower,) = people(keyring, 601)
    tender = Tender.get(Tender.kode == ITEM.kode)
    follows.follow(follower, tender.id, utcnow())

    def watch(tahap: str, winners: list | None, badges: str = "") -> None:
        ulang = "ulang" in badges.casefold()
        if store_read(
            tender.id, Read(tahap, ulang, False, False, JADWAL, None, winners, None), "Asia/Jakarta"
        ):
            follows.tell_followers(tender.id)

    watch("Pengumuman Pemenang", [["PT A", 1_000_000]])
    watch("Pengumuman Pemenang", [["PT A", 1_000_000]])  # read again unchanged: nothing
    watch("Evaluasi Penawaran", [], badges="Evaluasi Ulang")  # the award is withdrawn
    watch("Pengumuman Pemenang", [["PT A", 1_000_000]])  # and made again, to the same company
    watch("Pengumuman Pemenang", [["PT A", 1_000_000]])
    awarded, reevaluated, again = notices(follower.id)
    assert f"• Tahap berubah: {ITEM.tahap} → Pengumuman Pemenang\n" in awarded
    assert (
        "• Paket diulang (Ulang)\n• Tahap berubah: Pengumuman Pemenang → Evaluasi Penawaran\n" in reevaluated
    )
    assert "• Tahap berubah: Evaluasi Penawaran → Pengumuman Pemenang\n" in again
    assert "• Pemenang: PT A, penawaran Rp 1.000.000\n" in awarded and "• Pemenang: PT A" in again


def test_a_package_already_ulang_awarded_again_after_going_back_is_told_again(chain, keyring):
    (follower,) = people(keyring, 602)
    tender = Tender.get(Tender.kode == ITEM.kode)
    follows.follow(follower, tender.id, utcnow())
    jadwal = [*JADWAL, ["Pengumuman Pemenang", "15 Maret 2030 08:00", "15 Maret 2030 16:00"]]

    def watch(tahap: str, winners: list | None) -> None:  # a re-run tender: Ulang from the start
        if store_read(
            tender.id, Read(tahap, True, False, False, jadwal, None, winners, None), "Asia/Jakarta"
        ):
            follows.tell_followers(tender.id)

    watch("Evaluasi Penawaran", [])
    watch("Pengumuman Pemenang", [["PT A", 1_000_000]])
    watch("Evaluasi Penawaran", [])  # back, by the package's own jadwal: a re-evaluation
    watch("Pengumuman Pemenang", [["PT A", 1_000_000]])
    watch("Pengumuman Pemenang", [["PT A", 1_000_000]])  # read again unchanged: nothing
    *_, awarded, back, again = notices(follower.id)
    assert "• Tahap berubah: Evaluasi Penawaran → Pengumuman Pemenang\n" in awarded and "PT A" in awarded
    assert "• Tahap berubah: Pengumuman Pemenang → Evaluasi Penawaran\n" in back
    assert (
        "• Tahap berubah: Evaluasi Penawaran → Pengumuman Pemenang\n" in again and "• Pemenang: PT A" in again
    )
