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
    "Nomor WhatsApp dan/atau email (minimal salah satu). Atau ketik /daftar saja: kami tanya satu per satu."
)
DAFTAR_NEEDS_CONTACT = "Tulis nomor WhatsApp atau email (minimal salah satu). " + DAFTAR_USAGE
DAFTAR_DONE = "Data tersimpan (terenkripsi). Lihat dengan /datasaya, ubah dengan /ubahdata."
# the guided /daftar (bot/registration.py): one question per message, each with a Lewati button
DAFTAR_ASK = {
    "name": "Langkah 1 dari 3: ketik <b>nama</b> Anda atau nama perusahaan.\n(Bisa juga sekaligus, dipisah "
    "titik koma: <code>/daftar Budi Santoso; 0812-3456-7890; budi@cvmaju.co.id</code>)",
    "phone": "Langkah 2 dari 3: ketik <b>nomor WhatsApp</b>, mis. <code>0812-3456-7890</code>.",
    "email": "Langkah 3 dari 3: ketik <b>email</b>, mis. <code>budi@cvmaju.co.id</code>.",
}
DAFTAR_CURRENT = "\nTersimpan sekarang: <code>{value}</code>. Tekan Lewati untuk tetap memakainya."
DAFTAR_SKIP = "Lewati"
DAFTAR_RETRY = "Ketik lagi, atau tekan Lewati."
DAFTAR_SAVED = "Tersimpan: {fields}."
DAFTAR_FIELD_LABELS = {"name": "nama", "phone": "WhatsApp", "email": "email"}
DAFTAR_NO_CONTACT = (
    "Anda belum mengisi nomor WhatsApp maupun email. Isi minimal salah satu dengan /daftar, "
    "agar kami bisa menghubungi Anda soal paket dan pembayaran."
)
DAFTAR_TWO = (
    "Ada dua {what}: <code>{first}</code> dan <code>{second}</code>. Tidak ada yang disimpan.\n"
    "Tulis satu {what} saja; bila keduanya satu nama, pisahkan dengan koma, "
    "mis. <code>Budi Santoso, CV Maju Jaya</code>."
)
DAFTAR_WHAT = {"name": "nama", "phone": "nomor WhatsApp", "email": "email"}
DAFTAR_NOTHING_SAVED = "Tidak ada yang disimpan; perbaiki lalu kirim lagi."
# a value that cannot be used, whoever holds it: says nothing about another account
DAFTAR_TAKEN = {
    "phone": "Nomor WhatsApp <code>{value}</code> tidak dapat dipakai. Hubungi /bantuan bila ini nomor Anda.",
    "email": "Email <code>{value}</code> tidak dapat dipakai. Hubungi /bantuan bila ini email Anda.",
}

