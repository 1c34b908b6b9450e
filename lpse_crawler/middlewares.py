"""Middlewares: polite retries for one shared host, Cloudflare cookies, and callback
failures recorded in the instance's health.

All LPSE instances live on one host, so a 429 pauses the whole crawl, and a Cloudflare
challenge solved once (in Chromium, through scrapy-playwright) serves every instance.
"""

import asyncio
import logging
import time
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response

from lpse_crawler.store import politeness
from lpse_crawler.store.database import STORAGE_ERRORS

log = logging.getLogger(__name__)
CHALLENGE_MARKERS = (b"cf-chl", b"challenge-platform", b"Just a moment", b"cf_clearance")
CLOUDFLARE_COOKIES = ("cf_", "__cf", "_cfuvid")  # name prefixes; SPSE's own cookies stay per session


class PoliteRetryMiddleware(RetryMiddleware):
    """Retry 5xx and timeouts with exponential backoff; on 429 pause the whole host."""

    def __init__(self, crawler):
        super().__init__(crawler.settings)
        self.crawler = crawler
        self.backoff_base = crawler.settings.getfloat("RETRY_BACKOFF_BASE")
        self.backoff_max = crawler.settings.getfloat("RETRY_BACKOFF_MAX")
        self.pause_default = crawler.settings.getfloat("HTTP_429_PAUSE")
        self._paused_until = 0.0

    @classmethod
    def from_crawler(cls, crawler):
        mw = cls(crawler)
        mw.crawler = crawler
        return mw

    async def process_response(self, request: Request, response: Response):
        if request.meta.get("dont_retry") or response.status not in self.retry_http_codes:
            return response
        if response.status == 429:
            self._pause_host(retry_after_seconds(response, self.pause_default), request.url)
        else:
            await self._backoff(request)
        return self._retry(request, f"HTTP {response.status}") or response

    async def process_exception(self, request: Request, exception: Exception):
        if request.meta.get("dont_retry") or not isinstance(exception, self.exceptions_to_retry):
            return None
        await self._backoff(request)
        return self._retry(request, exception)

    async def _backoff(self, request: Request) -> None:
        attempt = request.meta.get("retry_times", 0)
        await asyncio.sleep(min(self.backoff_base * 2**attempt, self.backoff_max))

    def _pause_host(self, seconds: float, request_url: str) -> None:
        """Stop sending new requests for `seconds` (Retry-After), then carry on."""
        until = time.monotonic() + seconds
        if until <= self._paused_until:
            return
        self._paused_until = until
        log.warning("HTTP 429 from SPSE: pausing all requests for %.1f s", seconds)
        try:  # the other crawl processes wait too
            politeness.pause(urlsplit(request_url).hostname or "", seconds)
        except STORAGE_ERRORS as exc:
            log.error("Could not share the 429 pause with other crawls: %s", exc)
        self.crawler.stats.inc_value("lpse/paused_429")
        self.crawler.engine.pause()
        asyncio.get_running_loop().call_later(seconds, self._resume)

    def _resume(self) -> None:
        if time.monotonic() >= self._paused_until - 0.01:
            self.crawler.engine.unpause()


def retry_after_seconds(response: Response, default: float) -> float:
    """Seconds from a Retry-After header (delta form), else `default`."""
    value = (response.headers.get(b"Retry-After") or b"").decode("latin-1").strip()
    return float(value) if value.replace(".", "", 1).isdigit() else default


def is_cloudflare_challenge(response: Response) -> bool:
    """A 403/503 from Cloudflare's challenge, as opposed to SPSE's own refusal."""
    if response.status not in (403, 503):
        return False
    if response.headers.get(b"cf-mitigated", b"").lower() == b"challenge":
        return True
    return any(marker in response.body[:5000] for marker in CHALLENGE_MARKERS)


