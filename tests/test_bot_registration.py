"""/daftar and /ubahdata as users see them, and the guided /filter's typed LPSE, `-`, help
and names: through the real handlers over real HTTP, with the stored values checked after."""

import html
import json
import re
from datetime import timedelta

import pytest

from bot.filter_flow import shorten
from lpse_crawler.people.models import BotState, Filter, Subscriber
from lpse_crawler.people.personal_data import personal_data, update_personal
from lpse_crawler.store.database import utcnow

USER, OTHER = 601, 602


def seen(text: str) -> str:
    """What Telegram shows for an HTML message: no tags, entities decoded."""
    return html.unescape(re.sub(r"</?[a-z]+>", "", text))


def say(chat, text: str, chat_id: int = USER) -> str:
    return seen(chat.say(chat_id, text))


def press(chat, data: str, chat_id: int = USER) -> str:
    return seen(chat.press(chat_id, data))


def join(chat, chat_id: int) -> Subscriber:
    chat.say(chat_id, "/start")
    chat.press(chat_id, "consent:yes")
    return Subscriber.get(Subscriber.chat_id == chat_id)


@pytest.fixture
def member(chat):
    return join(chat, USER)


def stored(keyring, subscriber: Subscriber) -> dict:
    return personal_data(keyring, Subscriber.get_by_id(subscriber.id))


def skip_button(telegram, chat_id: int = USER) -> str:
    ((label, data),) = telegram.buttons(chat_id)
    assert label == "Lewati"
    return data


# -- the guided /daftar ------------------------------------------------------------------


def test_guided_daftar_asks_each_value_in_turn_and_names_a_bad_one(chat, telegram, member, keyring):
    assert "Langkah 1 dari 3" in say(chat, "/daftar") and "nama" in telegram.sent[-1]["text"]
    asked = say(chat, "Budi Santoso")
    assert "Tersimpan: nama" in asked and "Langkah 2 dari 3" in asked and "WhatsApp" in asked
    refused = say(chat, "12345")
    assert "Nomor WhatsApp '12345' tidak valid: nomor ponsel Indonesia diawali 08" in refused
    assert "Ketik lagi, atau tekan Lewati" in refused and skip_button(telegram) == "reg:skip:phone"
    assert "Langkah 3 dari 3" in say(chat, "0812-3456-7890")
    assert "Alamat email 'budi@' tidak valid: nama domain sesudah tanda @ belum lengkap" in say(chat, "budi@")
    assert "Data tersimpan" in press(chat, skip_button(telegram))
    assert stored(keyring, member) | {"username": None} == {
        "name": "Budi Santoso",
        "phone": "+6281234567890",
        "email": None,
        "username": None,
    }
    assert BotState.select().count() == 0  # done: nothing waits
    assert "belum mengerti" in say(chat, "budi@cvmaju.co.id")  # no longer taken as an answer


def test_lewati_keeps_what_is_stored_and_says_when_no_contact_is_left(chat, telegram, member, keyring):
    say(chat, "/daftar Budi; budi@cvmaju.co.id")
    assert "Tersimpan sekarang: Budi." in say(chat, "/daftar")
    press(chat, skip_button(telegram))
    press(chat, skip_button(telegram))
    assert "Data tersimpan" in press(chat, skip_button(telegram))
    assert stored(keyring, member)["email"] == "budi@cvmaju.co.id"

    update_personal(keyring, Subscriber.get_by_id(member.id), email=None)
    say(chat, "/daftar")
    for _ in range(3):
        last = press(chat, skip_button(telegram))
    assert "belum mengisi nomor WhatsApp maupun email" in last


def test_a_lewati_of_an_earlier_question_or_another_chat_is_refused(chat, telegram, member, keyring):
    say(chat, "/daftar")
    name_skip = skip_button(telegram)
    press(chat, name_skip)
    assert press(chat, name_skip) == ""  # the phone question is open, not the name's
    assert telegram.callback_answers[-1]["text"] == "Tombol ini sudah tidak berlaku."
    join(chat, OTHER)
    press(chat, "reg:skip:phone", OTHER)
    assert telegram.callback_answers[-1]["text"] == "Tombol ini sudah tidak berlaku."
    assert "Langkah 3 dari 3" in press(chat, "reg:skip:phone")  # USER's own step still open


