"""The DataTables JSON of `/dt/lelang` and `/dt/pl`: envelope, row layouts, form body."""

import hashlib
import json
import re
from dataclasses import dataclass

from lpse_crawler.spse.errors import MalformedPage, StaleToken
from lpse_crawler.spse.values import looks_like_html, shown, split_badges, split_category, squeeze


@dataclass(frozen=True)
class KindLayout:
    """Where one kind of package lives on SPSE and how its listing rows are laid out."""

    kind: str  # 'tender' | 'nontender': the value stored in tender.kind
    listing_path: str  # the listing page that carries the token
    endpoint: str  # the DataTables endpoint
    announcement_path: str  # first detail tab, `{kode}` filled in
    width: int  # cells per row
    category_col: int  # "<jenis> - TA <years>"
    method_cols: tuple[int, ...]  # joined with " - " into the method
    contract_col: int  # nilai kontrak


TENDER = KindLayout("tender", "lelang", "dt/lelang", "lelang/{kode}/pengumumanlelang", 16, 8, (6, 5, 7), 10)
NONTENDER = KindLayout("nontender", "nontender", "dt/pl", "nontender/{kode}/pengumumanpl", 12, 6, (5,), 8)
LAYOUTS = {layout.kind: layout for layout in (TENDER, NONTENDER)}

_KODE = re.compile(r"^\d{3,20}$", re.ASCII)
MAX_JSON_DEPTH = 32  # a DataTables answer nests 3 deep (object, data list, row)
_JSON_STRUCTURE = re.compile(r'[\[\]{}"\\]')


@dataclass(frozen=True)
class ListingRow:
    """One listing row with its cells trimmed and split, still in the site's words."""

    kode: str
    nama: str
    badges: tuple[str, ...]
    instansi: str
    tahap: str
    hps_listing: str
    metode: str
    kategori: str
    tahun_anggaran: tuple[int, ...]
    nilai_kontrak: str
    row_hash: str  # hash of the raw cells: a changed row gets its details fetched again


def parse_datatables(body: str | bytes) -> list[list]:
    """Return the rows of a DataTables answer; an HTML answer means a refused token."""
    if not isinstance(body, str | bytes):
        raise MalformedPage(f"DataTables answer is {type(body).__name__}, not text")
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if looks_like_html(text):
        raise StaleToken("HTML instead of DataTables JSON")
    if json_depth_exceeds(text, MAX_JSON_DEPTH):
        raise MalformedPage(f"JSON nested deeper than {MAX_JSON_DEPTH}")
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise MalformedPage(f"invalid JSON: {str(exc)[:200]}") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise MalformedPage("JSON without a 'data' list")
    if payload.get("error"):
        raise MalformedPage(f"DataTables error: {str(payload['error'])[:200]}")
    return payload["data"]


def json_depth_exceeds(text: str, limit: int) -> bool:
    """True when brackets outside JSON strings nest deeper than `limit` (one forward scan)."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    in_string = False
    escaped_until = -1  # a backslash in a string escapes the character after it
    for match in _JSON_STRUCTURE.finditer(text):
        char, at = match.group(), match.start()
        if in_string:
            if at < escaped_until:
                continue
            if char == "\\":
                escaped_until = at + 2
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _cell_text(cell: object, index: int) -> str:
    """A JSON cell as text: strings as they are, numbers written out, null empty."""
    if cell is None:
        return ""
    if isinstance(cell, str):
        return cell
    if isinstance(cell, bool | int | float):
        try:
            return str(cell)
        except ValueError as exc:  # an int longer than Python converts to text
            raise MalformedPage(f"cell {index} is a number too long to read") from exc
    raise MalformedPage(f"cell {index} is a {type(cell).__name__}, not text")


def parse_listing_row(layout: KindLayout, cells: list) -> ListingRow:
    """Check a row's shape (width, digits in kode, ' - TA ') and split its cells."""
    if not isinstance(cells, list) or len(cells) != layout.width:
        found = len(cells) if isinstance(cells, list) else type(cells).__name__
        raise MalformedPage(f"{layout.kind} row has {found} cells, expected {layout.width}")
    texts = [_cell_text(c, i) for i, c in enumerate(cells)]
    kode = squeeze(texts[0])
    if not _KODE.match(kode):
        raise MalformedPage(f"package code is not numeric: {shown(texts[0])}")
    nama, badges = split_badges(texts[1])
    if not nama:
        raise MalformedPage(f"package {kode} has no name")
    kategori, years = split_category(texts[layout.category_col])
    metode = " - ".join(squeeze(texts[i]) for i in layout.method_cols if squeeze(texts[i]))
    raw = json.dumps(cells, ensure_ascii=False, separators=(",", ":"))
    return ListingRow(
        kode=kode,
        nama=nama,
        badges=tuple(badges),
        instansi=squeeze(texts[2]),
        tahap=squeeze(texts[3]),
        hps_listing=squeeze(texts[4]),
        metode=metode,
        kategori=kategori,
        tahun_anggaran=tuple(years),
        nilai_kontrak=squeeze(texts[layout.contract_col]),
        row_hash=hashlib.blake2b(raw.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest(),
    )


def datatables_form(layout: KindLayout, token: str, start: int, length: int, draw: int) -> dict:
    """The POST body DataTables sends, ordered by package code, newest first."""
    form = {"draw": str(draw), "start": str(start), "length": str(length)}
    for i in range(layout.width):
        form |= {
            f"columns[{i}][data]": str(i),
            f"columns[{i}][name]": "",
            f"columns[{i}][searchable]": "true",
            f"columns[{i}][orderable]": "false" if i == 3 else "true",
            f"columns[{i}][search][value]": "",
            f"columns[{i}][search][regex]": "false",
        }
    form |= {
        "order[0][column]": "0",
        "order[0][dir]": "desc",
        "search[value]": "",
        "search[regex]": "false",
        "authenticityToken": token,
    }
    return form
