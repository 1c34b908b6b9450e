"""SPSE 4.5 on spse.inaproc.id: token session -> DataTables pages -> announcement + jadwal.

Per (instance, kind) the crawl is one sequential chain, polite to the shared host:
session (stored token, or GET of the listing page) -> POST pages of each fiscal year,
newest package first, until everything below is known stored (coverage.py: an interrupted
read resumes where it stopped) -> the two detail tabs of every new or changed package ->
packages still queued from earlier cycles. The spider only fetches and parses: every write
is an item for the pipelines. Pages and detail fetches per instance and cycle are capped.
"""

import time
from dataclasses import dataclass, field
from itertools import pairwise

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.http import FormRequest, Request, Response
from twisted.internet.task import LoopingCall

from lpse_crawler.following import watched
from lpse_crawler.items import DetailFailure, ListingChecked, ListingPage, RawPackage, SessionChange
from lpse_crawler.middlewares import is_cloudflare_challenge
from lpse_crawler.scheduling.policy import Limits
from lpse_crawler.spiders.failures import describe_failure
from lpse_crawler.spiders.watching import WatchMixin
from lpse_crawler.spse import MalformedPage, StaleToken
from lpse_crawler.spse.coverage import Outcome, Walk
from lpse_crawler.spse.listing import (
    LAYOUTS,
    KindLayout,
    ListingRow,
    datatables_form,
    parse_datatables,
    parse_listing_row,
)
from lpse_crawler.spse.pages import (
    check_not_error,
    extract_token,
    parse_announcement,
    parse_schedule,
    spse_version,
)
from lpse_crawler.spse.registry import (
    base_url_problem,
    load_registry,
    split_codes,
    sync_registry,
    unknown_codes_problem,
)
from lpse_crawler.store import crawl_state, leases, tenders
from lpse_crawler.store.crawl_state import InstanceHealth, Session
from lpse_crawler.store.database import STORAGE_ERRORS
from lpse_crawler.store.listing_schedule import Planner
from lpse_crawler.store.models import Instance
from lpse_crawler.store.schema import open_database

DUE_POLL = 10.0  # seconds between two looks for listings falling due, in a scheduled run


@dataclass
class KindCrawl:
    """The state of one (instance, kind) chain during a crawl."""

    instance: str
    base: str  # e.g. https://spse.inaproc.id/kemkes
    timezone: str
    layout: KindLayout
    years: list[int]
    session: Session | None = None
    token_refreshed: bool = False
    seen: set[str] = field(default_factory=set)
    walks: dict[int, Walk] = field(default_factory=dict)  # fiscal year -> this cycle's read
    found: dict[int, int] = field(default_factory=dict)  # fiscal year -> new packages listed
    reported: set[int] = field(default_factory=set)  # fiscal years whose check is reported

    @property
    def listing_url(self) -> str:
        return f"{self.base}/{self.layout.listing_path}"

    @property
    def cookiejar(self) -> str:
        return f"{self.instance}:{self.layout.kind}"


