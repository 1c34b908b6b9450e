"""No tender and no alert is lost: crawls killed, capped, refused or out of disk space come back
complete, and every failure shows in the exit status and the instance's health."""

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from lpse_crawler.matching.saved_filters import save_filter
from lpse_crawler.outbox import Notification
from lpse_crawler.people.crypto import Keyring, generate_key
from lpse_crawler.people.personal_data import create_subscriber
from lpse_crawler.spse.registry import load_registry, sync_registry
from lpse_crawler.store.database import database
from lpse_crawler.store.models import Instance, ListingProgress, PendingDetail, Tender
from lpse_crawler.store.schema import open_database
from tests.conftest import ROOT, crawl_environment, run_crawl
from tests.spse_replay import Fault, SpseReplayServer

pytestmark = pytest.mark.slow  # real `scrapy crawl` processes, killed and started again

INSTANCES = ["kemkes", "nasional", "jakarta", "makassar"]
SMALL_PAGES = {"LPSE_PAGE_SIZE": "5"}


@pytest.fixture
def server():
    with SpseReplayServer(INSTANCES) as replay:
        yield replay


@pytest.fixture
def everything(database):
    """One subscriber whose filter fits every package."""
    sync_registry(load_registry())
    subscriber = create_subscriber(Keyring.parse(generate_key("test")), chat_id=4242, name="Semua Paket")
    subscriber.plan = "pro"  # a filter on every LPSE needs the Pro plan
    subscriber.save()
    save_filter(subscriber, "Semua", "jenis:tender,nontender")
    database.close()
    return subscriber.id


def reopen(url: str) -> None:
    database.close()
    open_database(url)


def assert_every_package_stored_with_one_alert(server, subscriber_id: int) -> int:
    stored = {(t.kind, t.kode): t.id for t in Tender.select(Tender.id, Tender.kind, Tender.kode)}
    assert set(server.dataset.packages) <= set(stored)
    alerts = [n.tender_id for n in Notification.select().where(Notification.subscriber == subscriber_id)]
    assert sorted(alerts) == sorted(stored.values())  # each package exactly once
    assert PendingDetail.select().count() == 0 and Tender.select().where(Tender.match_pending).count() == 0
    return len(stored)


def test_a_capped_crawl_resumes_below_where_it_stopped(server, everything, database_url):
    first = run_crawl(server.base_url, database_url, INSTANCES, LPSE_MAX_PAGES="2", **SMALL_PAGES)
    assert first.returncode == 3, first.log[-2000:]
    reopen(database_url)
    assert "page cap (LPSE_MAX_PAGES) reached" in Instance.get_by_id("kemkes").last_error
    assert 0 < Tender.select().count() < len(server.dataset.packages)
    server.dataset.publish("jakarta", "tender", 3)  # new rows push the older ones down
    before = server.count("jakarta")
    second = run_crawl(server.base_url, database_url, INSTANCES, **SMALL_PAGES)
    assert second.returncode == 0, second.log[-2000:]
    reopen(database_url)
    assert_every_package_stored_with_one_alert(server, everything)
    # 25 rows a kind at 4 new rows a page: 7 pages; 2 were read, 3 new rows push one page on.
    assert server.count("jakarta") - before <= 2 * (7 - 2 + 1 + 1) + 2 * 3 * 2 + 2 * 25 * 2


def test_a_package_stored_but_never_matched_is_matched_by_the_next_crawl(server, everything, database_url):
    assert run_crawl(server.base_url, database_url, INSTANCES).returncode == 0
    reopen(database_url)
    total = Notification.select().count()
    victim = Tender.select().first()
    Notification.delete().where(Notification.tender == victim).execute()
    Tender.update(match_pending=True).where(Tender.id == victim.id).execute()  # as after a kill
    result = run_crawl(server.base_url, database_url, INSTANCES)
    assert result.returncode == 0 and "Matched 1 packages an earlier crawl stored" in result.log
    reopen(database_url)
    assert Notification.select().count() == total
    assert Notification.select().where(Notification.tender == victim).count() == 1


def test_a_bad_base_url_fails_only_its_instance(server, database_url):
    open_database(database_url)
    sync_registry(load_registry())
    Instance.update(base_url="spse.inaproc.id/kab5").where(Instance.code == "jakarta").execute()
    database.close()
    result = run_crawl(server.base_url, database_url, ["jakarta", "kemkes", "makassar"])
    assert result.returncode == 3, result.log[-2000:]
    assert "1 instance(s) failing: jakarta (exit 3)" in result.log
    reopen(database_url)
    assert "is not an http(s) URL" in Instance.get_by_id("jakarta").last_error
    for code in ("kemkes", "makassar"):
        assert Instance.get_by_id(code).consecutive_failures == 0 and Instance.get_by_id(code).last_new == 50


