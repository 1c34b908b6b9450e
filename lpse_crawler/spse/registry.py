"""The instance registry shipped with the project (instances.csv) and its DB table."""

import csv
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
