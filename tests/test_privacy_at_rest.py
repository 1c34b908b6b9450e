"""Personal data at rest: only ciphertext on disk, bound to its place; rotation; blind indexes."""

import logging

import pytest

from lpse_crawler.people.contact import InvalidContact
from lpse_crawler.people.crypto import CryptoError, Keyring, generate_key, load_keyring
from lpse_crawler.people.models import Subscriber
from lpse_crawler.people.personal_data import (
    create_subscriber,
    find_subscriber,
    personal_data,
    rotate_keys,
    update_personal,
)
from lpse_crawler.store.database import MIN_SQLITE, database

OLD, NEW = generate_key("k2025"), generate_key("k2026")
PEOPLE = [
    {
        "name": "Budi Santoso",
        "phone": "0812-3456-7890",
        "email": "Budi.Santoso@CVMaju.co.id",
        "username": "budi_maju",
    },
    {
        "name": "Siti Rahmawati",
        "phone": "+62 813 9988 7766",
        "email": "siti@rahma.id",
        "username": "sitirahma",
    },
]
PLAINTEXTS = [
    "Budi Santoso",
    "6281234567890",
    "0812-3456-7890",
    "budi.santoso@cvmaju.co.id",
    "Budi.Santoso",
    "budi_maju",
    "Siti Rahmawati",
    "6281399887766",
    "siti@rahma.id",
    "sitirahma",
]


@pytest.fixture
def keyring():
    return Keyring.parse(OLD)


@pytest.fixture
def subscribers(database, keyring):
    return [create_subscriber(keyring, chat_id=1000 + n, **person) for n, person in enumerate(PEOPLE)]


def raw_bytes(database_path) -> bytes:
    files = [database_path, database_path.with_name(database_path.name + "-wal")]
    return b"".join(f.read_bytes() for f in files if f.exists())


@pytest.mark.sqlite_only
def test_no_plaintext_in_the_database_file_or_its_wal(subscribers, database_path):
    data = raw_bytes(database_path)
    assert len(data) > 10_000
    for text in PLAINTEXTS:
        assert text.encode() not in data, text
        assert text.lower().encode() not in data, text


def test_values_read_back_normalised(subscribers, keyring):
    assert personal_data(keyring, subscribers[0]) == {
        "name": "Budi Santoso",
        "phone": "+6281234567890",
        "email": "budi.santoso@cvmaju.co.id",
        "username": "budi_maju",
    }


def test_lookup_by_phone_and_email_through_the_blind_index(subscribers, keyring):
    assert find_subscriber(keyring, phone="+62 812 3456 7890").id == subscribers[0].id
    assert find_subscriber(keyring, phone="6281399887766").id == subscribers[1].id
    assert find_subscriber(keyring, email="  BUDI.santoso@cvmaju.co.id ").id == subscribers[0].id
    assert find_subscriber(keyring, email="nobody@example.com") is None


def test_phone_and_email_are_unique(subscribers, keyring):
    with pytest.raises(InvalidContact, match="tidak dapat dipakai"):
        create_subscriber(keyring, chat_id=2000, phone="081234567890")


def test_a_value_copied_into_another_row_or_column_does_not_decrypt(subscribers, keyring):
    first, second = subscribers
    Subscriber.update(name_enc=first.name_enc).where(Subscriber.id == second.id).execute()
    with pytest.raises(CryptoError, match="does not decrypt"):
        personal_data(keyring, Subscriber.get_by_id(second.id))
    Subscriber.update(username_enc=first.name_enc).where(Subscriber.id == first.id).execute()
    with pytest.raises(CryptoError, match="username_enc"):
        personal_data(keyring, Subscriber.get_by_id(first.id))


def test_wrong_or_missing_key_is_a_clear_error(subscribers):
    with pytest.raises(CryptoError, match="k2025"):
        personal_data(Keyring.parse(NEW), subscribers[0])
    other = Keyring.parse(f"k2025:{NEW.split(':', 1)[1]}")  # same id, different key
    with pytest.raises(CryptoError, match="wrong key"):
        personal_data(other, subscribers[0])
    with pytest.raises(CryptoError, match="PANTAU_KEYS"):
        load_keyring({})
    with pytest.raises(CryptoError, match="32 bytes"):
        Keyring.parse("k1:c2hvcnQ=")


