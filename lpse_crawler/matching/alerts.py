"""Match stored packages marked "to match" against the filter index and queue their alerts.

The store stage marks a package in the transaction that stores it (or a new listing of it);
`match_tender` queues its notifications and clears the mark in one transaction. A crash in
between leaves the mark, and the next crawl finishes those packages first.
"""

from datetime import datetime

from lpse_crawler.matching.fit import tender_facts
from lpse_crawler.matching.index import FilterIndex
from lpse_crawler.matching.saved_filters import InstanceGeography
from lpse_crawler.outbox import enqueue
from lpse_crawler.store.database import utcnow, write_transaction
from lpse_crawler.store.models import Tender, TenderListing


def unmatched() -> list[int]:
    """Ids of packages stored but not matched yet (a crash came between the two)."""
    return [t for (t,) in Tender.select(Tender.id).where(Tender.match_pending == True).tuples()]  # noqa: E712


def match_tender(
    index: FilterIndex, geography: InstanceGeography, tender_id: int, now: datetime | None = None
) -> int:
    """Queue one notification per fitting subscriber and clear the mark; returns how many
    were queued. A filter never receives a package stored before the filter was saved, and
    nobody one whose bid deadline has passed by `now` (it is not new to anyone)."""
    tender = Tender.get_by_id(tender_id)
    if is_closed(tender, now or utcnow()):
        with write_transaction():
            Tender.update(match_pending=False).where(Tender.id == tender.id).execute()
        return 0
    listings = TenderListing.select(TenderListing.instance).where(TenderListing.tender == tender)
    instances = {code for (code,) in listings.tuples()}
    provinces = {geography.province_of[c] for c in instances if c in geography.province_of}
    facts = tender_facts(
        nama=tender.nama,
        instances=instances,
        provinces=provinces,
        instansi=tender.instansi,
        kategori=tender.kategori,
        kind=tender.kind,
        kbli=tender.kbli,
        size=tender.kualifikasi_usaha,
        hps=tender.hps,
        pagu=tender.pagu,
        hps_listing=tender.hps_listing,
    )
    fitting = [m for m in index.match(facts) if existed_before(m.filter, tender.first_seen_at)]
    with write_transaction():
        queued = enqueue(tender.id, fitting) if fitting else 0
        Tender.update(match_pending=False).where(Tender.id == tender.id).execute()
    return queued


def is_closed(tender: Tender, now: datetime) -> bool:
    """Whether the package's bid deadline has passed (a package without one is open)."""
    return tender.deadline is not None and tender.deadline <= now


def existed_before(compiled, moment) -> bool:
    return compiled.created_at is None or compiled.created_at <= moment
