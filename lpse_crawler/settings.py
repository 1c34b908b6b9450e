"""Scrapy settings, from the environment variables in lpse_crawler/config.py."""

import os
import sys
from datetime import date

from lpse_crawler.config import ConfigError, check_all, get, load_env_file, offline_suffix_list

try:  # `scrapy crawl` reads the env file itself, like the CLI and the bot
    load_env_file()
    check_all()
except ConfigError as exc:
    sys.exit(f"error: {exc}")
offline_suffix_list()


def _default_years() -> str:
    """Current and next fiscal year: late in the year SPSE already lists next year's."""
    this_year = date.today().year
    return f"{this_year},{this_year + 1}"


BOT_NAME = "lpse_crawler"
SPIDER_MODULES = ["lpse_crawler.spiders"]
NEWSPIDER_MODULE = "lpse_crawler.spiders"
COMMANDS_MODULE = "lpse_crawler.scrapy_commands"  # `crawl` with exit statuses (health.py)

DATABASE_URL = get("DATABASE_URL")
LPSE_BASE_URL = get("LPSE_BASE_URL")
LPSE_YEARS = get("LPSE_YEARS") or _default_years()
LPSE_PAGE_SIZE = get("LPSE_PAGE_SIZE")
LPSE_DETAIL_ATTEMPTS = get("LPSE_DETAIL_ATTEMPTS")  # failures before a package is tried daily
LPSE_MAX_PAGES = get("LPSE_MAX_PAGES")  # listing pages per instance, kind, year and cycle
LPSE_MAX_DETAILS = get("LPSE_MAX_DETAILS")  # packages fetched per instance and cycle
LPSE_MAX_WATCHES = get("LPSE_MAX_WATCHES")  # followed packages read again per run
LPSE_LEASE_SECONDS = get("LPSE_LEASE_SECONDS")  # leases on instances, renewed while crawling
LPSE_FAIL_AFTER = get("LPSE_FAIL_AFTER")  # failures in a row before an instance fails the exit
LPSE_SCHEDULE = get("LPSE_SCHEDULE")  # check listings when due; 0: every listing, every run
LPSE_REQUESTS_PER_HOUR = get("LPSE_REQUESTS_PER_HOUR")  # fleet-wide budget the schedule plans in
LPSE_RUN_MINUTES = get("LPSE_RUN_MINUTES")  # a run takes listings falling due this long
LPSE_MIN_WAIT_MINUTES = get("LPSE_MIN_WAIT_MINUTES")
LPSE_MAX_WAIT_HOURS = get("LPSE_MAX_WAIT_HOURS")
LPSE_NEXT_YEAR_HOURS = get("LPSE_NEXT_YEAR_HOURS")
LPSE_PROXY = get("LPSE_PROXY")  # e.g. http://user:pass@proxy.example:3128

CONTACT = get("LPSE_CONTACT")
USER_AGENT = get("LPSE_USER_AGENT") or f"Mozilla/5.0 (compatible; PantauLPSE/1.0; +mailto:{CONTACT})"
ROBOTSTXT_OBEY = True

# Politeness: every instance is a path on one host, so these limits cover the whole fleet.
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = get("LPSE_CONCURRENCY")
DOWNLOAD_DELAY = get("LPSE_DOWNLOAD_DELAY")
DOWNLOAD_TIMEOUT = get("LPSE_DOWNLOAD_TIMEOUT")
DOWNLOAD_MAXSIZE = get("LPSE_DOWNLOAD_MAXSIZE")  # bytes; real pages are < 1 MB
DOWNLOAD_WARNSIZE = DOWNLOAD_MAXSIZE // 4
AUTOTHROTTLE_ENABLED = get("LPSE_AUTOTHROTTLE")
AUTOTHROTTLE_START_DELAY = DOWNLOAD_DELAY
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = float(CONCURRENT_REQUESTS_PER_DOMAIN)

RETRY_ENABLED = True
RETRY_TIMES = get("LPSE_RETRY_TIMES")
RETRY_HTTP_CODES = [500, 502, 503, 504, 520, 522, 524, 408, 429]
RETRY_BACKOFF_BASE = get("LPSE_RETRY_BACKOFF")  # s, doubled per attempt
RETRY_BACKOFF_MAX = 60.0
HTTP_429_PAUSE = get("LPSE_429_PAUSE")  # s when 429 has no Retry-After

# Cloudflare: solve a challenge in Debian's Chromium, then continue with plain requests.
CHROMIUM_PATH = get("CHROMIUM_PATH")
LPSE_BROWSER_ENABLED = get("LPSE_BROWSER") and os.path.exists(CHROMIUM_PATH)
if LPSE_BROWSER_ENABLED:
    DOWNLOAD_HANDLERS = {
        "http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
        "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
    }
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_LAUNCH_OPTIONS = {
    "executable_path": CHROMIUM_PATH,
    "headless": True,
    "args": [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ],
} | ({"proxy": {"server": LPSE_PROXY}} if LPSE_PROXY else {})
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = DOWNLOAD_TIMEOUT * 1000

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "lpse_crawler.middlewares.SharedBudgetMiddleware": 540,  # one request slot per delay, fleet-wide
    "lpse_crawler.middlewares.PoliteRetryMiddleware": 550,  # backoff; 429 pauses the host (every crawl)
    "lpse_crawler.middlewares.CloudflareCookiesMiddleware": 600,  # before cookies (700)
    "lpse_crawler.middlewares.ProxyMiddleware": 740,  # before HttpProxyMiddleware (750)
}
SPIDER_MIDDLEWARES = {
    "lpse_crawler.middlewares.FailureMiddleware": 50,  # callback exceptions -> instance health
}
ITEM_PIPELINES = {
    "lpse_crawler.pipelines.SessionPipeline": 40,  # keep or forget a listing session's token
    "lpse_crawler.pipelines.SchedulePipeline": 45,  # a listing checked: plan its next check
    "lpse_crawler.pipelines.ListingPipeline": 50,  # listing page: queue rows, coverage (one transaction)
    "lpse_crawler.pipelines.DetailFailurePipeline": 60,  # count a failed detail fetch on its queue row
    "lpse_crawler.pipelines.NormalisePipeline": 100,  # RawPackage -> TenderItem
    "lpse_crawler.pipelines.StorePipeline": 300,  # upsert, listing, stage, unqueue, "to match" mark
    "lpse_crawler.pipelines.WatchPipeline": 350,  # a followed package read again -> stored, marked
    "lpse_crawler.pipelines.FollowPipeline": 400,  # a followed package changed -> its followers told
    "lpse_crawler.pipelines.MatchPipeline": 500,  # marked packages -> filters -> outbox, mark cleared
}
EXTENSIONS = {"lpse_crawler.health.HealthExtension": 500}

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
LOG_LEVEL = get("LOG_LEVEL")
TELNETCONSOLE_ENABLED = False
FEED_EXPORT_ENCODING = "utf-8"
