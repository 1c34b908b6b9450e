"""Builds the TeleBot with every handler registered (one place) against a Bot API URL."""

import logging

from telebot import TeleBot, apihelper

from bot import conversation, texts
from bot.admin import AdminCommands
from bot.config import BotConfig
from bot.filter_flow import FilterCommands
from bot.handlers import MAX_TEXT, AccountCommands, count_command, too_long
from lpse_crawler.people.crypto import Keyring

log = logging.getLogger(__name__)
COMMANDS = {
    # handler name: Indonesian command first, then English aliases
    "start": ["start", "mulai"],
    "daftar": ["daftar", "register"],
    "filter": ["filter"],
    "filterku": ["filterku", "myfilters"],
    "hapusfilter": ["hapusfilter", "deletefilter"],
    "jeda": ["jeda", "pause"],
    "lanjut": ["lanjut", "resume"],
    "status": ["status"],
    "paket": ["paket", "plans"],
    "datasaya": ["datasaya", "mydata"],
    "ubahdata": ["ubahdata", "editdata"],
    "hapusakun": ["hapusakun", "deleteaccount"],
    "privasi": ["privasi", "privacy"],
    "bantuan": ["bantuan", "help"],
    "stats": ["stats"],
    "broadcast": ["broadcast"],
}


class PantauBot(AccountCommands, FilterCommands, AdminCommands):
    """All command groups over one TeleBot."""

    def command(self, name: str):
        handler = getattr(self, name)

        def run(message) -> None:
            if too_long(message):
                return self.reply(message.chat.id, texts.TOO_LONG.format(limit=MAX_TEXT))
            state = conversation.load(message.chat.id)
            if state.awaiting:  # a command ends the wait for plain text
                state.awaiting = None
                conversation.save(message.chat.id, state)
            count_command()
            handler(message)

        return run

    def callback(self, call) -> None:
        if call.message is None:  # inline-mode button: no chat to act in, but always answered
            log.info("Refused button without a message from user %s", call.from_user.id)
            self.bot.answer_callback_query(call.id, texts.BAD_BUTTON)
            return
        action, _, value = (call.data or "").partition(":")
        try:
            if action == "consent" and value == "yes":
                self.consent(call)
            elif action == "acct" and value in ("delete", "keep"):
                self.account_button(call, value)
            elif action in self.STEPS:  # the guided /filter flow's buttons (filter_flow.py)
                self.button(call, action, value)
            elif action == "delf":
                self.delete_button(call, value)
            else:
                raise ValueError(f"unknown button {action!r}")
        except ValueError:
            log.info("Refused button data from chat %s", call.message.chat.id)
            self.bot.answer_callback_query(call.id, texts.BAD_BUTTON)
            return
        self.bot.answer_callback_query(call.id)

    def text(self, message) -> None:
        chat_id = message.chat.id
        if too_long(message):
            return self.reply(chat_id, texts.TOO_LONG.format(limit=MAX_TEXT))
        if (message.text or "").startswith("/"):
            return self.reply(chat_id, texts.UNKNOWN_COMMAND)
        state = conversation.load(chat_id)
        if state.awaiting == "keywords":
            return self.keywords(message)
        if state.awaiting == "support":
            state.awaiting = None
            conversation.save(chat_id, state)
            return self.forward_support(message)
        self.reply(chat_id, texts.FREE_TEXT)


def build_bot(config: BotConfig, keyring: Keyring) -> tuple[TeleBot, PantauBot]:
    """A TeleBot talking to config.api_url, with every handler registered."""
    apihelper.API_URL = config.api_url + "/bot{0}/{1}"
    apihelper.FILE_URL = config.api_url + "/file/bot{0}/{1}"
    telebot = TeleBot(config.token, threaded=False, parse_mode=None)
    pantau = PantauBot(telebot, config, keyring)
    for name, commands in COMMANDS.items():
        telebot.register_message_handler(pantau.command(name), commands=commands, chat_types=["private"])
    telebot.register_callback_query_handler(pantau.callback, func=lambda call: True)
    telebot.register_message_handler(pantau.text, content_types=["text"], chat_types=["private"])
    return telebot, pantau
