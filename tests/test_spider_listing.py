"""The spider's listing callbacks in process, on saved responses: a token, DataTables pages
of recorded rows, refusals and malformed answers, and where a crawl starts. What each answer
makes the crawl do next: items, requests, failures in the instance's health.

The crawler is Scrapy's test crawler (tests/conftest.py: make_crawler); nothing is downloaded.
"""

import json
from types import SimpleNamespace

import pytest
from scrapy.http import FormRequest, Request, TextResponse
from twisted.internet.error import TimeoutError as ConnectTimeout
from twisted.python.failure import Failure

from lpse_crawler.items import ListingChecked, ListingPage, SessionChange
from lpse_crawler.pipelines import NormalisePipeline, StorePipeline
from lpse_crawler.store import crawl_state
from lpse_crawler.store.crawl_state import Session
from lpse_crawler.store.models import Instance
from tests.conftest import make_crawler
from tests.spider_responses import (
    BASE,
    CODES,
    TENDER_ROWS,
    TOKEN,
    answer,
    datatables,
    error_page,
    fetch,
    first_page_request,
    form_of,
    listing_page,
    of_type,
    start_requests,
)
from tests.spse_replay.server import TEMPLATES

# -- one cycle of kemkes's tender listing: token, three pages of 2025, an empty 2026 ---------


@pytest.fixture(scope="module")
def cycle(db_path):
    crawler = make_crawler(db_path, kinds="tender")
    spider = crawler.spider
    start = start_requests(spider)
    session = list(spider.parse_listing_page(listing_page(start[0])))
    pages = [list(spider.parse_rows(datatables(session[-1], TENDER_ROWS)))]
    for _ in range(2):
        pages.append(list(spider.parse_rows(datatables(pages[-1][-1], TENDER_ROWS))))
    pages.append(list(spider.parse_rows(datatables(pages[-1][-1], []))))  # 2026: nothing listed yet
    return SimpleNamespace(crawler=crawler, spider=spider, start=start, session=session, pages=pages)


def test_without_a_stored_session_the_crawl_starts_at_the_listing_page(cycle):
    (request,) = cycle.start
    assert (request.method, request.url) == ("GET", f"{BASE}/lelang")
    assert request.callback == cycle.spider.parse_listing_page


def test_the_listing_page_token_and_cookies_are_kept_for_the_next_crawl(cycle):
    change, _ = cycle.session
    assert isinstance(change, SessionChange)
    assert (change.instance, change.kind, change.session.token) == ("kemkes", "tender", TOKEN)
    assert f"___AT={TOKEN}&" in change.session.cookies["SPSE_SESSION"]


def test_the_listing_page_tells_the_spse_version(cycle):
    assert cycle.spider.health["kemkes"].spse_version == "4.5u20250321"


def test_the_first_page_is_posted_with_the_token_newest_code_first(cycle):
    request = cycle.session[-1]
    assert isinstance(request, FormRequest)
    assert (request.method, request.url) == ("POST", f"{BASE}/dt/lelang?tahun=2025")
    form = form_of(request)
    assert form["authenticityToken"] == TOKEN
    assert (form["order[0][column]"], form["order[0][dir]"]) == ("0", "desc")
    assert (form["start"], form["length"]) == ("0", "10")
    assert request.headers["X-Requested-With"] == b"XMLHttpRequest"
    assert request.headers["Referer"] == f"{BASE}/lelang".encode()
    assert request.cookies["SPSE_SESSION"].startswith("9d2e-")


def test_a_page_yields_its_listing_item_first(cycle):
    page = cycle.pages[0][0]
    assert isinstance(page, ListingPage)
    assert (page.instance, page.kind, page.year) == ("kemkes", "tender", 2025)
    assert [kode for kode, _ in page.to_fetch] == CODES[:10]
    assert page.seen_again == []


