"""Cell values of SPSE pages: money, dates, whitespace, badges, category cells; HTML sniffing."""

import html
import re
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from lpse_crawler.spse.errors import MalformedPage

MONTHS = {
    "januari": 1,
    "jan": 1,
    "februari": 2,
    "feb": 2,
    "pebruari": 2,
    "maret": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "mei": 5,
    "juni": 6,
    "jun": 6,
    "juli": 7,
    "jul": 7,
    "agustus": 8,
    "agt": 8,
    "agu": 8,
    "agu.": 8,
    "ags": 8,
    "september": 9,
    "sep": 9,
    "sept": 9,
    "oktober": 10,
    "okt": 10,
    "november": 11,
    "nov": 11,
    "nopember": 11,
    "desember": 12,
    "des": 12,
}
ABBREVIATION_UNITS = {"rb": 10**3, "jt": 10**6, "m": 10**9, "t": 10**12}
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # the database stores amounts as signed 64-bit integers
MAX_AMOUNT_CHARS = 64  # `Rp. 9.223.372.036.854.775.807,00` has 32: anything far longer is no amount
MAX_INT_DIGITS = 18  # every 18-digit number fits in 64 bits
MIN_YEAR, MAX_YEAR = 1900, 2100  # dates outside these years are not SPSE dates

_DATE = re.compile(r"^(\d{1,2})\s+([A-Za-z.]+)\s+(\d{4})(?:\s+(\d{1,2})[:.](\d{2}))?$")
_ABBREVIATED = re.compile(r"^(\d+(?:[.,]\d+)?)\s*(Rb|Jt|M|T)$", re.IGNORECASE)
_MONEY = re.compile(r"^(?:Rp\.?)?\s*(-?[\d.]+(?:,\d+)?)$", re.IGNORECASE)
_BADGE_CLASS = re.compile(r"class\s*=\s*['\"][^'\"]*badge[^'\"]*['\"]")
_CATEGORY = re.compile(r"^(?P<jenis>.+?)\s+-\s+TA\s+(?P<years>\d{4}(?:\s*,\s*\d{4})*)$")


def squeeze(text: str | None) -> str:
    """Collapse runs of whitespace (including &nbsp;) into one space and trim."""
    if text is None:
        return ""
    return " ".join(text.split())  # split() cuts at what \s matches, &nbsp; included


def shown(text: str, limit: int = 60) -> str:
    """`text` quoted for an error message, cut to `limit` characters."""
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


def int64(value: int, text: str) -> int:
    """`value` when it fits the database's signed 64-bit column, else MalformedPage."""
    if not INT64_MIN <= value <= INT64_MAX:
        raise MalformedPage(f"number outside 64 bits: {shown(text)}")
    return value


