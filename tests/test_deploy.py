"""The deploy files as an operator runs them: install.sh into a temporary root, and the
cron wrapper's logs, skips, mails (its stdout) and backups."""

import os
import subprocess

import pytest

from tests.conftest import ROOT
from tests.test_cli import KEY

pytestmark = pytest.mark.sqlite_only


def mode(path) -> str:
    return oct(os.stat(path).st_mode & 0o777)


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="install.sh creates users and system folders: root only")
def test_install_creates_private_folders_files_database_and_crontab(tmp_path):
    paths = {
        "ENV_FILE": tmp_path / "etc" / "pantau.env",
        "KEY_FILE": tmp_path / "etc" / "pantau.keys",
        "DATA": tmp_path / "data",
        "LOGS": tmp_path / "log",
        "BACKUPS": tmp_path / "backups",
        "CRONTAB": tmp_path / "crontab",
        "SYSTEMD_DIR": tmp_path / "systemd",
        "LOGROTATE_DIR": tmp_path / "logrotate",
    }
    (tmp_path / "etc").mkdir()
    (tmp_path / "systemd").mkdir()
    env = {"PATH": os.environ["PATH"], "PANTAU_USER": "root", **{k: str(v) for k, v in paths.items()}}
    for _ in range(2):  # idempotent: the second run keeps the env and key files
        done = subprocess.run(["deploy/install.sh"], cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        if _ == 0:
            first_key = paths["KEY_FILE"].read_text()
    assert paths["KEY_FILE"].read_text() == first_key
    assert [mode(paths[p]) for p in ("DATA", "BACKUPS", "LOGS")] == ["0o700", "0o700", "0o750"]
    assert [mode(paths[p]) for p in ("ENV_FILE", "KEY_FILE")] == ["0o600", "0o600"]
    assert mode(paths["DATA"] / "pantau.db") == "0o600"
    settings = paths["ENV_FILE"].read_text()
    assert f"PANTAU_KEY_FILE={paths['KEY_FILE']}" in settings
    assert f"DATABASE_URL=sqlite:///{paths['DATA']}/pantau.db" in settings
    crontab = paths["CRONTAB"].read_text()
    assert f"PANTAU={ROOT}\n" in crontab and f"PANTAU_ENV_FILE={paths['ENV_FILE']}\n" in crontab
    assert (
        f"Environment=PANTAU_ENV_FILE={paths['ENV_FILE']}"
        in (paths["SYSTEMD_DIR"] / "pantau-bot.service").read_text()
    )


@pytest.fixture
def cron(tmp_path):
    """Run deploy/cron-job JOB as cron would, with its own log, backup and lock paths."""
    (tmp_path / "log").mkdir()
    (tmp_path / "backups").mkdir()
    env_file = tmp_path / "pantau.env"
    env_file.write_text(f"DATABASE_URL=sqlite:///{tmp_path}/pantau.db\nPANTAU_KEYS={KEY}\n")
    env_file.chmod(0o600)
    env = {
        "PATH": os.environ["PATH"],
        "PANTAU_ENV_FILE": str(env_file),
        "LOGS": str(tmp_path / "log"),
        "BACKUPS": str(tmp_path / "backups"),
        "PANTAU_LOCK": str(tmp_path / "lock"),
        "LOCK_WAIT": "1",
        "PYTHON": str(ROOT / ".venv" / "bin" / "python"),
    }

    def run(job: str) -> subprocess.CompletedProcess:
        return subprocess.run([ROOT / "deploy" / "cron-job", job], env=env, capture_output=True, text=True)

    run.log = lambda job: (tmp_path / "log" / f"{job}.log").read_text()
    run.env = env
    return run


def test_a_failed_job_is_mailed_with_its_reason_and_logged(cron):
    done = cron("crawl")  # no database yet: the crawl refuses to start an empty one
    assert done.returncode == 1
    assert done.stdout.startswith("crawl failed with exit status 1: Error: no database at")
    assert "crawl: start" in cron.log("crawl") and "crawl: exit 1" in cron.log("crawl")


def test_a_failure_mail_quotes_this_run_and_never_an_older_one(cron, tmp_path):
    (tmp_path / "log" / "crawl.log").write_text(
        "Crawl result: 1 instance(s) failing: kemkes (exit 3)\nError: an old run's reason\n"
    )
    cron.env["PYTHON"] = "false"  # a crawl that dies without a word (killed, out of memory)
    done = cron("crawl")
    assert done.returncode == 1
    assert done.stdout == f"crawl failed with exit status 1: see {tmp_path}/log/crawl.log\n"


def test_backup_waits_for_the_lock_and_writes_a_private_copy(cron, tmp_path):
    subprocess.run([ROOT / ".venv/bin/python", ROOT / "cli.py", "db", "init"], env=cron.env, check=True)
    done = cron("backup")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    (backup,) = (tmp_path / "backups").glob("pantau-*.db")
    assert mode(backup) == "0o600" and "backup written" in cron.log("backup")


def test_a_skipped_crawl_leaves_a_line_and_mails_after_four_in_a_row(cron, tmp_path):
    holder = subprocess.Popen(["flock", tmp_path / "lock", "sleep", "30"])
    try:
        subprocess.run(["sh", "-c", f"until [ -e {tmp_path}/lock ]; do sleep 0.05; done"], timeout=5)
        outputs = [cron("crawl") for _ in range(4)]
    finally:
        holder.kill()
    assert [o.returncode for o in outputs] == [0, 0, 0, 0]
    assert [o.stdout for o in outputs[:3]] == ["", "", ""]
    assert "crawl skipped 4 times in a row" in outputs[3].stdout
    assert cron.log("crawl").count("skipped: another job holds") == 4


def test_the_mail_job_drains_the_email_outbox_and_stays_quiet_when_nothing_is_due(cron):
    subprocess.run([ROOT / ".venv/bin/python", ROOT / "cli.py", "db", "init"], env=cron.env, check=True)
    done = cron("mail")
    assert (done.returncode, done.stdout) == (0, "")
    assert "no email notices due" in cron.log("mail")
