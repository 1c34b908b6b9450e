"""(d) Sender throughput: 5,000 queued notifications to 500 chats through the loopback Bot API.

Telegram allows about 30 messages/s overall and 1/s per chat; the target is at least 90% of
that ceiling, never more than one message per second to one chat. Baseline in the same run:
the emulator's raw capacity, sending without any limit.
"""

import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import replace

from peewee import chunked

from bot.app import build_bot
from bot.config import BotConfig
from bot.sender import Sender
from lpse_crawler.outbox import Notification
from lpse_crawler.people.crypto import Keyring, generate_key
from lpse_crawler.people.models import Subscriber
from lpse_crawler.spse.registry import load_registry, sync_registry
from lpse_crawler.store.database import database
from lpse_crawler.store.models import Tender
from lpse_crawler.store.schema import open_database
from lpse_crawler.store.tenders import upsert_tender
from tests.telegram_emulator import TelegramEmulator
from tests.test_sender import ITEM

TOKEN = "1:bench"
NOTIFICATIONS, CHATS, CEILING = 5000, 500, 30.0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, TelegramEmulator(TOKEN) as telegram:
        open_database(f"sqlite:///{tmp}/bench.db")
        sync_registry(load_registry())
        for n in range(NOTIFICATIONS // CHATS):  # ten tenders, each to every chat
            upsert_tender(replace(ITEM, kode=str(30_000_000_000 + n * 1000)))
        Subscriber.insert_many([{"chat_id": 50_000 + n} for n in range(CHATS)]).execute()
        rows = [
            {"subscriber": s.id, "tender": t.id, "filter_ids": []}
            for t in Tender.select()
            for s in Subscriber.select()
        ]
        for batch in chunked(rows, 500):
            Notification.insert_many(batch).execute()
        config = BotConfig.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": telegram.api_url})
        telebot, _ = build_bot(config, Keyring.parse(generate_key("bench")))

        start = time.perf_counter()
        for n in range(300):
            telebot.send_message(99, f"baseline {n}")
        raw = 300 / (time.perf_counter() - start)
        telegram.sent.clear()

        stop = threading.Event()
        worker = threading.Thread(target=Sender(telebot, config).run, args=(stop, 0.05))
        start = time.perf_counter()
        worker.start()
        while Notification.select().where(Notification.status != "sent").exists():
            time.sleep(0.5)
        seconds = time.perf_counter() - start
        stop.set()
        worker.join()
        database.close()
    by_chat = defaultdict(list)
    for message in telegram.sent:
        by_chat[message["chat_id"]].append(message["at"])
    closest = min(b - a for times in by_chat.values() for a, b in zip(times, times[1:], strict=False))
    rate = NOTIFICATIONS / seconds
    print(
        f"(d) sender: {NOTIFICATIONS:,} notifications to {CHATS} chats in {seconds:.0f} s = {rate:.1f} msg/s"
    )
    verdict = "MET" if rate >= 0.9 * CEILING else "MISSED"
    print(
        f"    {rate / CEILING:.0%} of the {CEILING:.0f} msg/s ceiling (target >= 90%: {verdict}); "
        f"baseline, unthrottled: {raw:.0f} msg/s"
    )
    print(
        f"    closest two messages to one chat: {closest:.2f} s apart (must be >= 1 s: "
        f"{'MET' if closest >= 0.999 else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
