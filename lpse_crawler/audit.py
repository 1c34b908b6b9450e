"""Audit trail: who did what to which pseudonymous subject; never personal data."""

from lpse_crawler.accounts import Audit


def record(actor: str, action: str, subject_id: int | None = None, detail: str | None = None) -> None:
    """Write one audit row, e.g. record("cli:ops", "users.export", 42). Call inside a transaction."""
    Audit.create(actor=actor, action=action, subject=f"subscriber:{subject_id}" if subject_id else None,
                 detail=detail)  # fmt: skip
