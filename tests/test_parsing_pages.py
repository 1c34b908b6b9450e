"""Every recorded HTML page in tests/files/recorded: labels, structure, errors, token."""

from pathlib import Path

import pytest

from lpse_crawler.spse import MalformedPage, SpseErrorPage
from lpse_crawler.spse.pages import (
    check_not_error,
    extract_token,
    parse_announcement,
    parse_schedule,
    spse_version,
)
from lpse_crawler.spse.values import looks_like_html

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
        "Upload Dokumen Penawaran",
        "Pembukaan Dokumen Penawaran",
        "Evaluasi Penawaran",
        "Klarifikasi Teknis dan Negosiasi",
        "Penandatanganan Kontrak",
    ]
    assert (rows[0].mulai, rows[0].sampai) == ("6 Februari 2026 16:05", "10 Februari 2026 12:00")


def test_schedule_parser_refuses_an_announcement():
    with pytest.raises(MalformedPage, match="Tahap/Mulai/Sampai"):
        parse_schedule(read(RECORDED / "nontender_pengumumanpl.htm"))


@pytest.mark.parametrize(
    "title",
    [
        "Maaf, terjadi error pada aplikasi SPSE.",
        "Terjadi Kesalahan",
        "Akses Ditolak!",
        "Halaman yang dituju tidak ditemukan",
    ],
)
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


# -- KBLI codes in the shapes real pages write them ----------------------------------------------


def syarat_page(cell_html: str, extra_rows: str = "") -> str:
    """A synthetic announcement whose Syarat Kualifikasi cell holds `cell_html`."""
    return (
        "<html><head><title>LPSE - Informasi Paket</title></head><body><div class='content'>"
        "<table class='table table-sm table-bordered'>"
        "<tr><th class='bgwarning'>Kode Paket</th><td colspan='3'><strong>11002302000</strong></td></tr>"
        f"{extra_rows}<tr><th class='bgwarning'>Syarat Kualifikasi</th><td colspan='3'>{cell_html}</td></tr>"
        "</table></div></body></html>"
    )


def izin_usaha(jenis: str, bidang: str) -> str:
    """The real page's Izin Usaha table (header row of td cells) with one more row."""
    return (
        "<strong>Persyaratan Kualifikasi Administrasi/Legalitas</strong><table class='table table-sm'>"
        "<tbody><tr><th>Izin Usaha</th></tr><tr><td><table class='table table-sm'><tbody>"
        "<tr><td>Jenis Izin</td><td>Bidang Usaha/Sub Bidang Usaha/Klasifikasi/Sub Klasifikasi</td></tr>"
        f"<tr><td>SIUP dan NIB</td><td>Aktif</td></tr><tr><td>{jenis}</td><td>{bidang}</td></tr>"
        "</tbody></table></td></tr></tbody></table>"
    )


KBLI_IN_TEXT = [
    ("KBLI 2020 -71102", ["71102"]),
    ("KBLI 2020 : 71102", ["71102"]),
    ("KBLI 71102", ["71102"]),
    ("KBLI 2020 - 71102", ["71102"]),
    ("KBLI 2020: 41011, 42101", ["41011", "42101"]),
    ("KBLI 2017 \u2013 46691 dan 46692", ["46691", "46692"]),
    ("KBLI 2015; 62019/62029", ["62019", "62029"]),
    ("KBLI (2020) kode 71102", ["71102"]),
    ("kbli2020-71102 (Aktivitas Keinsinyuran)", ["71102"]),
    ("KBLI 2020 kode 41", ["41"]),
    ("KBLI 2020", []),  # the edition alone is no code
    ("KBLI 2015 dan KBLI 2017", []),
    ("KBLI yang sesuai dengan bidang pekerjaan", []),
    ("KBLI 711021", []),  # six digits: not a KBLI code
    ("KBKI 2015 - 83990", []),  # another classification
]