def test_a_command_ends_the_questions_and_no_value_waits_unencrypted(chat, telegram, member, keyring):
    say(chat, "/daftar")
    say(chat, "Budi Santoso")
    say(chat, "0812-3456-7890")
    saved = json.loads(BotState.get().value)
    assert saved["awaiting"] == "daftar_email" and "Budi" not in BotState.get().value
    assert "3456" not in BotState.get().value  # values go straight to the encrypted columns
    say(chat, "/status")
    assert "belum mengerti" in say(chat, "budi@cvmaju.co.id")
    assert stored(keyring, member)["email"] is None


# -- the one-line /daftar ----------------------------------------------------------------


def test_one_line_daftar_stores_every_value_and_says_which(chat, member, keyring):
    reply = say(chat, "/daftar Budi Santoso; 0812-3456-7890; Budi@CVMaju.co.id")
    assert "Tersimpan: nama, WhatsApp, email" in reply
    assert stored(keyring, member)["email"] == "budi@cvmaju.co.id"


def test_two_names_are_refused_naming_both_and_nothing_is_stored(chat, member, keyring):
    reply = say(chat, "/daftar Budi Santoso; CV Maju Jaya; 0812-3456-7890")
    assert "Ada dua nama: Budi Santoso dan CV Maju Jaya." in reply and "Tidak ada yang disimpan" in reply
    assert "nomor WhatsApp: 0812-3456-7890 dan 0813 1111 2222." in say(
        chat, "/daftar Budi; 0812-3456-7890; 0813 1111 2222"
    )
    assert stored(keyring, member)["name"] is None and stored(keyring, member)["phone"] is None
    assert "tersimpan" in say(chat, "/daftar Budi Santoso, CV Maju Jaya; 0812-3456-7890")
    assert stored(keyring, member)["name"] == "Budi Santoso, CV Maju Jaya"


def test_every_bad_value_is_named_and_nothing_is_stored(chat, member, keyring):
    reply = say(chat, "/daftar B; 12345; budi@")
    assert "Nama 'B' tidak valid" in reply
    assert "Nomor WhatsApp '12345' tidak valid" in reply
    assert "Alamat email 'budi@' tidak valid" in reply and "Tidak ada yang disimpan" in reply
    assert set(stored(keyring, member).values()) == {None, "budi_maju"}
    assert "'0812abc' tidak valid: hanya boleh berisi angka" in say(chat, "/daftar Budi; 0812abc")
    assert "minimal salah satu" in say(chat, "/daftar Budi Santoso")  # no contact at all
    say(chat, "/daftar Budi; budi@cvmaju.co.id")
    assert "Tersimpan: nama" in say(chat, "/daftar Budi Santoso")  # a contact is already stored


def test_a_taken_number_or_email_says_nothing_about_the_other_account(chat, member, keyring):
    other = join(chat, OTHER)
    say(chat, "/daftar Siti Rahma; 0812-3456-7890; siti@rahma.id", OTHER)
    for command in ("/daftar Budi; +62 812 3456 7890", "/ubahdata wa 081234567890"):
        reply = say(chat, command)
        assert "Nomor WhatsApp" in reply and "tidak dapat dipakai" in reply and "/bantuan" in reply
        assert "Siti" not in reply and "terdaftar" not in reply and "akun lain" not in reply
    reply = say(chat, "/ubahdata email SITI@rahma.id")
    assert reply == "Email SITI@rahma.id tidak dapat dipakai. Hubungi /bantuan bila ini email Anda."
    assert "Tidak ada yang disimpan" in say(chat, "/daftar Budi; SITI@rahma.id")
    assert stored(keyring, member)["phone"] is None
    assert stored(keyring, other)["phone"] == "+6281234567890"  # the holder keeps it


# -- /ubahdata ---------------------------------------------------------------------------


def test_ubahdata_names_the_bad_value(chat, member, keyring):
    say(chat, "/daftar Budi; budi@cvmaju.co.id")
    assert "Alamat email 'bukan-email' tidak valid: tidak ada tanda @" in say(
        chat, "/ubahdata email bukan-email"
    )
    assert "diperbarui" in say(chat, "/ubahdata wa 0812 3456 7890")
    assert "diperbarui" in say(chat, "/ubahdata hapus email")
    assert (stored(keyring, member)["phone"], stored(keyring, member)["email"]) == ("+6281234567890", None)


# -- the filter help, `&`, `-` and typed LPSE names ----------------------------------------


@pytest.mark.parametrize("command", ["/filter bantuan", "/filter help", "/filter Bantuan"])
def test_filter_bantuan_shows_the_language(chat, member, command):
    reply = say(chat, command)  # the emulator refuses unescaped "<="
    assert "Cara menulis filter" in reply and "hps:<=500jt" in reply and "jalan & beton" in reply
    assert Filter.select().count() == 0
    assert "tersimpan" in say(chat, '/filter "bantuan" lpse:kemkes')  # the word itself, quoted


