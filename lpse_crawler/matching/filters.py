"""Subscribers' filter language: one line of keywords and `field:value` terms.

    jalan | jembatan "beton bertulang" -rehabilitasi lpse:kemkes,jakarta kategori:konstruksi hps:200jt-5m

Keywords are matched against the package name, ignoring case, accents and punctuation,
whole words only. Words are ANDed (`&` may be written between them and changes nothing);
`|` joins alternatives (OR); "quotes" make a phrase; `-word` or `-"a phrase"` excludes, and
an exclusion always wins over any match. No regular expressions are ever taken from users.
FIELDS lists the fields, one parser each; the users' help text is `bot.texts.FILTER_HELP_TEXT`
(shown by `/filter bantuan`, which every error here points to).
"""

import re
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field

from lpse_crawler.matching.textmatch import words
from lpse_crawler.spse.categories import CATEGORIES
from lpse_crawler.spse.values import parse_abbreviated_money

CATEGORY_ALIASES = {
    "barang": "Pengadaan Barang",
    "konstruksi": "Pekerjaan Konstruksi",
    "terintegrasi": "Pekerjaan Konstruksi Terintegrasi",
    "konsultansi": "Jasa Konsultansi Badan Usaha Non Konstruksi",
    "konsultansi-konstruksi": "Jasa Konsultansi Badan Usaha Konstruksi",
    "perorangan": "Jasa Konsultansi Perorangan Non Konstruksi",
    "perorangan-konstruksi": "Jasa Konsultansi Perorangan Konstruksi",
    "lainnya": "Jasa Lainnya",
} | {" ".join(words(c)): c for c in CATEGORIES}
KINDS = {"tender": "tender", "nontender": "nontender", "non-tender": "nontender", "pl": "nontender"}
SIZES = {"kecil": "Kecil", "nonkecil": "Non Kecil", "non-kecil": "Non Kecil"}
YES, NO = {"ya", "yes", "y"}, {"tidak", "no", "t", "n"}
MAX_LENGTH = 500
HELP_HINT = "Ketik /filter bantuan."
_TOKEN = re.compile(
    r'\s*(?:(?P<bar>\|)|(?P<amp>&)|(?P<neg>-)?(?:(?P<key>[A-Za-z]+):)?(?:"(?P<quoted>[^"]*)"|(?P<word>[^\s"|&]+)))'
)


class FilterError(ValueError):
    """An expression we cannot accept; the message says what is wrong, in Indonesian."""


@dataclass(frozen=True)
class Atom:
    """A word or phrase as typed (`text`) and as matched (`tokens`)."""

    text: str
    tokens: tuple[str, ...]


@dataclass(frozen=True)
class FilterSpec:
    """A parsed filter. Empty sets mean "any"."""

    groups: tuple[tuple[Atom, ...], ...] = ()  # AND of OR-groups
    exclusions: tuple[Atom, ...] = ()
    instances: frozenset[str] = frozenset()
    provinces: frozenset[str] = frozenset()
    agencies: tuple[tuple[str, ...], ...] = ()
    categories: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()
    kbli: frozenset[str] = frozenset()
    sizes: frozenset[str] = frozenset()
    hps_min: int | None = None
    hps_max: int | None = None
    hps_unknown: bool = True  # packages with no HPS nor pagu match

    @property
    def keyword_count(self) -> int:
        return sum(len(g) for g in self.groups) + len(self.exclusions)


# -- parsing: a line -> terms -> FilterSpec ---------------------------------------------


def parse_filter(text: str, known_instances: set[str], known_provinces: dict[str, str]) -> FilterSpec:
    """Parse one line; `known_provinces` maps normalised province names to their spelling."""
    _check_text(text)
    terms = _Terms()
    for match in _tokens(text):
        terms.add(match)
    terms.finish()
    spec = FilterSpec(
        groups=tuple(tuple(g) for g in terms.groups),
        exclusions=tuple(terms.exclusions),
        **_fields(terms.values, _Known(known_instances, known_provinces)),
    )
    _check_spec(spec)
    return spec


def _check_text(text: str) -> None:
    if len(text) > MAX_LENGTH:
        raise FilterError(f"Filter terlalu panjang: paling banyak {MAX_LENGTH} karakter.")
    if text.count('"') % 2:
        raise FilterError('Tanda kutip (") belum ditutup.')


