"""The writes done per crawled package, as cached SQL run with executemany: the outbox
insert, the detail queue and its bookkeeping, the match stage's read and mark."""

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lpse_crawler.matching import alerts
from lpse_crawler.matching.index import CompiledFilter, FilterIndex, Match
from lpse_crawler.matching.saved_filters import InstanceGeography
from lpse_crawler.outbox import Channel, Notification, Status, enqueue, json_int_list
from lpse_crawler.people.models import Subscriber
from lpse_crawler.spse.registry import load_registry, sync_registry
from lpse_crawler.store import crawl_state
from lpse_crawler.store.database import database, utcnow, write_transaction
from lpse_crawler.store.models import PendingDetail, Tender
from lpse_crawler.store.tenders import upsert_tender
from lpse_crawler.usage import UsageDaily
from tests.test_store import ITEM as STORED

# the stored package of test_store, its deadline still ahead (a closed one matches nobody)
ITEM = replace(STORED, satker=None, deadline=datetime(2099, 3, 1, 15, tzinfo=ZoneInfo("Asia/Jakarta")))


@pytest.fixture(autouse=True)
def instances(database):
    sync_registry(load_registry())


@pytest.fixture
def tender_id() -> int:
    upsert_tender(replace(ITEM))
    return Tender.get(Tender.kode == ITEM.kode).id


@pytest.fixture
def subscribers() -> list[int]:
    return [Subscriber.create(chat_id=1000 + n).id for n in range(3)]


def match(filter_id: int, subscriber_id: int, words: list[str], text: str = "ginjal") -> Match:
    spec = InstanceGeography().parse(text)
    return Match(CompiledFilter(filter_id, subscriber_id, f"f{filter_id}", spec), words)


def queued_today() -> int:
    row = UsageDaily.get_or_none(UsageDaily.metric == "notifications_queued")
    return row.count if row else 0


# -- the outbox insert --------------------------------------------------------------------


def test_one_notification_per_subscriber_remembering_every_filter_and_word(tender_id, subscribers):
    first, second = subscribers[:2]
    matches = [
        match(7, first, ["ginjal"]),
        match(3, first, ["gagal ginjal", "ginjal", "kronik"]),
        match(5, second, ["ginjal", "ginjal", "café"]),
    ]
    with write_transaction():
        assert enqueue(tender_id, matches) == 2
    rows = {n.subscriber_id: n for n in Notification.select()}
    assert rows[first].filter_ids == [3, 7]
    assert rows[first].matched_words == ["ginjal", "gagal ginjal", "kronik"]
    assert rows[second].filter_ids == [5] and rows[second].matched_words == ["ginjal", "café"]
    for n in rows.values():
        assert (n.tender_id, n.status, n.channel, n.attempts, n.body) == (
            tender_id,
            Status.QUEUED,
            Channel.TELEGRAM,
            0,
            None,
        )
        assert n.next_attempt_at == n.created_at == n.updated_at and abs(n.created_at - utcnow()) < timedelta(
            minutes=1
        )
    assert queued_today() == 2


def test_json_columns_hold_the_text_the_json_field_writes(tender_id, subscribers):
    enqueue(tender_id, [match(12, subscribers[0], ["café"]), match(4, subscribers[0], ["ginjal"])])
    sql = f"SELECT filter_ids, matched_words FROM notification WHERE subscriber_id = {database.param}"
    stored = database.execute_sql(sql, (subscribers[0],)).fetchone()
    assert stored == (
        Notification.filter_ids.db_value([4, 12]),
        Notification.matched_words.db_value(["café", "ginjal"]),
    )


def test_a_package_queued_again_counts_only_the_new_subscribers(tender_id, subscribers):
    assert enqueue(tender_id, [match(1, subscribers[0], ["ginjal"])]) == 1
    again = [match(1, subscribers[0], ["ginjal"]), match(2, subscribers[1], ["ginjal"])]
    assert enqueue(tender_id, again) == 1
    assert enqueue(tender_id, again) == 0
    assert enqueue(tender_id, []) == 0
    assert Notification.select().count() == 2 and queued_today() == 2


