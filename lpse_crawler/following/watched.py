"""The watched packages in the database: which are due to be read again, and storing what a
read found (the stage, badges, jadwal, bid deadline and result tabs), marking the package
for its followers to be told when any of it changed (people/follows.py tells them)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from peewee import fn

from lpse_crawler.following.changes import contracts_of, winners_of
from lpse_crawler.following.watching import WATCH_MAX, next_read, requests_of, result_tabs
from lpse_crawler.spse.errors import MalformedPage
from lpse_crawler.spse.normalise import bid_deadline
from lpse_crawler.spse.stages import CANCELLED_STAGES, FAILED_STAGES, canonical_stage
from lpse_crawler.store.database import utcnow, write_transaction
from lpse_crawler.store.models import Instance, Tender, TenderStage


@dataclass(frozen=True)
class Due:
    """A watched package due to be read."""

    tender_id: int
    kind: str
    kode: str
    instance: str  # where it was first listed: its pages are read there


@dataclass(frozen=True)
class Read:
    """What one watch read, typed; `winners` and `contract` are None when not read;
    `unread`: why the bid deadline could not be read (the rest of the read still counts)."""

    tahap: str | None
    ulang: bool
    batal: bool
    gagal: bool
    jadwal: list[list[str]]
    deadline: datetime | None
    winners: list[list] | None  # [[nama, harga]]
    contract: list[list] | None  # [[nama, nilai kontrak]]
    unread: str | None = None


def read_of(tahap, badges, schedule, winners, contracts, zone: str) -> Read:
    """A watch's pages (pages.ScheduleRow, results.Winner and Contract rows) typed as the
    store keeps them; badges are read as the listing's are (spse/normalise.py). A bid
    deadline the date parser refuses is no deadline, and says why in `unread`: the jadwal
    rows keep the site's text, so the rest of the read is stored and told all the same."""
    labels = [label.lower() for label in badges]
    try:
        deadline, unread = bid_deadline(schedule, zone), None
    except MalformedPage as exc:
        deadline, unread = None, f"bid deadline: {exc}"
    return Read(
        tahap=canonical_stage(tahap) or None,
        ulang=any("ulang" in label for label in labels),
        batal=any("batal" in label for label in labels),
        gagal=any("gagal" in label for label in labels),
        jadwal=[[row.tahap, row.mulai, row.sampai] for row in schedule],
        deadline=deadline,
        winners=None if winners is None else [list(party) for party in winners_of(winners)],
        contract=None if contracts is None else [list(party) for party in contracts_of(contracts)],
        unread=unread,
    )


def due(
    now: datetime, instances: list[str] | None, skip: set[int], limit: int, per_instance: int
) -> list[Due]:
    """Watched packages due at `now`, the longest overdue first, at most `per_instance` of
    one instance; on `instances` only (None: any), and not those in `skip` (read already in
    this run)."""
    where = [Tender.watch_due_at.is_null(False), Tender.watch_due_at <= now]
    if instances is not None:
        where.append(Tender.instance_first_seen.in_(instances))
    if skip:
        where.append(Tender.id.not_in(list(skip)))
    rank = fn.ROW_NUMBER().over(
        partition_by=[Tender.instance_first_seen], order_by=[Tender.watch_due_at, Tender.id]
    )
    ranked = (
        Tender.select(Tender.id, Tender.kind, Tender.kode, Tender.instance_first_seen, Tender.watch_due_at)
        .select_extend(rank.alias("rank"))
        .where(*where)
        .alias("ranked")
    )
    rows = (
        Tender.select(ranked.c.id, ranked.c.kind, ranked.c.kode, ranked.c.instance_first_seen)
        .from_(ranked)
        .where(ranked.c.rank <= per_instance)
        .order_by(ranked.c.watch_due_at, ranked.c.id)
        .limit(limit)
        .tuples()
    )
    return [Due(tender_id, kind, kode, instance) for tender_id, kind, kode, instance in rows]


RESERVE_AHEAD = timedelta(hours=1)


def requests_due(now: datetime) -> float:
    """Requests the watches due within RESERVE_AHEAD of `now` (and those overdue) will cost,
    by each package's stored stage: what the listings' schedule leaves to them out of the
    host's budget for the hour (store/listing_schedule.py). Only packages of active
    instances count: the crawl reads no others (a disabled instance's stay due until it
    is enabled again)."""
    stages = (
        Tender.select(Tender.tahap, fn.COUNT(Tender.id))
        .join(Instance)
        .where(
            Tender.watch_due_at.is_null(False),
            Tender.watch_due_at <= now + RESERVE_AHEAD,
            Instance.active == True,  # noqa: E712
        )
        .group_by(Tender.tahap)
        .tuples()
    )
    hours = RESERVE_AHEAD / timedelta(hours=1)
    return sum(count * requests_of(result_tabs(stage or "", (), now)) for stage, count in stages) / hours


def postpone(tender_id: int, now: datetime | None = None) -> None:
    """A read that failed: the package is read again WATCH_MAX later, if it is still watched,
    unless what is stored of it says watching is over (next_read: its last date long past),
    as a withdrawn package's pages fail for good and would be read forever."""
    now = now or utcnow()
    with write_transaction():
        tender = (
            Tender.select(Tender, Instance.timezone)
            .join(Instance)
            .where(Tender.id == tender_id, Tender.watch_due_at.is_null(False))
            .objects()
            .first()
        )
        if tender is None:
            return  # deleted, or no longer watched, meanwhile
        ended = tender.batal or tender.gagal
        later = next_read(tender.jadwal, tender.timezone, ended, tender.hasil, tender.first_seen_at, now)
        due_at = None if later is None else now + WATCH_MAX
        Tender.update(watch_due_at=due_at).where(Tender.id == tender_id).execute()


def store_read(tender_id: int, read: Read, zone: str, now: datetime | None = None) -> bool:
    """Store one watch's read in one transaction; returns whether its followers are to be told
    (something changed and someone follows it). A badge once seen stays (as the listing's
    do); a tab not read keeps what was stored. The next read is planned from the result."""
    now = now or utcnow()
    with write_transaction():
        tender = Tender.get_or_none(Tender.id == tender_id)
        if tender is None:
            return False  # deleted meanwhile
        hasil = dict(tender.hasil or {})
        if read.winners is not None:
            hasil["winners"] = read.winners
        if read.contract is not None:
            hasil["contract"] = read.contract
        tahap = read.tahap or tender.tahap
        values = {
            "tahap": tahap,
            "ulang": tender.ulang or read.ulang,
            "batal": tender.batal or read.batal or tahap in CANCELLED_STAGES,
            "gagal": tender.gagal or read.gagal or tahap in FAILED_STAGES,
            "jadwal": read.jadwal or tender.jadwal,
            # a deadline the site moved to text that does not parse is no longer known
            "deadline": None if read.unread else read.deadline or tender.deadline,
            "hasil": hasil or None,
        }
        changed = any(getattr(tender, name) != value for name, value in values.items())
        followed = tender.told is not None
        ended = values["batal"] or values["gagal"]
        values["watch_due_at"] = (
            next_read(values["jadwal"], zone, ended, hasil, tender.first_seen_at, now) if followed else None
        )
        if changed and followed:
            values["follow_pending"] = True
        if tahap != tender.tahap:
            TenderStage.create(tender=tender_id, tahap=tahap, seen_at=now)
        Tender.update(**values, updated_at=now).where(Tender.id == tender_id).execute()
    return changed and followed
