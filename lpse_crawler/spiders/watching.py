"""Reading followed packages again (following/watching.py): announcement -> jadwal -> the
result tabs their stage calls for -> one WatchedPackage item, one chain per package.

Watches due are taken when the crawl would otherwise end (and, in a scheduled run, with
the listings falling due), on instances this process holds, each package at most once per
run, at most LPSE_MAX_WATCHES per run and WATCH_BATCH per instance at a time. Their
requests go through the same host budget as every other, and count in the instance's
health (`watch` column) and the crawl's stats (`lpse/watch_requests`). A failed watch is
recorded as the instance's failure (`watch`) and read again WATCH_MAX later (a withdrawn
package costs two failed reads a day, not one a run, and none once watching it would be
over by its stored dates); after a request to an instance fails, its other watches wait
for the next run.
"""

from scrapy.http import Request, Response

from lpse_crawler.following import watched
from lpse_crawler.following.changes import schedule_of
from lpse_crawler.following.watching import result_tabs
from lpse_crawler.items import WatchedPackage, WatchFailed
from lpse_crawler.spiders.failures import describe_failure
from lpse_crawler.spse import MalformedPage
from lpse_crawler.spse.listing import LAYOUTS
from lpse_crawler.spse.pages import parse_announcement, parse_schedule
from lpse_crawler.spse.registry import base_url_problem
from lpse_crawler.spse.results import contracts_path, parse_contracts, parse_winners, winners_path
from lpse_crawler.spse.stages import canonical_stage
from lpse_crawler.store.database import STORAGE_ERRORS, utcnow
from lpse_crawler.store.models import Instance

WATCH_BATCH = 10  # watches of one instance scheduled at a time
TABS = {"winners": (winners_path, parse_winners), "contracts": (contracts_path, parse_contracts)}


class WatchMixin:
    """The watch chains of SpseSpider (which gives `_lease`, `_base`, `fail_instance`,
    `selected_instances`, and the sets `watched_ids`, `watch_down` and `watch_elsewhere`)."""

    def take_watches(self) -> bool:
        """Schedule the watches due now; whether any were. A database error is counted as a
        storage failure (the crawl exits 4) and the crawl goes on."""
        try:
            requests = self._watch_requests()
        except STORAGE_ERRORS as exc:
            self.logger.error("Could not read the followed packages due: %s", exc, exc_info=exc)
            self.crawler.stats.inc_value("lpse/errors/storage")
            return False
        except Exception as exc:  # never the end of the crawl (this runs in its idle signal)
            self.logger.error("Could not take the followed packages due: %s", exc, exc_info=exc)
            self.crawler.stats.inc_value("lpse/errors/watch")
            return False
        for request in requests:
            self.crawler.engine.crawl(request)
        return bool(requests)

    def _watch_requests(self) -> list[Request]:
        room = self.crawler.settings.getint("LPSE_MAX_WATCHES") - len(self.watched_ids)
        if room <= 0:
            return []
        skip = self.watch_down | self.watch_elsewhere
        scope = [i.code for i in self.selected_instances() if i.code not in skip]
        due = watched.due(utcnow(), scope, self.watched_ids, room, per_instance=WATCH_BATCH)
        if not due:
            return []
        wanted = sorted({d.instance for d in due})
        held = self._lease(wanted)
        self.watch_elsewhere |= set(wanted) - held  # another crawl reads those: not asked again
        instances = {i.code: i for i in Instance.select().where(Instance.code.in_(list(held)))}
        requests = []
        for package in due:
            instance = instances.get(package.instance)
            base = self._base(instance) if instance else None
            if instance is None or base_url_problem(base):
                continue  # leased elsewhere; or a base URL the listing's check reports
            layout = LAYOUTS[package.kind]
            meta = {"watch": package, "base": base, "timezone": instance.timezone}
            url = f"{base}/{layout.announcement_path.format(kode=package.kode)}"
            listing = f"{base}/{layout.listing_path}"
            requests.append(self._watch_request(meta, url, self.parse_watch_announcement, listing))
            self.watched_ids.add(package.tender_id)
        return requests

    def _watch_request(self, meta: dict, url: str, callback, referer: str) -> Request:
        package: watched.Due = meta["watch"]
        return Request(
            url,
            callback=callback,
            errback=self.on_watch_error,
            headers={"Referer": referer},
            dont_filter=True,
            meta={**meta, "instance": package.instance, "cookiejar": f"{package.instance}:{package.kind}"},
        )

    def parse_watch_announcement(self, response: Response):
        meta = _carried(response.meta)
        try:
            page = parse_announcement(response.text)
            kode = page.get("kode tender", "kode paket")
            if kode and kode.strip() != meta["watch"].kode:
                raise MalformedPage(f"announcement is for {kode}")
        except MalformedPage as exc:
            return self._watch_failed(meta["watch"], f"announcement: {exc}", response.url)
        meta["tahap"] = page.get("tahap tender saat ini", "tahap paket saat ini")
        meta["badges"] = page.badges
        url = response.urljoin(page.schedule_url or "jadwal")
        return self._watch_request(meta, url, self.parse_watch_schedule, response.url)

    def parse_watch_schedule(self, response: Response):
        meta = _carried(response.meta)
        try:
            meta["schedule"] = parse_schedule(response.text)
        except MalformedPage as exc:
            return self._watch_failed(meta["watch"], f"jadwal: {exc}", response.url)
        stage = canonical_stage(meta["tahap"])
        meta["tabs"] = list(result_tabs(stage, schedule_of(meta["schedule"], meta["timezone"]), utcnow()))
        return self._next_tab(meta, response.url)

    def parse_watch_tab(self, response: Response):
        meta = _carried(response.meta)
        tab = meta["tabs"].pop(0)
        try:
            meta[tab] = TABS[tab][1](response.text)
        except MalformedPage as exc:
            return self._watch_failed(meta["watch"], f"{tab}: {exc}", response.url)
        return self._next_tab(meta, response.url)

    def _next_tab(self, meta: dict, referer: str):
        package: watched.Due = meta["watch"]
        if meta["tabs"]:
            path = TABS[meta["tabs"][0]][0](package.kind, package.kode)
            return self._watch_request(meta, f"{meta['base']}/{path}", self.parse_watch_tab, referer)
        return WatchedPackage(
            instance=package.instance,
            timezone=meta["timezone"],
            tender_id=package.tender_id,
            kode=package.kode,
            tahap=meta["tahap"],
            badges=meta["badges"],
            schedule=meta["schedule"],
            winners=meta.get("winners"),
            contracts=meta.get("contracts"),
        )

    def on_watch_error(self, failure):
        package: watched.Due = failure.request.meta["watch"]
        self.watch_down.add(package.instance)  # the instance answers badly: the rest waits
        return self._watch_failed(package, describe_failure(failure), failure.request.url)

    def _watch_failed(self, package: watched.Due, error: str, url: str) -> WatchFailed:
        self.fail_instance(package.instance, f"watching package {package.kode}: {error}", "watch", url)
        return WatchFailed(package.instance, package.tender_id, error)


def _carried(meta: dict) -> dict:
    """What a watch chain carries from one request to the next (not Scrapy's own keys)."""
    keys = (
        "watch",
        "base",
        "timezone",
        "tahap",
        "badges",
        "schedule",
        "tabs",
        "winners",
        "contracts",
    )
    return {key: meta[key] for key in keys if key in meta}