def test_the_listing_item_keeps_the_raw_cells_to_queue(cycle):
    kode, cells = cycle.pages[0][0].to_fetch[0]
    assert cells == next(row for row in TENDER_ROWS if row[0] == kode)


def test_the_listing_item_moves_the_coverage_down_to_its_last_row(cycle):
    coverage = cycle.pages[0][0].coverage
    assert coverage.version == 1 and coverage.ceiling is None
    (run,) = coverage.runs
    assert (run.top, run.low) == (int(CODES[0]), int(CODES[9]))


def test_then_each_new_row_asks_its_announcement_with_the_listing_as_referer(cycle):
    details = of_type(cycle.pages[0], Request)[:-1]
    assert [r.url for r in details] == [f"{BASE}/lelang/{kode}/pengumumanlelang" for kode in CODES[:10]]
    for request in details:
        assert request.method == "GET" and request.headers["Referer"] == f"{BASE}/lelang".encode()
        assert request.callback == cycle.spider.parse_announcement_page
        assert request.errback == cycle.spider.on_detail_error


def test_then_the_next_page_overlaps_the_last_by_one_row(cycle):
    request = cycle.pages[0][-1]
    assert isinstance(request, FormRequest) and request.url == f"{BASE}/dt/lelang?tahun=2025"
    assert (form_of(request)["start"], form_of(request)["draw"]) == ("9", "2")


def test_a_row_read_twice_across_the_overlap_is_fetched_once(cycle):
    second = cycle.pages[1][0]
    assert [kode for kode, _ in second.to_fetch] == CODES[10:19]
    assert len(of_type(cycle.pages[1], Request)) == 9 + 1  # nine detail requests, the next page


def test_the_end_of_the_listing_sets_its_ceiling_and_moves_to_the_next_year(cycle):
    last = cycle.pages[2][0]
    assert [kode for kode, _ in last.to_fetch] == CODES[19:]
    assert (last.coverage.ceiling, last.coverage.runs, last.coverage.version) == (int(CODES[0]), (), 3)
    # the year's check is reported with every package it listed (the schedule learns from it)
    assert ListingChecked("kemkes", "tender", 2025, len(CODES)) in cycle.pages[2]
    request = cycle.pages[2][-1]
    assert request.url == f"{BASE}/dt/lelang?tahun=2026" and form_of(request)["start"] == "0"


def test_an_empty_last_year_ends_the_chain_without_a_failure(cycle):
    page, checked = cycle.pages[3]
    assert (page.year, page.to_fetch, page.coverage.ceiling) == (2026, [], 0)
    assert checked == ListingChecked("kemkes", "tender", 2026, 0)
    assert not cycle.spider.health["kemkes"].failed
    assert cycle.crawler.stats.get_value("lpse/errors/malformed") is None


# -- the next cycle, once two packages are stored -------------------------------------------------


@pytest.fixture(scope="module")
def next_cycle(tmp_path_factory):
    """The newest two packages stored by a first cycle (through the normalise and store
    pipelines); in the next cycle the second one's row has moved to another stage."""
    db_path = tmp_path_factory.mktemp("next-cycle") / "pantau.db"  # its own: rows are stored
    crawler = make_crawler(db_path, kinds="tender")
    first = list(crawler.spider.parse_rows(datatables(first_page_request(crawler.spider), TENDER_ROWS)))
    normalise, store = NormalisePipeline.from_crawler(crawler), StorePipeline.from_crawler(crawler)
    for announcement in of_type(first, Request)[:2]:
        store.process_item(normalise.process_item(fetch(crawler.spider, announcement)))
    moved = [[*row[:3], "Penetapan Pemenang", *row[4:]] if row[0] == CODES[1] else row for row in TENDER_ROWS]
    spider = make_crawler(db_path, kinds="tender").spider
    return list(spider.parse_rows(datatables(first_page_request(spider), moved)))