def test_a_thousand_subscribers_in_one_statement_run(tender_id):
    with database.atomic():
        Subscriber.insert_many(
            [{"chat_id": 5000 + n} for n in range(1200)], fields=[Subscriber.chat_id]
        ).execute()
    ids = [s.id for s in Subscriber.select(Subscriber.id)]
    assert enqueue(tender_id, [match(n, s, ["ginjal"]) for n, s in enumerate(ids, start=1)]) == 1200
    assert Notification.select().where(Notification.tender == tender_id).count() == 1200


@given(st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=20))
def test_int_lists_are_written_as_json_dumps_writes_them(numbers):
    assert json_int_list(numbers) == Notification.filter_ids.db_value(numbers)


# -- the detail queue ---------------------------------------------------------------------


def queue() -> dict[tuple[str, str, str], PendingDetail]:
    return {(p.instance_id, p.kind, p.kode): p for p in PendingDetail.select()}


def test_queued_rows_keep_their_failures_and_take_newer_cells():
    crawl_state.queue_details("kemkes", "tender", [("1", ["1", "a"]), ("2", ["2", "b"])])
    crawl_state.detail_failed("kemkes", "tender", "1", ["1", "a"], "timeout")
    with write_transaction():  # as the listing stage queues them
        crawl_state.queue_details("kemkes", "tender", [("1", ["1", "änderung"]), ("3", ["3", "c"])])
    rows = queue()
    assert set(rows) == {("kemkes", "tender", k) for k in "123"}
    first = rows["kemkes", "tender", "1"]
    assert (first.row, first.attempts, first.last_error) == (["1", "änderung"], 1, "timeout")
    assert (rows["kemkes", "tender", "3"].attempts, rows["kemkes", "tender", "3"].last_error) == (0, "")
    crawl_state.queue_details("kemkes", "tender", [])
    assert len(queue()) == 3


def test_storing_a_package_takes_only_its_own_row_off_the_queue():
    crawl_state.queue_details("kemkes", "tender", [(ITEM.kode, ["x"]), ("other", ["y"])])
    crawl_state.queue_details("kemkes", "nontender", [(ITEM.kode, ["x"])])
    crawl_state.queue_details("nasional", "tender", [(ITEM.kode, ["x"])])
    upsert_tender(replace(ITEM))
    assert set(queue()) == {
        ("kemkes", "tender", "other"),
        ("kemkes", "nontender", ITEM.kode),
        ("nasional", "tender", ITEM.kode),
    }
    upsert_tender(replace(ITEM))  # stored again with nothing queued: nothing else changes
    assert len(queue()) == 3


# -- the match stage ----------------------------------------------------------------------


def marked(tender_id: int) -> bool:
    return Tender.get_by_id(tender_id).match_pending


def test_a_package_nothing_fits_is_unmarked_without_notifications(tender_id):
    geography = InstanceGeography()
    assert marked(tender_id)
    assert alerts.match_tender(FilterIndex([], geography.by_province), geography, tender_id) == 0
    assert not marked(tender_id) and Notification.select().count() == 0


def test_a_fitting_package_is_queued_and_unmarked_together(tender_id, subscribers):
    geography = InstanceGeography()
    fits = match(1, subscribers[0], [], "ginjal lpse:kemkes").filter
    elsewhere = match(2, subscribers[1], [], "ginjal lpse:nasional").filter
    later = replace(match(3, subscribers[2], [], "ginjal").filter, created_at=utcnow() + timedelta(hours=1))
    index = FilterIndex([fits, elsewhere, later], geography.by_province)
    assert alerts.match_tender(index, geography, tender_id) == 1
    assert [(n.subscriber_id, n.filter_ids, n.matched_words) for n in Notification.select()] == [
        (subscribers[0], [1], ["ginjal"])
    ]
    assert not marked(tender_id)


def test_a_closed_package_is_unmarked_without_notifications(tender_id, subscribers):
    geography = InstanceGeography()
    index = FilterIndex([match(1, subscribers[0], [], "ginjal").filter], geography.by_province)
    assert alerts.match_tender(index, geography, tender_id, now=ITEM.deadline + timedelta(seconds=1)) == 0
    assert not marked(tender_id) and Notification.select().count() == 0


def test_a_missing_package_says_so(tender_id):
    geography = InstanceGeography()
    with pytest.raises(Tender.DoesNotExist):
        alerts.match_tender(FilterIndex([], geography.by_province), geography, tender_id + 1)