def test_a_listing_that_never_ends_is_stopped_at_the_page_cap(server, database_url):
    server.faults["kemkes"] = Fault("endless")
    env = {"LPSE_MAX_PAGES": "8", "LPSE_MAX_DETAILS": "10", "LPSE_RETRY_TIMES": "0"}
    result = run_crawl(server.base_url, database_url, ["kemkes", "jakarta"], **SMALL_PAGES, **env)
    assert result.returncode == 3
    reopen(database_url)
    kemkes = Instance.get_by_id("kemkes")
    assert "page cap (LPSE_MAX_PAGES) reached" in kemkes.last_error
    posts = server.requests[("kemkes", "POST")]
    assert posts <= 8 * 2 * 2  # pages x years x kinds
    assert server.requests[("kemkes", "GET")] <= 2 + 10 * 2  # listing pages + 10 packages' two tabs
    jakarta = Instance.get_by_id("jakarta")  # a good instance: capped details wait, not a failure
    assert (jakarta.last_new, jakarta.consecutive_failures) == (10, 0)
    assert PendingDetail.select().where(PendingDetail.instance == "jakarta").count() == 40
    assert PendingDetail.select().where(PendingDetail.instance == "kemkes").count() > 10  # kept for later


def test_a_listing_that_ignores_start_while_details_fail_is_stopped(server, database_url):
    server.faults["kemkes"] = Fault("ignores_start", fail_details=True)
    result = run_crawl(server.base_url, database_url, ["kemkes", "jakarta"], **SMALL_PAGES)
    assert result.returncode == 3
    reopen(database_url)
    assert "ignores paging" in Instance.get_by_id("kemkes").last_error
    assert server.requests[("kemkes", "POST")] <= 3 * 2 * 2
    assert Instance.get_by_id("jakarta").last_new == 50


@pytest.mark.sqlite_only  # the cap is SQLite's max_page_count
def test_disk_full_exits_4_says_why_and_loses_nothing_once_space_returns(server, everything, database_url):
    assert run_crawl(server.base_url, database_url, ["kemkes"]).returncode == 0
    reopen(database_url)
    pages = database.execute_sql("PRAGMA page_count").fetchone()[0]
    database.close()
    for code in INSTANCES:
        server.dataset.publish(code, "tender", 40, name="Paket Baru " + "Pembangunan Gedung Kantor " * 8)
    cap = {"SQLITE_MAX_SIZE_MB": str((pages + 8) * 4096 / 1024 / 1024)}
    full = run_crawl(server.base_url, database_url, INSTANCES, **cap)
    assert full.returncode == 4, full.log[-3000:]
    assert "could not store what was read" in full.log and "(exit 4)" in full.log
    reopen(database_url)
    errors = [i.last_error or "" for i in Instance.select().where(Instance.consecutive_failures > 0)]
    assert any("full" in e for e in errors), errors
    assert Tender.select().count() < len(server.dataset.packages)
    for _ in range(2):
        done = run_crawl(server.base_url, database_url, INSTANCES)
    assert done.returncode == 0, done.log[-3000:]
    reopen(database_url)
    assert_every_package_stored_with_one_alert(server, everything)


def crawl_until_killed(server, database_url, delay: float) -> bool:
    """Start a crawl and SIGKILL it `delay` seconds after its first request reaches the
    server (so a loaded machine's slower start does not move the kill before the crawl
    begins); False when it finished first."""
    env = crawl_environment(server.base_url, database_url, LOG_LEVEL="WARNING", **SMALL_PAGES)
    command = [sys.executable, "-m", "scrapy", "crawl", "lpse", "-a", f"instances={','.join(INSTANCES)}"]
    before = len(server.times)  # one moment per request served
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        started = time.monotonic()
        while len(server.times) == before and process.poll() is None and time.monotonic() - started < 60:
            time.sleep(0.01)
        process.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        return True


@pytest.mark.slow
def test_random_kills_across_cycles_lose_no_package_and_no_alert(server, everything, database_url):
    rng = random.Random(9)
    kills, cut_short, unmatched, started = 0, 0, 0, time.monotonic()
    while kills < 24:
        if rng.random() < 0.5:
            server.dataset.publish(
                rng.choice(INSTANCES), rng.choice(["tender", "nontender"]), rng.randint(1, 7)
            )
        # A crawl with little new is done some 0.2 s after its first request: kill within that.
        if crawl_until_killed(server, database_url, rng.uniform(0.0, 0.5)):
            kills += 1
            reopen(database_url)
            cut_short += Tender.select().count() < len(server.dataset.packages)
            unmatched += Tender.select().where(Tender.match_pending).count()
            database.close()
    assert cut_short >= kills // 3  # kills that left packages unread: the test does hit crawls mid-way
    cycles = 0
    while True:
        cycles += 1
        result = run_crawl(server.base_url, database_url, INSTANCES, **SMALL_PAGES)
        reopen(database_url)
        complete = all(p.runs == [] and p.ceiling for p in ListingProgress.select())
        if result.returncode == 0 and complete and not PendingDetail.select().exists():
            break
        assert cycles < 4, result.log[-3000:]
    stored = assert_every_package_stored_with_one_alert(server, everything)
    print(
        f"\n{kills} kills ({cut_short} with packages left unread, {unmatched} packages stored but not "
        f"matched seen after them); then {cycles} full crawl(s) ({time.monotonic() - started:.0f} s in all): "
        f"{stored} of {len(server.dataset.packages)} packages stored, "
        f"{Notification.select().count()} notifications, one per package"
    )