def test_keyring_from_a_key_file(tmp_path):
    path = tmp_path / "pantau.keys"
    path.write_text(f"# newest first\n{NEW}\n{OLD}\n")
    path.chmod(0o640)
    with pytest.raises(CryptoError, match=f"may be read by other users: chmod 600 {path}"):
        load_keyring({"PANTAU_KEY_FILE": str(path)})
    path.chmod(0o600)
    ring = load_keyring({"PANTAU_KEY_FILE": str(path)})
    assert (ring.primary, sorted(ring.keys)) == ("k2026", ["k2025", "k2026"])


@pytest.mark.sqlite_only
def test_rotation_keeps_every_value_and_leaves_nothing_under_the_old_key(subscribers, keyring, database_path):
    before = [personal_data(keyring, s) for s in subscribers]
    both = Keyring.parse(f"{NEW},{OLD}")
    progress = []
    assert rotate_keys(both, progress=lambda done, total: progress.append((done, total))) == 2
    assert progress[-1] == (2, 2)
    new_only = Keyring.parse(NEW)
    assert [personal_data(new_only, Subscriber.get_by_id(s.id)) for s in subscribers] == before
    for row in Subscriber.select():
        for column in ("name_enc", "phone_enc", "email_enc", "username_enc"):
            assert getattr(row, column).startswith("v1.k2026."), column
    assert b"v1.k2025." not in raw_bytes(database_path)
    assert find_subscriber(new_only, email="siti@rahma.id").id == subscribers[1].id


def test_lookup_and_uniqueness_hold_before_the_rotation_reaches_a_row(subscribers):
    both = Keyring.parse(f"{NEW},{OLD}")  # the new key is primary; no row is rewritten yet
    assert find_subscriber(both, phone="0812-3456-7890").id == subscribers[0].id
    assert find_subscriber(both, email="siti@rahma.id").id == subscribers[1].id
    with pytest.raises(InvalidContact, match="tidak dapat dipakai"):
        create_subscriber(both, chat_id=2001, email="SITI@rahma.id")
    update_personal(both, subscribers[1], email="siti@rahma.id")  # one's own value is no conflict
    assert find_subscriber(both, email="siti@rahma.id").id == subscribers[1].id


def test_correction_and_erasure_of_one_value(subscribers, keyring):
    update_personal(keyring, subscribers[0], email="budi@baru.id", username=None)
    values = personal_data(keyring, Subscriber.get_by_id(subscribers[0].id))
    assert (values["email"], values["username"]) == ("budi@baru.id", None)
    assert find_subscriber(keyring, email="budi@baru.id").id == subscribers[0].id
    assert find_subscriber(keyring, email="budi.santoso@cvmaju.co.id") is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone", "12345", "WhatsApp"),
        ("phone", "+1 415 555 0100", "WhatsApp"),
        ("email", "budi@", "email"),
        ("name", "B", "Nama"),
        ("username", "a b", "Username"),
    ],
)
def test_bad_values_are_refused_before_anything_is_written(database, keyring, field, value, message):
    with pytest.raises(InvalidContact, match=message):
        create_subscriber(keyring, chat_id=3000, **{field: value})
    assert Subscriber.select().count() == 0


@pytest.mark.sqlite_only
def test_runtime_sqlite_is_recent_and_logged(caplog, database_path):
    from lpse_crawler.store.schema import open_database

    database.close()
    with caplog.at_level(logging.INFO, logger="lpse_crawler.store.database"):
        db = open_database(f"sqlite:///{database_path}")
    assert tuple(db.server_version) >= MIN_SQLITE
    version = db.execute_sql("select sqlite_version()").fetchone()[0]
    assert f"SQLite {version}" in caplog.text
