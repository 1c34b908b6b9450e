"""Subscribers' filter language: one line of keywords and `field:value` terms.

    jalan | jembatan "beton bertulang" -rehabilitasi lpse:kemkes,jakarta kategori:konstruksi hps:200jt-5m

Keywords are matched against the package name, ignoring case, accents and punctuation,
whole words only. Words are ANDed; `|` joins alternatives (OR); "quotes" make a phrase;
`-word` or `-"a phrase"` excludes, and an exclusion always wins over any match. No
regular expressions are ever taken from users. See HELP for the fields.
"""

import re
from dataclasses import dataclass, field

from lpse_crawler.matching.textmatch import contains_phrase, words
from lpse_crawler.spse.categories import CATEGORIES
from lpse_crawler.spse.values import parse_abbreviated_money

HELP = """Cara menulis filter (satu baris):

Kata kunci, dicocokkan dengan nama paket (huruf besar/kecil, aksen dan tanda baca diabaikan; kata utuh):
  jalan beton           kedua kata harus ada (DAN)
  jalan | jembatan      salah satu cukup (ATAU)
  "beton bertulang"     frasa persis
  -rehabilitasi         kecualikan. Pengecualian SELALU menang: paket dengan kata ini tidak dikirim,
                        walaupun kata lain cocok.
Kolom (boleh beberapa nilai, dipisah koma):
  lpse:kemkes,jakarta              kode LPSE
  provinsi:"Jawa Timur"            semua LPSE di provinsi itu
  instansi:"Kementerian Kesehatan" nama K/L/PD (cukup sebagian nama)
  kategori:barang,konstruksi       barang, konstruksi, konsultansi, konsultansi-konstruksi,
                                   perorangan, lainnya, terintegrasi
  jenis:tender atau jenis:nontender
  kbli:41011,42                    kode KBLI (awalan kode juga cocok)
  kualifikasi:kecil atau kualifikasi:nonkecil (paket tanpa keterangan tetap dikirim)
  hps:200jt-5m   hps:>=1m   hps:<=500jt   (satuan rb, jt, m, t)
  hpskosong:tidak                  jangan kirim paket yang HPS-nya belum diketahui
Aturan HPS: dipakai HPS; bila belum ada, pagu; bila keduanya belum diketahui, paket tetap
dikirim, kecuali Anda menulis hpskosong:tidak.
Contoh: jalan | jembatan "beton bertulang" -rehabilitasi provinsi:"Jawa Timur" hps:200jt-5m"""

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
FIELDS = ("lpse", "provinsi", "instansi", "kategori", "jenis", "kbli", "kualifikasi", "hps", "hpskosong")
SINGLE_VALUED = {"hps", "hpskosong"}
MAX_LENGTH = 500
_TOKEN = re.compile(
    r'\s*(?:(?P<bar>\|)|(?P<neg>-)?(?:(?P<key>[A-Za-z]+):)?(?:"(?P<quoted>[^"]*)"|(?P<word>[^\s"|]+)))'
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


@dataclass(frozen=True)
class TenderFacts:
    """What a filter looks at in a package, prepared once per package."""

    instances: frozenset[str]
    provinces: frozenset[str]
    instansi: tuple[str, ...]
    kategori: str
    kind: str
    kbli: tuple[str, ...]
    size: str | None
    value: int | None  # HPS, else pagu, else the listing's rounded HPS
    tokens: tuple[str, ...]
    where: dict[str, list[int]] = field(compare=False, hash=False)


def parse_filter(text: str, known_instances: set[str], known_provinces: dict[str, str]) -> FilterSpec:
    """Parse one line; `known_provinces` maps normalised province names to their spelling."""
    if len(text) > MAX_LENGTH:
        raise FilterError(f"Filter terlalu panjang: paling banyak {MAX_LENGTH} karakter.")
    if text.count('"') % 2:
        raise FilterError('Tanda kutip (") belum ditutup.')
    groups: list[list[Atom]] = []
    exclusions: list[Atom] = []
    values: dict[str, list[str]] = {}
    joining = False
    position = 0
    for match in _TOKEN.finditer(text):
        if match.start() != position:
            raise FilterError(f"Tidak bisa membaca filter mulai dari: {text[position : position + 20]!r}")
        position = match.end()
        if match.group("bar"):
            if not groups or joining:
                raise FilterError("Tanda | harus berada di antara dua kata, mis. jalan | jembatan.")
            joining = True
            continue
        key = (match.group("key") or "").lower()
        raw = match.group("quoted") if match.group("quoted") is not None else match.group("word")
        if key in FIELDS:
            if match.group("neg") or joining:
                raise FilterError(f"{key}: tidak bisa diawali '-' atau digabung dengan |.")
            parts = [raw] if key in SINGLE_VALUED else raw.split(",")  # "1,5m" is one amount
            values.setdefault(key, []).extend(v.strip() for v in parts if v.strip())
            continue
        atom = _atom(f"{key}:{raw}" if key else raw)
        if match.group("neg"):
            if joining:
                raise FilterError("Pengecualian (-kata) tidak bisa digabung dengan |.")
            exclusions.append(atom)
        elif joining:
            groups[-1].append(atom)
            joining = False
        else:
            groups.append([atom])
    if joining:
        raise FilterError("Tanda | di akhir filter: tulis kata sesudahnya, mis. jalan | jembatan.")
    spec = FilterSpec(
        groups=tuple(tuple(g) for g in groups),
        exclusions=tuple(exclusions),
        **_fields(values, known_instances, known_provinces),
    )
    if spec.hps_min is not None and spec.hps_max is not None and spec.hps_min > spec.hps_max:
        raise FilterError("hps: batas bawah lebih besar dari batas atas.")
    if not (spec.groups or spec.exclusions) and spec == FilterSpec(hps_unknown=spec.hps_unknown):
        raise FilterError(
            "Filter kosong: tulis kata kunci atau kolom seperti lpse:, kategori:. " + "Ketik /bantuan."
        )
    return spec


def _atom(text: str) -> Atom:
    tokens = words(text)
    if not tokens:
        raise FilterError(f"'{text}' tidak berisi huruf atau angka.")
    return Atom(text=text, tokens=tokens)


def _fields(values: dict[str, list[str]], instances: set[str], provinces: dict[str, str]) -> dict:
    out: dict = {}
    if "lpse" in values:
        codes = {v.lower() for v in values["lpse"]}
        _known("LPSE", codes - instances, "Lihat daftar kode di /filter.")
        out["instances"] = frozenset(codes)
    if "provinsi" in values:
        keys = {" ".join(words(v)): v for v in values["provinsi"]}
        _known(
            "Provinsi",
            {v for k, v in keys.items() if k not in provinces},
            'Tulis nama lengkap, mis. "Jawa Timur".',
        )
        out["provinces"] = frozenset(provinces[k] for k in keys)
    if "instansi" in values:
        out["agencies"] = tuple(words(v) for v in values["instansi"] if words(v))
    if "kategori" in values:
        names = {
            v.lower() if v.lower() in CATEGORY_ALIASES else " ".join(words(v)): v for v in values["kategori"]
        }
        _known("Kategori", {v for k, v in names.items() if k not in CATEGORY_ALIASES}, "Ketik /bantuan.")
        out["categories"] = frozenset(CATEGORY_ALIASES[k] for k in names)
    if "jenis" in values:
        _known(
            "Jenis", {v for v in values["jenis"] if v.lower() not in KINDS}, "Pilih tender atau nontender."
        )
        out["kinds"] = frozenset(KINDS[v.lower()] for v in values["jenis"])
    if "kbli" in values:
        _known(
            "KBLI",
            {v for v in values["kbli"] if not re.fullmatch(r"\d{2,5}", v)},
            "Kode KBLI berupa 2-5 angka.",
        )
        out["kbli"] = frozenset(values["kbli"])
    if "kualifikasi" in values:
        _known(
            "Kualifikasi",
            {v for v in values["kualifikasi"] if v.lower() not in SIZES},
            "Pilih kecil atau nonkecil.",
        )
        out["sizes"] = frozenset(SIZES[v.lower()] for v in values["kualifikasi"])
    for value in values.get("hps", []):
        out |= _hps_bounds(value)
    for value in values.get("hpskosong", []):
        if value.lower() not in YES | NO:
            raise FilterError("hpskosong: tulis ya atau tidak.")
        out["hps_unknown"] = value.lower() in YES
    return out


def _known(what: str, unknown: set[str], hint: str) -> None:
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


def matches(spec: FilterSpec, facts: TenderFacts) -> list[str] | None:
    """The keywords that matched (maybe none) when the package fits `spec`; else None."""
    if spec.kinds and facts.kind not in spec.kinds:
        return None
    if (spec.instances or spec.provinces) and not (
        facts.instances & spec.instances or facts.provinces & spec.provinces
    ):
        return None
    if spec.categories and facts.kategori not in spec.categories:
        return None
    if spec.sizes and facts.size is not None and facts.size not in spec.sizes:
        return None
    if spec.kbli and not any(code.startswith(prefix) for code in facts.kbli for prefix in spec.kbli):
        return None
    if spec.agencies and not any(contains_phrase(facts.instansi, agency) for agency in spec.agencies):
        return None
    if not _value_fits(spec, facts.value):
        return None
    tokens, where = facts.tokens, facts.where
    for atom in spec.exclusions:
        if contains_phrase(tokens, atom.tokens, where):
            return None
    matched = []
    for group in spec.groups:
        found = False
        for atom in group:
            if contains_phrase(tokens, atom.tokens, where):
                matched.append(atom.text)
                found = True
        if not found:
            return None
    return matched


def _value_fits(spec: FilterSpec, value: int | None) -> bool:
    if spec.hps_min is None and spec.hps_max is None:
        return True
    if value is None:
        return spec.hps_unknown
    return (spec.hps_min is None or value >= spec.hps_min) and (spec.hps_max is None or value <= spec.hps_max)
