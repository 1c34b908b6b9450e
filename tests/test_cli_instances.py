"""`instances` import, remove and history through click's runner, asserting the database."""

import json
from dataclasses import replace
from datetime import timedelta

from lpse_crawler.outbox import Notification
from lpse_crawler.people.audit import Audit
from lpse_crawler.people.crypto import Keyring
from lpse_crawler.people.personal_data import create_subscriber
from lpse_crawler.store.crawl_state import CYCLES_KEPT, InstanceHealth, save_health
from lpse_crawler.store.database import database, utcnow
from lpse_crawler.store.models import Instance, InstanceCycle, InstanceLease, Tender, TenderListing
from lpse_crawler.store.tenders import upsert_tender
from tests.test_cli import KEY, env, run  # noqa: F401  (env is a fixture)
from tests.test_sender import ITEM


def test_import_reads_an_excel_csv_with_bom_and_semicolons(env, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(
        "\ufeff Code ;NAME;Province;TimeZone\r\n"
        "kabbaru;LPSE Kabupaten Baru;Papua Tengah;Asia/Jayapura\r\n"
        ";;;\r\n"
        "kemkes;LPSE Kemenkes (baru);;\r\n".encode()
    )
    output = run("instances", "import", str(path))
    assert "imported 2 instances from excel.csv: 1 added, 1 updated" in output
    assert "1 are registry instances" in output
    new = Instance.get_by_id("kabbaru")
    assert (new.name, new.province, new.timezone) == ("LPSE Kabupaten Baru", "Papua Tengah", "Asia/Jayapura")
    kemkes = Instance.get_by_id("kemkes")
    assert kemkes.name == "LPSE Kemenkes (baru)" and kemkes.province  # an empty cell changed nothing
    assert Audit.get(Audit.action == "instances.import").detail == "1 added, 1 updated"


def test_import_reports_every_bad_row_by_number_and_imports_nothing(env, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "code,name,timezone,base_url\n"
        "kabsatu,LPSE Kab. Satu,,\n"
        "Kab Dua,LPSE Kab. Dua,,\n"
        "kabtiga,LPSE Kab. Tiga,Mars/Olympus,\n"
        "kabsatu,LPSE Kab. Satu lagi,,\n"
        "kabempat,,,\n"
        "kablima,LPSE Kab. Lima,,spse.inaproc.id/kablima\n"
        "kabenam,LPSE Kab. Enam,,,oops\n",
        encoding="utf-8",
    )
    output = run("instances", "import", str(path), code=1)
    assert output.count("\n") == 1 and "6 problem(s) in bad.csv, nothing imported" in output
    for expected in (
        "row 3: 'Kab Dua': a code is lower-case",
        "row 4: 'Mars/Olympus' is not a timezone",
        "row 5: code kabsatu is on row 2 already",
        "row 6: must not lack code or name",
        "row 7: base URL",
    ):
        assert expected in output
    assert "and 1 more" in output  # row 8's extra cell: counted, not shown
    assert (
        not Instance.select().where(Instance.code.in_(["kabsatu", "kabtiga", "kablima", "kabenam"])).exists()
    )


def test_import_refuses_a_file_it_cannot_read(env, tmp_path):
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("code,name\nkabbaru,LPSE Kab. Bar\xfa\n".encode("latin-1"))
    assert "latin1.csv is not UTF-8 text (byte 31)" in run("instances", "import", str(latin), code=1)
    (tmp_path / "empty.csv").write_bytes(b"")
    assert "empty.csv is empty" in run("instances", "import", str(tmp_path / "empty.csv"), code=1)
    (tmp_path / "cols.csv").write_text("kode,nama\nkabbaru,LPSE\n")
    assert "expected code and name" in run("instances", "import", str(tmp_path / "cols.csv"), code=1)
    big = tmp_path / "big.csv"
    big.write_text("code,name\n" + "kabbaru,LPSE Kab. Baru\n" * 6000)
    assert "over 5000 rows" in run("instances", "import", str(big), code=1)
    assert not Instance.select().where(Instance.code == "kabbaru").exists()


def test_an_instance_whose_name_or_province_does_not_fit_a_column_is_refused(env):
    long = "x" * 256
    assert "name is longer than 255" in run("instances", "add", "kabbaru", "--name", long, code=1)
    refused = run("instances", "add", "kabbaru", "--name", "LPSE Baru", "--province", long, code=1)
    assert "province is longer than 255" in refused
    assert not Instance.select().where(Instance.code == "kabbaru").exists()


def test_remove_an_operator_instance_and_the_packages_listed_only_there(env):
    run("instances", "add", "kabbaru", "--name", "LPSE Kab. Baru")
    upsert_tender(replace(ITEM, instance="kabbaru", kode="1"))
    upsert_tender(replace(ITEM, instance="kabbaru", kode="2"))
    upsert_tender(replace(ITEM, instance="kemkes", kode="2"))  # listed under kemkes too: kept
    upsert_tender(replace(ITEM, instance="kemkes", kode="3"))
    upsert_tender(replace(ITEM, instance="kabbaru", kode="3"))  # first seen at kemkes: kept
    subscriber = create_subscriber(Keyring.parse(KEY), 777, name="Siti")
    Notification.create(subscriber=subscriber, tender=Tender.get(Tender.kode == "1"))
    save_health("kabbaru", InstanceHealth(requests=3))
    database.close()

    assert "Aborted" in run("instances", "remove", "kabbaru", input="n\n", code=1)
    assert Instance.get_or_none(Instance.code == "kabbaru")
    output = run("instances", "remove", "kabbaru", "--yes")
    assert "removed instance kabbaru: 1 packages, 1 notifications, 1 packages credited elsewhere" in output
    assert not Instance.get_or_none(Instance.code == "kabbaru")
    assert sorted(t.kode for t in Tender.select()) == ["2", "3"]
    assert {t.instance_first_seen_id for t in Tender.select()} == {"kemkes"}
    assert {row.instance_id for row in TenderListing.select()} == {"kemkes"}
    assert Notification.select().count() == 0 and InstanceCycle.select().count() == 0
    assert Audit.get(Audit.action == "instances.remove").detail.startswith("kabbaru: 1 packages")


def test_remove_refuses_a_registry_instance_and_one_being_crawled(env):
    output = run("instances", "remove", "kemkes", "--yes", code=1)
    assert "registry" in output and "python cli.py instances disable kemkes" in output
    assert "no instance 'atlantis'" in run("instances", "remove", "atlantis", "--yes", code=1)
    run("instances", "add", "kabbaru", "--name", "LPSE Kab. Baru")
    InstanceLease.create(instance="kabbaru", owner="host:1:ab", expires_at=utcnow() + timedelta(hours=1))
    database.close()
    assert "is being crawled" in run("instances", "remove", "kabbaru", "--yes", code=1)
    assert Instance.get_by_id("kemkes") and Instance.get_by_id("kabbaru")


def test_history_shows_each_cycle_newest_first(env):
    save_health("kemkes", InstanceHealth(requests=12, new=3, updated=1))
    save_health("kemkes", InstanceHealth(requests=4, errors=["dt/lelang 2026: HTTP 500"]))
    database.close()
    output = run("instances", "history", "kemkes")
    lines = output.splitlines()
    assert "kemkes (active): last OK 20" in lines[0] and "1 failure(s) in a row" in lines[0]
    assert lines[2].split()[1:5] == ["FAILED", "0", "0", "4"] and lines[2].endswith("HTTP 500")
    assert lines[3].split()[1:] == ["OK", "3", "1", "12"]
    data = json.loads(run("instances", "history", "kemkes", "--json", "--limit", "1"))
    assert [c["ok"] for c in data["cycles"]] == [False] and data["last_error_at"].endswith("+07:00")
    listed = json.loads(run("instances", "list", "--failing", "--json"))
    assert [(i["code"], i["last_error_at"]) for i in listed] == [("kemkes", data["last_error_at"])]
    assert "no instance 'atlantis'" in run("instances", "history", "atlantis", code=1)


def test_history_keeps_the_last_cycles_only(env):
    for n in range(CYCLES_KEPT + 3):
        save_health("kemkes", InstanceHealth(requests=n))
    kept = [c.requests for c in InstanceCycle.select().order_by(InstanceCycle.id)]
    assert kept == list(range(3, CYCLES_KEPT + 3))
