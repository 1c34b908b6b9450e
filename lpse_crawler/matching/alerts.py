"""Match stored packages marked "to match" against the filter index and queue their alerts.

The store stage marks a package in the transaction that stores it (or a new listing of it);
`match_tender` queues its notifications and clears the mark in one transaction. A crash in
between leaves the mark, and the next crawl finishes those packages first. The marks of
packages nothing fits (most of them) may be cleared in batches (`Unmarks`): matching a
package again queues nothing twice, so a crash before a batch is written costs only that.
"""

from datetime import datetime
from functools import cache
from types import SimpleNamespace

from lpse_crawler.items import TenderItem
from lpse_crawler.matching.fit import facts_of
from lpse_crawler.matching.index import FilterIndex, Match
from lpse_crawler.matching.saved_filters import InstanceGeography
from lpse_crawler.outbox import enqueue
from lpse_crawler.store.database import database, utcnow, write_transaction
from lpse_crawler.store.models import Tender, TenderListing
from lpse_crawler.store.statements import execute_many


def unmatched() -> list[int]:
    """Ids of packages stored but not matched yet (a crash came between the two)."""
    return [t for (t,) in Tender.select(Tender.id).where(Tender.match_pending).tuples()]


# What matching reads of a stored package (by field name).
_READ = ("nama", "instansi", "kategori", "kind", "kbli", "kualifikasi_usaha", "hps", "pagu", "hps_listing")
_READ += ("deadline", "first_seen_at")
_CONVERTED = ("kbli", "deadline", "first_seen_at")  # stored as text; the others as they are read


class Unmarks:
    """Packages nothing fits, unmarked `size` at a time in one transaction (instead of one
    commit each); `flush` writes what is left."""

    def __init__(self, size: int = 200):
        self.size, self.marks = size, []

    def add(self, tender_id: int, as_of: datetime) -> None:
        """`as_of`: when what was matched of the package was read (see _clear_marks)."""
        self.marks.append((tender_id, as_of))
        if len(self.marks) >= self.size:
            self.flush()

    def flush(self) -> None:
        if self.marks:
            with write_transaction():
                _clear_marks(self.marks)
            self.marks = []


def match_tender(
    index: FilterIndex,
    geography: InstanceGeography,
    tender_id: int,
    now: datetime | None = None,
    unmarks: Unmarks | None = None,
    new: TenderItem | None = None,
) -> int:
    """Queue one notification per fitting subscriber and clear the mark; returns how many
    were queued. A filter never receives a package stored before the filter was saved, and
    nobody one whose bid deadline has passed by `now` (it is not new to anyone). A package
    nothing fits is unmarked at once, or later with `unmarks`. `new` is the item the store
    stage has just stored as this package, new: matched as it is, listed on its instance
    only, instead of read back."""
    if new is None:
        tender, instances, as_of = _read_tender(tender_id)
    else:
        tender, instances, as_of = new, {new.instance}, new.first_seen_at
    fitting = [] if is_closed(tender, now or utcnow()) else _fitting(index, geography, tender, instances)
    if not fitting:
        if unmarks is None:
            with write_transaction():
                _clear_marks([(tender_id, as_of)])
        else:
            unmarks.add(tender_id, as_of)
        return 0
    with write_transaction():
        queued = enqueue(tender_id, fitting)
        _clear_marks([(tender_id, as_of)])
    return queued


def _fitting(index: FilterIndex, geography: InstanceGeography, tender, instances: set[str]) -> list[Match]:
    """The matches of filters saved before the package was first stored."""
    facts = facts_of(tender, instances, geography.province_of)
    seen = tender.first_seen_at
    return [m for m in index.match(facts) if m.filter.created_at is None or m.filter.created_at <= seen]


def _read_tender(tender_id: int) -> tuple[SimpleNamespace, set[str], datetime]:
    """The columns matching reads (converted by their peewee fields), the instances listing
    the package, and when the newest of those listings was made (what was read is as of then)."""
    row = database.execute_sql(_read_sql(database.param), (tender_id,)).fetchone()
    if row is None:
        raise Tender.DoesNotExist(f"no tender {tender_id}")
    tender = SimpleNamespace(**dict(zip(_READ, row, strict=True)))
    for name in _CONVERTED:
        setattr(tender, name, Tender._meta.fields[name].python_value(getattr(tender, name)))
    listings = list(database.execute_sql(_listings_sql(database.param), (tender_id,)))
    moment = TenderListing.first_seen_at.python_value
    as_of = max((moment(seen) for _, seen in listings), default=tender.first_seen_at)
    return tender, {code for code, _ in listings}, as_of


def _clear_marks(marks: list[tuple[int, datetime]]) -> None:
    """Unmark each package (id, as of when what was matched of it was read), in the caller's
    transaction, but not one listed somewhere new after that moment: that listing marked it
    again (another crawl process, say) and what was matched did not include it; the next
    crawl matches it again. Each package is compared with its own moment."""
    now = Tender.updated_at.db_value(utcnow())
    moment = TenderListing.first_seen_at.db_value
    execute_many(
        _unmark_sql(database.param),
        [(now, tender_id, tender_id, moment(as_of)) for tender_id, as_of in marks],
    )


@cache
def _unmark_sql(p: str) -> str:
    return (
        f'UPDATE "tender" SET "match_pending" = FALSE, "updated_at" = {p} '
        f'WHERE "id" = {p} AND NOT EXISTS (SELECT 1 FROM "tender_listing" '
        f'WHERE "tender_id" = {p} AND "first_seen_at" > {p})'
    )


@cache
def _read_sql(p: str) -> str:
    columns = ", ".join(f'"{Tender._meta.fields[name].column_name}"' for name in _READ)
    return f'SELECT {columns} FROM "tender" WHERE "id" = {p}'


@cache
def _listings_sql(p: str) -> str:
    return f'SELECT "instance", "first_seen_at" FROM "tender_listing" WHERE "tender_id" = {p}'


def is_closed(tender: Tender | SimpleNamespace, now: datetime) -> bool:
    """Whether the package's bid deadline has passed (a package without one is open)."""
    return tender.deadline is not None and tender.deadline <= now
