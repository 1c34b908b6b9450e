"""Every CLI command through click's runner against a real SQLite file, asserting the database."""

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import apsw
import click
import jsonschema
import pytest
from click.testing import CliRunner

from cli import cli
from lpse_crawler.outbox import Notification
from lpse_crawler.people.audit import Audit
from lpse_crawler.people.crypto import Keyring, generate_key
from lpse_crawler.people.models import Filter, Payment, Subscriber
from lpse_crawler.people.personal_data import create_subscriber, personal_data
from lpse_crawler.spse.registry import load_registry, sync_registry
from lpse_crawler.store.database import database, utcnow
from lpse_crawler.store.models import Instance, Tender
from lpse_crawler.store.schema import LATEST, open_database
from lpse_crawler.store.tenders import upsert_tender
from tests.test_sender import ITEM

SCHEMA = json.loads((Path(__file__).parent.parent / "schemas" / "export.schema.json").read_text())
KEY = generate_key("cli")
PERSON = {
    "name": "Siti Rahmawati",
    "phone": "0813-9988-7766",
    "email": "siti@rahma.id",
    "username": "sitirahma",
}


@pytest.fixture
def env(database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PANTAU_KEYS", KEY)
    monkeypatch.setenv("PANTAU_OPERATOR", "ops-ani")
    open_database(database_url)
    sync_registry(load_registry())
    yield database_url
    database.close()


@pytest.fixture
def person(env):
    subscriber = create_subscriber(Keyring.parse(KEY), 777, **PERSON)
    Filter.create(subscriber=subscriber, name="Obat", spec="obat")  # on every LPSE: beyond a trial's limit
    upsert_tender(ITEM)
    Notification.create(subscriber=subscriber, tender=Tender.get(), filter_ids=[1], matched_words=["obat"])
    database.close()
    return subscriber.id


def run(*args, input=None, code=0) -> str:
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    if database.obj is not None:
        database.close()
    assert result.exit_code == code, result.output
    return result.output


def test_every_command_has_help():
    def walk(group, path):
        for name, command in group.commands.items():
            output = run(*path, name, "--help")
            assert "Usage:" in output and len(command.get_short_help_str()) > 5, (path, name)
            if isinstance(command, click.Group):
                walk(command, [*path, name])

    walk(cli, [])


@pytest.mark.sqlite_only
def test_db_init_migrate_stats_backup(env, tmp_path):
    assert f"schema version {LATEST}" in run("db", "init")
    assert f"already at schema version {LATEST}" in run("db", "migrate")
    stats = json.loads(run("db", "stats", "--json"))
    assert stats["instance"] == 600 and stats["sqlite"] >= "3.51.3"
    assert "backup written" in run("db", "backup", str(tmp_path / "copy.db"))
    copy = open_database(f"sqlite:///{tmp_path / 'copy.db'}")
    assert Instance.select().count() == 600
    copy.close()
    assert "exists" in run("db", "backup", str(tmp_path / "copy.db"), code=1)


def test_users_list_masks_unless_revealed_and_reveal_is_audited(person):
    masked = run("users", "list")
    assert "Siti Rahmawati" not in masked and "S************i" in masked
    assert "Siti Rahmawati" in run("users", "list", "--reveal")
    rows = json.loads(run("users", "list", "--status", "active", "--json"))
    assert rows[0]["id"] == person and rows[0]["name"] != "Siti Rahmawati"
    audit = Audit.get(Audit.action == "users.list.reveal")
    assert audit.actor == "cli:ops-ani" and "Siti" not in (audit.detail or "")


@pytest.mark.parametrize("who", ["1", "chat:777", "+62 813-9988-7766", "SITI@rahma.id"])
def test_users_show_finds_a_person_by_id_chat_phone_or_email(person, who):
    shown = json.loads(run("users", "show", who, "--json"))
    assert shown["email"] == "siti@rahma.id" and shown["filters"] == ["obat"]


def test_users_add_update_plan_pause_resume(env):
    assert "added subscriber" in run(
        "users", "add", "--chat-id", "55", "--name", "Budi", "--phone", "081234567890"
    )
    assert "already has" in run("users", "add", "--chat-id", "55", code=1)
    assert "tidak valid" in run("users", "add", "--chat-id", "56", "--email", "nope", code=1)
    assert "not in the range" in run("users", "add", "--chat-id", "99999999999999999999999", code=2)
    assert Subscriber.select().count() == 1  # the failed add left nothing behind
    run("users", "update", "chat:55", "--email", "budi@baru.id")
    assert personal_data(Keyring.parse(KEY), Subscriber.get())["email"] == "budi@baru.id"
    assert "in the past" in run("users", "plan", "1", "pro", "--until", "2020-01-01", code=1)
    until = (utcnow() + timedelta(days=40)).strftime("%Y-%m-%d")
    run("users", "plan", "1", "pro", "--until", until)
    assert Subscriber.get().plan == "pro" and f"{Subscriber.get().plan_expires_at:%Y-%m-%d}" == until
    assert f"{Subscriber.get().plan_expires_at:%H:%M %z}" == "23:59 +0700"  # the day's end in Jakarta
    run("users", "pause", "1")
    assert Subscriber.get().status == "paused"
    assert "is active; 0 Telegram notifications queued" in run("users", "resume", "1")
    assert Subscriber.get().status == "active"


def test_users_plan_keeps_a_trial_a_plan_was_bought_in(person):
    trial_end = utcnow() + timedelta(days=9)
    Subscriber.update(
        plan="basic", plan_expires_at=trial_end + timedelta(days=31), trial_until=trial_end
    ).execute()
    database.close()
    until = (trial_end + timedelta(days=60)).strftime("%Y-%m-%d")
    assert "after the trial that goes on until" in run("users", "plan", "1", "basic", "--until", until)
    assert Subscriber.get().trial_until == trial_end
    assert json.loads(run("users", "show", "1", "--json"))["trial_until"].startswith(f"{trial_end:%Y-%m-%d}")
    run("users", "plan", "1", "free")
    assert Subscriber.get().trial_until is None


def test_users_resume_queues_again_what_met_the_block(person):
    upsert_tender(replace(ITEM, kode="222000", url="https://lpse.test/222000"))
    Notification.update(status="dead", last_error="403: Forbidden: bot was blocked by the user").execute()
    Notification.create(
        subscriber=person, tender=Tender.get(Tender.kode == "222000")
    )  # matched while blocked
    Notification.create(subscriber=person, body="Pengumuman", status="dead", last_error="403: Forbidden")
    Notification.create(subscriber=person, body="Lain", status="dead", last_error="400: Bad Request")
    Subscriber.update(status="blocked").execute()
    database.close()
    assert "is active; 3 Telegram notifications queued" in run("users", "resume", "1")
    statuses = [(n.body, n.status) for n in Notification.select().order_by(Notification.id)]
    assert statuses == [(None, "queued"), (None, "queued"), ("Pengumuman", "queued"), ("Lain", "dead")]
    assert Subscriber.get().status == "active"


@pytest.mark.sqlite_only
def test_users_delete_says_when_a_reader_kept_the_wal_from_being_wiped(person, env, monkeypatch):
    monkeypatch.setenv("SQLITE_BUSY_TIMEOUT_MS", "200")
    reader = apsw.Connection(env.removeprefix("sqlite:///"))
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM subscriber").fetchone() == (1,)  # its snapshot holds the WAL
    output = run("users", "delete", "1", "--yes", code=1)
    assert "erased subscriber 1:" in output and "the -wal file still holds old pages" in output
    reader.execute("COMMIT")
    reader.close()
    assert "removed 0 packages" in run("purge")  # the next wipe goes through
    assert Subscriber.select().count() == 0


def test_bad_input_is_one_line_exit_1(env):
    assert run("users", "show", "999", code=1).startswith("Error: no subscriber matches '999'")
    assert "is not an id" in run("users", "show", "chat:x", code=1)
    assert "is not an id" in run("users", "show", "chat:" + "9" * 30, code=1)
    assert "nothing to change" in run("users", "update", "1", code=1)
    assert "no instance 'atlantis'" in run("instances", "enable", "atlantis", code=1)
    assert "no invoice" in run("payments", "invoice", "INV-0", code=1)


def test_missing_key_is_a_clear_error(person, monkeypatch):
    monkeypatch.delenv("PANTAU_KEYS")
    assert "no encryption key" in run("users", "show", "1", code=1)


@pytest.mark.sqlite_only
def test_a_locked_database_is_a_one_line_error_and_changes_nothing(env, person, monkeypatch, database_path):
    monkeypatch.setenv("SQLITE_BUSY_TIMEOUT_MS", "200")
    other_process = apsw.Connection(str(database_path))
    other_process.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        output = run("users", "pause", "1", code=1)
    finally:
        other_process.execute("ROLLBACK")
        other_process.close()
    assert output == "Error: the database is busy (locked by another process); try again\n"
    open_database()
    assert Subscriber.get().status == "active"


def record_basic_payment() -> None:
    """Subscriber 1 pays Basic for this month by transfer, reference BCA-7781."""
    run(
        "payments",
        "record",
        "1",
        "--amount",
        "49000",
        "--method",
        "transfer",
        "--period",
        f"{utcnow():%Y-%m}",
        "--reference",
        "BCA-7781",
    )


def test_export_validates_against_the_schema_and_is_audited(person, tmp_path):
    record_basic_payment()
    run("users", "export", "siti@rahma.id", "-o", str(tmp_path / "siti.json"))
    assert oct((tmp_path / "siti.json").stat().st_mode & 0o777) == "0o600"  # personal data: owner only
    assert "exists" in run("users", "export", "1", "-o", str(tmp_path / "siti.json"), code=1)
    document = json.loads((tmp_path / "siti.json").read_text())
    jsonschema.validate(document, SCHEMA)
    assert (
        document["profile"]["phone"] == "+6281399887766"
        and document["payments"][0]["reference"] == "BCA-7781"
    )
    assert [a["action"] for a in document["audit"]] == ["payments.record", "users.export"]


@pytest.mark.sqlite_only
def test_delete_leaves_no_byte_of_the_person(person, database_path):
    record_basic_payment()
    open_database()
    ciphertexts = [
        getattr(Subscriber.get(), c) for c in ("name_enc", "phone_enc", "email_enc", "username_enc")
    ]
    ciphertexts.append(Payment.get().reference_enc)
    database.close()
    assert "Aborted" in run("users", "delete", "1", input="n\n", code=1)
    output = run("users", "delete", "siti@rahma.id", "--yes")
    assert "erased subscriber 1" in output and "1 payments_unlinked" in output
    open_database()
    assert (
        Subscriber.select().count() == 0
        and Filter.select().count() == 0
        and Notification.select().count() == 0
    )
    payment = Payment.get()
    assert payment.subscriber_id is None and payment.reference_enc is None and payment.amount == 49000
    database.close()
    data = b"".join(p.read_bytes() for p in database_path.parent.glob(database_path.name + "*"))
    needles = [*PERSON.values(), "6281399887766", "BCA-7781", *ciphertexts]
    assert [n for n in needles if n.encode() in data] == []


def test_keys_generate_rotate_check(person, monkeypatch):
    entry = run("keys", "generate", "k2027").strip()
    assert entry.startswith("k2027:")
    assert "use 1-32 letters" in run("keys", "generate", "no spaces", code=1)
    monkeypatch.setenv("PANTAU_KEYS", f"{entry},{KEY}")
    assert "now under key k2027" in run("keys", "rotate")
    monkeypatch.setenv("PANTAU_KEYS", entry)
    assert json.loads(run("keys", "check", "--json"))["values_by_key"] == {"k2027": 4}
    monkeypatch.setenv("PANTAU_KEYS", KEY)
    assert "under key 'k2027', which the keyring lacks" in run("keys", "check", code=1)


def test_instances_list_add_enable_disable_import(env, tmp_path):
    assert len(json.loads(run("instances", "list", "--json"))) == 600
    run("instances", "add", "kabbaru", "--name", "LPSE Kab. Baru", "--timezone", "Asia/Jayapura")
    assert "not a timezone" in run(
        "instances", "add", "x", "--name", "X", "--timezone", "Mars/Olympus", code=1
    )
    assert run("instances", "disable", "kemkes").splitlines() == ["kemkes disabled"]
    assert Instance.get_by_id("kemkes").active is False
    run("instances", "enable", "kemkes")
    upsert_tender(ITEM)  # listed first on kemkes, and followed: watched
    Tender.update(watch_due_at=utcnow()).execute()
    assert "followed packages listed there first, not read again until it is enabled: 1" in run(
        "instances", "disable", "kemkes"
    )
    assert run("instances", "enable", "kemkes").splitlines() == ["kemkes enabled"]
    csv = tmp_path / "new.csv"
    csv.write_text(
        "code,name,province,timezone\nkabbaru,LPSE Kabupaten Baru,Papua Tengah,Asia/Jayapura\n"
        "kablain,LPSE Kab. Lain,,\n"
    )
    assert "imported 2" in run("instances", "import", str(csv))
    assert Instance.get_by_id("kabbaru").province == "Papua Tengah" and Instance.get_by_id("kablain")
    (tmp_path / "bad.csv").write_text("code,name\n,No code\n")
    assert "lack code or name" in run("instances", "import", str(tmp_path / "bad.csv"), code=1)


@pytest.mark.parametrize(
    "url", ["spse.inaproc.id/kab5", "ftp://spse.inaproc.id/kab5", "https://", "http://[::1"]
)
def test_a_bad_base_url_is_refused_where_it_is_entered(env, tmp_path, url):
    output = run("instances", "add", "kab5", "--name", "LPSE Kab. 5", "--base-url", url, code=1)
    assert url in output and "URL" in output
    (tmp_path / "urls.csv").write_text(
        f"code,name,base_url\nkab6,LPSE Kab. 6,https://spse.inaproc.id/kab6\nkab5,LPSE Kab. 5,{url}\n"
    )
    assert "row 3: base URL" in run("instances", "import", str(tmp_path / "urls.csv"), code=1)
    assert not Instance.select().where(Instance.code.in_(["kab5", "kab6"])).exists()
    run("instances", "add", "kab5", "--name", "LPSE Kab. 5", "--base-url", "https://spse.inaproc.id/kab5")
    assert Instance.get_by_id("kab5").base_url == "https://spse.inaproc.id/kab5"


def test_outbox_status_retry_and_broadcast(person, tmp_path):
    Notification.update(status="dead", last_error="500").execute()
    assert json.loads(run("outbox", "status", "--json"))["dead"] == 1
    assert "1 notifications queued again" in run("outbox", "retry")
    message = tmp_path / "news.txt"
    message.write_text("Kebijakan privasi <baru> berlaku 1 Januari.")
    assert "queued for 1 subscribers" in run("broadcast", "--message-file", str(message), "--yes")
    assert Notification.get(Notification.tender.is_null()).body.endswith(
        "Kebijakan privasi &lt;baru&gt; berlaku 1 Januari."
    )


def test_purge_drops_old_closed_packages_and_their_sent_notifications(person):
    open_database()
    Tender.update(deadline=utcnow() - timedelta(days=400)).execute()
    Notification.update(status="sent").execute()
    database.close()
    assert "would remove 1" in run("purge", "--days", "180", "--dry-run")
    assert "removed 1 packages and 1 notifications" in run("purge", "--days", "180")
    assert Tender.select().count() == 0 and Notification.select().count() == 0


def test_purge_removes_more_packages_than_sqlite_binds_in_one_statement(person):
    open_database()
    Tender.update(deadline=utcnow() - timedelta(days=400)).execute()
    Notification.update(status="sent").execute()
    (row,) = Tender.select().dicts()
    fields = [f for f in Tender._meta.sorted_fields if f.name != "id"]
    names = ", ".join(f'"{f.column_name}"' for f in fields)
    marks = ", ".join([database.obj.param] * len(fields))
    rows = [[f.db_value(str(n) if f.name == "kode" else row[f.name]) for f in fields] for n in range(40_000)]
    with database.atomic():
        database.cursor().executemany(f'INSERT INTO "tender" ({names}) VALUES ({marks})', rows)
    database.close()
    assert "would remove 40001 packages" in run("purge", "--dry-run")
    assert "removed 40001 packages and 1 notifications" in run("purge")
    assert Tender.select().count() == 0 and Notification.select().count() == 0
