"""Every command's happy path and bad input, through the real handlers over real HTTP."""

import json
from datetime import timedelta

import pytest

from bot.app import build_bot
from bot.filter_flow import FilterCommands
from lpse_crawler.matching.saved_filters import save_filter
from lpse_crawler.outbox import Notification
from lpse_crawler.people.audit import Audit
from lpse_crawler.people.models import BotState, Filter, Subscriber
from lpse_crawler.people.personal_data import find_subscriber, personal_data
from lpse_crawler.store.database import WIB, utcnow
from tests.conftest import TOKEN

USER, OTHER, ADMIN = 501, 502, 900


@pytest.fixture
def member(chat):
    chat.say(USER, "/start")
    chat.press(USER, "consent:yes")
    return Subscriber.get(Subscriber.chat_id == USER)


def test_start_asks_for_consent_and_creates_a_trial_subscriber(chat, telegram, keyring):
    assert "kebijakan privasi" in chat.say(USER, "/start")
    assert ("Setuju", "consent:yes") in telegram.buttons(USER)
    assert Subscriber.select().count() == 0  # nothing stored before consent
    assert "uji coba 14 hari" in chat.press(USER, "consent:yes")
    subscriber = Subscriber.get(Subscriber.chat_id == USER)
    assert subscriber.consent_at and subscriber.plan == "trial"
    assert personal_data(keyring, subscriber)["username"] == "budi_maju"
    assert "sudah terdaftar" in chat.say(USER, "/mulai")  # English/Indonesian aliases


def test_deep_link_payload_shows_plans(chat):
    assert "Paket Pantau LPSE" in chat.say(USER, "/start paket_pro")


@pytest.mark.parametrize("command", ["/daftar x", "/filter", "/filterku", "/status", "/datasaya", "/jeda"])
def test_commands_need_consent_first(chat, command):
    assert "/start" in chat.say(USER, command)


def test_daftar_validates_and_stores_encrypted(chat, member, keyring):
    assert "dipisah titik koma" in chat.say(USER, "/daftar")
    assert "minimal salah satu" in chat.say(USER, "/daftar Budi Santoso")
    assert "tidak valid" in chat.say(USER, "/daftar Budi; 12345678")
    assert "tersimpan" in chat.say(USER, "/daftar Budi Santoso; 0812-3456-7890; budi@cvmaju.co.id")
    assert find_subscriber(keyring, phone="+6281234567890").id == member.id
    assert personal_data(keyring, Subscriber.get_by_id(member.id))["name"] == "Budi Santoso"


def test_one_line_filter_and_its_errors(chat, member):
    assert "tersimpan" in chat.say(USER, '/filter jalan | jembatan "beton" -rehab lpse:kemkes')
    assert Filter.get().spec == 'jalan | jembatan "beton" -rehab lpse:kemkes'
    assert "LPSE tidak dikenal: atlantis" in chat.say(USER, "/filter jalan lpse:atlantis")
    assert "kutip" in chat.say(USER, '/filter "jalan')


def press_label(chat, telegram, label: str) -> str:
    """Press the button labelled `label`, paging with "Berikutnya »" until it shows."""
    for _ in range(20):
        buttons = dict(telegram.buttons(USER))
        if label in buttons:
            return chat.press(USER, buttons[label])
        chat.press(USER, buttons["Berikutnya »"])
    raise AssertionError(f"no button {label!r}")


def test_guided_filter_with_keyboards(chat, telegram, member):
    Subscriber.update(plan="basic", plan_expires_at=utcnow() + timedelta(days=30)).execute()  # 25 LPSE
    chat.say(USER, "/filter")
    assert {"Semua provinsi", "Berikutnya »"} <= set(dict(telegram.buttons(USER)))
    press_label(chat, telegram, "DKI Jakarta")
    refusal = press_label(chat, telegram, "Semua LPSE di provinsi ini")  # 62 LPSE: over Dasar's 25
    assert "hanya boleh 25 LPSE dalam satu filter (diminta: 62)" in refusal and "/paket" in refusal
    assert "Semua LPSE di provinsi ini" in dict(telegram.buttons(USER))  # one LPSE can still be picked
    press_label(chat, telegram, "LPSE Kementrian Kesehatan Republik Indonesia")
    assert "kata kunci" in press_label(chat, telegram, "Pengadaan Barang")
    assert "tersimpan" in chat.say(USER, "obat | vaksin")
    assert Filter.get().spec == 'obat | vaksin lpse:kemkes kategori:"Pengadaan Barang"'


def test_guided_filter_pages_back_and_takes_every_province(chat, telegram, member):
    Subscriber.update(plan="pro").execute()  # a filter on every LPSE needs the Pro plan
    chat.say(USER, "/filter")
    first_page = telegram.buttons(USER)
    chat.press(USER, dict(first_page)["Berikutnya »"])
    chat.press(USER, dict(telegram.buttons(USER))["« Sebelumnya"])
    assert telegram.buttons(USER) == first_page
    assert "kategori" in press_label(chat, telegram, "Semua provinsi")
    assert "kata kunci" in press_label(chat, telegram, "Semua kategori")
    assert "tersimpan" in chat.say(USER, "jembatan")
    assert Filter.get().spec == "jembatan"


