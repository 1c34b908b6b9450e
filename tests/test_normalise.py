"""RawPackage -> TenderItem on recorded pages: every field typed as the database wants it."""

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from lpse_crawler.items import RawPackage
from lpse_crawler.spse import MalformedPage
from lpse_crawler.spse.listing import NONTENDER, parse_listing_row
from lpse_crawler.spse.normalise import bid_deadline, business_size, normalise
from lpse_crawler.spse.pages import parse_announcement, parse_schedule

RECORDED = Path(__file__).parent / "files" / "recorded"
PONTIANAK = "Asia/Pontianak"


def raw_package(kode: str = "11002302000") -> RawPackage:
    """The recorded announcement and jadwal, under a recorded listing row given its code."""
    cells = json.loads((RECORDED / "dt_pl_kemkes_tahun2025.json").read_text())["data"][0]
    cells = [kode, *cells[1:]]
    return RawPackage(
        instance="kemkes",
        timezone=PONTIANAK,
        kind="nontender",
        listing=parse_listing_row(NONTENDER, cells),
        cells=cells,
        announcement=parse_announcement((RECORDED / "nontender_pengumumanpl.htm").read_text()),
        schedule=parse_schedule(
            (RECORDED / "nontender_jadwal_berubah_pontianak_10748199000.html").read_text()
        ),
        url="https://spse.inaproc.id/kemkes/nontender/11002302000/pengumumanpl",
    )


@pytest.fixture(scope="module")
def item():
    return normalise(raw_package())


def test_money_is_integer_rupiah_and_the_listing_figure_is_kept_apart(item):
    assert (item.hps, item.pagu, item.hps_listing) == (165_146_000, 165_146_000, 74_900_000_000)


def test_names_and_agency(item):
    assert item.nama == "Pemeriksaan Kualitas Lingkungan Dalam Rangka lmplementasi DELH TA 2026"
    assert (item.instansi, item.satker) == ("Kementerian Kesehatan", "RUMAH SAKIT DR MARZUKI MAHDI BOGOR")


def test_badges_become_flags(item):
    assert item.batal and not item.ulang and not item.gagal
    assert item.labels == ["Pengadaan Langsung Batal"]


def test_category_years_method_stage(item):
    assert (item.kategori, item.tahun_anggaran) == ("Jasa Lainnya", [2025, 2026])
    assert (item.metode, item.tahap, item.sumber_dana) == ("Pengadaan Langsung", "Paket Dibatalkan", "APBN")


def test_dates_are_aware_in_the_instance_zone(item):
    assert item.tanggal_pembuatan == datetime(2026, 8, 11, tzinfo=ZoneInfo(PONTIANAK))
    assert item.deadline == datetime(2026, 2, 10, 12, 0, tzinfo=ZoneInfo(PONTIANAK))


def test_qualification_codes_and_location(item):
    assert (item.kbli, item.kbki) == ([], ["839"])
    assert item.lokasi == ["Jl. Dr. Sumeru No. 114 Bogor - Bogor (Kota)"]
    assert item.jenis_kontrak == "Lumsum"
    assert item.nilai_kontrak is None  # "Nilai Kontrak belum dibuat"


def test_announcement_for_another_package_is_refused():
    with pytest.raises(MalformedPage, match="announcement is for 11002302000"):
        normalise(raw_package(kode="10748063000"))


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("Kecil", "Kecil"),
        ("Perusahaan Non Kecil", "Non Kecil"),
        ("Menengah", "Non Kecil"),
        ("Besar", "Non Kecil"),
        ("", None),
        (None, None),
    ],
)
def test_business_size(text, size):
    assert business_size(text) == size


def test_deadline_is_the_earliest_bid_stage_end():
    rows = parse_schedule((RECORDED / "nontender_jadwal_berubah_pontianak_10748199000.html").read_text())
    assert bid_deadline(rows, "Asia/Jakarta").isoformat() == "2026-02-10T12:00:00+07:00"
    assert bid_deadline(rows[1:], "Asia/Jakarta") is None
