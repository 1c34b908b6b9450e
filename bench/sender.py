"""(d) The bot's sender against the loopback Bot API with a simulated round trip (issue 14).

The sender runs as in production (`Sender.run` in a thread, the default limits: SENDER_RATE
30, one message a second to a chat, 20 a minute to a group, 8 sends in flight), each
scenario on a fresh SQLite outbox; what reaches the emulator is counted there:

- round trips of 0, 100 and 200 ms: 200 notifications to 100 chats, and as the baseline
  of the same run the sender with one send in flight (as before issue 14) on 30;
- 5,000 notifications to 500 chats at 150 ms, in random order and uneven: ten chats get 80
  each, twenty groups 10 each, the rest 8 or 9, so the same chats are due again and again
  and the per-chat limits are really tested;
- head of line at 150 ms: one chat with 150 queued ahead of 3,000 others (1,000 chats),
  measured until the 3,000 are delivered.

The emulator runs in a process of its own, so that its clock is not held up by the
sender's threads (one interpreter lock) and the CPU time printed is the sender's. Printed:
msg/s, wall and CPU time, the busiest 1-second window and the shortest gap between two
messages to one chat (and to one group), both as the emulator counted them.
Targets: >= 27 msg/s at 150 ms (5,000 and head of line); never two messages to one chat
less than 1 s apart (a group 3 s), never more than 30 in any second. Each scenario has a
deadline: one that stalls is stopped and MISSED.
"""

import multiprocessing
import random
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, replace

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
TARGET_RATE, MAX_PER_SECOND, CHAT_GAP, GROUP_GAP = 27.0, 30, 1.0, 3.0
HEAVY = 7_000  # the head-of-line chat


@dataclass
class Result:
    name: str
    total: int  # messages the scenario is done at
    delivered: int
    wall: float  # seconds to the last message counted
    cpu: float
    busiest: int  # messages in the busiest 1-second window
    chat_gap: float  # shortest gap between two messages to one private chat
    group_gap: float
    finished: bool  # before the deadline

    @property
    def rate(self) -> float:
        return self.delivered / self.wall if self.wall else 0.0

    def verdict(self, target: float | None) -> str:
        ok = self.finished and self.busiest <= MAX_PER_SECOND
        ok = ok and self.chat_gap >= CHAT_GAP - 1e-6 and self.group_gap >= GROUP_GAP - 1e-6
        return "MET" if ok and (target is None or self.rate >= target) else "MISSED"


class RemoteEmulator:
    """The loopback Bot API (tests/telegram_emulator.py) in a process of its own."""

    def __enter__(self) -> "RemoteEmulator":
        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process = context.Process(target=serve_emulator, args=(child,), daemon=True)
        self.process.start()
        self.api_url = self.connection.recv()
        return self

    def __exit__(self, *exc) -> None:
        self.call("stop")
        self.process.join(10)

    def call(self, *command):
        self.connection.send(command)
        return self.connection.recv()


def serve_emulator(connection) -> None:
    """The emulator's process: answers the benchmark's commands until "stop"."""
    with TelegramEmulator(TOKEN) as telegram:
        commands = {
            "round_trip": lambda seconds: setattr(telegram, "round_trip", seconds),
            "clear": lambda: telegram.sent.clear(),
            "sent": lambda: [{"chat_id": m["chat_id"], "at": m["at"]} for m in list(telegram.sent)],
            "others": lambda chat: sum(1 for m in list(telegram.sent) if m["chat_id"] != chat),
        }
        connection.send(telegram.api_url)
        while (command := connection.recv())[0] != "stop":
            connection.send(commands[command[0]](*command[1:]))
        connection.send(None)


def outbox(tmp: str, name: str, recipients: list[int]) -> None:
    """A fresh database whose outbox holds one notification per entry of `recipients` (chat
    ids, in id order), a chat's n-th on the n-th tender."""
    open_database(f"sqlite:///{tmp}/{name}.db")
    sync_registry(load_registry())
    per_chat = defaultdict(int)
    for chat in recipients:
        per_chat[chat] += 1
    for n in range(max(per_chat.values())):
        upsert_tender(replace(ITEM, kode=str(30_000_000_000 + n * 1000)))
    tenders = [t.id for t in Tender.select().order_by(Tender.id)]
    Subscriber.insert_many([{"chat_id": chat} for chat in per_chat]).execute()
    subscribers = {s.chat_id: s.id for s in Subscriber.select()}
    seen, rows = defaultdict(int), []
    for chat in recipients:
        rows.append({"subscriber": subscribers[chat], "tender": tenders[seen[chat]], "filter_ids": []})
        seen[chat] += 1
    with database.atomic():
        for batch in chunked(rows, 500):
            Notification.insert_many(batch).execute()


def run(telegram, telebot, config, deadline: float, done) -> tuple[list[dict], float, float, bool]:
    """Run the sender until `done()` or the deadline; returns what reached the emulator,
    when the sender started, its CPU time and whether it was done in time."""
    telegram.call("clear")
    stop = threading.Event()
    worker = threading.Thread(target=Sender(telebot, config).run, args=(stop, 0.05))
    start, cpu = time.monotonic(), time.process_time()
    worker.start()
    while not (finished := done()) and time.monotonic() - start < deadline:
        time.sleep(0.25)
    cpu = time.process_time() - cpu
    stop.set()
    worker.join()
    database.close()
    return telegram.call("sent"), start, cpu, finished


