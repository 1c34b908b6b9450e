"""Tender storage: upsert by (kind, kode), listings per instance, stage history.

`upsert_tender` runs once per crawled package, so it writes through cached SQL (with
peewee's own field conversions for the columns that have one, and the moment of the write
converted once) instead of building a 35-column query per call.
"""

import hashlib
import json
from dataclasses import fields
from enum import StrEnum
from functools import cache

from peewee import BigIntegerField, BooleanField, CharField, IntegerField, TextField

from lpse_crawler.items import TenderItem
from lpse_crawler.spse.stages import AWARDED_STAGES
from lpse_crawler.store.database import database, utcnow, write_transaction
from lpse_crawler.store.models import Tender, TenderListing, TenderStage
from lpse_crawler.store.statements import insert_sql

# Item fields that are not columns of `tender`, or are kept apart from its content hash.
# The url names the slug it was first seen under: the same package under another slug is
# not a change, so it is kept from the first sighting.
_SET_HERE = {"stored_as", "newly_listed", "to_match", "first_seen_at", "to_tell"}
_NOT_COLUMNS = {"instance", *_SET_HERE}
_NOT_CONTENT = {"instance", "listing_hash", "url", *_SET_HERE}
_ITEM_FIELDS = [f.name for f in fields(TenderItem)]


class Outcome(StrEnum):
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


_CONTENT = sorted(name for name in _ITEM_FIELDS if name not in _NOT_CONTENT)
# _CONTENT is sorted, so the dict below is built in key order: no sort_keys needed for
# the same text (the stored hashes compare with it).
_canonical = json.JSONEncoder(default=str, ensure_ascii=False).encode


def content_hash(item: TenderItem) -> str:
    """A digest of everything a subscriber could see change."""
    text = _canonical({name: getattr(item, name) for name in _CONTENT})
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def upsert_tender(item: TenderItem) -> Outcome:
    """Insert or update one package in one transaction: its row, its listing here, its stage
    history, its place in the detail queue (done), and its "to match" mark when it is new
    or newly listed here, and its "to tell" mark when someone follows it and it changed.
    Sets `item.to_match` to the tender ids the match stage must see, `item.to_tell` to
    those whose followers must be told, and `item.first_seen_at` when it is new."""
    now = utcnow()
    stamp = Tender.updated_at.db_value(now)  # every moment written here: converted once
    columns = {name: getattr(item, name) for name in _ITEM_FIELDS if name not in _NOT_COLUMNS}
    columns["content_hash"] = content_hash(item)
    with write_transaction():
        tender_id, outcome, changes, moments, followed = _store_row(item, columns, stamp)
        listing = {"tender": tender_id, "instance": item.instance}
        stamps = {"first_seen_at": stamp, "created_at": stamp, "updated_at": stamp}
        cursor = _execute(TenderListing, "insert_ignore", listing, stamps)
        item.newly_listed = outcome is not Outcome.NEW and database.rows_affected(cursor) > 0
        if item.newly_listed:
            changes["match_pending"] = True
        if outcome is not Outcome.NEW:
            _execute(Tender, "update", changes, moments, where_id=tender_id)
        # A package fetched from the queue leaves it here; with nothing queued this writes no page.
        database.execute_sql(_unqueue_sql(database.param), (item.instance, item.kind, item.kode))
    item.to_match = [tender_id] if outcome is Outcome.NEW or item.newly_listed else []
    item.to_tell = [tender_id] if followed else []
    if outcome is Outcome.NEW:
        item.first_seen_at = now
    return outcome