def test_every_step_of_the_guided_filter_is_routed_to_it(chat, member):
    for prefix in FilterCommands.STEPS:  # no filter being made: each step says so
        assert "kedaluwarsa" in chat.press(USER, f"{prefix}:0"), prefix


def test_a_restart_mid_conversation_forgets_nothing(chat, telegram, member, bot_config, keyring):
    chat.say(USER, "/filter")
    press_label(chat, telegram, "Papua Selatan")
    chat.telebot, _ = build_bot(bot_config, keyring)  # the bot process restarts
    press_label(chat, telegram, "Semua LPSE di provinsi ini")
    chat.telebot, _ = build_bot(bot_config, keyring)
    press_label(chat, telegram, "Semua kategori")
    chat.telebot, _ = build_bot(bot_config, keyring)
    assert "tersimpan" in chat.say(USER, "jembatan")
    assert Filter.get().spec == 'jembatan provinsi:"Papua Selatan"'
    chat.say(USER, "/bantuan")
    chat.press(USER, "support:ask")
    chat.telebot, _ = build_bot(bot_config, keyring)
    assert "diteruskan" in chat.say(USER, "Halo admin")
    assert "Halo admin" in telegram.texts_to(ADMIN)[-1]
    chat.say(USER, "/status")  # a command ends the support thread's "send to the admins" mode
    chats = BotState.select().where(BotState.key.startswith("chat."))
    assert chats.count() == 0  # finished conversations leave nothing behind


def test_forged_or_stale_buttons_are_refused(chat, telegram, member):
    chat.say(USER, "/filter jalan lpse:kemkes")
    own = Filter.get()
    chat.say(OTHER, "/start")
    chat.press(OTHER, "consent:yes")
    chat.press(OTHER, f"delf:{own.id}")  # someone else's filter
    chat.press(OTHER, "admin:drop-all")
    assert Filter.select().count() == 1
    assert [a.get("text") for a in telegram.callback_answers[-2:]] == ["Tombol ini sudah tidak berlaku."] * 2
    assert "kedaluwarsa" in chat.press(OTHER, "fprov:9999")  # no filter being made in this chat
    chat.say(OTHER, "/filter")
    chat.press(OTHER, "fprov:9999")  # out of range
    assert telegram.callback_answers[-1].get("text") == "Tombol ini sudah tidak berlaku."


def test_filterku_escapes_and_hapusfilter_deletes(chat, telegram, member):
    assert "belum punya filter" in chat.say(USER, "/filterku")
    assert "tersimpan" in chat.say(USER, "/filter <b>obat</b> alkes&co lpse:kemkes")
    listing = chat.say(USER, "/filterku")
    assert "&lt;b&gt;obat&lt;/b&gt; alkes&amp;co" in listing  # the emulator refuses bad HTML
    assert "tidak ada" in chat.say(USER, "/hapusfilter 7")
    chat.say(USER, "/hapusfilter")
    ((label, data),) = telegram.buttons(USER)
    assert "dihapus" in chat.press(USER, data)
    assert Filter.select().count() == 0


def test_filterku_lists_thirty_long_filters_over_several_messages(chat, telegram, member):
    for n in range(30):  # the trial's limit, each near the 500 characters a filter may have
        save_filter(member, f"Filter & {n}", f'"{"pembangunan jalan & jembatan " * 16}" lpse:kemkes')
    before = len(telegram.sent)
    listing = chat.say(USER, "/filterku")  # the emulator refuses a message over 4096 characters
    assert len(telegram.sent) - before > 1
    assert all(f"{n}. <b>Filter &amp; {n - 1}</b>" in listing for n in range(1, 31))


def test_jeda_lanjut_and_status(chat, member):
    assert "dijeda" in chat.say(USER, "/jeda")
    assert Subscriber.get_by_id(member.id).status == "paused"
    assert "Status: dijeda" in chat.say(USER, "/status")
    assert "aktif kembali" in chat.say(USER, "/lanjut")
    status = chat.say(USER, "/status")
    assert "Paket: Uji coba" in status and "Filter aktif: 0 dari 30" in status


def test_paket_lists_plans_in_rupiah_and_how_each_delivers(chat):
    text = chat.say(USER, "/paket")
    assert "Rp 49.000/bulan" in text and "Rp 149.000/bulan" in text
    free, basic = (line for line in text.splitlines() if line.startswith(("• <b>Gratis", "• <b>Dasar")))
    assert free.endswith("ringkasan harian") and basic.endswith("notifikasi langsung")


def test_datasaya_sends_everything_as_json_and_is_audited(chat, telegram, member):
    chat.say(USER, "/daftar Budi Santoso; budi@cvmaju.co.id")
    chat.say(USER, "/filter obat lpse:kemkes")
    chat.say(USER, "/datasaya")
    document = json.loads(telegram.sent[-1]["document"])
    assert (
        document["profile"]["name"] == "Budi Santoso" and document["profile"]["email"] == "budi@cvmaju.co.id"
    )
    assert [f["spec"] for f in document["filters"]] == ["obat lpse:kemkes"]
    assert Audit.select().where(Audit.action == "datasaya").count() == 1