def _tokens(text: str) -> Iterator[re.Match]:
    """The terms of `text`, left to right; anything between two terms is refused."""
    position = 0
    for match in _TOKEN.finditer(text):
        if match.start() != position:
            raise FilterError(f"Tidak bisa membaca filter mulai dari: {text[position : position + 20]!r}")
        position = match.end()
        yield match


@dataclass
class _Terms:
    """What the line has said so far: keyword groups (AND of ORs), exclusions, field values."""

    groups: list[list[Atom]] = field(default_factory=list)
    exclusions: list[Atom] = field(default_factory=list)
    values: dict[str, list[str]] = field(default_factory=dict)
    joining: bool = False  # a `|` waits for the word after it
    anding: bool = False  # a `&` waits for the term after it (AND is what terms do anyway)

    def add(self, match: re.Match) -> None:
        if match.group("bar"):
            return self._bar()
        if match.group("amp"):
            return self._amp()
        self.anding = False
        key = (match.group("key") or "").lower()
        raw = match.group("quoted") if match.group("quoted") is not None else match.group("word")
        if key in FIELDS:
            return self._field(key, raw, negated=bool(match.group("neg")))
        self._keyword(_atom(f"{key}:{raw}" if key else raw), negated=bool(match.group("neg")))

    def finish(self) -> None:
        if self.joining:
            raise FilterError("Tanda | di akhir filter: tulis kata sesudahnya, mis. jalan | jembatan.")
        if self.anding:
            raise FilterError("Tanda & di akhir filter: tulis kata sesudahnya, mis. jalan & jembatan.")

    def _bar(self) -> None:
        if not self.groups or self.joining or self.anding:
            raise FilterError("Tanda | harus berada di antara dua kata, mis. jalan | jembatan.")
        self.joining = True

    def _amp(self) -> None:
        if not (self.groups or self.exclusions or self.values) or self.joining or self.anding:
            raise FilterError("Tanda & harus berada di antara dua kata, mis. jalan & jembatan.")
        self.anding = True

    def _field(self, key: str, raw: str, negated: bool) -> None:
        if negated or self.joining:
            raise FilterError(f"{key}: tidak bisa diawali '-' atau digabung dengan |.")
        parts = [raw] if FIELDS[key].single_valued else raw.split(",")
        self.values.setdefault(key, []).extend(v.strip() for v in parts if v.strip())

    def _keyword(self, atom: Atom, negated: bool) -> None:
        if negated and self.joining:
            raise FilterError("Pengecualian (-kata) tidak bisa digabung dengan |.")
        if negated:
            self.exclusions.append(atom)
        elif self.joining:
            self.groups[-1].append(atom)
            self.joining = False
        else:
            self.groups.append([atom])


def _atom(text: str) -> Atom:
    tokens = words(text)
    if not tokens:
        raise FilterError(f"'{text}' tidak berisi huruf atau angka.")
    return Atom(text=text, tokens=tokens)


def _check_spec(spec: FilterSpec) -> None:
    if spec.hps_min is not None and spec.hps_max is not None and spec.hps_min > spec.hps_max:
        raise FilterError("hps: batas bawah lebih besar dari batas atas.")
    if not (spec.groups or spec.exclusions) and spec == FilterSpec(hps_unknown=spec.hps_unknown):
        raise FilterError(f"Filter kosong: tulis kata kunci atau kolom seperti lpse:, kategori:. {HELP_HINT}")


# -- fields: `name:value,value` -> FilterSpec attributes, one parser per field ----------


@dataclass(frozen=True)
class _Known:
    """What field values are checked against: instance codes, provinces by folded name."""

    instances: set[str]
    provinces: dict[str, str]


def _parse_lpse(values: list[str], known: _Known) -> dict:
    codes = {v.lower() for v in values}
    _refuse_unknown("LPSE", codes - known.instances, "Cari kodenya lewat /filter (ketik sebagian nama LPSE).")
    return {"instances": frozenset(codes)}


def _parse_provinsi(values: list[str], known: _Known) -> dict:
    typed = {" ".join(words(v)): v for v in values}
    hint = 'Tulis nama lengkap, mis. "Jawa Timur".'
    return {"provinces": _look_up("Provinsi", typed.items(), known.provinces, hint)}