def test_a_stored_row_that_did_not_change_is_only_noted_as_seen(next_cycle):
    page = next_cycle[0]
    assert page.seen_again == [CODES[0]]
    assert CODES[0] not in [kode for kode, _ in page.to_fetch]
    assert f"{BASE}/lelang/{CODES[0]}/pengumumanlelang" not in [r.url for r in of_type(next_cycle, Request)]


def test_a_stored_row_that_changed_is_fetched_again(next_cycle):
    assert [kode for kode, _ in next_cycle[0].to_fetch] == CODES[1:10]
    assert of_type(next_cycle, Request)[0].url == f"{BASE}/lelang/{CODES[1]}/pengumumanlelang"


def one_cycle(spider, rows: list) -> list:
    """A chain over a tender listing of `rows` in 2025 and nothing in 2026, every answer's output."""
    outputs = list(spider.parse_rows(datatables(first_page_request(spider), rows)))
    while isinstance(outputs[-1], FormRequest):  # the next page, or the next year
        listed = rows if outputs[-1].meta["year_index"] == 0 else []
        outputs += list(spider.parse_rows(datatables(outputs[-1], listed)))
    return outputs


def test_rows_queued_for_their_details_are_not_new_again_and_follow_the_retry_rule(tmp_path):
    spider = make_crawler(tmp_path / "pantau.db", kinds="tender", LPSE_DETAIL_ATTEMPTS=3).spider
    first = one_cycle(spider, TENDER_ROWS)
    for page in of_type(first, ListingPage):  # as the listing pipeline queues them
        crawl_state.queue_details(page.instance, page.kind, page.to_fetch)
    assert of_type(first, ListingChecked)[0].found == len(TENDER_ROWS)
    for _ in range(3):  # the newest package's announcement failed three times: tried daily now
        crawl_state.detail_failed("kemkes", "tender", CODES[0], TENDER_ROWS[0], "HTTP 500")
    crawl_state.detail_failed("kemkes", "tender", CODES[1], TENDER_ROWS[1], "HTTP 500")  # once: retried
    spider = make_crawler(tmp_path / "pantau.db", kinds="tender", LPSE_DETAIL_ATTEMPTS=3).spider
    second = one_cycle(spider, TENDER_ROWS)
    assert [checked.found for checked in of_type(second, ListingChecked)] == [0, 0]  # nothing new listed
    asked = [r.url for r in of_type(second, Request) if "pengumumanlelang" in r.url]
    assert f"{BASE}/lelang/{CODES[1]}/pengumumanlelang" in asked
    assert f"{BASE}/lelang/{CODES[0]}/pengumumanlelang" not in asked
    assert len(asked) == len(TENDER_ROWS) - 1


# -- the listing answers that stop or restart a chain -----------------------------------------


@pytest.fixture(scope="module")
def stale(db_path):
    """A token refused twice: once before and once after a fresh listing page."""
    crawler = make_crawler(db_path, kinds="tender")
    spider = crawler.spider
    refused = "Terjadi Kesalahan"
    first = list(spider.parse_rows(error_page(first_page_request(spider), refused)))
    fresh = list(spider.parse_listing_page(listing_page(first[-1], token="5e6f")))
    second = list(spider.parse_rows(error_page(fresh[-1], refused)))
    return SimpleNamespace(crawler=crawler, spider=spider, first=first, fresh=fresh, second=second)


def test_a_refused_token_is_forgotten_and_a_fresh_listing_page_asked(stale):
    forget, request = stale.first
    assert forget == SessionChange("kemkes", "tender", None)
    assert (request.method, request.url) == ("GET", f"{BASE}/lelang")
    assert (request.meta["year_index"], request.meta["start"]) == (0, 0)
    assert stale.crawler.stats.get_value("lpse/token_refreshed") == 1


def test_the_page_is_asked_again_with_the_fresh_token(stale):
    assert form_of(stale.fresh[-1])["authenticityToken"] == "5e6f"


