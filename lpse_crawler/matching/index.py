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
from typing import NamedTuple

from lpse_crawler.matching.filters import FilterSpec
from lpse_crawler.matching.fit import TenderFacts, fields_fit, matches
from lpse_crawler.people.delivery import INSTANT, Delivery

ANY = "*"


@dataclass(frozen=True)
class CompiledFilter:
    """A saved filter ready for matching."""

    id: int
    subscriber_id: int
    name: str
    spec: FilterSpec
    created_at: datetime | None = None  # a filter never receives packages stored before it
    delivery: Delivery = INSTANT  # at once, or a digest; its subscriber's quiet hours


class Match(NamedTuple):
    filter: CompiledFilter
    words: list[str]


class FilterIndex:
    """Keys (instance, word, category) -> filters; see the module docstring."""

    def __init__(self, filters: list[CompiledFilter], instances_by_province: dict[str, set[str]]):
        self._keys: dict[tuple[str, str, str], list[tuple[int, _Entry]]] = defaultdict(list)
        for compiled in filters:
            spec = compiled.spec
            scope = set(spec.instances)
            for province in spec.provinces:
                scope |= instances_by_province.get(province, set())
            # Being filed under a key proves the package is in the filter's places (unless its
            # provinces have no LPSE) and categories, and holds the key's word.
            in_scope = bool(scope) or not (spec.instances or spec.provinces)
            entry = (compiled.id, _Entry(compiled, in_scope, _sure_words(spec)))
            for instance in scope or {ANY}:
                for word in anchor_words(spec):
                    for category in spec.categories or {ANY}:
                        self._keys[(instance, word, category)].append(entry)
        self.ids = frozenset(compiled.id for compiled in filters)  # the filters it matches
        self.size = len(filters)

    def match(self, facts: TenderFacts) -> list[Match]:
        """Every filter the package fits, with the words that matched."""
        candidates: dict[int, _Entry] = {}
        lookups = set(facts.tokens) | {ANY}
        keys = self._keys
        for instance in (*facts.instances, ANY):
            for word in lookups:
                for category in (facts.kategori, ANY):
                    if found := keys.get((instance, word, category)):
                        candidates.update(found)
        fitting = []
        for compiled, in_scope, sure in candidates.values():
            if sure is None:
                hit = matches(compiled.spec, facts, in_scope)
            else:
                hit = list(sure) if fields_fit(compiled.spec, facts, in_scope) else None
            if hit is not None:
                fitting.append(Match(compiled, hit))
        return fitting


class _Entry(NamedTuple):
    filter: CompiledFilter
    in_scope: bool  # see FilterIndex.__init__
    sure: tuple[str, ...] | None  # the words matched whenever it is found (its key's word), or None


def _sure_words(spec: FilterSpec) -> tuple[str, ...] | None:
    """The words that match whenever a package is found under the filter's key: none when it
    has no keywords, the one word when that is all it has; None when they must be checked."""
    if spec.exclusions:
        return None
    if not spec.groups:
        return ()
    if len(spec.groups) == 1 and len(spec.groups[0]) == 1 and len(spec.groups[0][0].tokens) == 1:
        return (spec.groups[0][0].text,)
    return None


def anchor_words(spec: FilterSpec) -> set[str]:
    """One word per alternative of the most selective keyword group, or {ANY}."""
    if not spec.groups:
        return {ANY}
    group = min(spec.groups, key=lambda g: (len(g), -max(len(w) for atom in g for w in atom.tokens)))
    return {max(atom.tokens, key=len) for atom in group}


def naive_match(filters: list[CompiledFilter], facts: TenderFacts) -> list[Match]:
    """The loop the index replaces (kept for tests and benchmarks)."""
    return [Match(f, hit) for f in filters if (hit := matches(f.spec, facts)) is not None]
