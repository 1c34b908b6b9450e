"""One request budget per host shared by every crawl process through the database."""

import subprocess
import sys

import pytest

from lpse_crawler.store import politeness
from lpse_crawler.store.schema import open_database
from tests.conftest import ROOT, crawl_environment
from tests.spse_replay import SpseReplayServer

HOST = "spse.inaproc.id"


def test_slots_are_one_interval_apart_and_a_pause_pushes_them(database):
    waits = [politeness.reserve(HOST, 0.5) for _ in range(4)]
    assert waits[0] == pytest.approx(0, abs=0.05)
    assert [round(b - a, 1) for a, b in zip(waits, waits[1:], strict=False)] == [0.5, 0.5, 0.5]
    politeness.pause(HOST, 30)
    assert politeness.reserve(HOST, 0.5) == pytest.approx(30, abs=0.1)
    assert politeness.reserve("other.host", 0.5) == pytest.approx(0, abs=0.05)  # per host


def busiest_second(times: list[float]) -> int:
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t - start < 1.0) for i, start in enumerate(times))


@pytest.mark.slow
def test_two_crawl_processes_share_one_rate(database_url):
    instances = ["kemkes", "jakarta"]
    open_database(database_url).close()
    with SpseReplayServer(instances) as server:
        env = crawl_environment(
            server.base_url, database_url, LPSE_DOWNLOAD_DELAY="0.1", LPSE_CONCURRENCY="4"
        )
        command = [sys.executable, "-m", "scrapy", "crawl", "lpse", "-a", f"instances={','.join(instances)}"]
        crawls = [subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.PIPE) for _ in range(2)]
        logs = [c.communicate(timeout=240)[1].decode() for c in crawls]
        assert [c.returncode for c in crawls] == [0, 0], logs[0][-2000:] + logs[1][-2000:]
        assert any("leased by another crawl" in log for log in logs)
        # 0.1 s apart for the whole fleet: 10 a second, however many crawls run
        assert busiest_second(server.times) <= 11, busiest_second(server.times)
        assert len(server.times) > 100  # 50 packages an instance: a crawl of several seconds
