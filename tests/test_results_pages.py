"""The result tabs: winners, contracts and realisasi, on every real capture of them, on the one
synthetic winner page (no real one exists) and on variants derived from both in this file."""

import contextlib
import re
import time
from pathlib import Path

import lxml.html
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parsel import Selector

from lpse_crawler.spse import MalformedPage, SpseErrorPage
from lpse_crawler.spse.results import (
    REALISASI_PATHS,
    Contract,
    Penyedia,
    Winner,
    contracts_path,
    parse_contracts,
    parse_realisasi,
    parse_winners,
    winners_path,
)

FILES = Path(__file__).parent / "files"
RECORDED = FILES / "recorded"
TENDER_CONTRACTS = RECORDED / "tender_pemenangberkontrak_kemkes_10102453000.htm"  # real, empty table
SYNTHETIC_WINNERS = FILES / "synthetic_tender_pemenang.html"  # synthetic: no real capture with rows
REALISASI_PAGES = [
    "nonspk_pemenang_berkontrak.html",
    "nonspk_pemenang_bug_10941898000.html",
    "darurat_pemenang.html",
    "darurat_pemenang.htm",
    "swakelola_pelaksana.html",
    "swakelola_pelaksana.htm",
]
WINNERS = [
    Winner(
        nama="PT Contoh Sarana Medika",
        alamat="Jl. Contoh Raya No. 1 - Jakarta Selatan (Kota) - DKI Jakarta",
        npwp="0*.1**.2**.*-*11.**0",
        harga_penawaran=1_234_000_000,
        harga_terkoreksi=1_233_500_001,  # Rp. 1.233.500.000,50 rounds half up
        harga_negosiasi=1_200_000_000,
    ),
    Winner(
        nama="CV Sampel & Putra",
        alamat="Jl. Percobaan No. 2 - Bandung (Kota) - Jawa Barat",
        npwp="0*.2**.3**.*-*22.**0",
        harga_penawaran=199_800_000,
        harga_terkoreksi=199_800_000,
        harga_negosiasi=None,
    ),
]
# DERIVED: a contract row put into the real (empty) kemkes contract table; values invented.
CONTRACT_ROW = (
    "<tr><td>PT Contoh Sarana Medika</td><td>Jl. Contoh Raya No. 1 - Jakarta Selatan (Kota)</td>"
    "<td>0*.1**.2**.*-*11.**0</td><td>Rp. 1.195.000.000,00</td><td>Rp. 900.000.000,00</td>"
    "<td>Rp. 0,00</td></tr>"
)
CONTRACT = Contract(
    nama="PT Contoh Sarana Medika",
    alamat="Jl. Contoh Raya No. 1 - Jakarta Selatan (Kota)",
    npwp="0*.1**.2**.*-*11.**0",
    harga_kontrak=1_195_000_000,
    nilai_pdn=900_000_000,
    nilai_umk=0,
)


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def with_contract_rows(rows: str) -> str:
    """DERIVED from the real kemkes contract tab: `rows` inserted under its header row."""
    page, count = re.subn(
        r"(<th>Nilai UMK</th>\s*</tr>)", lambda m: m.group(1) + rows, read(TENDER_CONTRACTS)
    )
    assert count == 1
    return page


def permuted(page: str, first_header: str, order: list[int]) -> str:
    """DERIVED: the columns of the table whose header holds `first_header`, put in `order`."""
    doc = lxml.html.document_fromstring(page)
    table = doc.xpath(f"//table[(./tr | ./tbody/tr)/th[normalize-space()='{first_header}']]")[0]
    for tr in table.xpath("./tr | ./tbody/tr"):
        cells = tr.xpath("./th | ./td")
        if len(cells) == len(order):
            for cell in cells:
                tr.remove(cell)
            for i in order:
                tr.append(cells[i])
    return lxml.html.tostring(doc, encoding="unicode")


# -- the real captures ---------------------------------------------------------------------------


def test_real_tender_contract_tab_with_an_empty_table_gives_no_contracts():
    assert parse_contracts(read(TENDER_CONTRACTS)) == []


def test_winner_parser_refuses_the_contract_tab():
    with pytest.raises(MalformedPage, match="winner"):
        parse_winners(read(TENDER_CONTRACTS))


