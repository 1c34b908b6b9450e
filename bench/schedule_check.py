"""The freshness simulation's scheduler is the code that runs: a real scheduled crawl
(`scrapy crawl lpse`, no `-a instances=`) against the replay server, three times, one
listing publishing in between and made due; then every stored schedule row must be what
policy.next_check plans for its stored state, to the second."""

from datetime import timedelta
from pathlib import Path

from scrapy.settings import Settings

from lpse_crawler.scheduling import policy
from lpse_crawler.spiders.spse import limits as spider_limits
from lpse_crawler.spse.registry import load_registry, sync_registry
from lpse_crawler.store.database import database, utcnow
from lpse_crawler.store.listing_schedule import to_listing
from lpse_crawler.store.models import Instance, ListingSchedule
from lpse_crawler.store.schema import open_database
from tests.conftest import run_crawl
from tests.spse_replay import SpseReplayServer

ACTIVE = ["kemkes", "makassar", "jayapurakota"]  # WIB, WITA, WIT


def check_real_run(tmp: Path) -> str:
    url = f"sqlite:///{tmp}/schedule.db"
    open_database(url)
    sync_registry(load_registry())
    Instance.update(active=False).where(Instance.code.not_in(ACTIVE)).execute()
    database.close()
    settings = Settings()
    settings.setmodule("lpse_crawler.settings")  # what the crawl reads, from the same env
    limits = spider_limits(settings)
    env = {"LPSE_YEARS": "2026,2027"}
    with SpseReplayServer(ACTIVE, rows_per_kind=5) as server:
        for step in range(3):
            if step:
                server.dataset.publish("makassar", "tender", step, year=2026)
                open_database(url)
                ListingSchedule.update(due_at=utcnow() - timedelta(seconds=1)).where(
                    ListingSchedule.instance == "makassar", ListingSchedule.kind == "tender"
                ).execute()
                database.close()
            result = run_crawl(server.base_url, tmp / "schedule.db", [], **env)
            if result.returncode:
                return f"MISSED (crawl exit {result.returncode})"
    open_database(url)
    zones = dict(Instance.select(Instance.code, Instance.timezone).tuples())
    rows = list(ListingSchedule.select())
    worst = 0.0
    for row in rows:
        listing = to_listing(row, zones[row.instance_id], row.year)
        pace = row.target / listing.mean_rate**policy.SPREAD
        planned = policy.next_check(listing, listing.last_check, pace, limits)
        worst = max(worst, abs(planned.due - row.due_at.timestamp()))
    busy = ListingSchedule.get(
        ListingSchedule.instance == "makassar", ListingSchedule.kind == "tender", ListingSchedule.year == 2026
    )
    database.close()
    met = len(rows) == len(ACTIVE) * 4 and worst < 1.0 and busy.checks == 3 and round(busy.found) == 3
    return (
        f"{len(rows)} listings, the publishing one checked {busy.checks} times and found {busy.found:.0f}; "
        f"stored next checks within {worst:.3f} s of policy.next_check: {'MET' if met else 'MISSED'}"
    )
