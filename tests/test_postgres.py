"""The same code on PostgreSQL: crawl, money, claims by two senders, a server restart,
times in order, the CLI, erasure. A private cluster on loopback (tests/pg_cluster.py)."""

import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import date
from itertools import pairwise
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from lpse_crawler.matching.saved_filters import save_filter
from lpse_crawler.outbox import Notification
from lpse_crawler.people.crypto import Keyring, generate_key
from lpse_crawler.people.models import Filter, Payment, Subscriber
from lpse_crawler.people.personal_data import create_subscriber
from lpse_crawler.spse.registry import load_registry, sync_registry
from lpse_crawler.store.database import database
from lpse_crawler.store.models import Instance, Tender
from lpse_crawler.store.schema import open_database
from lpse_crawler.store.tenders import upsert_tender
from tests.conftest import ROOT, TOKEN, crawl_environment, run_crawl
from tests.pg_cluster import PgCluster, server_binaries
from tests.spse_replay import SpseReplayServer
from tests.test_crawl import INSTANCES, expected_row
from tests.test_sender import ITEM

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
KEY = generate_key("pg")
PAYMENT = {
    "invoice_no": "INV-2026-0001",
    "amount": 49_000,
    "method": "transfer",
    "plan": "basic",
    "period_start": date(2026, 1, 1),
    "period_end": date(2026, 1, 31),
}


@pytest.fixture(scope="module")
def pg():
    if server_binaries() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed: `make test` installs Debian's postgresql")
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    with PgCluster() as cluster:
        yield cluster


@pytest.fixture
def pg_url(pg):
    url = pg.create_database()
    open_database(url)
    sync_registry(load_registry())
    yield url
    database.close()


def crawl_into(url: str, server: SpseReplayServer, instances: list[str], **env: str) -> None:
    database.close()
    result = run_crawl(server.base_url, Path("unused.db"), instances, DATABASE_URL=url, **env)
    assert result.returncode == 0, result.log[-3000:]
    open_database(url)


def test_a_crawl_on_postgres_stores_every_package_with_every_field(pg_url):
    with SpseReplayServer(INSTANCES) as server:
        crawl_into(pg_url, server, INSTANCES)
        for package in server.dataset.packages.values():
            slug = sorted(package.instances)[0]
            tender = Tender.get(Tender.kind == package.kind, Tender.kode == package.kode)
            expected = expected_row(package, slug, Instance.get_by_id(slug).timezone)
            assert {k: getattr(tender, k) for k in expected} == expected, package.kode
        assert Tender.select().count() == len(server.dataset.packages)
        assert Tender.select().where(Tender.hps > 2_147_483_647).exists()  # past 32 bits


def test_every_package_reaches_a_catch_all_subscriber_once_on_postgres(pg_url):
    subscriber = create_subscriber(Keyring.parse(KEY), chat_id=4242, name="Semua Paket")
    subscriber.plan = "pro"  # a filter on every LPSE needs the Pro plan
    subscriber.save()
    save_filter(subscriber, "Semua", "jenis:tender,nontender")
    with SpseReplayServer(INSTANCES) as server:
        crawl_into(pg_url, server, INSTANCES, LPSE_PAGE_SIZE="5")
        server.dataset.publish("jakarta", "tender", 3)
        crawl_into(pg_url, server, INSTANCES, LPSE_PAGE_SIZE="5")
        alerts = [n.tender_id for n in Notification.select()]
        assert sorted(alerts) == sorted(t.id for t in Tender.select()) and len(alerts) == 203


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_an_hps_of_25_miliar_round_trips(backend, pg, tmp_path):
    url = pg.create_database() if backend == "postgres" else f"sqlite:///{tmp_path / 'money.db'}"
    open_database(url)
    sync_registry(load_registry())
    upsert_tender(replace(ITEM, hps=25_000_000_000, pagu=25_000_000_001, hps_listing=25_000_000_000))
    database.close()
    open_database(url)
    tender = Tender.get()
    assert (tender.hps, tender.pagu, tender.hps_listing) == (25_000_000_000, 25_000_000_001, 25_000_000_000)
    database.close()


def queue_notifications(count: int) -> None:
    upsert_tender(ITEM)
    tender = Tender.get()
    Subscriber.insert_many([{"chat_id": 10_000 + n} for n in range(count)]).execute()
    Notification.insert_many(
        [{"subscriber": s.id, "tender": tender.id, "filter_ids": []} for s in Subscriber.select()]
    ).execute()
    database.close()


