"""Shared fixtures: a fresh SQLite database, real crawls against the replay server, and
Scrapy's test crawler for the spider, pipelines and middlewares in process."""

import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from lpse_crawler.store.database import database as shared_database
from lpse_crawler.store.schema import open_database

ROOT = Path(__file__).resolve().parent.parent


POSTGRES = os.environ.get("TEST_DATABASE", "sqlite") == "postgres"  # the suite's second run in CI


def pytest_collection_modifyitems(config, items):
    """On PostgreSQL, SQLite-only checks (file bytes, WAL, max_page_count) are left out."""
    if POSTGRES:
        skip = pytest.mark.skip(reason="SQLite only; its PostgreSQL counterpart is in test_postgres.py")
        again = pytest.mark.skip(reason="runs its own PostgreSQL cluster in the SQLite run already")
        for item in items:
            if "sqlite_only" in item.keywords:
                item.add_marker(skip)
            elif "postgres" in item.keywords:
                item.add_marker(again)


@pytest.fixture(scope="session")
def postgres_cluster():
    """A private PostgreSQL cluster for the whole run (TEST_DATABASE=postgres)."""
    from tests.pg_cluster import PgCluster

    with PgCluster() as cluster:
        yield cluster


@pytest.fixture
def database_path(tmp_path) -> Path:
    """Where an SQLite test database lives (SQLite-only tests use the file itself)."""
    return tmp_path / "pantau.db"


@pytest.fixture
def database_url(request, database_path) -> str:
    """A fresh, empty test database: SQLite by default, PostgreSQL with TEST_DATABASE=postgres."""
    if POSTGRES:
        return request.getfixturevalue("postgres_cluster").create_database()
    return f"sqlite:///{database_path}"


@pytest.fixture
def database(database_url):
    db = open_database(database_url)
    yield db
    db.close()


@dataclass
class CrawlResult:
    returncode: int
    log: str


def as_url(db: str | Path) -> str:
    """A database URL from a URL or an SQLite file path."""
    return db if isinstance(db, str) else f"sqlite:///{db}"


def crawl_environment(base_url: str, db: str | Path, **env: str) -> dict[str, str]:
    """The environment of a test crawl: replay server, test database, small pages, no delays."""
    return (
        os.environ
        | {
            "LPSE_BASE_URL": base_url,
            "DATABASE_URL": as_url(db),
            "LPSE_YEARS": "2025,2026",
            "LPSE_PAGE_SIZE": "10",
            "LPSE_DOWNLOAD_DELAY": "0",
            "LPSE_AUTOTHROTTLE": "0",
            "LPSE_CONCURRENCY": "4",
            "LPSE_RETRY_BACKOFF": "0.05",
            "LPSE_BROWSER": "0",
            "LPSE_RUN_MINUTES": "0",  # a scheduled run takes what is due, then ends
            "LOG_LEVEL": "INFO",
        }
        | env
    )


def run_crawl(
    base_url: str, db: str | Path, instances: list[str], spider: str = "lpse", **env: str
) -> CrawlResult:
    """`scrapy crawl <spider>` as a real process against `base_url`, into database `db`."""
    environment = crawl_environment(base_url, db, **env)
    command = [sys.executable, "-m", "scrapy", "crawl", spider]
    command += ["-a", f"instances={','.join(instances)}"] if instances else []
    done = subprocess.run(command, env=environment, cwd=ROOT, capture_output=True, text=True, timeout=240)
    if shared_database.obj is not None:
        shared_database.close()  # see the crawl's writes on the next query
    return CrawlResult(done.returncode, done.stderr)


# The in-process crawler: the project's settings (pipelines, middlewares, retries), with the
# values tests rely on pinned the way crawl_environment pins them for a real crawl.
CRAWLER_SETTINGS = {
    "LPSE_BASE_URL": "https://spse.inaproc.id",
    "LPSE_YEARS": "2025,2026",
    "LPSE_PAGE_SIZE": 10,
    "LPSE_MAX_PAGES": 50,
    "LPSE_MAX_DETAILS": 500,
    "LPSE_DETAIL_ATTEMPTS": 5,
    "LPSE_FAIL_AFTER": 1,
    "LPSE_LEASE_SECONDS": 0,  # in-process spiders never close: their leases must not outlive them
    "LPSE_BROWSER_ENABLED": False,
    "LPSE_PROXY": "",
    "RETRY_TIMES": 3,
    "RETRY_BACKOFF_BASE": 0.01,
    "HTTP_429_PAUSE": 60.0,
}