@pytest.mark.parametrize(("text", "codes"), KBLI_IN_TEXT)
def test_kbli_written_in_the_izin_usaha_text(text, codes):
    cell = izin_usaha("Sertifikat Badan Usaha (SBU)", f"Jasa Konsultansi Konstruksi RE102 {text}")
    page = parse_announcement(syarat_page(cell))
    assert (page.kbli, page.kbki) == (codes, [])


@pytest.mark.parametrize(("text", "codes"), KBLI_IN_TEXT)
def test_kbli_written_in_free_text(text, codes):
    page = parse_announcement(syarat_page(f"<div>Memiliki NIB dengan {text}<br></div>"))
    assert page.kbli == codes


def code_table(header_tag: str, rows: list[list[str]]) -> str:
    """A nested table whose first row is made of `header_tag` cells, the others of td."""
    html_rows = [
        "".join(
            f"<{header_tag if i == 0 else 'td'}>{cell}</{header_tag if i == 0 else 'td'}>" for cell in row
        )
        for i, row in enumerate(rows)
    ]
    return "<table class='table table-sm'>" + "".join(f"<tr>{r}</tr>" for r in html_rows) + "</table>"


KBLI_HEADER = ["Kode KBLI", "Deskripsi", "Tahun"]
LEVELS = ["Kategori", "Golongan Pokok", "Golongan", "Subgolongan", "Kelompok"]
KBLI_TABLES = {
    "th-header": ("th", [KBLI_HEADER, ["41011", "Gedung", "KBLI 2020"]], ["41011"], []),
    "td-header": ("td", [KBLI_HEADER, ["41011", "Gedung", "KBLI 2020"]], ["41011"], []),
    "caption-row-then-td-header": (
        "td",
        [["Tabel Data KBLI"], ["KBLI", "Deskripsi"], ["46691", "Kimia"]],
        ["46691"],
        [],
    ),
    "most-specific-level": ("th", [LEVELS, ["F", "41", "410", "4101", "41011"]], ["41011"], []),
    "year-column-is-no-code": ("td", [KBLI_HEADER, ["46", "Perdagangan", "2020"]], ["46"], []),
    "six-digits-are-no-kbli-code": ("td", [KBLI_HEADER, ["711021", "Rekayasa", "KBLI 2020"]], [], []),
    "row-labelled-kbli": ("td", [["Jenis Izin", "Bidang Usaha"], ["KBLI 2020", "71102"]], ["71102"], []),
    "kbki-table": (
        "th",
        [["Divisi", "Kelompok", "Deskripsi", "Tahun"], ["83", "839", "Jasa", "KBKI 2015"]],
        [],
        ["839"],
    ),
    "no-code-bleeds-across-cells": (
        "td",
        [["Jenis Izin", "Bidang Usaha"], ["NIB", "KBLI 2020"], ["83", "Jasa"]],
        [],
        [],
    ),
}


@pytest.mark.parametrize(("header_tag", "rows", "kbli", "kbki"), KBLI_TABLES.values(), ids=KBLI_TABLES)
def test_kbli_tables_by_header_or_row_label(header_tag, rows, kbli, kbki):
    page = parse_announcement(syarat_page(code_table(header_tag, rows)))
    assert (page.kbli, page.kbki) == (kbli, kbki)


def test_kbli_in_a_label_row_of_its_own():
    page = parse_announcement(
        syarat_page("", "<tr><th class='bgwarning'>KBLI</th><td>2020 - 71102</td></tr>")
    )
    assert page.kbli == ["71102"]


def test_real_izin_usaha_table_with_an_sbu_row_gives_its_kbli():
    # Real markup (header row of td cells), plus one synthetic SBU row as real pages write it.
    real = read(RECORDED / "nontender_pengumumanpl.htm")
    sbu = "<td>SBU</td><td>Jasa Konsultansi Konstruksi Rekayasa (RE102) KBLI 2020 -71102</td></tr><tr>"
    assert real.count("<td>SIUP dan NIB</td>") == 1
    page = parse_announcement(real.replace("<td>SIUP dan NIB</td>", sbu + "<td>SIUP dan NIB</td>"))
    assert (page.kbli, page.kbki) == (["71102"], ["839"])
