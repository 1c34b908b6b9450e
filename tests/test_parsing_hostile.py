"""Hostile input: every parser ends in bounded time and raises nothing but MalformedPage."""

import html
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lpse_crawler.rupiah import format_rupiah
from lpse_crawler.spse import MalformedPage
from lpse_crawler.spse.listing import (
    NONTENDER,
    TENDER,
    json_depth_exceeds,
    parse_datatables,
    parse_listing_row,
)
from lpse_crawler.spse.pages import (
    MAX_CELLS,
    MAX_TABLE_DEPTH,
    check_not_error,
    extract_token,
    parse_announcement,
    parse_schedule,
    spse_version,
)
from lpse_crawler.spse.stages import canonical_stage
from lpse_crawler.spse.values import (
    INT64_MAX,
    INT64_MIN,
    looks_like_html,
    parse_abbreviated_money,
    parse_datetime,
    parse_leading_int,
    parse_money,
    split_badges,
    split_category,
    squeeze,
    strip_tags,
)

FEW = settings(max_examples=60, deadline=None)
# Any text, with a good share of what breaks parsers: lone surrogates (a str can hold them even
# if no served page does), NUL, brackets, quotes, long digit runs, fragments of real values.
TRICKY = st.sampled_from(
    [
        "\ud800",
        "\udfff",
        "\x00",
        "<",
        ">",
        "[",
        "{",
        '"',
        "\\",
        "9" * 30,
        "Rp. ",
        " - TA ",
        "KBLI 2020 -",
        "Jt",
    ]
)
ANY_TEXT = st.lists(st.text(max_size=20) | TRICKY, max_size=30).map("".join)
TEXT_PARSERS = [
    parse_money,
    parse_abbreviated_money,
    lambda t: parse_datetime(t, "Asia/Jakarta"),
    parse_leading_int,
    split_badges,
    split_category,
    squeeze,
    canonical_stage,
    check_not_error,
    parse_announcement,
    parse_schedule,
    lambda t: extract_token(t, t),
    spse_version,
    looks_like_html,
    parse_datatables,
]
# Pieces of SPSE markup, so that generated pages reach past the first checks.
PAGE_PIECES = st.sampled_from(
    [
        "<table>",
        "</table>",
        "<tr>",
        "</tr>",
        "<td>",
        "</td>",
        "<th>",
        "</th>",
        "<thead>",
        "<div>",
        "<th class='bgwarning'>Syarat Kualifikasi</th>",
        "<th class='bgwarning'>Nama Paket</th>",
        "<th class='bgwarning'>KBLI</th>",
        "<th class='bgwarning'>Lokasi Pekerjaan</th>",
        "<li>",
        "<th class='bgwarning'>Tahap Paket Saat Ini</th>",
        "<a href='/x/jadwal'>",
        "</a>",
        "<span class='badge'>",
        "</span>",
        "KBLI",
        "KBKI",
        " 2020 ",
        "-",
        ":",
        ", ",
        "71102",
        "711021",
        "83",
        "Kode KBLI",
        "Kelompok",
        "Tahun",
        "Jenis Izin",
        "Tahap",
        "Mulai",
        "Sampai",
        "<div class='content'>",
        "<!--",
        "-->",
        "\x00",
        "\ud800",
        "&amp;",
        "<",
        ">",
        "'",
        '"',
    ]
)
PAGES = st.lists(PAGE_PIECES, max_size=60).map(
    lambda parts: "<title>LPSE</title>" + " " * 200 + "".join(parts)
)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=5), children, max_size=5)
    ),
    max_leaves=30,
)
ROW_CELLS = st.one_of(st.none(), st.integers(), st.floats(), st.booleans(), st.text(max_size=40), JSONISH)


def only_malformed(parse, *args):
    """Call `parse`; MalformedPage is an answer, any other exception fails the test."""
    try:
        return parse(*args)
    except MalformedPage:
        return None


@FEW
@given(ANY_TEXT)
def test_text_parsers_raise_only_malformed_on_any_text(text):
    for parse in TEXT_PARSERS:
        only_malformed(parse, text)


