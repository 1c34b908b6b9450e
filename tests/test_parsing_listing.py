"""Every recorded DataTables answer: envelope, row layouts, shape guards, form body."""

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lpse_crawler.spse import MalformedPage, StaleToken
from lpse_crawler.spse.categories import CATEGORIES
from lpse_crawler.spse.listing import NONTENDER, TENDER, datatables_form, parse_datatables, parse_listing_row

RECORDED = Path(__file__).parent / "files" / "recorded"
ANSWERS = sorted(RECORDED.glob("dt_*.json"))
LELANG = json.loads((RECORDED / "dt_lelang_kemkes_tahun2025.json").read_text())["data"]
PL = json.loads((RECORDED / "dt_pl_kemkes_tahun2025.json").read_text())["data"]


@pytest.mark.parametrize("path", ANSWERS, ids=lambda p: p.name)
def test_every_recorded_answer_has_rows_of_one_width(path):
    rows = parse_datatables(path.read_bytes())
    assert rows
    assert len({len(r) for r in rows}) == 1
    assert all(str(r[0]).isdigit() for r in rows)


@pytest.mark.parametrize(("layout", "rows"), [(TENDER, LELANG), (NONTENDER, PL)], ids=["lelang", "pl"])
def test_every_row_parses(layout, rows):
    parsed = [parse_listing_row(layout, row) for row in rows]
    assert len({p.kode for p in parsed}) == 25
    for row in parsed:
        assert "<" not in row.nama and row.nama == row.nama.strip()
        assert row.tahun_anggaran and all(2020 < y < 2030 for y in row.tahun_anggaran)
        assert row.kategori in CATEGORIES


def test_tender_row_fields():
    row = parse_listing_row(TENDER, LELANG[0])
    assert (row.kode, row.instansi, row.tahap, row.hps_listing) == (
        "10102584000",
        "Kementerian Kesehatan",
        "Tender Sudah Selesai",
        "22,7 M",
    )
    assert row.metode == "Tender Cepat - Pascakualifikasi Satu File - Harga Terendah Sistem Gugur"
    assert row.nilai_kontrak == "Nilai Kontrak belum dibuat"


def test_nontender_badges_and_multi_year():
    row = parse_listing_row(NONTENDER, PL[0])
    assert row.badges == ("Pengadaan Langsung Batal",)
    assert row.tahun_anggaran == (2025, 2026)
    assert row.metode == "Pengadaan Langsung"


def test_badges_in_recorded_tender_rows():
    badges = {b for row in LELANG for b in parse_listing_row(TENDER, row).badges}
    assert badges and all(b.startswith("Tender ") for b in badges)


@pytest.mark.parametrize("path", ["dt_nonspk.json", "dt_swakelola.json", "dt_darurat_list.json"])
def test_other_kinds_are_refused_by_width(path):
    rows = parse_datatables((RECORDED / path).read_bytes())
    with pytest.raises(MalformedPage, match="cells"):
        parse_listing_row(TENDER, rows[0])


def test_changed_column_count_is_malformed():
    with pytest.raises(MalformedPage, match="17 cells, expected 16"):
        parse_listing_row(TENDER, LELANG[0] + ["extra"])


def test_non_numeric_code_is_malformed():
    with pytest.raises(MalformedPage, match="not numeric"):
        parse_listing_row(TENDER, ["ABC", *LELANG[0][1:]])


def test_row_hash_changes_with_any_cell():
    changed = list(LELANG[0])
    changed[3] = "Tender Batal"
    assert parse_listing_row(TENDER, changed).row_hash != parse_listing_row(TENDER, LELANG[0]).row_hash


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("<!DOCTYPE html><html><title>Terjadi Kesalahan</title>", StaleToken),
        ('{"draw":"1","recordsTotal":2147483647,"data":[["1', MalformedPage),
        ('{"draw":"1"}', MalformedPage),
        ('{"error":"x","data":[]}', MalformedPage),
    ],
)
def test_bad_answers(body, error):
    with pytest.raises(error):
        parse_datatables(body)


@given(st.binary(max_size=200))
def test_parsing_arbitrary_bytes_raises_only_malformed(data):
    try:
        rows = parse_datatables(data)
    except MalformedPage:
        return
    for row in rows:
        with contextlib.suppress(MalformedPage):
            parse_listing_row(TENDER, row)


def test_form_orders_by_code_newest_first_and_carries_the_token():
    form = datatables_form(TENDER, "tok", start=200, length=100, draw=3)
    assert form["order[0][column]"] == "0" and form["order[0][dir]"] == "desc"
    assert (form["start"], form["length"], form["authenticityToken"]) == ("200", "100", "tok")
    assert form["columns[3][orderable]"] == "false"
    assert "columns[15][data]" in form and "columns[16][data]" not in form
