"""The shared connection, the field types and the base model every table uses.

One deferred database (`database`) is shared by the crawler, the bot and the CLI. SQLite
runs in WAL mode with a busy timeout, foreign keys on, secure_delete and short
transactions, through APSW: its wheels carry a current SQLite (the interpreter's may
predate 3.51.3, which fixed WAL corruption under concurrent writers and checkpoints).
Set DATABASE_URL (playhouse.db_url syntax) to use another database.
"""

import json
import logging
import os
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import apsw
from peewee import (
    DatabaseError,
    DatabaseProxy,
    Model,
    SqliteDatabase,
    TextField,
)
from playhouse.apsw_ext import APSWDatabase
from playhouse.db_url import connect

from lpse_crawler import config

log = logging.getLogger(__name__)
database = DatabaseProxy()
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",  # safe with WAL: a crash loses at most the last commits
    "secure_delete": "on",  # deleted personal data is overwritten, not left in free pages
}
MIN_SQLITE = (3, 51, 3)
STORAGE_ERRORS = (DatabaseError, apsw.Error)  # what a failed read or write raises (APSW's are not wrapped)


WIB = ZoneInfo("Asia/Jakarta")  # the zone users count their days and months in


def utcnow() -> datetime:
    return datetime.now(UTC)


def wib_start_of(now: datetime, period: str) -> datetime:
    """When today (`period="day"`) or this month (`"month"`) began in Jakarta, in UTC like
    every stored moment, so it compares with stored values."""
    local = now.astimezone(WIB).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "month":
        local = local.replace(day=1)
    return local.astimezone(UTC)


class AwareDateTimeField(TextField):
    """A timezone-aware datetime stored as ISO 8601 text (keeps the zone's offset)."""

    def db_value(self, value):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime for {self.name}: {value!r}")
        return value.isoformat()

    def python_value(self, value):
        return None if value is None else datetime.fromisoformat(value)


class DayField(TextField):
    """A calendar date stored as ISO 8601 text (APSW binds no date objects)."""

    def db_value(self, value):
        return None if value is None else value.isoformat()

    def python_value(self, value):
        return None if value is None else date.fromisoformat(value)


class JSONField(TextField):
    """A list or dict stored as JSON text."""

    def db_value(self, value):
        return None if value is None else json.dumps(value, ensure_ascii=False)

    def python_value(self, value):
        return None if value is None else json.loads(value)


class BaseModel(Model):
    created_at = AwareDateTimeField(default=utcnow)
    updated_at = AwareDateTimeField(default=utcnow)

    class Meta:
        database = database
        legacy_table_names = False

    def save(self, *args, **kwargs):
        self.updated_at = utcnow()
        return super().save(*args, **kwargs)

    @classmethod
    def update(cls, __data=None, **update):
        """A query update, stamping updated_at like save() does (unless it is given)."""
        data = cls._normalize_data(__data, update)
        data.setdefault(cls.updated_at, utcnow())
        return super().update(data)


def database_url() -> str:
    return config.get("DATABASE_URL")


def connect_database(url: str | None = None):
    """Point the shared `database` at `url` (default DATABASE_URL) and connect."""
    url = url or database_url()
    if url.startswith(("sqlite:///", "apsw:///")):
        path = url.split(":///", 1)[1]
        if path not in ("", ":memory:") and os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        # ms a writer waits for the lock before "database is locked"
        busy_ms = config.get("SQLITE_BUSY_TIMEOUT_MS")
        pragmas = {**SQLITE_PRAGMAS, "busy_timeout": busy_ms}
        # A cap on the file, so a runaway database stops with "database or disk is full"
        # (the crawl then exits 4) before the disk fills for everything else on the machine.
        max_mb = config.get("SQLITE_MAX_SIZE_MB")
        if max_mb > 0:
            pragmas["max_page_count"] = max(1, int(max_mb * 1024 * 1024 // 4096))
        db = APSWDatabase(path, pragmas=pragmas, timeout=busy_ms / 1000)
        check_sqlite_version(db.server_version)
    else:
        db = connect(url)
    database.initialize(db)
    db.connect(reuse_if_open=True)
    return db


def check_sqlite_version(version: tuple[int, ...]) -> None:
    """Refuse an SQLite older than MIN_SQLITE; log the one in use."""
    text = ".".join(map(str, version))
    if tuple(version) < MIN_SQLITE:
        raise RuntimeError(f"SQLite {text} is too old: at least {'.'.join(map(str, MIN_SQLITE))} is needed")
    log.info("SQLite %s (APSW)", text)


def wipe_wal() -> bool:
    """Copy the WAL into the database and truncate it, so old page versions (say, data
    just erased or re-encrypted) leave the disk; secure_delete has zeroed freed space.
    False when a reader kept the checkpoint from completing (try again later)."""
    if not isinstance(database.obj, SqliteDatabase):
        return True
    busy, _, _ = database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return busy == 0


def write_transaction():
    """A transaction that takes the write lock at BEGIN (IMMEDIATE on SQLite)."""
    if isinstance(database.obj, SqliteDatabase):
        return database.atomic(lock_type="IMMEDIATE")
    return database.atomic()
