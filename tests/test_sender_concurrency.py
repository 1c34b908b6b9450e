"""Several sends in flight (issue 14): one chat's backlog holds back no one, groups get their
own limit, a 429 or an unexpected error among sends in flight loses nothing."""

import threading
from collections import Counter
from dataclasses import replace

import pytest
from peewee import OperationalError

from bot.app import build_bot
from bot.sender import Sender
from lpse_crawler import outbox
from lpse_crawler.outbox import Notification
from lpse_crawler.people.models import Subscriber
from lpse_crawler.spse.registry import load_registry, sync_registry
from lpse_crawler.store.models import Tender
from tests.test_sender import drain, queue, sender


@pytest.fixture
def setup(database, telegram, keyring, bot_config):
    sync_registry(load_registry())
    telebot, _ = build_bot(bot_config, keyring)
    return telebot


def timed_sends(telebot, clock) -> dict[int, list[float]]:
    """When (on the fake clock) each chat was sent to."""
    times: dict[int, list[float]] = {}
    send = telebot.send_message

    def timed(chat_id, *args, **kwargs):
        times.setdefault(chat_id, []).append(clock())
        return send(chat_id, *args, **kwargs)

    telebot.send_message = timed
    return times


def test_one_chats_backlog_does_not_hold_back_the_others(setup, telegram, bot_config):
    queue([5], tenders=40)  # 40 queued to one chat ahead of everyone else
    tender = Tender.select().order_by(Tender.id).get()
    for chat_id in range(100, 160):  # then one each to 60 chats
        Notification.create(subscriber=Subscriber.create(chat_id=chat_id), tender=tender, filter_ids=[])
    s, clock = sender(setup, bot_config, rate_per_second=30, per_chat_interval=1.0)
    times = timed_sends(setup, clock)
    start = clock()
    drain(s, rounds=500)
    others = [t for chat, moments in times.items() if chat != 5 for t in moments]
    assert len(others) == 60 and max(others) - start < 3.0  # not one a second behind chat 5
    assert (
        len(times[5]) == 40 and min(b - a for a, b in zip(times[5], times[5][1:], strict=False)) >= 1.0 - 1e-9
    )


def test_a_group_gets_at_most_twenty_a_minute(setup, telegram, bot_config):
    queue([-100777, 7], tenders=4)
    s, clock = sender(setup, bot_config, rate_per_second=30, per_chat_interval=1.0, group_per_minute=20)
    times = timed_sends(setup, clock)
    drain(s)
    group = times[-100777]
    assert len(group) == 4 and min(b - a for a, b in zip(group, group[1:], strict=False)) >= 3.0 - 1e-9
    private = times[7]
    assert min(b - a for a, b in zip(private, private[1:], strict=False)) < 3.0  # one a second there


def test_sends_overlap_over_a_slow_network(setup, telegram, bot_config):
    queue(list(range(200, 224)))
    telegram.round_trip = 0.2
    s = Sender(setup, replace(bot_config, in_flight=8))  # real time: the sends really overlap
    assert s.drain_once() == 24
    assert 2 <= telegram.in_flight_peak <= 8
    assert Notification.select().where(Notification.status == "sent").count() == 24


def test_a_429_among_sends_in_flight_loses_nothing(setup, telegram, bot_config):
    queue(list(range(300, 320)))
    telegram.round_trip = 0.1
    telegram.faults.append(("429", 30))
    s = Sender(setup, replace(bot_config, in_flight=8))
    s.drain_once()
    assert s.paused_for() > 25
    delivered = Counter(m["chat_id"] for m in telegram.sent)
    rows = list(Notification.select().join(Subscriber))
    sent = {n.subscriber.chat_id for n in rows if n.status == "sent"}
    assert sent == set(delivered) and max(delivered.values()) == 1 and 0 < len(sent) < 20
    assert {(n.status, n.attempts) for n in rows if n.status != "sent"} == {("queued", 0)}  # untried


def test_an_unexpected_error_in_one_send_is_recorded_and_the_rest_go_on(setup, telegram, bot_config):
    queue([401, 402, 403])
    send = setup.send_message

    def broken(chat_id, *args, **kwargs):
        if chat_id == 402:
            raise ValueError("something unforeseen")
        return send(chat_id, *args, **kwargs)

    setup.send_message = broken
    s, _ = sender(setup, bot_config)
    assert s.drain_once() == 3
    rows = {n.subscriber.chat_id: n for n in Notification.select().join(Subscriber)}
    assert rows[401].status == rows[403].status == "sent"
    assert rows[402].status == "queued" and rows[402].last_error == "ValueError: something unforeseen"


def test_run_stops_cleanly_with_sends_in_flight(setup, telegram, bot_config):
    queue(list(range(500, 540)))
    telegram.round_trip = 0.2
    s = Sender(setup, replace(bot_config, in_flight=8))
    stop = threading.Event()
    worker = threading.Thread(target=s.run, args=(stop, 0.05))
    worker.start()
    while len(telegram.sent) < 10:
        stop.wait(0.05)
    stop.set()
    worker.join(timeout=10)
    assert not worker.is_alive()
    statuses = Counter(n.status for n in Notification.select())
    assert statuses["sent"] == len(telegram.sent) and statuses["sending"] == 0


def test_a_database_error_mid_batch_is_made_good_before_the_next_claim(
    setup, telegram, bot_config, monkeypatch
):
    queue([601, 602, 603])
    failures, mark_sent = [1, 2], outbox.mark_sent

    def failing(*args, **kwargs):
        if failures:  # the database is away for two marks
            raise OperationalError(f"server closed the connection unexpectedly ({failures.pop()})")
        return mark_sent(*args, **kwargs)

    monkeypatch.setattr(outbox, "mark_sent", failing)
    s, _ = sender(setup, bot_config, in_flight=1)
    with pytest.raises(OperationalError):
        s.drain_once()
    rows = {n.subscriber.chat_id: n for n in Notification.select().join(Subscriber)}
    assert rows[601].status == "sending"  # sent, its mark waiting for the database
    assert {(rows[c].status, rows[c].attempts) for c in (602, 603)} == {("queued", 0)}  # given back
    drain(s)
    assert {n.status for n in Notification.select()} == {"sent"}
    assert sorted(m["chat_id"] for m in telegram.sent) == [601, 602, 603]  # nothing twice
