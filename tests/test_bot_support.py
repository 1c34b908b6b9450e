"""Support both ways: /bantuan, the subscriber's text, photos and documents to the admins
(by number, never by name), an admin's reply back; audited without content, erased with the
account. Through the real handlers over real HTTP (the `chat` fixture and the emulator)."""

import pytest

from lpse_crawler.people.audit import Audit
from lpse_crawler.people.models import BotState, Subscriber

USER, OTHER, ADMIN = 501, 502, 900


@pytest.fixture
def member(chat):
    chat.say(USER, "/start")
    chat.press(USER, "consent:yes")
    chat.say(USER, "/daftar Budi Santoso; 0812-3456-7890; budi@cvmaju.co.id")
    return Subscriber.get(Subscriber.chat_id == USER)


def after(chat, push) -> list[dict]:
    """What the bot sent after `push()` (an emulator push) was handled."""
    before = len(chat.emulator.sent)
    push()
    chat.step()
    return chat.emulator.sent[before:]


def shown(sent: list[dict]) -> str:
    return "\n".join(m.get("text") or m.get("caption") or "" for m in sent)


def to(sent: list[dict], chat_id: int) -> list[dict]:
    return [m for m in sent if m["chat_id"] == chat_id]


def ask_admins(chat, telegram) -> None:
    """Press the button under /bantuan."""
    assert "Tulis pesan Anda" in chat.press(USER, dict(telegram.buttons(USER))["Tulis pesan ke admin"])


def test_bantuan_shows_the_commands_and_a_button_and_arms_nothing(chat, telegram, member):
    help_text = chat.say(USER, "/bantuan")
    assert "/status" in help_text and "/hapusakun" in help_text
    assert ("Tulis pesan ke admin", "support:ask") in telegram.buttons(USER)
    assert "belum mengerti" in chat.say(USER, "halo")  # not forwarded: nothing was armed
    assert telegram.texts_to(ADMIN) == []


def test_a_receipt_photo_reaches_the_admins_by_number_and_the_answer_comes_back(chat, telegram, member):
    chat.say(USER, "/bantuan")
    ask_admins(chat, telegram)
    sent = after(chat, lambda: telegram.push_photo(USER, caption="bukti transfer <Mei>"))
    (copy,) = to(sent, ADMIN)
    assert copy["method"] == "copyMessage" and copy["kind"] == "photo"  # copied: a forward shows the name
    assert copy["caption"].startswith(f"<b>Pesan bantuan</b> dari pelanggan #{member.id}")
    assert "bukti transfer &lt;Mei&gt;" in copy["caption"]
    assert not any(secret in copy["caption"] for secret in ("Budi", "0812", "budi@", "budi_maju"))
    assert "diteruskan" in shown(to(sent, USER))
    assert not [m for m in telegram.sent if m["method"] == "forwardMessage"]

    # the admin answers by replying to the copy, with text
    answer_text = "Sudah kami terima <3"
    sent = after(chat, lambda: telegram.push_message(ADMIN, answer_text, reply_to=copy["message_id"]))
    (answer,) = to(sent, USER)
    heading = "<b>Jawaban admin</b> (balas pesan ini untuk menanggapi):"
    assert answer["text"] == f"{heading}\nSudah kami terima &lt;3"
    assert f"terkirim ke pelanggan #{member.id}" in shown(to(sent, ADMIN))

    # the subscriber goes on by replying to the answer, with a document this time
    push = lambda: telegram.push_document(USER, "faktur.pdf", reply_to=answer["message_id"])  # noqa: E731
    (copy2,) = to(after(chat, push), ADMIN)
    assert copy2["kind"] == "document" and f"pelanggan #{member.id}" in copy2["caption"]

    # and the admin answers with a photo
    (photo,) = to(after(chat, lambda: telegram.push_photo(ADMIN, reply_to=copy2["message_id"])), USER)
    assert photo["method"] == "copyMessage" and photo["kind"] == "photo"
    assert photo["caption"].startswith("<b>Jawaban admin</b>")


def test_the_thread_stays_open_until_a_command(chat, telegram, member):
    chat.say(USER, "/bantuan")
    ask_admins(chat, telegram)
    assert "diteruskan" in chat.say(USER, "Sudah transfer, ini buktinya")
    assert "diteruskan" in shown(after(chat, lambda: telegram.push_photo(USER)))
    assert [m["method"] for m in to(telegram.sent, ADMIN)] == ["sendMessage", "copyMessage"]
    chat.say(USER, "/status")
    assert "belum mengerti" in chat.say(USER, "terima kasih")
    assert len(to(telegram.sent, ADMIN)) == 2


def test_every_step_is_audited_without_personal_data(chat, telegram, member):
    chat.say(USER, "/bantuan")
    ask_admins(chat, telegram)
    chat.say(USER, "Halo, saya Budi dari CV Maju, 0812-3456-7890")
    copy = to(telegram.sent, ADMIN)[-1]
    after(chat, lambda: telegram.push_photo(USER, caption="bukti"))
    after(chat, lambda: telegram.push_message(ADMIN, "Baik, Pak", reply_to=copy["message_id"]))
    rows = list(Audit.select().where(Audit.action.startswith("support.")).order_by(Audit.id))
    assert [(a.actor, a.action, a.subject, a.detail) for a in rows] == [
        ("bot", "support.ask", f"subscriber:{member.id}", "text 44 chars"),
        ("bot", "support.ask", f"subscriber:{member.id}", "photo, caption 5 chars"),
        ("bot:admin", "support.answer", f"subscriber:{member.id}", "text 9 chars"),
    ]
    assert "Halo" in copy["text"]  # the admin saw the message; the audit trail did not keep it