@pytest.mark.parametrize("name", REALISASI_PAGES)
def test_pencatatan_pages_hold_no_winner_or_contract_table(name):
    with pytest.raises(MalformedPage, match="winner"):
        parse_winners(read(RECORDED / name))
    with pytest.raises(MalformedPage, match="contract"):
        parse_contracts(read(RECORDED / name))


def test_realisasi_with_nested_provider_tables():
    page = parse_realisasi(read(RECORDED / "nonspk_pemenang_bug_10941898000.html"))
    assert (page.total, page.nilai_pdn, page.nilai_umk, str(page.selesai)) == (
        495_000,
        495_000,
        0,
        "2026-04-10",
    )
    assert [(row.jenis, row.nilai, row.tanggal) for row in page.rows] == [
        ("Kuitansi", 375_000, "10-04-2026"),
        ("Kuitansi", 120_000, "10-04-2026"),
    ]
    provider = Penyedia("Diana Safitri", None, "Mataram (Kota) Nusa Tenggara Barat")
    assert [row.penyedia for row in page.rows] == [(provider,), (provider,)]
    assert page.penyedia == [provider]
    assert sum(row.nilai for row in page.rows) == page.total


@pytest.mark.parametrize(
    "name, total, pdn, umk, selesai, rows, providers",
    [
        (
            "nonspk_pemenang_berkontrak.html",
            266_400,
            0,
            0,
            "2026-12-31",
            [("Dokumen FA Detail", 266_400)],
            [],
        ),
        ("darurat_pemenang.html", 0, None, None, "2026-08-03", [], []),  # PDN, UMK cells empty
        ("darurat_pemenang.htm", 0, 0, 0, "2021-09-10", [], []),
        ("swakelola_pelaksana.htm", 0, None, None, "2025-10-30", [], []),
        (
            "swakelola_pelaksana.html",
            800_000,
            None,
            None,
            "2026-12-31",
            [("Surat Permintaan Pembayaran", 800_000)],
            [
                (
                    "SEKRETARIAT KEMENTERIAN/SEKRETARIAT UTAMA KEMENTERIAN EKONOMI KREATIF/"
                    "BADAN EKONOMI KREATIF",
                    "10*1**1****35**2",
                )
            ],
        ),
    ],
)
def test_realisasi_pages(name, total, pdn, umk, selesai, rows, providers):
    page = parse_realisasi(read(RECORDED / name))
    assert (page.total, page.nilai_pdn, page.nilai_umk, str(page.selesai)) == (total, pdn, umk, selesai)
    assert [(row.jenis, row.nilai) for row in page.rows] == rows
    assert [(p.nama, p.npwp) for p in page.penyedia] == providers


def test_realisasi_parser_refuses_a_tab_without_realisasi_table():
    with pytest.raises(MalformedPage, match="Realisasi"):
        parse_realisasi(read(TENDER_CONTRACTS))
    # DERIVED: the real darurat tab without its Realisasi table; the label row
    # `Nilai Total Realisasi`, put first, is no table header.
    page = read(RECORDED / "darurat_pemenang.html")
    page = re.sub(
        r'<table class="table table-sm">\s*<tr>\s*<th width="30">No\..*?</table>', "", page, flags=re.S
    )
    page = page.replace(
        '<th class="bgwarning">Nama Paket</th>', '<th class="bgwarning">Nilai Total Realisasi</th>'
    )
    assert "Jenis Realisasi" not in page
    with pytest.raises(MalformedPage, match="Realisasi"):
        parse_realisasi(page)


def test_tab_paths_match_the_links_of_real_pages():
    links = Selector(text=read(TENDER_CONTRACTS)).css("ul.nav-tabs a::attr(href)").getall()
    assert any(link.endswith("/kemkes/" + winners_path("tender", "10102453000")) for link in links)
    assert any(link.endswith("/kemkes/" + contracts_path("tender", "10102453000")) for link in links)
    assert winners_path("nontender", "11002302000") == "evaluasinontender/11002302000/pemenang"
    assert contracts_path("nontender", "11002302000") == "evaluasinontender/11002302000/pemenangberkontrak"
    for kind, name, kode in [
        ("pencatatan", "nonspk_pemenang_berkontrak.html", "10942236000"),
        ("darurat", "darurat_pemenang.html", "106802"),
        ("swakelola", "swakelola_pelaksana.htm", "1176047"),
    ]:
        active = Selector(text=read(RECORDED / name)).css("a.active::attr(href)").get()
        assert active.endswith("/" + REALISASI_PATHS[kind].format(kode=kode)), (kind, active)


