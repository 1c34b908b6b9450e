"""The instance registry shipped with the project (instances.csv) and its DB table."""

import csv
import difflib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from lpse_crawler.store.database import write_transaction
from lpse_crawler.store.models import Instance

REGISTRY_PATH = Path(__file__).resolve().parent.parent / "instances.csv"


def base_url_problem(url: str) -> str | None:
    """Why `url` cannot be an instance's base URL (None when it can), e.g. a missing scheme."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        return f"base URL {url!r} is not a URL: {exc}"
    if parts.scheme not in ("http", "https") or not host:
        return f"base URL {url!r} is not an http(s) URL such as https://spse.inaproc.id/kemkes"
    if parts.query or parts.fragment:
        return f"base URL {url!r} has a query or fragment; give only scheme, host and path"
    return None


@dataclass(frozen=True)
class InstanceRecord:
    """One row of instances.csv."""

    code: str
    name: str
    agencies: tuple[str, ...]
    province: str | None
    timezone: str


def load_registry(path: Path = REGISTRY_PATH) -> list[InstanceRecord]:
    with path.open(encoding="utf-8") as f:
        return [
            InstanceRecord(
                code=row["code"],
                name=row["name"],
                agencies=tuple(a for a in row["agencies"].split("|") if a),
                province=row["province"] or None,
                timezone=row["timezone"],
            )
            for row in csv.DictReader(f)
        ]


def sync_registry(records: list[InstanceRecord]) -> int:
    """Insert registry instances missing from the table; refresh names and zones of the rest.

    Operator choices (active, base_url) are never overwritten.
    Returns how many instances were added.
    """
    existing = {i.code: i for i in Instance.select()}
    added = 0
    with write_transaction():
        for record in records:
            row = existing.get(record.code)
            if row is None:
                Instance.insert(  # a crawl starting at the same moment may add it first
                    code=record.code,
                    name=record.name,
                    agencies=list(record.agencies),
                    province=record.province,
                    timezone=record.timezone,
                ).on_conflict_ignore().execute()
                added += 1
            elif (row.name, row.province, row.timezone, row.agencies) != (
                record.name,
                record.province,
                record.timezone,
                list(record.agencies),
            ):
                row.name, row.province, row.timezone = record.name, record.province, record.timezone
                row.agencies = list(record.agencies)
                row.save()
    return added


def split_codes(text: str) -> tuple[str, ...]:
    """Instance codes as given on a command line: `kemkes, jakarta` -> ('kemkes', 'jakarta')."""
    return tuple(c.strip() for c in text.split(",") if c.strip())


def unknown_codes_problem(codes: tuple[str, ...]) -> str | None:
    """Why `codes` cannot be crawled: those neither in the registry nor in the instance table
    (the database must be open), each with the nearest known code; None when all are known."""
    known = {record.code for record in load_registry()}
    if set(codes) <= known:
        return None
    known |= {code for (code,) in Instance.select(Instance.code).tuples()}
    unknown = [c for c in dict.fromkeys(codes) if c not in known]
    if not unknown:
        return None
    named = ", ".join(
        f"{c} (did you mean {near[0]}?)" if (near := difflib.get_close_matches(c, known, 1)) else c
        for c in unknown
    )
    return f"unknown instance code(s): {named}; nothing was crawled (see `python cli.py instances list`)"
