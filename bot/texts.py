"""Every text the bot sends, in Indonesian (HTML parse mode: user values are escaped by callers)."""

WELCOME = (
    "Selamat datang di <b>Pantau LPSE</b>!\n\n"
    "Kami memantau ±600 LPSE dan mengirim tender baru yang cocok dengan filter Anda, "
    "dalam hitungan menit.\n\n"
    "Sebelum mulai, baca /privasi. Dengan menekan <b>Setuju</b>, Anda menyetujui kebijakan privasi kami."
)
CONSENT_BUTTON = "Setuju"
CONSENTED = (
    "Terima kasih! Anda mendapat <b>uji coba {days} hari</b>.\n\n"
    "Langkah berikutnya:\n1. /daftar nama dan nomor WhatsApp atau email\n2. /filter untuk memilih tender"
)
NEED_START = "Ketik /start dan setujui kebijakan privasi terlebih dahulu."
ALREADY = "Anda sudah terdaftar. Ketik /bantuan untuk daftar perintah."

DAFTAR_USAGE = (
    "Tulis dalam satu baris, dipisah titik koma:\n"
    "<code>/daftar Budi Santoso; 0812-3456-7890; budi@cvmaju.co.id</code>\n"
    "Nomor WhatsApp dan/atau email (minimal salah satu)."
)
DAFTAR_NEEDS_CONTACT = "Tulis nomor WhatsApp atau email (minimal salah satu). " + DAFTAR_USAGE
DAFTAR_DONE = "Data tersimpan (terenkripsi). Lihat dengan /datasaya, ubah dengan /ubahdata."

FILTER_START = "Membuat filter baru. Pilih <b>provinsi</b> (atau Semua provinsi):"
FILTER_PICK_INSTANCE = "Provinsi <b>{province}</b>. Pilih <b>LPSE</b>, atau semua LPSE di provinsi ini:"
FILTER_PICK_CATEGORY = "Pilih <b>kategori</b>:"
FILTER_ASK_KEYWORDS = (
    'Ketik <b>kata kunci</b>, mis. <code>jalan | jembatan "beton bertulang" -rehabilitasi</code>\n'
    "Ketik <code>-</code> bila semua paket di pilihan tadi."
)
FILTER_SAVED = (
    "Filter <b>{name}</b> tersimpan:\n<code>{spec}</code>\nBerlaku mulai sekarang untuk paket baru."
)
FILTER_EXPIRED = "Pembuatan filter ini sudah kedaluwarsa. Ketik /filter untuk mulai lagi."
# The filter language (lpse_crawler/matching/filters.py) for users. Plain text, not HTML:
# it has "<=" and quotes, so escape it before sending in HTML parse mode.
FILTER_HELP_TEXT = """Cara menulis filter (satu baris):

Kata kunci, dicocokkan dengan nama paket (huruf besar/kecil, aksen dan tanda baca diabaikan; kata utuh):
  jalan beton           kedua kata harus ada (DAN)
  jalan | jembatan      salah satu cukup (ATAU)
  "beton bertulang"     frasa persis
  -rehabilitasi         kecualikan. Pengecualian SELALU menang: paket dengan kata ini tidak dikirim,
                        walaupun kata lain cocok.
Kolom (boleh beberapa nilai, dipisah koma):
  lpse:kemkes,jakarta              kode LPSE
  provinsi:"Jawa Timur"            semua LPSE di provinsi itu
  instansi:"Kementerian Kesehatan" nama K/L/PD (cukup sebagian nama)
  kategori:barang,konstruksi       barang, konstruksi, konsultansi, konsultansi-konstruksi,
                                   perorangan, lainnya, terintegrasi
  jenis:tender atau jenis:nontender
  kbli:41011,42                    kode KBLI (awalan kode juga cocok)
  kualifikasi:kecil atau kualifikasi:nonkecil (paket tanpa keterangan tetap dikirim)
  hps:200jt-5m   hps:>=1m   hps:<=500jt   (satuan rb, jt, m, t)
  hpskosong:tidak                  jangan kirim paket yang HPS-nya belum diketahui
Aturan HPS: dipakai HPS; bila belum ada, pagu; bila keduanya belum diketahui, paket tetap
dikirim, kecuali Anda menulis hpskosong:tidak.
Contoh: jalan | jembatan "beton bertulang" -rehabilitasi provinsi:"Jawa Timur" hps:200jt-5m"""
NO_FILTERS = "Anda belum punya filter. Ketik /filter untuk membuat."
FILTER_LIST_HEADER = "<b>Filter Anda</b> (hapus dengan /hapusfilter nomor):"
FILTER_DELETED = "Filter <b>{name}</b> dihapus."
FILTER_NOT_FOUND = "Filter nomor itu tidak ada. Lihat /filterku."
HAPUSFILTER_PICK = "Pilih filter yang akan dihapus:"

