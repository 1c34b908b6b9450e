"""The result tabs of a package: winners (`pemenang`), contracts (`pemenangberkontrak`) and the
realisasi of pencatatan, darurat and swakelola packages. Columns are found by header names."""

import re
from dataclasses import dataclass, field
from datetime import date

from parsel import Selector

from lpse_crawler.spse.errors import MalformedPage
from lpse_crawler.spse.pages import bounded_page, check_not_error, parse_announcement
from lpse_crawler.spse.values import parse_datetime, parse_money, squeeze

# Result tabs per kind (spse.md §1.2, §6.5), relative to the instance base, `{kode}` filled in.
WINNER_PATHS = {"tender": "evaluasi/{kode}/pemenang", "nontender": "evaluasinontender/{kode}/pemenang"}
CONTRACT_PATHS = {
    "tender": "evaluasi/{kode}/pemenangberkontrak",
    "nontender": "evaluasinontender/{kode}/pemenangberkontrak",
}
REALISASI_PATHS = {
    "pencatatan": "pencatatan/pengumumannonspkpemenang?id={kode}",
    "darurat": "darurat/pengumumandaruratpemenang?id={kode}",
    "swakelola": "swakelola/pengumumanswakelolapelaksana/{kode}",
}
PARTY_WORDS = r"pemenang|penyedia|pelaksana"  # in the header of the column naming the winner
MONEY_COLUMNS = {"penawaran", "terkoreksi", "negosiasi", "kontrak", "pdn", "umk"}
_OWN_ROWS = "./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr"


@dataclass(frozen=True)
class Winner:
    """One row of the `pemenang` table; amounts in whole rupiah, None when not shown."""

    nama: str
    alamat: str | None = None
    npwp: str | None = None  # as published (masked on 2025-2026 pages)
    harga_penawaran: int | None = None
    harga_terkoreksi: int | None = None
    harga_negosiasi: int | None = None  # "Hasil Negosiasi", "Harga Negosiasi" or reverse auction

    @property
    def harga(self) -> int | None:
        """The winning price as far as evaluated: negotiated, else corrected, else offered
        (a `Rp. 0,00` cell stands for a step not taken, never for a price)."""
        for amount in (self.harga_negosiasi, self.harga_terkoreksi, self.harga_penawaran):
            if amount:
                return amount
        return None


@dataclass(frozen=True)
class Contract:
    """One row of the `pemenangberkontrak` table; amounts in whole rupiah."""

    nama: str
    alamat: str | None = None
    npwp: str | None = None
    harga_kontrak: int | None = None
    nilai_pdn: int | None = None
    nilai_umk: int | None = None


@dataclass(frozen=True)
class Penyedia:
    """A provider (or swakelola implementer) named under one realisation."""

    nama: str
    npwp: str | None = None
    alamat: str | None = None


@dataclass(frozen=True)
class RealisasiRow:
    """One realisation (payment document) of a pencatatan package."""

    jenis: str
    nilai: int | None
    tanggal: str  # as shown, `10-04-2026`
    penyedia: tuple[Penyedia, ...] = ()


@dataclass
class Realisasi:
    """The `...pemenang` tab of pencatatan and darurat packages (and swakelola's `pelaksana`)."""

    total: int | None
    nilai_pdn: int | None
    nilai_umk: int | None
    selesai: date | None
    rows: list[RealisasiRow] = field(default_factory=list)

    @property
    def penyedia(self) -> list[Penyedia]:
        """Every provider named, once each, in page order."""
        return list(dict.fromkeys(p for row in self.rows for p in row.penyedia))


def winners_path(kind: str, kode: str) -> str:
    """`evaluasi/{kode}/pemenang` (tender) or `evaluasinontender/{kode}/pemenang` (non tender)."""
    return WINNER_PATHS[kind].format(kode=kode)


def contracts_path(kind: str, kode: str) -> str:
    """The `pemenangberkontrak` tab of a tender or non-tender package."""
    return CONTRACT_PATHS[kind].format(kode=kode)


