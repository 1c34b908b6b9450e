"""Operators' read-only views through click's runner: the audit trail, a person's notifications."""

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from lpse_crawler.outbox import Notification
from lpse_crawler.people.audit import Audit
from lpse_crawler.people.crypto import Keyring
from lpse_crawler.people.personal_data import create_subscriber
from lpse_crawler.store.database import database
from lpse_crawler.store.models import Tender
from lpse_crawler.store.tenders import upsert_tender
from tests.test_cli import KEY, PERSON, env, person, run  # noqa: F401  (env, person are fixtures)
from tests.test_sender import ITEM


@pytest.fixture
def trail(env):
    """Four audit rows around midnight WIB of 6 February 2026 (17:00 UTC on the 5th)."""
    for action, subject, moment in [
        ("users.export", "subscriber:1", datetime(2026, 2, 5, 16, 59, tzinfo=UTC)),  # 5 Feb 23:59 WIB
        ("users.show", "subscriber:2", datetime(2026, 2, 5, 17, 0, tzinfo=UTC)),  # 6 Feb 00:00 WIB
        ("usersx.other", None, datetime(2026, 2, 6, 10, 0, tzinfo=UTC)),
        ("instances.disable", None, datetime(2026, 2, 7, 1, 0, tzinfo=UTC)),
    ]:
        Audit.create(actor="cli:ops-ani", action=action, subject=subject, detail="d", created_at=moment)
    database.close()


def actions(*args: str) -> list[str]:
    return [row["action"] for row in json.loads(run("audit", "list", "--json", *args))]


def test_audit_list_is_newest_first_with_times_in_wib(trail):
    assert actions() == ["instances.disable", "usersx.other", "users.show", "users.export"]
    output = run("audit", "list", "--limit", "1")
    assert output.splitlines()[1].split()[:3] == [
        "2026-02-07T08:00:00+07:00",
        "cli:ops-ani",
        "instances.disable",
    ]


def test_audit_list_filters_by_action_prefix_days_in_wib_and_subject(trail):
    assert actions("--action", "users.") == ["users.show", "users.export"]
    assert actions("--action", "users") == ["usersx.other", "users.show", "users.export"]
    assert actions("--since", "2026-02-06") == ["instances.disable", "usersx.other", "users.show"]
    assert actions("--until", "2026-02-05") == ["users.export"]
    assert actions("--since", "2026-02-06", "--until", "2026-02-06") == ["usersx.other", "users.show"]
    assert actions("--subject", "2") == actions("--subject", "subscriber:2") == ["users.show"]
    assert "(none)" in run("audit", "list", "--action", "payments")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--since", "06-02-2026"], "--since '06-02-2026' is not a day: use YYYY-MM-DD"),
        (["--until", "2026-02-30"], "--until '2026-02-30' is not a day"),
        (
            ["--since", "2026-02-07", "--until", "2026-02-06"],
            "--since 2026-02-07 is after --until 2026-02-06",
        ),
    ],
)
def test_audit_list_refuses_bad_days_in_one_line(trail, args, message):
    output = run("audit", "list", *args, code=1)
    assert output.startswith(f"Error: {message}") and output.count("\n") == 1


def test_users_notifications_shows_what_reached_a_person_without_personal_data(person):
    subscriber = Notification.get().subscriber
    upsert_tender(replace(ITEM, kode="20202020000", nama="Pengadaan Obat Generik"))
    sent = Notification.create(
        subscriber=subscriber,
        tender=Tender.get(Tender.kode == "20202020000"),
        status="sent",
        attempts=1,
        sent_at=datetime(2026, 2, 5, 17, 30, tzinfo=UTC),
    )
    Notification.create(subscriber=subscriber, body="Layanan libur.", status="dead", last_error="403 blocked")
    other = create_subscriber(Keyring.parse(KEY), 888, name="Budi")
    Notification.create(subscriber=other, body="Bukan untuk Siti.")
    database.close()

    rows = json.loads(run("users", "notifications", str(person), "--json"))
    assert [(r["tender"], r["title"], r["status"]) for r in rows] == [
        ("", "(pengumuman)", "dead"),
        ("20202020000", "Pengadaan Obat Generik", "sent"),
        ("10102584000", ITEM.nama, "queued"),
    ]
    assert rows[0]["last_error"] == "403 blocked" and rows[1]["id"] == sent.id
    assert rows[1]["sent_at"] == "2026-02-06T00:30:00+07:00" and rows[2]["sent_at"] == ""
    assert {r["instance"] for r in rows[1:]} == {"kemkes"}
    table = run("users", "notifications", PERSON["email"], "--limit", "2")
    assert "(pengumuman)" in table and "Pengadaan Obat Generik" in table and ITEM.nama not in table
    assert not any(value in table for value in PERSON.values())
    assert "no subscriber matches '999'" in run("users", "notifications", "999", code=1)