FILTER_START = (
    "Membuat filter baru. Pilih <b>provinsi</b> (atau Semua provinsi), "
    "atau <b>ketik sebagian nama LPSE</b>, mis. <code>surabaya</code> atau <code>kesehatan</code>:"
)
FILTER_PICK_INSTANCE = (
    "Provinsi <b>{province}</b>. Pilih <b>LPSE</b>, semua LPSE di provinsi ini, "
    "atau ketik sebagian nama LPSE:"
)
FILTER_FOUND = "{count} LPSE cocok dengan <b>{query}</b>{many}. Pilih, atau ketik nama lain:"
FILTER_FOUND_MANY = " (ditampilkan {shown} pertama; ketik lebih lengkap untuk mempersempit)"
FILTER_FOUND_NONE = (
    "Tidak ada LPSE yang cocok dengan <b>{query}</b>. Ketik sebagian nama yang lain, "
    "mis. <code>jawa timur</code> atau <code>pupr</code>, atau pilih dari tombol di atas."
)
FILTER_ALL_OF_PROVINCE = "Provinsi {province} »"
FILTER_PICK_CATEGORY = "Pilih <b>kategori</b>:"
FILTER_ASK_KEYWORDS = (
    'Ketik <b>kata kunci</b>, mis. <code>jalan | jembatan "beton bertulang" -rehabilitasi</code>\n'
    "Ketik <code>-</code> bila semua paket di pilihan tadi. Cara menulis: /filter bantuan"
)
FILTER_ASK_KEYWORDS_REQUIRED = (
    'Ketik <b>kata kunci</b>, mis. <code>jalan | jembatan "beton bertulang" -rehabilitasi</code>\n'
    "Karena Anda memilih semua LPSE dan semua kategori, kata kunci wajib. Cara menulis: /filter bantuan"
)
FILTER_NEEDS_KEYWORDS = (
    "Semua LPSE dan semua kategori tanpa kata kunci berarti semua paket di Indonesia. "
    "Ketik minimal satu kata kunci, mis. <code>jembatan</code>."
)
FILTER_EVERY_PACKAGE = "Semua paket"
FILTER_SAVED = (
    "Filter <b>{name}</b> tersimpan:\n<code>{spec}</code>\nBerlaku mulai sekarang untuk paket baru."
)
# The preview under a saved filter (matching/preview.py): stored packages only, nothing sent.
PREVIEW = "Filter ini cocok dengan <b>{count} paket</b> dalam {days} hari terakhir{capped}, misalnya:"
PREVIEW_NONE = "Belum ada paket dalam {days} hari terakhir yang cocok dengan filter ini."
PREVIEW_CAPPED = " (dari {scanned} paket terbaru)"
PREVIEW_FAILED = "Pratinjau filter tidak tersedia saat ini; filter tetap tersimpan dan aktif."
PREVIEW_EXAMPLE = '• <a href="{url}">{nama}</a>'
FILTER_EXPIRED = "Pembuatan filter ini sudah kedaluwarsa. Ketik /filter untuk mulai lagi."
# The filter language (lpse_crawler/matching/filters.py) for users, sent by /filter bantuan
# as FILTER_HELP. Plain text, not HTML: it has "<=" and quotes, so escape it before sending.
FILTER_HELP_TEXT = """Cara menulis filter (satu baris):

Kata kunci, dicocokkan dengan nama paket (huruf besar/kecil, aksen dan tanda baca diabaikan; kata utuh):
  jalan beton           kedua kata harus ada (DAN); boleh juga ditulis jalan & beton
  jalan | jembatan      salah satu cukup (ATAU)
  "beton bertulang"     frasa persis
  -rehabilitasi         kecualikan. Pengecualian SELALU menang: paket dengan kata ini tidak dikirim,
                        walaupun kata lain cocok.
Kolom (boleh beberapa nilai, dipisah koma):
  lpse:kemkes,jakarta              kode LPSE
  provinsi:"Jawa Timur"            semua LPSE di provinsi itu
  instansi:"Kementerian Kesehatan" nama K/L/PD (cukup sebagian nama)
  kategori:barang,konstruksi       barang, konstruksi, konsultansi, konsultansi-konstruksi,
                                   perorangan, perorangan-konstruksi, lainnya, terintegrasi
  jenis:tender atau jenis:nontender
  kbli:41011,42                    kode KBLI (awalan kode juga cocok)
  kualifikasi:kecil atau kualifikasi:nonkecil (paket tanpa keterangan tetap dikirim)
  hps:200jt-5m   hps:>=1m   hps:<=500jt   (satuan rb, jt, m, t)
  hpskosong:tidak                  jangan kirim paket yang HPS-nya belum diketahui
Aturan HPS: dipakai HPS; bila belum ada, pagu; bila keduanya belum diketahui, paket tetap
dikirim, kecuali Anda menulis hpskosong:tidak.
Paket yang batas penawarannya sudah lewat saat kami temukan tidak dikirim sebagai paket baru.
Contoh: jalan | jembatan "beton bertulang" -rehabilitasi provinsi:"Jawa Timur" hps:200jt-5m"""
FILTER_HELP = (
    "<pre>{help}</pre>\nKirim dengan <code>/filter</code> di depannya. "
    'Untuk kata kunci "bantuan" saja, tulis <code>/filter "bantuan"</code>.'
)
NO_FILTERS = "Anda belum punya filter. Ketik /filter untuk membuat."
FILTER_LIST_HEADER = "<b>Filter Anda</b> (hapus dengan /hapusfilter nomor):"
FILTER_DELETED = "Filter <b>{name}</b> dihapus."
FILTER_NOT_FOUND = "Filter nomor itu tidak ada. Lihat /filterku."
HAPUSFILTER_PICK = "Pilih filter yang akan dihapus:"