def test_a_token_refused_after_a_fresh_one_fails_the_instance(stale):
    assert stale.second == [
        SessionChange("kemkes", "tender", None),
        # both years of the chain count as failed checks: the schedule retries them soon
        ListingChecked("kemkes", "tender", 2025, None),
        ListingChecked("kemkes", "tender", 2026, None),
    ]
    (error,) = stale.spider.health["kemkes"].errors
    assert "token" in error and "after a fresh token" in error
    assert stale.crawler.stats.get_value("lpse/errors/token") == 1


def test_a_plain_403_is_a_refused_token(db_path):
    spider = make_crawler(db_path, kinds="tender").spider
    outputs = list(spider.parse_rows(error_page(first_page_request(spider), "Akses Ditolak", 403)))
    assert outputs[0] == SessionChange("kemkes", "tender", None)
    assert outputs[1].callback == spider.parse_listing_page


# A chain that stops on a failure reports each of its fiscal years as a failed check.
FAILED_CHECKS = [ListingChecked("kemkes", "tender", year, None) for year in (2025, 2026)]


def test_a_cloudflare_challenge_fails_the_instance_and_asks_nothing_more(db_path):
    crawler = make_crawler(db_path, kinds="tender")
    request = first_page_request(crawler.spider)
    challenge = TEMPLATES["challenge"].substitute(clearance="c1")
    response = answer(request, challenge, 403, {"cf-mitigated": "challenge"})
    assert list(crawler.spider.parse_rows(response)) == FAILED_CHECKS
    (error,) = crawler.spider.health["kemkes"].errors
    assert "Cloudflare challenge not solved" in error
    assert crawler.stats.get_value("lpse/errors/malformed") == 1


@pytest.mark.parametrize(
    "body, message",
    [
        ('{"draw": "1", "data": [["1", "2"', "invalid JSON"),
        ('{"draw": "1", "error": "no"}', "without a 'data' list"),
        (json.dumps({"data": TENDER_ROWS[:10]}), "not ordered by package code"),  # as recorded
        (json.dumps({"data": [row[:15] for row in TENDER_ROWS[:1]]}), "has 15 cells, expected 16"),
    ],
    ids=["truncated", "no-data", "unordered", "short-row"],
)
def test_a_malformed_listing_page_fails_the_instance(db_path, body, message):
    crawler = make_crawler(db_path, kinds="tender")
    request = first_page_request(crawler.spider)
    response = TextResponse(request.url, body=body.encode(), encoding="utf-8", request=request)
    assert list(crawler.spider.parse_rows(response)) == FAILED_CHECKS
    (error,) = crawler.spider.health["kemkes"].errors
    assert error.startswith("dt/lelang 2025: ") and message in error
    assert crawler.stats.get_value("lpse/errors/malformed") == 1


@pytest.mark.parametrize(
    "page, message",
    [("error", "Terjadi Kesalahan"), ("no-token", "carries no authenticityToken")],
)
def test_a_listing_page_without_a_token_fails_the_chain_and_is_due_again_soon(db_path, page, message):
    crawler = make_crawler(db_path, kinds="tender")
    spider = crawler.spider
    request = start_requests(spider)[0]
    if page == "error":
        response = error_page(request, "Terjadi Kesalahan")
    else:
        response = answer(request, listing_page(request).text.replace("authenticityToken", "someOtherName"))
    assert list(spider.parse_listing_page(response)) == FAILED_CHECKS  # the schedule backs off
    (error,) = spider.health["kemkes"].errors
    assert error.startswith("lelang: ") and message in error
    assert ("kemkes", "tender") not in spider.active  # the run may check it again
    assert crawler.stats.get_value("lpse/errors/malformed") == 1


def test_the_detail_budget_defers_the_rest_of_the_new_rows(db_path):
    crawler = make_crawler(db_path, kinds="tender", LPSE_MAX_DETAILS=3)
    outputs = list(crawler.spider.parse_rows(datatables(first_page_request(crawler.spider), TENDER_ROWS)))
    assert len(outputs[0].to_fetch) == 10  # all queued in the database all the same
    assert len(of_type(outputs, Request)) == 3 + 1  # three announcements, the next page
    assert crawler.stats.get_value("lpse/details_deferred") == 7


