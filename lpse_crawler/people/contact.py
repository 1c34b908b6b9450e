"""Validation and normal forms of personal contact values (messages in Indonesian).

Every refusal names the value as typed (shortened) and says what is wrong with it, so a
person who typed several values at once knows which one to fix.
"""

import re
import unicodedata


class InvalidContact(ValueError):
    """A value a person typed that we cannot accept; the message says why, in Indonesian."""


_EMAIL = re.compile(r"^[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$")
_PHONE_NOISE = re.compile(r"[\s\-().]")
PHONE_EXAMPLE = "Contoh: 0812-3456-7890 atau +62 812 3456 7890."
EMAIL_EXAMPLE = "Contoh: nama@perusahaan.co.id."


def shown(text: str, limit: int = 40) -> str:
    """A typed value as quoted in a message: squeezed, and cut with … when long."""
    value = " ".join((text or "").split())
    value = "".join("?" if unicodedata.category(c).startswith("C") else c for c in value)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def normalise_phone(text: str) -> str:
    """An Indonesian mobile number in +62 form: `0812-3456-7890` -> `+6281234567890`."""
    compact = _PHONE_NOISE.sub("", text or "")
    rest = next((compact[len(p) :] for p in ("+62", "62", "0") if compact.startswith(p)), None)
    if not compact.lstrip("+").isdigit():
        reason = "hanya boleh berisi angka, spasi, tanda + - ( ) dan titik"
    elif rest is None or not rest.startswith("8"):
        reason = "nomor ponsel Indonesia diawali 08, 628 atau +628"
    elif not 8 <= len(rest) <= 12:
        size = "pendek" if len(rest) < 8 else "panjang"
        reason = f"terlalu {size} untuk nomor ponsel (diawali 08: 10 sampai 13 angka)"
    else:
        return f"+62{rest}"
    raise InvalidContact(f"Nomor WhatsApp '{shown(text)}' tidak valid: {reason}. {PHONE_EXAMPLE}")


def normalise_email(text: str) -> str:
    """A lower-cased, trimmed email address."""
    email = (text or "").strip().lower()
    local, at, domain = email.rpartition("@")
    if len(email) > 254:
        reason = "terlalu panjang (paling banyak 254 karakter)"
    elif any(c.isspace() for c in email):
        reason = "tidak boleh berisi spasi"
    elif not at:
        reason = "tidak ada tanda @"
    elif not local:
        reason = "tidak ada nama sebelum tanda @"
    elif "." not in domain:
        reason = "nama domain sesudah tanda @ belum lengkap"
    elif _EMAIL.match(email):
        return email
    else:
        reason = "berisi karakter yang tidak dipakai dalam alamat email"
    raise InvalidContact(f"Alamat email '{shown(text)}' tidak valid: {reason}. {EMAIL_EXAMPLE}")


def normalise_name(text: str) -> str:
    """A person's or company's name: squeezed, 2-100 printable characters."""
    name = " ".join((text or "").split())
    if any(unicodedata.category(c).startswith("C") for c in name):
        reason = "tidak boleh berisi karakter khusus"
    elif not 2 <= len(name) <= 100:
        reason = f"panjangnya {len(name)} huruf, padahal harus 2 sampai 100 huruf"
    else:
        return name
    raise InvalidContact(f"Nama '{shown(name)}' tidak valid: {reason}.")


def normalise_username(text: str) -> str:
    """A Telegram username without the leading @."""
    username = (text or "").strip().lstrip("@")
    if not re.fullmatch(r"[A-Za-z0-9_]{4,32}", username):
        raise InvalidContact(
            f"Username Telegram '{shown(username)}' tidak valid: 4 sampai 32 huruf, angka atau garis bawah."
        )
    return username
