"""Removing an instance with its crawl state and the packages listed only there."""

from peewee import fn

from lpse_crawler.outbox import Notification
from lpse_crawler.store.database import in_wib, utcnow
from lpse_crawler.store.models import (
    Instance,
    InstanceCycle,
    InstanceLease,
    ListingProgress,
    ListingSchedule,
    PendingDetail,
    SpseSession,
    Tender,
    TenderListing,
)


def refuse_while_crawled(code: str) -> None:
    """Raise ValueError while a crawl holds the instance's lease."""
    lease = InstanceLease.get_or_none(
        InstanceLease.instance == code, InstanceLease.owner != "", InstanceLease.expires_at > utcnow()
    )
    if lease:
        until = in_wib(lease.expires_at)
        raise ValueError(
            f"{code} is being crawled (lease until {until}): "
            f"run `python cli.py instances disable {code}`, wait for that crawl to end, then remove it"
        )


def packages_only_here(code: str):
    """The packages first seen at `code` and listed under no other instance."""
    elsewhere = TenderListing.select(TenderListing.tender).where(TenderListing.instance != code)
    return Tender.select(Tender.id).where(Tender.instance_first_seen == code, Tender.id.not_in(elsewhere))


def remove(code: str) -> dict[str, int]:
    """Delete an instance, its crawl state and its packages listed nowhere else; credit
    the rest to another instance listing them. Call inside a write transaction."""
    only_here = packages_only_here(code)
    notifications = Notification.select().where(Notification.tender.in_(only_here)).count()
    shared = Tender.select(Tender.id).where(Tender.instance_first_seen == code, Tender.id.not_in(only_here))
    credited = [t.id for t in shared]
    for tender_id in credited:
        other = TenderListing.select(fn.MIN(TenderListing.instance)).where(
            TenderListing.tender == tender_id, TenderListing.instance != code
        )
        Tender.update(instance_first_seen=other.scalar()).where(Tender.id == tender_id).execute()
    TenderListing.delete().where(TenderListing.instance == code).execute()
    packages = Tender.delete().where(Tender.id.in_(only_here)).execute()  # cascades to notifications
    for model in (PendingDetail, SpseSession, ListingProgress, ListingSchedule, InstanceLease, InstanceCycle):
        model.delete().where(model.instance == code).execute()
    Instance.delete().where(Instance.code == code).execute()
    return {
        "packages": packages,
        "notifications": notifications,
        "packages credited elsewhere": len(credited),
    }
