"""Cached SQL for the writes done per crawled package: each statement's text is built once
per shape and parameter style (a process may use SQLite and PostgreSQL) and run with
executemany, instead of peewee building the same query again for every row."""

from collections.abc import Sequence
from functools import cache

from peewee import __exception_wrapper__ as as_peewee_errors

from lpse_crawler.store.database import database, is_postgres


@cache
def insert_sql(model, names: tuple[str, ...], p: str, tail: str = "", constants: tuple = ()) -> str:
    """INSERT INTO the model's table one row of `names` (field names, bound as `p`) and of
    `constants` ((field name, SQL literal) pairs), followed by `tail` (say, a conflict clause)."""
    fields = model._meta.fields
    columns = [fields[name].column_name for name in (*names, *(name for name, _ in constants))]
    values = [p] * len(names) + [literal for _, literal in constants]
    quoted = ", ".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{model._meta.table_name}" ({quoted}) VALUES ({", ".join(values)}){tail}'


def execute_many(sql: str, rows: Sequence[Sequence]) -> int:
    """Run `sql` once for each row of parameters, in the caller's transaction; returns how
    many rows it wrote (one an ON CONFLICT DO NOTHING skipped is not counted). Driver errors
    are raised as peewee's, as `database.execute_sql` raises them."""
    if not rows:
        return 0
    with as_peewee_errors:
        if is_postgres():
            with database.cursor() as cursor:
                cursor.executemany(sql, rows)
                return cursor.rowcount
        connection = database.connection()
        before = connection.total_changes()
        database.cursor().executemany(sql, rows)
        return connection.total_changes() - before
