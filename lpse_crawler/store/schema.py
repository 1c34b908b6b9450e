"""Schema creation and migration: `open_database` brings any earlier database up to date."""

import logging
import operator
from datetime import timedelta
from functools import reduce

from peewee import IntegerField, Model, PostgresqlDatabase, TextField, Value
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as apply_operations

from lpse_crawler.outbox import Notification
from lpse_crawler.people.audit import Audit
from lpse_crawler.people.checkouts import Checkout
from lpse_crawler.people.follows import FOLLOW_MODELS, Follow, FollowChange, FollowReminder
from lpse_crawler.people.keycheck import KeyCheck
from lpse_crawler.people.models import PEOPLE_MODELS, Filter, Payment, Subscriber
from lpse_crawler.people.plans import PAID, TRIAL_DAYS, trial_expiry
from lpse_crawler.people.reminders import PlanReminder
from lpse_crawler.store.autoincrement import never_reuse_ids
from lpse_crawler.store.database import (
    AwareDateTimeField,
    DatabaseMissing,
    connect_database,
    database,
    utcnow,
    write_transaction,
)
from lpse_crawler.store.models import (
    CRAWLER_MODELS,
    HostBudget,
    InstanceCycle,
    InstanceLease,
    ListingProgress,
    ListingSchedule,
    Tender,
)
from lpse_crawler.usage import UsageDaily

log = logging.getLogger(__name__)
ACCOUNT_MODELS = [*PEOPLE_MODELS, Notification, UsageDaily, Audit]  # created by migration 2


class SchemaVersion(Model):
    """Each migration applied, in order."""

    version = IntegerField(primary_key=True)
    name = TextField()
    applied_at = AwareDateTimeField(default=utcnow)

    class Meta:
        database = database
        table_name = "schema_version"


def _resumable_listings(db) -> None:
    """Listing progress, and the durable "to match" mark on tenders (idempotent: a database
    created by a later release's step 1 has both already)."""
    db.create_tables([ListingProgress], safe=True)
    _add_column_once(db, Tender.match_pending)


def _add_column_once(db, field) -> None:
    """Add `field`'s column to its table, unless the table (made from a later model by an
    earlier step, e.g. migration 2) has it already."""
    table = field.model._meta.table_name
    if field.column_name not in {c.name for c in db.get_columns(table)}:
        apply_operations(SchemaMigrator.from_database(db).add_column(table, field.column_name, field))


MONEY_COLUMNS = [
    ("tender", "hps"),
    ("tender", "hps_listing"),
    ("tender", "pagu"),
    ("tender", "nilai_kontrak"),
    ("payment", "amount"),
]


