"""The shapes a package takes between the spider and the database."""

from dataclasses import dataclass, field
from datetime import datetime

from lpse_crawler.spse.coverage import Coverage
from lpse_crawler.spse.listing import ListingRow
from lpse_crawler.spse.pages import Announcement, ScheduleRow
from lpse_crawler.spse.results import Contract, Winner
from lpse_crawler.store.crawl_state import Session


@dataclass
class RawPackage:
    """What the spider read about one package, still in the site's words."""

    instance: str  # slug the package was listed under
    timezone: str  # the instance's zone, e.g. Asia/Makassar
    kind: str  # 'tender' | 'nontender'
    listing: ListingRow
    cells: list  # the raw listing row, kept to retry the package if it fails
    announcement: Announcement
    schedule: list[ScheduleRow]
    url: str  # announcement page


@dataclass
class TenderItem:
    """One normalised package; natural key (kind, kode), listed under `instance`."""

    instance: str
    kind: str
    kode: str
    nama: str
    instansi: str
    satker: str | None
    kategori: str
    tahun_anggaran: list[int]
    metode: str
    tahap: str
    url: str
    listing_hash: str
    ulang: bool = False
    batal: bool = False
    gagal: bool = False
    labels: list[str] = field(default_factory=list)
    hps: int | None = None  # exact, from the announcement
    hps_listing: int | None = None  # the listing's rounded figure ("22,7 M")
    pagu: int | None = None
    nilai_kontrak: int | None = None
    sumber_dana: str | None = None
    kualifikasi_usaha: str | None = None  # 'Kecil' | 'Non Kecil' | None
    jenis_kontrak: str | None = None
    kbli: list[str] = field(default_factory=list)
    kbki: list[str] = field(default_factory=list)
    lokasi: list[str] = field(default_factory=list)
    tanggal_pembuatan: datetime | None = None
    deadline: datetime | None = None
    jadwal: list[list[str]] = field(default_factory=list)  # the jadwal tab: [tahap, mulai, sampai] as written
    stored_as: str = ""  # set by the store stage: 'new' | 'updated' | 'unchanged'
    newly_listed: bool = False  # set by the store stage: stored before, first seen on `instance`
    to_match: list[int] = field(default_factory=list)  # set by the store stage: tender ids to match
    first_seen_at: datetime | None = None  # set by the store stage when new: the moment stored
    to_tell: list[int] = field(default_factory=list)  # set by the store stage: followed packages updated


@dataclass
class ListingPage:
    """One listing page as read: rows whose details are to fetch, stored packages seen
    again, and the listing's coverage after this page (stored by compare-and-set)."""

    instance: str
    kind: str
    year: int
    to_fetch: list[tuple[str, list]]  # (kode, raw cells) of new or changed rows
    seen_again: list[str]  # codes of stored packages whose row did not change
    coverage: Coverage | None  # None: this page did not move the coverage
    to_match: list[int] = field(default_factory=list)  # set by the store stage: newly listed here


@dataclass
class SessionChange:
    """A listing session to keep for the next crawl (a fresh token), or to forget (refused)."""

    instance: str
    kind: str
    session: Session | None


@dataclass
class DetailFailure:
    """A package's detail pages could not be fetched or read this time."""

    instance: str
    kind: str
    kode: str
    cells: list
    error: str


@dataclass
class ListingChecked:
    """One listing (instance, kind, fiscal year) was checked: the new packages it had, or
    None when the check failed. The schedule plans its next check from this."""

    instance: str
    kind: str
    year: int
    found: int | None


@dataclass
class WatchedPackage:
    """A followed package's pages read again (following/watching.py), in the site's words;
    `winners` and `contracts` are None when their tab was not read this time."""

    instance: str
    timezone: str
    tender_id: int
    kode: str
    tahap: str | None  # the announcement's current stage; None when it does not say
    badges: list[str]
    schedule: list[ScheduleRow]
    winners: list[Winner] | None = None
    contracts: list[Contract] | None = None
    to_tell: list[int] = field(default_factory=list)  # set by the watch stage: the package, if it changed


@dataclass
class WatchFailed:
    """A followed package's pages could not be read this time: it is read again later."""

    instance: str
    tender_id: int
    error: str
