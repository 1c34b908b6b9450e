"""Cell values: money, dates, badges, categories, stages (table-driven, plus properties)."""

import contextlib
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lpse_crawler.rupiah import format_rupiah
from lpse_crawler.spse import MalformedPage
from lpse_crawler.spse.stages import canonical_stage
from lpse_crawler.spse.values import (
    parse_abbreviated_money,
    parse_datetime,
    parse_leading_int,
    parse_money,
    split_badges,
    split_category,
    squeeze,
)

WIB, WITA, WIT = ZoneInfo("Asia/Jakarta"), ZoneInfo("Asia/Makassar"), ZoneInfo("Asia/Jayapura")


@pytest.mark.parametrize(
    ("text", "rupiah"),
    [
        ("Rp. 165.146.000,00", 165_146_000),
        (" Rp. 99.800.000,00 ", 99_800_000),
        ("Rp 1.000.000.000,00", 1_000_000_000),
        ("Rp. 487.406.272,50", 487_406_273),  # half up
        ("Rp. 237.256.128,40", 237_256_128),
        ("Rp. 0,00", 0),
        ("", None),
        (None, None),
    ],
)
def test_money(text, rupiah):
    assert parse_money(text) == rupiah


@pytest.mark.parametrize(
    ("text", "rupiah"),
    [
        ("22,7 M", 22_700_000_000),
        ("750,9 Jt", 750_900_000),
        ("3 M", 3_000_000_000),
        ("19,9 Jt", 19_900_000),
        ("1,2 T", 1_200_000_000_000),
        ("500 Rb", 500_000),
        ("", None),
    ],
)
def test_abbreviated_money(text, rupiah):
    assert parse_abbreviated_money(text) == rupiah


def test_rupiah_is_written_with_dots():
    assert format_rupiah(1_234_567) == "Rp 1.234.567"


@given(st.integers(min_value=0, max_value=10**15))
def test_formatted_rupiah_reads_back(amount):
    assert parse_money(format_rupiah(amount)) == amount


@pytest.mark.parametrize("text", ["Rp. abc", "Nilai Kontrak belum dibuat", "1.000 USD"])
def test_bad_money_raises(text):
    with pytest.raises(MalformedPage):
        parse_money(text)


@pytest.mark.parametrize("text", ["12 Miliar", "Rp. 1.000,00", "M 22"])
def test_bad_abbreviated_money_raises(text):
    with pytest.raises(MalformedPage):
        parse_abbreviated_money(text)


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        ("2 Januari 2026", "Asia/Jakarta", datetime(2026, 1, 2, tzinfo=WIB)),
        ("6 Februari 2026 16:05", "Asia/Makassar", datetime(2026, 2, 6, 16, 5, tzinfo=WITA)),
        ("11 Agt 2026", "Asia/Jayapura", datetime(2026, 8, 11, tzinfo=WIT)),
        ("31 Desember 2026 23:59", "Asia/Jakarta", datetime(2026, 12, 31, 23, 59, tzinfo=WIB)),
        ("", "Asia/Jakarta", None),
    ],
)
def test_dates_are_aware_in_the_instance_zone(text, tz, expected):
    parsed = parse_datetime(text, tz)
    assert parsed == expected
    if parsed:
        assert parsed.utcoffset() is not None


@pytest.mark.parametrize("text", ["30 Februari 2026", "2 Smarch 2026", "2026-01-02"])
def test_bad_dates_raise(text):
    with pytest.raises(MalformedPage):
        parse_datetime(text, "Asia/Jakarta")


def test_badges_are_stripped_into_labels():
    cell = (
        "Penyediaan Obat TB Mefloquine 250 mg tahap III <span class='badge  badge-warning'>"
        "Tender Ulang</span> <span class='badge badge-warning'>Tender Gagal</span>"
    )
    assert split_badges(cell) == (
        "Penyediaan Obat TB Mefloquine 250 mg tahap III",
        ["Tender Ulang", "Tender Gagal"],
    )


def test_entities_are_unescaped_once():
    assert split_badges("Jasa W&amp;H &amp;amp; Co") == ("Jasa W&H &amp; Co", [])


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("Pengadaan Barang - TA 2025", ("Pengadaan Barang", [2025])),
        (
            "Pekerjaan Konstruksi Terintegrasi - TA 2025,2026",
            ("Pekerjaan Konstruksi Terintegrasi", [2025, 2026]),
        ),
        (
            "Jasa Konsultansi Badan Usaha Non Konstruksi - TA 2027",
            ("Jasa Konsultansi Badan Usaha Non Konstruksi", [2027]),
        ),
    ],
)
def test_category_and_years_are_split(cell, expected):
    assert split_category(cell) == expected


def test_category_without_year_is_malformed():
    with pytest.raises(MalformedPage):
        split_category("Jasa Lainnya")


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("Pengumuman Pascakualifikasi [...]", "Pengumuman Pascakualifikasi"),
        ("  tender sudah   selesai ", "Tender Sudah Selesai"),
        (
            "Pembukaan dan Evaluasi Penawaran File II (Harga)",
            "Pembukaan dan Evaluasi Penawaran File II: Harga",
        ),
        ("Tahap Baru Yang Belum Dikenal", "Tahap Baru Yang Belum Dikenal"),
    ],
)
def test_stage_names_are_canonical(text, canonical):
    assert canonical_stage(text) == canonical


def test_squeeze_and_leading_int():
    assert squeeze(" APBN 2026\xa0\xa0 ") == "APBN 2026"
    assert parse_leading_int("32 Peserta") == 32
    assert parse_leading_int("peserta") is None


@given(st.text(alphabet=st.sampled_from("ab \t\n\r\xa0\u2003\u3000\x1c\x85\u200b"), max_size=30) | st.text())
def test_squeeze_collapses_every_kind_of_whitespace_to_one_space(text):
    assert squeeze(text) == re.sub(r"\s+", " ", text).strip()


def test_a_long_stage_name_is_read_as_a_short_one_is():
    padding = " " * 300
    assert canonical_stage(f"{padding}Upload  Dokumen Penawaran [2]{padding}") == "Upload Dokumen Penawaran"
    assert canonical_stage(None) == ""


@given(st.text(max_size=40))
def test_value_parsers_never_raise_anything_but_malformed(text):
    for parse in (parse_money, parse_abbreviated_money, lambda t: parse_datetime(t, "Asia/Jakarta")):
        with contextlib.suppress(MalformedPage):
            parse(text)
    split_badges(text)
    canonical_stage(text)