PAUSED = "Notifikasi dijeda. Ketik /lanjut untuk menerima lagi."
RESUMED = "Notifikasi aktif kembali."
STATUS = (
    "<b>Status akun</b>\nPaket: {plan}{expiry}\nFilter aktif: {filters} dari {max_filters}\n"
    "Notifikasi bulan ini: {month}\nStatus: {status}"
)
PLAN_LINE = (
    "• <b>{label}</b>: {price}, {filters} filter, {instances} LPSE dan {keywords} kata kunci per filter"
)
PAKET = "<b>Paket Pantau LPSE</b>\n{plans}\n\nCara membayar: {payment}"

DATASAYA = "Ini semua data yang kami simpan tentang Anda."
UBAHDATA_USAGE = (
    "Ubah satu data per pesan:\n<code>/ubahdata nama Budi Santoso</code>\n"
    "<code>/ubahdata wa 0812-3456-7890</code>\n"
    "<code>/ubahdata email budi@cvmaju.co.id</code>\n<code>/ubahdata hapus email</code> (menghapus satu data)"
)
UBAHDATA_DONE = "Data diperbarui."
HAPUSAKUN_CONFIRM = (
    "Hapus akun akan menghapus <b>semua</b> data Anda (nama, kontak, filter, riwayat notifikasi). "
    "Tidak bisa dibatalkan. Lanjutkan?"
)
HAPUSAKUN_YES, HAPUSAKUN_NO = "Ya, hapus semua", "Batal"
HAPUSAKUN_DONE = "Akun dan semua data Anda telah dihapus. Terima kasih telah memakai Pantau LPSE."
CANCELLED = "Dibatalkan."

PRIVASI = (
    "<b>Kebijakan privasi (ringkas)</b>\n"
    "• Kami menyimpan nama, nomor WhatsApp dan/atau email, username Telegram, pilihan LPSE dan kategori, "
    "serta data pembayaran untuk paket berbayar.\n"
    "• Data pribadi disimpan terenkripsi dan hanya dapat diakses staf yang berwenang.\n"
    "• Statistik pemakaian hanya berupa angka anonim.\n"
    "• Anda berhak melihat (/datasaya), memperbaiki (/ubahdata) dan menghapus (/hapusakun) data Anda.\n"
    "• Perubahan layanan dan kebijakan diumumkan lewat bot ini dan ke email Anda bila Anda memberikannya; "
    "pertanyaan lewat /bantuan."
)
BANTUAN = (
    "<b>Perintah</b>\n/start mulai\n/daftar isi nama dan kontak\n/filter buat filter\n"
    "/filterku daftar filter\n"
    "/hapusfilter hapus filter\n/jeda dan /lanjut jeda atau lanjutkan notifikasi\n/status status akun\n"
    "/paket paket berbayar\n/datasaya unduh data Anda\n/ubahdata perbaiki data\n/hapusakun hapus akun\n"
    "/privasi kebijakan privasi\n\nPerlu bantuan? <b>Ketik pesan Anda sekarang</b>: pesan berikutnya kami "
    "teruskan ke admin."
)
SUPPORT_FORWARDED = "Pesan Anda sudah diteruskan ke admin. Kami akan membalas di sini."
SUPPORT_TO_ADMIN = "<b>Pesan bantuan</b> dari pelanggan #{id}:\n{text}"
UNKNOWN_COMMAND = "Perintah tidak dikenal. Ketik /bantuan untuk daftar perintah."
FREE_TEXT = (
    "Saya belum mengerti pesan itu. Ketik /bantuan untuk daftar perintah, atau /filter untuk membuat filter."
)
TOO_LONG = "Pesan terlalu panjang (maksimal {limit} karakter)."
NOT_ADMIN = UNKNOWN_COMMAND
STATS = (
    "<b>Statistik</b>\nPelanggan: {active} aktif, {paused} dijeda, {blocked} memblokir bot\n"
    "Filter aktif: {filters}\nPaket tersimpan: {tenders}\n"
    "Antrian: {queued}, terkirim hari ini: {sent_today}, gagal: {dead}"
)
BROADCAST_USAGE = "Tulis: <code>/broadcast isi pengumuman</code>"
BROADCAST_QUEUED = "Pengumuman masuk antrian untuk {count} pelanggan aktif."
BAD_BUTTON = "Tombol ini sudah tidak berlaku."
