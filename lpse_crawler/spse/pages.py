"""SPSE's server-rendered HTML: listing shell (token), announcement, schedule, errors."""

import re
from dataclasses import dataclass, field

from parsel import Selector

from lpse_crawler.spse.errors import MalformedPage, SpseErrorPage
from lpse_crawler.spse.values import squeeze

ERROR_MARKERS = (
    "Maaf, terjadi error pada aplikasi SPSE",
    "Terjadi Kesalahan",
    "Halaman yang dituju tidak ditemukan",
    "Akses Ditolak",
)
MIN_PAGE_BYTES = 200  # anything shorter is an error stub, never a real page
# Real detail tabs hold at most 6 tables, 2 deep, and 70 cells (18 of them labels): far
# beyond these caps a page is hostile. The parsers read each label's value cell and each
# table's cells whole, so their work grows with the cells times the nesting: the caps keep
# a page of any size to a fraction of a second.
MAX_TABLES = 300
MAX_TABLE_DEPTH = 10  # tables within tables
MAX_CELLS = 5000  # td and th, labels among them
_PAGE_TOKEN = re.compile(r"authenticityToken\s*=\s*['\"]([0-9A-Za-z]+)['\"]")
_COOKIE_TOKEN = re.compile(r"___AT=([0-9A-Za-z]+)&")
_VERSION = re.compile(r"SPSE v(\d+\.\d+u\d{8})")
_OWN_ROWS = "./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr"  # a table's rows, not a nested table's
_LABEL_CELLS = "//th[contains(@class,'bgwarning') or contains(@class,'bg-warning')]"
# Syarat Kualifikasi: code tables (header row of th or td cells) and KBLI written in free text.
_CODE_CELL = re.compile(r"\d{2,6}", re.ASCII)  # a cell holding one code (KBKI may have 6 digits)
_CODE_HEADER = re.compile(
    r"(?:kode\s+)?(?:kbli|kbki)(?:\s+\d{4})?|divisi|golongan(?:\s+pokok)?|subgolongan|kelompok",
    re.IGNORECASE | re.ASCII,
)  # header names of a column of codes
_YEAR_HEADERS = ("tahun", "versi", "edisi")  # a column of `KBLI 2020`, never a code
_KBLI_WORD = re.compile(r"\bKBLI(?![a-z])", re.IGNORECASE)  # `KBLI2020` too
KBLI_WINDOW = 160  # characters after the word KBLI where its codes are looked for
# A 4-digit 19xx/20xx number right after the word KBLI is its edition, never a code.
_KBLI_EDITION = re.compile(r"[\s:(]*(?:tahun\s*)?(?:19|20)\d\d(?!\d)\)?", re.IGNORECASE | re.ASCII)
_KBLI_CODES = re.compile(
    r"[\s:;,.=()\-\u2013\u2014]*(?:(?:kode|nomor|no\.?)[\s:.=\-\u2013\u2014]*)?"
    r"(\d{2,5}(?!\d)(?:\s*(?:[,;/&]\s*|(?:dan|atau)\s+)?\d{2,5}(?!\d))*)",
    re.IGNORECASE | re.ASCII,
)  # `: 41011, 42101`, `-71102`, `kode 71102 dan 71101`


def check_not_error(text: str) -> None:
    """Raise SpseErrorPage for SPSE's error pages, which often arrive as HTTP 200."""
    if len(text.encode("utf-8", "surrogatepass")) < MIN_PAGE_BYTES:
        raise SpseErrorPage(f"page of {len(text)} characters is an error stub")
    title = squeeze(page_selector(text).xpath("//title/text()").get())
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
    page = bounded_page(page_html)
    labels = page.xpath(_LABEL_CELLS)
    if not labels:
        raise MalformedPage("detail page has no label cells (th.bgwarning)")
    result = Announcement(fields={})
    kbli: set[str] = set()
    kbki: set[str] = set()
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
        elif label.startswith(("syarat kualifikasi", "persyaratan kualifikasi")):
            codes = _classification_codes(td[0])
            kbli.update(codes[0])
            kbki.update(codes[1])
        elif "kbli" in label:  # a row of its own: `KBLI | 71102 - Aktivitas ...`
            kbli.update(kbli_codes_after(_cell_text(td), 0))
        elif label.startswith("tahap") and td.css("a::attr(href)"):
            result.schedule_url = td.css("a::attr(href)").get()
    result.badges = [b for b in result.badges if b]
    result.kbli, result.kbki = sorted(kbli), sorted(kbki)
    return result


def bounded_page(page_html: str) -> Selector:
    """The parsed page, refused (MalformedPage) when it holds far more tables, deeper nested,
    or far more cells than any real detail tab."""
    page = page_selector(page_html)
    if float(page.xpath("count(//table)").get()) > MAX_TABLES:
        raise MalformedPage(f"page holds more than {MAX_TABLES} tables")
    if page.xpath(f"//table[count(ancestor::table) >= {MAX_TABLE_DEPTH}]"):
        raise MalformedPage(f"page nests tables more than {MAX_TABLE_DEPTH} deep")
    if float(page.xpath("count(//td | //th)").get()) > MAX_CELLS:
        raise MalformedPage(f"page holds more than {MAX_CELLS} table cells")
    return page


