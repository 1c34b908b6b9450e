"""Schema creation and migration: `open_database` brings any earlier database up to date."""

import logging
import operator
from functools import reduce

from peewee import IntegerField, Model, PostgresqlDatabase, TextField, Value
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as apply_operations

from lpse_crawler.outbox import Notification
from lpse_crawler.people.audit import Audit
from lpse_crawler.people.models import PEOPLE_MODELS
from lpse_crawler.store.database import (
    AwareDateTimeField,
    connect_database,
    database,
    utcnow,
    write_transaction,
)
from lpse_crawler.store.models import CRAWLER_MODELS, HostBudget, InstanceLease, ListingProgress, Tender
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
    if "match_pending" not in {c.name for c in db.get_columns("tender")}:
        migrator = SchemaMigrator.from_database(db)
        apply_operations(migrator.add_column("tender", "match_pending", Tender.match_pending))


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
        moments = [f for f in model._meta.sorted_fields if isinstance(f, AwareDateTimeField)]
        old_format = reduce(operator.or_, [~f.contains(Value("Z", converter=False)) for f in moments])
        key = model._meta.get_primary_keys()
        for row in model.select(*key, *moments).where(old_format).iterator():
            same = reduce(operator.and_, [k == getattr(row, k.name) for k in key])
            model.update({f: getattr(row, f.name) for f in moments}).where(same).execute()


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
]
LATEST = MIGRATIONS[-1][0]


def current_version(db) -> int:
    if not db.table_exists("schema_version"):
        return 1 if db.table_exists("tender") else 0  # the first release had no version table
    return SchemaVersion.select().order_by(SchemaVersion.version.desc()).scalar() or 0


def migrate(db, target: int = LATEST) -> list[int]:
    """Apply the missing migrations up to `target`, each in its own transaction."""
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


def open_database(url: str | None = None):
    """Connect the shared database to `url` (default DATABASE_URL) and migrate it."""
    db = connect_database(url)
    migrate(db)
    return db