# -- winners (synthetic page) and contracts (derived from the real page) ---------------------------


def test_synthetic_winner_tab_gives_one_row_per_lot():
    assert parse_winners(read(SYNTHETIC_WINNERS)) == WINNERS


def test_winning_price_is_the_last_step_taken():
    first, second = WINNERS
    assert (first.harga, second.harga) == (1_200_000_000, 199_800_000)
    assert Winner("PT A", harga_penawaran=5, harga_terkoreksi=4, harga_negosiasi=0).harga == 4
    assert Winner("PT A").harga is None


def test_contract_tab_with_a_row():
    assert parse_contracts(with_contract_rows(CONTRACT_ROW)) == [CONTRACT]


def test_label_rows_whose_values_look_like_headers_are_no_table():
    """DERIVED: a package name full of column words, in the real contract tab's label rows."""
    page = read(TENDER_CONTRACTS).replace(
        "Paket Jasa Lainnya Pertemuan", "Nama Kontrak Penawaran PDN Pemenang"
    )
    assert parse_contracts(page) == []
    with pytest.raises(MalformedPage, match="winner"):
        parse_winners(page)


def test_contract_parser_refuses_the_winner_tab():
    with pytest.raises(MalformedPage, match="contract"):
        parse_contracts(read(SYNTHETIC_WINNERS))


@pytest.mark.parametrize("order", [[5, 4, 3, 2, 1, 0], [3, 0, 5, 1, 4, 2], [2, 1, 0, 4, 5, 3]])
def test_winner_columns_in_any_order(order):
    assert parse_winners(permuted(read(SYNTHETIC_WINNERS), "Nama Pemenang", order)) == WINNERS


@pytest.mark.parametrize("order", [[5, 4, 3, 2, 1, 0], [3, 0, 5, 1, 4, 2]])
def test_contract_columns_in_any_order(order):
    assert parse_contracts(permuted(with_contract_rows(CONTRACT_ROW), "Nama Pemenang", order)) == [CONTRACT]


@pytest.mark.parametrize(
    "header",
    ["Harga Negosiasi", "Hasil Negosiasi Reverse Auction", "Harga Reverse Auction", "HASIL  NEGOSIASI"],
)
def test_negotiation_column_under_its_other_names(header):
    page = read(SYNTHETIC_WINNERS).replace("<th>Hasil Negosiasi</th>", f"<th>{header}</th>")
    assert parse_winners(page) == WINNERS


def test_a_numbered_winner_table_in_thead_and_tbody():
    """DERIVED: a `No` column first, the header in thead and the rows in tbody."""
    page = read(SYNTHETIC_WINNERS).replace("<th>Nama Pemenang</th>", "<th>No</th><th>Nama Pemenang</th>")
    page = page.replace("<td>PT Contoh", "<td>1</td><td>PT Contoh").replace(
        "<td>CV Sampel", "<td>2</td><td>CV Sampel"
    )
    page = re.sub(
        r'(<table class="table table-sm">\s*)(<tr>\s*<th>No</th>.*?</tr>)',
        r"\1<thead>\2</thead><tbody>",
        page,
        flags=re.S,
    )
    page = page.replace("</tr>\n                </table>", "</tr></tbody>\n                </table>")
    assert "<thead>" in page
    assert parse_winners(page) == WINNERS


def test_the_winner_column_wins_over_another_name_column():
    """DERIVED: a `Nama Paket` column before `Nama Pemenang`."""
    page = read(SYNTHETIC_WINNERS).replace(
        "<th>Nama Pemenang</th>", "<th>Nama Paket</th><th>Nama Pemenang</th>"
    )
    page = page.replace("<td>PT Contoh", "<td>Lot 1</td><td>PT Contoh").replace(
        "<td>CV Sampel", "<td>Lot 2</td><td>CV Sampel"
    )
    assert parse_winners(page) == WINNERS


def test_winner_table_without_price_columns():
    """DERIVED: only Nama Pemenang, Alamat and NPWP, as one tender of 2019 showed (pyproc tests)."""
    page = permuted(read(SYNTHETIC_WINNERS), "Nama Pemenang", [0, 1, 2, 3, 4, 5])
    doc = lxml.html.document_fromstring(page)
    for cell in doc.xpath("//table//table//tr/*[position() > 3]"):
        cell.getparent().remove(cell)
    winners = parse_winners(lxml.html.tostring(doc, encoding="unicode"))
    assert [(w.nama, w.npwp, w.harga) for w in winners] == [(w.nama, w.npwp, None) for w in WINNERS]