def test_erasure_removes_the_thread_and_the_admin_is_told(chat, telegram, member):
    chat.say(USER, "/bantuan")
    ask_admins(chat, telegram)
    chat.say(USER, "Tolong hapus akun saya")
    copy = to(telegram.sent, ADMIN)[-1]
    assert BotState.select().where(BotState.key.startswith("support.")).count() == 1
    chat.say(USER, "/hapusakun")
    assert "telah dihapus" in chat.press(USER, "acct:delete")
    assert BotState.select().where(BotState.key.startswith("support.")).count() == 0
    assert Audit.select().where(Audit.subject == f"subscriber:{member.id}").count() == 0
    sent = after(chat, lambda: telegram.push_message(ADMIN, "Sudah", reply_to=copy["message_id"]))
    assert to(sent, USER) == []
    assert "sudah tidak ada" in shown(to(sent, ADMIN))


def test_erasure_keeps_other_subscribers_threads(chat, telegram, member):
    chat.say(OTHER, "/start")
    chat.press(OTHER, "consent:yes")
    for who in (USER, OTHER):
        chat.say(who, "/bantuan")
        chat.press(who, "support:ask")
        chat.say(who, "Halo")
    chat.say(USER, "/hapusakun")
    chat.press(USER, "acct:delete")
    other = Subscriber.get(Subscriber.chat_id == OTHER)
    assert [r.value for r in BotState.select().where(BotState.key.startswith("support."))] == [str(other.id)]


def test_a_photo_outside_bantuan_gets_a_hint_with_the_button(chat, telegram, member):
    hint = shown(after(chat, lambda: telegram.push_photo(USER, caption="bukti")))
    assert "belum kami teruskan" in hint
    assert ("Tulis pesan ke admin", "support:ask") in telegram.buttons(USER)
    assert "belum kami teruskan" in shown(after(chat, lambda: telegram.push_document(USER, "a.pdf")))
    assert "hanya memahami teks, foto dan dokumen" in shown(after(chat, lambda: telegram.push_sticker(USER)))
    assert to(telegram.sent, ADMIN) == []


def test_without_consent_nothing_is_forwarded(chat, telegram):
    chat.say(USER, "/bantuan")
    assert "/start" in chat.press(USER, "support:ask")
    assert "belum kami teruskan" in shown(after(chat, lambda: telegram.push_photo(USER)))
    assert to(telegram.sent, ADMIN) == [] and BotState.select().count() == 0


def test_an_answer_to_a_subscriber_who_blocked_the_bot_is_reported_to_the_admin(chat, telegram, member):
    chat.say(USER, "/bantuan")
    ask_admins(chat, telegram)
    chat.say(USER, "Halo")
    copy = to(telegram.sent, ADMIN)[-1]
    telegram.blocked.add(USER)
    sent = after(chat, lambda: telegram.push_message(ADMIN, "Halo juga", reply_to=copy["message_id"]))
    assert "tidak terkirim" in shown(to(sent, ADMIN)) and "blocked" in shown(to(sent, ADMIN))
    assert not Audit.select().where(Audit.action == "support.answer").exists()


def test_only_admins_answer_and_only_in_their_own_chat(chat, telegram, member):
    chat.say(USER, "/bantuan")
    ask_admins(chat, telegram)
    chat.say(USER, "Halo")
    copy = to(telegram.sent, ADMIN)[-1]
    # someone else replying to a message id of the admin chat, from their own chat: no thread there
    sent = after(chat, lambda: telegram.push_message(OTHER, "jawaban palsu", reply_to=copy["message_id"]))
    assert to(sent, USER) == []
    # a user's reply to their own copy of nothing: plain text
    assert "diteruskan" in chat.say(USER, "Masih menunggu")  # the thread is still open for the user


def test_no_admin_reachable_is_said(chat, telegram, member):
    telegram.blocked.add(ADMIN)
    chat.say(USER, "/bantuan")
    ask_admins(chat, telegram)
    assert "belum dapat dihubungi" in chat.say(USER, "Halo")
    assert not Audit.select().where(Audit.action == "support.ask").exists()


def test_long_texts_and_captions_fit_telegrams_limits_after_escaping(chat, telegram, member):
    chat.say(USER, "/bantuan")
    ask_admins(chat, telegram)
    assert "diteruskan" in chat.say(USER, "&" * 1000)  # escaped: 5000 characters, over 4096
    parts = to(telegram.sent, ADMIN)
    assert len(parts) == 2 and all(len(p["text"]) <= 4096 for p in parts)
    assert sum(p["text"].count("&amp;") for p in parts) == 1000
    assert BotState.select().where(BotState.key.startswith("support.")).count() == 2  # either is answerable
    assert "diteruskan" in shown(after(chat, lambda: telegram.push_photo(USER, caption="<" * 1000)))
    caption = to(telegram.sent, ADMIN)[-1]["caption"]
    assert len(caption) <= 1024 and caption.endswith("&lt;…")
