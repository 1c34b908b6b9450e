"""Item pipelines: every write of a crawl happens here (order in settings.py).

The spider only fetches and parses. An exception while writing an item is recorded in its
instance's health and counted as a storage failure (the crawl then exits 4), never lost in
the log; what was not written stays queued in the database for the next cycle.
"""

import gc
import logging

from scrapy.exceptions import DropItem

from lpse_crawler import usage
from lpse_crawler.following import watched
from lpse_crawler.items import (
    DetailFailure,
    ListingChecked,
    ListingPage,
    RawPackage,
    SessionChange,
    TenderItem,
    WatchedPackage,
    WatchFailed,
)
from lpse_crawler.matching import alerts
from lpse_crawler.matching.saved_filters import load_index
from lpse_crawler.people import follows
from lpse_crawler.people.models import Subscriber, SubscriberStatus
from lpse_crawler.spse import MalformedPage
from lpse_crawler.spse.normalise import normalise
from lpse_crawler.store import crawl_state
from lpse_crawler.store.database import write_transaction
from lpse_crawler.store.tenders import Outcome, mark_listed, upsert_tender

log = logging.getLogger(__name__)


class CrawlerPipeline:
    """Keeps the crawler; turns any failure to write an item into a recorded one."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def health(self, instance: str) -> crawl_state.InstanceHealth:
        return self.crawler.spider.health.setdefault(instance, crawl_state.InstanceHealth())

    def process_item(self, item):
        try:
            return self.handle(item)
        except DropItem:
            raise
        except Exception as exc:
            error = f"storage: {type(exc).__name__}: {exc}"[:300]
            self.crawler.spider.fail_storage(getattr(item, "instance", "?"), error, type(item).__name__, exc)
            raise DropItem(error, log_level="DEBUG") from exc

    def handle(self, item):
        raise NotImplementedError


class ListingPipeline(CrawlerPipeline):
    """A listing page, in one transaction: queue its new rows for details, note stored
    packages seen again, and move the listing's coverage (compare-and-set)."""

    def handle(self, item):
        if not isinstance(item, ListingPage):
            return item
        with write_transaction():
            crawl_state.queue_details(item.instance, item.kind, item.to_fetch)
            item.to_match = mark_listed(item.instance, item.kind, item.seen_again)
            moved = item.coverage is None or crawl_state.save_coverage(
                item.instance, item.kind, item.year, item.coverage
            )
        if not moved:
            log.warning(
                "[%s] %s %d: listing progress changed under this crawl; kept the stored one",
                item.instance,
                item.kind,
                item.year,
            )
            self.crawler.stats.inc_value("lpse/coverage_conflicts")
        return item


class SessionPipeline(CrawlerPipeline):
    """Keep a fresh listing session for the next crawl, or forget a refused one."""

    def handle(self, item):
        if not isinstance(item, SessionChange):
            return item
        if item.session is None:
            crawl_state.forget_session(item.instance, item.kind)
        else:
            crawl_state.save_session(item.instance, item.kind, item.session)
        raise DropItem(f"session of {item.instance} {item.kind} kept", log_level="DEBUG")


class SchedulePipeline(CrawlerPipeline):
    """A listing was checked: learn from it and plan its next check (store/listing_schedule.py)."""

    def handle(self, item):
        if not isinstance(item, ListingChecked):
            return item
        self.crawler.spider.planner.record(item.instance, item.kind, item.year, item.found)
        raise DropItem(f"{item.instance} {item.kind} {item.year} checked", log_level="DEBUG")


class DetailFailurePipeline(CrawlerPipeline):
    """Count a failed detail fetch on the package's queue row (retried next cycles)."""

    def handle(self, item):
        if not isinstance(item, DetailFailure):
            return item
        crawl_state.detail_failed(item.instance, item.kind, item.kode, item.cells, item.error)
        raise DropItem(f"package {item.kode}: {item.error}", log_level="DEBUG")  # logged by the spider


class NormalisePipeline(CrawlerPipeline):
    """RawPackage -> TenderItem; a package that does not add up is dropped whole (and stays
    queued, its failure counted)."""

    def handle(self, item):
        if not isinstance(item, RawPackage):
            return item
        try:
            return normalise(item)
        except MalformedPage as exc:
            error = f"package {item.listing.kode}: {exc}"
            log.error("[%s] %s (%s)", item.instance, error, item.url)
            self.health(item.instance).errors.append(error)
            crawl_state.detail_failed(item.instance, item.kind, item.listing.kode, item.cells, str(exc))
            self.crawler.stats.inc_value("lpse/dropped/malformed")
            raise DropItem(f"malformed package {item.listing.kode}: {exc}") from exc


class StorePipeline(CrawlerPipeline):
    """Upsert by (kind, kode); counts new and updated packages per instance."""

    def handle(self, item):
        if not isinstance(item, TenderItem):
            return item
        outcome = upsert_tender(item)
        self.crawler.stats.inc_value(f"lpse/{outcome.value}")
        health = self.health(item.instance)
        if outcome is Outcome.NEW:
            health.new += 1
        elif outcome is Outcome.UPDATED:
            health.updated += 1
        item.stored_as = outcome.value
        return item


