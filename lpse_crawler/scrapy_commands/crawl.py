"""`scrapy crawl`, exiting with the status the crawl's health decided (see health.py)."""

import sys

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.exceptions import UsageError

from lpse_crawler.spse.registry import split_codes, unknown_codes_problem
from lpse_crawler.store.database import STORAGE_ERRORS, database
from lpse_crawler.store.schema import open_database


class Command(ScrapyCrawl):
    def run(self, args, opts) -> None:
        if len(args) != 1:
            raise UsageError("name one spider, e.g. scrapy crawl lpse")
        if problem := self._problem(opts.spargs.get("instances", "")):
            print(f"Error: {problem}", file=sys.stderr)  # one line, before anything is crawled
            self.exitcode = 1
            return
        crawler = self._create_crawler(args[0])
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        if self.crawler_process.bootstrap_failed:
            self.exitcode = 1
        else:
            self.exitcode = getattr(crawler.spider, "exit_status", 1)

    def _problem(self, instances: str) -> str | None:
        """Why the crawl cannot start: a database it may not use (a newer release's schema,
        a bad URL), or `-a instances=` codes known to neither registry nor database."""
        try:
            open_database(self.settings.get("DATABASE_URL"))  # as the spider does: creates one
            codes = split_codes(instances)
            return unknown_codes_problem(codes) if codes else None
        except (ValueError, *STORAGE_ERRORS) as exc:  # e.g. PostgreSQL not reachable: one line too
            return str(exc).strip().splitlines()[0]
        finally:
            if database.obj is not None:
                database.close()
