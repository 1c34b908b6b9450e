"""The shared connection, the field types and the base model every table uses.

One deferred database (`database`) is shared by the crawler, the bot and the CLI. SQLite
runs in WAL mode with a busy timeout, foreign keys on, secure_delete and short
transactions, through APSW: its wheels carry a current SQLite (the interpreter's may
predate 3.51.3, which fixed WAL corruption under concurrent writers and checkpoints).
Set DATABASE_URL to `postgresql://user@host:port/name` to use PostgreSQL (psycopg 3):
the same code runs there, with lock_timeout, reconnection after a server restart, and
claims that skip rows another process holds.
"""

import json
import logging
import os
from contextlib import nullcontext
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from zoneinfo import ZoneInfo

import apsw
from peewee import (
    DatabaseError,
    DatabaseProxy,
    InterfaceError,
    Model,
    OperationalError,
    PostgresqlDatabase,
    SqliteDatabase,
    TextField,
)
from playhouse.apsw_ext import APSWDatabase
from playhouse.db_url import parse
from playhouse.shortcuts import ReconnectMixin

from lpse_crawler import config

log = logging.getLogger(__name__)
database = DatabaseProxy()
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",  # safe with WAL: a crash loses at most the last commits
    "secure_delete": "on",  # deleted personal data is overwritten, not left in free pages
    # 16 MiB of pages per connection (SQLite's default is 2): a package's fan-out of a
    # thousand notifications touches as many index pages, read again from the OS without it.
    "cache_size": -16384,
    # Copy the WAL back every 4,000 pages (16 MiB; SQLite's default is 1,000): a page that
    # many commits rewrite (the outbox's indexes, the newest tender pages) is copied once.
    "wal_autocheckpoint": 4000,
}
MIN_SQLITE = (3, 51, 3)
STORAGE_ERRORS = (DatabaseError, apsw.Error)  # what a failed read or write raises (APSW's are not wrapped)


WIB = ZoneInfo("Asia/Jakarta")  # the zone users count their days and months in


def in_wib(moment: datetime | None) -> str:
    """A stored moment as Jakarta time, e.g. 2026-02-06T16:05:00+07:00 ('' for none)."""
    return moment.astimezone(WIB).isoformat(timespec="seconds") if moment else ""


def utcnow() -> datetime:
    return datetime.now(UTC)


def wib_start_of(now: datetime, period: str) -> datetime:
    """When today (`period="day"`) or this month (`"month"`) began in Jakarta, in UTC like
    every stored moment, so it compares with stored values."""
    local = now.astimezone(WIB).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "month":
        local = local.replace(day=1)
    return local.astimezone(UTC)


