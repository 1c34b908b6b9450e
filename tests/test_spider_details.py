"""The spider's detail callbacks in process, on saved responses: the announcement and jadwal
tabs as the replay server renders them and as recorded, and the error pages SPSE serves in
their place. Each makes a package in the site's words (RawPackage) or a DetailFailure.
"""

import json
from types import SimpleNamespace

import pytest
from scrapy.http import Request
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from lpse_crawler.items import DetailFailure, RawPackage
from lpse_crawler.store import crawl_state
from tests.conftest import make_crawler
from tests.spider_responses import (
    BASE,
    CODES,
    DATASET,
    RECORDED,
    TENDER_ROWS,
    answer,
    datatables,
    error_page,
    first_page_request,
    of_type,
)
from tests.spse_replay.server import MONTHS, render_announcement, render_schedule


@pytest.fixture(scope="module")
def announcement_request(db_path):
    """The first announcement the first listing page of kemkes's tenders asks for."""
    crawler = make_crawler(db_path, kinds="tender")
    outputs = crawler.spider.parse_rows(datatables(first_page_request(crawler.spider), TENDER_ROWS))
    return crawler, of_type(list(outputs), Request)[0]


# -- the two detail tabs of one package, as the replay server renders them ------------------


@pytest.fixture(scope="module")
def package(announcement_request):
    crawler, announcement = announcement_request
    replayed = DATASET.get("kemkes", "tender", CODES[0])
    spider = crawler.spider
    (schedule,) = spider.parse_announcement_page(
        answer(announcement, render_announcement("kemkes", replayed))
    )
    (raw,) = spider.parse_schedule_page(answer(schedule, render_schedule("kemkes", replayed)))
    return SimpleNamespace(announcement=announcement, schedule=schedule, raw=raw)


def test_the_announcement_leads_to_the_jadwal_tab_with_itself_as_referer(package):
    assert package.schedule.url == f"{BASE}/lelang/{CODES[0]}/jadwal"
    assert package.schedule.headers["Referer"] == package.announcement.url.encode()


def test_the_jadwal_yields_the_package_in_the_sites_words(package):
    raw = package.raw
    assert isinstance(raw, RawPackage)
    assert (raw.instance, raw.kind, raw.timezone) == ("kemkes", "tender", "Asia/Jakarta")
    assert raw.listing.kode == raw.cells[0] == CODES[0]
    assert raw.url == package.announcement.url


def test_the_package_carries_its_announcement_fields(package):
    assert package.raw.announcement.get("kode tender") == CODES[0]
    assert package.raw.announcement.get("nilai hps paket").startswith("Rp")


def test_the_package_carries_its_schedule(package):
    stages = [row.tahap for row in package.raw.schedule]
    assert stages == [
        "Pengumuman Pascakualifikasi",
        "Upload Dokumen Penawaran",
        "Pembukaan Dokumen Penawaran",
    ]
    deadline = DATASET.get("kemkes", "tender", CODES[0]).deadline
    assert (
        package.raw.schedule[1].sampai == f"{deadline.day} {MONTHS[deadline.month - 1]} {deadline:%Y %H:%M}"
    )


# -- detail tabs that fail ----------------------------------------------------------------------


def test_an_error_page_in_place_of_the_announcement_is_a_detail_failure(announcement_request):
    crawler, request = announcement_request
    response = error_page(request, "Maaf, terjadi error pada aplikasi SPSE.")
    (failure,) = crawler.spider.parse_announcement_page(response)
    assert isinstance(failure, DetailFailure)
    assert (failure.instance, failure.kind, failure.kode) == ("kemkes", "tender", CODES[0])
    assert failure.cells == request.meta["cells"]  # kept to retry the package next cycle
    assert failure.error.startswith("announcement: SPSE error page")
    assert crawler.spider.health["kemkes"].errors[-1].startswith(f"package {CODES[0]}: announcement: ")


def test_an_error_page_in_place_of_the_jadwal_is_a_detail_failure(announcement_request):
    crawler, request = announcement_request
    replayed = DATASET.get("kemkes", "tender", CODES[0])
    (schedule,) = crawler.spider.parse_announcement_page(
        answer(request, render_announcement("kemkes", replayed))
    )
    (failure,) = crawler.spider.parse_schedule_page(error_page(schedule, "Terjadi Kesalahan"))
    assert failure.kode == CODES[0] and failure.error.startswith("jadwal: SPSE error page")


def test_a_detail_answered_with_an_http_error_is_a_detail_failure(announcement_request):
    crawler, request = announcement_request
    failure = Failure(HttpError(error_page(request, "Halaman yang dituju tidak ditemukan", 404)))
    failure.request = request
    before = crawler.stats.get_value("lpse/errors/detail") or 0
    (item,) = crawler.spider.on_detail_error(failure)
    assert (item.kode, item.error) == (CODES[0], "HTTP 404")
    assert crawler.stats.get_value("lpse/errors/detail") == before + 1


# -- a package queued by an earlier cycle, on its recorded pages ------------------------------


@pytest.fixture(scope="module")
def queued(db_path):
    """A non-tender package queued by an earlier cycle (the recorded pages of 11002302000),
    fetched once the listing is read to its end; its pages are the recorded ones."""
    cells = json.loads((RECORDED / "dt_pl_kemkes_tahun2025.json").read_text())["data"][0]
    cells = ["11002302000", *cells[1:]]
    spider = make_crawler(db_path, kinds="nontender").spider
    crawl_state.queue_details("kemkes", "nontender", [("11002302000", cells)])
    year_2025 = list(spider.parse_rows(datatables(first_page_request(spider), [])))
    year_2026 = list(spider.parse_rows(datatables(year_2025[-1], [])))
    announcement = year_2026[-1]
    page = (RECORDED / "nontender_pengumumanpl.htm").read_text()
    (schedule,) = spider.parse_announcement_page(answer(announcement, page))
    jadwal = (RECORDED / "nontender_jadwal_berubah_pontianak_10748199000.html").read_text()
    (raw,) = spider.parse_schedule_page(answer(schedule, jadwal))
    return SimpleNamespace(cells=cells, announcement=announcement, schedule=schedule, raw=raw)


def test_a_queued_package_is_fetched_after_the_last_listing_page(queued):
    assert queued.announcement.url == f"{BASE}/nontender/11002302000/pengumumanpl"
    assert queued.announcement.meta["cells"] == queued.cells
    assert queued.announcement.headers["Referer"] == f"{BASE}/nontender".encode()


def test_the_recorded_announcement_links_its_jadwal(queued):
    assert queued.schedule.url == f"{BASE}/nontender/11002302000/jadwal"


def test_the_recorded_pages_make_one_package(queued):
    raw = queued.raw
    assert (raw.instance, raw.kind, raw.listing.kode) == ("kemkes", "nontender", "11002302000")
    assert raw.announcement.get("kode paket") == "11002302000"
    assert raw.url == queued.announcement.url
    assert len(raw.schedule) >= 5