def page_selector(page_html: str) -> Selector:
    """The parsed page; lone surrogates (never in a served page) become `?` instead of failing."""
    try:
        return Selector(text=page_html)
    except UnicodeEncodeError:
        return Selector(text=page_html.encode("utf-8", "replace").decode("utf-8"))


def _joined(cell: Selector) -> str:
    """All the text of an element, squeezed."""
    return squeeze(" ".join(cell.xpath(".//text()").getall()))


def _cell_text(td: Selector) -> str:
    """Text of a value cell without its badge spans."""
    parts = td.xpath(".//text()[not(ancestor::span[contains(@class,'badge')])]").getall()
    return squeeze(" ".join(parts))


def _classification_codes(td: Selector) -> tuple[list[str], list[str]]:
    """KBLI and KBKI codes of the Syarat Kualifikasi cell: from its code tables and its text."""
    kbli: set[str] = set()
    kbki: set[str] = set()
    for table in td.xpath(".//table[not(.//table)]"):
        rows = [[_joined(cell) for cell in tr.xpath("th|td")] for tr in table.xpath(".//tr")]
        for system, code in _table_codes(rows):
            (kbki if system == "KBKI" else kbli).add(code)
    for text in _cell_texts(td):
        for word in _KBLI_WORD.finditer(text):
            kbli.update(kbli_codes_after(text, word.end()))
    return sorted(kbli), sorted(kbki)


def _table_codes(rows: list[list[str]]) -> list[tuple[str, str]]:
    """(KBLI or KBKI, most specific code) per data row of one table, by its header or row label."""
    # The header is the first row of several cells (th or td alike) before any row with a code:
    # a one-cell caption row may come first. Under a header naming a code column (Kode KBLI,
    # Kelompok, ...) every row counts; otherwise only a row whose own label names the system.
    lead = next((i for i, row in enumerate(rows) if any(_CODE_CELL.fullmatch(c) for c in row)), len(rows))
    at = next((i for i in range(lead) if len(rows[i]) > 1), lead - 1)
    header = [h.lower() for h in rows[at]] if at >= 0 else []
    caption = " ".join(" ".join(row) for row in rows[: at + 1]).upper()
    coded = any(_CODE_HEADER.fullmatch(h) for h in header)
    years = {i for i, h in enumerate(header) if h.startswith(_YEAR_HEADERS)}
    found = []
    for row in rows[at + 1 :]:
        skip = years if len(row) == len(header) else set()
        codes = [c for i, c in enumerate(row) if i not in skip and _CODE_CELL.fullmatch(c)]
        named = " ".join(c for c in row if not _CODE_CELL.fullmatch(c)).upper()
        if not codes or not (coded or re.search(r"\bKB[LK]I\b", named)):
            continue
        system = "KBKI" if "KBKI" in named or ("KBKI" in caption and "KBLI" not in named) else "KBLI"
        codes = [c for c in codes if system == "KBKI" or len(c) <= 5]  # KBLI codes have 2-5 digits
        if codes:
            found.append((system, max(codes, key=len)))
    return found


def _cell_texts(td: Selector) -> list[str]:
    """The text of every table cell under `td` (itself included), a nested cell's text apart."""
    root = td.root
    owner = {root: root}  # element -> the innermost cell holding it
    texts: dict = {root: []}
    for element in root.iter():
        if element is not root:
            outer = owner[element.getparent()]
            owner[element] = element if element.tag in ("td", "th") else outer
            texts.setdefault(owner[element], [])
            if element.tail:
                texts[outer].append(element.tail)
        if isinstance(element.tag, str) and element.text:
            texts[owner[element]].append(element.text)
    return [squeeze(" ".join(parts)) for parts in texts.values() if parts]


def kbli_codes_after(text: str, pos: int) -> list[str]:
    """KBLI codes written from `pos` on (just after the word KBLI), its edition year left out."""
    # `KBLI 2020 -71102`, `KBLI 2020: 41011, 42101`, `KBLI 71102`, `KBLI (2020) kode 71102 dan 71101`
    window = text[pos : pos + KBLI_WINDOW]
    edition = _KBLI_EDITION.match(window)
    codes = _KBLI_CODES.match(window, edition.end() if edition else 0)
    return re.findall(r"\d+", codes.group(1)) if codes else []


@dataclass(frozen=True)
class ScheduleRow:
    """One stage of the jadwal tab, in the site's words."""

    tahap: str
    mulai: str
    sampai: str


def parse_schedule(page_html: str) -> list[ScheduleRow]:
    """Rows of the jadwal table, columns found by their header names."""
    check_not_error(page_html)
    for table in bounded_page(page_html).css("div.content table"):
        own = table.xpath(_OWN_ROWS)  # a nested table's rows are its own, read once
        heading = next((tr for tr in own if tr.xpath("th")), None)
        header = [_joined(th).lower() for th in heading.xpath("th")] if heading else []
        if not {"tahap", "mulai", "sampai"} <= set(header):
            continue
        col = {name: header.index(name) for name in ("tahap", "mulai", "sampai")}
        rows = []
        for tr in own:
            tds = tr.xpath("td")
            if len(tds) == len(header):
                cells = [_joined(td) for td in tds]
                rows.append(ScheduleRow(cells[col["tahap"]], cells[col["mulai"]], cells[col["sampai"]]))
        return rows
    raise MalformedPage("schedule page has no table with Tahap/Mulai/Sampai")
