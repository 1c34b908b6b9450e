"""Whether a filter fits a package: the package's facts as filters see them, prepared once
per package, and the checks in order (fields, exclusions, keywords)."""

from dataclasses import dataclass, field

from lpse_crawler.matching.filters import FilterSpec
from lpse_crawler.matching.textmatch import contains_phrase, positions, words


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


def tender_facts(
    *,
    nama: str,
    instances: set[str],
    provinces: set[str],
    instansi: str,
    kategori: str,
    kind: str,
    kbli: list[str],
    size: str | None,
    hps: int | None,
    pagu: int | None,
    hps_listing: int | None,
) -> TenderFacts:
    """Prepare a package for matching."""
    tokens = words(nama)
    value = next((v for v in (hps, pagu, hps_listing) if v is not None), None)
    return TenderFacts(
        instances=frozenset(instances),
        provinces=frozenset(provinces),
        instansi=words(instansi),
        kategori=kategori,
        kind=kind,
        kbli=tuple(kbli),
        size=size,
        value=value,
        tokens=tokens,
        where=positions(tokens),
    )


def facts_of(tender, instances: set[str], province_of: dict[str, str]) -> TenderFacts:
    """The facts of a stored package (a Tender, or anything with its fields) listed on
    `instances`, their provinces by `province_of`."""
    return tender_facts(
        nama=tender.nama,
        instances=instances,
        provinces={province_of[c] for c in instances if c in province_of},
        instansi=tender.instansi,
        kategori=tender.kategori,
        kind=tender.kind,
        kbli=tender.kbli,
        size=tender.kualifikasi_usaha,
        hps=tender.hps,
        pagu=tender.pagu,
        hps_listing=tender.hps_listing,
    )


# -- matching: package fields first, then exclusions, then keywords ---------------------


def matches(spec: FilterSpec, facts: TenderFacts, in_scope: bool = False) -> list[str] | None:
    """The keywords that matched (maybe none) when the package fits `spec`; else None."""
    return _keywords_found(spec, facts) if fields_fit(spec, facts, in_scope) else None


def fields_fit(spec: FilterSpec, facts: TenderFacts, in_scope: bool = False) -> bool:
    """Whether the package fits everything but the keywords. `in_scope`: the caller knows it
    is within the filter's LPSE or provinces and its categories (the index files filters by
    them)."""
    if spec.kinds and facts.kind not in spec.kinds:
        return False
    return (in_scope or _scope_fits(spec, facts)) and _details_fit(spec, facts) and _value_fits(spec, facts)


def _scope_fits(spec: FilterSpec, facts: TenderFacts) -> bool:
    """LPSE or province (either one), then category; an empty one fits any package."""
    if (spec.instances or spec.provinces) and not (
        facts.instances & spec.instances or facts.provinces & spec.provinces
    ):
        return False
    return not spec.categories or facts.kategori in spec.categories


def _details_fit(spec: FilterSpec, facts: TenderFacts) -> bool:
    """Size (an unknown one fits), KBLI prefix, agency; an empty one fits any package."""
    if spec.sizes and facts.size is not None and facts.size not in spec.sizes:
        return False
    if spec.kbli and not any(code.startswith(prefix) for code in facts.kbli for prefix in spec.kbli):
        return False
    return not spec.agencies or any(contains_phrase(facts.instansi, agency) for agency in spec.agencies)


def _value_fits(spec: FilterSpec, facts: TenderFacts) -> bool:
    """The HPS rule: HPS, else pagu; a package with neither fits unless `hpskosong:tidak`."""
    if spec.hps_min is None and spec.hps_max is None:
        return True
    if facts.value is None:
        return spec.hps_unknown
    return (spec.hps_min is None or facts.value >= spec.hps_min) and (
        spec.hps_max is None or facts.value <= spec.hps_max
    )


def _keywords_found(spec: FilterSpec, facts: TenderFacts) -> list[str] | None:
    """No exclusion found and an atom of each OR-group found: the atoms found, in order; else None."""
    tokens, where = facts.tokens, facts.where
    for atom in spec.exclusions:
        if contains_phrase(tokens, atom.tokens, where):
            return None
    matched = []
    for group in spec.groups:
        found = [atom.text for atom in group if contains_phrase(tokens, atom.tokens, where)]
        if not found:
            return None
        matched += found
    return matched
