"""The filter language: every construct, bad expressions, and the index against a naive loop."""

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.texts import FILTER_HELP_TEXT
from lpse_crawler.matching.filters import (
    CATEGORY_ALIASES,
    FIELDS,
    MAX_LENGTH,
    FilterError,
    FilterSpec,
    parse_filter,
)
from lpse_crawler.matching.fit import matches, tender_facts
from lpse_crawler.matching.index import CompiledFilter, FilterIndex, naive_match

INSTANCES = {"kemkes", "jakarta", "jatimprov", "surabaya", "makassar"}
PROVINCES = {"jawa timur": "Jawa Timur", "dki jakarta": "DKI Jakarta", "sulawesi selatan": "Sulawesi Selatan"}
PROVINCES["papua tengah"] = "Papua Tengah"  # a province with no LPSE in the registry
BY_PROVINCE = {
    "Jawa Timur": {"jatimprov", "surabaya"},
    "DKI Jakarta": {"jakarta", "kemkes"},
    "Sulawesi Selatan": {"makassar"},
}
PROVINCE_OF = {code: p for p, codes in BY_PROVINCE.items() for code in codes}


def parse(text: str) -> FilterSpec:
    return parse_filter(text, INSTANCES, PROVINCES)


def facts(nama="Pembangunan Jembatan Beton Bertulang Desa Sukamaju", instance="surabaya", **overrides):
    values = (
        dict(
            nama=nama,
            instances={instance},
            provinces={PROVINCE_OF[instance]},
            instansi="Kota Surabaya",
            kategori="Pekerjaan Konstruksi",
            kind="tender",
            kbli=["42101"],
            size="Kecil",
            hps=1_500_000_000,
            pagu=None,
            hps_listing=None,
        )
        | overrides
    )
    return tender_facts(**values)


@pytest.mark.parametrize(
    ("expression", "nama", "expected"),
    [
        ("jembatan", None, ["jembatan"]),
        ("JEMBATAN beton", None, ["JEMBATAN", "beton"]),  # AND, case ignored
        ("jalan | jembatan", None, ["jembatan"]),  # OR
        ("jalan | gedung", None, None),
        ('"beton bertulang"', None, ["beton bertulang"]),  # phrase
        ('"bertulang beton"', None, None),  # phrase order matters
        ('jalan | jembatan "beton bertulang" -rehabilitasi', None, ["jembatan", "beton bertulang"]),
        ("jembatan -desa", None, None),  # exclusion wins over a match
        ('jembatan -"desa sukamaju"', None, None),
        ('jembatan -"sukamaju desa"', None, ["jembatan"]),
        ("jembat", None, None),  # whole words only
        ("sukamaju", "Rehab Jalan Désa SUKAMAJU, Tahap-II", ["sukamaju"]),  # accents, punctuation
        ("desa", "Rehab Jalan Désa Sukamaju", ["desa"]),
        ("tahap-ii", "Rehab Jalan Tahap II", ["tahap-ii"]),
        ("-rehabilitasi", None, []),  # only an exclusion: everything else fits
        ("jembatan & beton", None, ["jembatan", "beton"]),  # & reads as AND
        ("jembatan&beton", None, ["jembatan", "beton"]),
        ("jembatan & gedung", None, None),
        ("jalan | jembatan & beton", None, ["jembatan", "beton"]),
        ('"beton bertulang" & -rehabilitasi', None, ["beton bertulang"]),
    ],
)
def test_keywords(expression, nama, expected):
    kwargs = {"nama": nama} if nama else {}
    assert matches(parse(expression), facts(**kwargs)) == expected


