"""Plan-end reminders, once each through the outbox; what the free plan keeps; and filters
that name no LPSE counting every active one against the plan."""

from datetime import date, datetime, timedelta

import pytest
from click.testing import CliRunner

from cli import cli
from lpse_crawler.matching.saved_filters import InstanceGeography, load_index, save_filter
from lpse_crawler.outbox import Notification
from lpse_crawler.people.models import Filter, Subscriber, SubscriberStatus
from lpse_crawler.people.plans import PLANS, PlanLimitError, paid_until, trial_expiry
from lpse_crawler.people.reminders import PlanReminder, queue_plan_reminders, stage
from lpse_crawler.spse.registry import load_registry, sync_registry
from lpse_crawler.store.database import WIB, database, utcnow
from lpse_crawler.store.models import Instance
from tests.test_sender import drain, sender

LAST_DAY = date(2026, 5, 12)
ENDS = paid_until(LAST_DAY)  # 12 May 2026, 23:59:59 WIB


def wib(day: int, hour: int = 9, month: int = 5) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=WIB)


@pytest.fixture
def registry(database):
    sync_registry(load_registry())
    return database


def subscriber(
    chat_id: int = 7, plan: str = "basic", expires: datetime | None = ENDS, **values
) -> Subscriber:
    return Subscriber.create(chat_id=chat_id, plan=plan, plan_expires_at=expires, **values)


def bodies() -> list[str]:
    return [n.body for n in Notification.select().order_by(Notification.id)]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (wib(8, 23), None),  # 4 days before
        (wib(9, 0), "3d"),
        (wib(10), "3d"),  # a day missed (the bot was down): still the 3-day reminder
        (wib(11), "1d"),
        (wib(12, 0), "today"),
        (wib(12, 23), "today"),
        (ENDS + timedelta(seconds=1), "ended"),
        (ENDS + timedelta(days=7), "ended"),
        (ENDS + timedelta(days=7, seconds=1), None),  # long over: not announced any more
    ],
)
def test_the_stage_due_is_counted_in_jakarta_days(now, expected):
    assert stage(ENDS, now) == expected


def test_each_reminder_goes_out_once_through_the_outbox(registry):
    owner = subscriber()
    Filter.create(subscriber=owner, name="Obat <Kemkes>", spec="obat lpse:kemkes")
    steps = [
        (wib(9), 1),
        (wib(9, 18), 0),
        (wib(10), 0),
        (wib(11), 1),
        (wib(12), 1),
        (wib(13), 1),
        (wib(14), 0),
    ]
    assert [queue_plan_reminders(now) for now, _ in steps] == [n for _, n in steps]
    three, one, today, ended = bodies()
    assert "berakhir 3 hari lagi</b>, 12 Mei 2026 pukul 23.59 WIB" in three
    assert "berakhir besok" in one and "berakhir hari ini" in today
    assert all("Ketik /paket untuk memperpanjang" in b for b in bodies())
    assert "Paket Dasar Anda sudah berakhir" in ended
    assert "Filter yang tetap berjalan: <b>Obat &lt;Kemkes&gt;</b>." in ended
    notes = list(Notification.select())
    assert {(n.channel, n.status, n.tender_id, n.subscriber_id) for n in notes} == {
        ("telegram", "queued", None, owner.id)
    }
    assert PlanReminder.select().count() == 4


def test_a_renewal_brings_new_reminders(registry):
    owner = subscriber()
    assert queue_plan_reminders(wib(9)) == 1
    renewed = paid_until(date(2026, 6, 11))
    Subscriber.update(plan_expires_at=renewed).where(Subscriber.id == owner.id).execute()
    assert queue_plan_reminders(wib(11)) == 0  # the old expiry is gone: nothing about it
    assert queue_plan_reminders(wib(8, month=6)) == 1
    assert "11 Juni 2026" in bodies()[-1]


def test_a_trial_is_reminded_too(registry):
    start = wib(1)
    subscriber(plan="trial", expires=trial_expiry(start))
    assert queue_plan_reminders(start + timedelta(days=11)) == 1
    assert "Paket Uji coba Anda berakhir 3 hari lagi" in bodies()[0]


def test_a_trial_a_smaller_plan_was_bought_in_names_the_filters_that_stop(registry):
    start = wib(1)
    trial_end = trial_expiry(start)
    owner = subscriber(plan="basic", expires=trial_end + timedelta(days=31))
    Subscriber.update(trial_until=trial_end).where(Subscriber.id == owner.id).execute()
    for n in range(7):  # Dasar keeps the oldest 5
        Filter.create(subscriber=owner, name=f"Filter {n}", spec=f"kata{n} lpse:kemkes")
    assert queue_plan_reminders(trial_end - timedelta(days=1)) == 1
    assert queue_plan_reminders(trial_end + timedelta(hours=1)) == 1
    assert queue_plan_reminders(trial_end + timedelta(hours=2)) == 0  # each once
    before, after = bodies()
    assert "Uji coba Anda berakhir besok" in before and "paket Dasar yang Anda bayar: 5 filter" in before
    assert "Uji coba Anda sudah berakhir" in after
    stopped = "melebihi batas paket Dasar (filter tetap tersimpan): <b>Filter 5</b>, <b>Filter 6</b>"
    assert stopped in before and stopped in after


