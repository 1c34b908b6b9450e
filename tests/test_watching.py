"""Followed packages are read again: when (a wait that tightens near their dates), which tabs
(the winner's and the contract's once their stage has them), and what a read tells their
followers. Crawls are real `scrapy crawl` processes against the SPSE replay server."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from lpse_crawler.following.watched import Read, due, postpone, requests_due, store_read
from lpse_crawler.following.watching import WATCH_MAX, WATCH_MIN, contracted, next_watch, result_tabs
from lpse_crawler.outbox import Notification
from lpse_crawler.people import follows
from lpse_crawler.people.crypto import Keyring, generate_key
from lpse_crawler.people.personal_data import create_subscriber
from lpse_crawler.spse.registry import load_registry, sync_registry
from lpse_crawler.store.database import database, utcnow
from lpse_crawler.store.models import Instance, Tender
from lpse_crawler.store.schema import open_database
from lpse_crawler.store.tenders import upsert_tender
from lpse_crawler.tanggal import MONTHS
from tests.conftest import run_crawl
from tests.spse_replay import SpseReplayServer
from tests.spse_replay.server import Fault
from tests.test_sender import ITEM

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
KEYRING = Keyring.parse(generate_key("test"))


def schedule(*rows: tuple[str, datetime, datetime]) -> tuple:
    return tuple(rows)


BIDDING = schedule(("Upload Dokumen Penawaran", NOW - timedelta(days=2), NOW + timedelta(days=30)))


@pytest.mark.parametrize(
    ("until_next", "wait"),
    [
        (timedelta(days=30), WATCH_MAX),  # far: twice a day
        (timedelta(hours=6), timedelta(hours=2)),  # a third of the time left
        (timedelta(minutes=20), WATCH_MIN),  # close: seen at most 30 minutes after it passes
    ],
)
def test_the_wait_to_the_next_read_tightens_near_the_next_date(until_next, wait):
    rows = schedule(("Upload Dokumen Penawaran", NOW - timedelta(days=2), NOW + until_next))
    assert next_watch(rows, NOW, ended=False, contracted=False) == NOW + wait


def test_watching_ends_with_a_cancellation_a_contract_or_long_after_the_last_date():
    assert next_watch(BIDDING, NOW, ended=True, contracted=False) is None
    assert next_watch(BIDDING, NOW, ended=False, contracted=True) is None
    old = schedule(("Penandatanganan Kontrak", NOW - timedelta(days=90), NOW - timedelta(days=61)))
    assert next_watch(old, NOW, ended=False, contracted=False) is None
    recent = schedule(("Penandatanganan Kontrak", NOW - timedelta(days=9), NOW - timedelta(days=8)))
    assert next_watch(recent, NOW, ended=False, contracted=False) == NOW + WATCH_MAX  # no date ahead
    assert next_watch((), NOW, ended=False, contracted=False) == NOW + WATCH_MAX


def test_without_a_date_that_parses_watching_ends_60_days_after_the_package_was_seen():
    undated = schedule(("Upload Dokumen Penawaran", "lihat jadwal", None))
    assert next_watch(undated, NOW, False, False, since=NOW - timedelta(days=59)) == NOW + WATCH_MAX
    assert next_watch(undated, NOW, False, False, since=NOW - timedelta(days=61)) is None


def test_a_contract_without_its_value_keeps_the_package_watched():
    assert not contracted(None) and not contracted([["PT Satu", None]])
    assert contracted([["PT Satu", None], ["PT Dua", 1_000]])


def test_result_tabs_are_read_from_the_award_on():
    assert result_tabs("Upload Dokumen Penawaran", BIDDING, NOW) == ()
    assert result_tabs("Pengumuman Pemenang", BIDDING, NOW) == ("winners",)
    award = schedule(
        ("Pengumuman Pemenang", NOW - timedelta(hours=1), NOW + timedelta(days=1)),
        ("Penandatanganan Kontrak", NOW + timedelta(days=5), NOW + timedelta(days=6)),
    )
    assert result_tabs("Evaluasi Penawaran", award, NOW) == ("winners",)  # the jadwal says it began
    assert result_tabs("Evaluasi Penawaran", award, NOW + timedelta(days=5)) == ("winners", "contracts")
    assert result_tabs("Tender Sudah Selesai", (), NOW) == ("winners", "contracts")
    chosen = schedule(("Penetapan Pemenang", NOW - timedelta(hours=1), NOW + timedelta(days=1)))
    assert result_tabs("Penetapan Pemenang", chosen, NOW) == ()  # chosen, not announced yet


def test_the_watches_due_come_longest_overdue_first_a_few_of_each_instance_at_a_time(database):
    sync_registry(load_registry())
    for n, (instance, hours) in enumerate([("kemkes", 5), ("kemkes", 4), ("kemkes", 3), ("jakarta", 1)]):
        upsert_tender(replace(ITEM, instance=instance, kode=f"4000000{n}000"))
        Tender.update(watch_due_at=utcnow() - timedelta(hours=hours)).where(
            Tender.kode == f"4000000{n}000"
        ).execute()
    upsert_tender(replace(ITEM, kode="40000009000"))  # not watched
    kodes = [d.kode for d in due(utcnow(), None, set(), limit=10, per_instance=2)]
    assert kodes == ["40000000000", "40000001000", "40000003000"]  # the third of kemkes waits
    first = Tender.get(Tender.kode == "40000000000").id
    assert [d.kode for d in due(utcnow(), ["kemkes"], {first}, limit=10, per_instance=2)] == [
        "40000001000",
        "40000002000",
    ]
    assert len(due(utcnow(), None, set(), limit=1, per_instance=2)) == 1


def test_the_reads_due_within_the_hour_are_reserved_out_of_the_budget_by_their_stage(database):
    sync_registry(load_registry())
    now = utcnow()
    watches = [  # (stage, due in): bidding costs 2 requests, awarded 3, contract signed 4
        ("Upload Dokumen Penawaran", -timedelta(hours=3)),
        ("Pengumuman Pemenang", timedelta(minutes=30)),
        ("Penandatanganan Kontrak", timedelta(minutes=59)),
        ("Upload Dokumen Penawaran", timedelta(hours=2)),  # not within the hour
        ("Upload Dokumen Penawaran", None),  # not watched
    ]
    for n, (stage, due_in) in enumerate(watches):
        upsert_tender(replace(ITEM, kode=f"4100000{n}000", tahap=stage))
        due_at = None if due_in is None else now + due_in
        Tender.update(watch_due_at=due_at).where(Tender.kode == f"4100000{n}000").execute()
    assert requests_due(now) == 2 + 3 + 4


def test_the_watches_of_a_disabled_instance_are_not_reserved_since_the_crawl_reads_none(database):
    sync_registry(load_registry())
    now = utcnow()
    for n, instance in enumerate(["kemkes", "jakarta"]):
        upsert_tender(
            replace(ITEM, kode=f"4200000{n}000", instance=instance, tahap="Upload Dokumen Penawaran")
        )
    Tender.update(watch_due_at=now).execute()
    Instance.update(active=False).where(Instance.code == "jakarta").execute()
    assert requests_due(now) == 2


# -- over real HTTP ----------------------------------------------------------------------------

INSTANCES = ["kemkes", "jakarta"]


@pytest.fixture
def server():
    with SpseReplayServer(INSTANCES) as replay:
        yield replay


def changes_to(subscriber_id: int) -> list[str]:
    rows = Notification.select().where(
        Notification.subscriber == subscriber_id, Notification.tender.is_null()
    )
    return [n.body for n in rows.order_by(Notification.id)]


def falls_due(kode: str) -> None:
    """Time passes: the package's next read is due."""
    Tender.update(watch_due_at=utcnow() - timedelta(seconds=1)).where(Tender.kode == kode).execute()
    database.close()


