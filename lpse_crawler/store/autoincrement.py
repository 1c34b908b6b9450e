"""Ids that are never handed out twice, on SQLite: tables rebuilt with AUTOINCREMENT.

Without AUTOINCREMENT SQLite gives a new row the highest rowid + 1, so after a delete the
newest row's id comes back: an old button then names a new filter, and ciphertext whose
associated data binds the row id could be read in a stranger's row. PostgreSQL sequences
never go back, so nothing is done there.

The rebuild is SQLite's "other kinds of table schema changes" procedure, run inside the
caller's write transaction, where `PRAGMA foreign_keys` cannot be turned off. Dropping a
parent table with foreign keys on deletes its rows first and so fires ON DELETE CASCADE /
SET NULL in the tables that reference it. So the tables are renamed away first (SQLite then
points the old child tables at the old parents), new tables are created from each table's
own CREATE statement (with AUTOINCREMENT added) and filled parents first, and the old ones
are dropped children first: no action can reach a row that is kept. Every table that
references a rebuilt one is rebuilt with it (unchanged) for that reason. Indexes, triggers
and views are recreated from their stored SQL; `PRAGMA foreign_key_check` must come back
empty before the transaction may commit.
"""

import logging
import re

from peewee import SqliteDatabase

log = logging.getLogger(__name__)
NEVER_REUSED = ("subscriber", "filter", "notification", "payment")
OLD = "{}__before_autoincrement"


class RebuildError(RuntimeError):
    """The rebuild would lose or break something; the transaction must roll back."""


def never_reuse_ids(db, tables: tuple[str, ...] = NEVER_REUSED) -> list[str]:
    """Rebuild `tables` (those not yet so) with AUTOINCREMENT, inside the current write
    transaction; returns the tables changed. Nothing to do on PostgreSQL."""
    if not isinstance(db, SqliteDatabase):
        return []
    schema = _schema(db)
    targets = [t for t in tables if t in schema and not _has_autoincrement(schema[t])]
    if not targets:
        return []
    db.execute_sql("PRAGMA defer_foreign_keys = ON")  # ends with the transaction
    order = _parents_first(db, _with_referencing_tables(db, targets, schema))
    creates = {t: _autoincrement_sql(db, t, schema[t]) if t in targets else schema[t] for t in order}
    extras = _dependent_sql(db, order)
    counts = {t: _count(db, t) for t in order}
    floors = {t: _highest_id(db, t) for t in targets}
    for name in _views(db):
        db.execute_sql(f'DROP VIEW "{name}"')
    for table in order:
        db.execute_sql(f'ALTER TABLE "{table}" RENAME TO "{OLD.format(table)}"')
    for table in order:
        db.execute_sql(creates[table])
        columns = ", ".join(f'"{c}"' for c in _columns(db, table))
        db.execute_sql(f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM "{OLD.format(table)}"')
    for table in reversed(order):
        db.execute_sql(f'DROP TABLE "{OLD.format(table)}"')
    for sql in extras:
        db.execute_sql(sql)
    for table in targets:
        _seed_sequence(db, table, floors[table])
    _check(db, counts)
    log.info("Ids are never reused in %s (rebuilt: %s)", ", ".join(targets), ", ".join(order))
    return targets


def _schema(db) -> dict[str, str]:
    rows = db.execute_sql("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
    return dict(rows)


def _has_autoincrement(sql: str) -> bool:
    return re.search(r"\bAUTOINCREMENT\b", sql, re.IGNORECASE) is not None


def _foreign_parents(db, table: str) -> set[str]:
    return {row[2] for row in db.execute_sql(f'PRAGMA foreign_key_list("{table}")').fetchall()}


def _with_referencing_tables(db, targets: list[str], schema: dict[str, str]) -> set[str]:
    """`targets` and every table that references one of them, directly or not."""
    parents = {t: _foreign_parents(db, t) for t in schema if not t.startswith("sqlite_")}
    chosen = set(targets)
    while more := {t for t, p in parents.items() if p & chosen and t not in chosen}:
        chosen |= more
    return chosen


def _parents_first(db, tables: set[str]) -> list[str]:
    order, left = [], set(tables)
    while left:
        ready = sorted(t for t in left if not (_foreign_parents(db, t) - {t}) & left)
        if not ready:
            raise RebuildError(f"foreign keys in a cycle among {sorted(left)}: rebuild by hand")
        order += ready
        left -= set(ready)
    return order


def _autoincrement_sql(db, table: str, sql: str) -> str:
    """The table's own CREATE statement with AUTOINCREMENT on its integer primary key."""
    keys = [row for row in db.execute_sql(f'PRAGMA table_info("{table}")').fetchall() if row[5]]
    if len(keys) != 1 or keys[0][2].upper() != "INTEGER":
        raise RebuildError(f"table {table} has no INTEGER PRIMARY KEY: {sql}")
    name = re.escape(keys[0][1])
    pattern = rf"((?:\"{name}\"|`{name}`|\[{name}\]|\b{name}\b)\s+INTEGER\s+(?:NOT\s+NULL\s+)?PRIMARY\s+KEY)"
    new, found = re.subn(pattern, r"\1 AUTOINCREMENT", sql, flags=re.IGNORECASE)
    if found != 1:
        raise RebuildError(f"cannot find the primary key of table {table} in: {sql}")
    return new


def _dependent_sql(db, tables: list[str]) -> list[str]:
    """Indexes and triggers of `tables`, then every view, as stored (autoindexes come back
    with their UNIQUE constraints)."""
    marks = ", ".join("?" * len(tables))
    rows = db.execute_sql(
        f"SELECT sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND sql IS NOT NULL "
        f"AND tbl_name IN ({marks}) ORDER BY type, name",
        tables,
    ).fetchall()
    views = db.execute_sql("SELECT sql FROM sqlite_master WHERE type = 'view' ORDER BY name").fetchall()
    return [r[0] for r in rows + views]


def _views(db) -> list[str]:
    return [r[0] for r in db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'view'").fetchall()]


def _columns(db, table: str) -> list[str]:
    return [row[1] for row in db.execute_sql(f'PRAGMA table_info("{table}")').fetchall()]


def _count(db, table: str) -> int:
    return db.execute_sql(f'SELECT count(*) FROM "{table}"').fetchone()[0]


def _highest_id(db, table: str) -> int:
    """The highest id the table is known to have given: its rows' and, for filters, the ids
    notifications remember (a deleted filter's id then stays used too)."""
    highest = db.execute_sql(f'SELECT coalesce(max(rowid), 0) FROM "{table}"').fetchone()[0]
    if table == "filter" and "notification" in _schema(db):
        remembered = db.execute_sql(
            "SELECT coalesce(max(CAST(j.value AS INTEGER)), 0) "
            "FROM notification, json_each(notification.filter_ids) j"
        ).fetchone()[0]
        highest = max(highest, remembered)
    return highest


def _seed_sequence(db, table: str, floor: int) -> None:
    seq = db.execute_sql("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    if seq is None:
        db.execute_sql("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, floor))
    elif seq[0] < floor:
        db.execute_sql("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (floor, table))


def _check(db, counts: dict[str, int]) -> None:
    violations = db.execute_sql("PRAGMA foreign_key_check").fetchall()
    if violations:
        raise RebuildError(f"foreign keys broken by the rebuild: {violations[:5]}")
    for table, before in counts.items():
        if (after := _count(db, table)) != before:
            raise RebuildError(f"table {table} had {before} rows and has {after} after the rebuild")
