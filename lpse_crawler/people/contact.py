"""Validation and normal forms of personal contact values (messages in Indonesian)."""

import re
import unicodedata


class InvalidContact(ValueError):
    """A value a person typed that we cannot accept; the message says why, in Indonesian."""


_EMAIL = re.compile(r"^[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$")
_PHONE_NOISE = re.compile(r"[\s\-().]")


def normalise_phone(text: str) -> str:
    """An Indonesian mobile number in +62 form: `0812-3456-7890` -> `+6281234567890`."""
    compact = _PHONE_NOISE.sub("", text or "")
    for prefix in ("+62", "62", "0"):
        if compact.startswith(prefix):
            rest = compact[len(prefix) :]
            break
    else:
        rest = ""
    if not (rest.isdigit() and rest.startswith("8") and 8 <= len(rest) <= 12):
        raise InvalidContact("Nomor WhatsApp tidak valid. Contoh: 0812-3456-7890 atau +62 812 3456 7890.")
    return f"+62{rest}"


def normalise_email(text: str) -> str:
    """A lower-cased, trimmed email address."""
    email = (text or "").strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidContact("Alamat email tidak valid. Contoh: nama@perusahaan.co.id.")
    return email


def normalise_name(text: str) -> str:
    """A person's or company's name: squeezed, 2-100 printable characters."""
    name = " ".join((text or "").split())
    if not 2 <= len(name) <= 100 or any(unicodedata.category(c).startswith("C") for c in name):
        raise InvalidContact("Nama harus 2 sampai 100 huruf, tanpa karakter khusus.")
    return name


def normalise_username(text: str) -> str:
    """A Telegram username without the leading @."""
    username = (text or "").strip().lstrip("@")
    if not re.fullmatch(r"[A-Za-z0-9_]{4,32}", username):
        raise InvalidContact("Username Telegram tidak valid.")
    return username