class SpseSpider(WatchMixin, scrapy.Spider):
    """Platform logic for SPSE 4.5; subclasses (or `-a instances=`) choose instances.

    Without `-a instances=`, a run follows the crawl schedule (store/listing_schedule.py):
    it checks the listings of active instances that are due, and keeps taking those that
    fall due for LPSE_RUN_MINUTES. `-a instances=a,b` (or LPSE_SCHEDULE=0) checks every
    listing of those instances (even inactive ones; or of every active instance) once.
    Either way each check teaches the schedule, and followed packages due to be read again
    are read before the run ends (spiders/watching.py). `-a kinds=tender` limits the kinds
    of listing (default: tender,nontender).
    """

    instance_codes: tuple[str, ...] = ()  # empty: every active instance
    custom_settings: dict = {}

    def __init__(self, instances: str = "", kinds: str = "tender,nontender", **kwargs):
        super().__init__(**kwargs)
        if instances:
            self.instance_codes = split_codes(instances)
        names = [k.strip() for k in kinds.split(",") if k.strip()]
        unknown = [k for k in names if k not in LAYOUTS]
        if unknown:
            raise ValueError(f"unknown kind(s) {', '.join(unknown)}: use {', '.join(LAYOUTS)}")
        self.layouts = [LAYOUTS[k] for k in names]
        self.health: dict[str, InstanceHealth] = {}

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        open_database(crawler.settings.get("DATABASE_URL"))
        sync_registry(load_registry())
        if spider.instance_codes and (problem := unknown_codes_problem(spider.instance_codes)):
            raise ValueError(problem)  # `scrapy crawl` refuses it sooner (scrapy_commands/crawl.py)
        settings = crawler.settings
        years = [int(y) for y in settings.getlist("LPSE_YEARS")]
        kinds = [layout.kind for layout in spider.layouts]
        watching = watched.requests_due if settings.getint("LPSE_MAX_WATCHES") > 0 else None
        spider.planner = Planner(limits(settings), kinds, years, reserved=watching)
        spider.scheduled = not spider.instance_codes and settings.getbool("LPSE_SCHEDULE")
        crawler.signals.connect(spider.keep_open, signals.spider_idle)
        return spider

    def selected_instances(self) -> list[Instance]:
        query = Instance.select().order_by(Instance.code)
        if self.instance_codes:  # every one known: from_crawler refuses the others
            rows = {i.code: i for i in query.where(Instance.code.in_(self.instance_codes))}
            return [rows[c] for c in self.instance_codes if c in rows]
        return list(query.where(Instance.active == True))  # noqa: E712

    async def start(self):
        self.details_left: dict[str, int] = {}
        self.active: set[tuple[str, str]] = set()  # (instance, kind) chains running
        self.checked: dict[tuple[str, str, int], float] = {}  # listing -> when reported
        self.lease_owner = leases.new_owner()
        self.watched_ids: set[int] = set()  # followed packages read in this run
        self.watch_down: set[str] = set()  # instances a watch request failed on: no more this run
        self.watch_elsewhere: set[str] = set()  # instances another crawl holds
        self.deadline = time.monotonic()
        if self.scheduled:
            minutes = self.crawler.settings.getfloat("LPSE_RUN_MINUTES")
            self.deadline += minutes * 60
            if minutes > 0:
                self.logger.info(
                    "Taking listings as they fall due for %g minutes (LPSE_RUN_MINUTES)", minutes
                )
                self._due_poll = LoopingCall(self.crawl_due)
                self._due_poll.start(DUE_POLL, now=False)
            for output in self.take_due():
                yield output
            return
        years = self.planner.years
        instances = self.selected_instances()
        held = self._lease([i.code for i in instances])
        for instance in instances:
            if instance.code in held:
                for output in self._chains(instance, {layout.kind: years for layout in self.layouts}):
                    yield output

    def take_due(self) -> list:
        """Start the chains of the listings now due (the longest overdue first), on the
        instances this process can lease, and not already running or just checked."""
        now = time.monotonic()
        wanted: dict[str, dict[str, list[int]]] = {}
        for due in self.planner.due():
            if (due.instance, due.kind) in self.active:
                continue
            if now - self.checked.get((due.instance, due.kind, due.year), -1e9) < 60:
                continue  # its check is being written
            wanted.setdefault(due.instance, {}).setdefault(due.kind, []).append(due.year)
        held = self._lease(list(wanted))
        instances = {i.code: i for i in Instance.select().where(Instance.code.in_(list(held)))}
        output = []
        for rank, code in enumerate(c for c in wanted if c in instances):
            output += self._chains(instances[code], wanted[code], priority=-1 - rank)
        if output:
            self.crawler.stats.inc_value("lpse/listings_due", sum(len(y) for y in wanted.values()))
        return output

    def crawl_due(self) -> None:
        """Every DUE_POLL seconds of a scheduled run: schedule the listings fallen due."""
        if time.monotonic() >= self.deadline:
            self._due_poll.stop()
            return
        try:
            for output in self.take_due():
                if isinstance(output, Request):
                    self.crawler.engine.crawl(output)
                else:  # a listing that failed before any request: record it
                    self.planner.record(output.instance, output.kind, output.year, output.found)
        except Exception as exc:  # the database: the run goes on with what it has, then exits 4
            self.logger.error("Could not take the listings falling due: %s", exc, exc_info=exc)
            self.crawler.stats.inc_value("lpse/errors/storage")
        self.take_watches()

    def keep_open(self) -> None:
        """Before the crawl ends it reads the followed packages due; a scheduled run stays
        open, waiting for listings to fall due, until its time is up."""
        if self.take_watches():
            raise DontCloseSpider
        if self.scheduled and time.monotonic() < self.deadline:
            raise DontCloseSpider

    def _chains(self, instance: Instance, years_by_kind: dict[str, list[int]], priority: int = 0) -> list:
        """The first request of each (instance, kind) chain over its fiscal years, or, when
        the instance cannot be crawled, the failed checks to record."""
        settings = self.crawler.settings
        self.health.setdefault(instance.code, InstanceHealth())
        if not any((instance.code, kind) in self.active for kind in years_by_kind):
            self.details_left[instance.code] = settings.getint("LPSE_MAX_DETAILS")
        base = self._base(instance)
        problem = base_url_problem(base)
        if problem:
            self.fail_instance(instance.code, problem, "config")
            return [
                ListingChecked(instance.code, kind, year, None)
                for kind, years in years_by_kind.items()
                for year in years
            ]
        output = []
        for layout in self.layouts:
            if layout.kind not in years_by_kind:
                continue
            try:
                state = KindCrawl(
                    instance=instance.code,
                    base=base,
                    timezone=instance.timezone,
                    layout=layout,
                    years=years_by_kind[layout.kind],
                    session=crawl_state.load_session(instance.code, layout.kind),
                )
                request = self._session_or_page(state, 0, 0)
            except Exception as exc:  # one instance never stops the others
                self.fail_instance(
                    instance.code, f"could not start: {type(exc).__name__}: {exc}"[:300], "start"
                )
                output += [
                    ListingChecked(instance.code, layout.kind, y, None) for y in years_by_kind[layout.kind]
                ]
                continue
            self.active.add((instance.code, layout.kind))
            output.append(request.replace(priority=priority))
        return output

    def _base(self, instance: Instance) -> str:
        """The instance's pages: its own base URL, or LPSE_BASE_URL/{code}."""
        base_url = self.crawler.settings.get("LPSE_BASE_URL").rstrip("/")
        return (instance.base_url or f"{base_url}/{instance.code}").rstrip("/")

    def _lease(self, codes: list[str]) -> set[str]:
        """The instances of `codes` this process may crawl: those no other live crawl holds
        a lease on. Leases are renewed while the crawl runs and released when it closes."""
        seconds = self.crawler.settings.getint("LPSE_LEASE_SECONDS")
        held = leases.acquire(codes, self.lease_owner, seconds)
        elsewhere = [code for code in codes if code not in held]
        if elsewhere:
            self.logger.info(
                "%d instance(s) leased by another crawl, left to it: %s",
                len(elsewhere),
                ", ".join(elsewhere[:20]),
            )
            self.crawler.stats.inc_value("lpse/leased_elsewhere", len(elsewhere))
        if seconds > 0 and not getattr(self, "_renewal", None):  # 0: leases end at once (tests)
            self._renewal = LoopingCall(self.renew_leases, seconds)
            self._renewal.start(seconds / 3, now=False)
        return held

    def renew_leases(self, seconds: float) -> None:
        """Extend this crawl's leases; a failure is counted (exit 4) and the next renewal, a
        third of the lease later, tries again (a LoopingCall stops at an exception, and the
        leases would lapse under chains still running)."""
        try:
            leases.renew(self.lease_owner, seconds)
        except STORAGE_ERRORS as exc:
            self.logger.error("Could not renew this crawl's instance leases: %s", exc)
            self.crawler.stats.inc_value("lpse/errors/storage")

    def closed(self, reason: str) -> None:
        for loop in (getattr(self, "_renewal", None), getattr(self, "_due_poll", None)):
            if loop is not None and loop.running:
                loop.stop()
        if getattr(self, "lease_owner", None):
            try:
                leases.release(self.lease_owner)
            except Exception as exc:  # they expire anyway after LPSE_LEASE_SECONDS
                self.logger.error("Could not release instance leases: %s", exc)

    # -- session ------------------------------------------------------------------

    def _session_or_page(self, state: KindCrawl, year_index: int, start: int) -> Request:
        if state.session is None:
            return self._request(
                state,
                state.listing_url,
                self.parse_listing_page,
                year_index=year_index,
                start=start,
            )
        return self._page_request(state, year_index, start)

    def parse_listing_page(self, response: Response):
        state: KindCrawl = response.meta["state"]
        try:
            check_not_error(response.text)
            cookies = session_cookies(response)
            token = extract_token(response.text, cookies.get("SPSE_SESSION"))
        except MalformedPage as exc:  # an error page, or no token: the chain's years failed
            self._fail(state, f"{state.layout.listing_path}: {exc}", response.url, "malformed")
            yield from self._chain_stopped(state)
            return
        state.session = Session(token=token, cookies=cookies)
        yield SessionChange(state.instance, state.layout.kind, state.session)
        self.health[state.instance].spse_version = spse_version(response.text)
        yield self._page_request(state, response.meta["year_index"], response.meta["start"])

    # -- listing pages --------------------------------------------------------------

    def _page_request(self, state: KindCrawl, year_index: int, start: int) -> Request:
        page_size = self.crawler.settings.getint("LPSE_PAGE_SIZE")
        year = state.years[year_index]
        if year not in state.walks:
            coverage = crawl_state.load_coverage(state.instance, state.layout.kind, year)
            state.walks[year] = Walk(coverage, page_size, self.crawler.settings.getint("LPSE_MAX_PAGES"))
        return FormRequest(
            f"{state.base}/{state.layout.endpoint}?tahun={year}",
            formdata=datatables_form(
                state.layout, state.session.token, start, page_size, draw=state.walks[year].pages + 1
            ),
            cookies=state.session.cookies,
            headers={
                "X-Requested-With": "XMLHttpRequest",
                "Accept": "application/json, text/javascript, */*; q=0.01",
                "Referer": state.listing_url,
            },
            callback=self.parse_rows,
            errback=self.on_error,
            dont_filter=True,
            meta={
                "state": state,
                "instance": state.instance,
                "cookiejar": state.cookiejar,
                "year_index": year_index,
                "start": start,
                "handle_httpstatus_list": [403],
            },
        )

    def parse_rows(self, response: Response):
        state: KindCrawl = response.meta["state"]
        year_index, start = response.meta["year_index"], response.meta["start"]
        year = state.years[year_index]
        try:
            if response.status == 403 and is_cloudflare_challenge(response):
                raise MalformedPage("HTTP 403: Cloudflare challenge not solved")
            if response.status == 403:
                raise StaleToken("HTTP 403: token refused")
            cells = parse_datatables(response.body)
            rows = [parse_listing_row(state.layout, row) for row in cells]
            codes = newest_first([row.kode for row in rows])
        except StaleToken as exc:
            yield from self._refresh_session(state, year_index, start, exc, response.url)
            return
        except MalformedPage as exc:
            self._fail(state, f"{state.layout.endpoint} {year}: {exc}", response.url, "malformed")
            yield from self._chain_stopped(state)
            return
        step = state.walks[year].read(start, codes)
        to_fetch, seen_again, new = self._sort_rows(state, rows)
        state.found[year] = state.found.get(year, 0) + new
        yield ListingPage(
            instance=state.instance,
            kind=state.layout.kind,
            year=year,
            to_fetch=[
                (row.kode, row_cells)
                for row, row_cells in zip(rows, cells, strict=True)
                if row.kode in to_fetch
            ],
            seen_again=seen_again,
            coverage=step.coverage if step.changed else None,
        )
        for row, row_cells in zip(rows, cells, strict=True):
            if row.kode in to_fetch:
                yield from self._announcement_request(state, row, row_cells)
        if step.outcome is Outcome.MORE:
            yield self._page_request(state, year_index, step.next_offset)
            return
        if step.outcome is not Outcome.DONE:
            self._fail(
                state,
                f"{state.layout.endpoint} {year}: {WALK_STOPPED[step.outcome]}",
                response.url,
                step.outcome.value,
            )
        read_on = step.outcome in (Outcome.DONE, Outcome.CAPPED)  # capped: due again soon, by what it found
        yield self._checked(state, year, state.found.get(year, 0) if read_on else None)
        if year_index + 1 < len(state.years):
            yield self._page_request(state, year_index + 1, 0)
        else:
            yield from self._retry_pending(state)

    def _refresh_session(self, state: KindCrawl, year_index: int, start: int, exc, url: str):
        yield SessionChange(state.instance, state.layout.kind, None)
        state.session = None
        if state.token_refreshed:
            self._fail(state, f"{state.layout.endpoint}: {exc} after a fresh token", url, "token")
            yield from self._chain_stopped(state)
            return
        state.token_refreshed = True
        self.crawler.stats.inc_value("lpse/token_refreshed")
        yield self._session_or_page(state, year_index, start)

    def _sort_rows(self, state: KindCrawl, rows: list[ListingRow]) -> tuple[set[str], list[str], int]:
        """(codes of new or changed rows not fetched yet this cycle, codes of stored rows seen
        again, how many rows are packages never met before). A row already queued for its
        details is not new again (it counted when first met), and is fetched again only
        when the queue's retry rule says so (crawl_state.pending_rows)."""
        kodes = [r.kode for r in rows]
        listed = tenders.listed_hashes(state.instance, state.layout.kind, kodes)
        elsewhere = tenders.known_elsewhere(state.layout.kind, [k for k in kodes if k not in listed])
        unstored = {k for k in kodes if k not in listed and k not in elsewhere}
        attempts = self.crawler.settings.getint("LPSE_DETAIL_ATTEMPTS")
        queued = crawl_state.queued_codes(state.instance, state.layout.kind, sorted(unstored), attempts)
        to_fetch, seen_again, new = set(), [], 0
        for row in rows:
            if (listed.get(row.kode) or elsewhere.get(row.kode)) == row.row_hash:
                seen_again.append(row.kode)
            elif row.kode not in state.seen and queued.get(row.kode, True):
                state.seen.add(row.kode)
                to_fetch.add(row.kode)
                new += row.kode in unstored and row.kode not in queued
        return to_fetch, seen_again, new

    def _retry_pending(self, state: KindCrawl):
        max_attempts = self.crawler.settings.getint("LPSE_DETAIL_ATTEMPTS")
        for cells in crawl_state.pending_rows(state.instance, state.layout.kind, max_attempts):
            row = parse_listing_row(state.layout, cells)
            if row.kode not in state.seen:
                state.seen.add(row.kode)
                yield from self._announcement_request(state, row, cells)

    # -- detail tabs ------------------------------------------------------------------

    def _announcement_request(self, state: KindCrawl, row: ListingRow, cells: list):
        """The first detail tab, while this instance's detail budget lasts (the row stays
        queued in the database either way)."""
        if self.details_left[state.instance] <= 0:
            self.crawler.stats.inc_value("lpse/details_deferred")
            return
        self.details_left[state.instance] -= 1
        url = f"{state.base}/{state.layout.announcement_path.format(kode=row.kode)}"
        yield self._request(
            state,
            url,
            self.parse_announcement_page,
            errback=self.on_detail_error,
            referer=state.listing_url,
            row=row,
            cells=cells,
        )

    def parse_announcement_page(self, response: Response):
        state: KindCrawl = response.meta["state"]
        try:
            announcement = parse_announcement(response.text)
        except MalformedPage as exc:
            yield from self._detail_failed(response.meta, f"announcement: {exc}", response.url)
            return
        schedule_url = response.urljoin(announcement.schedule_url or "jadwal")
        yield self._request(
            state,
            schedule_url,
            self.parse_schedule_page,
            errback=self.on_detail_error,
            referer=response.url,
            row=response.meta["row"],
            cells=response.meta["cells"],
            announcement=announcement,
            announcement_url=response.url,
        )

    def parse_schedule_page(self, response: Response):
        state: KindCrawl = response.meta["state"]
        try:
            schedule = parse_schedule(response.text)
        except MalformedPage as exc:
            yield from self._detail_failed(response.meta, f"jadwal: {exc}", response.url)
            return
        yield RawPackage(
            instance=state.instance,
            timezone=state.timezone,
            kind=state.layout.kind,
            listing=response.meta["row"],
            cells=response.meta["cells"],
            announcement=response.meta["announcement"],
            schedule=schedule,
            url=response.meta["announcement_url"],
        )

    # -- errors -------------------------------------------------------------------------

    def on_error(self, failure):
        """A listing or session request failed for good: this kind of this instance stops."""
        request = failure.request
        self._fail(request.meta["state"], describe_failure(failure), request.url, "http")
        yield from self._chain_stopped(request.meta["state"])

    # -- the schedule ---------------------------------------------------------------------

    def _checked(self, state: KindCrawl, year: int, found: int | None) -> ListingChecked:
        """Report one fiscal year's check (None: failed); the chain is no longer running
        once every year of it is reported."""
        state.reported.add(year)
        self.checked[(state.instance, state.layout.kind, year)] = time.monotonic()
        if state.reported >= set(state.years):
            self.active.discard((state.instance, state.layout.kind))
        return ListingChecked(state.instance, state.layout.kind, year, found)

    def _chain_stopped(self, state: KindCrawl):
        """The chain stopped on a failure: the years it did not check failed."""
        for year in state.years:
            if year not in state.reported:
                yield self._checked(state, year, None)

    def on_detail_error(self, failure):
        yield from self._detail_failed(failure.request.meta, describe_failure(failure), failure.request.url)

    def _detail_failed(self, meta: dict, error: str, url: str):
        state: KindCrawl = meta["state"]
        row: ListingRow = meta["row"]
        self._fail(state, f"package {row.kode}: {error}", url, "detail")
        yield DetailFailure(state.instance, state.layout.kind, row.kode, meta["cells"], error)

    def _fail(self, state: KindCrawl, error: str, url: str, reason: str) -> None:
        self.fail_instance(state.instance, error, reason, url)

    def fail_instance(self, instance: str, error: str, reason: str, url: str = "") -> None:
        """Record a failure in the instance's health, the crawl's stats and the log."""
        self.logger.error("[%s] %s%s", instance, error, f" ({url})" if url else "")
        self.crawler.stats.inc_value(f"lpse/errors/{reason}")
        self.health.setdefault(instance, InstanceHealth()).errors.append(error)

    def fail_storage(self, instance: str, error: str, where: str, exc: BaseException) -> None:
        """Record a failed read or write of our own database (the crawl then exits 4); the
        first one of a crawl is logged with its traceback, the rest as one line each."""
        first = not self.crawler.stats.get_value("lpse/errors/storage")
        self.logger.error("[%s] %s (%s)", instance, error, where, exc_info=exc if first else None)
        self.crawler.stats.inc_value("lpse/errors/storage")
        self.health.setdefault(instance, InstanceHealth()).storage_errors.append(error)

    def _request(self, state: KindCrawl, url: str, callback, errback=None, referer=None, **meta):
        headers = {"Referer": referer} if referer else {}
        return Request(
            url,
            callback=callback,
            errback=errback or self.on_error,
            headers=headers,
            dont_filter=True,
            meta={"state": state, "instance": state.instance, "cookiejar": state.cookiejar, **meta},
        )


