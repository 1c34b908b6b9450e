"""A check value per key id, so a wrong key is refused before it reads or writes anything.

Each key that has encrypted personal data leaves in `key_check` a known text encrypted
under it. `verify_keyring` decrypts every stored check with the loaded keyring: a key id
that is missing, or a key that does not decrypt its check, is a CryptoError naming the key
id. Without it a fresh key would write rows no one can read and compute blind indexes that
miss every existing phone and email (so duplicates slip through).
"""

from peewee import CharField, TextField

from lpse_crawler.people.crypto import CryptoError, Keyring
from lpse_crawler.people.models import Payment, Subscriber
from lpse_crawler.store.database import BaseModel, write_transaction

CHECK_TEXT = "pantau-lpse key check v1"
TABLE, COLUMN = "key_check", "token"
ENCRYPTED = [
    (Subscriber, ["name_enc", "phone_enc", "email_enc", "username_enc"]),
    (Payment, ["reference_enc"]),
]


class KeyCheck(BaseModel):
    """`token`: CHECK_TEXT encrypted under `key_id` (bound to this table, like every value)."""

    key_id = CharField(primary_key=True)
    token = TextField()

    class Meta:
        table_name = TABLE


def _row(key_id: str) -> int:
    return int.from_bytes(key_id.encode()[:6], "big")  # a stable per-key row for the AAD


def key_ids_in_use() -> set[str]:
    """Key ids of every stored ciphertext (`v1.<id>.<data>`)."""
    used = set()
    for model, columns in ENCRYPTED:
        for column in columns:
            field = getattr(model, column)
            for (token,) in model.select(field).where(field.is_null(False)).distinct().tuples().iterator():
                used.add(token.split(".", 2)[1])
    return used


def verify_keyring(ring: Keyring, *, writing: bool) -> None:
    """Refuse a keyring that cannot decrypt what the database holds.

    Databases from before the check values: the first value stored under each key id
    stands in for its check. `writing`: store the primary's check (the primary is about to
    encrypt), and checks for legacy key ids that verified.
    """
    checks = {row.key_id: row.token for row in KeyCheck.select()}
    legacy = key_ids_in_use() - set(checks) if not checks or writing else set()
    for key_id in sorted(set(checks) | legacy):
        if key_id not in ring.keys:
            raise CryptoError(
                f"the database holds personal data under key {key_id!r}, which the keyring lacks "
                "(PANTAU_KEYS or PANTAU_KEY_FILE): load it (`keys rotate` says when an old key may go)"
            )
        if key_id in checks:
            if _decrypts(ring, key_id, checks[key_id]):
                continue
        elif _decrypts_a_value(ring, key_id):
            continue
        raise CryptoError(
            f"key {key_id!r} in the keyring is not the key this database's data was encrypted with"
        )
    if writing:
        missing = ({ring.primary} | legacy) - set(checks)
        if missing:
            with write_transaction():
                for key_id in sorted(missing):
                    token = _check_token(ring, key_id)
                    KeyCheck.insert(key_id=key_id, token=token).on_conflict_ignore().execute()


def forget_unused_keys() -> list[str]:
    """After a rotation: drop the checks of key ids no stored value uses; return them."""
    used = key_ids_in_use()
    stale = [row.key_id for row in KeyCheck.select() if row.key_id not in used]
    if stale:
        with write_transaction():
            KeyCheck.delete().where(KeyCheck.key_id.in_(stale)).execute()
    return stale


def _check_token(ring: Keyring, key_id: str) -> str:
    primary_ring = Keyring(keys={key_id: ring.keys[key_id]}, primary=key_id)
    return primary_ring.encrypt(CHECK_TEXT, TABLE, COLUMN, _row(key_id))


def _decrypts(ring: Keyring, key_id: str, token: str) -> bool:
    try:
        return ring.decrypt(token, TABLE, COLUMN, _row(key_id)) == CHECK_TEXT
    except CryptoError:
        return False


def _decrypts_a_value(ring: Keyring, key_id: str) -> bool:
    """A legacy database: decrypt the first stored value under `key_id`."""
    for model, columns in ENCRYPTED:
        for column in columns:
            field = getattr(model, column)
            row = model.select(model.id, field).where(field.startswith(f"v1.{key_id}.")).first()
            if row is not None:
                try:
                    ring.decrypt(getattr(row, column), model._meta.table_name, column, row.id)
                    return True
                except CryptoError:
                    return False
    return True