@FEW
@given(PAGES)
def test_page_parsers_raise_only_malformed_on_markup_soup(page):
    announcement = only_malformed(parse_announcement, page)
    only_malformed(parse_schedule, page)
    if announcement:
        assert all(re.fullmatch(r"[0-9]{2,5}", code) for code in announcement.kbli)
        assert all(re.fullmatch(r"[0-9]{2,6}", code) for code in announcement.kbki)


@FEW
@given(st.binary(max_size=400))
def test_datatables_parser_raises_only_malformed_on_any_bytes(data):
    only_malformed(parse_datatables, data)


@FEW
@given(JSONISH)
def test_datatables_parser_and_rows_on_any_json(value):
    rows = only_malformed(
        parse_datatables, json.dumps({"data": value if isinstance(value, list) else [value]})
    )
    for row in rows or []:
        only_malformed(parse_listing_row, TENDER, row)
        only_malformed(parse_listing_row, NONTENDER, row)


@FEW
@given(st.lists(ROW_CELLS, min_size=12, max_size=12), st.lists(ROW_CELLS, min_size=16, max_size=16))
def test_listing_rows_of_any_cells_raise_only_malformed(nontender_row, tender_row):
    only_malformed(parse_listing_row, NONTENDER, nontender_row)
    only_malformed(parse_listing_row, TENDER, tender_row)


def nesting(value) -> int:
    if isinstance(value, list):
        return 1 + max(map(nesting, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(nesting, value.values()), default=0)
    return 0


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.text(st.sampled_from('[]{}"\\ab'), max_size=8),
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(st.text('[{"\\', max_size=3), children)
        ),
        max_leaves=20,
    ),
    st.integers(0, 6),
)
def test_json_depth_is_counted_outside_strings(value, limit):
    assert json_depth_exceeds(json.dumps(value), limit) == (nesting(value) > limit)


# -- the regressions, one by one ----------------------------------------------------------------


def test_deep_json_is_malformed_not_a_recursion_error():
    with pytest.raises(MalformedPage, match="nested deeper"):
        parse_datatables("[" * 100_000)
    with pytest.raises(MalformedPage, match="nested deeper"):
        parse_datatables(b'{"data": ' + b"[" * 100_000)


def test_brackets_inside_strings_are_not_nesting():
    cell = '\\"' + "[" * 5000 + "{"
    assert parse_datatables('{"data": [["' + cell + '"]]}') == [['"' + "[" * 5000 + "{"]]


def test_wrong_body_types_are_malformed():
    with pytest.raises(MalformedPage):
        parse_datatables(None)


HOSTILE_BADGES = "<span class='badge'>" * 2000  # 40 KB: took 8 s with the backtracking regex


def test_unclosed_badge_spans_leave_the_name():
    assert len(HOSTILE_BADGES) == 40_000
    assert split_badges("Jasa Kebersihan " + HOSTILE_BADGES) == ("Jasa Kebersihan", [])


def test_thousands_of_real_badges_are_all_read():
    cell = "Jasa Kebersihan " + "<span class='badge badge-warning'>Tender Ulang</span> " * 2000
    assert split_badges(cell) == ("Jasa Kebersihan", ["Tender Ulang"] * 2000)


def test_many_unclosed_tags_are_kept_as_text():
    assert split_badges("Paket " + "<" * 40_000) == ("Paket " + "<" * 40_000, [])
    assert split_badges("Paket <span" + " class='x" * 5000 + ">A</span>") == ("Paket A", [])


_REFERENCE_BADGE = re.compile(r"<span[^>]*class\s*=\s*['\"][^'\"]*badge[^'\"]*['\"][^>]*>(.*?)</span>", re.S)
_REFERENCE_TAG = re.compile(r"<[^>]+>")


def reference_split_badges(cell: str) -> tuple[str, list[str]]:
    """The former regex definition of split_badges (quadratic on hostile cells)."""
    badges = [squeeze(html.unescape(_REFERENCE_TAG.sub("", b))) for b in _REFERENCE_BADGE.findall(cell)]
    plain = _REFERENCE_TAG.sub(" ", _REFERENCE_BADGE.sub(" ", cell))
    return squeeze(html.unescape(plain)), [b for b in badges if b]


