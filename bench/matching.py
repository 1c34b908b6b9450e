"""(c) Matching and its outbox write: 100,000 filters as vendors write them, one package at a time.

Filters (`make_filters`): half watch one of the words vendors watch most (jalan,
pembangunan, pengadaan, rehabilitasi, belanja), the others words of the recorded package
names drawn by how often they occur there; 35% name a province, 25% are nationwide, the
rest name a few LPSE; some add a category, a value range or an exclusion. Three filters
per subscriber (~33,000 subscribers). Packages take the 128 recorded names (all kinds)
and a random LPSE of the registry.

Measured in one run, wall and CPU time: the index against the naive loop over every
filter, on a sample compared filter by filter (the same filters with the same words for
every package); and the whole match stage per package (`alerts.match_tender`: read the
package, match, write its notifications to an SQLite outbox, clear its mark, commit),
its notifications checked against the naive loop's. Targets: match + write under 10 ms
per package; the index at least 10x faster than the naive loop.

Baseline, in the same run: SQLite's own share of the write. Each package's rows, built
beforehand by the outbox's own row builder from the index's matches, are run through the
same cached statement into a second outbox of the same schema (its indexes and foreign
keys, the same subscribers and packages), one transaction per package: no matching, no
reading, no row building. What the match stage could still save is its time beyond this.
"""

import gc
import json
import random
import tempfile
import time
from bisect import bisect
from collections import Counter
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

from lpse_crawler.matching import alerts
from lpse_crawler.matching.filters import FilterError
from lpse_crawler.matching.fit import TenderFacts, tender_facts
from lpse_crawler.matching.index import CompiledFilter, FilterIndex, Match, naive_match
from lpse_crawler.matching.saved_filters import InstanceGeography
from lpse_crawler.matching.textmatch import words
from lpse_crawler.outbox import Notification, _enqueue_sql, _notification_rows
from lpse_crawler.people.models import Subscriber
from lpse_crawler.spse.registry import InstanceRecord, load_registry, sync_registry
from lpse_crawler.store.database import database, utcnow, write_transaction
from lpse_crawler.store.models import Tender, TenderListing
from lpse_crawler.store.schema import open_database
from lpse_crawler.store.statements import execute_many

RECORDED = Path(__file__).resolve().parent.parent / "tests" / "files" / "recorded"
FILTERS, FILTERS_PER_SUBSCRIBER = 100_000, 3
INDEX_PACKAGES, STAGE_PACKAGES, NAIVE_SAMPLE = 1_000, 300, 30
WATCHED = ["jalan", "pembangunan", "pengadaan", "rehabilitasi", "belanja"]
# Words nobody watches: particles, years, and the like.
STOPWORDS = {"dan", "untuk", "pada", "dalam", "yang", "tahun", "anggaran", "kegiatan", "dengan", "paket"}
FILTER_CATEGORIES = ["barang", "konstruksi", "konsultansi", "lainnya"]
PACKAGE_CATEGORIES = ["Pengadaan Barang", "Pekerjaan Konstruksi", "Jasa Lainnya"]
HPS_TERMS = ["hps:>=100jt", "hps:<=5m", "hps:200jt-10m"]
TARGET_MS, TARGET_SPEEDUP = 10.0, 10


class Clock:
    """`with Clock() as c:` -> c.wall, c.cpu and c.gc (wall time in garbage collection), in seconds."""

    collecting = 0.0  # seconds spent in garbage collection so far, by this process

    def __enter__(self):
        self.wall, self.cpu, self.gc = time.perf_counter(), time.process_time(), Clock.collecting
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu
        self.gc = Clock.collecting - self.gc

    @staticmethod
    def note_collection(phase: str, info: dict, started=[0.0]) -> None:  # noqa: B006 (a cell)
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            Clock.collecting += time.perf_counter() - started[0]


gc.callbacks.append(Clock.note_collection)


@dataclass(frozen=True)
class Package:
    nama: str
    instance: str
    kategori: str
    hps: int | None


def recorded_names() -> list[str]:
    """The 128 package names of every recorded listing (all kinds)."""
    names = []
    for path in sorted(RECORDED.glob("dt_*.json")):
        names += [str(row[1]).split("<span")[0] for row in json.loads(path.read_text())["data"]]
    return names