def test_ubahdata_corrects_and_erases_values(chat, member, keyring):
    chat.say(USER, "/daftar Budi; budi@cvmaju.co.id")
    assert "Ubah satu data" in chat.say(USER, "/ubahdata")
    assert "tidak valid" in chat.say(USER, "/ubahdata email bukan-email")
    assert "diperbarui" in chat.say(USER, "/ubahdata email budi@baru.id")
    assert "diperbarui" in chat.say(USER, "/ubahdata hapus username")
    values = personal_data(keyring, Subscriber.get_by_id(member.id))
    assert (values["email"], values["username"]) == ("budi@baru.id", None)


def test_hapusakun_needs_confirmation_then_erases(chat, telegram, member):
    chat.say(USER, "/filter obat")
    chat.say(USER, "/filter")  # a filter half-built with buttons: conversation state is kept
    assert BotState.select().count() == 1
    confirm = chat.say(USER, "/hapusakun")
    assert "Tidak bisa dibatalkan" in confirm and "hangus" not in confirm  # a trial: nothing paid
    assert "Dibatalkan" in chat.press(USER, "acct:keep")
    Subscriber.update(plan="pro", plan_expires_at=utcnow() + timedelta(days=40)).execute()
    until = Subscriber.get().plan_expires_at.astimezone(WIB)
    assert f"paket Pro Anda yang sudah dibayar (sampai {until:%d-%m-%Y}) ikut hangus" in chat.say(
        USER, "/hapusakun"
    )
    chat.press(USER, "acct:keep")
    assert Subscriber.select().count() == 1
    chat.say(USER, "/hapusakun")
    assert "telah dihapus" in chat.press(USER, "acct:delete")
    assert Subscriber.select().count() == 0 and Filter.select().count() == 0
    assert BotState.select().count() == 0


def test_privasi_bantuan_forwards_the_next_message_to_admins(chat, telegram, member):
    assert "terenkripsi" in chat.say(USER, "/privasi")
    assert "/status" in chat.say(USER, "/bantuan")  # the commands, and a button to write to admins
    assert "belum mengerti" in chat.say(USER, "Halo?")  # /bantuan alone forwards nothing
    assert "Tulis pesan Anda" in chat.press(USER, dict(telegram.buttons(USER))["Tulis pesan ke admin"])
    assert "diteruskan" in chat.say(USER, "Bagaimana cara bayar? <tolong>")
    assert f"pelanggan #{member.id}" in telegram.texts_to(ADMIN)[-1]
    assert "&lt;tolong&gt;" in telegram.texts_to(ADMIN)[-1]


def test_admin_commands_only_for_admins(chat, telegram, member):
    assert "tidak dikenal" in chat.say(USER, "/stats")
    assert "tidak dikenal" in chat.say(USER, "/broadcast halo")
    chat.say(ADMIN, "/start")
    chat.press(ADMIN, "consent:yes")
    assert "Pelanggan: 2 aktif" in chat.say(ADMIN, "/stats")
    assert "2 pelanggan aktif" in chat.say(ADMIN, "/broadcast Layanan <libur> besok")
    bodies = {n.body for n in Notification.select()}
    assert bodies == {"<b>Pengumuman Pantau LPSE</b>\nLayanan &lt;libur&gt; besok"}


def test_unknown_commands_free_text_and_long_text(chat, member):
    assert "tidak dikenal" in chat.say(USER, "/entahlah")
    assert "belum mengerti" in chat.say(USER, "halo bot")
    assert "terlalu panjang" in chat.say(USER, "x" * 1001)


def test_token_never_reaches_the_logs(chat, member, caplog):
    import logging

    from bot.config import install_redaction

    logging.getLogger().addHandler(caplog.handler)
    install_redaction(TOKEN)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("TeleBot").debug("url=http://x/bot%s/sendMessage", TOKEN)
        try:
            raise RuntimeError(f"boom http://x/bot{TOKEN}/getUpdates")
        except RuntimeError:
            logging.getLogger("bot").exception("failed")
    assert TOKEN not in caplog.text and "<TOKEN>" in caplog.text


@pytest.mark.parametrize("data", ["consent:yes", "acct:delete", "fprov:0", "delf:1", "nonsense"])
def test_inline_mode_button_without_a_message_is_answered_and_the_batch_goes_on(chat, telegram, member, data):
    telegram.push_callback(USER, data, inline=True)  # no `message`: pressed on an inline-mode message
    telegram.push_message(USER, "/status")
    before = len(telegram.sent)
    chat.step()  # both updates arrive in one getUpdates batch
    assert telegram.callback_answers[-1]["text"] == "Tombol ini sudah tidak berlaku."
    assert telegram.callback_answers[-1]["callback_query_id"].startswith("cb")
    assert [m["chat_id"] for m in telegram.sent[before:]] == [USER]  # only the /status reply
    assert "Filter aktif" in telegram.sent[-1]["text"]
    assert Subscriber.get(Subscriber.chat_id == USER).id == member.id  # acct:delete did nothing
