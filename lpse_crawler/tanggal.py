"""Dates as Indonesians write them: `1 Desember 2026`."""

from datetime import date

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


def tanggal(day: date) -> str:
    """2026-12-01 -> `1 Desember 2026` (a datetime gives its own calendar day)."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"
