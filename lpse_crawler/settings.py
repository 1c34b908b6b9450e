"""Scrapy settings, each read from an environment variable with a safe default.

Every variable is listed in .env.example and the README.
"""

import os
from datetime import date


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _flag(name: str, default: bool) -> bool:
    return _env(name, "1" if default else "0").strip().lower() in ("1", "true", "yes", "on")


def _default_years() -> str:
    """Current and next fiscal year: late in the year SPSE already lists next year's."""
    this_year = date.today().year
    return f"{this_year},{this_year + 1}"


BOT_NAME = "lpse_crawler"
SPIDER_MODULES = ["lpse_crawler.spiders"]
NEWSPIDER_MODULE = "lpse_crawler.spiders"
COMMANDS_MODULE = "lpse_crawler.scrapy_commands"  # `crawl` with exit statuses (health.py)

DATABASE_URL = _env("DATABASE_URL", "sqlite:///data/pantau.db")
LPSE_BASE_URL = _env("LPSE_BASE_URL", "https://spse.inaproc.id")
LPSE_YEARS = _env("LPSE_YEARS", "") or _default_years()
LPSE_PAGE_SIZE = int(_env("LPSE_PAGE_SIZE", "100"))
LPSE_DETAIL_ATTEMPTS = int(_env("LPSE_DETAIL_ATTEMPTS", "5"))  # failures before a package is tried daily
LPSE_MAX_PAGES = int(_env("LPSE_MAX_PAGES", "50"))  # listing pages per instance, kind, year and cycle
LPSE_MAX_DETAILS = int(_env("LPSE_MAX_DETAILS", "500"))  # packages fetched per instance and cycle
LPSE_FAIL_AFTER = int(_env("LPSE_FAIL_AFTER", "1"))  # failures in a row before an instance fails the exit
LPSE_PROXY = _env("LPSE_PROXY", "")  # e.g. http://user:pass@proxy.example:3128

CONTACT = _env("LPSE_CONTACT", "") or "ops@pantaulpse.id"
USER_AGENT = _env("LPSE_USER_AGENT", "") or f"Mozilla/5.0 (compatible; PantauLPSE/1.0; +mailto:{CONTACT})"
ROBOTSTXT_OBEY = True

# Politeness: every instance is a path on one host, so these limits cover the whole fleet.
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = int(_env("LPSE_CONCURRENCY", "2"))
DOWNLOAD_DELAY = float(_env("LPSE_DOWNLOAD_DELAY", "1.0"))
DOWNLOAD_TIMEOUT = float(_env("LPSE_DOWNLOAD_TIMEOUT", "30"))
DOWNLOAD_MAXSIZE = int(_env("LPSE_DOWNLOAD_MAXSIZE", str(8 * 1024 * 1024)))  # bytes; real pages are < 1 MB
DOWNLOAD_WARNSIZE = DOWNLOAD_MAXSIZE // 4
AUTOTHROTTLE_ENABLED = _flag("LPSE_AUTOTHROTTLE", True)
AUTOTHROTTLE_START_DELAY = DOWNLOAD_DELAY
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = float(CONCURRENT_REQUESTS_PER_DOMAIN)

RETRY_ENABLED = True
RETRY_TIMES = int(_env("LPSE_RETRY_TIMES", "3"))
RETRY_HTTP_CODES = [500, 502, 503, 504, 520, 522, 524, 408, 429]
RETRY_BACKOFF_BASE = float(_env("LPSE_RETRY_BACKOFF", "2.0"))  # s, doubled per attempt
RETRY_BACKOFF_MAX = 60.0
HTTP_429_PAUSE = float(_env("LPSE_429_PAUSE", "60"))  # s when 429 has no Retry-After

# Cloudflare: solve a challenge in Debian's Chromium, then continue with plain requests.
CHROMIUM_PATH = _env("CHROMIUM_PATH", "/usr/bin/chromium")
LPSE_BROWSER_ENABLED = _flag("LPSE_BROWSER", True) and os.path.exists(CHROMIUM_PATH)
if LPSE_BROWSER_ENABLED:
    DOWNLOAD_HANDLERS = {
        "http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
        "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
    }
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_LAUNCH_OPTIONS = {
    "executable_path": CHROMIUM_PATH,
    "headless": True,
    "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"],
} | ({"proxy": {"server": LPSE_PROXY}} if LPSE_PROXY else {})  # fmt: skip
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = DOWNLOAD_TIMEOUT * 1000

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "lpse_crawler.middlewares.PoliteRetryMiddleware": 550,  # backoff; 429 pauses the host
    "lpse_crawler.middlewares.CloudflareCookiesMiddleware": 600,  # before cookies (700)
    "lpse_crawler.middlewares.ProxyMiddleware": 740,  # before HttpProxyMiddleware (750)
}
SPIDER_MIDDLEWARES = {
    "lpse_crawler.middlewares.FailureMiddleware": 50,  # callback exceptions -> instance health
}
ITEM_PIPELINES = {
    "lpse_crawler.pipelines.SessionPipeline": 40,  # keep or forget a listing session's token
    "lpse_crawler.pipelines.ListingPipeline": 50,  # listing page: queue rows, coverage (one transaction)
    "lpse_crawler.pipelines.DetailFailurePipeline": 60,  # count a failed detail fetch on its queue row
    "lpse_crawler.pipelines.NormalisePipeline": 100,  # RawPackage -> TenderItem
    "lpse_crawler.pipelines.StorePipeline": 300,  # upsert, listing, stage, unqueue, "to match" mark
    "lpse_crawler.pipelines.MatchPipeline": 500,  # marked packages -> filters -> outbox, mark cleared
}
EXTENSIONS = {"lpse_crawler.health.HealthExtension": 500}

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
LOG_LEVEL = _env("LOG_LEVEL", "INFO")
TELNETCONSOLE_ENABLED = False
FEED_EXPORT_ENCODING = "utf-8"
