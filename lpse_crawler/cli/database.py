"""`db` and `keys`: schema, statistics, consistent backups; key generation, rotation, checks."""

from collections import Counter
from pathlib import Path

import click

from lpse_crawler.cli.common import audited, db_command, emit, keyring, read_command
from lpse_crawler.people.crypto import CryptoError, generate_key
from lpse_crawler.people.keycheck import ENCRYPTED, forget_unused_keys
from lpse_crawler.people.models import Payment, Subscriber
from lpse_crawler.people.personal_data import rotate_keys
from lpse_crawler.spse.registry import load_registry, sync_registry
from lpse_crawler.store.copy import copy_from
from lpse_crawler.store.database import (
    create_private_file,
    database,
    database_url,
    is_postgres,
    make_private,
    redact_url,
)
from lpse_crawler.store.schema import ALL_MODELS, LATEST, SchemaVersion, migrate


@click.group(help="The database: create, migrate, inspect, back up.")
def db():
    pass


@db.command("init")
@db_command(create=True)
def init():
    """Create the database and its tables (DATABASE_URL), or bring an existing one up to
    date, and sync the instance registry into it.  Example: python cli.py db init"""
    added = sync_registry(load_registry())
    where = redact_url(database_url())
    click.echo(f"database ready at schema version {LATEST} ({added} instances added): {where}")
    _make_private()


def _make_private() -> None:
    for path in make_private():
        click.echo(f"{path} made private (mode 0600)")


@db.command("migrate")
@db_command(upgrade=True)
def migrate_command():
    """Bring an older database up to date and sync the instance registry into it.

    Example: python cli.py db migrate
    """
    applied = migrate(database.obj)
    added = sync_registry(load_registry())
    click.echo(
        (f"applied migrations {applied}" if applied else f"already at schema version {LATEST}")
        + f"; {added} instances added from the registry"
    )
    _make_private()


@db.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@read_command
def stats(as_json):
    """Rows per table, schema and database versions.  Example: python cli.py db stats --json"""
    data = {m._meta.table_name: m.select().count() for m in ALL_MODELS}
    data["schema_version"] = SchemaVersion.select().order_by(SchemaVersion.version.desc()).scalar()
    if is_postgres():
        data["postgresql"] = database.execute_sql("show server_version").fetchone()[0]
    else:
        data["sqlite"] = database.execute_sql("select sqlite_version()").fetchone()[0]
    emit([{"what": k, "value": v} for k, v in data.items()] if not as_json else data, as_json)


@db.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@read_command
def backup(path: Path):
    """A consistent online copy of the SQLite database (VACUUM INTO), safe while the crawler
    and bot write. On PostgreSQL it says to use pg_dump.

    Example: python cli.py db backup /var/backups/pantau-$(date +%F).db
    """
    if is_postgres():
        raise click.ClickException(
            "on PostgreSQL, back up with pg_dump: pg_dump --format=custom --file=pantau.dump <DATABASE_URL>"
        )
    if path.exists():
        raise click.ClickException(f"{path} exists: choose a new file name")
    if not path.parent.is_dir():
        raise click.ClickException(f"no folder {path.parent}: create it first (see deploy/install.sh)")
    create_private_file(path)  # 0600: a backup holds what the database holds
    try:
        database.execute_sql("VACUUM INTO ?", (str(path),))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    click.echo(f"backup written to {path} ({path.stat().st_size:,} bytes)")


@db.command("copy")
@click.argument("source_url")
@db_command
def copy(source_url):
    """Copy every row of another database (e.g. the SQLite file) into DATABASE_URL, which
    must be migrated and empty: how an installation moves to PostgreSQL.

    Example: DATABASE_URL=postgresql://pantau@localhost/pantau python cli.py db copy sqlite:///data/pantau.db
    """
    if source_url == database_url():
        raise click.ClickException("the source is DATABASE_URL itself: name another database")
    copied = copy_from(source_url, lambda table, rows: click.echo(f"  {table}: {rows:,} rows", err=True))
    audited("db.copy", None, f"{sum(copied.values())} rows")
    click.echo(f"copied {sum(copied.values()):,} rows in {len(copied)} tables")


@click.group(help="Encryption keys for personal data (PANTAU_KEYS or PANTAU_KEY_FILE).")
def keys():
    pass


@keys.command("generate")
@click.argument("key_id", default="k1")
def generate(key_id):
    """Print a new key entry `id:base64key` (put it first in PANTAU_KEYS to make it primary).

    Example: python cli.py keys generate k2027
    """
    try:
        click.echo(generate_key(key_id))
    except CryptoError as exc:
        raise click.ClickException(str(exc)) from exc


@keys.command("rotate")
@db_command
def rotate():
    """Re-encrypt every personal value under the primary key, with progress.

    Keep the old key in the keyring (after the new one) until this finishes.
    Example: PANTAU_KEYS="k2027:...,k2026:..." python cli.py keys rotate
    """
    ring = keyring(encrypting=True)
    total = Subscriber.select().count() + Payment.select().where(Payment.reference_enc.is_null(False)).count()
    with click.progressbar(length=total, label=f"re-encrypting under {ring.primary}") as bar:
        done = rotate_keys(ring, progress=lambda n, _total: bar.update(n - bar.pos))
    retired = forget_unused_keys()
    audited("keys.rotate", None, f"{done} rows to {ring.primary}")
    old = f"keys {', '.join(retired)} may leave the keyring" if retired else "no other key is in use"
    click.echo(f"{done} rows now under key {ring.primary}; {old}")


@keys.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@read_command
def check(as_json):
    """Decrypt every stored value; count values per key id and failures.

    Example: python cli.py keys check
    """
    ring = keyring()
    by_key, failures = Counter(), []
    for model, columns in ENCRYPTED:
        table = model._meta.table_name
        for row in model.select():
            for column in columns:
                token = getattr(row, column)
                if token is None:
                    continue
                try:
                    ring.decrypt(token, table, column, row.id)
                    by_key[ring.key_id_of(token)] += 1
                except CryptoError as exc:
                    failures.append(str(exc))
    emit({"values_by_key": dict(by_key), "failures": failures, "primary": ring.primary}, as_json)
    if failures:
        raise click.ClickException(f"{len(failures)} values do not decrypt")