@pytest.mark.parametrize(
    ("expression", "overrides", "fits"),
    [
        ("lpse:surabaya", {}, True),
        ("lpse:kemkes,jakarta", {}, False),
        ('provinsi:"Jawa Timur"', {}, True),
        ("provinsi:jawa-timur", {"instance": "makassar"}, False),
        ('instansi:"Kota Surabaya"', {}, True),
        ("instansi:surabaya", {"instansi": "Kementerian Kesehatan"}, False),
        ("kategori:konstruksi", {}, True),
        ("kategori:barang,lainnya", {}, False),
        ('kategori:"Pekerjaan Konstruksi"', {}, True),
        ("jenis:nontender", {}, False),
        ("jenis:tender", {}, True),
        ("kbli:42", {}, True),
        ("kbli:41011", {}, False),
        ("kualifikasi:nonkecil", {}, False),
        ("kualifikasi:nonkecil", {"size": None}, True),  # unknown qualification still sent
        ("hps:1m-2m", {}, True),
        ("hps:>=2m", {}, False),
        ("hps:<=1,5m", {}, True),
        ("hps:>=1m", {"hps": None, "pagu": 900_000_000}, False),  # pagu stands in for HPS
        ("hps:>=1m", {"hps": None}, True),  # unknown HPS sent by default
        ("hps:>=1m hpskosong:tidak", {"hps": None}, False),
        ("hps:>=1m", {"hps": None, "hps_listing": 1_200_000_000}, True),
    ],
)
def test_fields(expression, overrides, fits):
    assert (matches(parse(expression), facts(**overrides)) is not None) is fits


def test_regular_expression_syntax_is_only_punctuation():
    spec = parse("(jalan) [a-z]+")
    assert [atom.tokens for group in spec.groups for atom in group] == [("jalan",), ("a", "z")]
    assert matches(spec, facts(nama="Jalan A Z")) == ["(jalan)", "[a-z]+"]
    assert matches(spec, facts(nama="Jalan Baru")) is None


def test_ampersand_is_the_and_words_already_mean():
    assert parse("jalan & jembatan & lpse:kemkes") == parse("jalan jembatan lpse:kemkes")
    assert parse("jalan & jembatan").keyword_count == 2


def test_every_error_pointing_to_help_points_to_the_filter_help():
    for expression in ("", "kategori:senjata"):
        with pytest.raises(FilterError) as raised:
            parse(expression)
        assert "/filter bantuan" in str(raised.value) and "Ketik /bantuan" not in str(raised.value)


def test_the_help_shows_and_and_every_category_alias():
    assert "jalan & beton" in FILTER_HELP_TEXT
    aliases = [alias for alias in CATEGORY_ALIASES if " " not in alias]  # the short names users type
    assert all(alias in FILTER_HELP_TEXT for alias in aliases)


def test_plan_counts():
    spec = parse('jalan | jembatan "beton bertulang" -rehab provinsi:"Jawa Timur" lpse:kemkes')
    assert spec.keyword_count == 4
    assert spec.instances == {"kemkes"} and spec.provinces == {"Jawa Timur"}


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ('"beton bertulang', "kutip"),
        ("| jalan", "di antara dua kata"),
        ("jalan |", "di akhir"),
        ("jalan || jembatan", "di antara dua kata"),
        ("jalan | -jembatan", "Pengecualian"),
        ("lpse:atlantis", "LPSE tidak dikenal: atlantis"),
        ("provinsi:Narnia", "Provinsi tidak dikenal: Narnia"),
        ("kategori:senjata", "Kategori tidak dikenal: senjata"),
        ("jenis:lelang", "Jenis tidak dikenal"),
        ("kbli:abc", "KBLI tidak dikenal"),
        ("kualifikasi:besar", "Kualifikasi tidak dikenal"),
        ("hps:banyak", "hps:banyak tidak bisa dibaca"),
        ("hps:5m-1m", "batas bawah"),
        ("hpskosong:mungkin", "ya atau tidak"),
        ("!!!", "tidak berisi huruf"),
        ("", "Filter kosong"),
        ("x" * 501, "terlalu panjang"),
        ("-lpse:kemkes", "tidak bisa diawali"),
        ("jalan .*", "'.\\*' tidak berisi huruf"),
        ("& jalan", "Tanda & harus berada di antara dua kata"),
        ("jalan &", "Tanda & di akhir"),
        ("jalan & & beton", "Tanda & harus berada di antara dua kata"),
        ("jalan | & beton", "Tanda & harus berada di antara dua kata"),
        ("jalan & | beton", "Tanda | harus berada di antara dua kata"),
    ],
)
def test_bad_expressions_say_what_is_wrong(expression, message):
    with pytest.raises(FilterError, match=message):
        parse(expression)


