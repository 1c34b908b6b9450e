"""Field encryption at rest: AES-GCM bound to (table, column, row), a keyring, blind indexes.

Keys never live in the repository or the database. PANTAU_KEYS holds a comma-separated
keyring `id:base64key,...`, or PANTAU_KEY_FILE names a file with one `id:base64key` a line;
the first key is the primary (it encrypts and makes blind indexes), the others only
decrypt, so a rotation can re-encrypt row by row without downtime.

A ciphertext reads `v1.<key id>.<base64(nonce + ciphertext)>`; its associated data is
`table.column.row`, so a value copied into another row or column fails to decrypt.
"""

import base64
import hashlib
import hmac
import os
import re
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from lpse_crawler import config

KEYS_ENV = "PANTAU_KEYS"
KEY_FILE_ENV = "PANTAU_KEY_FILE"
VERSION = "v1"
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class CryptoError(RuntimeError):
    """A key is missing or wrong, or a ciphertext does not belong where it was found."""


def generate_key(key_id: str) -> str:
    """A new keyring entry `id:base64key` (256-bit AES key)."""
    if not _KEY_ID.match(key_id):
        raise CryptoError(f"key id {key_id!r}: use 1-32 letters, digits, '-' or '_'")
    return f"{key_id}:{base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode()}"


@dataclass(frozen=True)
class Keyring:
    """Decryption keys by id; `primary` encrypts and derives the blind-index key."""

    keys: dict[str, bytes]
    primary: str

    @classmethod
    def parse(cls, text: str) -> "Keyring":
        entries = [e.strip() for e in re.split(r"[,\n]", text) if e.strip() and not e.strip().startswith("#")]
        if not entries:
            raise CryptoError("the keyring is empty")
        keys: dict[str, bytes] = {}
        for entry in entries:
            key_id, sep, encoded = entry.partition(":")
            if not sep or not _KEY_ID.match(key_id):
                raise CryptoError("a keyring entry must read id:base64key (check PANTAU_KEYS)")
            try:
                key = base64.urlsafe_b64decode(encoded.strip() + "=" * (-len(encoded.strip()) % 4))
            except ValueError as exc:
                raise CryptoError(f"key {key_id!r} is not valid base64") from exc
            if len(key) != 32:
                raise CryptoError(f"key {key_id!r} must be 32 bytes, not {len(key)}")
            keys[key_id] = key
        return cls(keys=keys, primary=entries[0].partition(":")[0])

    @cached_property
    def index_keys(self) -> dict[str, bytes]:
        """A blind-index key derived from each key, the primary's first."""
        order = [self.primary] + [key_id for key_id in self.keys if key_id != self.primary]
        return {
            key_id: HKDF(
                algorithm=hashes.SHA256(), length=32, salt=None, info=b"pantau-lpse blind index v1"
            ).derive(self.keys[key_id])
            for key_id in order
        }

    def encrypt(self, plaintext: str | None, table: str, column: str, row_id: int) -> str | None:
        if plaintext is None:
            return None
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.primary]).encrypt(
            nonce, plaintext.encode(), _aad(table, column, row_id)
        )
        return f"{VERSION}.{self.primary}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str | None, table: str, column: str, row_id: int) -> str | None:
        if token is None:
            return None
        version, key_id, encoded = (token.split(".", 2) + ["", ""])[:3]
        if version != VERSION or key_id not in self.keys:
            raise CryptoError(f"{table}.{column} of row {row_id} needs key {key_id!r}, which is not loaded")
        data = base64.urlsafe_b64decode(encoded)
        try:
            plain = AESGCM(self.keys[key_id]).decrypt(data[:12], data[12:], _aad(table, column, row_id))
        except InvalidTag as exc:
            raise CryptoError(
                f"{table}.{column} of row {row_id} does not decrypt: wrong key or moved value"
            ) from exc
        return plain.decode()

    def key_id_of(self, token: str) -> str:
        return token.split(".", 2)[1]

    def blind_index(self, kind: str, normalised: str | None) -> str | None:
        """Keyed HMAC of a normalised value under the primary key (what is stored)."""
        return None if normalised is None else self.blind_indexes(kind, normalised)[0]

    def blind_indexes(self, kind: str, normalised: str) -> list[str]:
        """The value's blind index under every loaded key, the primary's first: during a
        rotation, rows not yet rewritten still carry an index made with an older key."""
        message = f"{kind}:{normalised}".encode()
        return [hmac.new(key, message, hashlib.sha256).hexdigest() for key in self.index_keys.values()]


def _aad(table: str, column: str, row_id: int) -> bytes:
    return f"{table}.{column}.{row_id}".encode()


def load_keyring(environ: dict | None = None) -> Keyring:
    """The keyring from PANTAU_KEYS or PANTAU_KEY_FILE; a clear error when neither works,
    or when the key file's mode lets its group or others read it."""
    keys, key_file = config.get(KEYS_ENV, environ), config.get(KEY_FILE_ENV, environ)
    if keys:
        return Keyring.parse(keys)
    if key_file:
        path = Path(key_file)
        if not path.is_file():
            raise CryptoError(f"{KEY_FILE_ENV} points to {path}, which does not exist")
        if path.stat().st_mode & 0o077:
            raise CryptoError(f"key file {path} may be read by other users: chmod 600 {path}")
        return Keyring.parse(path.read_text(encoding="utf-8"))
    raise CryptoError(
        f"no encryption key: set {KEYS_ENV} or {KEY_FILE_ENV} "
        "(make one with `python -m lpse_crawler.people.crypto ID`)"
    )


if __name__ == "__main__":
    print(generate_key(sys.argv[1] if len(sys.argv) > 1 else "k1"))
