"""Offline demo: the whole service on loopback, from crawl to a subscriber's Telegram chat.

    make demo        (or: .venv/bin/python scripts/demo.py)

The first crawl stores every replayed package. Then two subscribers save filters (a new
filter starts from now: no flood of old packages), two new packages are published, and
the second crawl spends only the requests the news needs and queues the matching alerts,
which the bot's sender delivers to a loopback Telegram Bot API emulator.
"""

import html
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import build_bot  # noqa: E402
from bot.config import BotConfig  # noqa: E402
from bot.sender import Sender  # noqa: E402
from lpse_crawler.health import health_table  # noqa: E402
from lpse_crawler.matching.saved_filters import save_filter  # noqa: E402
from lpse_crawler.outbox import Notification  # noqa: E402
from lpse_crawler.people.crypto import Keyring, generate_key  # noqa: E402
from lpse_crawler.people.personal_data import create_subscriber  # noqa: E402
from lpse_crawler.store.crawl_state import last_health  # noqa: E402
from lpse_crawler.store.models import Tender, TenderListing  # noqa: E402
from lpse_crawler.store.schema import open_database  # noqa: E402
from tests.spse_replay import SpseReplayServer  # noqa: E402
from tests.telegram_emulator import TelegramEmulator  # noqa: E402

INSTANCES = ["kemkes", "nasional", "jakarta", "pontianak", "makassar", "jayapurakota"]
DATABASE = ROOT / "data" / "demo.db"
DEMO_TOKEN = "100000:demo-token"  # the emulator accepts any token; Telegram is never contacted
# (chat id, name, filter): the first fits the new package on LPSE Jakarta, the second excludes it
SUBSCRIBERS = [
    (5001, "Budi Santoso", 'jembatan "beton" lpse:jakarta'),
    (5002, "Siti Rahmawati", "jembatan -beton"),
]


def crawl(server: SpseReplayServer) -> None:
    env = os.environ | {
        "LPSE_BASE_URL": server.base_url,
        "DATABASE_URL": f"sqlite:///{DATABASE}",
        "LPSE_YEARS": "2025,2026",  # the recorded listings are fiscal year 2025
        "LPSE_DOWNLOAD_DELAY": "0",  # loopback: no need to be gentle
        "LPSE_AUTOTHROTTLE": "0",
        "LPSE_CONCURRENCY": "4",
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "scrapy", "crawl", "lpse", "-a", f"instances={','.join(INSTANCES)}"]
    subprocess.run(command, env=env, cwd=ROOT, check=True)


def report(title: str, server: SpseReplayServer) -> None:
    print(f"\n== {title} ==")
    print(health_table(last_health(INSTANCES)))
    for kind in ("tender", "nontender"):
        print(f"{kind:>10}: {Tender.select().where(Tender.kind == kind).count()} paket tersimpan")
    print(f"  listings: {TenderListing.select().count()} (a package can be listed on several LPSE)")
    print(f"  replay server answered {server.count()} requests in all")


def subscribe(keyring: Keyring) -> None:
    print("\n== subscribers save their filters ==")
    for chat_id, name, spec in SUBSCRIBERS:
        subscriber = create_subscriber(keyring, chat_id, name=name)
        save_filter(subscriber, "Jembatan", spec)
        print(f"  chat {chat_id}: /filter {spec}")


def deliver(keyring: Keyring) -> None:
    """Run the bot's sender against the loopback Bot API until the outbox is empty."""
    queued = Notification.select().where(Notification.status == "queued").count()
    print(f"\n== the bot's sender: {queued} notification(s) queued ==")
    with TelegramEmulator(DEMO_TOKEN) as telegram:
        config = BotConfig.from_env({"TELEGRAM_BOT_TOKEN": DEMO_TOKEN, "TELEGRAM_API_URL": telegram.api_url})
        telebot, _ = build_bot(config, keyring)
        sender = Sender(telebot, config)
        while sender.drain_once():
            pass
        for chat_id, _, _ in SUBSCRIBERS:
            messages = telegram.texts_to(chat_id)
            print(f"\n-- chat {chat_id} received {len(messages)} message(s)")
            for text in messages:
                print("   " + html.unescape(re.sub(r"<[^>]+>", "", text)).replace("\n", "\n   "))


def main() -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DATABASE}{suffix}").unlink(missing_ok=True)
    keyring = Keyring.parse(generate_key("demo"))  # a throwaway key: the demo database is disposable
    with SpseReplayServer(INSTANCES) as server:
        print(f"SPSE replay server on {server.base_url}, database {DATABASE}")
        crawl(server)
        open_database(f"sqlite:///{DATABASE}")
        report("first crawl", server)
        subscribe(keyring)
        server.dataset.publish("jakarta", "tender", 1)
        server.dataset.publish("makassar", "nontender", 1)
        before = server.count()
        crawl(server)
        report("second crawl: two new packages published", server)
        print(f"  second crawl: {server.count() - before} requests for {len(INSTANCES)} instances x 2 kinds")
    deliver(keyring)


if __name__ == "__main__":
    main()
