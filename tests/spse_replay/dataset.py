"""The packages the replay server publishes, built from recorded DataTables rows.

The rows of instance `kemkes` are the recorded ones (tests/files/recorded/dt_*_kemkes_*.json)
unchanged. Other instances get copies with their own codes (synthetic), and the first
tender rows of `kemkes` are listed under `nasional` too, as SPSE does for shared packages.
Detail values the listing lacks (exact HPS and pagu, satker, location, KBLI, dates) are
synthetic, derived from the code (dates also from the day of the run) so that every run
serves the same pages.
"""

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

RECORDED = Path(__file__).resolve().parent.parent / "files" / "recorded"
UNITS = {"Rb": 10**3, "Jt": 10**6, "M": 10**9, "T": 10**12}
SATKER = ["DINAS PEKERJAAN UMUM DAN PENATAAN RUANG", "RSUP DR. SARDJITO", "SEKRETARIAT DAERAH"]
LOKASI = ["Jl. Dr. Sumeru No. 114 Bogor - Bogor (Kota)", "Kantor Pusat - Jakarta Selatan (Kota)"]
# The KBLI requirement as each kind's page writes it: (first cell, second cell, codes to store).
# Tenders: a code table row (Kode KBLI | Deskripsi). Non-tenders: an Izin Usaha row whose text
# holds the codes, as the real non-tender pages write them (`KBLI 2020 -71102`).
KBLI = {
    "tender": [
        ("41011", "Konstruksi Gedung Hunian", ["41011"]),
        ("46691", "Perdagangan Besar Bahan Kimia", ["46691"]),
    ],
    "nontender": [
        (
            "SBU",
            "Jasa Konsultansi Konstruksi, Subklasifikasi Rekayasa Pekerjaan Teknik Sipil Air (RE102) "
            "KBLI 2020 -71102",
            ["71102"],
        ),
        (
            "NIB",
            "Perdagangan besar alat laboratorium, farmasi dan kedokteran KBLI 2020 : 46693, 46694",
            ["46693", "46694"],
        ),
        ("SIUP dan NIB", "KBLI 2017 - 86103 Aktivitas Pelayanan Penunjang Kesehatan", ["86103"]),
    ],
}
KUALIFIKASI = ["Kecil", "Perusahaan Non Kecil", "Menengah"]
SHARED_WITH_NASIONAL = 3  # first kemkes tender rows also listed under `nasional`


@dataclass
class Package:
    """One package as the server knows it: its listing cells and its detail values."""

    kind: str  # 'tender' | 'nontender'
    cells: list
    hps: int
    pagu: int
    satker: str
    lokasi: str
    kbli: tuple[str, str] | None  # the two cells the page writes before the `KBLI 2020` cell
    kbli_codes: list[str]  # what the crawler must store from them
    kualifikasi: str | None
    tanggal_pembuatan: datetime
    deadline: datetime
    instances: set[str] = field(default_factory=set)
    winners: list[tuple[str, int]] = field(default_factory=list)  # (name, price) on the winner tab
    contracts: list[tuple[str, int]] = field(default_factory=list)  # (name, nilai) on the contract tab
    deadline_text: str | None = None  # the jadwal writes the deadline so instead (a date it mangled)

    @property
    def kode(self) -> str:
        return str(self.cells[0])

    @property
    def years(self) -> list[int]:
        category = self.cells[8 if self.kind == "tender" else 6]
        return [int(y) for y in category.rsplit(" - TA ", 1)[1].split(",")]


def listing_amount(text: str) -> int:
    number, unit = text.split()
    return int(Decimal(number.replace(",", ".")) * UNITS[unit])


def make_package(kind: str, cells: list) -> Package:
    seed = int(str(cells[0])[:-3] or "0")
    hps = listing_amount(cells[4]) + (seed % 997) * 1000
    # Dates follow the day the tests run: created in the past, bids still open (a package
    # whose deadline has passed is not announced as new: lpse_crawler/matching/alerts.py).
    created = datetime.combine(date.today(), datetime.min.time()) - timedelta(days=seed % 300)
    kbli = KBLI[kind][seed // 3 % len(KBLI[kind])] if seed % 3 else None
    return Package(
        kind=kind,
        cells=list(cells),
        hps=hps,
        pagu=hps + hps // 20,
        satker=SATKER[seed % len(SATKER)],
        lokasi=LOKASI[seed % len(LOKASI)],
        kbli=kbli[:2] if kbli else None,
        kbli_codes=kbli[2] if kbli else [],
        kualifikasi=KUALIFIKASI[seed % len(KUALIFIKASI)] if kind == "tender" else None,
        tanggal_pembuatan=created,
        deadline=created + timedelta(days=14 + seed % 300, hours=15, minutes=(seed % 4) * 15),
    )


class Dataset:
    """Packages by (kind, kode), and which instances list each one."""

    def __init__(self, instances: list[str], rows_per_kind: int = 25):
        self.packages: dict[tuple[str, str], Package] = {}
        self._next_code = 20_000_000_000
        for kind, name in (("tender", "lelang"), ("nontender", "pl")):
            rows = json.loads((RECORDED / f"dt_{name}_kemkes_tahun2025.json").read_text())["data"]
            rows = rows[:rows_per_kind]
            for index, slug in enumerate(instances):
                for n, row in enumerate(rows):
                    cells = list(row)
                    if slug != "kemkes":
                        cells[0] = f"{int(row[0][:-3]) + 1_000_000 * (index + 1)}000"
                    package = self._add(kind, cells, slug)
                    if slug == "kemkes" and kind == "tender" and n < SHARED_WITH_NASIONAL:
                        package.instances.add("nasional")

    def _add(self, kind: str, cells: list, slug: str) -> Package:
        package = self.packages.get((kind, str(cells[0]))) or make_package(kind, cells)
        self.packages[(kind, package.kode)] = package
        package.instances.add(slug)
        return package

    def listed(self, slug: str, kind: str, year: int) -> list[Package]:
        return [
            p for p in self.packages.values() if p.kind == kind and slug in p.instances and year in p.years
        ]

    def get(self, slug: str, kind: str, kode: str) -> Package | None:
        package = self.packages.get((kind, kode))
        return package if package and slug in package.instances else None

    def publish(
        self, slug: str, kind: str, count: int, year: int = 2025, name: str | None = None
    ) -> list[Package]:
        """New packages appear (synthetic names, highest codes), like a new announcement."""
        template = next(p.cells for p in self.packages.values() if p.kind == kind)
        new = []
        for _ in range(count):
            self._next_code += 1000
            cells = list(template)
            cells[0] = str(self._next_code)
            cells[1] = name or f"Paket Baru {self._next_code} Pembangunan Jembatan Beton"
            cells[3] = "Pengumuman Pascakualifikasi" if kind == "tender" else "Upload Dokumen Penawaran"
            col = 8 if kind == "tender" else 6
            cells[col] = f"{cells[col].rsplit(' - TA ', 1)[0]} - TA {year}"
            new.append(self._add(kind, cells, slug))
        return new

    def set_stage(self, kind: str, kode: str, stage: str) -> None:
        self.packages[(kind, kode)].cells[3] = stage

    def move_deadline(self, kind: str, kode: str, by: timedelta) -> None:
        """The jadwal's bid deadline moves; the listing row shows nothing of it."""
        self.packages[(kind, kode)].deadline += by

    def announce_winner(self, kind: str, kode: str, nama: str, harga: int) -> None:
        """The winner tab gets its row and the listing's stage says so."""
        self.packages[(kind, kode)].winners.append((nama, harga))
        self.set_stage(kind, kode, "Pengumuman Pemenang")
