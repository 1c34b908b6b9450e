"""Every recorded HTML page in tests/files/recorded: labels, structure, errors, token."""

from pathlib import Path

import pytest

from lpse_crawler.parsing import MalformedPage, SpseErrorPage
from lpse_crawler.parsing.pages import (
    check_not_error,
    extract_token,
    looks_like_html,
    parse_announcement,
    parse_schedule,
    spse_version,
)

RECORDED = Path(__file__).parent / "files" / "recorded"
TEMPLATES = Path(__file__).parent / "spse_replay" / "templates"
PAGES = sorted(p for p in RECORDED.iterdir() if p.suffix in (".htm", ".html"))
# Pages whose content is not a label table: a participant list and a schedule.
NOT_LABEL_TABLES = {
    "tender_peserta_kemkes_10158661000.htm",
    "nontender_jadwal_berubah_pontianak_10748199000.html",
}
# Labels every label-table page carries (instansi under one of its names, and a name).
NAME_LABELS = ("nama paket", "nama tender", "nama swakelola")
AGENCY_LABELS = ("k/l/pd/instansi lainnya", "k/l/pd")


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_every_recorded_page_is_covered():
    assert len(PAGES) == 14


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_recorded_pages_are_not_error_pages(path):
    check_not_error(read(path))
    assert spse_version(read(path)) == "4.5u20250321"


@pytest.mark.parametrize("path", [p for p in PAGES if p.name not in NOT_LABEL_TABLES], ids=lambda p: p.name)
def test_label_pages_have_name_agency_and_satker(path):
    page = parse_announcement(read(path))
    assert page.get(*NAME_LABELS)
    assert page.get(*AGENCY_LABELS)
    assert page.get("satuan kerja")
    assert all(label == label.lower() and "  " not in label for label in page.fields)


@pytest.mark.parametrize("name", sorted(NOT_LABEL_TABLES))
def test_pages_without_label_cells_are_refused(name):
    with pytest.raises(MalformedPage, match="label cells"):
        parse_announcement(read(RECORDED / name))


@pytest.fixture(scope="module")
def nontender():
    return parse_announcement(read(RECORDED / "nontender_pengumumanpl.htm"))


def test_nontender_announcement_fields(nontender):
    assert nontender.get("kode paket") == "11002302000"
    assert (
        nontender.get("nama paket")
        == "Pemeriksaan Kualitas Lingkungan Dalam Rangka lmplementasi DELH TA 2026"
    )
    assert nontender.get("tanggal pembuatan") == "11 Agustus 2026"
    assert nontender.get("tahun anggaran") == "APBN 2026"
    assert nontender.get("jenis pengadaan") == "Jasa Lainnya"
    assert nontender.get("peserta non tender") == "2 peserta"


def test_two_label_pairs_in_one_row_are_both_read(nontender):
    assert nontender.get("nilai pagu paket") == "Rp. 165.146.000,00"
    assert nontender.get("nilai hps paket") == "Rp. 165.146.000,00"


def test_structured_parts_of_the_announcement(nontender):
    assert nontender.lokasi == ["Jl. Dr. Sumeru No. 114 Bogor - Bogor (Kota)"]
    assert nontender.kbki == ["839"]  # the KBKI table's Kelompok, not its Divisi
    assert nontender.kbli == []
    assert nontender.schedule_url.endswith("/kemkes/nontender/11002302000/jadwal")


def test_winner_page_reads_pagu_and_hps():
    page = parse_announcement(read(RECORDED / "tender_pemenangberkontrak_kemkes_10102453000.htm"))
    assert page.get("hps") == "Rp. 750.939.420,00"
    assert page.get("pagu") == "Rp. 787.406.000,00"


def test_swakelola_repeated_budget_sources_are_squeezed():
    page = parse_announcement(read(RECORDED / "swakelola_pengumuman.html"))
    assert page.get("tahun anggaran") == "APBN 2026 APBN 2026 APBN 2026 APBN 2026"


def test_schedule_rows_by_header_names():
    rows = parse_schedule(read(RECORDED / "nontender_jadwal_berubah_pontianak_10748199000.html"))
    assert [r.tahap for r in rows] == [
        "Upload Dokumen Penawaran", "Pembukaan Dokumen Penawaran", "Evaluasi Penawaran",
        "Klarifikasi Teknis dan Negosiasi", "Penandatanganan Kontrak",
    ]  # fmt: skip
    assert (rows[0].mulai, rows[0].sampai) == ("6 Februari 2026 16:05", "10 Februari 2026 12:00")


def test_schedule_parser_refuses_an_announcement():
    with pytest.raises(MalformedPage, match="Tahap/Mulai/Sampai"):
        parse_schedule(read(RECORDED / "nontender_pengumumanpl.htm"))


@pytest.mark.parametrize(
    "title", ["Maaf, terjadi error pada aplikasi SPSE.", "Terjadi Kesalahan", "Akses Ditolak!",
              "Halaman yang dituju tidak ditemukan"],
)  # fmt: skip
def test_spse_error_pages_served_with_200_are_recognised(title):
    page = (TEMPLATES / "error.html").read_text().replace("$title", title).replace("$message", title)
    with pytest.raises(SpseErrorPage):
        check_not_error(page)
    with pytest.raises(SpseErrorPage):
        parse_announcement(page)


def test_tiny_pages_are_error_stubs():
    with pytest.raises(SpseErrorPage):
        check_not_error("<html>403 Forbidden</html>")


def test_token_from_page_script_then_from_cookie():
    page = "<script>d.authenticityToken = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';</script>"
    cookie = "f00d-___AT=0123456789abcdef0123456789abcdef01234567&___TS=1784198248173&___ID=x"
    assert extract_token(page, cookie) == "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
    assert extract_token("<html></html>", cookie) == "0123456789abcdef0123456789abcdef01234567"
    with pytest.raises(MalformedPage, match="authenticityToken"):
        extract_token("<html></html>", "encoded-session-value")


def test_html_is_told_from_json():
    assert looks_like_html("\n<!DOCTYPE html><html>")
    assert not looks_like_html('{"draw":"1","data":[]}')
