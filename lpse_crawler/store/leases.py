"""Leases on instances, so several crawl processes (on one machine or several) split the
fleet: no instance is crawled by two at once. A dead crawl's instances are taken over once
its leases expire, or at once when it ran on this machine and its process is gone (a
crawl killed by cron's timeout or the OOM killer)."""

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
        held = InstanceLease.select(InstanceLease.owner).where(
            InstanceLease.instance.in_(codes), InstanceLease.expires_at > now, InstanceLease.owner != owner
        )
        dead = [o for o in {row.owner for row in held} if o and _gone_from_this_machine(o)]
        if dead:
            InstanceLease.update(expires_at=now).where(InstanceLease.owner.in_(dead)).execute()
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


def _gone_from_this_machine(owner: str) -> bool:
    """True when `owner` (host:pid:random) ran here and its process no longer exists."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, under another user
        return False
    return False