def _parse_instansi(values: list[str], known: _Known) -> dict:
    return {"agencies": tuple(words(v) for v in values if words(v))}


def _parse_kategori(values: list[str], known: _Known) -> dict:
    typed = {v.lower() if v.lower() in CATEGORY_ALIASES else " ".join(words(v)): v for v in values}
    return {"categories": _look_up("Kategori", typed.items(), CATEGORY_ALIASES, HELP_HINT)}


def _parse_jenis(values: list[str], known: _Known) -> dict:
    typed = [(v.lower(), v) for v in values]
    return {"kinds": _look_up("Jenis", typed, KINDS, "Pilih tender atau nontender.")}


def _parse_kbli(values: list[str], known: _Known) -> dict:
    unknown = {v for v in values if not re.fullmatch(r"\d{2,5}", v)}
    _refuse_unknown("KBLI", unknown, "Kode KBLI berupa 2-5 angka.")
    return {"kbli": frozenset(values)}


def _parse_kualifikasi(values: list[str], known: _Known) -> dict:
    typed = [(v.lower(), v) for v in values]
    return {"sizes": _look_up("Kualifikasi", typed, SIZES, "Pilih kecil atau nonkecil.")}


def _parse_hps(values: list[str], known: _Known) -> dict:
    bounds: dict = {}
    for value in values:
        bounds |= _hps_bounds(value)
    return bounds


def _parse_hpskosong(values: list[str], known: _Known) -> dict:
    if any(v.lower() not in YES | NO for v in values):
        raise FilterError("hpskosong: tulis ya atau tidak.")
    return {"hps_unknown": values[-1].lower() in YES} if values else {}


@dataclass(frozen=True)
class Field:
    """One `name:` of the language: its parser (values -> FilterSpec attributes, or FilterError)."""

    parse: Callable[[list[str], _Known], dict]
    single_valued: bool = False  # the value is not split at commas: "1,5m" is one amount


FIELDS = {  # checked in this order: the first field with a bad value is the one reported
    "lpse": Field(_parse_lpse),
    "provinsi": Field(_parse_provinsi),
    "instansi": Field(_parse_instansi),
    "kategori": Field(_parse_kategori),
    "jenis": Field(_parse_jenis),
    "kbli": Field(_parse_kbli),
    "kualifikasi": Field(_parse_kualifikasi),
    "hps": Field(_parse_hps, single_valued=True),
    "hpskosong": Field(_parse_hpskosong, single_valued=True),
}


def _fields(values: dict[str, list[str]], known: _Known) -> dict:
    attributes: dict = {}
    for name, rule in FIELDS.items():
        if name in values:
            attributes |= rule.parse(values[name], known)
    return attributes


def _look_up(what: str, typed: Collection[tuple[str, str]], table: Mapping[str, str], hint: str) -> frozenset:
    """`typed` pairs each value's key in `table` with the value as typed, which errors show."""
    _refuse_unknown(what, {value for key, value in typed if key not in table}, hint)
    return frozenset(table[key] for key, _ in typed)


def _refuse_unknown(what: str, unknown: set[str], hint: str) -> None:
    if unknown:
        raise FilterError(f"{what} tidak dikenal: {', '.join(sorted(unknown))}. {hint}")


def _hps_bounds(value: str) -> dict:
    """`200jt-5m`, `>=1m`, `<=500jt` -> hps_min / hps_max in rupiah."""
    text = value.lower().replace(" ", "")
    try:
        if text.startswith(">="):
            return {"hps_min": _amount(text[2:])}
        if text.startswith("<="):
            return {"hps_max": _amount(text[2:])}
        low, sep, high = text.partition("-")
        if sep and low and high:
            return {"hps_min": _amount(low), "hps_max": _amount(high)}
    except ValueError:
        pass
    raise FilterError(f"hps:{value} tidak bisa dibaca. Contoh: hps:200jt-5m, hps:>=1m, hps:<=500jt.")


def _amount(text: str) -> int:
    match = re.fullmatch(r"(\d+(?:[.,]\d+)?)(rb|jt|m|t)", text)
    if not match:
        raise ValueError(text)
    return parse_abbreviated_money(f"{match.group(1).replace('.', ',')} {match.group(2).capitalize()}")