@pytest.mark.slow
def test_a_followed_package_is_read_again_and_its_follower_told_each_change_once(server, database_url):
    (package,) = server.dataset.publish("jakarta", "tender", 1)  # open for bids
    assert run_crawl(server.base_url, database_url, INSTANCES).returncode == 0
    open_database(database_url)
    sync_registry(load_registry())
    follower, bystander = (create_subscriber(KEYRING, chat_id=c, name=f"Pelanggan {c}") for c in (601, 602))
    tender = Tender.get(Tender.kode == package.kode)
    assert follows.follow(follower, tender.id, utcnow()) is follows.Outcome.FOLLOWED
    assert Tender.get_by_id(tender.id).watch_due_at > utcnow()  # not read again at once

    # The jadwal moves; its listing row does not change: only reading the package sees it.
    server.dataset.move_deadline("tender", package.kode, timedelta(days=7))
    falls_due(package.kode)
    run = run_crawl(server.base_url, database_url, INSTANCES)
    assert run.returncode == 0, run.log
    assert "(2 reading followed packages)" in run.log  # its announcement and jadwal
    (moved,) = changes_to(follower.id)
    assert "Jadwal <b>Upload Dokumen Penawaran</b> berubah: sampai" in moved
    watched = Tender.get_by_id(tender.id)
    assert watched.deadline.date() == package.deadline.date() and watched.watch_due_at > utcnow()

    # Not due yet: a crawl reads nothing of it and tells nothing.
    run = run_crawl(server.base_url, database_url, INSTANCES)
    assert "(0 reading followed packages)" in run.log and len(changes_to(follower.id)) == 1

    # The winner is announced: the listing's stage moves, and the winner tab is read at once.
    server.dataset.announce_winner("tender", package.kode, "PT Contoh Karya & Sejahtera", 1_234_500_000)
    run = run_crawl(server.base_url, database_url, INSTANCES)
    assert run.returncode == 0, run.log
    assert "(3 reading followed packages)" in run.log  # announcement, jadwal, winner tab
    stage, winner = changes_to(follower.id)[1:]
    assert "Tahap berubah: Pengumuman Pascakualifikasi → Pengumuman Pemenang" in stage
    assert "• Pemenang: PT Contoh Karya &amp; Sejahtera, penawaran Rp 1.234.500.000" in winner

    # The contract is signed: the contract tab is read, and watching ends.
    server.dataset.packages[("tender", package.kode)].contracts.append(
        ("PT Contoh Karya & Sejahtera", 1_200_000_000)
    )
    server.dataset.set_stage("tender", package.kode, "Penandatanganan Kontrak")
    run = run_crawl(server.base_url, database_url, INSTANCES)
    assert "(4 reading followed packages)" in run.log
    told = changes_to(follower.id)
    assert (
        "• Kontrak ditandatangani: PT Contoh Karya &amp; Sejahtera, nilai kontrak Rp 1.200.000.000"
        in told[-1]
    )
    assert Tender.get_by_id(tender.id).watch_due_at is None
    assert len(told) == 5 and changes_to(bystander.id) == []
    run = run_crawl(server.base_url, database_url, INSTANCES)
    assert "(0 reading followed packages)" in run.log and len(changes_to(follower.id)) == 5