def sender(url: str, telegram, **env: str) -> subprocess.Popen:
    environment = (
        os.environ
        | {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": telegram.api_url,
            "PANTAU_KEYS": KEY,
            "DATABASE_URL": url,
            "SENDER_RATE": "400",
            "SENDER_PER_CHAT_INTERVAL": "0",
        }
        | env
    )
    command = [sys.executable, "-m", "bot", "--sender"]
    return subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def wait_for(telegram, count: int, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while len({m["chat_id"] for m in telegram.sent}) < count and time.monotonic() < deadline:
        time.sleep(0.2)


def stop(*processes: subprocess.Popen) -> str:
    errors = ""
    for process in processes:
        process.terminate()
        errors += process.communicate(timeout=30)[1].decode()
    return errors


def test_two_senders_on_postgres_never_send_one_notification_twice(pg_url, telegram):
    queue_notifications(1000)
    senders = [sender(pg_url, telegram), sender(pg_url, telegram)]
    try:
        wait_for(telegram, 1000)
    finally:
        log = stop(*senders)
    per_chat = Counter(m["chat_id"] for m in telegram.sent)
    assert len(per_chat) == 1000, log[-2000:]
    assert max(per_chat.values()) == 1, [c for c, n in per_chat.items() if n > 1][:10]
    open_database(pg_url)
    assert Notification.select().where(Notification.status == "sent").count() == 1000


def test_two_senders_on_postgres_space_one_chat_as_one_sender_would(pg_url, telegram):
    upsert_tender(ITEM)
    for n in range(2):  # three alerts to each of 20 chats
        upsert_tender(replace(ITEM, kode=str(int(ITEM.kode) + 1000 * (n + 1))))
    Subscriber.insert_many([{"chat_id": 20_000 + n} for n in range(20)]).execute()
    Notification.insert_many(
        [
            {"subscriber": s, "tender": t, "filter_ids": []}
            for s in Subscriber.select()
            for t in Tender.select()
        ]
    ).execute()
    database.close()
    senders = [sender(pg_url, telegram, SENDER_PER_CHAT_INTERVAL="1.0") for _ in range(2)]
    try:
        deadline = time.monotonic() + 120
        while len(telegram.sent) < 60 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        log = stop(*senders)
    assert len(telegram.sent) == 60, log[-2000:]
    by_chat: dict[int, list[float]] = {}
    for message in telegram.sent:
        by_chat.setdefault(message["chat_id"], []).append(message["at"])
    gaps = [b - a for times in by_chat.values() for a, b in pairwise(sorted(times))]
    assert min(gaps) >= 0.95, sorted(gaps)[:5]  # never two to one chat within a second


def test_a_sender_survives_a_postgres_restart_and_delivers_everything(pg, pg_url, telegram):
    queue_notifications(600)
    process = sender(pg_url, telegram, SENDER_RATE="100")
    try:
        wait_for(telegram, 150, seconds=60)
        pg.restart()
        wait_for(telegram, 600)
    finally:
        log = stop(process)
    assert len({m["chat_id"] for m in telegram.sent}) == 600, log[-3000:]
    open_database(pg_url)
    assert Notification.select().where(Notification.status == "sent").count() == 600


def test_times_sort_in_time_order_under_an_icu_collation(pg):
    url = pg.create_database(icu_locale="en-US")
    open_database(url)
    sync_registry(load_registry())
    database.execute_sql(
        "UPDATE instance SET last_ok_at = %s WHERE code = 'kemkes'", ("2026-02-06T07:00:00+00:00",)
    )
    database.execute_sql(
        "UPDATE instance SET last_ok_at = %s WHERE code = 'jakarta'", ("2026-02-06T07:00:00.500000+00:00",)
    )
    database.close()
    open_database(url)  # nothing to migrate: rows written by this release already sort
    kemkes, jakarta = Instance.get_by_id("kemkes"), Instance.get_by_id("jakarta")
    Instance.update(last_ok_at=kemkes.last_ok_at).where(Instance.code == "kemkes").execute()
    Instance.update(last_ok_at=jakarta.last_ok_at).where(Instance.code == "jakarta").execute()
    order = [
        i.code
        for i in Instance.select().where(Instance.last_ok_at.is_null(False)).order_by(Instance.last_ok_at)
    ]
    assert order == ["kemkes", "jakarta"]
    database.close()


def run_cli(url: str, *args: str, code: int = 0) -> str:
    database.close()
    result = CliRunner().invoke(cli, list(args), env={"DATABASE_URL": url, "PANTAU_KEYS": KEY})
    database.close()
    assert result.exit_code == code, result.output
    return result.output


def test_the_cli_on_postgres_states_versions_refuses_file_backups_and_erases(pg_url, tmp_path):
    person = create_subscriber(Keyring.parse(KEY), chat_id=777, name="Siti Rahmawati", email="siti@rahma.id")
    open_database(pg_url)
    assert '"postgresql"' in run_cli(pg_url, "db", "stats", "--json")
    assert "pg_dump" in run_cli(pg_url, "db", "backup", str(tmp_path / "copy.db"), code=1)
    filenode = "SELECT pg_relation_filenode('subscriber')"
    before = database.execute_sql(filenode).fetchone()[0]
    run_cli(pg_url, "users", "delete", str(person.id), "--yes")
    open_database(pg_url)
    assert not Subscriber.select().exists()
    assert database.execute_sql(filenode).fetchone()[0] != before  # rewritten without the old row


def test_db_copy_moves_an_sqlite_installation_to_postgres(pg_url, tmp_path):
    sqlite_url = f"sqlite:///{tmp_path / 'old.db'}"
    with SpseReplayServer(["kemkes", "jakarta"]) as server:
        crawl_into(sqlite_url, server, ["kemkes", "jakarta"])
    person = create_subscriber(Keyring.parse(KEY), chat_id=777, name="Siti Rahmawati", email="siti@rahma.id")
    person.plan = "pro"  # a filter on every LPSE needs the Pro plan
    person.save()
    save_filter(person, "Obat", "obat")
    assert "copied" in run_cli(pg_url, "db", "copy", sqlite_url)
    open_database(pg_url)
    assert Tender.select().count() == 100 and Subscriber.select().count() == 1
    assert "Siti Rahmawati" in run_cli(pg_url, "users", "show", "chat:777")  # decrypts: ids kept
    assert "already holds rows" in run_cli(pg_url, "db", "copy", sqlite_url, code=1)
    open_database(pg_url)
    newcomer = create_subscriber(Keyring.parse(KEY), chat_id=778, name="Budi")  # sequences moved on
    assert newcomer.id > person.id


def test_db_copy_never_gives_a_deleted_rows_id_again_either_way(pg_url, tmp_path):
    sqlite_url = f"sqlite:///{tmp_path / 'old.db'}"
    run_cli(sqlite_url, "db", "init")
    for chat in ("1", "2", "3"):
        run_cli(sqlite_url, "users", "add", "--chat-id", chat)
    run_cli(sqlite_url, "users", "delete", "3", "--yes")  # the counter says 3, the rows 2
    open_database(sqlite_url)
    person = Subscriber.get_by_id(1)
    kept = save_filter(person, "Obat", "obat")
    upsert_tender(ITEM)
    # filter 7 was deleted before ids were kept (migration 10): only an alert remembers it
    Notification.create(subscriber=person, tender=Tender.get(), filter_ids=[kept.id, 7])
    Payment.create(**PAYMENT).delete_instance()  # a table left empty that once held id 1
    database.close()
    run_cli(pg_url, "db", "copy", sqlite_url)
    assert "added subscriber 4" in run_cli(pg_url, "users", "add", "--chat-id", "999", "--name", "New Person")
    open_database(pg_url)
    for row in (save_filter(Subscriber.get_by_id(1), "Jalan", "jalan"), Payment.create(**PAYMENT)):
        assert row.id == {Filter: 8, Payment: 2}[type(row)]
        row.delete_instance()
    run_cli(pg_url, "users", "delete", "4", "--yes")
    back = f"sqlite:///{tmp_path / 'back.db'}"  # and back again: PostgreSQL's sequences kept too
    run_cli(back, "db", "init")
    run_cli(back, "db", "copy", pg_url)
    assert "added subscriber 5" in run_cli(back, "users", "add", "--chat-id", "1000")
    open_database(back)
    assert save_filter(Subscriber.get_by_id(1), "Beton", "beton").id == 9
    assert Payment.create(**PAYMENT).id == 3


def test_two_crawl_processes_at_once_split_the_fleet(pg, pg_url):
    subscriber = create_subscriber(Keyring.parse(KEY), chat_id=4242, name="Semua Paket")
    subscriber.plan = "pro"  # a filter on every LPSE needs the Pro plan
    subscriber.save()
    save_filter(subscriber, "Semua", "jenis:tender,nontender")
    database.close()
    with SpseReplayServer(INSTANCES) as server:
        alone = pg.create_database()
        open_database(alone)
        database.close()
        crawl_into(alone, server, INSTANCES)
        one_crawl = server.count()
        database.close()
        env = crawl_environment(server.base_url, Path("unused.db"), DATABASE_URL=pg_url)
        command = [sys.executable, "-m", "scrapy", "crawl", "lpse", "-a", f"instances={','.join(INSTANCES)}"]
        both = [subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.PIPE) for _ in range(2)]
        logs = [p.communicate(timeout=240)[1].decode() for p in both]
        assert [p.returncode for p in both] == [0, 0], logs[0][-2000:] + logs[1][-2000:]
        assert any("leased by another crawl" in log for log in logs)
        two_crawls = server.count() - one_crawl
        assert two_crawls <= one_crawl * 1.1, (two_crawls, one_crawl)
    open_database(pg_url)
    alerts = [n.tender_id for n in Notification.select()]
    assert sorted(alerts) == sorted(t.id for t in Tender.select()) and len(alerts) == 200
