"""The outbox sender against the loopback Bot API: rendering, limits, 429, 403, retries, crashes."""

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.app import build_bot
from bot.sender import PAUSE_KEY, Sender
from lpse_crawler.items import TenderItem
from lpse_crawler.outbox import Notification
from lpse_crawler.people.models import BotState, Filter, Subscriber
from lpse_crawler.spse.registry import load_registry, sync_registry
from lpse_crawler.store.database import utcnow
from lpse_crawler.store.models import Tender
from lpse_crawler.store.tenders import upsert_tender
from lpse_crawler.usage import UsageDaily
from tests.conftest import TOKEN

ITEM = TenderItem(
    instance="kemkes",
    kind="tender",
    kode="10102584000",
    nama="Pembangunan Jembatan Beton <Tahap II> & Jalan",
    instansi="Kementerian Kesehatan",
    satker="Sekretariat Jenderal",
    kategori="Pekerjaan Konstruksi",
    tahun_anggaran=[2026],
    metode="Tender - Pascakualifikasi Satu File",
    tahap="Pengumuman Pascakualifikasi",
    url="https://spse.inaproc.id/kemkes/lelang/10102584000/pengumumanlelang",
    listing_hash="h",
    hps=1_234_567_000,
    pagu=1_300_000_000,
    deadline=datetime(2026, 12, 10, 15, 0, tzinfo=ZoneInfo("Asia/Jakarta")),
)


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def setup(database, telegram, keyring, bot_config):
    sync_registry(load_registry())
    telebot, _ = build_bot(bot_config, keyring)
    return telebot


def queue(chat_ids: list[int], tenders: int = 1) -> list[Notification]:
    rows = []
    for n in range(tenders):
        upsert_tender(replace(ITEM, kode=str(10102584000 + n * 1000)))
    for chat_id in chat_ids:
        subscriber, _ = Subscriber.get_or_create(chat_id=chat_id)
        flt = Filter.create(subscriber=subscriber, name="Jembatan Jatim", spec="jembatan")
        for tender in Tender.select():
            rows.append(
                Notification.create(
                    subscriber=subscriber, tender=tender, filter_ids=[flt.id], matched_words=["jembatan"]
                )
            )
    return rows


def sender(telebot, config, **overrides) -> tuple[Sender, FakeClock]:
    clock = FakeClock()
    return Sender(telebot, replace(config, **overrides), clock=clock, sleep=clock.sleep), clock


def drain(s: Sender, rounds: int = 200) -> None:
    """Run the sender until nothing is left to claim, letting fake time pass while it idles."""
    for _ in range(rounds):
        if not s.drain_once():
            if not Notification.select().where(Notification.status == "queued").exists() or s.paused_for():
                return
            s.sleep(0.5)


def test_alert_is_rendered_escaped_and_marked_sent(setup, telegram, bot_config):
    queue([11])
    s, _ = sender(setup, bot_config)
    drain(s)
    (text,) = telegram.texts_to(11)
    assert "Pembangunan Jembatan Beton &lt;Tahap II&gt; &amp; Jalan" in text
    assert "HPS Rp 1.234.567.000 · Pagu Rp 1.300.000.000" in text
    assert "Batas penawaran: 10 Des 2026 15:00 WIB" in text
    assert "filter Jembatan Jatim (kata: jembatan)" in text and "pengumumanlelang" in text
    row = Notification.get()
    assert row.status == "sent" and row.telegram_message_id and row.sent_at
    assert UsageDaily.get(UsageDaily.metric == "notifications_sent").count == 1


def test_rate_limits_overall_and_per_chat(setup, telegram, bot_config):
    queue([20], tenders=3)
    queue(list(range(100, 160)))
    s, clock = sender(setup, bot_config, rate_per_second=30, per_chat_interval=1.0)
    times: dict[int, list[float]] = {}
    send = setup.send_message

    def timed(chat_id, *args, **kwargs):
        times.setdefault(chat_id, []).append(clock())
        return send(chat_id, *args, **kwargs)

    setup.send_message = timed
    drain(s)
    assert Notification.select().where(Notification.status != "sent").count() == 0
    ordered = sorted(t for chat in times.values() for t in chat)
    assert all(
        later - earlier >= 1.0 - 1e-9 for earlier, later in zip(ordered, ordered[30:], strict=False)
    )  # <= 30 per second
    gaps = [b - a for a, b in zip(times[20], times[20][1:], strict=False)]
    assert len(times[20]) == 3 and min(gaps) >= 1.0 - 1e-9  # one per second to one chat


def test_429_waits_retry_after_even_across_a_restart(setup, telegram, bot_config):
    queue([31])
    telegram.faults.append(("429", 30))
    first, _ = sender(setup, bot_config)
    assert first.drain_once() == 1
    assert Notification.get().status == "queued" and telegram.texts_to(31) == []
    restarted, _ = sender(setup, bot_config)
    assert 25 < restarted.paused_for() <= 30
    assert restarted.drain_once() == 0
    BotState.update(value=(utcnow() - timedelta(seconds=1)).isoformat()).where(
        BotState.key == PAUSE_KEY
    ).execute()
    drain(restarted)
    assert Notification.get().status == "sent" and Notification.get().attempts == 1


def test_403_marks_the_subscriber_blocked_and_stops_sending(setup, telegram, bot_config):
    queue([41], tenders=2)
    telegram.blocked.add(41)
    s, _ = sender(setup, bot_config)
    drain(s)
    assert Subscriber.get(Subscriber.chat_id == 41).status == "blocked"
    statuses = sorted(n.status for n in Notification.select())
    assert statuses == ["dead", "queued"]  # the second is never tried
    assert "blocked" in Notification.get(Notification.status == "dead").last_error