class Vocabulary:
    """Words of the recorded names, drawn as often as names carry them."""

    def __init__(self, names: list[str]):
        counts = Counter(w for n in names for w in dict.fromkeys(words(n)) if len(w) > 2 and not w.isdigit())
        self.words = [w for w in counts if w not in STOPWORDS]
        self.cumulative = list(accumulate(counts[w] for w in self.words))

    def draw(self, rng: random.Random) -> str:
        return self.words[bisect(self.cumulative, rng.random() * self.cumulative[-1])]


def make_filter(rng: random.Random, vocab: Vocabulary, codes: list[str], provinces: list[str]) -> str:
    """One filter text in the realistic mix (see the module docstring)."""
    if rng.random() < 0.5:
        parts = [rng.choice(WATCHED)]
    else:
        groups = rng.choice([1, 1, 2])
        parts = [
            " | ".join(dict.fromkeys(vocab.draw(rng) for _ in range(rng.choice([1, 1, 2]))))
            for _ in range(groups)
        ]
    if rng.random() < 0.3:
        parts.append(f"-{vocab.draw(rng)}")
    scope = rng.random()
    if scope < 0.35:
        parts.append(f'provinsi:"{rng.choice(provinces)}"')
    elif scope < 0.75:
        parts.append("lpse:" + ",".join(rng.sample(codes, rng.randint(1, 5))))
    if rng.random() < 0.6:
        parts.append(f"kategori:{rng.choice(FILTER_CATEGORIES)}")
    if rng.random() < 0.3:
        parts.append(rng.choice(HPS_TERMS))
    return " ".join(parts)


