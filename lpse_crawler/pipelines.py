"""Item pipelines: thin Scrapy glue over normalise.py and store.py (order in settings.py)."""

import logging

from scrapy.exceptions import DropItem

from lpse_crawler import crawl_state, usage
from lpse_crawler.accounts import Subscriber
from lpse_crawler.db import Tender, TenderListing, write_transaction
from lpse_crawler.filter_index import tender_facts
from lpse_crawler.items import NewListing, RawPackage, TenderItem
from lpse_crawler.normalise import normalise
from lpse_crawler.outbox import enqueue
from lpse_crawler.parsing import MalformedPage
from lpse_crawler.store import Outcome, upsert_tender
from lpse_crawler.subscriptions import load_index

log = logging.getLogger(__name__)


class CrawlerPipeline:
    """Keeps the crawler (stats, spider health) from `from_crawler`."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def health(self, instance: str) -> crawl_state.InstanceHealth:
        return self.crawler.spider.health.setdefault(instance, crawl_state.InstanceHealth())


class NormalisePipeline(CrawlerPipeline):
    """RawPackage -> TenderItem; a package that does not add up is dropped whole."""

    def process_item(self, item):
        if not isinstance(item, RawPackage):
            return item
        try:
            return normalise(item)
        except MalformedPage as exc:
            error = f"package {item.listing.kode}: {exc}"
            log.error("[%s] %s (%s)", item.instance, error, item.url)
            self.health(item.instance).errors.append(error)
            crawl_state.remember_pending(item.instance, item.kind, item.listing.kode, item.cells, str(exc))
            self.crawler.stats.inc_value("lpse/dropped/malformed")
            raise DropItem(f"malformed package {item.listing.kode}: {exc}") from exc


class StorePipeline(CrawlerPipeline):
    """Upsert by (kind, kode); counts new and updated packages per instance."""

    def process_item(self, item):
        if not isinstance(item, TenderItem):
            return item
        outcome = upsert_tender(item)
        crawl_state.clear_pending(item.instance, item.kind, item.kode)
        self.crawler.stats.inc_value(f"lpse/{outcome.value}")
        health = self.health(item.instance)
        if outcome is Outcome.NEW:
            health.new += 1
        elif outcome is Outcome.UPDATED:
            health.updated += 1
        item.stored_as = outcome.value  # the matching stage acts on new packages only
        return item


class MatchPipeline(CrawlerPipeline):
    """Match packages against every active filter and queue notifications.

    A package is matched when it is stored for the first time, and again when it shows up
    on another instance (instance-bound filters may fit it now); the outbox keeps one
    notification per subscriber and package. The index is compiled when the crawl opens,
    and a filter never receives a package stored before the filter was saved.
    """

    def open_spider(self):
        self.index, self.registry = load_index()
        log.info("Matching against %d active filters", self.index.size)
        with write_transaction():
            usage.set_value(
                "active_subscribers", Subscriber.select().where(Subscriber.status == "active").count()
            )

    def process_item(self, item):
        if not self.index.size:
            return item
        first_time_here = isinstance(item, NewListing) or (
            isinstance(item, TenderItem) and (item.stored_as == Outcome.NEW or item.newly_listed)
        )
        if first_time_here:
            self.match(item.kind, item.kode)
        return item

    def match(self, kind: str, kode: str) -> None:
        tender = Tender.get(Tender.kind == kind, Tender.kode == kode)
        listings = TenderListing.select(TenderListing.instance).where(TenderListing.tender == tender)
        instances = {code for (code,) in listings.tuples()}
        provinces = {self.registry.province_of[c] for c in instances if c in self.registry.province_of}
        facts = tender_facts(
            nama=tender.nama, instances=instances, provinces=provinces, instansi=tender.instansi,
            kategori=tender.kategori, kind=tender.kind, kbli=tender.kbli, size=tender.kualifikasi_usaha,
            hps=tender.hps, pagu=tender.pagu, hps_listing=tender.hps_listing,
        )  # fmt: skip
        fitting = [m for m in self.index.match(facts) if existed_before(m.filter, tender.first_seen_at)]
        if fitting:
            self.crawler.stats.inc_value("lpse/notifications_queued", enqueue(tender.id, fitting))


def existed_before(compiled, moment) -> bool:
    return compiled.created_at is None or compiled.created_at <= moment
