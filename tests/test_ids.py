"""Ids are never handed out twice: subscribers, filters, notifications and payments."""

from datetime import date

import pytest

from lpse_crawler.outbox import Notification
from lpse_crawler.people.models import Filter, Payment, Subscriber
from lpse_crawler.store.autoincrement import NEVER_REUSED, never_reuse_ids
from lpse_crawler.store.database import connect_database, database, is_postgres, write_transaction
from lpse_crawler.store.models import Instance, Tender
from lpse_crawler.store.schema import LATEST, migrate
from tests.conftest import POSTGRES

USER = 501


def subscriber(chat_id: int) -> Subscriber:
    return Subscriber.create(chat_id=chat_id)


def payment(owner: Subscriber | None, number: int) -> Payment:
    return Payment.create(
        subscriber=owner,
        invoice_no=f"INV-{number}",
        amount=49_000,
        method="transfer",
        plan="basic",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 1, 31),
    )


def tender() -> Tender:
    Instance.get_or_create(code="kemkes", defaults={"name": "LPSE Kementerian Kesehatan"})
    return Tender.create(
        kind="tender",
        kode="1001",
        instance_first_seen="kemkes",
        nama="Jalan",
        instansi="Kemkes",
        kategori="Konstruksi",
        metode="Tender",
        tahap="Pengumuman",
        url="https://example.invalid/1001",
        listing_hash="x",
        content_hash="y",
    )


def test_a_deleted_subscribers_id_is_never_given_again(database):
    first, second = subscriber(1), subscriber(2)
    second.delete_instance()
    assert subscriber(3).id == second.id + 1
    assert Subscriber.select().count() == 2 and first.id < second.id


def test_deleted_filters_notifications_and_payments_ids_are_never_given_again(database):
    owner, item = subscriber(1), tender()
    last_filter = Filter.create(subscriber=owner, name="b", spec="b")
    last_filter.delete_instance()
    last_note = Notification.create(subscriber=owner, tender=item)
    last_note.delete_instance()
    last_payment = payment(owner, 1)
    last_payment.delete_instance()
    assert Filter.create(subscriber=owner, name="c", spec="c").id > last_filter.id
    assert Notification.create(subscriber=owner, tender=item).id > last_note.id
    assert payment(owner, 2).id > last_payment.id


@pytest.mark.skipif(not POSTGRES, reason="the PostgreSQL run checks the rebuild does nothing there")
def test_postgres_sequences_are_left_alone(database):
    assert is_postgres()
    with write_transaction():
        assert never_reuse_ids(database) == []


