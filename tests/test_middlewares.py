"""The crawl's middlewares in process, made by Scrapy's test crawler: callback failures land in
the instance's health, retries back off and a 429 pauses the whole host, Cloudflare's
challenge is told from SPSE's own refusal and solved once, the proxy is used."""

import asyncio
from types import SimpleNamespace

import apsw
import pytest
from peewee import OperationalError
from scrapy.http import FormRequest, HtmlResponse, Request, Response
from twisted.internet.error import TimeoutError as ConnectTimeout

from lpse_crawler.middlewares import (
    CloudflareCookiesMiddleware,
    FailureMiddleware,
    PoliteRetryMiddleware,
    ProxyMiddleware,
    is_cloudflare_challenge,
    retry_after_seconds,
)
from tests.spse_replay.server import TEMPLATES

LISTING = "https://spse.inaproc.id/kemkes/lelang"
PAGE = "https://spse.inaproc.id/kemkes/dt/lelang?tahun=2025"
CHALLENGE = TEMPLATES["challenge"].substitute(clearance="c1")
REFUSED = TEMPLATES["error"].substitute(title="Akses Ditolak", message="Akses Ditolak")


def response(status: int = 200, body: str = "", headers: dict | None = None, **meta) -> HtmlResponse:
    request = Request(PAGE, meta={"instance": "kemkes", **meta})
    return HtmlResponse(PAGE, status=status, headers=headers, body=body.encode(), request=request)


# -- Cloudflare or SPSE? Retry-After -------------------------------------------------------------


@pytest.mark.parametrize(
    "status, body, headers, challenged",
    [
        (403, "", {"cf-mitigated": "challenge"}, True),
        (403, CHALLENGE, None, True),
        (503, "<script src='/cdn-cgi/challenge-platform/h/b/orchestrate'></script>", None, True),
        (403, "<title>Just a moment...</title>", None, True),
        (403, REFUSED, None, False),  # SPSE's own refusal: a token to fetch again
        (200, CHALLENGE, None, False),  # a page that mentions the words is no challenge
        (403, "x" * 6000 + "cf-chl", None, False),  # markers are looked for at the top only
    ],
    ids=["header", "replayed", "503", "title", "spse-403", "200", "marker-late"],
)
def test_a_cloudflare_challenge_is_told_from_spse_refusing(status, body, headers, challenged):
    assert is_cloudflare_challenge(response(status, body, headers)) is challenged


@pytest.mark.parametrize(
    "header, seconds",
    [
        ("1", 1.0),
        ("2.5", 2.5),
        ("", 60.0),
        ("Wed, 21 Oct 2026 07:28:00 GMT", 60.0),
        ("-1", 60.0),
        ("1.2.3", 60.0),
    ],
)
def test_retry_after_in_seconds_else_the_default(header, seconds):
    headers = {"Retry-After": header} if header else None
    assert retry_after_seconds(response(429, headers=headers), default=60.0) == seconds


# -- FailureMiddleware: an exception in a callback ----------------------------------------------


def test_an_exception_in_a_callback_fails_its_instance_and_the_crawl_goes_on(crawler):
    middleware = FailureMiddleware.from_crawler(crawler)
    unexpected = KeyError("no such cell")  # a callback's bug, not the site's answer
    assert middleware.process_spider_exception(response(), unexpected) == []
    assert crawler.spider.health["kemkes"].errors == ["KeyError: 'no such cell'"]
    assert crawler.stats.get_value("lpse/errors/spider") == 1


@pytest.mark.parametrize(
    "exception",
    [apsw.BusyError("database is locked"), OperationalError("disk I/O error")],
    ids=["apsw", "peewee"],
)
def test_a_database_error_in_a_callback_is_a_storage_failure(crawler, exception):
    middleware = FailureMiddleware.from_crawler(crawler)
    assert middleware.process_spider_exception(response(), exception) == []
    health = crawler.spider.health["kemkes"]
    assert health.storage_errors == [f"storage: {type(exception).__name__}: {exception}"]
    assert health.errors == [] and health.failed
    assert crawler.stats.get_value("lpse/errors/storage") == 1


# -- ProxyMiddleware ------------------------------------------------------------------------------


def test_every_plain_request_goes_through_the_proxy(new_crawler):
    middleware = ProxyMiddleware.from_crawler(new_crawler(LPSE_PROXY="http://p:3128"))
    request, own = Request(PAGE), Request(PAGE, meta={"proxy": "http://other:8080"})
    assert middleware.process_request(request) is None and request.meta["proxy"] == "http://p:3128"
    middleware.process_request(own)
    assert own.meta["proxy"] == "http://other:8080"


def test_without_a_proxy_requests_go_direct(crawler):
    request = Request(PAGE)
    ProxyMiddleware.from_crawler(crawler).process_request(request)
    assert "proxy" not in request.meta


# -- PoliteRetryMiddleware ------------------------------------------------------------------------


class Engine:
    """Records what the middleware asks of Scrapy's engine."""

    def __init__(self):
        self.calls: list[str] = []

    def pause(self) -> None:
        self.calls.append("pause")

    def unpause(self) -> None:
        self.calls.append("unpause")


@pytest.fixture
def retry(crawler):
    crawler.engine = Engine()
    return PoliteRetryMiddleware.from_crawler(crawler)


def test_a_server_error_is_retried_until_the_retries_run_out(crawler, retry):
    async def answer_503_every_time():
        request, attempts = Request(PAGE), []
        while isinstance(request, Request):
            attempts.append(request)
            request = await retry.process_response(request, response(503))
        return attempts, request

    attempts, last = asyncio.run(answer_503_every_time())
    assert [r.meta.get("retry_times", 0) for r in attempts] == [0, 1, 2, 3]  # RETRY_TIMES = 3
    assert isinstance(last, Response) and last.status == 503
    assert crawler.stats.get_value("retry/max_reached") == 1


