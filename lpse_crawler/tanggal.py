"""Dates as Indonesians write them: `1 Desember 2026`, `12 Mar 2026 15:00 WITA`."""

from datetime import date, datetime

MONTHS = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
SHORT_MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
ZONE_NAMES = {7: "WIB", 8: "WITA", 9: "WIT"}  # UTC offset in hours -> Indonesian zone


def tanggal(day: date) -> str:
    """2026-12-01 -> `1 Desember 2026` (a datetime gives its own calendar day)."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def waktu(moment: datetime) -> str:
    """A moment in its own zone: `12 Mar 2026 15:00 WITA` (another offset as `UTC+0530`;
    a naive moment without a zone)."""
    offset = moment.utcoffset()
    label = "" if offset is None else ZONE_NAMES.get(offset.total_seconds() / 3600, moment.strftime("UTC%z"))
    return f"{moment.day} {SHORT_MONTHS[moment.month - 1]} {moment.year} {moment:%H:%M} {label}".rstrip()