PAUSED = (
    "Notifikasi dijeda. Paket yang cocok tetap kami simpan; ketik /lanjut untuk menerima lagi "
    "beserta ringkasannya."
)
RESUMED = "Notifikasi aktif kembali."
ALREADY_ACTIVE = "Notifikasi Anda sudah aktif."
WELCOME_BACK = "Selamat datang kembali! Notifikasi aktif lagi."
# After RESUMED or WELCOME_BACK: what matched while the subscriber was paused or unreachable.
MISSED_NONE = "Tidak ada paket baru yang cocok selama itu."
MISSED_HEADING = "Selama itu ada <b>{count} paket</b> yang cocok dengan filter Anda:"
# Subscriber statuses (people/models.py SubscriberStatus) as the bot shows them.
STATUS_WORDS = {"active": "aktif", "paused": "dijeda", "blocked": "diblokir", "deleted": "dihapus"}
STATUS = (
    "<b>Status akun</b>\nPaket: {plan}{expiry}\nFilter aktif: {filters} dari {max_filters}\n"
    "Notifikasi bulan ini: {month}\nStatus: {status}"
)
PLAN_LINE = (
    "• <b>{label}</b>: {price}, {filters} filter, {instances} LPSE dan {keywords} kata kunci per filter, "
    "{delivery}"
)
PLAN_DELIVERY = {True: "notifikasi langsung", False: "ringkasan harian"}
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
HAPUSAKUN_PAID = (
    "\n\n<b>Perhatian:</b> paket {label} Anda yang sudah dibayar (sampai {until:%d-%m-%Y}) ikut hangus "
    "dan tidak bisa dipindahkan ke akun baru."
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
    "/diikuti paket yang Anda ikuti\n/terbaru paket terbaru yang cocok\n"
    "/ekspor 30 unduh paket yang cocok (CSV)\n"
    "/hapusfilter hapus filter\n/ringkasan kirim langsung atau ringkasan harian\n"
    "/jamtenang jam tanpa notifikasi\n/zona zona waktu (WIB, WITA, WIT)\n"
    "/jeda dan /lanjut jeda atau lanjutkan notifikasi\n/status status akun\n"
    "/paket paket berbayar\n/datasaya unduh data Anda\n/ubahdata perbaiki data\n/hapusakun hapus akun\n"
    "/privasi kebijakan privasi\n\nPerlu bantuan admin, atau mengirim bukti transfer? "
    "Tekan <b>Tulis pesan ke admin</b>."
)
# When to be told (bot/delivery.py).
DIGEST_HEADER = "<b>Kapan filter Anda mengirim</b>"
AT_ONCE = "langsung"
DIGEST_AT = "ringkasan harian pukul {when}"
DIGEST_HELP = (
    "\nUbah dengan <code>/ringkasan 1 7</code> (ringkasan harian pukul 07:00) atau "
    "<code>/ringkasan 1 langsung</code>. Jam tenang: /jamtenang. Zona waktu: /zona."
)
DIGEST_HELP_FREE = (
    "\nPaket Gratis mengirim ringkasan harian; ubah jamnya dengan <code>/ringkasan 1 19</code>. "
    "Kirim langsung ada di paket Dasar dan Pro (/paket)."
)
DIGEST_USAGE = (
    "Tulis nomor filter (1-{count}) lalu jamnya, misalnya <code>/ringkasan 1 7</code>, "
    "atau <code>/ringkasan 1 langsung</code>. Lihat semua dengan /ringkasan."
)
DIGEST_ON = "Filter <b>{name}</b> kini dikirim sebagai ringkasan harian pukul {when}, untuk paket berikutnya."
DIGEST_OFF = "Filter <b>{name}</b> kini dikirim langsung, untuk paket berikutnya."
QUIET_NONE = (
    "Belum ada jam tenang. Atur dengan <code>/jamtenang 21-6</code>: notifikasi paket pada jam itu "
    "ditahan dan dikirim sebagai satu ringkasan saat jam tenang selesai."
)
QUIET_SHOW = "Jam tenang Anda: {window}. Matikan dengan <code>/jamtenang mati</code>."
QUIET_SET = (
    "Jam tenang diatur: {window}. Paket yang cocok pada jam itu dikirim sebagai satu ringkasan "
    "saat jam tenang selesai."
)
QUIET_OFF = (
    "Jam tenang dimatikan: notifikasi berikutnya dikirim kapan saja (yang sudah ditahan tetap "
    "datang saat jam tenang tadi selesai)."
)
ZONE_SHOW = (
    "Zona waktu Anda: {zone}. Ubah dengan <code>/zona WIB</code>, <code>WITA</code> atau <code>WIT</code>."
)
ZONE_SET = "Zona waktu diatur ke {zone}. Jam ringkasan dan jam tenang mengikuti zona ini."
# Support both ways (bot/support.py). Admins see the subscriber's number only, never personal data.
SUPPORT_BUTTON = "Tulis pesan ke admin"
SUPPORT_ASK = (
    "Tulis pesan Anda, atau kirim foto/dokumen (mis. bukti transfer). Semua yang Anda kirim berikutnya "
    "kami teruskan ke admin, sampai Anda mengetik perintah lain."
)
SUPPORT_FORWARDED = "Pesan Anda sudah diteruskan ke admin. Kami akan membalas di sini."
SUPPORT_NO_ADMIN = "Maaf, admin belum dapat dihubungi. Coba lagi nanti."
SUPPORT_TO_ADMIN = "<b>Pesan bantuan</b> dari pelanggan #{id} (balas pesan ini untuk menjawab):"
SUPPORT_ANSWER = "<b>Jawaban admin</b> (balas pesan ini untuk menanggapi):"
SUPPORT_ANSWERED = "Jawaban terkirim ke pelanggan #{id}."
SUPPORT_NOT_DELIVERED = "Jawaban <b>tidak terkirim</b> ke pelanggan #{id}: {reason}"
SUPPORT_GONE = "Pelanggan ini sudah tidak ada (akunnya dihapus); jawaban tidak dikirim."
MEDIA_HINT = (
    "Foto atau dokumen ini belum kami teruskan ke siapa pun. Untuk mengirimnya ke admin "
    "(mis. bukti transfer), tekan tombol di bawah lalu kirim ulang."
)
MEDIA_UNSUPPORTED = "Bot ini hanya memahami teks, foto dan dokumen. Ketik /bantuan untuk daftar perintah."
# Chats and limits (bot/app.py)
PRIVATE_ONLY = "Pantau LPSE hanya melayani chat pribadi. Buka {link} lalu ketik /start."
PRIVATE_ONLY_BUTTON = "Tombol ini hanya berlaku di chat pribadi dengan bot."
TOO_FAST = "Pesan Anda terlalu cepat. Tunggu sebentar; pesan yang datang terlalu rapat tidak kami proses."
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

