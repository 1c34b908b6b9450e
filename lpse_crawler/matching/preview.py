"""How a filter would have fared: the stored packages of the last days it fits, counted, with
the newest few as examples. Nothing is queued: an old package never becomes an alert."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from lpse_crawler.matching.filters import FilterSpec
from lpse_crawler.matching.fit import facts_of, matches
from lpse_crawler.store.models import Tender, TenderListing

PREVIEW_DAYS = 30
EXAMPLES = 3
MAX_SCANNED = 50_000  # the newest packages looked at: a preview's time stays bounded
READ = ("nama", "instansi", "kategori", "kind", "kbli", "kualifikasi_usaha", "hps", "pagu", "hps_listing")


@dataclass(frozen=True)
class Preview:
    count: int  # packages of the period the filter fits
    examples: list[Tender]  # the newest of them
    capped: bool  # more packages were stored in the period than MAX_SCANNED


def preview(
    spec: FilterSpec, province_of: dict[str, str], now: datetime, days: int = PREVIEW_DAYS
) -> Preview:
    since = now - timedelta(days=days)
    scanned = Tender.first_seen_at >= since
    # The newest MAX_SCANNED packages of the period: those above the first one left out.
    floor = Tender.select(Tender.id).where(scanned).order_by(Tender.id.desc()).offset(MAX_SCANNED)
    if (below := floor.limit(1).scalar()) is not None:
        scanned &= Tender.id > below
    listed: dict[int, set[str]] = {}  # read for the scanned packages only
    query = TenderListing.select(TenderListing.tender, TenderListing.instance).join(Tender).where(scanned)
    for tender_id, instance in query.tuples():
        listed.setdefault(tender_id, set()).add(instance)
    count, examples = 0, []
    packages = Tender.select(Tender.id, Tender.kode, Tender.url, *(Tender._meta.fields[f] for f in READ))
    for tender in packages.where(scanned).order_by(Tender.id.desc()).iterator():
        if matches(spec, facts_of(tender, listed.get(tender.id, set()), province_of)) is not None:
            count += 1
            if len(examples) < EXAMPLES:
                examples.append(tender)
    return Preview(count, examples, below is not None)
