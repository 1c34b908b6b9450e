"""Leases on instances: crawl processes split the fleet, and a dead one's share is taken over."""

import os
import socket
import subprocess
from datetime import timedelta

from lpse_crawler.spse.registry import load_registry, sync_registry
from lpse_crawler.store import leases
from lpse_crawler.store.database import database, utcnow
from lpse_crawler.store.models import InstanceLease
from tests.conftest import make_crawler

CODES = ["kemkes", "jakarta", "makassar"]


def test_two_crawls_never_hold_one_instance(database):
    sync_registry(load_registry())
    first = leases.acquire(CODES[:2], "crawl-a", 600)
    second = leases.acquire(CODES, "crawl-b", 600)
    assert first == {"kemkes", "jakarta"} and second == {"makassar"}
    assert leases.acquire(CODES, "crawl-a", 600) == {"kemkes", "jakarta"}  # its own again


def test_a_dead_crawls_leases_expire_and_are_taken_over(database):
    sync_registry(load_registry())
    leases.acquire(CODES, "dead-crawl", 600)
    InstanceLease.update(expires_at=utcnow() - timedelta(seconds=1)).execute()  # it never renewed
    assert leases.acquire(CODES, "new-crawl", 600) == set(CODES)


def test_renewal_and_release(database):
    sync_registry(load_registry())
    leases.acquire(CODES, "crawl-a", 60)
    before = {row.instance_id: row.expires_at for row in InstanceLease.select()}
    assert leases.renew("crawl-a", 600) == 3
    assert all(row.expires_at > before[row.instance_id] for row in InstanceLease.select())
    leases.release("crawl-a")
    assert leases.acquire(CODES, "crawl-b", 600) == set(CODES)


def test_a_killed_crawl_on_this_machine_leaves_its_instances_at_once(database):
    sync_registry(load_registry())
    finished = subprocess.Popen(["true"])
    finished.wait()  # its pid no longer exists, like a crawl killed by the OOM killer
    leases.acquire(CODES, f"{socket.gethostname()}:{finished.pid}:killed", 600)
    assert leases.acquire(CODES, "next-crawl", 600) == set(CODES)


def test_a_live_crawl_on_this_machine_keeps_its_instances(database):
    sync_registry(load_registry())
    leases.acquire(CODES, f"{socket.gethostname()}:{os.getpid()}:alive", 600)
    assert leases.acquire(CODES, "next-crawl", 600) == set()


def test_a_renewal_that_fails_is_counted_and_the_next_one_renews(tmp_path):
    crawler = make_crawler(tmp_path / "pantau.db")
    spider = crawler.spider
    spider.lease_owner = "crawl-a"
    leases.acquire(CODES, "crawl-a", 60)
    before = {row.instance_id: row.expires_at for row in InstanceLease.select()}
    database.execute_sql("ALTER TABLE instance_lease RENAME TO instance_lease_away")  # the database fails
    spider.renew_leases(600)  # raises nothing: the LoopingCall that runs it goes on
    assert crawler.stats.get_value("lpse/errors/storage") == 1
    database.execute_sql("ALTER TABLE instance_lease_away RENAME TO instance_lease")
    spider.renew_leases(600)
    assert all(row.expires_at > before[row.instance_id] for row in InstanceLease.select())
    assert crawler.stats.get_value("lpse/errors/storage") == 1
