"""(a) Items per CPU-second through every stage the crawl's pipelines run, for 20,000 items
shaped like the recorded ones.

The crawl's own pipelines run (settings.ITEM_PIPELINES, in order), fed as the spider feeds
them: a listing page of 100 rows (ListingPipeline: queue the rows for their details, note
the page's coverage), then each of its packages (NormalisePipeline; StorePipeline: the
upsert with its stage, its listing and the delete of its queue row; MatchPipeline: read,
match and clear the mark) with the filter index of a service without filters yet
(matching 100,000 filters and writing their outbox rows is `python -m bench matching`).
Checked afterwards: every package stored once with its listing and stage, the detail
queue empty, no mark left, and a sample of stored rows equal to the items.

Baseline, in the same run: the same rows written with the standard library's sqlite3, one
transaction per row (the least a durable per-item store can cost). Target: at least 4,000
items per CPU-second through every stage.
"""

import json
import random
import resource
import sqlite3
import tempfile
from collections import Counter, defaultdict
from dataclasses import asdict, fields
from itertools import zip_longest
from pathlib import Path

from scrapy.utils.misc import load_object

from bench.matching import Clock
from lpse_crawler import settings
from lpse_crawler.items import ListingPage, RawPackage, TenderItem
from lpse_crawler.spse.coverage import Coverage, Run
from lpse_crawler.spse.listing import NONTENDER, TENDER, parse_listing_row
from lpse_crawler.spse.pages import parse_announcement, parse_schedule
from lpse_crawler.spse.registry import load_registry, sync_registry
from lpse_crawler.store.database import database
from lpse_crawler.store.models import PendingDetail, Tender, TenderListing, TenderStage
from lpse_crawler.store.schema import open_database

RECORDED = Path(__file__).resolve().parent.parent / "tests" / "files" / "recorded"
ITEMS, PAGE_ROWS, SAMPLE = 20_000, 100, 300
TARGET = 4_000
YEAR = 2025


class Stats:
    """The crawler's stats, as the pipelines use them."""

    def __init__(self):
        self.values = Counter()

    def inc_value(self, key, count=1, start=0):
        self.values[key] += count

    def set_value(self, key, value):
        self.values[key] = value

    def get_value(self, key, default=None):
        return self.values.get(key, default)


class Spider:
    def __init__(self):
        self.health = {}

    def fail_storage(self, instance, error, where, exc):
        raise exc  # a benchmark stops at the first failure


class Crawler:
    def __init__(self):
        self.stats, self.spider = Stats(), Spider()


def raw_packages(count: int) -> list[RawPackage]:
    """`count` packages: recorded rows (codes renumbered) with the recorded detail pages."""
    announcement = parse_announcement((RECORDED / "nontender_pengumumanpl.htm").read_text())
    announcement.fields.pop("kode paket")
    schedule = parse_schedule((RECORDED / "nontender_jadwal_berubah_pontianak_10748199000.html").read_text())
    sources = [(TENDER, "dt_lelang_kemkes_tahun2025.json"), (NONTENDER, "dt_pl_kemkes_tahun2025.json")]
    rows = [
        (layout, row) for layout, name in sources for row in json.loads((RECORDED / name).read_text())["data"]
    ]
    packages = []
    for n in range(count):
        layout, row = rows[n % len(rows)]
        cells = [str(30_000_000_000 + n * 1000), *row[1:]]
        row = parse_listing_row(layout, cells)
        url = f"https://example.invalid/{n}"
        packages.append(
            RawPackage("kemkes", "Asia/Jakarta", layout.kind, row, cells, announcement, schedule, url)
        )
    return packages


def listing_pages(packages: list[RawPackage]) -> list[tuple[ListingPage, list[RawPackage]]]:
    """The packages as the spider meets them: pages of one kind's listing, then their details."""
    by_kind = defaultdict(list)
    for raw in packages:
        by_kind[raw.kind].append(raw)
    listings = []
    for kind, raws in by_kind.items():
        pages = []
        for version, start in enumerate(range(0, len(raws), PAGE_ROWS), start=1):
            page = raws[start : start + PAGE_ROWS]
            codes = [int(raw.listing.kode) for raw in page]
            coverage = Coverage(None, (Run(max(codes), min(codes), 0, start + len(page)),), version)
            rows = [(raw.listing.kode, raw.cells) for raw in page]
            pages.append((ListingPage("kemkes", kind, YEAR, rows, [], coverage), page))
        listings.append(pages)
    return [page for pages in zip_longest(*listings) for page in pages if page]  # kinds interleave