# paying in the bot (bot/paying.py, bot/payment_poller.py)
PAY_CHOOSE_PLAN = "Pilih paket untuk dibayar di sini (QRIS, virtual account atau e-wallet):"
PAY_PLAN_BUTTON = "Bayar {label} ({price})"
PAY_CHOOSE_PERIOD = "Paket <b>{label}</b> ({price}). Pilih lama langganan:"
PAY_PERIOD_BUTTON = "{months} bulan · {amount}"
PAY_LINK = (
    "Tagihan paket <b>{label}</b> {months} bulan: <b>{amount}</b>.\n"
    "Bayar lewat tautan ini (QRIS, virtual account atau e-wallet), berlaku sampai {until} WIB:\n"
    '<a href="{url}">{url}</a>\n'
    "Setelah pembayaran diterima, paket aktif otomatis dan faktur dikirim di sini."
)
PAY_LINK_BUTTON = "Bayar sekarang"
PAY_UNAVAILABLE = "Pembayaran sedang tidak bisa dibuat. Coba lagi beberapa saat lagi, atau ketik /bantuan."
PAY_RECEIPT = (
    "✅ <b>Pembayaran diterima</b>, terima kasih!\n"
    "Faktur {number}: {amount} untuk paket {label} {start} s.d. {end}.\n"
    "Paket {label} Anda aktif sampai {until}."
)
PAY_FAKTUR = "Faktur {number}"
PAY_EXPIRED = "Tagihan paket {label} {months} bulan ({amount}) sudah kedaluwarsa dan tidak dibayar."
PAY_FAILED = "Tagihan paket {label} {months} bulan ({amount}) dibatalkan oleh penyedia pembayaran."
PAY_RETRY_BUTTON = "Coba lagi"
PAY_CHECKING = (
    "Pembayaran tagihan paket {label} {months} bulan sedang kami periksa. Admin akan menghubungi "
    "Anda di sini; ketik /bantuan bila ada pertanyaan."
)
PAY_ADMIN_PROBLEM = "<b>Pembayaran perlu diperiksa</b>: checkout #{id} (pelanggan #{subscriber}): {problem}"
# a /hapusfilter button whose filter is gone (ids are never reused) or is not this chat's
FILTER_GONE = "Filter sudah dihapus. Lihat /filterku untuk filter Anda sekarang."