def parse_winners(page_html: str) -> list[Winner]:
    """Rows of the winner table (several for several lots); [] when it has no rows yet."""
    return [
        Winner(
            nama=row["nama"],
            alamat=row.get("alamat"),
            npwp=row.get("npwp"),
            harga_penawaran=_money(row, "penawaran"),
            harga_terkoreksi=_money(row, "terkoreksi"),
            harga_negosiasi=_money(row, "negosiasi"),
        )
        for row in _result_rows(page_html, contract=False)
    ]


def parse_contracts(page_html: str) -> list[Contract]:
    """Rows of the contract table; [] until a contract is recorded."""
    return [
        Contract(
            nama=row["nama"],
            alamat=row.get("alamat"),
            npwp=row.get("npwp"),
            harga_kontrak=_money(row, "kontrak"),
            nilai_pdn=_money(row, "pdn"),
            nilai_umk=_money(row, "umk"),
        )
        for row in _result_rows(page_html, contract=True)
    ]


def parse_realisasi(page_html: str) -> Realisasi:
    """Totals and realisation rows (with their providers) of a pencatatan/darurat/swakelola tab."""
    fields = parse_announcement(page_html)  # checks for error pages; label cells are required
    page = bounded_page(page_html)
    table = next((t for t in page.xpath("//table") if _realisasi_header(t) is not None), None)
    if table is None:
        raise MalformedPage("page has no Realisasi table (Jenis/Nilai/Tanggal Realisasi)")
    at, width, columns = _realisasi_header(table)
    rows: list[tuple[dict, list[Penyedia]]] = []
    for tr in table.xpath(_OWN_ROWS)[at + 1 :]:
        cells = [_text(td) for td in tr.xpath("./td")]
        if len(cells) == width and not tr.xpath("./td//table"):
            values = {name: cells[i] for name, i in columns.items()}
            if values.get("jenis") or values.get("nilai"):
                rows.append((values, []))
        providers = [p for t in tr.xpath("./td//table") for p in _providers(t)]
        if providers and rows:
            rows[-1][1].extend(providers)
    selesai = parse_datetime(fields.get("tanggal paket selesai"), "UTC")
    return Realisasi(
        total=parse_money(fields.get("nilai total realisasi")),
        nilai_pdn=parse_money(fields.get("nilai pdn")),
        nilai_umk=parse_money(fields.get("nilai umk")),
        selesai=selesai.date() if selesai else None,
        rows=[
            RealisasiRow(v.get("jenis", ""), parse_money(v.get("nilai")), v.get("tanggal", ""), tuple(p))
            for v, p in rows
        ],
    )


def column_of(header: str) -> str | None:
    """The field a header cell names, in any of its known wordings; None for others (No, Email)."""
    name = squeeze(header).lower()
    if "npwp" in name:
        return "npwp"
    if "alamat" in name:
        return "alamat"
    if name.startswith("nama") or name in ("pemenang", "penyedia", "pelaksana"):
        return "nama"
    if "negosiasi" in name or "reverse auction" in name:
        return "negosiasi"
    if "terkoreksi" in name:
        return "terkoreksi"
    if "penawaran" in name:
        return "penawaran"
    for word in ("kontrak", "pdn", "umk"):
        if word in name:
            return word
    return None


def _result_rows(page_html: str, contract: bool) -> list[dict[str, str]]:
    """Named cells of each data row of the winner (or contract) tables of a result tab."""
    check_not_error(page_html)
    page = bounded_page(page_html)
    found, rows = False, []
    for table in page.xpath("//table"):
        head = _header(table)
        if head is None or ("kontrak" in head[1]) != contract:
            continue
        found = True
        rows += _data_rows(table, *head)
    if not found:
        return _label_record(page, contract)
    return rows