def open_pipelines(crawler: Crawler) -> list:
    """The crawl's item pipelines (settings.ITEM_PIPELINES), in their order, opened."""
    chain = [
        load_object(path).from_crawler(crawler)
        for path, _ in sorted(settings.ITEM_PIPELINES.items(), key=lambda entry: entry[1])
    ]
    for pipeline in chain:
        if hasattr(pipeline, "open_spider"):
            pipeline.open_spider()
    return chain


def run_pipelines(pages, crawler: Crawler) -> list[TenderItem]:
    """Every item through every pipeline, then each closed as at the crawl's end; returns
    the stored items."""
    chain = open_pipelines(crawler)
    stored = []
    for page, raws in pages:
        for item in [page, *raws]:
            for pipeline in chain:
                item = pipeline.process_item(item)
            stored.append(item)
    for pipeline in chain:
        if hasattr(pipeline, "close_spider"):
            pipeline.close_spider()
    return [item for item in stored if isinstance(item, TenderItem)]


def check(items: list[TenderItem]) -> list[str]:
    """What is wrong with the stored packages (nothing: an empty list)."""
    problems = []
    counts = {
        "tender": Tender.select().count(),
        "tender_listing": TenderListing.select().count(),
        "tender_stage": TenderStage.select().count(),
    }
    problems += [f"{table}: {n:,} rows, not {len(items):,}" for table, n in counts.items() if n != len(items)]
    if left := PendingDetail.select().count():
        problems.append(f"{left:,} rows left in the detail queue")
    if marked := Tender.select().where(Tender.match_pending).count():
        problems.append(f"{marked:,} packages left marked to match")
    if outcomes := Counter(item.stored_as for item in items) - Counter(new=len(items)):
        problems.append(f"outcomes other than new: {dict(outcomes)}")
    columns = [f.name for f in fields(TenderItem) if f.name in Tender._meta.fields]
    for item in random.Random(1).sample(items, SAMPLE):
        row = Tender.get(Tender.kind == item.kind, Tender.kode == item.kode)
        differ = [name for name in columns if getattr(row, name) != getattr(item, name)]
        if differ:
            problems.append(f"{item.kind} {item.kode} stored differently: {differ}")
    return problems


def baseline(items: list, path: Path) -> Clock:
    """Write the already-normalised rows with plain sqlite3, one commit each."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=wal")
    db.execute("PRAGMA synchronous=normal")
    db.execute("CREATE TABLE t (kind TEXT, kode TEXT, body TEXT, UNIQUE (kind, kode))")
    with Clock() as clock:
        for item in items:
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "INSERT OR REPLACE INTO t VALUES (?, ?, ?)",
                (item.kind, item.kode, json.dumps(asdict(item), default=str)),
            )
            db.execute("COMMIT")
    db.close()
    return clock


def main() -> None:
    pages = listing_pages(raw_packages(ITEMS))
    crawler = Crawler()
    with tempfile.TemporaryDirectory() as tmp:
        open_database(f"sqlite:///{tmp}/bench.db")
        sync_registry(load_registry())
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with Clock() as clock:
            items = run_pipelines(pages, crawler)
        rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        problems = check(items)
        database.close()
        base = baseline(items, Path(tmp) / "baseline.db")
    report(clock, base, problems, crawler.stats.values, (rss_peak - rss_before, rss_peak))


def report(clock: Clock, base: Clock, problems: list[str], stats: Counter, rss: tuple[int, int]) -> None:
    rate, base_rate = ITEMS / clock.cpu, ITEMS / base.cpu
    print(f"(a) every pipeline stage (listing, normalise, store, match with no filters): {ITEMS:,} items")
    print(
        f"    {clock.cpu:.1f} s CPU ({clock.wall:.1f} s wall; GC {clock.gc:.1f} s) = {rate:,.0f} items per "
        f"CPU-second, {ITEMS / clock.wall:,.0f} per second (target >= {TARGET:,} per CPU-second: "
        f"{'MET' if rate >= TARGET else 'MISSED'})"
    )
    print(
        f"    baseline, plain sqlite3 insert and commit per row: {base_rate:,.0f} rows per CPU-second "
        f"({ITEMS / base.wall:,.0f} per second); ratio ours/baseline (CPU) = {rate / base_rate:.2f}"
    )
    print(f"    stats: lpse/new {stats['lpse/new']:,}, coverage conflicts {stats['lpse/coverage_conflicts']}")
    verdict = "; ".join(problems[:5]) or "all stored, queue empty, no mark left, sample equal"
    print(f"    checked ({SAMPLE} rows compared with their items): {verdict}")
    print(f"    peak RSS {rss[1] / 1024:.0f} MiB ({rss[0] / 1024:+.0f} MiB during the run)")


if __name__ == "__main__":
    main()
