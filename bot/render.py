"""A tender as one Telegram message in HTML parse mode, every value escaped, <= 4096 chars."""

from telebot.formatting import escape_html

from lpse_crawler.outbox import Notification
from lpse_crawler.rupiah import format_rupiah
from lpse_crawler.store.models import Instance, Tender

MAX_MESSAGE = 4096
# Caps on free-text fields, in characters before escaping; halved until the message fits.
CAPS = {"nama": 600, "instansi": 200, "satker": 200, "words": 200, "filters": 200, "other": 150}
ZONE_NAMES = {7: "WIB", 8: "WITA", 9: "WIT"}  # UTC offset in hours -> Indonesian zone
MONTHS = ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"]


def rupiah(amount: int | None) -> str:
    """1234567 -> 'Rp 1.234.567'; None -> 'belum diumumkan'."""
    return "belum diumumkan" if amount is None else format_rupiah(amount)


def local_time(moment) -> str:
    if moment is None:
        return "lihat jadwal"
    offset = moment.utcoffset()
    hours = offset.total_seconds() / 3600 if offset is not None else None
    zone = ZONE_NAMES.get(hours, moment.strftime("UTC%z"))
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year} {moment:%H:%M} {zone}"


def cap(text: str | None, field: str, scale: float) -> str:
    """Squeeze, shorten to the field's cap (times `scale`), escape."""
    text = " ".join((text or "").split())
    limit = max(8, int(CAPS[field] * scale))
    return escape_html(text if len(text) <= limit else text[: limit - 1] + "…")


def render_tender(
    tender: Tender, instance: Instance | None, filter_names: list[str], words: list[str]
) -> str:
    """The alert for one package; `filter_names` and `words` say why the subscriber got it.

    Long values are shortened, never the message rejected, until it fits MAX_MESSAGE."""
    scale = 1.0
    while True:
        text = _tender_text(tender, instance, filter_names, words, scale)
        if len(text) <= MAX_MESSAGE or scale < 0.01:
            return text
        scale /= 2


def _tender_text(tender: Tender, instance: Instance | None, filter_names, words, scale: float) -> str:
    kind = "Tender" if tender.kind == "tender" else "Non Tender"
    lpse = escape_html(f"{instance.name} ({instance.code})" if instance else tender.instance_first_seen_id)
    marks = ((tender.ulang, "🔁 Ulang"), (tender.batal, "❌ Batal"), (tender.gagal, "⚠️ Gagal"))
    flags = " ".join(label for flag, label in marks if flag)
    why = f"filter {cap(', '.join(filter_names), 'filters', scale)}"
    if words:
        why += f" (kata: {cap(', '.join(words), 'words', scale)})"
    satker = f" · {cap(tender.satker, 'satker', scale)}" if tender.satker else ""
    return "\n".join(
        [
            f"🔔 <b>{kind} baru</b> {flags}".rstrip(),
            f"<b>{cap(tender.nama, 'nama', scale)}</b>",
            f"🏛 {cap(tender.instansi, 'instansi', scale)}{satker}",
            f"📍 {lpse}",
            f"📂 {cap(tender.kategori, 'other', scale)} · {cap(tender.metode, 'other', scale)}",
            f"💰 HPS {rupiah(tender.hps)} · Pagu {rupiah(tender.pagu)}",
            f"⏰ Batas penawaran: {local_time(tender.deadline)}",
            f"📌 Tahap: {cap(tender.tahap, 'other', scale)}",
            f'🔗 <a href="{escape_html(tender.url)}">Buka di LPSE</a> · Kode {escape_html(tender.kode)}',
            f"<i>Anda menerima ini karena {why}.</i>",
        ]
    )


def render_notification(notification: Notification, filter_names: list[str]) -> str:
    """The text of one outbox row: a tender alert, or a broadcast's (already HTML) body."""
    if notification.tender_id is None:
        return notification.body or ""
    tender = notification.tender
    instance = Instance.get_or_none(Instance.code == tender.instance_first_seen_id)
    return render_tender(tender, instance, filter_names, notification.matched_words or [])
