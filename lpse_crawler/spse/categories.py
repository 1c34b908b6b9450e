"""The jenis pengadaan (procurement categories) SPSE uses, as the site writes them."""

# Jenis pengadaan names seen on SPSE 4.5 (spse.md §7.1).
CATEGORIES = (
    "Pengadaan Barang",
    "Pekerjaan Konstruksi",
    "Jasa Konsultansi Badan Usaha Konstruksi",
    "Jasa Konsultansi Badan Usaha Non Konstruksi",
    "Jasa Lainnya",
    "Jasa Konsultansi Perorangan Konstruksi",
    "Jasa Konsultansi Perorangan Non Konstruksi",
    "Pekerjaan Konstruksi Terintegrasi",
)