class WatchPipeline(CrawlerPipeline):
    """A followed package read again (spiders/watching.py): store what it showed, in one
    transaction that marks it for its followers when something changed; or, when it could
    not be read, when to try again. What the site showed that cannot be read is the
    instance's failure (`watch`, exit 3), never a storage one."""

    def handle(self, item):
        if isinstance(item, WatchFailed):
            watched.postpone(item.tender_id)
            raise DropItem(f"watch of package {item.tender_id} failed: {item.error}", log_level="DEBUG")
        if not isinstance(item, WatchedPackage):
            return item
        try:
            read = watched.read_of(
                item.tahap, item.badges, item.schedule, item.winners, item.contracts, item.timezone
            )
        except MalformedPage as exc:  # what the site showed does not add up: read again later
            self.crawler.spider.fail_instance(item.instance, f"watching package {item.kode}: {exc}", "watch")
            watched.postpone(item.tender_id)
            raise DropItem(f"watch of package {item.tender_id} failed: {exc}", log_level="DEBUG") from exc
        if watched.store_read(item.tender_id, read, item.timezone):
            item.to_tell = [item.tender_id]
        if read.unread:  # the site's failure, not ours: stored and told, and the instance's health says so
            error = f"watching package {item.kode}: jadwal: {read.unread}"
            self.crawler.spider.fail_instance(item.instance, error, "watch")
        self.crawler.stats.inc_value("lpse/watched")
        return item


class FollowPipeline(CrawlerPipeline):
    """Tell the followers of a package what changed when it is stored changed (people/follows.py).

    When the crawl opens it first tells what an interrupted crawl stored but did not tell.
    """

    def open_spider(self):
        try:
            leftover = follows.untold()
        except Exception as exc:  # the crawl still runs; what is left stays marked
            log.exception("Could not read the changes an earlier crawl left: %s", exc)
            self.crawler.stats.inc_value("lpse/errors/storage")
            return
        for tender_id in leftover:  # one that cannot be told stays marked; the others are told
            try:
                self._tell(tender_id)
            except Exception as exc:
                log.exception(
                    "Could not tell the changes of package %d an earlier crawl left: %s", tender_id, exc
                )
                self.crawler.stats.inc_value("lpse/errors/storage")
        if leftover:
            log.warning(
                "Told the changes of %d packages an earlier crawl stored but did not tell", len(leftover)
            )

    def handle(self, item):
        for tender_id in getattr(item, "to_tell", ()):
            self._tell(tender_id)
        return item

    def _tell(self, tender_id: int) -> None:
        if queued := follows.tell_followers(tender_id):
            self.crawler.stats.inc_value("lpse/changes_told", queued)


class MatchPipeline(CrawlerPipeline):
    """Match packages marked "to match" against every active filter and queue notifications.

    A package is matched when it is stored for the first time, and again when it shows up
    on another instance (instance-bound filters may fit it now); the outbox keeps one
    notification per subscriber and package. The index is compiled when the crawl opens,
    which first finishes packages an interrupted crawl stored but did not match.
    """

    def open_spider(self):
        self.unmarks = alerts.Unmarks()
        self.index, self.geography = load_index()
        gc.freeze()  # the index lives as long as the crawl: collections need not walk it each time
        log.info("Matching against %d active filters", self.index.size)
        try:
            with write_transaction():
                count = Subscriber.select().where(Subscriber.status == SubscriberStatus.ACTIVE).count()
                usage.set_value("active_subscribers", count)
            leftover = alerts.unmatched()
            for tender_id in leftover:
                self._match(tender_id)
        except Exception as exc:  # the crawl still runs; what is left stays marked
            log.exception("Could not finish the matches an earlier crawl left: %s", exc)
            self.crawler.stats.inc_value("lpse/errors/storage")
            return
        if leftover:
            log.warning("Matched %d packages an earlier crawl stored but did not match", len(leftover))
            self.crawler.stats.set_value("lpse/matched_leftover", len(leftover))

    def close_spider(self):
        try:
            self.unmarks.flush()
        except Exception as exc:  # the marks stay: the next crawl matches those packages again
            log.exception("Could not unmark %d matched packages: %s", len(self.unmarks.marks), exc)
            self.crawler.stats.inc_value("lpse/errors/storage")

    def handle(self, item):
        new = item if getattr(item, "stored_as", "") == Outcome.NEW else None
        for tender_id in getattr(item, "to_match", ()):
            self._match(tender_id, new)
        return item

    def _match(self, tender_id: int, new: TenderItem | None = None) -> None:
        queued = alerts.match_tender(self.index, self.geography, tender_id, unmarks=self.unmarks, new=new)
        if queued:
            self.crawler.stats.inc_value("lpse/notifications_queued", queued)