def followed_after_a_crawl(server, database_url):
    """One package published on jakarta and crawled, and a subscriber following it."""
    (package,) = server.dataset.publish("jakarta", "tender", 1)
    assert run_crawl(server.base_url, database_url, INSTANCES).returncode == 0
    open_database(database_url)
    follower = create_subscriber(KEYRING, chat_id=601, name="Pelanggan")
    tender = Tender.get(Tender.kode == package.kode)
    follows.follow(follower, tender.id, utcnow())
    return package, tender, follower


@pytest.mark.slow
def test_a_read_that_fails_is_the_instance_s_failure_and_is_tried_again_later(server, database_url):
    package, tender, follower = followed_after_a_crawl(server, database_url)
    falls_due(package.kode)
    server.faults["jakarta"] = Fault("error_page")
    run = run_crawl(server.base_url, database_url, INSTANCES)
    assert run.returncode == 3
    assert f"watching package {package.kode}: announcement: " in run.log
    later = Tender.get_by_id(tender.id).watch_due_at - utcnow()  # not again on every run
    assert WATCH_MAX - timedelta(minutes=5) < later <= WATCH_MAX
    del server.faults["jakarta"]
    run = run_crawl(server.base_url, database_url, INSTANCES)
    assert run.returncode == 0 and "(0 reading followed packages)" in run.log
    falls_due(package.kode)  # twelve hours later
    run = run_crawl(server.base_url, database_url, INSTANCES)
    assert run.returncode == 0 and "(2 reading followed packages)" in run.log
    assert Tender.get_by_id(tender.id).watch_due_at > utcnow()


