"""Subscribers' personal data: written only encrypted, read, looked up by blind index, rotated."""

from collections.abc import Callable

from peewee import IntegrityError

from lpse_crawler.people.contact import (
    InvalidContact,
    normalise_email,
    normalise_name,
    normalise_phone,
    normalise_username,
)
from lpse_crawler.people.crypto import Keyring
from lpse_crawler.people.models import Payment, Subscriber
from lpse_crawler.people.plans import trial_expiry
from lpse_crawler.store.database import utcnow, wipe_wal, write_transaction

# personal field -> (normaliser, blind index column or None)
PERSONAL_FIELDS = {
    "name": (normalise_name, None),
    "phone": (normalise_phone, "phone_index"),
    "email": (normalise_email, "email_index"),
    "username": (normalise_username, None),
}
TABLE = Subscriber._meta.table_name
# says nothing about the other account, not even that one exists beyond "cannot be used"
TAKEN = "Nomor WhatsApp atau email ini tidak dapat dipakai. Hubungi /bantuan bila ini milik Anda."


def create_subscriber(keyring: Keyring, chat_id: int, **personal: str | None) -> Subscriber:
    """A new subscriber on a trial; personal values are validated, then stored encrypted."""
    now = utcnow()
    with write_transaction():
        subscriber = Subscriber.create(chat_id=chat_id, plan="trial", plan_expires_at=trial_expiry(now))
        _write_personal(keyring, subscriber, personal)
    return subscriber


def update_personal(keyring: Keyring, subscriber: Subscriber, **personal: str | None) -> None:
    """Correct personal values; None erases a value."""
    with write_transaction():
        _write_personal(keyring, subscriber, personal)


def _write_personal(keyring: Keyring, subscriber: Subscriber, personal: dict) -> None:
    for field, value in personal.items():
        if field not in PERSONAL_FIELDS:
            raise ValueError(f"not a personal field: {field}")
        normalise, index_column = PERSONAL_FIELDS[field]
        clean = None if value is None else normalise(value)
        setattr(subscriber, f"{field}_enc", keyring.encrypt(clean, TABLE, f"{field}_enc", subscriber.id))
        if index_column:
            if clean is not None and _holder(keyring, field, clean) not in (None, subscriber.id):
                raise InvalidContact(TAKEN)
            setattr(subscriber, index_column, keyring.blind_index(field, clean))
    try:
        subscriber.save()
    except IntegrityError as exc:
        raise InvalidContact(TAKEN) from exc


def _holder(keyring: Keyring, field: str, normalised: str) -> int | None:
    """The id of the subscriber whose `field` is this value, under any loaded key."""
    column = getattr(Subscriber, PERSONAL_FIELDS[field][1])
    found = Subscriber.get_or_none(column.in_(keyring.blind_indexes(field, normalised)))
    return found.id if found else None


def personal_data(keyring: Keyring, subscriber: Subscriber) -> dict[str, str | None]:
    """Every personal value of a subscriber, decrypted."""
    return {
        field: keyring.decrypt(getattr(subscriber, f"{field}_enc"), TABLE, f"{field}_enc", subscriber.id)
        for field in PERSONAL_FIELDS
    }


def find_subscriber(
    keyring: Keyring, *, phone: str | None = None, email: str | None = None
) -> Subscriber | None:
    """Look a subscriber up by phone or email through the blind index (no decryption),
    under every loaded key, so lookups keep working in the middle of a key rotation."""
    if phone:
        holder = _holder(keyring, "phone", normalise_phone(phone))
    elif email:
        holder = _holder(keyring, "email", normalise_email(email))
    else:
        return None
    return None if holder is None else Subscriber.get_by_id(holder)


def rotate_keys(keyring: Keyring, progress: Callable[[int, int], None] | None = None) -> int:
    """Re-encrypt every personal value under the primary key and rebuild blind indexes.

    Each row is rewritten in its own short transaction, so bot and crawler keep working;
    then the WAL is checkpointed and truncated. Returns how many rows were rewritten.
    """
    subscriber_ids = [s.id for s in Subscriber.select(Subscriber.id)]
    payment_ids = [p.id for p in Payment.select(Payment.id).where(Payment.reference_enc.is_null(False))]
    total, done = len(subscriber_ids) + len(payment_ids), 0
    for subscriber_id in subscriber_ids:
        with write_transaction():
            subscriber = Subscriber.get_by_id(subscriber_id)
            _write_personal(keyring, subscriber, personal_data(keyring, subscriber))
        done += 1
        if progress:
            progress(done, total)
    table = Payment._meta.table_name
    for payment_id in payment_ids:
        with write_transaction():
            payment = Payment.get_by_id(payment_id)
            reference = keyring.decrypt(payment.reference_enc, table, "reference_enc", payment.id)
            payment.reference_enc = keyring.encrypt(reference, table, "reference_enc", payment.id)
            payment.save()
        done += 1
        if progress:
            progress(done, total)
    if not wipe_wal():
        raise RuntimeError(
            "re-encrypted, but a reader held the WAL: run the rotation again to wipe old pages"
        )
    return done
