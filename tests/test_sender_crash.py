"""SIGKILL the sender at random points while it drains 1,000 notifications; restart it;
nothing is lost, and duplicates are no more than the claims it counted as taken back."""

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from lpse_crawler.outbox import Notification
from lpse_crawler.people.crypto import generate_key
from lpse_crawler.people.models import Subscriber
from lpse_crawler.spse.registry import load_registry, sync_registry
from lpse_crawler.store.models import Tender
from lpse_crawler.store.schema import open_database
from lpse_crawler.store.tenders import upsert_tender
from lpse_crawler.usage import UsageDaily
from tests.conftest import ROOT, TOKEN
from tests.test_sender import ITEM

pytestmark = pytest.mark.slow  # the sender as a real process, killed and started again

TOTAL, KILLS = 1000, 4


def test_sigkill_loses_nothing(database, database_url, telegram, capsys):
    sync_registry(load_registry())
    upsert_tender(ITEM)
    tender = Tender.get()
    Subscriber.insert_many([{"chat_id": 10_000 + n} for n in range(TOTAL)]).execute()
    Notification.insert_many(
        [{"subscriber": s.id, "tender": tender.id, "filter_ids": []} for s in Subscriber.select()]
    ).execute()
    database.close()  # the fixture's connection: the sender processes own the file now
    env = os.environ | {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": telegram.api_url,
        "PANTAU_KEYS": generate_key("crash"),
        "DATABASE_URL": database_url,
        "SENDER_RATE": "100",
        "SENDER_CLAIM_LEASE": "1",
    }
    rng = random.Random(1000)
    for _ in range(KILLS):
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "--sender"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(1.0, 2.0))  # start-up takes about 0.7 s; 1,000 sends take 10 s
        process.send_signal(signal.SIGKILL)
        process.wait()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "--sender"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    delivered_before_last_start = len({m["chat_id"] for m in telegram.sent})
    try:
        deadline = time.monotonic() + 120
        while len({m["chat_id"] for m in telegram.sent}) < TOTAL and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    open_database(database_url)
    per_chat = Counter(m["chat_id"] for m in telegram.sent)
    duplicates = sum(per_chat.values()) - len(per_chat)
    reclaimed = (
        UsageDaily.select(UsageDaily.count).where(UsageDaily.metric == "notifications_reclaimed").scalar()
        or 0
    )
    with capsys.disabled():
        print(
            f"\n  sender crash test: {TOTAL} notifications, {KILLS} SIGKILLs "
            f"({delivered_before_last_start} delivered before the last start), "
            f"{len(per_chat)} chats reached, {duplicates} duplicates, "
            f"{reclaimed} claims taken back"
        )
    assert 0 < delivered_before_last_start < TOTAL  # the kills did interrupt the drain
    assert len(per_chat) == TOTAL  # nothing lost
    assert Notification.select().where(Notification.status != "sent").count() == 0
    assert duplicates <= reclaimed
