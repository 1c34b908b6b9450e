"""Leases on instances, so several crawl processes (on one machine or several) split the
fleet: no instance is crawled by two at once, and a dead crawler's instances are taken
over once its leases expire."""

import os
import socket
import uuid
from datetime import timedelta

from lpse_crawler.store.database import utcnow, write_transaction
from lpse_crawler.store.models import InstanceLease


def new_owner() -> str:
    """A name for this crawl process: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire(codes: list[str], owner: str, seconds: float) -> set[str]:
    """Lease every instance of `codes` that no live lease holds; returns those now held."""
    if not codes:
        return set()
    now = utcnow()
    with write_transaction():
        InstanceLease.insert_many(
            [{"instance": code, "owner": "", "expires_at": now} for code in codes]
        ).on_conflict_ignore().execute()
        free = (InstanceLease.expires_at <= now) | (InstanceLease.owner == owner)
        query = (
            InstanceLease.update(owner=owner, expires_at=now + timedelta(seconds=seconds))
            .where(InstanceLease.instance.in_(codes), free)
            .returning(InstanceLease.instance)
        )
        return {row.instance_id for row in query.execute()}


def renew(owner: str, seconds: float) -> int:
    """Extend every lease `owner` holds; returns how many."""
    with write_transaction():
        return (
            InstanceLease.update(expires_at=utcnow() + timedelta(seconds=seconds))
            .where(InstanceLease.owner == owner)
            .execute()
        )


def release(owner: str) -> None:
    with write_transaction():
        InstanceLease.update(owner="", expires_at=utcnow()).where(InstanceLease.owner == owner).execute()
