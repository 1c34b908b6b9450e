"""Every injected fault: the other instances are crawled, the bad one's health is marked,
no partial row is stored; recoverable faults recover."""

import pytest

from lpse_crawler.store.models import Instance, PendingDetail, Tender, TenderListing
from lpse_crawler.store.schema import open_database
from tests.conftest import run_crawl
from tests.spse_replay import Fault, SpseReplayServer

pytestmark = pytest.mark.slow  # real `scrapy crawl` processes against the replay server

BAD, GOOD = "kemkes", "jakarta"
PER_INSTANCE = 50  # 25 tender + 25 non-tender rows replayed per instance


@pytest.fixture
def server():
    with SpseReplayServer([BAD, GOOD]) as replay:
        yield replay


@pytest.fixture
def crawl(server, database_url):
    def _crawl(status: int = 0, **env):
        result = run_crawl(server.base_url, database_url, [BAD, GOOD], **env)
        assert result.returncode == status, result.log[-3000:]
        open_database(database_url)
        return result

    return _crawl


def listed_on(code: str) -> int:
    return TenderListing.select().where(TenderListing.instance == code).count()


def assert_no_partial_rows() -> None:
    incomplete = Tender.select().where(
        Tender.hps.is_null()
        | Tender.satker.is_null()
        | Tender.deadline.is_null()
        | Tender.tanggal_pembuatan.is_null()
        | (Tender.nama == "")
    )
    assert incomplete.count() == 0


def assert_isolated_failure(error: str) -> Instance:
    bad = Instance.get_by_id(BAD)
    assert bad.consecutive_failures == 1 and error in bad.last_error
    assert bad.last_error_at is not None and bad.last_ok_at is None
    good = Instance.get_by_id(GOOD)
    assert (good.consecutive_failures, good.last_new) == (0, PER_INSTANCE), good.last_error
    assert listed_on(GOOD) == PER_INSTANCE
    assert_no_partial_rows()
    return bad


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault("http500"), "HTTP 500"),
        (Fault("malformed_json"), "invalid JSON"),
        (Fault("columns"), "17 cells, expected 16"),
        (Fault("cloudflare"), "HTTP 403"),
        (Fault("slow", seconds=6), "TimeoutError"),
    ],
    ids=lambda v: v.kind if isinstance(v, Fault) else None,
)
def test_listing_faults_fail_only_the_bad_instance(server, crawl, fault, error):
    server.faults[BAD] = fault
    timeout = {"LPSE_DOWNLOAD_TIMEOUT": "2"} if fault.kind == "slow" else {}
    result = crawl(3, LPSE_RETRY_TIMES="1", **timeout)
    assert "Crawl result: 1 instance(s) failing: kemkes (exit 3)" in result.log
    assert_isolated_failure(error)
    assert listed_on(BAD) == 0


def test_failures_are_counted_until_the_instance_recovers(server, crawl):
    server.faults[BAD] = Fault("http500")
    crawl(3, LPSE_RETRY_TIMES="0")
    crawl(3, LPSE_RETRY_TIMES="0")
    assert Instance.get_by_id(BAD).consecutive_failures == 2
    del server.faults[BAD]
    crawl()
    bad = Instance.get_by_id(BAD)
    assert (bad.consecutive_failures, bad.last_new) == (0, PER_INSTANCE)
    assert bad.last_ok_at > bad.last_error_at


def test_transient_5xx_is_retried_with_backoff(server, crawl):
    server.faults[BAD] = Fault("http500", times=2)
    result = crawl()
    assert Instance.get_by_id(BAD).consecutive_failures == 0
    assert listed_on(BAD) == PER_INSTANCE
    assert "'retry/count': 2" in result.log


def test_429_pauses_the_host_then_everything_is_crawled(server, crawl):
    server.faults[BAD] = Fault("http429", times=3)
    result = crawl()
    assert "pausing all requests for 1.0 s" in result.log
    assert Instance.get_by_id(BAD).consecutive_failures == 0
    assert listed_on(BAD) == PER_INSTANCE and listed_on(GOOD) == PER_INSTANCE


def test_expired_token_is_fetched_again_once(server, crawl):
    server.faults[BAD] = Fault("expired_token", times=1)
    result = crawl()
    assert "'lpse/token_refreshed': 1" in result.log
    assert Instance.get_by_id(BAD).consecutive_failures == 0
    assert listed_on(BAD) == PER_INSTANCE


def test_token_refused_twice_fails_the_kind(server, crawl):
    server.faults[BAD] = Fault("expired_token")
    crawl(3)
    assert_isolated_failure("after a fresh token")


def test_error_pages_with_http_200_store_nothing_and_are_retried_next_cycle(server, crawl):
    server.faults[BAD] = Fault("error_page")
    crawl(3)
    assert_isolated_failure("SPSE error page: Maaf, terjadi error pada aplikasi SPSE")
    assert listed_on(BAD) == 0
    assert PendingDetail.select().where(PendingDetail.instance == BAD).count() == PER_INSTANCE
    del server.faults[BAD]
    crawl()
    assert listed_on(BAD) == PER_INSTANCE
    assert PendingDetail.select().count() == 0
    assert Instance.get_by_id(BAD).consecutive_failures == 0
