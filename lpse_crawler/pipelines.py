"""Item pipelines: thin Scrapy glue over normalise.py and store.py (order in settings.py)."""

import logging

from scrapy.exceptions import DropItem

from lpse_crawler import crawl_state
from lpse_crawler.items import RawPackage, TenderItem
from lpse_crawler.normalise import normalise
from lpse_crawler.parsing import MalformedPage
from lpse_crawler.store import Outcome, upsert_tender

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
