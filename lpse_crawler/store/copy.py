"""Copy every row of one database into another that is empty but for the instance registry:
how an SQLite installation moves to PostgreSQL (`python cli.py db copy sqlite:///data/pantau.db`)."""

import json
from collections.abc import Callable
from itertools import islice

from peewee import SqliteDatabase

from lpse_crawler.store.database import database, is_postgres, open_url
from lpse_crawler.store.models import Instance
from lpse_crawler.store.schema import ALL_MODELS, LATEST, SchemaVersion, current_version

BATCH = 500


def copy_from(source_url: str, progress: Callable[[str, int], None] = lambda table, rows: None) -> dict:
    """Copy `source_url`'s rows into the shared database (migrated, empty), table by table
    in dependency order, each value through its field so types fit the target. Returns
    rows copied per table."""
    source = open_url(source_url, create=False, read_only=True)
    source.connect()
    try:
        with source.bind_ctx([SchemaVersion]):
            version = current_version(source)
        if version != LATEST:
            raise ValueError(f"the source is not at schema version {LATEST}: run `db migrate` on it first")
        models = ALL_MODELS
        holding = [m._meta.table_name for m in models if m is not Instance and m.select().exists()]
        if holding:
            tables = ", ".join(holding)
            raise ValueError(f"the target already holds rows ({tables}): copy into an empty database")
        Instance.delete().execute()  # the registry synced at init: the source's rows (health, choices) win
        remembered: dict[str, int] = {}
        copied = {m._meta.table_name: _copy_table(source, m, progress, remembered) for m in models}
        with database.atomic():
            for model in (m for m in models if "id" in m._meta.fields):
                _keep_high_water(source, model._meta.table_name, remembered.get(model._meta.table_name, 0))
        return copied
    finally:
        source.close()


def _copy_table(source, model, progress, remembered: dict[str, int]) -> int:
    fields = model._meta.sorted_fields
    table = model._meta.table_name
    names = ", ".join(f'"{f.column_name}"' for f in fields)
    cursor = source.execute_sql(f'SELECT {names} FROM "{table}"')
    target = database.obj
    insert = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join([target.param] * len(fields))})'
    copied = 0
    while rows := list(islice(cursor, BATCH)):
        values = [[f.db_value(f.python_value(v)) for f, v in zip(fields, row, strict=True)] for row in rows]
        if table == "notification":  # a deleted filter's id stays used while an alert names it
            at = [f.name for f in fields].index("filter_ids")
            ids = [i for row in rows for i in json.loads(row[at] or "[]")]
            remembered["filter"] = max([remembered.get("filter", 0), *ids])
        with database.atomic():
            target.cursor().executemany(insert, values)
        copied += len(rows)
        progress(table, copied)
    return copied


def _keep_high_water(source, table: str, remembered: int) -> None:
    """Move the target's id counter of `table` past every id the source ever gave: its rows',
    its own counter's (rows deleted since count, in tables left empty too) and `remembered`,
    so no id comes back after the move (README: ids are never reused)."""
    highest = max(
        database.execute_sql(f'SELECT coalesce(max(id), 0) FROM "{table}"').fetchone()[0],
        _counter(source, table),
        remembered,
    )
    if is_postgres():
        if highest:
            database.execute_sql(f"SELECT setval({_pg_sequence(table)}, %s)", (highest,))
    elif table in _autoincrement_tables(database.obj) and highest > _counter(database.obj, table):
        database.execute_sql("DELETE FROM sqlite_sequence WHERE name = ?", (table,))
        database.execute_sql("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, highest))


def _counter(db, table: str) -> int:
    """The highest id `db`'s counter for `table` has given (0 if none)."""
    if isinstance(db, SqliteDatabase):
        if not db.table_exists("sqlite_sequence"):
            return 0
        row = db.execute_sql("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
        return row[0] if row else 0
    sequence = db.execute_sql(f"SELECT {_pg_sequence(table)}").fetchone()[0]
    if sequence is None:
        return 0
    last, called = db.execute_sql(f"SELECT last_value, is_called FROM {sequence}").fetchone()
    return last if called else last - 1


def _pg_sequence(table: str) -> str:
    return f"pg_get_serial_sequence('\"{table}\"', 'id')"


def _autoincrement_tables(db) -> set[str]:
    rows = db.execute_sql("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for name, sql in rows if sql and "AUTOINCREMENT" in sql.upper()}