def _store_row(item: TenderItem, columns: dict, stamp: str) -> tuple[int, Outcome, dict, dict, bool]:
    """Insert the package's row and first stage when it is new; else add its stage if that
    changed and say what to update: (id, outcome, values to update, moments to update,
    whether followers are to be told)."""
    stamps = {"created_at": stamp, "updated_at": stamp}
    new = columns | {"instance_first_seen": item.instance, "match_pending": True, "follow_pending": False}
    seen = stamps | {"first_seen_at": stamp, "last_seen_at": stamp}
    inserted = _execute(Tender, "insert_new", new, seen).fetchone()  # no race between crawlers
    if inserted is not None:
        _execute(
            TenderStage, "insert", {"tender": inserted[0], "tahap": item.tahap}, stamps | {"seen_at": stamp}
        )
        return inserted[0], Outcome.NEW, {}, {}, False
    tender_id, stored_hash, stored_stage, followed = database.execute_sql(
        _select_sql(database.param), (item.kind, item.kode)
    ).fetchone()
    if stored_hash == columns["content_hash"]:
        return (
            tender_id,
            Outcome.UNCHANGED,
            {"listing_hash": item.listing_hash},
            {"last_seen_at": stamp},
            False,
        )
    if stored_stage != item.tahap:
        _execute(
            TenderStage, "insert", {"tender": tender_id, "tahap": item.tahap}, stamps | {"seen_at": stamp}
        )
    columns.pop("url")
    moments = {"last_seen_at": stamp, "updated_at": stamp}
    if followed:
        columns["follow_pending"] = True
        if item.tahap in AWARDED_STAGES:  # its result tabs may hold rows now: read them soon
            moments["watch_due_at"] = stamp
    return tender_id, Outcome.UPDATED, columns, moments, bool(followed)


@cache
def _unqueue_sql(p: str) -> str:
    return f"DELETE FROM pending_detail WHERE instance = {p} AND kind = {p} AND kode = {p}"


@cache
def _select_sql(p: str) -> str:
    return f"SELECT id, content_hash, tahap, told IS NOT NULL FROM tender WHERE kind = {p} AND kode = {p}"


_TAILS = {
    "insert": "",
    "insert_ignore": " ON CONFLICT DO NOTHING",
    "insert_new": " ON CONFLICT (kind, kode) DO NOTHING RETURNING id",
}


@cache
def _statement(model, verb: str, names: tuple[str, ...], p: str) -> str:
    """INSERT (plain, ignoring conflicts, or new only, returning the id) or UPDATE-by-id SQL, built
    once per shape and parameter style (a process may use SQLite and PostgreSQL)."""
    if verb != "update":
        return insert_sql(model, names, p, _TAILS[verb])
    cols = [model._meta.fields[name].column_name for name in names]
    return f"UPDATE {model._meta.table_name} SET {', '.join(f'{c} = {p}' for c in cols)} WHERE id = {p}"


# Columns whose values the drivers bind as the item holds them (str, int, bool, None).
_BOUND_AS_THEY_ARE = {CharField, TextField, IntegerField, BigIntegerField, BooleanField}


@cache
def _converters(model, names: tuple[str, ...]) -> tuple:
    """Each column's peewee conversion to its database form; None where there is none."""
    fields = model._meta.fields
    return tuple(
        None if type(fields[name]) in _BOUND_AS_THEY_ARE else fields[name].db_value for name in names
    )


def _execute(model, verb: str, values: dict, converted: dict, where_id: int | None = None):
    """Run a cached statement with `values` converted by their peewee fields, then the
    values of `converted` (already in their database form)."""
    names = tuple(values)
    convert = _converters(model, names)
    params = [v if c is None else c(v) for c, v in zip(convert, values.values(), strict=True)]
    params += converted.values()
    if where_id is not None:
        params.append(where_id)
    return database.execute_sql(_statement(model, verb, (*names, *converted), database.param), params)


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


def mark_listed(instance: str, kind: str, kodes: list[str]) -> list[int]:
    """Note that stored packages were seen (again) in `instance`'s listing. Packages listed
    there for the first time may now fit instance-bound filters: they get the "to match"
    mark, and their ids are returned."""
    if not kodes:
        return []
    now = utcnow()
    with write_transaction():
        stored = dict(
            Tender.select(Tender.id, Tender.kode).where(Tender.kind == kind, Tender.kode.in_(kodes)).tuples()
        )
        already = {
            t
            for (t,) in TenderListing.select(TenderListing.tender)
            .where(TenderListing.tender.in_(list(stored)), TenderListing.instance == instance)
            .tuples()
        }
        new = [i for i in stored if i not in already]
        Tender.update(last_seen_at=now).where(Tender.id.in_(list(stored))).execute()
        if new:
            rows = [{"tender": i, "instance": instance, "first_seen_at": now} for i in new]
            TenderListing.insert_many(rows).on_conflict_ignore().execute()
            Tender.update(match_pending=True).where(Tender.id.in_(new)).execute()
    return new