def measure(name: str, total: int, sent: list[dict], start: float, cpu: float, finished: bool) -> Result:
    times = sorted(m["at"] for m in sent)
    busiest, first = 0, 0
    for last, moment in enumerate(times):  # the most messages in any [t, t + 1 s)
        while moment - times[first] >= 1.0:
            first += 1
        busiest = max(busiest, last - first + 1)
    by_chat = defaultdict(list)
    for message in sent:
        by_chat[message["chat_id"]].append(message["at"])
    gaps = {True: [float("inf")], False: [float("inf")]}
    for chat, moments in by_chat.items():
        moments.sort()
        gaps[chat < 0].extend(b - a for a, b in zip(moments, moments[1:], strict=False))
    wall = (times[-1] - start) if times else 0.0
    return Result(name, total, len(times), wall, cpu, busiest, min(gaps[False]), min(gaps[True]), finished)


def nothing_left() -> bool:
    return not Notification.select().where(Notification.status.in_(["queued", "sending"])).exists()


def sweep(
    tmp, telegram, telebot, config, round_trip: float, in_flight: int, count: int, chats: int
) -> Result:
    """`count` notifications to `chats` chats, in random order."""
    recipients = [60_000 + n % chats for n in range(count)]
    random.Random(count).shuffle(recipients)
    outbox(tmp, f"sweep{round_trip}-{in_flight}", recipients)
    telegram.call("round_trip", round_trip)
    name = f"{count} to {chats} chats, {round_trip * 1000:3.0f} ms, {in_flight} in flight"
    deadline = count * (round_trip + 0.05) / in_flight + count / TARGET_RATE + 15
    sent, start, cpu, finished = run(
        telegram, telebot, replace(config, in_flight=in_flight), deadline, nothing_left
    )
    return measure(name, count, sent, start, cpu, finished)


def uneven(tmp, telegram, telebot, config) -> Result:
    """5,000 to 500 chats at 150 ms: ten chats with 80, twenty groups with 10, 470 with 8-9."""
    chats = [50_000 + n for n in range(10) for _ in range(80)]
    chats += [-1_000_000 - n for n in range(20) for _ in range(10)]
    chats += [51_000 + n for n in range(470) for _ in range(9 if n < 240 else 8)]
    random.Random(14).shuffle(chats)
    outbox(tmp, "uneven", chats)
    telegram.call("round_trip", 0.15)
    sent, start, cpu, finished = run(telegram, telebot, config, len(chats) / TARGET_RATE * 1.3, nothing_left)
    return measure("5,000 to 500 chats, 150 ms (uneven, groups)", len(chats), sent, start, cpu, finished)


def head_of_line(tmp, telegram, telebot, config) -> Result:
    """One chat with 150 queued ahead of 3,000 others (1,000 chats), at 150 ms."""
    others = [52_000 + n for n in range(1000) for _ in range(3)]
    random.Random(15).shuffle(others)
    outbox(tmp, "head", [HEAVY] * 150 + others)
    telegram.call("round_trip", 0.15)

    def others_done() -> bool:
        return telegram.call("others", HEAVY) >= len(others)

    sent, start, cpu, finished = run(telegram, telebot, config, len(others) / TARGET_RATE * 1.3, others_done)
    last_other = max((m["at"] for m in sent if m["chat_id"] != HEAVY), default=start)
    sent = [m for m in sent if m["at"] <= last_other]  # counted until the 3,000 are delivered
    heavy = sum(1 for m in sent if m["chat_id"] == HEAVY)
    name = f"150 to one chat ahead of 3,000 others, 150 ms ({heavy} of the 150 meanwhile)"
    return measure(name, len(others) + heavy, sent, start, cpu, finished)


def raw_capacity(telegram, telebot) -> float:
    """The emulator unthrottled: one connection, no round trip, no database."""
    telegram.call("round_trip", 0.0)
    start = time.perf_counter()
    for n in range(300):
        telebot.send_message(99, f"baseline {n}")
    return 300 / (time.perf_counter() - start)


def line(result: Result, target: float | None = None) -> str:
    gaps = f"{result.chat_gap:5.2f} s" + (
        f", group {result.group_gap:.2f} s" if result.group_gap < 1e9 else ""
    )
    done = "" if result.finished else f", deadline passed at {result.delivered:,}/{result.total:,}"
    return (
        f"    {result.name}: {result.rate:5.1f} msg/s, wall {result.wall:5.1f} s, CPU {result.cpu:5.1f} s "
        f"({result.cpu / max(1, result.delivered) * 1000:.0f} ms a message), "
        f"busiest second {result.busiest}, closest to one chat {gaps}{done}: {result.verdict(target)}"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, RemoteEmulator() as telegram:
        config = BotConfig.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": telegram.api_url})
        telebot, _ = build_bot(config, Keyring.parse(generate_key("bench")))
        print(
            f"(d) sender: SENDER_RATE {config.rate_per_second:.0f} (in any 1.05 s), "
            f"{config.per_chat_interval:.0f} s a chat, {config.group_per_minute:.0f}/min a group, "
            f"{config.in_flight} in flight; targets >= {TARGET_RATE:.0f} msg/s at 150 ms, <= "
            f"{MAX_PER_SECOND} in any second, >= {CHAT_GAP:.0f} s to a chat ({GROUP_GAP:.0f} s a group)"
        )
        raw = raw_capacity(telegram, telebot)
        print(f"    baseline: the emulator's raw capacity, unthrottled: {raw:.0f} msg/s")
        for round_trip in (0.0, 0.1, 0.2):
            old = sweep(tmp, telegram, telebot, config, round_trip, 1, 30, 30)
            new = sweep(tmp, telegram, telebot, config, round_trip, config.in_flight, 200, 100)
            print(line(old))
            print(line(new) + f" ({new.rate / old.rate:.1f}x one in flight)")
        print(line(uneven(tmp, telegram, telebot, config), TARGET_RATE))
        print(line(head_of_line(tmp, telegram, telebot, config), TARGET_RATE))


if __name__ == "__main__":
    main()