CELL_PIECES = st.sampled_from(
    [
        "<span",
        " class='badge'",
        ' class="badge x"',
        " class='x'",
        ">",
        "</span>",
        "<",
        "<b>",
        "</",
        "a",
        " ",
        "&amp;",
        "'",
        '"',
        "Tender Ulang",
        "class=",
        "badge",
        "span",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(CELL_PIECES, max_size=14).map("".join))
def test_badge_scan_reads_cells_as_the_regex_did(cell):
    assert split_badges(cell) == reference_split_badges(cell)
    assert strip_tags(cell, " ") == _REFERENCE_TAG.sub(" ", cell)


@pytest.mark.parametrize(
    "text",
    [
        "1" * 5000,
        "Rp. " + "9" * 40 + ",00",
        "Rp. " + "1.000" * 10 + ",00",
        "Rp. 9.223.372.036.854.775.808",
        "-9.223.372.036.854.775.809",
        "Rp. 1" + ",0" * 5000,
    ],
)
def test_money_beyond_64_bits_or_absurdly_long_is_malformed(text):
    with pytest.raises(MalformedPage):
        parse_money(text)


@pytest.mark.parametrize("amount", [INT64_MAX, INT64_MIN, 0])
def test_money_at_the_64_bit_limits_reads_back(amount):
    assert parse_money(format_rupiah(amount)) == amount


@given(st.integers(min_value=-(2**70), max_value=2**70))
@FEW
def test_money_reads_back_exactly_when_it_fits_64_bits(amount):
    if INT64_MIN <= amount <= INT64_MAX:
        assert parse_money(format_rupiah(amount)) == amount
    else:
        with pytest.raises(MalformedPage):
            parse_money(format_rupiah(amount))


@pytest.mark.parametrize(
    "text", ["9" * 5000 + " T", "9999999 T", "1" + "0" * 40 + " Rb", "1," + "5" * 5000 + " M"]
)
def test_abbreviated_money_beyond_64_bits_is_malformed(text):
    with pytest.raises(MalformedPage):
        parse_abbreviated_money(text)


def test_largest_abbreviated_amount_that_fits():
    assert parse_abbreviated_money("9000000 T") == 9 * 10**18


def test_leading_int_too_long_is_malformed():
    assert parse_leading_int("9" * 18 + " peserta") == 10**18 - 1
    with pytest.raises(MalformedPage):
        parse_leading_int("1" * 5000 + " peserta")


@pytest.mark.parametrize(
    "text", ["1 Januari 9999", "31 Desember 9999 23:59", "1 Januari 0001", "1 Januari 0000"]
)
def test_dates_outside_spse_years_are_malformed(text):
    with pytest.raises(MalformedPage, match="year"):
        parse_datetime(text, "Asia/Jayapura")


def test_error_messages_quote_only_the_start_of_hostile_text():
    with pytest.raises(MalformedPage) as caught:
        parse_money("x" * 100_000)
    assert len(str(caught.value)) < 200


TENDER_ROW = [
    "10102584000",
    "Pembangunan Gedung",
    "Kementerian Kesehatan",
    "Tender Sudah Selesai",
    "22,7 M",
    "Tender Cepat",
    "Pascakualifikasi Satu File",
    "Harga Terendah Sistem Gugur",
    "Pekerjaan Konstruksi - TA 2025",
    "x",
    "Nilai Kontrak belum dibuat",
    None,
    "0",
    "0",
    "0",
    "0",
]


@pytest.mark.parametrize(
    ("column", "cell"),
    [(0, ["10102584000"]), (1, {"nama": "x"}), (3, 10**5000), (3, [[["deep"]]]), (0, 1.5e10), (0, "١٢٣٤٥")],
    ids=["list-code", "dict-name", "5000-digit-int", "nested-list", "float-code", "arabic-digits-code"],
)
def test_rows_with_odd_cell_types_are_malformed(column, cell):
    row = list(TENDER_ROW)
    row[column] = cell
    with pytest.raises(MalformedPage):
        parse_listing_row(TENDER, row)


def test_numeric_code_and_surrogates_in_a_row_are_read():
    row = list(TENDER_ROW)
    row[0], row[2] = 10102584000, "Kementerian \ud800 Kesehatan"
    parsed = parse_listing_row(TENDER, row)
    assert (parsed.kode, parsed.instansi) == ("10102584000", "Kementerian \ud800 Kesehatan")


def test_pages_with_lone_surrogates_are_parsed():
    page = (
        "<html><head><title>LPSE</title></head><body>" + " " * 200 + "<table><tr>"
        "<th class='bgwarning'>Nama Paket</th><td>Paket \ud800 A</td></tr><tr>"
        "<th class='bgwarning'>Syarat Kualifikasi</th><td>SBU KBLI 2020 -71102 \udfff</td></tr></table>"
    )
    announcement = parse_announcement(page)
    assert announcement.get("nama paket") == "Paket ? A"
    assert announcement.kbli == ["71102"]


# -- detail pages too big to be real (SYNTHETIC: each page below is made up) ------------------

RECORDED = Path(__file__).parent / "files" / "recorded"
JADWAL = (RECORDED / "nontender_jadwal_berubah_pontianak_10748199000.html").read_text(encoding="utf-8")
PAGE = "<html><head><title>LPSE</title></head><body><div class='content'>{}</div></body></html>"


def nested_labels(count: int) -> str:
    """Label tables each inside the last label's value cell: every label's cell held the rest."""
    cells = "".join(f"<table><tr><th class='bgwarning'>L{i}</th><td>{'kata ' * 50}" for i in range(count))
    return PAGE.format(cells + "</td></tr></table>" * count)


HOSTILE_DETAIL_PAGES = {
    # 157 KB of these took 6.6 s; an 8 MiB page some 5 minutes of CPU, blocking the crawl
    "nested-label-tables": nested_labels(600),
    "nested-tables": PAGE.format(
        "<table><tr><th>a</th></tr><tr><td>" * 1000 + "x" + "</td></tr></table>" * 1000
    ),
    "many-flat-tables": PAGE.format("<table><tr><th class='bgwarning'>L</th><td>x</td></tr></table>" * 2000),
    "deep-few-tables": PAGE.format("<table><tr><td>" * (MAX_TABLE_DEPTH + 1) + "x"),
    "many-cells": PAGE.format(
        "<table><tr><th>Tahap</th><th>Mulai</th><th>Sampai</th></tr>"
        + "<tr><td>a</td><td>b</td><td>c</td></tr>" * (MAX_CELLS // 3)
        + "</table>"
    ),
}


@pytest.mark.parametrize("page", HOSTILE_DETAIL_PAGES.values(), ids=HOSTILE_DETAIL_PAGES.keys())
@pytest.mark.parametrize("parse", [parse_announcement, parse_schedule])
def test_a_detail_page_far_bigger_than_any_real_one_is_refused(parse, page):
    with pytest.raises(MalformedPage, match=r"page (holds more than|nests tables more than)"):
        parse(page)


REAL_PAGES = sorted(RECORDED.glob("*.htm*")) + [RECORDED.parent / "synthetic_tender_pemenang.html"]


@pytest.mark.parametrize("path", REAL_PAGES, ids=lambda p: p.name)
def test_every_recorded_page_is_within_the_caps(path):
    text = path.read_text(encoding="utf-8", errors="replace")
    parse = parse_schedule if "jadwal" in path.name else parse_announcement
    if "peserta" in path.name:  # the only tab without label cells or a jadwal
        with pytest.raises(MalformedPage, match="no label cells"):
            parse(text)
    else:
        assert parse(text)


def test_a_jadwal_inside_layout_tables_within_the_caps_is_read_row_by_row():
    table = JADWAL[JADWAL.index("<table") : JADWAL.rindex("</table>") + len("</table>")]
    depth = MAX_TABLE_DEPTH - 1
    wrapped = PAGE.format("<table><tr><td>" * depth + table + "</td></tr></table>" * depth)
    rows = parse_schedule(JADWAL)
    assert rows and parse_schedule(wrapped) == rows