def test_the_page_cap_fails_the_listing_and_goes_on_with_the_next_year(db_path):
    crawler = make_crawler(db_path, kinds="tender", LPSE_MAX_PAGES=1)
    outputs = list(crawler.spider.parse_rows(datatables(first_page_request(crawler.spider), TENDER_ROWS)))
    assert outputs[-1].url == f"{BASE}/dt/lelang?tahun=2026"
    (error,) = crawler.spider.health["kemkes"].errors
    assert "page cap (LPSE_MAX_PAGES) reached" in error
    assert crawler.stats.get_value("lpse/errors/capped") == 1


def test_a_listing_request_that_failed_for_good_fails_the_instance(db_path):
    crawler = make_crawler(db_path, kinds="tender")
    failure = Failure(ConnectTimeout("took longer than 30 s"))
    failure.request = first_page_request(crawler.spider)
    assert list(crawler.spider.on_error(failure)) == FAILED_CHECKS
    (error,) = crawler.spider.health["kemkes"].errors
    assert error.startswith("TimeoutError") and "took longer than 30 s" in error
    assert crawler.stats.get_value("lpse/errors/http") == 1


# -- where a crawl starts: a stored session, a bad base URL, unknown codes and kinds ----------


def test_every_kind_starts_with_its_own_listing_page(db_path):
    requests = start_requests(make_crawler(db_path).spider)
    assert [r.url for r in requests] == [f"{BASE}/lelang", f"{BASE}/nontender"]
    assert {r.meta["cookiejar"] for r in requests} == {"kemkes:tender", "kemkes:nontender"}


def test_a_stored_session_goes_straight_to_the_first_page(db_path):
    spider = make_crawler(db_path, instances="jakarta", kinds="tender").spider
    crawl_state.save_session("jakarta", "tender", Session("77aa", {"SPSE_SESSION": "x-___AT=77aa&"}))
    (request,) = start_requests(spider)
    assert (request.method, request.url) == ("POST", "https://spse.inaproc.id/jakarta/dt/lelang?tahun=2025")
    assert form_of(request)["authenticityToken"] == "77aa"


def test_an_instance_with_a_bad_base_url_fails_alone(db_path):
    crawler = make_crawler(db_path, instances="makassar,kemkes", kinds="tender")
    Instance.update(base_url="spse.example/makassar").where(Instance.code == "makassar").execute()
    outputs = start_requests(crawler.spider)
    assert [r.url for r in outputs if isinstance(r, Request)] == [f"{BASE}/lelang"]
    assert [o for o in outputs if not isinstance(o, Request)] == [
        ListingChecked("makassar", "tender", year, None) for year in (2025, 2026)
    ]
    assert "is not an http(s) URL" in crawler.spider.health["makassar"].errors[0]
    assert crawler.stats.get_value("lpse/errors/config") == 1


def test_an_unknown_instance_code_is_refused_before_anything_is_crawled(db_path):
    message = r"unknown instance code\(s\): kemkse \(did you mean kemkes\?\), zzqq; nothing was crawled"
    with pytest.raises(ValueError, match=message):
        make_crawler(db_path, instances="kemkes,kemkse,zzqq", kinds="tender")


def test_an_instance_an_operator_added_is_a_known_code(db_path):
    make_crawler(db_path)
    Instance.create(code="kabbaru", name="LPSE Kabupaten Baru", base_url=f"{BASE}/kabbaru")
    assert make_crawler(db_path, instances="kabbaru").spider.instance_codes == ("kabbaru",)


def test_an_unknown_kind_is_refused_with_the_known_ones(db_path):
    with pytest.raises(ValueError, match="unknown kind.*swakelola.*use tender, nontender"):
        make_crawler(db_path, kinds="tender,swakelola")
