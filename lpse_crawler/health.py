"""Crawl health: requests per instance, saved on each instance row; summary and exit status.

Exit statuses of `scrapy crawl lpse` (and `python cli.py crawl`), for cron and scripts:
0 every instance succeeded; 1 the crawl could not run at all (Scrapy's own, or an unknown
instance code in `-a instances=`: scrapy_commands/crawl.py); 3 instances failed (those with
at least LPSE_FAIL_AFTER failures in a row: the summary names them); 4 the crawl could not
store what it read (database error, disk full: see the log; wins over 3); 5 the crawl was
interrupted (a signal) before it finished.
"""

import logging

from scrapy import signals

from lpse_crawler.store.crawl_state import InstanceHealth, save_health

log = logging.getLogger(__name__)
EXIT_OK, EXIT_INSTANCES_FAILED, EXIT_STORAGE_FAILED, EXIT_INTERRUPTED = 0, 3, 4, 5


class HealthExtension:
    """Counts requests per instance and writes every instance's health when the crawl ends."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        ext = cls(crawler)
        crawler.signals.connect(ext.request_reached_downloader, signals.request_reached_downloader)
        crawler.signals.connect(ext.spider_closed, signals.spider_closed)
        return ext

    def request_reached_downloader(self, request, spider):
        instance = request.meta.get("instance")
        if instance and hasattr(spider, "health"):
            figures = spider.health.setdefault(instance, InstanceHealth())
            figures.requests += 1
            if "watch" in request.meta:  # reading a followed package again (spiders/watching.py)
                figures.watch_requests += 1
                self.crawler.stats.inc_value("lpse/watch_requests")

    def spider_closed(self, spider, reason):
        stats = self.crawler.stats
        fail_after = self.crawler.settings.getint("LPSE_FAIL_AFTER")
        health = getattr(spider, "health", {})
        failing = []
        for code, figures in health.items():
            try:
                in_a_row = save_health(code, figures)
            except Exception as exc:
                log.exception("[%s] could not save health: %s", code, exc)
                stats.inc_value("lpse/errors/storage")
                in_a_row = fail_after if figures.failed else 0
            if figures.failed and in_a_row >= fail_after:
                failing.append(code)
        status = exit_status(reason, bool(stats.get_value("lpse/errors/storage")), failing)
        spider.exit_status = status
        log.info("Crawl health (%s):\n%s", reason, health_table(health))
        log.log(logging.ERROR if status else logging.INFO, "%s", summary(status, failing))


def exit_status(reason: str, storage_failed: bool, failing: list[str]) -> int:
    if storage_failed:
        return EXIT_STORAGE_FAILED
    if reason != "finished":
        return EXIT_INTERRUPTED
    return EXIT_INSTANCES_FAILED if failing else EXIT_OK


def summary(status: int, failing: list[str]) -> str:
    """One line for the log (and cron's mail)."""
    named = f"{len(failing)} instance(s) failing: {', '.join(failing[:20])}" if failing else "none failing"
    what = {
        EXIT_OK: "OK",
        EXIT_INSTANCES_FAILED: named,
        EXIT_STORAGE_FAILED: f"could not store what was read (see the errors above); {named}",
        EXIT_INTERRUPTED: f"interrupted before the end; {named}",
    }[status]
    return f"Crawl result: {what} (exit {status})"


def health_table(health: dict[str, InstanceHealth]) -> str:
    """A plain-text table: one line per instance, failures first."""
    header = f"{'instance':<24} {'status':<6} {'new':>5} {'upd':>5} {'req':>5} {'watch':>5}  error"
    lines = [header, "-" * len(header)]
    ordered = sorted(health.items(), key=lambda kv: (not kv[1].failed, kv[0]))
    for code, h in ordered:
        status = "GAGAL" if h.failed else "OK"
        error = h.all_errors[0][:70] if h.failed else ""
        row = f"{code:<24} {status:<6} {h.new:>5} {h.updated:>5} {h.requests:>5} {h.watch_requests:>5}"
        lines.append(f"{row}  {error}")
    total = sum(h.requests for h in health.values())
    watching = sum(h.watch_requests for h in health.values())
    failed = sum(1 for h in health.values() if h.failed)
    lines.append(
        f"{len(health)} instances, {failed} failed, {total} requests ({watching} reading followed packages)"
    )
    return "\n".join(lines)
