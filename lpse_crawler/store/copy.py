"""Copy every row of one database into another that is empty but for the instance registry:
how an SQLite installation moves to PostgreSQL (`python cli.py db copy sqlite:///data/pantau.db`)."""

from collections.abc import Callable
from itertools import islice

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
        return {m._meta.table_name: _copy_table(source, m, progress) for m in models}
    finally:
        source.close()


def _copy_table(source, model, progress) -> int:
    fields = model._meta.sorted_fields
    table = model._meta.table_name
    names = ", ".join(f'"{f.column_name}"' for f in fields)
    cursor = source.execute_sql(f'SELECT {names} FROM "{table}"')
    target = database.obj
    insert = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join([target.param] * len(fields))})'
    copied = 0
    while rows := list(islice(cursor, BATCH)):
        values = [[f.db_value(f.python_value(v)) for f, v in zip(fields, row, strict=True)] for row in rows]
        with database.atomic():
            target.cursor().executemany(insert, values)
        copied += len(rows)
        progress(table, copied)
    if is_postgres() and "id" in model._meta.fields and copied:
        sequence = f"pg_get_serial_sequence('\"{table}\"', 'id')"
        database.execute_sql(f'SELECT setval({sequence}, (SELECT MAX(id) FROM "{table}"))')
    return copied
