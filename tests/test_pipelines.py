"""The item pipelines in process, made by Scrapy's test crawler: what each item leaves in the
database (queue, listing progress, sessions, tenders, the outbox), the crawl's stats and the
instance's health. Packages are the recorded non-tender 11002302000 (tests/test_normalise.py)."""

import asyncio
import dataclasses
import time
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from scrapy.exceptions import DropItem
from scrapy.pipelines import ItemPipelineManager

from lpse_crawler.items import DetailFailure, ListingPage, SessionChange, TenderItem
from lpse_crawler.matching.saved_filters import save_filter
from lpse_crawler.outbox import Notification
from lpse_crawler.people.crypto import Keyring, generate_key
from lpse_crawler.people.personal_data import create_subscriber
from lpse_crawler.pipelines import (
    DetailFailurePipeline,
    ListingPipeline,
    MatchPipeline,
    NormalisePipeline,
    SessionPipeline,
    StorePipeline,
)
from lpse_crawler.spse.coverage import Coverage, Run
from lpse_crawler.spse.normalise import normalise
from lpse_crawler.store import crawl_state
from lpse_crawler.store.crawl_state import Session
from lpse_crawler.store.database import database, is_postgres
from lpse_crawler.store.models import ListingProgress, PendingDetail, Tender, TenderListing
from lpse_crawler.store.tenders import mark_listed
from tests.test_normalise import raw_package
from tests.test_sender import ITEM as SENT_ITEM

