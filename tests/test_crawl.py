"""Real crawls (`scrapy crawl lpse`, a separate process) against the SPSE replay server."""

import html
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from lpse_crawler.store.models import Instance, PendingDetail, Tender, TenderListing, TenderStage
from lpse_crawler.store.schema import open_database
from tests.conftest import run_crawl
from tests.spse_replay import SpseReplayServer
from tests.spse_replay.dataset import listing_amount

pytestmark = pytest.mark.slow  # real `scrapy crawl` processes against the replay server

INSTANCES = ["kemkes", "nasional", "jakarta", "makassar"]
KINDS = ("tender", "nontender")


@pytest.fixture
def server():
    with SpseReplayServer(INSTANCES) as replay:
        yield replay


@pytest.fixture
def crawl(server, database_url):
    def _crawl(instances=INSTANCES, **env):
        result = run_crawl(server.base_url, database_url, instances, **env)
        assert result.returncode == 0, result.log[-3000:]
        open_database(database_url)
        return result

    return _crawl


def half_up(amount: str) -> int:
    """`237.256.128,60` -> 237256129."""
    return int(Decimal(amount.replace(".", "").replace(",", ".")) + Decimal("0.5"))


def expected_row(package, slug: str, zone: str) -> dict:
    """What the database must hold for a replayed package, from the server's own data."""
    cells, tender = package.cells, package.kind == "tender"
    badges = re.findall(r"<span[^>]*>(.*?)</span>", cells[1])
    category = cells[8 if tender else 6]
    contract = cells[10 if tender else 8]
    return {
        "nama": " ".join(html.unescape(cells[1].split("<span")[0]).split()),
        "instansi": cells[2],
        "tahap": cells[3],
        "hps_listing": listing_amount(cells[4]),
        "kategori": category.rsplit(" - TA ", 1)[0],
        "tahun_anggaran": [int(y) for y in category.rsplit(" - TA ", 1)[1].split(",")],
        "metode": " - ".join(cells[i] for i in ((6, 5, 7) if tender else (5,))),
        "hps": package.hps,
        "pagu": package.pagu,
        "satker": package.satker,
        "lokasi": [package.lokasi],
        "kbli": package.kbli_codes,  # tenders from a code table, non-tenders from Izin Usaha text
        "kbki": [] if tender else ["839"],
        "kualifikasi_usaha": {"Kecil": "Kecil", None: None}.get(package.kualifikasi, "Non Kecil"),
        "nilai_kontrak": None if "belum" in contract else half_up(contract.removeprefix("Rp. ")),
        "ulang": any("Ulang" in b for b in badges),
        "gagal": any("Gagal" in b for b in badges) or cells[3].endswith("Gagal"),
        "batal": any("Batal" in b for b in badges) or cells[3] in ("Tender Batal", "Paket Dibatalkan"),
        "tanggal_pembuatan": package.tanggal_pembuatan.replace(tzinfo=ZoneInfo(zone)),
        "deadline": package.deadline.replace(tzinfo=ZoneInfo(zone)),
    }


def health(code: str) -> Instance:
    return Instance.get_by_id(code)


def test_first_crawl_stores_every_package_with_every_field(server, crawl):
    crawl()
    packages = [p for p in server.dataset.packages.values()]
    assert Tender.select().count() == len(packages) == 2 * 25 * len(INSTANCES)
    assert {p.kind for p in packages if p.kbli_codes} == set(KINDS)  # KBLI in both page shapes
    for package in packages:
        slug = sorted(package.instances)[0]
        zone = Instance.get_by_id(slug).timezone
        tender = Tender.get(Tender.kind == package.kind, Tender.kode == package.kode)
        expected = expected_row(package, slug, zone)
        assert {k: getattr(tender, k) for k in expected} == expected, package.kode
        assert tender.url.endswith(
            f"/{package.kode}/pengumuman{'lelang' if package.kind == 'tender' else 'pl'}"
        )
        assert {lst.instance.code for lst in tender.listings} == package.instances
        assert [s.tahap for s in tender.stages] == [package.cells[3]]
    assert (
        Tender.select().where(Tender.instance_first_seen == "makassar").first().deadline.utcoffset().seconds
        == 8 * 3600
    )
    for code in INSTANCES:
        assert health(code).last_new > 0 and health(code).consecutive_failures == 0
        assert health(code).spse_version == "4.5u20250321"