def limits(settings) -> Limits:
    """The schedule's budget and bounds from the LPSE_* settings."""
    values = Limits(
        requests_per_hour=settings.getfloat("LPSE_REQUESTS_PER_HOUR"),
        min_wait=settings.getfloat("LPSE_MIN_WAIT_MINUTES") * 60,
        max_wait=settings.getfloat("LPSE_MAX_WAIT_HOURS") * 3600,
        max_wait_next_year=settings.getfloat("LPSE_NEXT_YEAR_HOURS") * 3600,
    )
    if min(values.requests_per_hour, values.min_wait, values.max_wait, values.max_wait_next_year) <= 0:
        raise ValueError(
            "LPSE_REQUESTS_PER_HOUR, LPSE_MIN_WAIT_MINUTES, LPSE_MAX_WAIT_HOURS and "
            "LPSE_NEXT_YEAR_HOURS must be above 0"
        )
    if values.min_wait > values.max_wait:
        raise ValueError("LPSE_MIN_WAIT_MINUTES must not be longer than LPSE_MAX_WAIT_HOURS")
    return values


WALK_STOPPED = {
    Outcome.CAPPED: "page cap (LPSE_MAX_PAGES) reached; the next cycle reads on from here",
    Outcome.IGNORES_PAGING: "the listing ignores paging (the same rows for every start); stopped",
    Outcome.SHIFTING: "rows kept vanishing while paging; the next cycle reads on from here",
}


def newest_first(kodes: list[str]) -> list[int]:
    """Package codes as numbers, checked to run newest first as the paging rules need."""
    codes = [int(k) for k in kodes]
    if any(a <= b for a, b in pairwise(codes)):
        raise MalformedPage("listing rows are not ordered by package code, newest first")
    return codes


def session_cookies(response: Response) -> dict[str, str]:
    """Cookies set by a response. SPSE_SESSION's value holds '=' and '&', which
    http.cookies rejects, so only name=value before the first ';' is read."""
    cookies = {}
    for header in response.headers.getlist("Set-Cookie"):
        name, _, value = header.decode("latin-1").split(";", 1)[0].partition("=")
        if name.strip():
            cookies[name.strip()] = value.strip().strip('"')
    return cookies
