"""A private PostgreSQL cluster on loopback for the tests: Debian's server binaries, a data
folder under /tmp owned by an unprivileged user, trust authentication on 127.0.0.1 only."""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

USER = "pantau"  # the database role the tests connect as


def server_binaries() -> Path | None:
    """Debian's PostgreSQL server binaries (apt-get install postgresql), newest first."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(found[0]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    """`with PgCluster() as pg:` -> pg.url(name) for a fresh database, pg.restart()."""

    def __init__(self):
        self.bin = server_binaries()
        if self.bin is None:
            raise RuntimeError("PostgreSQL server binaries not found: apt-get install postgresql")
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="pantau-pg-"))
        self.data = self.root / "data"
        # The server refuses to run as root: run it as an unprivileged account when we are root.
        self.owner = "postgres" if os.geteuid() == 0 else None
        self.counter = 0

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.owner:
            command = ["runuser", "-u", self.owner, "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    def __enter__(self) -> "PgCluster":
        if self.owner:
            record = pwd.getpwnam(self.owner)
            os.chown(self.root, record.pw_uid, record.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", USER, "-E", "UTF8", "--locale=C.UTF-8")
        self.start()
        return self

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start")

    def restart(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        time.sleep(0.5)
        self.start()

    def __exit__(self, *exc) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, name: str) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{name}"

    def create_database(self, icu_locale: str | None = None) -> str:
        """A fresh, empty database; returns its DATABASE_URL."""
        self.counter += 1
        name = f"test{self.counter}"
        icu = f" LOCALE_PROVIDER icu ICU_LOCALE '{icu_locale}' TEMPLATE template0" if icu_locale else ""
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}{icu}")
        return self.url(name)
