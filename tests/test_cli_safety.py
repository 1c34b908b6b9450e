"""What an operator meets first: the env file, a wrong key, a missing or busy database, and
who may read the files. Through click's runner or the real process, asserting what is left."""

import os
import subprocess
import sys

import apsw
import pytest

from lpse_crawler.people.crypto import Keyring, generate_key
from lpse_crawler.people.keycheck import KeyCheck
from lpse_crawler.people.models import Subscriber
from lpse_crawler.people.personal_data import create_subscriber
from lpse_crawler.store.database import connect_database, database
from lpse_crawler.store.models import Instance
from lpse_crawler.store.schema import LATEST, SchemaVersion, current_version, migrate, open_database
from tests.conftest import ROOT, TOKEN
from tests.test_cli import KEY, env, person, run  # noqa: F401  (fixtures)


def cli_process(*args, env_file=None, **env) -> subprocess.CompletedProcess:
    """`python cli.py ARGS` as cron runs it: only PATH and what is given, plus the env file."""
    environment = {"PATH": os.environ["PATH"], **env}
    if env_file:
        environment["PANTAU_ENV_FILE"] = str(env_file)
    return subprocess.run(
        [sys.executable, "cli.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True
    )


def scrapy_process(*args: str, **env) -> subprocess.CompletedProcess:
    """`scrapy crawl lpse ARGS` itself, as cron or Scrapyd may start it, with `env` added."""
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "lpse", *args],
        cwd=ROOT,
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    return done.stderr


@pytest.mark.sqlite_only
def test_the_cli_reads_its_env_file_and_the_environment_wins(tmp_path):
    env_file = tmp_path / "pantau.env"
    env_file.write_text(
        f"DATABASE_URL=sqlite:///{tmp_path}/from-file.db\n"
        'PAYMENT_INFO="Transfer ke BCA 123; ketik /bantuan."\n'
    )
    env_file.chmod(0o600)
    assert cli_process("db", "init", env_file=env_file).returncode == 0
    assert (tmp_path / "from-file.db").is_file()
    wins = cli_process("db", "init", env_file=env_file, DATABASE_URL=f"sqlite:///{tmp_path}/env.db")
    assert wins.returncode == 0 and (tmp_path / "env.db").is_file()


@pytest.mark.parametrize(
    ("content", "mode", "message"),
    [
        (
            "DATABSE_URL=sqlite:///x.db\n",
            0o600,
            "line 1: DATABSE_URL is not a Pantau LPSE setting (did you mean",
        ),
        ("RETENTION_DAYS=abc\n", 0o600, "RETENTION_DAYS='abc' is not a whole number"),
        ("RETENTION_DAYS=30\n", 0o644, "may be read or changed by other users (mode 0644): chmod 600"),
        ("RETENTION_DAYS=30\n", 0o640, "may be read or changed by other users (mode 0640): chmod 600"),
        ("RETENTION_DAYS=30\n", 0o620, "may be read or changed by other users (mode 0620): chmod 600"),
        ('SELLER_NAME="unterminated\n', 0o600, "line 1: cannot read"),
    ],
)
def test_a_configuration_mistake_is_one_line_and_exit_1(tmp_path, content, mode, message):
    env_file = tmp_path / "pantau.env"
    env_file.write_text(content)
    env_file.chmod(mode)
    assert message in one_line_error(cli_process("db", "stats", env_file=env_file))


def test_a_named_env_file_that_is_missing_is_an_error(tmp_path):
    done = cli_process("db", "stats", env_file=tmp_path / "nope.env")
    assert "PANTAU_ENV_FILE" in one_line_error(done) and "no such file" in done.stderr


