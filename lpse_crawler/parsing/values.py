"""Cell values: money, dates, whitespace, badges, category and stage names."""

import html
import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from lpse_crawler.parsing.errors import MalformedPage

MONTHS = {
    "januari": 1, "jan": 1, "februari": 2, "feb": 2, "pebruari": 2, "maret": 3, "mar": 3,
    "april": 4, "apr": 4, "mei": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7,
    "agustus": 8, "agt": 8, "agu": 8, "agu.": 8, "ags": 8, "september": 9, "sep": 9,
    "sept": 9, "oktober": 10, "okt": 10, "november": 11, "nov": 11, "nopember": 11,
    "desember": 12, "des": 12,
}  # fmt: skip
ABBREVIATION_UNITS = {"rb": 10**3, "jt": 10**6, "m": 10**9, "t": 10**12}

_SPACE = re.compile(r"\s+")
_DATE = re.compile(r"^(\d{1,2})\s+([A-Za-z.]+)\s+(\d{4})(?:\s+(\d{1,2})[:.](\d{2}))?$")
_ABBREVIATED = re.compile(r"^(\d+(?:[.,]\d+)?)\s*(Rb|Jt|M|T)$", re.IGNORECASE)
_MONEY = re.compile(r"^(?:Rp\.?)?\s*(-?[\d.]+(?:,\d+)?)$", re.IGNORECASE)
_BADGE = re.compile(r"<span[^>]*class\s*=\s*['\"][^'\"]*badge[^'\"]*['\"][^>]*>(.*?)</span>", re.S)
_TAG = re.compile(r"<[^>]+>")
_CATEGORY = re.compile(r"^(?P<jenis>.+?)\s+-\s+TA\s+(?P<years>\d{4}(?:\s*,\s*\d{4})*)$")


def squeeze(text: str | None) -> str:
    """Collapse runs of whitespace (including &nbsp;) into one space and trim."""
    if text is None:
        return ""
    return _SPACE.sub(" ", text.replace("\xa0", " ")).strip()


def parse_money(text: str | None) -> int | None:
    """`Rp. 1.234.567,89` -> 1234568 (integer rupiah, half up); empty -> None."""
    cleaned = squeeze(text)
    if not cleaned or cleaned in {"-", "Rp.", "Rp"}:
        return None
    match = _MONEY.match(cleaned)
    if not match:
        raise MalformedPage(f"not a rupiah amount: {cleaned!r}")
    number = match.group(1).replace(".", "").replace(",", ".")
    try:
        return int(Decimal(number).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except InvalidOperation as exc:
        raise MalformedPage(f"not a rupiah amount: {cleaned!r}") from exc


def format_rupiah(amount: int) -> str:
    """1234567 -> `Rp 1.234.567`, as Indonesians write it (what parse_money reads back)."""
    return "Rp " + f"{amount:,}".replace(",", ".")


def parse_abbreviated_money(text: str | None) -> int | None:
    """Listing HPS/pagu such as `22,7 M` or `750,9 Jt` -> rupiah (rounded by the site)."""
    cleaned = squeeze(text)
    if not cleaned:
        return None
    match = _ABBREVIATED.match(cleaned)
    if not match:
        raise MalformedPage(f"not an abbreviated amount: {cleaned!r}")
    number = Decimal(match.group(1).replace(",", "."))
    return int(number * ABBREVIATION_UNITS[match.group(2).lower()])


def parse_datetime(text: str | None, tz: str) -> datetime | None:
    """`2 Januari 2026` or `6 Februari 2026 16:05` -> aware datetime in zone `tz`."""
    cleaned = squeeze(text)
    if not cleaned or cleaned == "-":
        return None
    match = _DATE.match(cleaned)
    month = MONTHS.get(match.group(2).lower().rstrip(".")) if match else None
    if not match or month is None:
        raise MalformedPage(f"not an Indonesian date: {cleaned!r}")
    day, _, year, hour, minute = match.groups()
    try:
        return datetime(int(year), month, int(day), int(hour or 0), int(minute or 0), tzinfo=ZoneInfo(tz))
    except ValueError as exc:
        raise MalformedPage(f"impossible date: {cleaned!r}") from exc


def parse_leading_int(text: str | None) -> int | None:
    """`32 Peserta` -> 32."""
    match = re.match(r"\s*(\d+)", text or "")
    return int(match.group(1)) if match else None


def split_badges(name_cell: str) -> tuple[str, list[str]]:
    """Strip SPSE's badge spans from a name cell: (plain name, badge texts)."""
    badges = [squeeze(html.unescape(_TAG.sub("", b))) for b in _BADGE.findall(name_cell)]
    plain = _TAG.sub(" ", _BADGE.sub(" ", name_cell))
    return squeeze(html.unescape(plain)), [b for b in badges if b]


def split_category(cell: str) -> tuple[str, list[int]]:
    """`Pengadaan Barang - TA 2025,2026` -> ('Pengadaan Barang', [2025, 2026])."""
    match = _CATEGORY.match(squeeze(cell))
    if not match:
        raise MalformedPage(f"category cell without ' - TA ': {cell!r}")
    years = [int(y) for y in re.findall(r"\d{4}", match.group("years"))]
    return match.group("jenis"), years
