"""Shared fixtures: a fresh SQLite database, and real crawls against the replay server."""

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from lpse_crawler.db import database as shared_database
from lpse_crawler.schema import open_database

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def database_path(tmp_path) -> Path:
    return tmp_path / "pantau.db"


@pytest.fixture
def database(database_path):
    db = open_database(f"sqlite:///{database_path}")
    yield db
    db.close()


@dataclass
class CrawlResult:
    returncode: int
    log: str


def run_crawl(
    base_url: str, db_path: Path, instances: list[str], spider: str = "lpse", **env: str
) -> CrawlResult:
    """`scrapy crawl <spider>` as a real process against `base_url`, into `db_path`."""
    environment = (
        os.environ
        | {
            "LPSE_BASE_URL": base_url,
            "DATABASE_URL": f"sqlite:///{db_path}",
            "LPSE_YEARS": "2025,2026",
            "LPSE_PAGE_SIZE": "10",
            "LPSE_DOWNLOAD_DELAY": "0",
            "LPSE_AUTOTHROTTLE": "0",
            "LPSE_CONCURRENCY": "4",
            "LPSE_RETRY_BACKOFF": "0.05",
            "LPSE_BROWSER": "0",
            "LOG_LEVEL": "INFO",
        }
        | env
    )
    command = [sys.executable, "-m", "scrapy", "crawl", spider]
    command += ["-a", f"instances={','.join(instances)}"] if instances else []
    done = subprocess.run(command, env=environment, cwd=ROOT, capture_output=True, text=True, timeout=240)
    if shared_database.obj is not None:
        shared_database.close()  # see the crawl's writes on the next query
    return CrawlResult(done.returncode, done.stderr)