def parse_money(text: str | None) -> int | None:
    """`Rp. 1.234.567,89` -> 1234568 (integer rupiah, half up); empty -> None."""
    cleaned = squeeze(text)
    if not cleaned or cleaned in {"-", "Rp.", "Rp"}:
        return None
    match = _MONEY.match(cleaned) if len(cleaned) <= MAX_AMOUNT_CHARS else None
    if not match:
        raise MalformedPage(f"not a rupiah amount: {shown(cleaned)}")
    number = match.group(1).replace(".", "").replace(",", ".")
    try:
        value = int(Decimal(number).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except InvalidOperation as exc:
        raise MalformedPage(f"not a rupiah amount: {shown(cleaned)}") from exc
    return int64(value, cleaned)


def parse_abbreviated_money(text: str | None) -> int | None:
    """Listing HPS/pagu such as `22,7 M` or `750,9 Jt` -> rupiah (rounded by the site)."""
    cleaned = squeeze(text)
    if not cleaned:
        return None
    match = _ABBREVIATED.match(cleaned) if len(cleaned) <= MAX_AMOUNT_CHARS else None
    if not match:
        raise MalformedPage(f"not an abbreviated amount: {shown(cleaned)}")
    number = Decimal(match.group(1).replace(",", "."))
    return int64(int(number * ABBREVIATION_UNITS[match.group(2).lower()]), cleaned)


def parse_datetime(text: str | None, tz: str) -> datetime | None:
    """`2 Januari 2026` or `6 Februari 2026 16:05` -> aware datetime in zone `tz`."""
    cleaned = squeeze(text)
    if not cleaned or cleaned == "-":
        return None
    match = _DATE.match(cleaned)
    month = MONTHS.get(match.group(2).lower().rstrip(".")) if match else None
    if not match or month is None:
        raise MalformedPage(f"not an Indonesian date: {shown(cleaned)}")
    day, _, year, hour, minute = match.groups()
    if not MIN_YEAR <= int(year) <= MAX_YEAR:
        raise MalformedPage(f"year out of range: {shown(cleaned)}")
    try:
        return datetime(int(year), month, int(day), int(hour or 0), int(minute or 0), tzinfo=ZoneInfo(tz))
    except ValueError as exc:
        raise MalformedPage(f"impossible date: {shown(cleaned)}") from exc


def parse_leading_int(text: str | None) -> int | None:
    """`32 Peserta` -> 32; a number too long for 64 bits is malformed."""
    match = re.match(r"\s*(\d+)", text or "")
    if not match:
        return None
    if len(match.group(1)) > MAX_INT_DIGITS:
        raise MalformedPage(f"number too long: {shown(match.group(1))}")
    return int(match.group(1))


def split_badges(name_cell: str) -> tuple[str, list[str]]:
    """Strip SPSE's badge spans from a name cell: (plain name, badge texts), in one forward scan."""
    kept: list[str] = []
    badges: list[str] = []
    pos = 0
    start = name_cell.find("<span")
    while start >= 0:
        tag_end = name_cell.find(">", start)
        if tag_end < 0:
            break  # no tag closes from here on
        if not _BADGE_CLASS.search(name_cell, start, tag_end):
            start = name_cell.find("<span", tag_end)  # a later `<span` in this tag sees less of it
            continue
        close = name_cell.find("</span>", tag_end)
        if close < 0:
            break  # no badge can close from here on
        kept += [name_cell[pos:start], " "]
        badges.append(name_cell[tag_end + 1 : close])
        pos = close + len("</span>")
        start = name_cell.find("<span", pos)
    kept.append(name_cell[pos:])
    texts = [squeeze(html.unescape(strip_tags(b, ""))) for b in badges]
    return squeeze(html.unescape(strip_tags("".join(kept), " "))), [b for b in texts if b]


def strip_tags(text: str, replacement: str) -> str:
    """Replace every `<...>` (at least one character inside) by `replacement`, in one forward scan."""
    kept: list[str] = []
    pos = 0
    start = text.find("<")
    while start >= 0:
        end = text.find(">", start + 1)
        if end < 0:
            break  # no tag closes from here on
        if end == start + 1:  # `<>` is no tag
            start = text.find("<", end)
            continue
        kept += [text[pos:start], replacement]
        pos = end + 1
        start = text.find("<", pos)
    kept.append(text[pos:])
    return "".join(kept)


def split_category(cell: str) -> tuple[str, list[int]]:
    """`Pengadaan Barang - TA 2025,2026` -> ('Pengadaan Barang', [2025, 2026])."""
    match = _CATEGORY.match(squeeze(cell))
    if not match:
        raise MalformedPage(f"category cell without ' - TA ': {shown(cell)}")
    years = [int(y) for y in re.findall(r"\d{4}", match.group("years"))]
    return match.group("jenis"), years


def looks_like_html(text: str) -> bool:
    """True when a body starts like an HTML document (SPSE's answer to a bad token)."""
    head = text.lstrip()[:100].lower()
    return head.startswith("<!doctype") or head.startswith("<html") or "<head" in head