@cache  # a few offsets are ever seen
def _offset_suffix(offset: timedelta) -> str:
    """`Z+07:00` for seven hours ahead of UTC."""
    minutes = int(offset.total_seconds() // 60)
    sign, minutes = ("-" if minutes < 0 else "+"), abs(minutes)
    return f"Z{sign}{minutes // 60:02d}:{minutes % 60:02d}"


class AwareDateTimeField(TextField):
    """A timezone-aware moment stored as text that sorts in time order on every database:
    the UTC moment at fixed width, then the offset it was given in (kept for display), e.g.
    `2026-02-06T09:05:00.000000Z+07:00` for 16:05 WIB. Older rows hold plain ISO 8601."""

    def db_value(self, value):
        if value is None:
            return None
        offset = value.utcoffset()
        if offset is None:
            raise ValueError(f"naive datetime for {self.name}: {value!r}")
        # Written for every stored moment: isoformat, not strftime (about half the time).
        moment = (value - offset).replace(tzinfo=None).isoformat(timespec="microseconds")
        return moment + _offset_suffix(offset)

    def python_value(self, value):
        if value is None:
            return None
        moment, z, offset = value.partition("Z")
        if not z:
            return datetime.fromisoformat(value)
        minutes = int(offset[1:3]) * 60 + int(offset[4:6])
        zone = timezone(timedelta(minutes=-minutes if offset[0] == "-" else minutes))
        return datetime.fromisoformat(moment).replace(tzinfo=UTC).astimezone(zone)


class DayField(TextField):
    """A calendar date stored as ISO 8601 text (APSW binds no date objects)."""

    def db_value(self, value):
        return None if value is None else value.isoformat()

    def python_value(self, value):
        return None if value is None else date.fromisoformat(value)


_to_json = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps makes an encoder per call


class JSONField(TextField):
    """A list or dict stored as JSON text."""

    def db_value(self, value):
        return None if value is None else _to_json(value)

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


class ReconnectingPostgres(ReconnectMixin, PostgresqlDatabase):
    """PostgreSQL that reconnects when the server went away (a restart), outside transactions."""

    reconnect_errors = (
        (OperationalError, "terminating connection"),
        (OperationalError, "server closed the connection"),
        (OperationalError, "connection is closed"),
        (OperationalError, "connection failed"),
        (InterfaceError, "connection is closed"),
        (InterfaceError, "connection already closed"),
    )


def is_postgres() -> bool:
    return isinstance(database.obj, PostgresqlDatabase)


class DatabaseMissing(ValueError):
    """DATABASE_URL names a database that does not exist (and nothing may create it)."""


def connect_database(url: str | None = None, *, create: bool = True, read_only: bool = False):
    """Point the shared `database` at `url` (default DATABASE_URL) and connect.

    `create=False` refuses a database that does not exist yet (a typo in DATABASE_URL must
    not start an empty one); `read_only` neither takes nor waits for the write lock.
    """
    db = open_url(url or database_url(), create=create, read_only=read_only)
    database.initialize(db)
    db.connect(reuse_if_open=True)
    return db


def open_url(url: str, *, create: bool = True, read_only: bool = False):
    """A database object for `url` (not connected, not shared)."""
    if url.startswith(("sqlite:///", "apsw:///")):
        return _sqlite(url.split(":///", 1)[1], create=create, read_only=read_only)
    if url.startswith(("postgresql://", "postgres://")):
        params = parse(url)
        if not params.get("database"):
            raise ValueError(
                f"database URL {redact_url(url)!r} names no database: postgresql://user@host/name"
            )
        lock_ms = config.get("PG_LOCK_TIMEOUT_MS")
        options = f"-c lock_timeout={lock_ms} -c timezone=UTC"
        if read_only:
            options += " -c default_transaction_read_only=on"
        return ReconnectingPostgres(params.pop("database"), options=options, **params)
    raise ValueError(
        f"database URL {redact_url(url)!r}: use sqlite:///path/to/file.db or postgresql://user@host/name"
    )


def redact_url(url: str) -> str:
    """`url` without a password (error messages end up in logs and mails)."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if at and ":" in credentials:
        rest = f"{credentials.split(':', 1)[0]}:***@{host}"
    return f"{scheme}{sep}{rest}"[:200]


def make_private() -> list[str]:
    """SQLite: make the database and its -wal/-shm files readable by their owner only (an
    earlier release left them 0644); return the files changed."""
    if is_postgres():
        return []
    changed = []
    for path in (database.obj.database + suffix for suffix in ("", "-wal", "-shm")):
        if os.path.exists(path) and os.stat(path).st_mode & 0o077:
            os.chmod(path, 0o600)
            changed.append(path)
    return changed


def create_private_file(path: str | os.PathLike) -> None:
    """Create an empty file (not there yet) that only its owner may read: mode 0600."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _sqlite(path: str, *, create: bool, read_only: bool) -> APSWDatabase:
    if path in ("", ":memory:"):
        raise ValueError("sqlite:/// needs a file, e.g. sqlite:///data/pantau.db")
    if not os.path.exists(path):
        if not create:
            raise DatabaseMissing(
                f"no database at {path}: check DATABASE_URL, or create it with `python cli.py db init`"
            )
        if os.path.dirname(path):
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        create_private_file(path)  # its -wal and -shm files take the same mode
    elif os.path.isdir(path):
        raise ValueError(f"DATABASE_URL names the folder {path}, not a database file")
    # ms a writer waits for the lock before "database is locked"
    busy_ms = config.get("SQLITE_BUSY_TIMEOUT_MS")
    pragmas = {**SQLITE_PRAGMAS, "busy_timeout": busy_ms}
    flags = apsw.SQLITE_OPEN_READWRITE
    if read_only:
        flags = apsw.SQLITE_OPEN_READONLY
        pragmas = {"busy_timeout": busy_ms, "foreign_keys": 1}
    # A cap on the file, so a runaway database stops with "database or disk is full"
    # (the crawl then exits 4) before the disk fills for everything else on the machine.
    max_mb = config.get("SQLITE_MAX_SIZE_MB")
    if max_mb > 0 and not read_only:
        pragmas["max_page_count"] = max(1, int(max_mb * 1024 * 1024 // 4096))
    db = APSWDatabase(path, pragmas=pragmas, timeout=busy_ms / 1000, flags=flags)
    check_sqlite_version(db.server_version)
    return db


def upsert(model, conflict_target: list, values: dict) -> None:
    """Insert a row, or update the columns of `values` on the row it conflicts with."""
    fields, keys = model._meta.fields, {field.name for field in conflict_target}
    update = {fields[name]: value for name, value in values.items() if name not in keys}
    model.insert(**values).on_conflict(conflict_target=conflict_target, update=update).execute()


def check_sqlite_version(version: tuple[int, ...]) -> None:
    """Refuse an SQLite older than MIN_SQLITE; log the one in use."""
    text = ".".join(map(str, version))
    if tuple(version) < MIN_SQLITE:
        raise RuntimeError(f"SQLite {text} is too old: at least {'.'.join(map(str, MIN_SQLITE))} is needed")
    log.info("SQLite %s (APSW)", text)


PERSONAL_TABLES = ("subscriber", "payment", "bot_state")  # where ciphertext and chat state live


# What wipe_wal's False means, for the operator.
WAL_BUSY = (
    "a reader kept the SQLite WAL busy: the -wal file still holds old pages of the erased "
    "rows until the next wipe (`python cli.py purge` runs one)"
)


def wipe_wal() -> bool:
    """Make erased or re-encrypted data leave the database files.

    SQLite: copy the WAL into the database and truncate it (secure_delete has zeroed freed
    space); False when a reader kept the checkpoint from completing (try again later).
    PostgreSQL: VACUUM FULL rewrites the tables that hold personal data into new files
    without the old row versions. What PostgreSQL cannot promise: WAL segments and the
    freed file blocks keep old bytes until the server recycles them and the filesystem
    reuses them (encrypt the disk; see README).
    """
    if is_postgres():
        for table in PERSONAL_TABLES:
            database.execute_sql(f'VACUUM FULL "{table}"')
        return True
    busy, _, _ = database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return busy == 0


def write_transaction(join: bool = False):
    """A transaction that takes the write lock at BEGIN (IMMEDIATE on SQLite). `join`: when
    the caller's transaction is open, write in it instead of in a savepoint (whose pages
    SQLite copies to a statement journal first: a fan-out of a thousand rows pays for it)."""
    if join and database.in_transaction():
        return nullcontext()
    if isinstance(database.obj, SqliteDatabase):
        return database.atomic(lock_type="IMMEDIATE")
    return database.atomic()