def test_a_no_data_row_spanning_the_table_gives_no_winners():
    page = with_contract_rows('<tr><td colspan="6">Tidak ada data</td></tr>')
    assert parse_contracts(page) == []


def test_winner_as_label_rows():
    """DERIVED: the older layout, a winner written as label rows under the package's own."""
    rows = "".join(
        f'<tr><th class="bgwarning">{label}</th><td>{value}</td></tr>'
        for label, value in [
            ("Nama Pemenang", "CV Sampel &amp; Putra"),
            ("NPWP", "0*.2**.3**.*-*22.**0"),
            ("Hasil Negosiasi", "Rp. 199.800.000,00"),
        ]
    )
    page = re.sub(
        r"<tr>\s*<td colspan=\"2\">.*?</table>\s*</td>\s*</tr>", rows, read(TENDER_CONTRACTS), flags=re.S
    )
    assert parse_winners(page) == [
        Winner("CV Sampel & Putra", npwp="0*.2**.3**.*-*22.**0", harga_negosiasi=199_800_000)
    ]
    with pytest.raises(MalformedPage):
        parse_contracts(page)


def test_a_price_that_is_no_amount_is_malformed():
    page = read(SYNTHETIC_WINNERS).replace("Rp. 1.234.000.000,00", "satu miliar")
    with pytest.raises(MalformedPage, match="rupiah"):
        parse_winners(page)


# -- error pages and hostile input ---------------------------------------------------------------

ERROR_PAGE = (
    "<html><head><title>LPSE</title></head><body><div class='content'><h3>Maaf, terjadi error pada aplikasi"
    " SPSE.</h3><p>Kode Error: ABC123XYZ</p>" + " " * 300 + "</div></body></html>"
)
PIECES = st.sampled_from(
    ["<table>", "</table>", "<tr>", "</tr>", "<td>", "</td>", "<th>", "</th>", "<thead>", "<tbody>",
     "<th>Nama Pemenang</th>", "<th>NPWP</th>", "<th>Harga Kontrak</th>", "<th>Hasil Negosiasi</th>",
     "<th>Jenis Realisasi</th>", "<th>Nilai Realisasi</th>", "<th class='bgwarning'>Nama Pemenang</th>",
     "<th class='bgwarning'>Nilai Total Realisasi</th>", "<td>PT A</td>", "<td>Rp. 1.000,00</td>",
     "<td>Rp. 9" + "9" * 40 + "</td>", "<td>31 Februari 2026</td>", "<td colspan='6'>", "&amp;", "<",
     "\x00", "\ud800"]
)  # fmt: skip
SOUP = st.lists(PIECES, max_size=60).map(lambda parts: "<title>LPSE</title>" + " " * 200 + "".join(parts))


@pytest.mark.parametrize("parse", [parse_winners, parse_contracts, parse_realisasi])
def test_error_pages_are_refused(parse):
    with pytest.raises(SpseErrorPage):
        parse(ERROR_PAGE)
    with pytest.raises(SpseErrorPage):
        parse("")


@settings(max_examples=80, deadline=None)
@given(SOUP | st.text(max_size=400))
def test_any_markup_raises_nothing_but_malformed(page):
    for parse in (parse_winners, parse_contracts, parse_realisasi):
        with contextlib.suppress(MalformedPage):
            parse(page)


@pytest.mark.parametrize(
    "page",
    [
        "<title>LPSE</title>" + "<table><tr><td>" * 20_000,  # deeply nested tables
        "<title>LPSE</title><table><tr><th>Nama Pemenang</th><th>NPWP</th></tr>"
        + "<tr><td>PT A</td><td>1</td></tr>" * 20_000,
        "<title>LPSE</title>" + "<div>" * 50_000 + "x",
    ],
    ids=["nested-tables", "many-rows", "deep-divs"],
)
def test_hostile_pages_end_in_bounded_time(page):
    started = time.monotonic()
    for parse in (parse_winners, parse_contracts, parse_realisasi):
        with contextlib.suppress(MalformedPage):
            parse(page)
    assert time.monotonic() - started < 10