class CloudflareCookiesMiddleware:
    """Solve a challenge once in Chromium (scrapy-playwright), then reuse its cookies.

    Plain requests carry the browser's cookies and User-Agent, because Cloudflare ties
    clearance to the User-Agent that earned it.
    """

    def __init__(self, crawler):
        self.crawler = crawler
        self.enabled = crawler.settings.getbool("LPSE_BROWSER_ENABLED")
        self.cookies: dict[str, str] = {}
        self.user_agent: str | None = None
        self._solved: asyncio.Future | None = None  # set while or once Chromium solved one

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request: Request):
        if request.meta.get("playwright") or not self.cookies:
            return None
        request.cookies = {**self.cookies, **(request.cookies if isinstance(request.cookies, dict) else {})}
        if self.user_agent:
            request.headers[b"User-Agent"] = self.user_agent
        return None

    async def process_response(self, request: Request, response: Response):
        if request.meta.get("cf_bootstrap"):
            return await self._take_browser_cookies(request, response)
        if not is_cloudflare_challenge(response):
            return response
        self.crawler.stats.inc_value("lpse/cloudflare_challenges")
        if not self.enabled or request.meta.get("cf_solved_once"):
            log.warning(
                "Cloudflare challenge on %s (browser %s)",
                request.url,
                "disabled" if not self.enabled else "did not help",
            )
            return response
        if self._solved is not None:  # another request already went to Chromium: wait for it
            await asyncio.shield(self._solved)
            return self._replay(request, {"cf_solved_once": True})
        self._solved = asyncio.get_running_loop().create_future()
        page_url = request.url if request.method == "GET" else request.headers.get("Referer", b"").decode()
        log.info("Cloudflare challenge on %s: opening %s in Chromium", request.url, page_url or request.url)
        # The browser only loads a page (it never replays a POST); the original request follows.
        return request.replace(
            url=page_url or request.url,
            method="GET",
            body=b"",
            dont_filter=True,
            meta={
                **request.meta,
                "playwright": True,
                "playwright_include_page": True,
                "cf_bootstrap": True,
                "cf_original": request,
            },
        )

    async def _take_browser_cookies(self, request: Request, response: Response):
        page = response.meta.get("playwright_page")
        try:
            if page is not None:
                await page.wait_for_load_state("networkidle")
                cookies = await page.context.cookies()
                self.user_agent = await page.evaluate("navigator.userAgent")
                self.cookies.update(
                    {c["name"]: c["value"] for c in cookies if c["name"].startswith(CLOUDFLARE_COOKIES)}
                )
                self.crawler.stats.inc_value("lpse/cloudflare_solved")
                log.info(
                    "Chromium obtained %d Cloudflare cookies; plain requests continue", len(self.cookies)
                )
        finally:
            if page is not None:
                await page.close()
            self._solved.set_result(None)
        return self._replay(request.meta["cf_original"], {"cf_solved_once": True})

    def _replay(self, request: Request, extra_meta: dict) -> Request:
        """The original plain request again, now carrying the browser's cookies."""
        meta = {k: v for k, v in request.meta.items() if not k.startswith(("playwright", "cf_"))}
        cookies = {**(request.cookies if isinstance(request.cookies, dict) else {}), **self.cookies}
        return request.replace(meta=meta | extra_meta, cookies=cookies, dont_filter=True)


class ProxyMiddleware:
    """Send every plain request through LPSE_PROXY when it is set."""

    def __init__(self, proxy: str):
        self.proxy = proxy

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.get("LPSE_PROXY") or "")

    def process_request(self, request: Request):
        if self.proxy and "proxy" not in request.meta:
            request.meta["proxy"] = self.proxy
        return None


class FailureMiddleware:
    """Spider middleware: an exception in a callback (a bug, a database error while reading)
    is recorded in its instance's health and the crawl goes on with the other instances."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_spider_exception(self, response: Response, exception: Exception):
        instance = response.meta.get("instance", "?")
        error = f"{type(exception).__name__}: {exception}"[:300]
        spider = self.crawler.spider
        if isinstance(exception, STORAGE_ERRORS):
            spider.fail_storage(instance, f"storage: {error}", response.url, exception)
        else:
            log.error("[%s] %s (%s)", instance, error, response.url, exc_info=exception)
            spider.fail_instance(instance, error, "spider")
        return []


class SharedBudgetMiddleware:
    """Every request waits for its slot in the host's budget, shared through the database
    (DOWNLOAD_DELAY apart across every crawl process), so N crawlers send what one would."""

    def __init__(self, crawler):
        self.interval = crawler.settings.getfloat("DOWNLOAD_DELAY")

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_request(self, request: Request):
        if self.interval <= 0 or request.meta.get("playwright"):
            return None
        wait = politeness.reserve(urlsplit(request.url).hostname or "", self.interval)
        if wait > 0:
            await asyncio.sleep(wait)
        return None
