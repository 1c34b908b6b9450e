"""A subscriber's matches looked back on: the newest a page at a time (/terbaru), and those of
a period as a CSV file (/ekspor). Matches are the outbox's tender notifications, whatever
became of their sending."""

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from lpse_crawler.outbox import Notification
from lpse_crawler.people.models import Filter
from lpse_crawler.store.database import WIB
from lpse_crawler.store.models import Instance, Tender

PAGE = 5
MAX_DAYS = 366
MAX_EXPORT_ROWS = 20_000  # the newest of a period: the file stays far under Telegram's 50 MB
COLUMNS = [
    "Tanggal cocok (WIB)",
    "Kode",
    "Nama paket",
    "Instansi",
    "LPSE",
    "Kategori",
    "HPS (Rp)",
    "Tahap",
    "Batas penawaran (WIB)",
    "Filter",
    "Tautan",
]
_FORMULA_STARTS = ("=", "+", "-", "@")  # a spreadsheet would run such a cell


@dataclass(frozen=True)
class Match:
    tender: Tender
    matched_at: datetime
    filter_ids: list[int]


def recent(subscriber_id: int, page: int) -> tuple[list[Match], bool]:
    """One page of the newest matches, and whether older ones follow."""
    rows = _matches(subscriber_id).offset(page * PAGE).limit(PAGE + 1)
    found = [Match(n.tender, n.created_at, n.filter_ids or []) for n in rows]
    return found[:PAGE], len(found) > PAGE


def export_csv(subscriber_id: int, since: datetime) -> tuple[bytes, int, bool]:
    """The matches since `since`, newest first, as CSV (UTF-8 with a byte order mark, so
    spreadsheets read it): (file, rows, whether it was cut at MAX_EXPORT_ROWS)."""
    rows = list(_matches(subscriber_id).where(Notification.created_at >= since).limit(MAX_EXPORT_ROWS + 1))
    cut, rows = len(rows) > MAX_EXPORT_ROWS, rows[:MAX_EXPORT_ROWS]
    names = _filter_names({i for n in rows for i in n.filter_ids or []})
    instances = {i.code: i.name for i in Instance.select(Instance.code, Instance.name)}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for n in rows:
        t = n.tender
        writer.writerow(
            _safe(value)
            for value in (
                f"{n.created_at.astimezone(WIB):%Y-%m-%d %H:%M}",
                t.kode,
                t.nama,
                t.instansi,
                instances.get(t.instance_first_seen_id, t.instance_first_seen_id),
                t.kategori,
                "" if t.hps is None else str(t.hps),
                t.tahap,
                "" if t.deadline is None else f"{t.deadline.astimezone(WIB):%Y-%m-%d %H:%M}",
                ", ".join(names.get(i, f"#{i}") for i in n.filter_ids or []),
                t.url,
            )
        )
    return out.getvalue().encode("utf-8-sig"), len(rows), cut


def period_start(days: int, now: datetime) -> datetime:
    """The start of the last `days` days (today counted), at midnight in Jakarta."""
    return (now.astimezone(WIB) - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)


def _matches(subscriber_id: int):
    return (
        Notification.select(Notification, Tender)
        .join(Tender)
        .where(Notification.subscriber == subscriber_id)
        .order_by(Notification.id.desc())
    )


def _filter_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {f.id: f.name for f in Filter.select(Filter.id, Filter.name).where(Filter.id.in_(list(ids)))}


def _safe(value: str | None) -> str:
    """A cell on one line, as text a spreadsheet shows and never runs as a formula."""
    text = " ".join((value or "").split()) if value else ""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text
