"""Stage (tahap) names: canonical spelling and the status flags they imply."""

from functools import lru_cache

from lpse_crawler.spse.values import squeeze

CANONICAL_STAGES = (
    "Pengumuman Prakualifikasi",
    "Download Dokumen Kualifikasi",
    "Penjelasan Dokumen Prakualifikasi",
    "Kirim Persyaratan Kualifikasi",
    "Evaluasi Dokumen Kualifikasi",
    "Pembuktian Kualifikasi",
    "Penetapan Hasil Kualifikasi",
    "Pengumuman Hasil Prakualifikasi",
    "Masa Sanggah Prakualifikasi",
    "Pengumuman Pascakualifikasi",
    "Download Dokumen Pemilihan",
    "Pemberian Penjelasan",
    "Upload Dokumen Penawaran",
    "Pembukaan Dokumen Penawaran",
    "Pembukaan dan Evaluasi Penawaran File I: Administrasi dan Teknis",
    "Pembukaan dan Evaluasi Penawaran File I: Administrasi, Dokumen Kualifikasi, dan Teknis",
    "Pembukaan dan Evaluasi Penawaran File II: Harga",
    "Evaluasi Administrasi, Kualifikasi, Teknis, dan Harga",
    "Pengumuman Hasil Evaluasi Admin & Teknis",
    "Penetapan Pemenang",
    "Pengumuman Pemenang",
    "Masa Sanggah",
    "Surat Penunjukan Penyedia Barang/Jasa",
    "Penandatanganan Kontrak",
    "Evaluasi Penawaran",
    "Klarifikasi Teknis dan Negosiasi",
    "Tender Sudah Selesai",
    "Tender Batal",
    "Tender Gagal",
    "Seleksi Sudah Selesai",
    "Seleksi Batal",
    "Seleksi Gagal",
    "Tidak Ada Jadwal",
    "Paket Sedang Berjalan",
    "Paket Sudah Selesai",
    "Paket Dibatalkan",
)
ALIASES = {
    "pembukaan dan evaluasi penawaran file ii (harga)": "Pembukaan dan Evaluasi Penawaran File II: Harga",
    "sppbj": "Surat Penunjukan Penyedia Barang/Jasa",
}
_BY_KEY = {name.lower(): name for name in CANONICAL_STAGES} | ALIASES
CANCELLED_STAGES = {"Tender Batal", "Seleksi Batal", "Paket Dibatalkan"}
FAILED_STAGES = {"Tender Gagal", "Seleksi Gagal"}
# Stages at and after the winner's announcement (its result tabs may hold rows), and those
# at and after the contract's signing.
AWARDED_STAGES = {
    "Pengumuman Pemenang",
    "Masa Sanggah",
    "Surat Penunjukan Penyedia Barang/Jasa",
    "Penandatanganan Kontrak",
    "Tender Sudah Selesai",
    "Seleksi Sudah Selesai",
    "Paket Sudah Selesai",
}
CONTRACT_STAGES = {
    "Penandatanganan Kontrak",
    "Tender Sudah Selesai",
    "Seleksi Sudah Selesai",
    "Paket Sudah Selesai",
}
# Stages whose end ("Sampai" on the jadwal tab) is a bidder's deadline, earliest first.
DEADLINE_STAGES = ("Kirim Persyaratan Kualifikasi", "Upload Dokumen Penawaran")


CACHED_STAGE_CHARS = 200  # stage names up to this long are remembered (a page may hold longer)


def canonical_stage(text: str | None) -> str:
    """Squeeze, drop the `[...]` marker of parallel stages, and fix known spellings."""
    if text is not None and len(text) <= CACHED_STAGE_CHARS:
        return _canonical_cached(text)  # every jadwal repeats the same few names
    return _canonical(text)


@lru_cache(maxsize=1024)
def _canonical_cached(text: str) -> str:
    return _canonical(text)


def _canonical(text: str | None) -> str:
    cleaned = squeeze(text)
    if cleaned.endswith("]") and "[" in cleaned:
        cleaned = squeeze(cleaned[: cleaned.rindex("[")])
    return _BY_KEY.get(cleaned.lower(), cleaned)
