"""A tender as one Telegram message in HTML parse mode, every value escaped, <= 4096 chars."""

from datetime import datetime

from telebot.formatting import escape_html

from lpse_crawler.outbox import Missed, Notification
from lpse_crawler.people.delivery import clock, zone_label
from lpse_crawler.people.models import Subscriber
from lpse_crawler.rupiah import format_rupiah
from lpse_crawler.store.database import WIB, utcnow
from lpse_crawler.store.models import Instance, Tender
from lpse_crawler.tanggal import waktu

MAX_MESSAGE = 4096
# Caps on free-text fields, in characters before escaping; halved until the message fits.
CAPS = {
    "nama": 600,
    "instansi": 200,
    "satker": 200,
    "words": 200,
    "filters": 200,
    "other": 150,
    "lokasi": 200,
    "summary": 110,
}
# The evaluation part of a method as SPSE writes it -> its short name; the qualification
# part ("Pascakualifikasi Satu File") is left out of the alert (the LPSE page has it).
EVALUATION = [
    ("harga terendah", "Harga Terendah"),
    ("biaya terendah", "Biaya Terendah"),
    ("kualitas dan biaya", "Kualitas dan Biaya"),
    ("kualitas", "Kualitas"),
    ("sistem nilai", "Sistem Nilai"),
    ("pagu anggaran", "Pagu Anggaran"),
    ("sistem umur ekonomis", "Umur Ekonomis"),
]
SUMMARY_ITEMS = 20  # packages listed in one "while you were away" summary; the rest counted
HELD_ITEMS = 10  # packages in one digest or quiet-hours message (one "Ikuti" button each)
HELD_HEADINGS = {
    "digest": "🗞 <b>Ringkasan harian</b>: {count} paket baru cocok dengan filter Anda",
    "quiet": "🌙 <b>Selama jam tenang</b>{window}: {count} paket baru cocok dengan filter Anda",
}
HELD_MORE = "… {count} paket lagi menyusul di pesan berikutnya."


def messages_of(lines: list[str]) -> list[str]:
    """`lines` joined into as few messages as fit MAX_MESSAGE each, in order (each line fits)."""
    messages, current = [], ""
    for line in lines:
        if current and len(current) + 1 + len(line) > MAX_MESSAGE:
            messages.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    return [*messages, current] if current else messages


def rupiah(amount: int | None) -> str:
    """1234567 -> 'Rp 1.234.567'; None -> 'belum diumumkan'."""
    return "belum diumumkan" if amount is None else format_rupiah(amount)


def local_time(moment) -> str:
    return "lihat jadwal" if moment is None else waktu(moment)


def days_left(deadline: datetime | None, now: datetime) -> str:
    """' (sisa 3 hari)' counted in Jakarta calendar days; '' without a deadline."""
    if deadline is None:
        return ""
    days = (deadline.astimezone(WIB).date() - now.astimezone(WIB).date()).days
    if deadline <= now:
        return " (sudah lewat)"
    return " (hari ini terakhir)" if days <= 0 else f" (sisa {days} hari)"


def short_method(metode: str | None) -> str:
    """'Tender Cepat - Pascakualifikasi Satu File - Harga Terendah Sistem Gugur' ->
    'Tender Cepat · Harga Terendah'."""
    kept = []
    for part in (p.strip() for p in (metode or "").split(" - ")):
        lowered = part.lower()
        if not part or "kualifikasi" in lowered:
            continue
        kept.append(next((short for prefix, short in EVALUATION if lowered.startswith(prefix)), part))
    return " · ".join(kept) or (metode or "")


def cap(text: str | None, field: str, scale: float) -> str:
    """Squeeze, shorten to the field's cap (times `scale`), escape."""
    text = " ".join((text or "").split())
    limit = max(8, int(CAPS[field] * scale))
    return escape_html(text if len(text) <= limit else text[: limit - 1] + "…")


def render_tender(
    tender: Tender,
    instance: Instance | None,
    filter_names: list[str],
    words: list[str],
    now: datetime | None = None,
) -> str:
    """The alert for one package; `filter_names` and `words` say why the subscriber got it.

    Long values are shortened, never the message rejected, until it fits MAX_MESSAGE."""
    now = now or utcnow()
    return _fit(lambda scale: _tender_text(tender, instance, filter_names, words, scale, now))


def _fit(render) -> str:
    """render(scale) with scale halved until the text fits MAX_MESSAGE."""
    scale = 1.0
    while True:
        text = render(scale)
        if len(text) <= MAX_MESSAGE or scale < 0.01:
            return text
        scale /= 2