def _portable_types(db) -> None:
    """Money as 64-bit integers on PostgreSQL (SQLite's are already); every stored moment
    rewritten as text that sorts in time order (see AwareDateTimeField)."""
    if isinstance(db, PostgresqlDatabase):
        for table, column in MONEY_COLUMNS:
            db.execute_sql(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE BIGINT')
    for model in [*CRAWLER_MODELS, *ACCOUNT_MODELS, SchemaVersion]:
        if not db.table_exists(model._meta.table_name):
            continue  # created by a later migration, in the new format already
        present = {c.name for c in db.get_columns(model._meta.table_name)}  # later steps add more
        moments = [
            f
            for f in model._meta.sorted_fields
            if isinstance(f, AwareDateTimeField) and f.column_name in present
        ]
        old_format = reduce(operator.or_, [~f.contains(Value("Z", converter=False)) for f in moments])
        key = model._meta.get_primary_keys()
        for row in model.select(*key, *moments).where(old_format).iterator():
            same = reduce(operator.and_, [k == getattr(row, k.name) for k in key])
            model.update({f: getattr(row, f.name) for f in moments}).where(same).execute()


# Indexes another one covers (the same leading columns), dropped by migration 14.
REDUNDANT_INDEXES = ("tender_listing_tender_id", "pending_detail_instance", "notification_subscriber_id")


def _lean_indexes(db) -> None:
    """Fewer index pages written per stored package and per notification: indexes another
    key covers go, and the "to match" index keeps only the marked packages."""
    for name in (*REDUNDANT_INDEXES, "tender_match_pending"):
        db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')
    # Only this index: the model's others may name columns later migrations add.
    db.execute_sql('CREATE INDEX "tender_match_pending" ON "tender" ("match_pending") WHERE "match_pending"')


def _telling_followers(db) -> None:
    for field in (Tender.jadwal, Tender.told, Tender.follow_pending):
        _add_column_once(db, field)
    # Only the to-tell index of the model's: others may name columns later migrations add.
    db.execute_sql(
        'CREATE INDEX IF NOT EXISTS "tender_follow_pending" ON "tender" ("follow_pending") '
        'WHERE "follow_pending"'
    )
    db.create_tables([FollowChange], safe=True)  # the changes told


def _watching_followed(db) -> None:
    for field in (Tender.hasil, Tender.watch_due_at):
        _add_column_once(db, field)
    # Packages followed already are read again soon, as a newly followed one would be.
    Tender.update(watch_due_at=utcnow()).where(
        Tender.told.is_null(False), Tender.watch_due_at.is_null(), ~Tender.batal, ~Tender.gagal
    ).execute()
    db.execute_sql(
        'CREATE INDEX IF NOT EXISTS "tender_watch_due_at" ON "tender" ("watch_due_at") '
        'WHERE "watch_due_at" IS NOT NULL'
    )


def _delivery_settings(db) -> None:
    for field in (
        Subscriber.timezone,
        Subscriber.quiet_start,
        Subscriber.quiet_end,
        Filter.digest_hour,
        Notification.held,
    ):
        _add_column_once(db, field)


def _trial_goes_on(db) -> None:
    """subscriber.trial_until, and for whoever bought a plan during a trial still running
    (the period starts after it: plans.first_paid_day), that trial's end."""
    _add_column_once(db, Subscriber.trial_until)
    now = utcnow()
    recent = Subscriber.select().where(
        Subscriber.plan.in_(PAID), Subscriber.created_at > now - timedelta(days=TRIAL_DAYS)
    )
    for subscriber in recent:
        trial_end = trial_expiry(subscriber.created_at)
        bought = Payment.select().where(Payment.subscriber == subscriber.id, Payment.paid_at < trial_end)
        if trial_end > now and bought.exists():
            Subscriber.update(trial_until=trial_end).where(Subscriber.id == subscriber.id).execute()


# (version, what it does, step). Never edit a released step: add the next one.
MIGRATIONS = [
    (
        1,
        "crawler: instances, tenders, listings, stages, crawl state",
        lambda db: db.create_tables(CRAWLER_MODELS),
    ),
    (2, "subscribers, filters, outbox, payments, usage, audit", lambda db: db.create_tables(ACCOUNT_MODELS)),
    (3, "resumable listings: listing progress, tenders to match", _resumable_listings),
    (4, "64-bit money on PostgreSQL, moments as text in time order", _portable_types),
    (
        5,
        "instance leases for several crawl processes",
        lambda db: db.create_tables([InstanceLease], safe=True),
    ),
    (
        6,
        "a request budget per host shared by crawl processes",
        lambda db: db.create_tables([HostBudget], safe=True),
    ),
    (7, "a check value per encryption key id", lambda db: db.create_tables([KeyCheck], safe=True)),
    (
        8,
        "a channel per notification: telegram or email (skipped where migration 2 made it)",
        lambda db: _add_column_once(db, Notification.channel),
    ),
    (9, "a health history per instance", lambda db: db.create_tables([InstanceCycle], safe=True)),
    (
        10,
        "ids never reused (AUTOINCREMENT on SQLite), and a record of plan-end reminders sent",
        lambda db: (never_reuse_ids(db), db.create_tables([PlanReminder], safe=True)),
    ),
    (11, "checkouts: payment links the bot polls the gateway for", lambda db: db.create_tables([Checkout])),
    (
        12,
        "buttons on a notice, e.g. renew on a plan-end reminder (skipped where migration 2 made them)",
        lambda db: _add_column_once(db, Notification.buttons),
    ),
    (
        13,
        "a crawl schedule per listing (skipped where migration 1 made it)",
        lambda db: db.create_tables([ListingSchedule], safe=True),
    ),
    (14, "lean indexes: none another covers, only marked packages in the to-match index", _lean_indexes),
    (
        15,
        "followed packages and their deadline reminders",
        lambda db: db.create_tables([Follow, FollowReminder], safe=True),
    ),
    (16, "each package's jadwal, and what its followers were told of it", _telling_followers),
    (17, "followed packages watched: their result tabs, when they are next read", _watching_followed),
    (18, "digests per filter, quiet hours and a zone per subscriber, held alerts", _delivery_settings),
    (
        19,
        "when each subscriber was last sent to on Telegram: senders share the per-chat spacing",
        lambda db: _add_column_once(db, Subscriber.telegram_sent_at),
    ),
    (
        20,
        "a trial goes on after a plan is bought during it",
        _trial_goes_on,
    ),
]
LATEST = MIGRATIONS[-1][0]
ALL_MODELS = [  # every table but schema_version
    *CRAWLER_MODELS,
    *ACCOUNT_MODELS,
    KeyCheck,
    PlanReminder,
    Checkout,
    *FOLLOW_MODELS,
]


def current_version(db) -> int:
    if not db.table_exists("schema_version"):
        return 1 if db.table_exists("tender") else 0  # the first release had no version table
    return SchemaVersion.select().order_by(SchemaVersion.version.desc()).scalar() or 0


def migrate(db, target: int = LATEST) -> list[int]:
    """Apply the missing migrations up to `target`, each in its own transaction; a database
    already up to date is only read (no write lock). A database from a newer release is
    refused (SchemaOutOfDate): this one would write rows its schema does not expect."""
    if db.table_exists("schema_version") and (version := current_version(db)) >= target:
        if version > LATEST:
            raise SchemaOutOfDate(_newer(version))
        return []
    applied = []
    with write_transaction():
        version = current_version(db)
        db.create_tables([SchemaVersion])
        if version and not SchemaVersion.select().exists():
            SchemaVersion.create(version=1, name=MIGRATIONS[0][1])
    for number, name, step in MIGRATIONS:
        if version < number <= target:
            with write_transaction():
                step(db)
                SchemaVersion.create(version=number, name=name)
            log.info("Database migrated to version %d: %s", number, name)
            applied.append(number)
    return applied


def open_database(url: str | None = None, *, create: bool = True):
    """Connect the shared database to `url` (default DATABASE_URL) and migrate it;
    `create=False` refuses a database that does not exist yet."""
    db = connect_database(url, create=create)
    migrate(db)
    return db


class SchemaOutOfDate(DatabaseMissing):
    """The database's schema is not the one this release reads and writes."""


def open_current(url: str | None = None, *, read_only: bool = False):
    """Connect to an existing database at this release's schema, without migrating it:
    what operators' commands do, so they never take the write lock to start."""
    db = connect_database(url, create=False, read_only=read_only)
    version = current_version(db)
    if version == 0:
        raise DatabaseMissing("the database is empty: create its tables with `python cli.py db init`")
    if version < LATEST:
        raise SchemaOutOfDate(
            f"the database is at schema version {version}, this release needs {LATEST}: "
            "run `python cli.py db migrate`"
        )
    if version > LATEST:
        raise SchemaOutOfDate(_newer(version))
    return db


def _newer(version: int) -> str:
    return f"the database is at schema version {version}, newer than this release's {LATEST}: upgrade"