# -- every field of the table: a valid value and what it sets, a bad value and its exact error

FIELD_CASES = {  # field: (valid term, FilterSpec attributes it sets, bad term, the error shown)
    "lpse": (
        "lpse:KEMKES,jakarta",
        {"instances": {"kemkes", "jakarta"}},
        "lpse:kemkes,Atlantis",
        "LPSE tidak dikenal: atlantis. Cari kodenya lewat /filter (ketik sebagian nama LPSE).",
    ),
    "provinsi": (
        'provinsi:"jawa timur, dki-jakarta"',
        {"provinces": {"Jawa Timur", "DKI Jakarta"}},
        "provinsi:Narnia,Jawa-Timur",
        'Provinsi tidak dikenal: Narnia. Tulis nama lengkap, mis. "Jawa Timur".',
    ),
    "instansi": (
        'instansi:"Kota Surabaya,Kemenkes"',
        {"agencies": (("kota", "surabaya"), ("kemenkes",))},
        'instansi:"!!!"',  # no letters: nothing left, so the filter is empty
        "Filter kosong: tulis kata kunci atau kolom seperti lpse:, kategori:. Ketik /filter bantuan.",
    ),
    "kategori": (
        'kategori:"konstruksi,Pengadaan Barang"',
        {"categories": {"Pekerjaan Konstruksi", "Pengadaan Barang"}},
        "kategori:senjata,barang,Mainan",
        "Kategori tidak dikenal: Mainan, senjata. Ketik /filter bantuan.",
    ),
    "jenis": (
        "jenis:PL",
        {"kinds": {"nontender"}},
        "jenis:lelang",
        "Jenis tidak dikenal: lelang. Pilih tender atau nontender.",
    ),
    "kbli": (
        "kbli:42,41011",
        {"kbli": {"42", "41011"}},
        "kbli:4,123456,abc",
        "KBLI tidak dikenal: 123456, 4, abc. Kode KBLI berupa 2-5 angka.",
    ),
    "kualifikasi": (
        "kualifikasi:non-kecil",
        {"sizes": {"Non Kecil"}},
        "kualifikasi:besar",
        "Kualifikasi tidak dikenal: besar. Pilih kecil atau nonkecil.",
    ),
    "hps": (
        "hps:200jt-1,5m",
        {"hps_min": 200_000_000, "hps_max": 1_500_000_000},
        "hps:1,5",
        "hps:1,5 tidak bisa dibaca. Contoh: hps:200jt-5m, hps:>=1m, hps:<=500jt.",
    ),
    "hpskosong": (
        "jalan hpskosong:TIDAK",
        {"hps_unknown": False},
        "jalan hpskosong:mungkin",
        "hpskosong: tulis ya atau tidak.",
    ),
}


def test_every_field_has_cases_and_help():
    assert set(FIELD_CASES) == set(FIELDS)
    assert all(f"{name}:" in FILTER_HELP_TEXT for name in FIELDS)


@pytest.mark.parametrize("name", FIELD_CASES)
def test_field_valid_value(name):
    term, attributes, _, _ = FIELD_CASES[name]
    spec = parse(term)
    assert {attribute: getattr(spec, attribute) for attribute in attributes} == attributes


@pytest.mark.parametrize("name", FIELD_CASES)
def test_field_bad_value_says_exactly_what_is_wrong(name):
    _, _, term, message = FIELD_CASES[name]
    with pytest.raises(FilterError) as raised:
        parse(term)
    assert str(raised.value) == message