def _tender_text(tender: Tender, instance: Instance | None, filter_names, words, scale: float, now) -> str:
    kind = "Tender" if tender.kind == "tender" else "Non Tender"
    lpse = escape_html(f"{instance.name} ({instance.code})" if instance else tender.instance_first_seen_id)
    marks = ((tender.ulang, "🔁 Ulang"), (tender.batal, "❌ Batal"), (tender.gagal, "⚠️ Gagal"))
    flags = " ".join(label for flag, label in marks if flag)
    why = f"filter {cap(', '.join(filter_names), 'filters', scale)}"
    if words:
        why += f" (kata: {cap(', '.join(words), 'words', scale)})"
    satker = f" · {cap(tender.satker, 'satker', scale)}" if tender.satker else ""
    lokasi = [" ".join(str(place).split()) for place in tender.lokasi or [] if str(place).strip()]
    lines = [
        f"🔔 <b>{kind} baru</b> {flags}".rstrip(),
        f"<b>{cap(tender.nama, 'nama', scale)}</b>",
        f"🏛 {cap(tender.instansi, 'instansi', scale)}{satker}",
        f"📍 {lpse}",
        f"🗺 Lokasi: {cap('; '.join(lokasi), 'lokasi', scale)}" if lokasi else None,
        f"📂 {cap(tender.kategori, 'other', scale)} · {cap(short_method(tender.metode), 'other', scale)}",
        f"🏷 Kualifikasi usaha: {escape_html(tender.kualifikasi_usaha)}" if tender.kualifikasi_usaha else None,
        f"💰 HPS {rupiah(tender.hps)} · Pagu {rupiah(tender.pagu)}",
        f"⏰ Batas penawaran: {local_time(tender.deadline)}{days_left(tender.deadline, now)}",
        f"📌 Tahap: {cap(tender.tahap, 'other', scale)}",
        f'🔗 <a href="{escape_html(tender.url)}">Buka di LPSE</a> · Kode {escape_html(tender.kode)}',
        f"<i>Anda menerima ini karena {why}.</i>",
    ]
    return "\n".join(line for line in lines if line is not None)


def render_missed(heading: str, missed: list[Missed], now: datetime | None = None) -> str:
    """`heading` (HTML) and the packages of `missed`, one line each (code, name, link), the
    first SUMMARY_ITEMS listed and the rest counted: one message, never a flood."""
    now = now or utcnow()
    return _fit(lambda scale: _missed_text(heading, missed, now, scale))


def _missed_text(heading: str, missed: list[Missed], now: datetime, scale: float) -> str:
    lines = [heading]
    for item in missed[:SUMMARY_ITEMS]:
        closed = " <i>(batas sudah lewat)</i>" if item.deadline and item.deadline <= now else ""
        link = f'<a href="{escape_html(item.url)}">{escape_html(item.kode)}</a>'
        lines.append(f"• {link} {cap(item.nama, 'summary', scale)}{closed}")
    if len(missed) > SUMMARY_ITEMS:
        lines.append(f"… dan {len(missed) - SUMMARY_ITEMS} lainnya.")
    return "\n".join(lines)


def render_held(held: str, tenders: list[Tender], more: int, subscriber: Subscriber, now=None) -> str:
    """One digest or quiet-hours message: a heading, then each package numbered as its
    "Ikuti" button (name, HPS, deadline, link), and how many more follow."""
    now = now or utcnow()
    window = ""  # quiet hours turned off since: the heading names none
    if subscriber.quiet_start is not None and subscriber.quiet_end is not None:
        zone = zone_label(subscriber.timezone)
        window = f" ({clock(subscriber.quiet_start)}–{clock(subscriber.quiet_end)} {zone})"
    heading = HELD_HEADINGS[held].format(count=len(tenders) + more, window=window)
    return _fit(lambda scale: _held_text(heading, tenders, more, now, scale))


def _held_text(heading: str, tenders: list[Tender], more: int, now: datetime, scale: float) -> str:
    lines = [heading]
    for n, tender in enumerate(tenders, 1):
        lines += [
            f"\n{n}. <b>{cap(tender.nama, 'summary', scale * 2)}</b>",
            f"💰 HPS {rupiah(tender.hps or tender.hps_listing)} · ⏰ {local_time(tender.deadline)}"
            f"{days_left(tender.deadline, now)}",
            f'🔗 <a href="{escape_html(tender.url)}">Buka di LPSE</a> · Kode {escape_html(tender.kode)}',
        ]
    if more:
        lines.append("\n" + HELD_MORE.format(count=more))
    return "\n".join(lines)


def render_notification(notification: Notification, filter_names: list[str]) -> str:
    """The text of one outbox row: a tender alert, or a broadcast's (already HTML) body."""
    if notification.tender_id is None:
        return notification.body or ""
    tender = notification.tender
    instance = Instance.get_or_none(Instance.code == tender.instance_first_seen_id)
    return render_tender(tender, instance, filter_names, notification.matched_words or [], utcnow())