KODE = "11002302000"
KEYRING = Keyring.parse(generate_key("test"))
# Before the recorded package's bid deadline (10 Feb 2026, 12:00 WIB): a package whose
# deadline has passed is not announced (matching/alerts.py), so match as while it was open.
WHILE_OPEN = datetime(2026, 2, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def bids_still_open(monkeypatch):
    monkeypatch.setattr("lpse_crawler.matching.alerts.utcnow", lambda: WHILE_OPEN)


@pytest.fixture
def pipelines(crawler):
    """Every pipeline, made by `from_crawler` as Scrapy makes them, by class name."""
    classes = [
        SessionPipeline,
        ListingPipeline,
        DetailFailurePipeline,
        NormalisePipeline,
        StorePipeline,
        MatchPipeline,
    ]
    return {cls.__name__: cls.from_crawler(crawler) for cls in classes}


@pytest.fixture
def subscribers(crawler):
    """Subscribers whose filters fit the package (everything; `lpse:nasional` only once the
    package is listed there) and one whose filter does not."""
    people = {}
    for chat_id, name, text in [
        (4242, "everything", "jenis:tender,nontender"),
        (4343, "nasional", "lpse:nasional jenis:tender,nontender"),
        (4444, "bridges", "jembatan"),
    ]:
        people[name] = create_subscriber(KEYRING, chat_id=chat_id, name=f"Pelanggan {chat_id}")
        people[name].plan = "pro"  # a filter on every LPSE needs the Pro plan
        people[name].save()
        save_filter(people[name], name, text)
    return {name: subscriber.id for name, subscriber in people.items()}


def listing_page(kind: str = "nontender", version: int = 1, **fields) -> ListingPage:
    raw = raw_package()
    values = {
        "instance": "kemkes",
        "kind": kind,
        "year": 2025,
        "to_fetch": [(KODE, raw.cells)],
        "seen_again": [],
        "coverage": Coverage(None, (Run(int(KODE), int(KODE), 0, 9),), version),
    }
    return ListingPage(**(values | fields))


def queued(kode: str = KODE) -> PendingDetail | None:
    return PendingDetail.get_or_none(
        PendingDetail.instance == "kemkes", PendingDetail.kind == "nontender", PendingDetail.kode == kode
    )


def alerts() -> dict[int, list[str]]:
    """Queued notifications: subscriber id -> package codes."""
    got: dict[int, list[str]] = {}
    for n in Notification.select(Notification, Tender).join(Tender).order_by(Notification.id):
        got.setdefault(n.subscriber_id, []).append(n.tender.kode)
    return got


def store(pipelines, item: TenderItem) -> TenderItem:
    return pipelines["StorePipeline"].process_item(item)


@contextmanager
def read_only_database():
    """Every write fails inside, as on a full disk."""
    read_only, writable = (
        ("SET default_transaction_read_only = on", "SET default_transaction_read_only = off")
        if is_postgres()
        else ("PRAGMA query_only = 1", "PRAGMA query_only = 0")
    )
    database.execute_sql(read_only)
    try:
        yield
    finally:
        database.execute_sql(writable)


# -- listing pages -------------------------------------------------------------------------------


def test_a_listing_page_queues_its_new_rows_with_their_cells(pipelines):
    page = listing_page()
    assert pipelines["ListingPipeline"].process_item(page) is page
    row = queued()
    assert (row.row, row.attempts) == (page.to_fetch[0][1], 0)


def test_a_listing_page_moves_the_listing_progress(pipelines):
    pipelines["ListingPipeline"].process_item(listing_page())
    stored = crawl_state.load_coverage("kemkes", "nontender", 2025)
    assert stored == listing_page().coverage


def test_a_stale_listing_progress_is_refused_and_counted(crawler, pipelines, caplog):
    listing = pipelines["ListingPipeline"]
    listing.process_item(listing_page())
    newer = Coverage(int(KODE), (), 2)
    listing.process_item(listing_page(coverage=newer))
    listing.process_item(listing_page(coverage=Coverage(1, (), 2)))  # also derived from version 1
    assert crawl_state.load_coverage("kemkes", "nontender", 2025) == newer
    assert crawler.stats.get_value("lpse/coverage_conflicts") == 1
    assert "listing progress changed under this crawl; kept the stored one" in caplog.text


def test_a_page_that_does_not_move_the_coverage_leaves_it(pipelines):
    pipelines["ListingPipeline"].process_item(listing_page(coverage=None))
    assert queued() is not None and not ListingProgress.select().exists()


# -- sessions and failed details -----------------------------------------------------------------


def test_a_fresh_session_is_kept_and_the_item_dropped(pipelines):
    session = Session("5e6f", {"SPSE_SESSION": "9d2e-___AT=5e6f&"})
    with pytest.raises(DropItem, match="session of kemkes tender kept"):
        pipelines["SessionPipeline"].process_item(SessionChange("kemkes", "tender", session))
    assert crawl_state.load_session("kemkes", "tender") == session


def test_a_refused_session_is_forgotten(pipelines):
    crawl_state.save_session("kemkes", "tender", Session("5e6f", {}))
    with pytest.raises(DropItem):
        pipelines["SessionPipeline"].process_item(SessionChange("kemkes", "tender", None))
    assert crawl_state.load_session("kemkes", "tender") is None


def test_a_failed_detail_is_counted_on_its_queue_row(pipelines):
    cells = raw_package().cells
    pipelines["ListingPipeline"].process_item(listing_page())
    failure = DetailFailure("kemkes", "nontender", KODE, cells, "announcement: HTTP 404")
    for _ in range(2):
        with pytest.raises(DropItem, match=f"package {KODE}: announcement: HTTP 404"):
            pipelines["DetailFailurePipeline"].process_item(failure)
    row = queued()
    assert (row.attempts, row.last_error, row.row) == (2, "announcement: HTTP 404", cells)


def test_a_failed_detail_not_queued_yet_is_queued(pipelines):
    failure = DetailFailure("kemkes", "nontender", "10748063000", ["10748063000"], "jadwal: HTTP 500")
    with pytest.raises(DropItem):
        pipelines["DetailFailurePipeline"].process_item(failure)
    assert queued("10748063000").attempts == 1


# -- normalise, store, match ---------------------------------------------------------------------


def test_a_raw_package_becomes_a_typed_item(pipelines):
    item = pipelines["NormalisePipeline"].process_item(raw_package())
    assert isinstance(item, TenderItem)
    assert (item.kode, item.hps, item.kategori) == (KODE, 165_146_000, "Jasa Lainnya")


def test_a_package_that_does_not_add_up_is_dropped_and_stays_queued(crawler, pipelines):
    raw = raw_package(kode="10748063000")  # the announcement is for 11002302000
    with pytest.raises(DropItem, match="malformed package 10748063000"):
        pipelines["NormalisePipeline"].process_item(raw)
    assert "announcement is for 11002302000" in queued("10748063000").last_error
    assert crawler.spider.health["kemkes"].errors == [
        f"package 10748063000: announcement is for {KODE}, listing row for 10748063000"
    ]
    assert crawler.stats.get_value("lpse/dropped/malformed") == 1


def test_a_new_package_is_stored_unqueued_and_marked_to_match(crawler, pipelines):
    pipelines["ListingPipeline"].process_item(listing_page())
    item = store(pipelines, normalise(raw_package()))
    tender = Tender.get(Tender.kind == "nontender", Tender.kode == KODE)
    assert (item.stored_as, item.to_match, tender.match_pending) == ("new", [tender.id], True)
    assert item.first_seen_at == tender.first_seen_at  # what matching reads instead of the row
    assert queued() is None
    assert [t.instance_id for t in TenderListing.select()] == ["kemkes"]
    assert (crawler.spider.health["kemkes"].new, crawler.stats.get_value("lpse/new")) == (1, 1)


def test_a_package_stored_again_is_unchanged_then_updated(crawler, pipelines):
    store(pipelines, normalise(raw_package()))
    again = store(pipelines, normalise(raw_package()))
    assert (again.stored_as, again.first_seen_at) == ("unchanged", None)
    changed = dataclasses.replace(normalise(raw_package()), tahap="Penetapan Pemenang")
    assert store(pipelines, changed).stored_as == "updated"
    assert Tender.get(Tender.kode == KODE).tahap == "Penetapan Pemenang"
    assert crawler.spider.health["kemkes"].updated == 1
    assert crawler.stats.get_value("lpse/unchanged") == crawler.stats.get_value("lpse/updated") == 1


def test_a_stored_package_is_matched_once_per_fitting_subscriber(crawler, pipelines, subscribers):
    match = pipelines["MatchPipeline"]
    match.open_spider()
    item = match.process_item(store(pipelines, normalise(raw_package())))
    assert alerts() == {subscribers["everything"]: [KODE]}
    assert not Tender.get_by_id(item.to_match[0]).match_pending
    assert crawler.stats.get_value("lpse/notifications_queued") == 1
    match.process_item(store(pipelines, normalise(raw_package())))  # crawled again
    assert alerts() == {subscribers["everything"]: [KODE]}


def test_a_package_first_seen_on_another_instance_is_matched_again(pipelines, subscribers):
    match = pipelines["MatchPipeline"]
    match.open_spider()
    match.process_item(store(pipelines, normalise(raw_package())))
    page = listing_page(instance="nasional", to_fetch=[], seen_again=[KODE], coverage=None)
    match.process_item(pipelines["ListingPipeline"].process_item(page))
    assert alerts() == {subscribers["everything"]: [KODE], subscribers["nasional"]: [KODE]}
    assert {t.instance_id for t in TenderListing.select()} == {"kemkes", "nasional"}


def test_packages_an_interrupted_crawl_left_unmatched_are_matched_at_open(crawler, pipelines, subscribers):
    store(pipelines, normalise(raw_package()))  # stored, then the crawl was killed
    assert alerts() == {}
    MatchPipeline.from_crawler(crawler).open_spider()
    assert alerts() == {subscribers["everything"]: [KODE]}
    assert crawler.stats.get_value("lpse/matched_leftover") == 1


def test_packages_nothing_fits_are_unmarked_together_when_the_crawl_closes(crawler, pipelines):
    match = pipelines["MatchPipeline"]
    match.open_spider()
    item = match.process_item(store(pipelines, normalise(raw_package())))
    assert Tender.get_by_id(item.to_match[0]).match_pending  # waits for the batch
    match.close_spider()
    assert not Tender.get_by_id(item.to_match[0]).match_pending and alerts() == {}
    assert crawler.stats.get_value("lpse/errors/storage") is None


def test_every_package_of_a_batch_is_unmarked_by_its_own_moment(crawler, pipelines):
    match = pipelines["MatchPipeline"]
    match.open_spider()
    ids = []
    for n in range(3):  # stored one after another: each read as of its own moment
        item = pipelines["StorePipeline"].process_item(dataclasses.replace(SENT_ITEM, kode=f"3000000{n}000"))
        ids += match.process_item(item).to_match
        time.sleep(0.002)
    assert len(ids) == 3 and all(Tender.get_by_id(i).match_pending for i in ids)  # waiting for the batch
    match.close_spider()
    assert [Tender.get_by_id(i).match_pending for i in ids] == [False, False, False]


def test_a_mark_another_crawl_sets_after_the_match_outlives_the_batch(crawler, pipelines):
    match = pipelines["MatchPipeline"]
    match.open_spider()
    item = match.process_item(store(pipelines, normalise(raw_package())))  # nothing fits: batched
    time.sleep(0.001)  # the other crawl's listing comes later
    assert mark_listed("nasional", "nontender", [KODE]) == item.to_match  # another crawl process
    match.close_spider()
    assert Tender.get_by_id(item.to_match[0]).match_pending  # its new listing is still to match
    again = MatchPipeline.from_crawler(crawler)
    again.open_spider()
    again.close_spider()
    assert crawler.stats.get_value("lpse/matched_leftover") == 1
    assert not Tender.get_by_id(item.to_match[0]).match_pending


def test_marks_that_cannot_be_cleared_at_close_count_as_storage_and_are_matched_again(crawler, pipelines):
    match = pipelines["MatchPipeline"]
    match.open_spider()
    item = match.process_item(store(pipelines, normalise(raw_package())))
    with read_only_database():
        match.close_spider()
    assert crawler.stats.get_value("lpse/errors/storage") == 1  # health makes it exit 4
    assert Tender.get_by_id(item.to_match[0]).match_pending
    MatchPipeline.from_crawler(crawler).open_spider()
    assert crawler.stats.get_value("lpse/matched_leftover") == 1


# -- the whole chain, in the order settings.py gives ---------------------------------------------


def test_the_chain_in_settings_order_stores_unqueues_and_alerts_once(crawler, subscribers):
    manager = ItemPipelineManager.from_crawler(crawler)

    async def crawl_twice():
        await manager.open_spider_async()
        for _ in range(2):
            await manager.process_item_async(listing_page())
            assert queued() is not None
            stored = await manager.process_item_async(raw_package())
        return stored

    stored = asyncio.run(crawl_twice())
    assert (stored.kode, stored.stored_as) == (KODE, "unchanged")
    assert queued() is None and not Tender.get(Tender.kode == KODE).match_pending
    assert alerts() == {subscribers["everything"]: [KODE]}


# -- a write that fails ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, item",
    [
        ("ListingPipeline", listing_page()),
        ("SessionPipeline", SessionChange("kemkes", "tender", Session("5e6f", {}))),
        ("DetailFailurePipeline", DetailFailure("kemkes", "nontender", KODE, [KODE], "HTTP 500")),
        ("StorePipeline", normalise(raw_package())),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
def test_a_database_error_drops_the_item_and_is_recorded_as_storage(crawler, pipelines, name, item):
    with read_only_database(), pytest.raises(DropItem, match="storage: .*(readonly|read-only)"):
        pipelines[name].process_item(item)
    (error,) = crawler.spider.health["kemkes"].storage_errors
    assert error.startswith("storage: ") and crawler.spider.health["kemkes"].failed
    assert crawler.stats.get_value("lpse/errors/storage") == 1
    assert not Tender.select().exists() and not PendingDetail.select().exists()