@pytest.mark.sqlite_only
def test_every_command_but_db_init_refuses_a_missing_database(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/typo/pantau.db")
    monkeypatch.setenv("PANTAU_KEYS", KEY)
    for args in [
        ["db", "stats"],
        ["db", "migrate"],
        ["db", "backup", str(tmp_path / "b.db")],
        ["users", "list"],
        ["users", "add", "--chat-id", "5"],
        ["outbox", "status"],
        ["instances", "list"],
        ["purge"],
        ["crawl"],
    ]:
        assert "no database at" in run(*args, code=1), args
    assert not (tmp_path / "typo").exists()  # no folder, no file: nothing was created
    assert "(600 instances added)" in run("db", "init")
    assert "kemkes disabled" in run("instances", "disable", "kemkes")  # no crawl needed first
    assert oct((tmp_path / "typo").stat().st_mode & 0o777) == "0o700"
    assert oct((tmp_path / "typo" / "pantau.db").stat().st_mode & 0o777) == "0o600"


@pytest.mark.sqlite_only
def test_an_earlier_release_s_readable_database_is_made_private(env, database_path):
    for path in database_path.parent.glob(database_path.name + "*"):
        path.chmod(0o644)
    assert "made private (mode 0600)" in run("db", "migrate")
    modes = {oct(p.stat().st_mode & 0o777) for p in database_path.parent.glob(database_path.name + "*")}
    assert modes == {"0o600"}


def test_a_mistyped_instance_code_is_refused_before_the_crawl_starts(env):
    output = one_line_error(cli_process("crawl", "--instances", "kemkes,kemkse", DATABASE_URL=env))
    assert "unknown instance code(s): kemkse (did you mean kemkes?); nothing was crawled" in output
    done = scrapy_process("-a", "instances=kemkse", LPSE_BASE_URL="http://127.0.0.1:9")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "Error: unknown instance code(s): kemkse (did you mean kemkes?)" in done.stderr
    assert "Crawl result" not in done.stderr


def test_scrapy_crawl_with_postgresql_unreachable_is_one_line_exit_1():
    done = scrapy_process("-s", "LPSE_RUN_MINUTES=0", DATABASE_URL="postgresql://pantau@127.0.0.1:9/pantau")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.stderr.splitlines()[-1].startswith("Error: connection failed")


def test_a_database_from_a_newer_release_is_refused_by_every_process(env):
    open_database()
    SchemaVersion.create(version=LATEST + 1, name="from a newer release")
    instances = Instance.select().count()
    database.close()
    newer = f"the database is at schema version {LATEST + 1}, newer than this release's {LATEST}: upgrade"
    for args in (["db", "migrate"], ["db", "init"], ["db", "stats"], ["users", "list"]):
        assert f"Error: {newer}" in run(*args, code=1), args
    crawl = cli_process("crawl", "--minutes", "0", DATABASE_URL=env)
    assert crawl.returncode == 1 and "Traceback" not in crawl.stderr, crawl.stderr[-2000:]
    assert crawl.stderr.splitlines()[-1] == f"Error: {newer}"
    bot = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "DATABASE_URL": env,
            "PANTAU_KEYS": KEY,
            "TELEGRAM_BOT_TOKEN": TOKEN,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bot.returncode == 2 and bot.stderr.splitlines()[-1] == f"error: {newer}", bot.stderr[-2000:]
    connect_database(env, create=False)
    assert current_version(database.obj) == LATEST + 1 and Instance.select().count() == instances
    database.close()


@pytest.mark.sqlite_only
def test_an_older_schema_is_named_and_only_db_migrate_upgrades_it(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/old.db"
    migrate(connect_database(url), target=LATEST - 1)
    database.close()
    monkeypatch.setenv("DATABASE_URL", url)
    assert f"schema version {LATEST - 1}, this release needs {LATEST}" in run("db", "stats", code=1)
    assert f"applied migrations [{LATEST}]" in run("db", "migrate")
    assert f"schema_version    {LATEST}" in run("db", "stats")


def test_a_key_with_another_id_is_refused_before_anything_is_written(person, monkeypatch):
    run("users", "update", "1", "--name", "Siti R.")  # the primary key's check value is stored
    assert KeyCheck.select().count() == 1
    monkeypatch.setenv("PANTAU_KEYS", generate_key("baru"))
    output = run("users", "add", "--chat-id", "778", "--phone", "0813-9988-7766", code=1)
    assert "under key 'cli', which the keyring lacks" in output
    assert Subscriber.select().count() == 1
    monkeypatch.setenv("PANTAU_KEYS", KEY)
    assert "Siti R." in run("users", "list", "--reveal")
    run("keys", "check")


def test_a_different_key_under_the_same_id_is_refused(person, monkeypatch):
    run("users", "update", "1", "--name", "Siti R.")
    monkeypatch.setenv("PANTAU_KEYS", generate_key("cli"))
    for args in (["users", "add", "--chat-id", "778"], ["users", "list"], ["keys", "check"]):
        assert "key 'cli' in the keyring is not the key" in run(*args, code=1), args
    assert Subscriber.select().count() == 1


def test_a_database_from_before_check_values_verifies_its_stored_data(env, monkeypatch):
    create_subscriber(Keyring.parse(KEY), 901, name="Ani")  # written without a check value
    assert KeyCheck.select().count() == 0
    database.close()
    monkeypatch.setenv("PANTAU_KEYS", generate_key("cli"))
    assert "key 'cli' in the keyring is not the key" in run("users", "list", code=1)
    monkeypatch.setenv("PANTAU_KEYS", KEY)
    run("users", "add", "--chat-id", "902", "--name", "Budi")
    assert [c.key_id for c in KeyCheck.select()] == ["cli"]


@pytest.mark.sqlite_only
def test_reading_commands_work_while_a_crawl_holds_the_write_lock(
    person, monkeypatch, database_path, tmp_path
):
    monkeypatch.setenv("SQLITE_BUSY_TIMEOUT_MS", "200")
    crawl = apsw.Connection(str(database_path))
    crawl.execute("BEGIN IMMEDIATE")
    crawl.execute("UPDATE instance SET last_new = 1")
    try:
        assert "subscriber" in run("db", "stats")
        assert "S************i" in run("users", "list")
        assert "kemkes" in run("instances", "list")
        assert "queued" in run("outbox", "status")
        assert "backup written" in run("db", "backup", str(tmp_path / "during-crawl.db"))
        run("keys", "check")
    finally:
        crawl.execute("ROLLBACK")
        crawl.close()
    assert oct((tmp_path / "during-crawl.db").stat().st_mode & 0o777) == "0o600"


@pytest.mark.slow
@pytest.mark.sqlite_only
def test_the_bot_refuses_a_missing_database_and_a_wrong_key_at_start(person, database_path, tmp_path):
    run("users", "update", "1", "--name", "Siti R.")  # the key's check value is stored
    environment = {
        "PATH": os.environ["PATH"],
        "TELEGRAM_BOT_TOKEN": "123:abc",
        "TELEGRAM_API_URL": "http://127.0.0.1:9",
        "PANTAU_KEYS": KEY,
    }
    bot = [sys.executable, "-m", "bot"]
    missing = {**environment, "DATABASE_URL": f"sqlite:///{tmp_path}/typo.db"}
    done = subprocess.run(bot, cwd=ROOT, env=missing, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr.startswith("error: no database at")) == (2, True), done.stderr
    wrong_key = {**environment, "DATABASE_URL": f"sqlite:///{database_path}"}
    wrong_key["PANTAU_KEYS"] = generate_key("cli")
    done = subprocess.run(bot, cwd=ROOT, env=wrong_key, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "key 'cli' in the keyring is not the key" in done.stderr, done.stderr
    assert not (tmp_path / "typo.db").exists()