def test_second_crawl_stores_nothing_and_costs_two_requests_per_instance_and_kind(server, crawl):
    crawl()
    first = {code: server.count(code) for code in INSTANCES}
    assert all(health(code).last_requests == first[code] for code in INSTANCES)
    before = Tender.select().count()
    result = crawl()
    assert Tender.select().count() == before
    for code in INSTANCES:
        spent = server.count(code) - first[code]
        assert spent == 2 * len(KINDS), code  # one POST per fiscal year, stored token reused
        assert (health(code).last_requests, health(code).last_new, health(code).last_updated) == (spent, 0, 0)
    assert "'lpse/new'" not in result.log


def test_new_packages_between_crawls_cost_only_their_details(server, crawl):
    crawl()
    new = server.dataset.publish("jakarta", "tender", 2)
    before = server.count("jakarta")
    crawl()
    assert health("jakarta").last_new == 2
    assert server.count("jakarta") - before == 2 * len(KINDS) + 2 * 2  # + announcement and jadwal each
    for package in new:
        tender = Tender.get(Tender.kode == package.kode)
        assert tender.nama == package.cells[1] and tender.instance_first_seen.code == "jakarta"
        assert tender.hps == package.hps


def test_changed_listing_row_is_updated_with_stage_history(server, crawl):
    crawl()
    kode = server.dataset.listed("kemkes", "tender", 2025)[0].kode
    newest = max(server.dataset.listed("kemkes", "tender", 2025), key=lambda p: int(p.kode)).kode
    server.dataset.set_stage("tender", newest, "Tender Batal")
    crawl(instances=["kemkes"])
    tender = Tender.get(Tender.kind == "tender", Tender.kode == newest)
    assert tender.tahap == "Tender Batal" and tender.batal
    assert [s.tahap for s in tender.stages.order_by(TenderStage.id)][-1] == "Tender Batal"
    assert health("kemkes").last_updated == 1 and kode


def test_an_expired_stored_token_is_fetched_again_once(server, crawl):
    crawl(instances=["kemkes"])
    server.expire_tokens()
    before = server.count("kemkes")
    result = crawl(instances=["kemkes"])
    assert health("kemkes").consecutive_failures == 0
    assert server.count("kemkes") - before == 2 * (2 + 2)  # stale POST, GET, then 2 POSTs
    assert "'lpse/token_refreshed': 2" in result.log


def test_generated_instance_spider_crawls_its_instance(server, database_url):
    result = run_crawl(server.base_url, database_url, [], spider="lpse_makassar")
    assert result.returncode == 0, result.log[-3000:]
    open_database(database_url)
    assert {lst.instance.code for lst in TenderListing.select()} == {"makassar"}
    assert Tender.select().count() == 50
    assert PendingDetail.select().count() == 0


def test_requests_go_through_the_configured_proxy(server, database_url):
    # The base URL does not resolve: every request must travel through the proxy (the replay
    # server answers absolute-URI requests as an HTTP proxy would).
    result = run_crawl("http://spse.invalid", database_url, ["kemkes"], LPSE_PROXY=server.base_url)
    assert result.returncode == 0, result.log[-3000:]
    open_database(database_url)
    assert Instance.get_by_id("kemkes").consecutive_failures == 0
    assert Tender.select().count() == 50
    assert server.proxied == server.count() + 1  # every request, and robots.txt
    assert Tender.select().first().url.startswith("http://spse.invalid/kemkes/")
