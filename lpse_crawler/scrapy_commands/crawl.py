"""`scrapy crawl`, exiting with the status the crawl's health decided (see health.py)."""

import sys

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.exceptions import UsageError

from lpse_crawler.spse.registry import split_codes, unknown_codes_problem
from lpse_crawler.store.database import database
from lpse_crawler.store.schema import open_database


class Command(ScrapyCrawl):
    def run(self, args, opts) -> None:
        if len(args) != 1:
            raise UsageError("name one spider, e.g. scrapy crawl lpse")
        if problem := self._instances_problem(opts.spargs.get("instances", "")):
            print(f"Error: {problem}", file=sys.stderr)  # a typo must not crawl nothing and say OK
            self.exitcode = 1
            return
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = 1
        else:
            self.exitcode = getattr(crawler.spider, "exit_status", 1)

    def _instances_problem(self, text: str) -> str | None:
        """What is wrong with `-a instances=` (codes known to neither registry nor database)."""
        if not (codes := split_codes(text)):
            return None
        open_database(self.settings.get("DATABASE_URL"))  # as the crawl would: it creates one
        try:
            return unknown_codes_problem(codes)
        finally:
            database.close()
