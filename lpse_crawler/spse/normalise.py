"""RawPackage -> TenderItem: one pure function, the only place values get typed."""

import re

from lpse_crawler.items import RawPackage, TenderItem
from lpse_crawler.spse import MalformedPage
from lpse_crawler.spse.pages import ScheduleRow
from lpse_crawler.spse.stages import CANCELLED_STAGES, DEADLINE_STAGES, FAILED_STAGES, canonical_stage
from lpse_crawler.spse.values import parse_abbreviated_money, parse_datetime, parse_money, squeeze

NOT_YET_CONTRACTED = "Nilai Kontrak belum dibuat"


def normalise(raw: RawPackage) -> TenderItem:
    """Type every field of a scraped package; raise MalformedPage on inconsistent data."""
    row, page = raw.listing, raw.announcement
    page_kode = page.get("kode tender", "kode paket")
    if page_kode and squeeze(page_kode) != row.kode:
        raise MalformedPage(f"announcement is for {page_kode}, listing row for {row.kode}")
    tahap = canonical_stage(row.tahap)
    labels = sorted(set(row.badges) | set(page.badges))
    return TenderItem(
        instance=raw.instance,
        kind=raw.kind,
        kode=row.kode,
        nama=page.get("nama tender", "nama paket") or row.nama,
        instansi=page.get("k/l/pd/instansi lainnya", "k/l/pd", "instansi") or row.instansi,
        satker=page.get("satuan kerja"),
        kategori=page.get("jenis pengadaan", "kategori") or row.kategori,
        tahun_anggaran=list(row.tahun_anggaran),
        metode=page.get("metode pengadaan") or row.metode,
        tahap=tahap,
        url=raw.url,
        listing_hash=row.row_hash,
        ulang=any("ulang" in label.lower() for label in labels),
        batal=tahap in CANCELLED_STAGES or any("batal" in lb.lower() for lb in labels),
        gagal=tahap in FAILED_STAGES or any("gagal" in lb.lower() for lb in labels),
        labels=labels,
        hps=parse_money(page.get("nilai hps paket", "hps")),
        hps_listing=parse_abbreviated_money(row.hps_listing),
        pagu=parse_money(page.get("nilai pagu paket", "pagu")),
        nilai_kontrak=None if NOT_YET_CONTRACTED in row.nilai_kontrak else parse_money(row.nilai_kontrak),
        sumber_dana=_funding_source(page.get("tahun anggaran")),
        kualifikasi_usaha=business_size(page.get("kualifikasi usaha")),
        jenis_kontrak=page.get("jenis kontrak") or None,
        kbli=list(page.kbli),
        kbki=list(page.kbki),
        lokasi=list(page.lokasi) or _split_nonempty(page.get("lokasi pekerjaan")),
        tanggal_pembuatan=parse_datetime(page.get("tanggal pembuatan"), raw.timezone),
        deadline=bid_deadline(raw.schedule, raw.timezone),
        jadwal=[[row.tahap, row.mulai, row.sampai] for row in raw.schedule],
    )


def business_size(text: str | None) -> str | None:
    """Kualifikasi usaha as 'Kecil' or 'Non Kecil' (Menengah and Besar are non-small)."""
    value = squeeze(text).lower()
    if not value:
        return None
    if "non" in value or "menengah" in value or "besar" in value:
        return "Non Kecil"
    return "Kecil" if "kecil" in value else None


def bid_deadline(schedule: list[ScheduleRow], tz: str):
    """The earliest end of a stage where bidders must submit (see DEADLINE_STAGES)."""
    ends = [
        parse_datetime(row.sampai, tz)
        for row in schedule
        if canonical_stage(row.tahap).startswith(DEADLINE_STAGES)
    ]
    ends = [end for end in ends if end is not None]
    return min(ends) if ends else None


def _funding_source(text: str | None) -> str | None:
    """`APBN 2026` -> 'APBN'; several sources are joined with '/'."""
    sources = re.findall(r"\b([A-Z][A-Z-]+)\s+\d{4}\b", text or "")
    return "/".join(dict.fromkeys(sources)) or None


def _split_nonempty(text: str | None) -> list[str]:
    return [text] if text else []
