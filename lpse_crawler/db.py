"""Peewee models, the shared connection, and schema creation.

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
    BooleanField,
    CharField,
    CompositeKey,
    DatabaseError,
    DatabaseProxy,
    ForeignKeyField,
    IntegerField,
    Model,
    SqliteDatabase,
    TextField,
)
from playhouse.apsw_ext import APSWDatabase
from playhouse.db_url import connect

log = logging.getLogger(__name__)
database = DatabaseProxy()
DEFAULT_DATABASE_URL = "sqlite:///data/pantau.db"
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


class Instance(BaseModel):
    """One LPSE (a path under LPSE_BASE_URL) and its crawl health."""

    code = CharField(primary_key=True)  # the slug, e.g. 'kemkes'
    name = CharField()
    agencies = JSONField(default=list)  # instansi names served by this LPSE
    base_url = CharField(null=True)  # override; default LPSE_BASE_URL/{code}
    platform = CharField(default="spse4")
    province = CharField(null=True)
    timezone = CharField(default="Asia/Jakarta")
    active = BooleanField(default=True)
    spse_version = CharField(null=True)  # footer version, e.g. 4.5u20250321
    last_crawl_at = AwareDateTimeField(null=True)
    last_ok_at = AwareDateTimeField(null=True)
    last_error = TextField(null=True)
    last_error_at = AwareDateTimeField(null=True)
    consecutive_failures = IntegerField(default=0)
    last_new = IntegerField(default=0)
    last_updated = IntegerField(default=0)
    last_requests = IntegerField(default=0)


class Tender(BaseModel):
    """One package; unique (kind, kode) whatever slug it is listed under."""

    kind = CharField()  # 'tender' | 'nontender'
    kode = CharField()
    instance_first_seen = ForeignKeyField(Instance, column_name="instance_first_seen")
    nama = TextField()
    instansi = TextField()
    satker = TextField(null=True)
    kategori = CharField()
    tahun_anggaran = JSONField(default=list)
    metode = CharField()
    tahap = CharField()
    ulang = BooleanField(default=False)
    batal = BooleanField(default=False)
    gagal = BooleanField(default=False)
    labels = JSONField(default=list)
    hps = IntegerField(null=True)  # exact, rupiah
    hps_listing = IntegerField(null=True)  # rounded figure from the listing
    pagu = IntegerField(null=True)
    nilai_kontrak = IntegerField(null=True)
    sumber_dana = CharField(null=True)
    kualifikasi_usaha = CharField(null=True)  # 'Kecil' | 'Non Kecil' | NULL
    jenis_kontrak = CharField(null=True)
    kbli = JSONField(default=list)
    kbki = JSONField(default=list)
    lokasi = JSONField(default=list)
    tanggal_pembuatan = AwareDateTimeField(null=True)
    deadline = AwareDateTimeField(null=True)
    url = TextField()
    listing_hash = CharField()
    content_hash = CharField()
    first_seen_at = AwareDateTimeField(default=utcnow)
    last_seen_at = AwareDateTimeField(default=utcnow)
    # Set in the transaction that stores the package or a new listing of it; cleared in the
    # one that queues its notifications. A crash between the two leaves the mark, and the
    # next crawl matches the package first (see alerts.py).
    match_pending = BooleanField(default=False, index=True)

    class Meta:
        indexes = ((("kind", "kode"), True),)


class TenderListing(BaseModel):
    """A package seen in one instance's listing (one package can be on several)."""

    tender = ForeignKeyField(Tender, backref="listings", on_delete="CASCADE")
    instance = ForeignKeyField(Instance, column_name="instance")
    first_seen_at = AwareDateTimeField(default=utcnow)

    class Meta:
        primary_key = CompositeKey("tender", "instance")


class TenderStage(BaseModel):
    """Each stage a package was seen in, in order: its stage history."""

    tender = ForeignKeyField(Tender, backref="stages", on_delete="CASCADE")
    tahap = CharField()
    seen_at = AwareDateTimeField(default=utcnow)


class PendingDetail(BaseModel):
    """A listing row whose detail pages are still to fetch: queued when its listing page is
    read, deleted in the transaction that stores the package, retried until then."""

    instance = ForeignKeyField(Instance, column_name="instance")
    kind = CharField()
    kode = CharField()
    row = JSONField()  # the raw listing cells
    attempts = IntegerField(default=0)  # failed fetches so far
    last_error = TextField(default="")

    class Meta:
        indexes = ((("instance", "kind", "kode"), True),)


class SpseSession(BaseModel):
    """Token and cookies of one (instance, kind) listing session, reused until refused."""

    instance = ForeignKeyField(Instance, column_name="instance")
    kind = CharField()
    token = CharField()
    cookies = JSONField(default=dict)

    class Meta:
        primary_key = CompositeKey("instance", "kind")


class ListingProgress(BaseModel):
    """How far one listing (instance, kind, fiscal year) is known stored; see coverage.py."""

    instance = ForeignKeyField(Instance, column_name="instance", on_delete="CASCADE")
    kind = CharField()
    year = IntegerField()
    ceiling = CharField(null=True)  # read to its end once: every row up to this code is stored
    runs = JSONField(default=list)  # unfinished reads: [top, low, top_at, low_at], codes as text
    version = IntegerField(default=0)  # bumped by every write: compare-and-set

    class Meta:
        primary_key = CompositeKey("instance", "kind", "year")


CRAWLER_MODELS = [Instance, Tender, TenderListing, TenderStage, PendingDetail, SpseSession, ListingProgress]


def database_url() -> str:
    return os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)


def connect_database(url: str | None = None):
    """Point the shared `database` at `url` (default DATABASE_URL) and connect."""
    url = url or database_url()
    if url.startswith(("sqlite:///", "apsw:///")):
        path = url.split(":///", 1)[1]
        if path not in ("", ":memory:") and os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        # ms a writer waits for the lock before "database is locked"
        busy_ms = int(os.environ.get("SQLITE_BUSY_TIMEOUT_MS", "10000"))
        pragmas = {**SQLITE_PRAGMAS, "busy_timeout": busy_ms}
        # A cap on the file, so a runaway database stops with "database or disk is full"
        # (the crawl then exits 4) before the disk fills for everything else on the machine.
        max_mb = float(os.environ.get("SQLITE_MAX_SIZE_MB", "0"))
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
