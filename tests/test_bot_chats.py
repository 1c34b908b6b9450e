"""Chats and limits: commands in any case and for which bot, groups and channels, Telegram's
429 on a reply, and one chat flooding the bot. Over real HTTP (the `chat` fixture)."""

import logging
import time

import pytest

from bot import app
from bot.app import ChatLimiter
from lpse_crawler.people.models import Subscriber

USER, ADMIN, GROUP, CHANNEL = 501, 900, -1001234, -1009876


@pytest.fixture
def member(chat):
    chat.say(USER, "/start")
    chat.press(USER, "consent:yes")
    return Subscriber.get(Subscriber.chat_id == USER)


@pytest.mark.parametrize("command", ["/STATUS", "/Status", "/status@pantau_bot", "/Status@Pantau_Bot"])
def test_commands_are_case_insensitive_and_may_name_this_bot(chat, member, command):
    assert "Status akun" in chat.say(USER, command)


def test_aliases_and_arguments_keep_working_in_any_case(chat, member):
    assert "Paket Pantau LPSE" in chat.say(USER, "/PLANS")
    assert "tersimpan" in chat.say(USER, "/DAFTAR@pantau_bot Budi; budi@cvmaju.co.id")


def test_a_command_for_another_bot_is_ignored(chat, telegram, member):
    before = len(telegram.sent)
    assert chat.say(USER, "/status@otherbot") == ""
    assert chat.say(USER, "/entahlah@otherbot") == ""
    assert len(telegram.sent) == before
    assert "tidak dikenal" in chat.say(USER, "/ENTAHLAH")


def test_a_group_gets_one_notice_per_command_with_a_link(chat, telegram):
    notice = chat.say(GROUP, "/start", chat_type="supergroup", from_id=USER)
    assert "hanya melayani chat pribadi" in notice and "https://t.me/pantau_bot" in notice
    assert len(telegram.texts_to(GROUP)) == 1
    in_group = {"chat_type": "group", "from_id": USER}
    assert "hanya melayani chat pribadi" in chat.say(GROUP, "/STATUS@pantau_bot", **in_group)
    assert chat.say(GROUP, "/status@otherbot", **in_group) == ""
    assert chat.say(GROUP, "halo semua", **in_group) == ""
    assert len(telegram.texts_to(GROUP)) == 2
    assert Subscriber.select().count() == 0


def test_a_group_that_floods_gets_few_notices(chat, telegram):
    for _ in range(10):
        telegram.push_message(GROUP, "/start", chat_type="supergroup", from_id=USER)
    chat.step()
    assert len(telegram.texts_to(GROUP)) == app.GROUP_BURST


def test_a_channel_post_command_gets_the_notice(chat, telegram):
    before = len(telegram.sent)
    telegram.push_channel_post(CHANNEL, "/start")
    chat.step()
    assert ["hanya melayani chat pribadi" in m["text"] for m in telegram.sent[before:]] == [True]
    assert Subscriber.select().count() == 0


@pytest.mark.parametrize("data", ["consent:yes", "support:ask", "acct:delete", "fprov:0"])
def test_no_button_pressed_in_a_group_does_anything(chat, telegram, data):
    before = len(telegram.sent)
    telegram.push_callback(GROUP, data, from_id=USER, chat_type="group")
    chat.step()
    assert telegram.callback_answers[-1]["text"] == "Tombol ini hanya berlaku di chat pribadi dengan bot."
    assert telegram.sent[before:] == [] and Subscriber.select().count() == 0


def test_a_429_on_a_reply_is_waited_out(chat, telegram, member):
    telegram.throttle(2, retry_after=1)
    started = time.monotonic()
    assert "Status akun" in chat.say(USER, "/status")
    assert time.monotonic() - started >= 2.0  # both retry_after honoured, then the reply went out
    assert not telegram.faults


def test_a_429_longer_than_the_cap_is_logged_and_the_bot_goes_on(chat, telegram, member, caplog):
    telegram.throttle(1, retry_after=3600)
    with caplog.at_level(logging.WARNING, logger="bot.handlers"):
        assert chat.say(USER, "/status") == ""  # not waited an hour
    assert "still 429" in caplog.text and f"chat {USER}" in caplog.text
    assert "Status akun" in chat.say(USER, "/status")


def test_a_429_on_a_support_copy_is_waited_out(chat, telegram, member):
    chat.say(USER, "/bantuan")
    chat.press(USER, "support:ask")
    telegram.throttle(1, retry_after=1)
    before = len(telegram.sent)
    telegram.push_photo(USER)
    chat.step()
    assert [m["method"] for m in telegram.sent[before:]] == ["copyMessage", "sendMessage"]


def test_fifty_quick_messages_get_a_bounded_number_of_replies(chat, telegram, member):
    before = len(telegram.sent)
    started = time.monotonic()
    for _ in range(50):
        telegram.push_message(USER, "/status")
    chat.step()  # all 50 in one getUpdates batch, as after a burst
    replies = [m["text"] for m in telegram.sent[before:] if m["chat_id"] == USER]
    elapsed = time.monotonic() - started
    assert sum("Status akun" in r for r in replies) <= app.FLOOD_BURST + elapsed * app.FLOOD_RATE
    assert sum("terlalu cepat" in r for r in replies) == 1
    assert len(replies) <= app.FLOOD_BURST + 2
    time.sleep(1.1)  # a second later the chat is answered again
    assert "Status akun" in chat.say(USER, "/status")


def test_the_limiter_allows_a_burst_then_one_a_second():
    now = [0.0]
    limiter = ChatLimiter(burst=10, rate=1.0, clock=lambda: now[0])
    accepted = 0
    for _ in range(50):  # 50 messages in 0.3 s
        now[0] += 0.006
        accepted += limiter.take(USER)
    assert accepted == 10
    assert limiter.first_refusal(USER) and not limiter.first_refusal(USER)  # told once
    for _ in range(1000):  # then 10 a second for 100 s: about one a second gets through
        now[0] += 0.1
        accepted += limiter.take(USER)
    assert 105 <= accepted <= 111
    assert limiter.take(ADMIN)  # other chats have their own bucket
    now[0] += 20
    assert sum(limiter.take(USER) for _ in range(20)) == 10  # refilled up to the burst, not beyond
    assert limiter.first_refusal(USER)  # a new flood is told again
