"""Plans: a trial for newcomers, limits enforced where a filter is saved, expiry to free."""

from datetime import UTC, date, datetime, timedelta

import pytest

from lpse_crawler.matching.saved_filters import load_index, save_filter
from lpse_crawler.people.crypto import Keyring, generate_key
from lpse_crawler.people.models import Filter, Subscriber
from lpse_crawler.people.payments import record_payment
from lpse_crawler.people.personal_data import create_subscriber
from lpse_crawler.people.plans import (
    PLANS,
    TRIAL_DAYS,
    PlanLimitError,
    effective_plan,
    first_paid_day,
    plan_of,
)
from lpse_crawler.spse.registry import load_registry, sync_registry
from lpse_crawler.store.database import WIB, utcnow, wib_start_of
from lpse_crawler.usage import UsageDaily, count

KEYRING = Keyring.parse(generate_key("plans"))


@pytest.fixture
def subscriber(database):
    sync_registry(load_registry())
    return create_subscriber(KEYRING, chat_id=7, name="Uji Paket")


def test_new_subscribers_start_a_trial(subscriber):
    assert subscriber.plan == "trial"
    remaining = subscriber.plan_expires_at - utcnow()
    assert timedelta(days=TRIAL_DAYS - 1) < remaining <= timedelta(days=TRIAL_DAYS)
    assert effective_plan(subscriber.plan, subscriber.plan_expires_at, utcnow()) is PLANS["trial"]


def test_expired_paid_plan_falls_back_to_free():
    now = utcnow()
    assert effective_plan("pro", now - timedelta(seconds=1), now) is PLANS["free"]
    assert effective_plan("pro", now + timedelta(days=30), now) is PLANS["pro"]
    assert effective_plan("free", None, now) is PLANS["free"]


@pytest.mark.parametrize(
    ("text", "limit"),
    [("obat lpse:kemkes,jakarta,jatimprov,surabaya", "3 LPSE"), ("a1 a2 a3 a4 lpse:kemkes", "3 kata kunci")],
)
def test_limits_are_enforced_where_a_filter_is_saved(subscriber, text, limit):
    Subscriber.update(plan="free").where(Subscriber.id == subscriber.id).execute()
    with pytest.raises(PlanLimitError, match=f"Paket Gratis Anda hanya boleh {limit}.*/paket"):
        save_filter(Subscriber.get_by_id(subscriber.id), "Terlalu lebar", text)
    assert Filter.select().count() == 0


def test_filter_count_limit_and_province_counts_its_instances(subscriber):
    free = Subscriber.get_by_id(subscriber.id)
    free.plan = "free"
    save_filter(free, "Satu", "obat lpse:kemkes")
    with pytest.raises(PlanLimitError, match="1 filter"):
        save_filter(free, "Dua", "jalan")
    free.plan, free.plan_expires_at = "basic", utcnow() + timedelta(days=30)
    east_java = sum(1 for r in load_registry() if r.province == "Jawa Timur")
    with pytest.raises(PlanLimitError, match=f"25 LPSE dalam satu filter \\(diminta: {east_java}\\)"):
        save_filter(free, "Semua Jatim", 'jalan provinsi:"Jawa Timur"')


def test_expiry_keeps_every_filter_but_matches_only_the_free_quota(subscriber):
    paid = Subscriber.get_by_id(subscriber.id)
    for n in range(3):
        save_filter(paid, f"Filter {n}", f"kata{n} lpse:kemkes")
    Subscriber.update(plan="basic", plan_expires_at=utcnow() - timedelta(days=1)).execute()
    index, _ = load_index()
    assert Filter.select().count() == 3  # nothing deleted
    assert index.size == PLANS["free"].max_filters


def test_dasar_bought_during_the_trial_starts_when_the_trial_ends(subscriber, monkeypatch):
    for n in range(8):  # more than Dasar's 5, within the trial's 30
        save_filter(Subscriber.get_by_id(subscriber.id), f"Filter {n}", f"kata{n} lpse:kemkes")
    now = utcnow()
    trial_end = subscriber.plan_expires_at
    start = first_paid_day("trial", trial_end, now)
    recorded = record_payment(subscriber.id, "basic", start, 1, 49_000, "qris", "ref-1", now, KEYRING)
    assert recorded.payment.period_start == start > now.astimezone(WIB).date()
    bought = Subscriber.get_by_id(subscriber.id)
    assert (bought.plan, bought.trial_until) == ("basic", trial_end)
    assert plan_of(bought, now) is PLANS["trial"] and load_index()[0].size == 8  # every filter still matched
    after = trial_end + timedelta(seconds=1)
    assert plan_of(bought, after) is PLANS["basic"]
    monkeypatch.setattr("lpse_crawler.matching.saved_filters.utcnow", lambda: after)
    assert load_index()[0].size == 5
    upgrade = first_paid_day(bought.plan, bought.plan_expires_at, now, bought.trial_until)
    assert upgrade == start  # Pro bought next, still during the trial: after it too
    recorded = record_payment(subscriber.id, "pro", upgrade, 3, 447_000, "qris", "ref-2", now, KEYRING)
    assert (
        recorded.payment.period_start == start
        and Subscriber.get_by_id(subscriber.id).trial_until == trial_end
    )


def test_usage_counts_have_no_subscriber_link(database):
    count("notifications_queued", 3)
    count("notifications_queued", 2)
    assert UsageDaily.get(UsageDaily.metric == "notifications_queued").count == 5
    columns = {c.name for c in database.get_columns("usage_daily")}
    assert columns == {"id", "day", "metric", "count", "created_at", "updated_at"}
    with pytest.raises(ValueError, match="unknown usage metric"):
        count("subscriber_42_opened")


def test_days_and_months_are_counted_in_jakarta():
    # 30 Nov 2026 18:00 UTC is already 1 Dec 01:00 in Jakarta: a new day and a new month began
    now = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
    began = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    assert wib_start_of(now, "day") == began and wib_start_of(now, "month") == began
    assert wib_start_of(now - timedelta(hours=2), "month") == datetime(2026, 10, 31, 17, 0, tzinfo=UTC)


def test_paying_during_a_trial_keeps_its_remaining_days():
    now = datetime(2026, 11, 25, 10, tzinfo=WIB)
    trial_end = datetime(2026, 11, 28, 23, 59, 59, tzinfo=WIB)
    assert first_paid_day("trial", trial_end, now) == date(2026, 11, 29)
    assert first_paid_day("trial", now - timedelta(days=1), now) == date(2026, 11, 25)  # trial over
    assert first_paid_day("basic", trial_end, now) == date(2026, 11, 25)  # renewal() places paid plans