def test_fields_are_checked_in_table_order():
    with pytest.raises(FilterError, match="^LPSE tidak dikenal"):
        parse("hps:banyak jenis:lelang lpse:atlantis")


# -- whatever is typed, parse_filter returns a FilterSpec or says what is wrong (FilterError)

FRAGMENTS = [
    *(f"{name}:" for name in FIELDS),
    *(f'{name}:""' for name in FIELDS),
    *(f"-{name}:x" for name in FIELDS),
    "kemkes",
    "Jawa Timur",
    "1,5m",
    ">=1m",
    "5m-1m",
    "ya",
    ",",
    "|",
    "&",
    "-",
    '"',
    "jalan",
    "é",
    "!!!",
    ":",
    " ",
]
typed = st.one_of(
    st.text(max_size=MAX_LENGTH + 20),
    st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join),
    st.lists(st.sampled_from(FRAGMENTS), max_size=12).map(" ".join),
)


@settings(max_examples=400, deadline=None)
@given(typed)
def test_parse_filter_returns_a_spec_or_raises_filter_error(text):
    try:
        spec = parse(text)
    except FilterError as error:
        assert str(error)
    else:
        assert isinstance(spec, FilterSpec) and len(text) <= MAX_LENGTH


# -- the index finds exactly what a naive loop finds -------------------------------------

VOCAB = ["jalan", "jembatan", "beton", "gedung", "rehab", "obat", "alat", "desa", "tahap", "ii"]
word = st.sampled_from(VOCAB)
atom = st.one_of(word, st.lists(word, min_size=2, max_size=2).map(lambda ws: f'"{" ".join(ws)}"'))
term = st.lists(atom, min_size=1, max_size=3).map(" | ".join)
fields = st.lists(
    st.sampled_from(
        [
            "lpse:kemkes",
            "lpse:surabaya,makassar",
            'provinsi:"Jawa Timur"',
            'provinsi:"Papua Tengah"',
            "kategori:konstruksi",
            "jenis:tender",
            "kbli:42",
            "kualifikasi:kecil",
            "hps:>=1m",
            "hps:<=2m",
            "hpskosong:tidak",
            'instansi:"Kota Surabaya"',
        ]
    ),
    max_size=3,
)
expression = st.tuples(st.lists(term, max_size=3), st.lists(word.map("-{}".format), max_size=2), fields).map(
    lambda parts: " ".join(parts[0] + parts[1] + parts[2])
)
package = st.fixed_dictionaries(
    {
        "nama": st.lists(word, min_size=1, max_size=8).map(" ".join),
        "instance": st.sampled_from(sorted(INSTANCES)),
        "kind": st.sampled_from(["tender", "nontender"]),
        "kategori": st.sampled_from(["Pekerjaan Konstruksi", "Pengadaan Barang"]),
        "size": st.sampled_from(["Kecil", "Non Kecil", None]),
        "hps": st.sampled_from([None, 500_000_000, 1_500_000_000, 3_000_000_000]),
        "instansi": st.sampled_from(["Kota Surabaya", "Kementerian Kesehatan"]),
    }
)


def compile_all(expressions: list[str]) -> list[CompiledFilter]:
    compiled = []
    for n, text in enumerate(expressions):
        with contextlib.suppress(FilterError):  # e.g. an empty or a min > max expression
            compiled.append(CompiledFilter(n, n % 7, f"f{n}", parse(text)))
    return compiled


@settings(max_examples=300, deadline=None)
@given(st.lists(expression, min_size=1, max_size=25), st.lists(package, min_size=1, max_size=5))
def test_index_finds_exactly_what_the_naive_loop_finds(expressions, packages):
    filters = compile_all(expressions)
    index = FilterIndex(filters, BY_PROVINCE)
    for values in packages:
        tender = facts(**values)
        by_index = sorted((m.filter.id, m.words) for m in index.match(tender))
        by_loop = sorted((m.filter.id, m.words) for m in naive_match(filters, tender))
        assert by_index == by_loop