def test_a_good_answer_or_a_request_that_must_not_retry_passes(retry):
    ok, refused = response(200), response(503)
    assert asyncio.run(retry.process_response(Request(PAGE), ok)) is ok
    request = Request(PAGE, meta={"dont_retry": True})
    assert asyncio.run(retry.process_response(request, refused)) is refused


def test_a_timeout_is_retried_and_a_bug_is_not(retry):
    again = asyncio.run(retry.process_exception(Request(PAGE), ConnectTimeout()))
    assert again.url == PAGE and again.meta["retry_times"] == 1
    assert asyncio.run(retry.process_exception(Request(PAGE), ValueError("bug"))) is None


def test_a_429_pauses_every_request_for_retry_after_then_resumes(crawler, retry):
    async def answer_429():
        first = await retry.process_response(Request(PAGE), response(429, headers={"Retry-After": "0.05"}))
        second = await retry.process_response(Request(PAGE), response(429, headers={"Retry-After": "0.01"}))
        paused = list(crawler.engine.calls)
        await asyncio.sleep(0.15)
        return first, second, paused

    first, second, paused = asyncio.run(answer_429())
    assert first.meta["retry_times"] == second.meta["retry_times"] == 1  # each asked again
    assert paused == ["pause"]  # the shorter pause falls within the first one
    assert crawler.engine.calls == ["pause", "unpause"]
    assert crawler.stats.get_value("lpse/paused_429") == 1


# -- CloudflareCookiesMiddleware ----------------------------------------------------------------


class ChromiumPage:
    """What scrapy-playwright hands over: a loaded page whose context holds the cookies."""

    def __init__(self):
        self.closed = False
        self.context = SimpleNamespace(cookies=self.cookies)

    async def wait_for_load_state(self, state: str) -> None:
        assert state == "networkidle"

    async def cookies(self) -> list[dict]:
        names = {"cf_clearance": "c1", "__cf_bm": "b2", "_cfuvid": "u3", "SPSE_SESSION": "not-ours"}
        return [{"name": name, "value": value} for name, value in names.items()]

    async def evaluate(self, script: str) -> str:
        assert script == "navigator.userAgent"
        return "Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0"

    async def close(self) -> None:
        self.closed = True


def page_request() -> FormRequest:
    return FormRequest(
        PAGE,
        formdata={"authenticityToken": "4f1c"},
        cookies={"SPSE_SESSION": "9d2e"},
        headers={"Referer": LISTING},
        meta={"instance": "kemkes", "cookiejar": "kemkes:tender"},
    )


def challenged(request: Request) -> HtmlResponse:
    return HtmlResponse(request.url, status=403, body=CHALLENGE.encode(), request=request)


def test_without_the_browser_a_challenge_is_passed_on_and_counted(crawler):
    middleware = CloudflareCookiesMiddleware.from_crawler(crawler)
    request = page_request()
    answer = challenged(request)
    assert asyncio.run(middleware.process_response(request, answer)) is answer
    ok = response(200, "{}")
    assert asyncio.run(middleware.process_response(request, ok)) is ok
    assert crawler.stats.get_value("lpse/cloudflare_challenges") == 1


@pytest.fixture
def solved(new_crawler):
    """A challenged listing POST: Chromium opens the listing page, then the POST is sent again."""
    crawler = new_crawler(LPSE_BROWSER_ENABLED=True)
    middleware = CloudflareCookiesMiddleware.from_crawler(crawler)
    original, page = page_request(), ChromiumPage()

    async def solve():
        browser = await middleware.process_response(original, challenged(original))
        loaded = HtmlResponse(browser.url, body=b"<html></html>", request=browser)
        loaded.meta["playwright_page"] = page
        replayed = await middleware.process_response(browser, loaded)
        return browser, replayed

    browser, replayed = asyncio.run(solve())
    return SimpleNamespace(
        crawler=crawler,
        middleware=middleware,
        original=original,
        page=page,
        browser=browser,
        replayed=replayed,
    )


def test_a_challenged_post_opens_its_listing_page_in_chromium(solved):
    browser = solved.browser
    assert (browser.method, browser.url, browser.body) == ("GET", LISTING, b"")
    assert browser.meta["playwright"] and browser.meta["cf_original"] is solved.original


def test_the_post_is_sent_again_with_the_cloudflare_cookies_only(solved):
    replayed = solved.replayed
    assert (replayed.method, replayed.url, replayed.body) == ("POST", PAGE, solved.original.body)
    assert replayed.cookies == {
        "SPSE_SESSION": "9d2e",
        "cf_clearance": "c1",
        "__cf_bm": "b2",
        "_cfuvid": "u3",
    }
    assert replayed.meta["cf_solved_once"] and not any(k.startswith("playwright") for k in replayed.meta)
    assert solved.page.closed
    assert solved.crawler.stats.get_value("lpse/cloudflare_solved") == 1


def test_later_plain_requests_carry_the_cookies_and_the_browsers_user_agent(solved):
    later = Request("https://spse.inaproc.id/jakarta/lelang", cookies={"SPSE_SESSION": "other"})
    assert solved.middleware.process_request(later) is None
    assert later.cookies == {"cf_clearance": "c1", "__cf_bm": "b2", "_cfuvid": "u3", "SPSE_SESSION": "other"}
    assert later.headers["User-Agent"] == b"Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0"


def test_a_challenge_after_the_browser_solved_one_is_given_up(solved):
    still = challenged(solved.replayed)
    assert asyncio.run(solved.middleware.process_response(solved.replayed, still)) is still
