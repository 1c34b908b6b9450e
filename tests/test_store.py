"""Upsert by (kind, kode): new, updated, unchanged; stage history; listings per instance."""

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from lpse_crawler.items import TenderItem
from lpse_crawler.spse.registry import load_registry, sync_registry
from lpse_crawler.store.models import Tender, TenderListing, TenderStage
from lpse_crawler.store.tenders import Outcome, listed_hashes, mark_listed, upsert_tender

ITEM = TenderItem(
    instance="kemkes",
    kind="tender",
    kode="10102584000",
    nama="Penyediaan BMHP Skrining Gagal Ginjal Kronik Tahap II",
    instansi="Kementerian Kesehatan",
    satker="SEKRETARIAT JENDERAL",
    kategori="Pengadaan Barang",
    tahun_anggaran=[2025],
    metode="Tender Cepat",
    tahap="Pengumuman Pascakualifikasi",
    url="https://spse.inaproc.id/kemkes/lelang/10102584000/pengumumanlelang",
    listing_hash="h1",
    hps=22_712_345_000,
    hps_listing=22_700_000_000,
    deadline=datetime(2025, 3, 1, 15, tzinfo=ZoneInfo("Asia/Jakarta")),
)


@pytest.fixture(autouse=True)
def instances(database):
    sync_registry(load_registry())


def test_new_then_unchanged_then_updated_with_stage_history():
    assert upsert_tender(ITEM) is Outcome.NEW
    assert upsert_tender(ITEM) is Outcome.UNCHANGED
    assert upsert_tender(replace(ITEM, tahap="Tender Sudah Selesai", listing_hash="h2")) is Outcome.UPDATED
    tender = Tender.get(Tender.kode == ITEM.kode)
    assert [s.tahap for s in tender.stages.order_by(TenderStage.id)] == [
        "Pengumuman Pascakualifikasi",
        "Tender Sudah Selesai",
    ]
    assert tender.deadline == ITEM.deadline and tender.deadline.utcoffset().total_seconds() == 7 * 3600
    assert tender.first_seen_at <= tender.last_seen_at


def test_same_package_on_another_instance_is_one_row_listed_twice():
    upsert_tender(ITEM)
    other = replace(ITEM, instance="nasional", url="https://spse.inaproc.id/nasional/lelang/x")
    assert upsert_tender(other) is Outcome.UNCHANGED
    tender = Tender.get(Tender.kode == ITEM.kode)
    assert tender.instance_first_seen.code == "kemkes" and tender.url == ITEM.url
    assert {lst.instance.code for lst in TenderListing.select()} == {"kemkes", "nasional"}


def test_kinds_have_separate_codes():
    upsert_tender(ITEM)
    assert upsert_tender(replace(ITEM, kind="nontender")) is Outcome.NEW
    assert Tender.select().count() == 2


def test_listed_hashes_are_per_instance_and_mark_listed_adds_a_listing():
    upsert_tender(ITEM)
    assert listed_hashes("kemkes", "tender", [ITEM.kode, "1"]) == {ITEM.kode: "h1"}
    assert listed_hashes("jakarta", "tender", [ITEM.kode]) == {}
    mark_listed("jakarta", "tender", [ITEM.kode])
    assert listed_hashes("jakarta", "tender", [ITEM.kode]) == {ITEM.kode: "h1"}
