"""Crawl health in process: requests counted per instance, each instance's outcome saved on
its row, the summary table, the last log line and the exit status cron sees."""

import logging

import pytest
from scrapy import signals
from scrapy.http import Request

from lpse_crawler.health import HealthExtension, exit_status, health_table, summary
from lpse_crawler.store.crawl_state import InstanceHealth
from lpse_crawler.store.models import Instance


@pytest.mark.parametrize(
    "reason, storage_failed, failing, status",
    [
        ("finished", False, [], 0),
        ("finished", False, ["kemkes"], 3),
        ("finished", True, [], 4),
        ("finished", True, ["kemkes"], 4),  # a write that failed wins over failing instances
        ("shutdown", False, [], 5),
        ("shutdown", False, ["kemkes"], 5),
        ("shutdown", True, [], 4),
    ],
)
def test_exit_status(reason, storage_failed, failing, status):
    assert exit_status(reason, storage_failed, failing) == status


@pytest.mark.parametrize(
    "status, failing, line",
    [
        (0, [], "Crawl result: OK (exit 0)"),
        (3, ["jakarta", "kemkes"], "Crawl result: 2 instance(s) failing: jakarta, kemkes (exit 3)"),
        (4, [], "Crawl result: could not store what was read (see the errors above); none failing (exit 4)"),
        (5, ["kemkes"], "Crawl result: interrupted before the end; 1 instance(s) failing: kemkes (exit 5)"),
    ],
)
def test_the_last_line_says_the_result(status, failing, line):
    assert summary(status, failing) == line


def test_the_summary_names_at_most_twenty_failing_instances():
    line = summary(3, [f"lpse{n:02}" for n in range(25)])
    assert "25 instance(s) failing" in line and "lpse19" in line and "lpse20" not in line


def test_the_health_table_lists_failures_first_with_their_first_error():
    table = health_table(
        {
            "aceh": InstanceHealth(requests=4, watch_requests=2, new=2),
            "kemkes": InstanceHealth(requests=7, updated=1, errors=["dt/lelang 2025: HTTP 500"]),
            "jakarta": InstanceHealth(requests=1, storage_errors=["storage: BusyError: locked"]),
        }
    )
    lines = table.splitlines()
    assert lines[0].split() == ["instance", "status", "new", "upd", "req", "watch", "error"]
    assert [line.split()[:2] for line in lines[2:5]] == [
        ["jakarta", "GAGAL"],
        ["kemkes", "GAGAL"],
        ["aceh", "OK"],
    ]
    assert lines[3].endswith("dt/lelang 2025: HTTP 500") and lines[2].endswith("storage: BusyError: locked")
    assert lines[4].split() == ["aceh", "OK", "2", "0", "4", "2"]
    assert lines[-1] == "3 instances, 2 failed, 12 requests (2 reading followed packages)"


# -- the extension, on the crawler's signals ---------------------------------------------------


def close(crawler, reason: str = "finished") -> int:
    crawler.signals.send_catch_log(signals.spider_closed, spider=crawler.spider, reason=reason)
    return crawler.spider.exit_status


@pytest.fixture
def health(crawler):
    HealthExtension.from_crawler(crawler)
    return crawler


def reached_downloader(crawler, instance: str | None) -> None:
    request = Request(f"https://spse.inaproc.id/{instance}/lelang", meta={"instance": instance})
    crawler.signals.send_catch_log(signals.request_reached_downloader, request=request, spider=crawler.spider)


def test_requests_are_counted_per_instance_and_saved_on_its_row(health):
    for instance in ["kemkes", "kemkes", "jakarta", None]:  # robots.txt carries no instance
        reached_downloader(health, instance)
    health.spider.health["kemkes"].new = 3
    assert close(health) == 0
    kemkes, jakarta = Instance.get_by_id("kemkes"), Instance.get_by_id("jakarta")
    assert (kemkes.last_requests, kemkes.last_new, jakarta.last_requests) == (2, 3, 1)
    assert kemkes.last_ok_at is not None and kemkes.consecutive_failures == 0


def test_a_failed_instance_fails_the_crawl_and_is_named(health, caplog):
    health.spider.fail_instance("kemkes", "dt/lelang 2025: HTTP 500", "http")
    health.spider.health["jakarta"] = InstanceHealth(requests=2)
    with caplog.at_level(logging.INFO):
        assert close(health) == 3
    kemkes = Instance.get_by_id("kemkes")
    assert (kemkes.last_error, kemkes.consecutive_failures) == ("dt/lelang 2025: HTTP 500", 1)
    assert Instance.get_by_id("jakarta").consecutive_failures == 0
    assert caplog.records[-1].levelno == logging.ERROR
    assert caplog.records[-1].getMessage() == "Crawl result: 1 instance(s) failing: kemkes (exit 3)"
    assert "kemkes                   GAGAL" in caplog.text


def test_an_instance_fails_the_exit_only_after_lpse_fail_after_failures_in_a_row(new_crawler):
    statuses = []
    for _ in range(2):
        crawler = new_crawler(LPSE_FAIL_AFTER=2)
        HealthExtension.from_crawler(crawler)
        crawler.spider.fail_instance("kemkes", "dt/pl 2025: page cap reached", "capped")
        statuses.append(close(crawler))
    assert statuses == [0, 3]
    assert Instance.get_by_id("kemkes").consecutive_failures == 2


def test_a_storage_failure_is_exit_4(health):
    health.spider.health["kemkes"] = InstanceHealth(storage_errors=["storage: SQLError: disk full"])
    health.stats.inc_value("lpse/errors/storage")
    assert close(health) == 4
    assert Instance.get_by_id("kemkes").last_error == "storage: SQLError: disk full"


def test_health_that_cannot_be_saved_is_a_storage_failure(health, caplog):
    health.spider.health["atlantis"] = InstanceHealth(requests=1)  # no such instance row
    assert close(health) == 4
    assert "[atlantis] could not save health" in caplog.text


def test_an_interrupted_crawl_is_exit_5(health):
    health.spider.health["kemkes"] = InstanceHealth(requests=1)
    assert close(health, reason="shutdown") == 5
