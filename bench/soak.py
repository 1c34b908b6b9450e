"""Concurrency soak: crawls, the bot's sender and CLI writes on one SQLite file together.

    python -m bench soak        (SOAK_SECONDS, default 120)

Prints what each process did and how many "database is locked" failures there were; the
target is zero.
"""

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from lpse_crawler.matching.saved_filters import save_filter
from lpse_crawler.outbox import Notification
from lpse_crawler.people.crypto import Keyring, generate_key
from lpse_crawler.people.models import Subscriber
from lpse_crawler.people.personal_data import create_subscriber
from lpse_crawler.spse.registry import load_registry, sync_registry
from lpse_crawler.store.database import database
from lpse_crawler.store.models import Tender
from lpse_crawler.store.schema import open_database
from tests.conftest import ROOT, run_crawl
from tests.spse_replay import SpseReplayServer
from tests.telegram_emulator import TelegramEmulator

TOKEN, SUBSCRIBERS = "1:soak", 200
INSTANCES = [r.code for r in load_registry()][:20]
LOCKED = "database is locked"


def main() -> None:
    seconds = float(os.environ.get("SOAK_SECONDS", "120"))
    key = generate_key("soak")
    with (
        tempfile.TemporaryDirectory() as tmp,
        TelegramEmulator(TOKEN) as telegram,
        SpseReplayServer(INSTANCES, rows_per_kind=5) as server,
    ):
        db_path = Path(tmp) / "soak.db"
        env = os.environ | {
            "DATABASE_URL": f"sqlite:///{db_path}",
            "PANTAU_KEYS": key,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": telegram.api_url,
            "SENDER_RATE": "200",
        }
        open_database(f"sqlite:///{db_path}")
        sync_registry(load_registry())
        ring = Keyring.parse(key)
        for n in range(SUBSCRIBERS):
            save_filter(create_subscriber(ring, 70_000 + n, name=f"Pelanggan {n}"), "Jembatan", "jembatan")
        database.close()

        stop, locked, figures = (
            threading.Event(),
            [0],
            {"crawls": 0, "crawl_failures": 0, "cli": 0, "cli_failures": 0},
        )

        def crawler():
            while not stop.is_set():
                server.dataset.publish(INSTANCES[figures["crawls"] % len(INSTANCES)], "tender", 2)
                result = run_crawl(server.base_url, db_path, INSTANCES, LOG_LEVEL="INFO")
                figures["crawls"] += 1
                figures["crawl_failures"] += result.returncode != 0
                locked[0] += result.log.count(LOCKED)

        def operator():
            commands = [
                ["users", "pause", "1"],
                ["users", "resume", "1"],
                ["outbox", "status", "--json"],
                ["instances", "disable", INSTANCES[-1]],
                ["instances", "enable", INSTANCES[-1]],
                ["users", "update", "2", "--name", "Pelanggan Dua"],
                ["db", "stats", "--json"],
            ]
            n = 0
            while not stop.is_set():
                command = [sys.executable, "cli.py", *commands[n % len(commands)]]
                done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
                n += 1
                figures["cli"] += 1
                figures["cli_failures"] += done.returncode != 0
                locked[0] += (done.stdout + done.stderr).count(LOCKED)

        sender_log = Path(tmp) / "sender.log"
        with sender_log.open("w") as log:
            sender = subprocess.Popen(
                [sys.executable, "-m", "bot", "--sender"], cwd=ROOT, env=env, stdout=log, stderr=log
            )
            workers = [threading.Thread(target=crawler), threading.Thread(target=operator)]
            for worker in workers:
                worker.start()
            time.sleep(seconds)
            stop.set()
            for worker in workers:
                worker.join()
            sender.send_signal(signal.SIGTERM)
            sender.wait(timeout=30)
        locked[0] += sender_log.read_text().count(LOCKED)
        open_database(f"sqlite:///{db_path}")
        queued = Notification.select().count()
        sent = Notification.select().where(Notification.status == "sent").count()
        tenders, subscribers = Tender.select().count(), Subscriber.select().count()
        database.close()
    print(
        f"(e) soak for {seconds:.0f} s: {figures['crawls']} crawls ({figures['crawl_failures']} failed), "
        f"{tenders} packages, {queued} notifications queued, {sent} sent to {subscribers} subscribers, "
        f"{figures['cli']} CLI commands ({figures['cli_failures']} failed)"
    )
    print(
        f"    'database is locked' failures: {locked[0]} (target 0: {'MET' if locked[0] == 0 else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
