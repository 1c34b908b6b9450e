"""Crawl health: requests per instance, saved on each instance row, summary at close."""

import logging

from scrapy import signals

from lpse_crawler.crawl_state import InstanceHealth, save_health

log = logging.getLogger(__name__)


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
            spider.health.setdefault(instance, InstanceHealth()).requests += 1

    def spider_closed(self, spider, reason):
        health = getattr(spider, "health", {})
        for code, figures in health.items():
            save_health(code, figures)
        log.info("Crawl health (%s):\n%s", reason, health_table(health))


def health_table(health: dict[str, InstanceHealth]) -> str:
    """A plain-text table: one line per instance, failures first."""
    header = f"{'instance':<24} {'status':<6} {'new':>5} {'upd':>5} {'req':>5}  error"
    lines = [header, "-" * len(header)]
    ordered = sorted(health.items(), key=lambda kv: (not kv[1].errors, kv[0]))
    for code, h in ordered:
        status = "GAGAL" if h.errors else "OK"
        error = h.errors[0][:70] if h.errors else ""
        lines.append(f"{code:<24} {status:<6} {h.new:>5} {h.updated:>5} {h.requests:>5}  {error}")
    total = sum(h.requests for h in health.values())
    failed = sum(1 for h in health.values() if h.errors)
    lines.append(f"{len(health)} instances, {failed} failed, {total} requests")
    return "\n".join(lines)