@pytest.mark.slow
def test_a_deadline_that_does_not_parse_is_the_site_s_failure_and_the_move_is_still_told(
    server, database_url
):
    package, tender, follower = followed_after_a_crawl(server, database_url)
    # SYNTHETIC: the deadline moves, written with a zone the jadwal never shows (spse.md §9)
    moved = package.deadline + timedelta(days=7)
    text = f"{moved.day} {MONTHS[moved.month - 1]} {moved.year} 15:00 WIB"
    server.dataset.packages[("tender", package.kode)].deadline_text = text
    falls_due(package.kode)
    run = run_crawl(server.base_url, database_url, INSTANCES)
    assert run.returncode == 3, run.log  # the instance's failure, not the database's (4)
    assert f"watching package {package.kode}: jadwal: bid deadline: not an Indonesian date" in run.log
    assert "storage: " not in run.log
    (told,) = changes_to(follower.id)
    assert "Jadwal <b>Upload Dokumen Penawaran</b> berubah: sampai " in told and f"→ {text}" in told
    stored = Tender.get_by_id(tender.id)
    assert stored.deadline is None and stored.watch_due_at > utcnow()  # not read again on every run
    run = run_crawl(server.base_url, database_url, INSTANCES)
    assert run.returncode == 0 and "(0 reading followed packages)" in run.log
    assert len(changes_to(follower.id)) == 1


def test_a_read_keeps_what_it_did_not_read_and_marks_only_a_followed_package(database):
    sync_registry(load_registry())
    upsert_tender(ITEM)
    tender = Tender.get(Tender.kode == ITEM.kode)
    won = Read(None, False, False, False, [], None, winners=[["PT Satu", 5_000]], contract=None)
    assert store_read(tender.id, won, "Asia/Jakarta") is False  # nobody follows it: nothing to tell
    stored = Tender.get_by_id(tender.id)
    assert stored.hasil == {"winners": [["PT Satu", 5_000]]} and stored.watch_due_at is None
    assert stored.tahap == ITEM.tahap and stored.jadwal == ITEM.jadwal  # what the read lacked is kept
    follower = create_subscriber(KEYRING, chat_id=601, name="Pelanggan")
    follows.follow(follower, tender.id, utcnow())
    batal = replace(won, batal=True, winners=None, contract=[["PT Satu", 4_900]])
    assert store_read(tender.id, batal, "Asia/Jakarta") is True
    stored = Tender.get_by_id(tender.id)
    assert stored.hasil == {"winners": [["PT Satu", 5_000]], "contract": [["PT Satu", 4_900]]}
    assert stored.batal and stored.follow_pending and stored.watch_due_at is None  # ended: no more reads
    assert store_read(tender.id, replace(batal, batal=False), "Asia/Jakarta") is False  # a badge stays


def test_a_package_whose_reads_keep_failing_is_no_longer_read_once_its_dates_are_long_past(database):
    sync_registry(load_registry())
    old = [["Upload Dokumen Penawaran", "1 Agustus 2025 08:00", "10 Agustus 2025 15:00"]]
    recent = [["Upload Dokumen Penawaran", "1 Februari 2026 08:00", "10 Februari 2026 15:00"]]
    follower = create_subscriber(KEYRING, chat_id=601, name="Pelanggan")
    ids = []
    for n, jadwal in enumerate((old, recent)):
        upsert_tender(replace(ITEM, kode=f"{ITEM.kode[:-4]}{n}000", jadwal=jadwal))
        tender = Tender.get(Tender.kode == f"{ITEM.kode[:-4]}{n}000")
        follows.follow(follower, tender.id, NOW - timedelta(days=200))
        Tender.update(watch_due_at=NOW).where(Tender.id == tender.id).execute()
        ids.append(tender.id)
    # The announcement of both is withdrawn (404): every read fails.
    for tender_id in ids:
        postpone(tender_id, NOW)
    withdrawn, recently_closed = (Tender.get_by_id(i).watch_due_at for i in ids)
    assert withdrawn is None  # its last date 200 days back: watching is over, as a read would say
    assert recently_closed == NOW + WATCH_MAX  # within 60 days of its last date: tried again
    assert [d.tender_id for d in due(NOW + timedelta(days=1), None, set(), 10, 10)] == [ids[1]]