def test_filter_errors_point_to_the_filter_help_and_ampersand_is_and(chat, member):
    assert "Ketik /filter bantuan" in say(chat, "/filter kategori:senjata")
    assert "tersimpan" in say(chat, "/filter jalan & jembatan lpse:kemkes")
    assert Filter.get().spec == "jalan & jembatan lpse:kemkes" and Filter.get().name == "jalan & jembatan"


def test_filter_names_are_cut_at_a_word_boundary(chat, member):
    say(chat, "/filter pembangunan jembatan beton bertulang kabupaten lpse:kemkes")
    name = Filter.get().name
    assert name == "pembangunan jembatan beton bertulang…"
    assert shorten("x" * 50) == "x" * 39 + "…"  # one long word has no boundary to cut at
    assert shorten("jalan | jembatan | gedung | rumah | sakitnya", 28) == "jalan | jembatan | gedung…"


def buttons(telegram) -> dict[str, str]:
    return dict(telegram.buttons(USER))


def test_typing_part_of_a_name_lists_the_lpse_that_fit(chat, telegram, member):
    say(chat, "/filter")
    found = say(chat, "kesehatan")
    assert "LPSE cocok dengan kesehatan" in found
    assert "LPSE Kementrian Kesehatan Republik Indonesia" in buttons(telegram)
    assert "kategori" in press(chat, buttons(telegram)["LPSE Kementrian Kesehatan Republik Indonesia"])
    press(chat, buttons(telegram)["Pengadaan Barang"])
    assert "tersimpan" in say(chat, "obat")
    assert Filter.get().spec == 'obat lpse:kemkes kategori:"Pengadaan Barang"'


def test_a_typed_province_offers_the_province_and_pages_its_lpse(chat, telegram, member):
    say(chat, "/filter")
    assert "62 LPSE cocok dengan dki" in say(chat, "dki")
    first = buttons(telegram)
    assert "Provinsi DKI Jakarta »" in first and "Berikutnya »" in first
    press(chat, first["Berikutnya »"])
    assert "Provinsi DKI Jakarta »" not in buttons(telegram) and "« Sebelumnya" in buttons(telegram)
    assert "Tidak ada LPSE yang cocok dengan atlantis" in say(chat, "atlantis")
    assert "62 LPSE cocok dengan jakarta" in say(chat, "jakarta")
    # the LPSE whose own name fits comes before those that fit only by their province
    assert list(buttons(telegram))[:2] == [
        "Provinsi DKI Jakarta »",
        "LPSE Provinsi Daerah Khusus Ibukota Jakarta",
    ]


def test_within_a_province_typing_searches_that_province_only(chat, telegram, member):
    say(chat, "/filter")
    say(chat, "jawa timur")
    press(chat, buttons(telegram)["Provinsi Jawa Timur »"])
    assert "Provinsi <b>Jawa Timur</b>" in telegram.sent[-1]["text"]
    assert "1 LPSE cocok dengan surabaya" in say(chat, "surabaya")
    assert list(buttons(telegram)) == ["LPSE Kota Surabaya"]
    assert "Tidak ada LPSE" in say(chat, "kesehatan kementrian")  # kemkes is in DKI Jakarta


def test_dash_means_every_package_of_the_choices(chat, telegram, member):
    say(chat, "/filter")
    say(chat, "kesehatan")
    press(chat, buttons(telegram)["LPSE Kementrian Kesehatan Republik Indonesia"])
    assert "Ketik -" in press(chat, buttons(telegram)["Semua kategori"])
    assert "tersimpan" in say(chat, "-")
    saved = Filter.get()
    assert saved.spec == "lpse:kemkes" and saved.name == "Semua paket LPSE Kementrian Kesehatan…"


def test_dash_without_any_choice_asks_for_keywords(chat, telegram, member):
    Subscriber.update(plan="pro", plan_expires_at=utcnow() + timedelta(days=30)).execute()
    say(chat, "/filter")
    press(chat, buttons(telegram)["Semua provinsi"])
    assert "kata kunci wajib" in press(chat, buttons(telegram)["Semua kategori"])
    assert "semua paket di Indonesia" in say(chat, "-")
    assert Filter.select().count() == 0
    assert "tersimpan" in say(chat, "jembatan")
    assert Filter.get().spec == "jembatan"