def _header(table: Selector) -> tuple[int, dict[str, list[int]]] | None:
    """(row index, field -> column indexes) of a result table's header row, else None."""
    for at, tr in enumerate(table.xpath(_OWN_ROWS)[:3]):
        cells = tr.xpath("./th | ./td")
        kinds = {cell.root.tag for cell in cells}
        if len(cells) < 2 or len(kinds) > 1 or any(cell.xpath("./table") for cell in cells):
            continue  # a label row (th + td) or a row holding tables is no header
        texts = [_text(cell) for cell in cells]
        columns: dict[str, list[int]] = {}
        for i, text in enumerate(texts):
            if (name := column_of(text)) is not None:
                columns.setdefault(name, []).append(i)
        if "nama" in columns:  # `Nama Pemenang` before any other name column (`Nama Paket`)
            columns["nama"].sort(key=lambda i: not re.search(PARTY_WORDS, texts[i], re.IGNORECASE))
        named_winner = any("pemenang" in texts[i].lower() for i in columns.get("nama", []))
        if "nama" in columns and (named_winner or MONEY_COLUMNS & columns.keys()):
            return at, columns
    return None


def _data_rows(table: Selector, at: int, columns: dict[str, list[int]]) -> list[dict[str, str]]:
    """The rows under the header whose cells line up with it and name someone."""
    width = 1 + max(i for indexes in columns.values() for i in indexes)
    rows = []
    for tr in table.xpath(_OWN_ROWS)[at + 1 :]:
        cells = tr.xpath("./td")
        if len(cells) < width:
            continue  # a "no data" row spanning the table, or a spacer
        texts = [_text(cell) for cell in cells]
        row = {name: next((texts[i] for i in indexes if texts[i]), "") for name, indexes in columns.items()}
        if row["nama"]:
            rows.append({name: value for name, value in row.items() if value})
    return rows


def _label_record(page: Selector, contract: bool) -> list[dict[str, str]]:
    """An older layout: the winner as label rows (`th` Nama Pemenang, `td` value); else refuse."""
    record: dict[str, str] = {}
    for th in page.xpath("//tr/th[following-sibling::td]"):
        name = column_of(_text(th))
        if name and name not in record and (name != "nama" or "pemenang" in _text(th).lower()):
            record[name] = _text(th.xpath("following-sibling::td[1]")[0])
    if record.get("nama") and ("kontrak" in record) == contract:
        return [{k: v for k, v in record.items() if v}]
    tab = "contract (Harga Kontrak)" if contract else "winner (Nama Pemenang)"
    raise MalformedPage(f"page has no {tab} table")


def _realisasi_header(table: Selector) -> tuple[int, int, dict[str, int]] | None:
    """(row index, width, {jenis, nilai, tanggal} -> column) of a Realisasi table, else None."""
    for at, tr in enumerate(table.xpath(_OWN_ROWS)[:3]):
        if tr.xpath("./td"):
            continue  # a label row such as `Nilai Total Realisasi | Rp. ...`
        texts = [_text(th).lower() for th in tr.xpath("./th")]
        if len(texts) < 2 or not any("realisasi" in text for text in texts):
            continue
        columns: dict[str, int] = {}
        for i, text in enumerate(texts):
            for name in ("jenis", "nilai", "tanggal"):
                if text.startswith(name):
                    columns.setdefault(name, i)
        return at, len(texts), columns
    return None


def _providers(table: Selector) -> list[Penyedia]:
    """Named rows of a nested provider table (Nama Penyedia/Pelaksana, NPWP, Alamat)."""
    for at, tr in enumerate(table.xpath(_OWN_ROWS)[:3]):
        columns: dict[str, list[int]] = {}
        for i, th in enumerate(tr.xpath("./th")):
            if (name := column_of(_text(th))) in ("nama", "npwp", "alamat"):
                columns.setdefault(name, []).append(i)
        if "nama" in columns:
            rows = _data_rows(table, at, columns)
            return [Penyedia(r["nama"], r.get("npwp"), r.get("alamat")) for r in rows]
    return []


def _money(row: dict[str, str], name: str) -> int | None:
    return parse_money(row.get(name))


def _text(cell: Selector) -> str:
    return squeeze(" ".join(cell.xpath(".//text()").getall()))