# Looking back (bot/looking_back.py): /terbaru and /ekspor.
RECENT_HEADER = "<b>Paket terbaru yang cocok dengan filter Anda</b> (halaman {page}):"
RECENT_LINE = '{n}. <a href="{url}">{nama}</a>\n   cocok {matched}; {state}'
RECENT_DEADLINE = "batas penawaran {deadline}"
RECENT_STAGE = "tahap: {tahap}"
RECENT_FOLLOW = "Ikuti {n}"
RECENT_NEWER, RECENT_OLDER = "« Lebih baru", "Lebih lama »"
RECENT_NONE = (
    "Belum ada paket yang cocok dengan filter Anda. Buat atau lihat filter dengan /filter dan /filterku."
)
RECENT_END = "Tidak ada paket lebih lama lagi."
EKSPOR_USAGE = "Tulis jumlah hari, 1 sampai {max}, mis. <code>/ekspor 30</code> (tanpa angka: 30 hari)."
EKSPOR_NONE = "Tidak ada paket yang cocok dengan filter Anda dalam {days} hari terakhir."
EKSPOR_CAPTION = (
    "{rows} paket yang cocok dengan filter Anda dalam {days} hari terakhir (CSV, buka dengan Excel)."
)
EKSPOR_CUT = " Hanya {rows} paket terbaru; persingkat periodenya untuk yang lebih lama."
# Following packages (bot/following.py): the buttons under every tender alert, /diikuti.
FOLLOW_BUTTON, IGNORE_BUTTON = "Ikuti", "Abaikan"
FOLLOWED = (
    "Anda mengikuti <b>{nama}</b>. Kami ingatkan 3 hari dan 1 hari sebelum batas penawaran, pukul 07.00 "
    "waktu setempat. Lihat semua dengan /diikuti."
)
FOLLOWED_NO_DEADLINE = (
    "Anda mengikuti <b>{nama}</b>. Paket ini tidak sedang menerima penawaran. Lihat /diikuti."
)
ALREADY_FOLLOWED = "Anda sudah mengikuti <b>{nama}</b>. Lihat /diikuti."
FOLLOW_LIMIT = (
    "Paket {plan} hanya boleh mengikuti {limit} paket sekaligus. "
    "Berhenti ikuti salah satu di /diikuti.\n{hint}"
)
PACKAGE_GONE = "Paket itu tidak ada lagi di data kami."
IGNORED = "Paket diabaikan: tombolnya dihapus dan paket ini tidak Anda ikuti."
UNFOLLOWED = "Berhenti mengikuti <b>{nama}</b>."
NOT_FOLLOWED = "Paket itu tidak sedang Anda ikuti. Lihat /diikuti."
NO_FOLLOWS = "Anda belum mengikuti paket apa pun. Tekan <b>Ikuti</b> di bawah notifikasi paket."
FOLLOWS_HEADER = "<b>Paket yang Anda ikuti</b> ({count} dari {limit}); tekan tombol untuk berhenti mengikuti:"
FOLLOW_LINE = "{n}. <b>{nama}</b> ({lpse})\n   {when}"
FOLLOW_DEADLINE = "batas penawaran {deadline}"
FOLLOW_STAGE = "tahap: {tahap}"
UNFOLLOW_BUTTON = "Berhenti ikuti {n}"
