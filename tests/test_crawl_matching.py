"""A crawl of the replay server with subscribers in the database queues exactly the expected
notifications, once; a second crawl queues none; a new filter starts from now."""

import re

import pytest

from lpse_crawler.matching.saved_filters import save_filter
from lpse_crawler.outbox import Notification
from lpse_crawler.people.crypto import Keyring, generate_key
from lpse_crawler.people.models import Subscriber
from lpse_crawler.people.personal_data import create_subscriber
from lpse_crawler.spse.registry import load_registry, sync_registry
from lpse_crawler.store.database import database
from lpse_crawler.store.models import Tender
from lpse_crawler.store.schema import open_database
from tests.conftest import run_crawl
from tests.spse_replay import SpseReplayServer

pytestmark = pytest.mark.slow  # real `scrapy crawl` processes against the replay server

INSTANCES = ["kemkes", "nasional", "jakarta", "makassar"]
KEYRING = Keyring.parse(generate_key("test"))


def has_word(name: str, word: str) -> bool:
    return word in re.findall(r"[a-z0-9]+", name.split("<span")[0].lower())


@pytest.fixture
def server():
    with SpseReplayServer(INSTANCES) as replay:
        yield replay


@pytest.fixture
def people(database):
    sync_registry(load_registry())
    subscribers = {}
    for chat_id, (key, filters) in enumerate(
        [
            ("A", [("Obat Kemkes", "obat lpse:kemkes"), ("BMHP Kemkes", "bmhp lpse:kemkes")]),
            ("B", [("PL Sulsel", 'provinsi:"Sulawesi Selatan" jenis:nontender')]),
            ("C", [("Obat non TB", "obat -tb")]),
            ("D", [("Obat", "obat")]),
        ],
        start=100,
    ):
        subscriber = create_subscriber(KEYRING, chat_id=chat_id, name=f"Pelanggan {key}")
        subscriber.plan = "pro"  # a filter on every LPSE needs the Pro plan
        subscriber.save()
        for name, text in filters:
            save_filter(subscriber, name, text)
        subscribers[key] = subscriber.id
    Subscriber.update(status="paused").where(Subscriber.id == subscribers["D"]).execute()
    database.close()
    return subscribers


def queued() -> dict[int, dict[str, list]]:
    """subscriber id -> {kode: filter ids}"""
    result: dict[int, dict[str, list]] = {}
    for n in Notification.select(Notification, Tender).join(Tender):
        result.setdefault(n.subscriber_id, {})[n.tender.kode] = n.filter_ids
    return result


def test_crawl_queues_the_expected_notifications_once(server, people, database_url):
    assert run_crawl(server.base_url, database_url, INSTANCES).returncode == 0
    open_database(database_url)
    packages = server.dataset.packages.values()
    expected_a = {
        p.kode
        for p in packages
        if "kemkes" in p.instances and (has_word(p.cells[1], "obat") or has_word(p.cells[1], "bmhp"))
    }
    expected_b = {p.kode for p in packages if "makassar" in p.instances and p.kind == "nontender"}
    expected_c = {p.kode for p in packages if has_word(p.cells[1], "obat") and not has_word(p.cells[1], "tb")}
    expected_d = {p.kode for p in packages if has_word(p.cells[1], "obat")}
    got = queued()
    assert set(got[people["A"]]) == expected_a and len(expected_a) == 5
    assert set(got[people["B"]]) == expected_b and len(expected_b) == 25
    assert set(got[people["C"]]) == expected_c and len(expected_c) == 4
    assert set(got[people["D"]]) == expected_d  # paused: queued and kept, not sent (outbox.REACHABLE)
    both = [ids for ids in got[people["A"]].values() if len(ids) == 2]
    assert both, "a package fitting both of A's filters is one notification naming both"
    row = Notification.select().where(Notification.subscriber == people["C"]).first()
    assert row.status == "queued" and row.matched_words == ["obat"]
    total = Notification.select().count()
    assert total == len(expected_a) + len(expected_b) + len(expected_c) + len(expected_d)

    assert run_crawl(server.base_url, database_url, INSTANCES).returncode == 0
    database.close()
    assert Notification.select().count() == total  # the second crawl queues none


def test_a_new_filter_starts_from_now(server, people, database_url):
    assert run_crawl(server.base_url, database_url, INSTANCES).returncode == 0
    open_database(database_url)
    newcomer = create_subscriber(KEYRING, chat_id=999, name="Pelanggan Baru")
    newcomer.plan = "pro"  # a filter on every LPSE needs the Pro plan
    newcomer.save()
    save_filter(newcomer, "Semua obat", "obat | jembatan")
    database.close()
    new = server.dataset.publish("jakarta", "tender", 1)[0]  # "Paket Baru ... Pembangunan Jembatan Beton"
    assert run_crawl(server.base_url, database_url, INSTANCES).returncode == 0
    database.close()
    got = queued()
    assert got[newcomer.id] == {new.kode: [got[newcomer.id][new.kode][0]]}  # only the new package