def test_server_errors_back_off_then_give_up_while_other_sends_get_through(setup, telegram, bot_config):
    (failing,) = queue([51])
    s, _ = sender(setup, bot_config, max_attempts=3)
    for attempt in range(1, 4):
        telegram.faults.append(("500",))
        assert s.drain_once() == 1
        row = Notification.get_by_id(failing.id)
        if attempt < 3:
            assert row.status == "queued" and row.next_attempt_at > utcnow() + timedelta(seconds=4)
            queue([510 + attempt])  # another chat's alert gets through: Telegram is up
            drain(s)
            Notification.update(next_attempt_at=utcnow()).where(Notification.id == failing.id).execute()
    row = Notification.get_by_id(failing.id)
    assert (row.status, row.attempts) == ("dead", 3) and "500" in row.last_error
    assert s.paused_for() == 0


@pytest.mark.parametrize(
    "fault, logged",
    [("500", "500: Internal Server Error"), ("502 page", "HTTP 502 Bad Gateway")],
    ids=["api-500", "gateway-page"],
)
def test_an_outage_pauses_the_sender_and_kills_no_alert(setup, telegram, bot_config, caplog, fault, logged):
    queue(list(range(520, 530)))
    telegram.faults.extend([(fault,)] * 200)  # Telegram, or the gateway before it, is down a while
    s, _ = sender(setup, bot_config, max_attempts=3)
    for _ in range(8):  # more rounds than max_attempts, each after the pause
        s.drain_once()
        assert 0 < s.paused_for() <= 300
        BotState.update(value=(utcnow() - timedelta(seconds=1)).isoformat()).where(
            BotState.key == PAUSE_KEY
        ).execute()
        Notification.update(next_attempt_at=utcnow()).execute()
    assert Notification.select().where(Notification.status == "dead").count() == 0
    assert max(n.attempts for n in Notification.select()) == 1  # only the first failure counted
    assert f"Telegram unreachable, 2 sends in a row failed ({logged})" in caplog.text
    telegram.faults.clear()  # Telegram is back
    drain(s)
    assert sorted({n.status for n in Notification.select()}) == ["sent"] and len(telegram.sent) == 10


def test_network_errors_never_store_the_token(setup, bot_config, keyring):
    queue([61])
    unreachable = replace(bot_config, api_url="http://127.0.0.1:9")
    telebot, _ = build_bot(unreachable, keyring)
    s, _ = sender(telebot, unreachable)
    s.drain_once()
    row = Notification.get()
    assert row.status == "queued" and "ConnectionError" in row.last_error
    assert TOKEN not in row.last_error and "<TOKEN>" in row.last_error


def test_overlong_alert_is_shortened_not_rejected(setup, telegram, bot_config):
    upsert_tender(replace(ITEM, kode="1", nama="Jembatan & <beton> " * 600))
    subscriber = Subscriber.create(chat_id=71)
    Notification.create(subscriber=subscriber, tender=Tender.get(Tender.kode == "1"), filter_ids=[])
    s, _ = sender(setup, bot_config)
    drain(s)
    (text,) = telegram.texts_to(71)
    assert len(text) <= 4096 and "Jembatan &amp; &lt;beton&gt;" in text and "…" in text


def test_paused_subscribers_are_not_sent_to(setup, telegram, bot_config):
    queue([81])
    Subscriber.update(status="paused").execute()
    s, _ = sender(setup, bot_config)
    drain(s)
    assert telegram.texts_to(81) == [] and Notification.get().status == "queued"


def test_claims_of_a_crashed_sender_are_taken_back_and_counted(setup, telegram, bot_config):
    queue([91], tenders=2)
    Notification.update(status="sending", claimed_at=utcnow() - timedelta(minutes=5)).execute()
    s, _ = sender(setup, bot_config)
    assert s.drain_once() == 0  # claimed rows are not due
    assert s.reclaim_stale() == 2
    assert UsageDaily.get(UsageDaily.metric == "notifications_reclaimed").count == 2
    drain(s)
    assert len(telegram.texts_to(91)) == 2


def test_a_second_sender_spaces_a_chat_from_the_first_one_s_send(setup, telegram, bot_config):
    queue([81], tenders=2)  # two alerts to one chat
    first, _ = sender(setup, bot_config)
    second, clock = sender(setup, bot_config)
    assert first.drain_once() == 1
    stamped = Subscriber.get(Subscriber.chat_id == 81).telegram_sent_at
    assert stamped is not None and (utcnow() - stamped).total_seconds() < 5
    claimed_at, times = clock(), []
    send = setup.send_message

    def timed(chat_id, *args, **kwargs):
        times.append(clock())
        return send(chat_id, *args, **kwargs)

    setup.send_message = timed
    assert second.drain_once() == 1
    assert len(telegram.texts_to(81)) == 2
    assert times[0] - claimed_at >= bot_config.per_chat_interval - 0.1  # waited out the first's send


def test_a_send_stamped_by_a_clock_ahead_of_ours_holds_a_chat_one_interval_at_most(
    setup, telegram, bot_config
):
    queue([82])
    Subscriber.update(telegram_sent_at=utcnow() + timedelta(hours=1)).execute()  # another host's clock
    s, clock = sender(setup, bot_config)
    started = clock()
    assert s.drain_once() == 1 and len(telegram.texts_to(82)) == 1
    assert clock() - started <= bot_config.per_chat_interval + 0.1