def test_who_gets_no_reminder(registry):
    subscriber(1, plan="free", expires=None)
    subscriber(2, status=SubscriberStatus.PAUSED)
    subscriber(3, status=SubscriberStatus.BLOCKED)
    subscriber(4, expires=paid_until(date(2026, 4, 1)))  # ended long ago
    subscriber(5, expires=paid_until(date(2026, 6, 30)))  # not soon
    assert [queue_plan_reminders(now) for now in (wib(9), wib(12), wib(13))] == [0, 0, 0]
    assert Notification.select().count() == 0


def test_the_end_names_the_filters_the_free_plan_keeps_and_matching_agrees(registry):
    now = utcnow()
    owner = subscriber(expires=now - timedelta(hours=1))
    specs = {
        "Seluruh Indonesia": "jalan",  # every active LPSE: more than the free plan's 3
        "Banyak kata": "a1 a2 a3 a4 lpse:kemkes",  # 4 keywords: more than 3
        "Rusak": "obat lpse:hilang",  # no longer parses: never matched
        "Obat": "obat lpse:kemkes",
        "Sewa": "sewa lpse:kemkes",  # fits, but the free plan has one filter
    }
    made = {name: Filter.create(subscriber=owner, name=name, spec=spec) for name, spec in specs.items()}
    assert queue_plan_reminders(now) == 1
    (ended,) = bodies()
    assert "Kini berlaku batas paket Gratis: 1 filter, 3 LPSE dan 3 kata kunci per filter" in ended
    assert "Filter yang tetap berjalan: <b>Obat</b>." in ended
    stopped = "<b>Seluruh Indonesia</b>, <b>Banyak kata</b>, <b>Rusak</b>, <b>Sewa</b>"
    assert f"Berhenti sampai paket diperpanjang (filter tetap tersimpan): {stopped}." in ended
    index, _ = load_index()
    assert index.size == 1 and index.ids == {made["Obat"].id}


def test_nothing_kept_is_said_plainly(registry):
    now = utcnow()
    owner = subscriber(expires=now - timedelta(hours=1))
    Filter.create(subscriber=owner, name="Nasional", spec="jalan")
    queue_plan_reminders(now)
    assert "Tidak ada filter Anda yang muat dalam batas Gratis." in bodies()[0]


def test_a_filter_naming_no_lpse_counts_every_active_one(registry):
    everywhere = Instance.select().where(Instance.active == True).count()  # noqa: E712
    free = subscriber(plan="free", expires=None)
    with pytest.raises(PlanLimitError, match=f"3 LPSE dalam satu filter \\(diminta: {everywhere}\\)"):
        save_filter(free, "Nasional", "jalan")
    Instance.update(active=False).where(Instance.code == "kemkes").execute()
    assert InstanceGeography().instance_count(InstanceGeography().parse("jalan")) == everywhere - 1
    pro = subscriber(8, plan="pro", expires=utcnow() + timedelta(days=30))
    assert everywhere - 1 <= PLANS["pro"].max_instances
    assert save_filter(pro, "Nasional", "jalan kategori:konstruksi").spec.startswith("jalan")
    assert save_filter(free, "Satu", "jalan lpse:kemkes,jakarta").name == "Satu"


def test_the_guided_filter_refuses_every_province_beyond_the_plan(chat, telegram):
    chat.say(601, "/start")
    chat.press(601, "consent:yes")
    Subscriber.update(plan="free", plan_expires_at=None).execute()
    chat.say(601, "/filter")
    everywhere = Instance.select().count()
    assert f"hanya boleh 3 LPSE dalam satu filter (diminta: {everywhere})" in chat.press(601, "fprov:all")
    assert ("Semua provinsi", "fprov:all") in telegram.buttons(601)  # a province still fits


def test_users_remind_for_cron(registry, database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    subscriber(expires=utcnow() + timedelta(days=1, hours=1))
    database.close()
    result = CliRunner().invoke(cli, ["users", "remind"], catch_exceptions=False)
    assert result.exit_code == 0 and "queued 1 plan-end reminders" in result.output
    result = CliRunner().invoke(cli, ["users", "remind"], catch_exceptions=False)
    assert "queued 0 plan-end reminders" in result.output
    database.close()


def test_a_reminder_carries_a_renew_button_that_shows_the_plans(chat, telegram, bot_config):
    chat.say(702, "/start")
    chat.press(702, "consent:yes")
    Subscriber.update(plan_expires_at=utcnow() + timedelta(days=3)).execute()
    assert queue_plan_reminders(utcnow()) == 1
    s, _ = sender(chat.telebot, bot_config)
    drain(s)
    assert ("Perpanjang paket", "pay:renew") in telegram.buttons(702)
    plans = chat.press(702, "pay:renew")
    assert "Dasar" in plans and "Pro" in plans  # without a gateway key: how to pay by transfer
