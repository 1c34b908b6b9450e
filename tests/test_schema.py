"""Schema by code: a fresh database and one from the previous release both open."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lpse_crawler.people.models import Payment, Subscriber
from lpse_crawler.people.plans import TRIAL_DAYS, trial_expiry
from lpse_crawler.spse.registry import load_registry, sync_registry
from lpse_crawler.store.database import AwareDateTimeField, connect_database, database, utcnow
from lpse_crawler.store.models import Instance, Tender
from lpse_crawler.store.schema import (
    LATEST,
    REDUNDANT_INDEXES,
    SchemaVersion,
    _watching_followed,
    migrate,
    open_database,
)
from lpse_crawler.store.tenders import upsert_tender
from tests.test_sender import ITEM


def test_fresh_database_is_at_the_latest_version(database):
    assert SchemaVersion.select().order_by(SchemaVersion.version.desc()).scalar() == LATEST
    assert {"subscriber", "filter", "notification", "payment", "usage_daily", "audit"} <= set(
        database.get_tables()
    )


ZONES = [UTC, ZoneInfo("Asia/Jakarta"), ZoneInfo("Asia/Jayapura"), timezone(timedelta(hours=-3, minutes=-30))]
MOMENTS = st.datetimes(datetime(1970, 1, 2), datetime(9999, 12, 30), timezones=st.sampled_from(ZONES))


@given(MOMENTS, MOMENTS)
def test_a_stored_moment_reads_back_in_its_offset_and_text_order_is_time_order(one, other):
    field = AwareDateTimeField()
    texts = field.db_value(one), field.db_value(other)
    back = field.python_value(texts[0])
    assert back == one and back.utcoffset() == one.utcoffset()
    assert (texts[0] < texts[1]) == (one < other)


@pytest.mark.sqlite_only
def test_first_release_database_is_migrated_and_keeps_its_rows(database_path):
    db = connect_database(f"sqlite:///{database_path}")
    migrate(db, target=1)
    db.execute_sql("DROP TABLE schema_version")  # the first release kept no version table
    Instance.create(code="kemkes", name="LPSE Kementerian Kesehatan")
    assert "subscriber" not in db.get_tables()
    database.close()

    db = open_database(f"sqlite:///{database_path}")
    assert [v.version for v in SchemaVersion.select().order_by(SchemaVersion.version)] == list(
        range(1, LATEST + 1)
    )
    assert "subscriber" in db.get_tables()
    assert Instance.get_by_id("kemkes").name == "LPSE Kementerian Kesehatan"
    assert open_database(f"sqlite:///{database_path}") and SchemaVersion.select().count() == LATEST


@pytest.mark.sqlite_only
def test_moments_in_the_old_format_are_rewritten_to_sort_in_time_order(database_path):
    db = connect_database(f"sqlite:///{database_path}")
    migrate(db, target=3)
    Instance.create(code="kemkes", name="LPSE Kementerian Kesehatan")
    db.execute_sql(
        "UPDATE instance SET last_ok_at = '2026-02-06T16:05:00+07:00', "
        "last_error_at = '2026-02-06T09:05:00.500000+00:00'"
    )
    database.close()
    open_database(f"sqlite:///{database_path}")
    stored = database.execute_sql("SELECT last_ok_at, last_error_at FROM instance").fetchone()
    assert stored == ("2026-02-06T09:05:00.000000Z+07:00", "2026-02-06T09:05:00.500000Z+00:00")
    assert sorted(stored) == list(stored)  # text order is time order
    row = Instance.get_by_id("kemkes")
    assert row.last_ok_at.utcoffset().total_seconds() == 7 * 3600 and row.last_ok_at.hour == 16
    assert row.last_error_at - row.last_ok_at == timedelta(milliseconds=500)


@pytest.mark.sqlite_only
def test_a_database_from_before_later_tables_migrates(database_path):
    """A release at version 3 had none of the tables later migrations create."""
    db = connect_database(f"sqlite:///{database_path}")
    migrate(db, target=3)
    for table in ("instance_lease", "host_budget", "instance_cycle", "key_check"):
        db.execute_sql(f'DROP TABLE IF EXISTS "{table}"')
    as_at_version_13(db)  # and none of the columns later ones add (migration 4 reads moments)
    database.close()
    db = open_database(f"sqlite:///{database_path}")
    assert {"instance_lease", "host_budget", "instance_cycle", "key_check"} <= set(db.get_tables())
    assert SchemaVersion.select().order_by(SchemaVersion.version.desc()).scalar() == LATEST


def index_sql(db) -> dict[str, str]:
    """Each index's definition, without the quotes and `;` one backend adds."""
    tables = ("tender", "tender_listing", "pending_detail", "notification")
    return {
        i.name: (i.sql or "").replace('"', "").rstrip(";") for table in tables for i in db.get_indexes(table)
    }


