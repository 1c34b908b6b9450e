"""Audit trail: who did what to which pseudonymous subject; never personal data."""

from peewee import CharField, TextField

from lpse_crawler.store.database import BaseModel


class Audit(BaseModel):
    """Who did what to which pseudonymous subject (e.g. subscriber:42), never personal data."""

    actor = CharField()
    action = CharField()
    subject = CharField(null=True)
    detail = TextField(null=True)


def record(actor: str, action: str, subject_id: int | None = None, detail: str | None = None) -> None:
    """Write one audit row, e.g. record("cli:ops", "users.export", 42). Call inside a transaction."""
    Audit.create(
        actor=actor, action=action, subject=f"subscriber:{subject_id}" if subject_id else None, detail=detail
    )
