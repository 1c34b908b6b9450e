"""The Playwright path: a Cloudflare-style challenge is solved once in Debian's Chromium."""

import os
import re
import shutil

import pytest

from lpse_crawler.store.models import Instance, TenderListing
from lpse_crawler.store.schema import open_database
from tests.conftest import run_crawl
from tests.spse_replay import Fault, SpseReplayServer

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
pytestmark = [
    pytest.mark.slow,  # real `scrapy crawl` processes driving Chromium
    pytest.mark.skipif(
        not shutil.which(CHROMIUM) and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (make test installs it; CI always has it)",
    ),
]


def test_challenged_instance_is_crawled_with_cookies_from_chromium(database_url):
    with SpseReplayServer(["kemkes", "jakarta"]) as server:
        server.faults["kemkes"] = Fault("cloudflare")
        result = run_crawl(
            server.base_url, database_url, ["kemkes", "jakarta"], LPSE_BROWSER="1", CHROMIUM_PATH=CHROMIUM
        )
        assert result.returncode == 0, result.log[-3000:]
        challenged = server.requests[("kemkes", "GET")]
    open_database(database_url)
    assert "Chromium obtained 1 Cloudflare cookies" in result.log
    assert "'lpse/cloudflare_solved': 1" in result.log  # once, then plain requests carry the cookies
    for code in ("kemkes", "jakarta"):
        assert Instance.get_by_id(code).consecutive_failures == 0, Instance.get_by_id(code).last_error
        assert TenderListing.select().where(TenderListing.instance == code).count() == 50
    assert challenged > 1


def test_challenge_on_a_datatables_post_opens_the_listing_page_not_the_post(database_url):
    with SpseReplayServer(["kemkes"]) as server:
        first = run_crawl(server.base_url, database_url, ["kemkes"])  # stores the session token
        assert first.returncode == 0, first.log[-3000:]
        server.dataset.publish("kemkes", "tender", 1)
        server.faults["kemkes"] = Fault("cloudflare")
        result = run_crawl(
            server.base_url, database_url, ["kemkes"], LPSE_BROWSER="1", CHROMIUM_PATH=CHROMIUM
        )
        assert result.returncode == 0, result.log[-3000:]
    open_database(database_url)
    assert re.search(
        r"/dt/(lelang|pl)\?tahun=2025: opening \S+/kemkes/(lelang|nontender) in Chromium", result.log
    )
    kemkes = Instance.get_by_id("kemkes")
    assert (kemkes.consecutive_failures, kemkes.last_new) == (0, 1)
