"""Tender storage: upsert by (kind, kode), listings per instance, stage history."""

import hashlib
import json
from dataclasses import asdict
from enum import StrEnum

from lpse_crawler.db import Tender, TenderListing, TenderStage, utcnow, write_transaction
from lpse_crawler.items import TenderItem

# Item fields that are not columns of `tender`, or are kept apart from its content hash.
# The url names the slug it was first seen under: the same package under another slug is
# not a change, so it is kept from the first sighting.
_NOT_COLUMNS = {"instance", "stored_as"}
_NOT_CONTENT = {"instance", "listing_hash", "stored_as", "url"}


class Outcome(StrEnum):
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


def content_hash(item: TenderItem) -> str:
    """A digest of everything a subscriber could see change."""
    values = {k: v for k, v in asdict(item).items() if k not in _NOT_CONTENT}
    text = json.dumps(values, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def upsert_tender(item: TenderItem) -> Outcome:
    """Insert or update one package in one transaction; record stage changes."""
    now = utcnow()
    columns = {k: v for k, v in asdict(item).items() if k not in _NOT_COLUMNS}
    columns["content_hash"] = content_hash(item)
    with write_transaction():
        tender = Tender.get_or_none(Tender.kind == item.kind, Tender.kode == item.kode)
        if tender is None:
            tender = Tender.create(
                **columns, instance_first_seen=item.instance, first_seen_at=now, last_seen_at=now
            )
            TenderStage.create(tender=tender, tahap=item.tahap, seen_at=now)
            outcome = Outcome.NEW
        elif tender.content_hash != columns["content_hash"]:
            if tender.tahap != item.tahap:
                TenderStage.create(tender=tender, tahap=item.tahap, seen_at=now)
            columns.pop("url")
            Tender.update(**columns, last_seen_at=now, updated_at=now).where(Tender.id == tender.id).execute()
            outcome = Outcome.UPDATED
        else:
            Tender.update(last_seen_at=now, listing_hash=item.listing_hash).where(
                Tender.id == tender.id
            ).execute()
            outcome = Outcome.UNCHANGED
        TenderListing.insert(
            tender=tender.id, instance=item.instance, first_seen_at=now
        ).on_conflict_ignore().execute()
    return outcome


def listed_hashes(instance: str, kind: str, kodes: list[str]) -> dict[str, str]:
    """{kode: listing hash} of the given codes already stored as listed on `instance`."""
    if not kodes:
        return {}
    query = (
        Tender.select(Tender.kode, Tender.listing_hash)
        .join(TenderListing)
        .where(Tender.kind == kind, Tender.kode.in_(kodes), TenderListing.instance == instance)
    )
    return {kode: digest for kode, digest in query.tuples()}


def known_elsewhere(kind: str, kodes: list[str]) -> dict[str, str]:
    """{kode: listing hash} of codes stored from any instance."""
    if not kodes:
        return {}
    query = Tender.select(Tender.kode, Tender.listing_hash).where(Tender.kind == kind, Tender.kode.in_(kodes))
    return {kode: digest for kode, digest in query.tuples()}


def mark_listed(instance: str, kind: str, kodes: list[str]) -> None:
    """Note that stored packages were seen (again) in `instance`'s listing."""
    if not kodes:
        return
    now = utcnow()
    with write_transaction():
        ids = [t.id for t in Tender.select(Tender.id).where(Tender.kind == kind, Tender.kode.in_(kodes))]
        Tender.update(last_seen_at=now).where(Tender.id.in_(ids)).execute()
        rows = [{"tender": i, "instance": instance, "first_seen_at": now} for i in ids]
        TenderListing.insert_many(rows).on_conflict_ignore().execute()