@pytest.mark.sqlite_only
def test_a_fresh_sqlite_database_has_autoincrement_everywhere_it_matters(database):
    for table in NEVER_REUSED:
        sql = database.execute_sql("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
        assert "AUTOINCREMENT" in sql, table
    with write_transaction():
        assert never_reuse_ids(database) == []  # idempotent


def shape(db, table: str) -> tuple:
    """What a rebuild must keep: columns, foreign keys, indexes (by name, columns, unique)."""
    columns = db.execute_sql(f'PRAGMA table_info("{table}")').fetchall()
    keys = db.execute_sql(f'PRAGMA foreign_key_list("{table}")').fetchall()
    indexes = sorted(
        (name, unique, tuple(r[2] for r in db.execute_sql(f'PRAGMA index_info("{name}")').fetchall()))
        for _, name, unique, *_ in db.execute_sql(f'PRAGMA index_list("{table}")').fetchall()
        if not name.startswith("sqlite_autoindex")
    )
    autoindexes = sorted(
        tuple(r[2] for r in db.execute_sql(f'PRAGMA index_info("{name}")').fetchall())
        for _, name, *_ in db.execute_sql(f'PRAGMA index_list("{table}")').fetchall()
        if name.startswith("sqlite_autoindex")
    )
    return columns, keys, indexes, autoindexes


def test_a_version_9_database_keeps_its_rows_and_foreign_keys(database_url):
    db = connect_database(database_url)
    migrate(db, target=9)
    alice, bob, carol = subscriber(1), subscriber(2), subscriber(3)
    item = tender()
    kept = Filter.create(subscriber=alice, name="jalan", spec="jalan")
    Filter.create(subscriber=bob, name="obat", spec="obat")
    Notification.create(subscriber=alice, tender=item, filter_ids=[kept.id, 41])  # filter 41 since deleted
    payment(alice, 1), payment(bob, 2)
    carol.delete_instance()
    before = {t: list(db.execute_sql(f'SELECT * FROM "{t}" ORDER BY id').fetchall()) for t in NEVER_REUSED}
    shapes = {t: shape(db, t) for t in NEVER_REUSED} if not is_postgres() else {}

    assert migrate(db)[0] == 10 and migrate(db) == []
    assert {
        t: list(db.execute_sql(f'SELECT * FROM "{t}" ORDER BY id').fetchall()) for t in NEVER_REUSED
    } == before
    if not is_postgres():
        assert {t: shape(db, t) for t in NEVER_REUSED} == shapes
        assert db.execute_sql("PRAGMA foreign_key_check").fetchall() == []
        sequences = dict(db.execute_sql("SELECT name, seq FROM sqlite_sequence").fetchall())
        assert sequences["subscriber"] == bob.id and sequences["filter"] == 41  # what notifications named

    assert subscriber(4).id > bob.id  # the deleted carol's id stays used on PostgreSQL too
    assert Filter.create(subscriber=alice, name="baru", spec="baru").id > 41 or is_postgres()
    Subscriber.delete().where(Subscriber.id == alice.id).execute()  # the keys still act
    assert Filter.select().where(Filter.subscriber == alice.id).count() == 0
    assert Notification.select().count() == 0
    assert Payment.get(Payment.invoice_no == "INV-1").subscriber_id is None
    assert Payment.get(Payment.invoice_no == "INV-2").subscriber_id == bob.id
    assert Filter.get(Filter.subscriber == bob.id).name == "obat"
    database.close()


@pytest.mark.sqlite_only
def test_the_rebuild_takes_tables_that_reference_the_rebuilt_ones_along(database_url):
    """A table (say, a later release's) that references a rebuilt one keeps its rows: the
    rebuild must not drop the old parent while something still points at it."""
    db = connect_database(database_url)
    migrate(db, target=9)
    db.execute_sql(
        'CREATE TABLE "note" ("id" INTEGER NOT NULL PRIMARY KEY, "subscriber_id" INTEGER NOT NULL '
        'REFERENCES "subscriber" ("id") ON DELETE CASCADE, "text" TEXT UNIQUE)'
    )
    db.execute_sql('CREATE INDEX "note_subscriber_id" ON "note" ("subscriber_id")')
    db.execute_sql(
        'CREATE VIEW "notes_per_subscriber" AS SELECT subscriber_id, count(*) FROM note GROUP BY 1'
    )
    owner = subscriber(1)
    db.execute_sql("INSERT INTO note (subscriber_id, text) VALUES (?, 'kept')", (owner.id,))
    note_shape = shape(db, "note")
    migrate(db, target=10)
    assert db.execute_sql("SELECT subscriber_id, text FROM note").fetchall() == [(owner.id, "kept")]
    assert shape(db, "note") == note_shape
    assert db.execute_sql("SELECT * FROM notes_per_subscriber").fetchall() == [(owner.id, 1)]
    assert db.execute_sql(
        "SELECT count(*) FROM sqlite_master WHERE sql LIKE '%before_autoincrement%'"
    ).fetchone() == (0,)
    owner.delete_instance()
    assert db.execute_sql("SELECT count(*) FROM note").fetchone() == (0,)
    assert LATEST >= 10
    database.close()


def test_an_old_delete_button_never_deletes_a_newer_filter(chat, telegram):
    chat.say(USER, "/start")
    chat.press(USER, "consent:yes")
    assert "tersimpan" in chat.say(USER, "/filter jalan lpse:kemkes")
    chat.say(USER, "/hapusfilter")
    ((_, old_button),) = telegram.buttons(USER)
    assert "dihapus" in chat.press(USER, old_button)
    assert "tersimpan" in chat.say(USER, "/filter jembatan lpse:kemkes")
    newer = Filter.get()
    assert "Filter sudah dihapus" in chat.press(USER, old_button)
    assert Filter.get().id == newer.id and newer.id != int(old_button.split(":")[1])
    chat.say(USER + 1, "/start")
    chat.press(USER + 1, "consent:yes")
    assert "Filter sudah dihapus" in chat.press(USER + 1, f"delf:{newer.id}")  # not this chat's
    assert Filter.select().count() == 1