def make_filters(rng: random.Random, count: int, geography: InstanceGeography) -> list[CompiledFilter]:
    """`count` compiled filters, three per subscriber (subscriber ids from 1)."""
    vocab, codes = Vocabulary(recorded_names()), sorted(geography.codes)
    provinces = sorted(geography.by_province)
    compiled = []
    while len(compiled) < count:
        n = len(compiled)
        try:
            spec = geography.parse(make_filter(rng, vocab, codes, provinces))
        except FilterError:  # e.g. a word both watched and excluded
            continue
        compiled.append(CompiledFilter(n + 1, n // FILTERS_PER_SUBSCRIBER + 1, f"f{n}", spec))
    return compiled


def make_packages(rng: random.Random, count: int, codes: list[str]) -> list[Package]:
    names = recorded_names()
    hps = [None, 150_000_000, 2_000_000_000]
    return [
        Package(rng.choice(names), rng.choice(codes), rng.choice(PACKAGE_CATEGORIES), rng.choice(hps))
        for _ in range(count)
    ]


def facts_of(package: Package, geography: InstanceGeography) -> TenderFacts:
    """The facts `alerts.match_tender` reads from the stored package."""
    return tender_facts(
        nama=package.nama,
        instances={package.instance},
        provinces={geography.province_of[package.instance]},
        instansi="Kota Surabaya",
        kategori=package.kategori,
        kind="tender",
        kbli=[],
        size=None,
        hps=package.hps,
        pagu=None,
        hps_listing=None,
    )


def found(matches: list[Match]) -> set[tuple[int, tuple[str, ...]]]:
    return {(m.filter.id, tuple(m.words)) for m in matches}


def index_against_naive(index: FilterIndex, compiled: list[CompiledFilter], facts: list[TenderFacts]) -> dict:
    """The index over every package; then, on a sample, the naive loop and the index in
    turns (the same conditions for both), compared filter by filter."""
    with Clock() as index_clock:
        matched = sum(len(index.match(f)) for f in facts)
    naive_cpu = sample_cpu = sample_gc = 0.0
    differ = 0
    for f in facts[:NAIVE_SAMPLE]:
        with Clock() as naive_clock:
            naive = naive_match(compiled, f)
        with Clock() as sample_clock:
            indexed = index.match(f)
        naive_cpu, sample_cpu = naive_cpu + naive_clock.cpu, sample_cpu + sample_clock.cpu
        sample_gc += sample_clock.gc
        differ += found(indexed) != found(naive)
    return {
        "index_ms": index_clock.cpu / len(facts) * 1000,
        "index_wall_ms": index_clock.wall / len(facts) * 1000,
        "index_gc_ms": index_clock.gc / len(facts) * 1000,
        "per_package": matched / len(facts),
        "naive_ms": naive_cpu / NAIVE_SAMPLE * 1000,
        "sample_ms": sample_cpu / NAIVE_SAMPLE * 1000,
        "sample_gc_ms": sample_gc / NAIVE_SAMPLE * 1000,
        "differ": differ,
    }


def store_packages(packages: list[Package], subscribers: int) -> list[int]:
    """Subscribers and packages (marked "to match", listed on their LPSE) in the open database."""
    now = utcnow()
    people = [{"id": i, "chat_id": 10_000_000 + i} for i in range(1, subscribers + 1)]
    with database.atomic():
        for start in range(0, len(people), 500):
            Subscriber.insert_many(people[start : start + 500]).execute()
        ids = []
        for n, p in enumerate(packages):
            row = {"kind": "tender", "kode": str(90_000_000 + n), "instance_first_seen": p.instance}
            row |= {"nama": p.nama, "instansi": "Kota Surabaya", "kategori": p.kategori, "hps": p.hps}
            row |= {"metode": "Tender", "tahap": "Pengumuman", "url": f"https://example.invalid/{n}"}
            row |= {"listing_hash": "-", "content_hash": "-", "match_pending": True}
            ids.append(Tender.insert(row).execute())
            TenderListing.insert(tender=ids[-1], instance=p.instance, first_seen_at=now).execute()
    return ids


def expected_outbox(matches: list[Match]) -> dict[int, list[int]]:
    """{subscriber: sorted filter ids}: one notification per subscriber."""
    by_subscriber: dict[int, list[int]] = {}
    for m in matches:
        by_subscriber.setdefault(m.filter.subscriber_id, []).append(m.filter.id)
    return {s: sorted(ids) for s, ids in by_subscriber.items()}


def match_stage(index, compiled, packages, registry: list[InstanceRecord]) -> dict:
    """alerts.match_tender per package into a fresh SQLite outbox, timed (and the index's
    share of it, timed apart on the same package); then checked."""
    with tempfile.TemporaryDirectory() as tmp:
        open_database(f"sqlite:///{tmp}/bench.db")
        sync_registry(registry)
        ids = store_packages(packages, compiled[-1].subscriber_id)
        geography = InstanceGeography()
        stage, matching, queued = [], 0.0, []
        for tender_id, package in zip(ids, packages, strict=True):
            with Clock() as clock:
                index.match(facts_of(package, geography))
            matching += clock.cpu
            with Clock() as clock:
                queued.append(alerts.match_tender(index, geography, tender_id))
            stage.append(clock)
        figures = check_outbox(ids, packages, compiled, geography, sum(queued))
        database.close()
        figures |= write_floor(index, geography, ids, packages, compiled, registry, f"{tmp}/floor.db")
    tail = stage[-len(stage) // 5 :]
    return figures | {
        "ms": sum(c.cpu for c in stage) / len(stage) * 1000,
        "wall_ms": sum(c.wall for c in stage) / len(stage) * 1000,
        "gc_ms": sum(c.gc for c in stage) / len(stage) * 1000,
        "matching_ms": matching / len(stage) * 1000,
        "first_ms": sum(c.cpu for c in stage[: len(tail)]) / len(tail) * 1000,
        "tail_ms": sum(c.cpu for c in tail) / len(tail) * 1000,
        "per_package": sum(queued) / len(ids),
    }


def write_floor(index, geography, ids, packages, compiled, registry, path: str) -> dict:
    """SQLite's own work for the match stage's rows (see the module docstring): CPU per
    package, and whether the second outbox came out the same size."""
    rows = [
        _notification_rows(t, index.match(facts_of(p, geography))) for t, p in zip(ids, packages, strict=True)
    ]
    open_database(f"sqlite:///{path}")
    sync_registry(registry)
    store_packages(packages, compiled[-1].subscriber_id)
    sql = _enqueue_sql(database.param)
    written = 0
    with Clock() as clock:
        for package_rows in rows:
            with write_transaction():
                written += execute_many(sql, package_rows)
    stored = Notification.select().count()
    database.close()
    return {"floor_ms": clock.cpu / len(rows) * 1000, "floor_same": written == stored == sum(map(len, rows))}


def check_outbox(ids, packages, compiled, geography, queued: int) -> dict:
    """The outbox holds what match_tender said it queued, no mark is left, and a sample of
    packages has exactly the notifications the naive loop implies."""
    stored = Notification.select().count()
    left = Tender.select().where(Tender.match_pending).count()
    wrong = 0
    for tender_id, package in list(zip(ids, packages, strict=True))[:NAIVE_SAMPLE]:
        rows = Notification.select(Notification.subscriber, Notification.filter_ids)
        rows = {n.subscriber_id: n.filter_ids for n in rows.where(Notification.tender == tender_id)}
        wrong += rows != expected_outbox(naive_match(compiled, facts_of(package, geography)))
    return {"stored": stored, "checked": stored == queued and left == 0 and wrong == 0, "wrong": wrong}


def main() -> None:
    rng = random.Random(2026)
    registry = load_registry()
    with tempfile.TemporaryDirectory() as tmp:  # the geography as the crawl loads it
        open_database(f"sqlite:///{tmp}/registry.db")
        sync_registry(registry)
        geography = InstanceGeography()
        database.close()
    with Clock() as built:
        compiled = make_filters(rng, FILTERS, geography)
        index = FilterIndex(compiled, geography.by_province)
    gc.freeze()  # as the crawl does once its index is built (pipelines.MatchPipeline)
    packages = make_packages(rng, INDEX_PACKAGES, sorted(geography.codes))
    facts = [facts_of(p, geography) for p in packages]
    figures = index_against_naive(index, compiled, facts)
    stage = match_stage(index, compiled, packages[:STAGE_PACKAGES], registry)
    subscribers = len(compiled) // FILTERS_PER_SUBSCRIBER
    print(
        f"(c) matching {len(compiled):,} realistic filters of {subscribers:,} subscribers "
        f"(compiled in {built.wall:.0f} s)"
    )
    report_matching(figures)
    report_stage(stage)


def report_matching(f: dict) -> None:
    print(
        f"    index: {f['index_ms']:.2f} ms CPU per package ({f['index_wall_ms']:.2f} ms wall, GC "
        f"{f['index_gc_ms']:.2f} ms) over {INDEX_PACKAGES:,} packages: {f['per_package']:,.0f} matches "
        "per package (realistic: ~1,300)"
    )
    speedup = f["naive_ms"] / f["sample_ms"]
    print(
        f"    naive loop over every filter: {f['naive_ms']:.1f} ms CPU per package, index "
        f"{f['sample_ms']:.2f} ms (GC {f['sample_gc_ms']:.2f} ms), in turns on {NAIVE_SAMPLE} packages: "
        f"{speedup:,.1f}x (target >= {TARGET_SPEEDUP}x: {'MET' if speedup >= TARGET_SPEEDUP else 'MISSED'})"
    )
    print(f"    the same filters with the same words as the naive loop on every package: {f['differ'] == 0}")


def report_stage(stage: dict) -> None:
    verdict = "MET" if stage["ms"] < TARGET_MS else "MISSED"
    print(
        f"    match + outbox write (alerts.match_tender, SQLite): {stage['ms']:.2f} ms CPU per package "
        f"({stage['wall_ms']:.2f} ms wall, GC {stage['gc_ms']:.2f} ms) over {STAGE_PACKAGES} packages, "
        f"{stage['per_package']:,.0f} notifications each (target < {TARGET_MS:.0f} ms: {verdict})"
    )
    write = stage["ms"] - stage["matching_ms"]
    print(
        f"      of which matching {stage['matching_ms']:.2f} ms, reading and writing {write:.2f} ms; "
        f"first fifth {stage['first_ms']:.2f} ms, last fifth {stage['tail_ms']:.2f} ms "
        f"(outbox {stage['stored']:,} rows at the end)"
    )
    print(
        f"    baseline, SQLite's own work for the same rows (the statement run alone, one transaction "
        f"per package): {stage['floor_ms']:.2f} ms CPU per package; match + write = "
        f"{stage['ms'] / stage['floor_ms']:.2f}x of it, {stage['ms'] - stage['floor_ms']:.2f} ms beyond it "
        f"(rows written: {'as many' if stage['floor_same'] else 'NOT as many'})"
    )
    print(
        "    outbox checked (count, no mark left, rows equal to the naive loop's on "
        f"{NAIVE_SAMPLE} packages): {stage['checked']}"
    )


if __name__ == "__main__":
    main()