def as_at_version_13(db) -> None:
    """Turn a database migrated to 13 (whose tables today's models made) into what version 13
    had: the indexes and columns later migrations change or add."""
    for name, table, column in [
        ("tender_listing_tender_id", "tender_listing", "tender_id"),
        ("pending_detail_instance", "pending_detail", "instance"),
        ("notification_subscriber_id", "notification", "subscriber_id"),
    ]:
        db.execute_sql(f'CREATE INDEX "{name}" ON "{table}" ("{column}")')
    for index in ("tender_match_pending", "tender_follow_pending", "tender_watch_due_at"):
        db.execute_sql(f'DROP INDEX "{index}"')
    db.execute_sql('CREATE INDEX "tender_match_pending" ON "tender" ("match_pending")')
    for column in ("jadwal", "told", "follow_pending", "hasil", "watch_due_at"):
        db.execute_sql(f'ALTER TABLE "tender" DROP COLUMN "{column}"')
    for table, column in LATER_COLUMNS:
        db.execute_sql(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')


# Columns migration 18 adds to tables older releases had.
LATER_COLUMNS = [
    ("subscriber", "timezone"),
    ("subscriber", "quiet_start"),
    ("subscriber", "quiet_end"),
    ("filter", "digest_hour"),
    ("notification", "held"),
]


def test_a_version_13_database_migrates_to_lean_indexes_and_followed_packages(database_url):
    db = connect_database(database_url)
    migrate(db, target=13)
    as_at_version_13(db)
    Instance.create(code="kemkes", name="LPSE Kementerian Kesehatan")
    database.close()
    db = open_database(database_url)
    indexes = index_sql(db)
    assert not set(REDUNDANT_INDEXES) & set(indexes)
    assert indexes["tender_match_pending"].endswith("WHERE match_pending")  # the marked only
    assert indexes["tender_follow_pending"].endswith("WHERE follow_pending")
    watched = indexes["tender_watch_due_at"].replace("(", " ").replace(")", " ")  # PostgreSQL adds ( )
    assert " ".join(watched.split()).endswith("WHERE watch_due_at IS NOT NULL")  # the watched only
    assert {"jadwal", "told", "follow_pending", "hasil", "watch_due_at"} <= {
        c.name for c in db.get_columns("tender")
    }
    assert {"follow", "follow_reminder", "follow_change"} <= set(db.get_tables())
    for table, column in LATER_COLUMNS:
        assert column in {c.name for c in db.get_columns(table)}


def test_migration_20_keeps_the_trial_of_who_bought_a_plan_during_it(database_url):
    db = connect_database(database_url)
    migrate(db, target=19)
    now = utcnow()

    def bought(chat_id: int, days_ago: int, paid: bool) -> int:
        created = now - timedelta(days=days_ago)
        who = Subscriber.create(chat_id=chat_id, plan="basic", plan_expires_at=now + timedelta(days=40))
        Subscriber.update(created_at=created).where(Subscriber.id == who.id).execute()
        if paid:
            start = created.date() + timedelta(days=TRIAL_DAYS + 1)
            Payment.create(
                subscriber=who,
                invoice_no=f"INV-{chat_id}",
                amount=49_000,
                method="qris",
                plan="basic",
                period_start=start,
                period_end=start + timedelta(days=30),
                paid_at=created + timedelta(days=1),
            )
        return who.id

    during, long_ago, unpaid = bought(1, 3, True), bought(2, 20, True), bought(3, 3, False)
    database.close()
    open_database(database_url)
    trials = {s.id: s.trial_until for s in Subscriber.select()}
    assert trials[during] == trial_expiry(Subscriber.get_by_id(during).created_at)
    assert trials[long_ago] is None and trials[unpaid] is None


def test_packages_followed_before_watching_are_read_again_soon(database):
    sync_registry(load_registry())
    upsert_tender(ITEM)
    Tender.update(told={"tahap": ITEM.tahap}, watch_due_at=None).execute()  # as migration 17 finds it
    _watching_followed(database)
    assert Tender.get().watch_due_at <= utcnow()


def test_the_to_match_index_holds_only_marked_packages(database):
    assert index_sql(database)["tender_match_pending"].endswith("WHERE match_pending")