def make_crawler(db: str | Path, instances: str = "kemkes", kinds: str = "tender,nontender", **settings):
    """Scrapy's test crawler (`scrapy.utils.test.get_crawler`) with `crawler.spider` set to
    the `lpse` spider it made, as during `scrapy crawl lpse -a instances=...`; nothing runs."""
    from scrapy.utils.test import get_crawler

    import lpse_crawler.settings as project
    from lpse_crawler.spiders.instances import AllInstancesSpider

    reactor = {"TWISTED_REACTOR", "DOWNLOAD_HANDLERS"}  # get_crawler picks what fits this process
    values = {name: getattr(project, name) for name in dir(project) if name.isupper() and name not in reactor}
    values |= CRAWLER_SETTINGS | {"DATABASE_URL": as_url(db)} | settings
    crawler = get_crawler(AllInstancesSpider, values)
    crawler.spider = AllInstancesSpider.from_crawler(crawler, instances=instances, kinds=kinds)
    return crawler


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    """One SQLite file for a module's in-process spider tests (parse once per module)."""
    path = tmp_path_factory.mktemp("spider") / "pantau.db"
    yield path
    shared_database.close()


@pytest.fixture(scope="session")
def registry_database(tmp_path_factory) -> Path:
    """A database migrated and with the instance registry synced, to copy (0.3 s a test less)."""
    from lpse_crawler.spse.registry import load_registry, sync_registry

    path = tmp_path_factory.mktemp("registry") / "pantau.db"
    db = open_database(f"sqlite:///{path}")
    sync_registry(load_registry())
    db.close()
    return path


@pytest.fixture
def new_crawler(request, database_path):
    """Makes in-process crawlers (`new_crawler(LPSE_PROXY=...)`) over one fresh test database,
    a copy of the template on SQLite."""
    if POSTGRES:
        url = request.getfixturevalue("database_url")
        open_database(url)
        from lpse_crawler.spse.registry import load_registry, sync_registry

        sync_registry(load_registry())
        shared_database.close()
    else:
        shutil.copyfile(request.getfixturevalue("registry_database"), database_path)
        url = f"sqlite:///{database_path}"
    yield lambda **kwargs: make_crawler(url, **kwargs)
    shared_database.close()


@pytest.fixture
def crawler(new_crawler):
    """An in-process crawler of `kemkes` over a fresh test database."""
    return new_crawler()


TOKEN = "123456:TEST-token-never-logged"


@pytest.fixture
def keyring():
    from lpse_crawler.people.crypto import Keyring, generate_key

    return Keyring.parse(generate_key("test"))


@pytest.fixture
def telegram():
    from tests.telegram_emulator import TelegramEmulator

    emulator = TelegramEmulator(TOKEN)
    # serve_forever looks for shutdown every poll_interval: 0.5 s by default, paid by every test
    emulator.thread = threading.Thread(target=emulator.httpd.serve_forever, args=(0.02,), daemon=True)
    with emulator:
        yield emulator


class Conversation:
    """Drives the real handlers over real HTTP: updates come from getUpdates, replies go out."""

    def __init__(self, telebot, emulator):
        self.telebot, self.emulator, self.offset = telebot, emulator, 0

    def step(self) -> None:
        updates = self.telebot.get_updates(offset=self.offset, timeout=5, long_polling_timeout=0)
        if updates:
            self.offset = updates[-1].update_id + 1
            self.telebot.process_new_updates(updates)

    def say(self, chat_id: int, text: str, **kwargs) -> str:
        before = len(self.emulator.sent)
        self.emulator.push_message(chat_id, text, **kwargs)
        self.step()
        replies = [m.get("text") or m.get("caption") or "" for m in self.emulator.sent[before:]]
        return "\n".join(replies)

    def press(
        self, chat_id: int, data: str, from_id: int | None = None, message_id: int | None = None
    ) -> str:
        before = len(self.emulator.sent)
        self.emulator.push_callback(chat_id, data, from_id, message_id=message_id)
        self.step()
        return "\n".join(m.get("text") or "" for m in self.emulator.sent[before:])


@pytest.fixture
def bot_config(telegram):
    from bot.config import BotConfig

    return BotConfig.from_env(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": telegram.api_url,
            "BOT_ADMIN_IDS": "900",
            "SENDER_RATE": "1000",
            "SENDER_PER_CHAT_INTERVAL": "0",
        }
    )


@pytest.fixture
def chat(database, telegram, keyring, bot_config):
    from bot.app import build_bot
    from lpse_crawler.spse.registry import load_registry, sync_registry

    sync_registry(load_registry())
    telebot, _ = build_bot(bot_config, keyring)
    return Conversation(telebot, telegram)
