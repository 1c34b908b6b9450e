"""SPSE's server-rendered HTML: listing shell (token), announcement, schedule, errors."""

import re
from dataclasses import dataclass, field

from parsel import Selector

from lpse_crawler.parsing.errors import MalformedPage, SpseErrorPage
from lpse_crawler.parsing.values import squeeze

ERROR_MARKERS = (
    "Maaf, terjadi error pada aplikasi SPSE",
    "Terjadi Kesalahan",
    "Halaman yang dituju tidak ditemukan",
    "Akses Ditolak",
)
MIN_PAGE_BYTES = 200  # anything shorter is an error stub, never a real page
_PAGE_TOKEN = re.compile(r"authenticityToken\s*=\s*['\"]([0-9A-Za-z]+)['\"]")
_COOKIE_TOKEN = re.compile(r"___AT=([0-9A-Za-z]+)&")
_VERSION = re.compile(r"SPSE v(\d+\.\d+u\d{8})")
_LABEL_CELLS = "//th[contains(@class,'bgwarning') or contains(@class,'bg-warning')]"
_KBLI_IN_TEXT = re.compile(r"\bKBLI\b\D{0,20}?(\d{5})\b")


def looks_like_html(text: str) -> bool:
    """True when a body starts like an HTML document (SPSE's answer to a bad token)."""
    head = text.lstrip()[:100].lower()
    return head.startswith("<!doctype") or head.startswith("<html") or "<head" in head


def check_not_error(text: str) -> None:
    """Raise SpseErrorPage for SPSE's error pages, which often arrive as HTTP 200."""
    if len(text.encode("utf-8")) < MIN_PAGE_BYTES:
        raise SpseErrorPage(f"page of {len(text)} characters is an error stub")
    title = squeeze(Selector(text=text).xpath("//title/text()").get())
    body_start = text[:20000]
    for marker in ERROR_MARKERS:
        if marker in title or (marker in body_start and "bgwarning" not in body_start):
            raise SpseErrorPage(f"SPSE error page: {marker}")


def extract_token(page_html: str, session_cookie: str | None) -> str:
    """The authenticityToken: from the page's JS, else from the SPSE_SESSION cookie."""
    match = _PAGE_TOKEN.search(page_html) or _COOKIE_TOKEN.search(session_cookie or "")
    if not match:
        raise MalformedPage("listing page carries no authenticityToken")
    return match.group(1)


def spse_version(page_html: str) -> str | None:
    """Footer version such as `4.5u20250321`, or None."""
    match = _VERSION.search(page_html)
    return match.group(1) if match else None


@dataclass
class Announcement:
    """The label/value pairs of an announcement tab, plus the structured parts."""

    fields: dict[str, str]
    badges: list[str] = field(default_factory=list)
    lokasi: list[str] = field(default_factory=list)
    kbli: list[str] = field(default_factory=list)
    kbki: list[str] = field(default_factory=list)
    schedule_url: str | None = None

    def get(self, *labels: str) -> str | None:
        """The first value present under any of `labels` (matched case-insensitively)."""
        for label in labels:
            value = self.fields.get(label.lower())
            if value is not None:
                return value
        return None


def parse_announcement(page_html: str) -> Announcement:
    """Every `th.bgwarning` + following `td` pair of a detail tab (two pairs per row allowed)."""
    check_not_error(page_html)
    page = Selector(text=page_html)
    labels = page.xpath(_LABEL_CELLS)
    if not labels:
        raise MalformedPage("detail page has no label cells (th.bgwarning)")
    result = Announcement(fields={})
    for th in labels:
        label = squeeze(" ".join(th.xpath(".//text()").getall())).lower()
        td = th.xpath("following-sibling::td[1]")
        if not label or not td:
            continue
        result.fields.setdefault(label, _cell_text(td))
        if label.startswith(("nama paket", "nama tender", "nama non tender")):
            result.badges += [squeeze(b) for b in td.css(".badge ::text, span ::text").getall()]
        elif label == "lokasi pekerjaan":
            result.lokasi = [squeeze(" ".join(li.xpath(".//text()").getall())) for li in td.css("li")]
        elif label == "syarat kualifikasi":
            result.kbli, result.kbki = _classification_codes(td)
        elif label.startswith("tahap") and td.css("a::attr(href)"):
            result.schedule_url = td.css("a::attr(href)").get()
    result.badges = [b for b in result.badges if b]
    return result


def _cell_text(td: Selector) -> str:
    """Text of a value cell without its badge spans."""
    parts = td.xpath(".//text()[not(ancestor::span[contains(@class,'badge')])]").getall()
    return squeeze(" ".join(parts))


def _classification_codes(td: Selector) -> tuple[list[str], list[str]]:
    """KBLI and KBKI codes from the qualification tables, most specific code per row."""
    kbli: list[str] = []
    kbki: list[str] = []
    for table in td.xpath(".//table[not(.//table)]"):
        header = [squeeze(" ".join(c.xpath(".//text()").getall())).lower()
                  for c in table.xpath(".//tr[th][1]/th")]  # fmt: skip
        if not any(h in ("kelompok", "kode kbli", "kbli", "subgolongan") for h in header):
            continue
        for row in table.xpath(".//tr[td]"):
            cells = [squeeze(" ".join(c.xpath(".//text()").getall())) for c in row.xpath("td")]
            codes = [c for c in cells if re.fullmatch(r"\d{2,6}", c)]
            if not codes:
                continue
            system = " ".join(cells + header).upper()
            target = kbki if "KBKI" in system else kbli
            target.append(max(codes, key=len))
    kbli += _KBLI_IN_TEXT.findall(" ".join(td.xpath(".//text()").getall()))
    return sorted(set(kbli)), sorted(set(kbki))


@dataclass(frozen=True)
class ScheduleRow:
    """One stage of the jadwal tab, in the site's words."""

    tahap: str
    mulai: str
    sampai: str


def parse_schedule(page_html: str) -> list[ScheduleRow]:
    """Rows of the jadwal table, columns found by their header names."""
    check_not_error(page_html)
    for table in Selector(text=page_html).css("div.content table"):
        header = [squeeze(" ".join(th.xpath(".//text()").getall())).lower()
                  for th in table.xpath(".//tr[th][1]/th")]  # fmt: skip
        if not {"tahap", "mulai", "sampai"} <= set(header):
            continue
        col = {name: header.index(name) for name in ("tahap", "mulai", "sampai")}
        rows = []
        for tr in table.xpath(".//tr[td]"):
            cells = [squeeze(" ".join(td.xpath(".//text()").getall())) for td in tr.xpath("td")]
            if len(cells) == len(header):
                rows.append(ScheduleRow(cells[col["tahap"]], cells[col["mulai"]], cells[col["sampai"]]))
        return rows
    raise MalformedPage("schedule page has no table with Tahap/Mulai/Sampai")
