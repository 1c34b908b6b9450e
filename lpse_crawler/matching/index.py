"""All active filters compiled into one index, so a package is matched without a loop.

Every filter is filed under keys (instance, word, category) that any package it fits must
produce: its instances (named, or those of its provinces; "*" when it names neither)
crossed with the longest word of each alternative of its most selective keyword group
(anchor_words; "*" when it has no keywords) and its categories (or "*"). A package looks
up its own instances, words and category, each also as "*", and only the filters found
there are checked in full.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from lpse_crawler.matching.filters import FilterSpec
from lpse_crawler.matching.fit import TenderFacts, matches

ANY = "*"


@dataclass(frozen=True)
class CompiledFilter:
    """A saved filter ready for matching."""

    id: int
    subscriber_id: int
    name: str
    spec: FilterSpec
    created_at: datetime | None = None  # a filter never receives packages stored before it


@dataclass(frozen=True)
class Match:
    filter: CompiledFilter
    words: list[str]


class FilterIndex:
    """Keys (instance, word) -> filters; see the module docstring."""

    def __init__(self, filters: list[CompiledFilter], instances_by_province: dict[str, set[str]]):
        self._keys: dict[tuple[str, str, str], list[CompiledFilter]] = defaultdict(list)
        for compiled in filters:
            spec = compiled.spec
            scope = set(spec.instances)
            for province in spec.provinces:
                scope |= instances_by_province.get(province, set())
            for instance in scope or {ANY}:
                for word in anchor_words(spec):
                    for category in spec.categories or {ANY}:
                        self._keys[(instance, word, category)].append(compiled)
        self.size = len(filters)

    def match(self, facts: TenderFacts) -> list[Match]:
        """Every filter the package fits, with the words that matched."""
        candidates: dict[int, CompiledFilter] = {}
        lookups = set(facts.tokens) | {ANY}
        keys = self._keys
        for instance in (*facts.instances, ANY):
            for word in lookups:
                for category in (facts.kategori, ANY):
                    for compiled in keys.get((instance, word, category), ()):
                        candidates[compiled.id] = compiled
        found = []
        for compiled in candidates.values():
            hit = matches(compiled.spec, facts)
            if hit is not None:
                found.append(Match(compiled, hit))
        return found


def anchor_words(spec: FilterSpec) -> set[str]:
    """One word per alternative of the most selective keyword group, or {ANY}."""
    if not spec.groups:
        return {ANY}
    group = min(spec.groups, key=lambda g: (len(g), -max(len(w) for atom in g for w in atom.tokens)))
    return {max(atom.tokens, key=len) for atom in group}


def naive_match(filters: list[CompiledFilter], facts: TenderFacts) -> list[Match]:
    """The loop the index replaces (kept for tests and benchmarks)."""
    return [Match(f, hit) for f in filters if (hit := matches(f.spec, facts)) is not None]
