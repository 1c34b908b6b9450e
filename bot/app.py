"""Builds the TeleBot and routes every update in one place: commands, text, media, buttons,
and the user blocking or unblocking the bot (my_chat_member).

Chats and limits (PantauBot.dispatch):
- commands are case-insensitive (/STATUS, /Status@PantauBot); "/cmd@otherbot" is ignored;
- the bot serves private chats only: in a group, supergroup or channel each command for it
  gets one short notice with a t.me link (at most GROUP_BURST, then one per 1/GROUP_RATE s:
  Telegram allows about 20 messages a minute in a group); a button pressed there is refused,
  so nothing there creates a subscriber;
- flood: a private chat may send FLOOD_BURST messages at once, then FLOOD_RATE a second on
  average (a token bucket per chat). Beyond that its messages are dropped, not queued, and
  it is told once "terlalu cepat": 50 messages in a second get at most FLOOD_BURST + 1
  replies, the pace Telegram accepts (about one message a second per chat, bursts allowed).
  Buttons are not counted (they edit messages and are answered in any case);
- every reply waits out Telegram's 429 (handlers.Bot.call, up to RETRY_WAIT seconds).
"""

import logging
import time

import requests
from telebot import TeleBot, apihelper
from telebot.apihelper import ApiException, ApiTelegramException

from bot import conversation, registration, texts
from bot.admin import AdminCommands
from bot.config import BotConfig
from bot.delivery import DeliveryCommands
from bot.filter_flow import FilterCommands
from bot.following import FollowCommands
from bot.handlers import MAX_TEXT, AccountCommands, count_command, too_long
from bot.looking_back import LookBackCommands
from bot.paying import PayingCommands
from bot.support import SupportCommands
from lpse_crawler.people.crypto import Keyring

log = logging.getLogger(__name__)
# what dispatch is given: text and media (media other than photos and documents get a hint)
CONTENT_TYPES = ["text", "photo", "document", "sticker", "voice", "video", "audio", "animation", "video_note"]
FLOOD_BURST, FLOOD_RATE = 10, 1.0  # a private chat: messages at once, then a second (see above)
GROUP_BURST, GROUP_RATE = 3, 1 / 20  # a group's notices: at once, then a second
COMMANDS = {
    # handler name: Indonesian command first, then English aliases
    "start": ["start", "mulai"],
    "daftar": ["daftar", "register"],
    "filter": ["filter"],
    "filterku": ["filterku", "myfilters"],
    "hapusfilter": ["hapusfilter", "deletefilter"],
    "diikuti": ["diikuti", "following"],
    "terbaru": ["terbaru", "recent"],
    "ekspor": ["ekspor", "export"],
    "ringkasan": ["ringkasan", "digest"],
    "jamtenang": ["jamtenang", "quiet"],
    "zona": ["zona", "timezone"],
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


class ChatLimiter:
    """A token bucket per chat: `burst` messages at once, then `rate` a second on average."""

    def __init__(self, burst: float, rate: float, clock=time.monotonic):
        self.burst, self.rate, self.clock = burst, rate, clock
        self.buckets: dict[int, tuple[float, float]] = {}  # chat -> (tokens, when counted)
        self.warned: set[int] = set()  # chats told "terlalu cepat" since their last accepted message

    def take(self, chat_id: int) -> bool:
        """One message from the chat: True if it may be answered."""
        now = self.clock()
        tokens, then = self.buckets.get(chat_id, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if len(self.buckets) > 10_000:  # forget chats whose bucket is full again
            idle = self.burst / self.rate
            self.buckets = {c: (t, w) for c, (t, w) in self.buckets.items() if now - w < idle}
        self.buckets[chat_id] = (tokens - 1 if tokens >= 1 else tokens, now)
        if tokens >= 1:
            self.warned.discard(chat_id)
        return tokens >= 1

    def first_refusal(self, chat_id: int) -> bool:
        """True once per flood: the refused chat is told, the rest of the flood is dropped silently."""
        if chat_id in self.warned:
            return False
        self.warned.add(chat_id)
        return True


class PantauBot(
    AccountCommands,
    FilterCommands,
    FollowCommands,
    DeliveryCommands,
    LookBackCommands,
    SupportCommands,
    AdminCommands,
    PayingCommands,
):
    """All command groups over one TeleBot, and the one dispatcher of its updates."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.routes = {alias.lower(): name for name, aliases in COMMANDS.items() for alias in aliases}
        self.private_limiter = ChatLimiter(FLOOD_BURST, FLOOD_RATE)
        self.group_limiter = ChatLimiter(GROUP_BURST, GROUP_RATE)
        self._username: str | None = None

    def dispatch(self, message) -> None:
        """Every message and channel post, by the rules in this module's docstring."""
        chat_id = message.chat.id
        if message.chat.type != "private":
            return self.group_message(message)
        if not self.private_limiter.take(chat_id):
            if self.private_limiter.first_refusal(chat_id):
                log.info("Chat %s sends too fast; dropping its messages for a while", chat_id)
                self.reply(chat_id, texts.TOO_FAST)
            return
        self.welcome_back(chat_id)  # a subscriber who had blocked the bot is back (handlers.py)
        if too_long(message):
            return self.reply(chat_id, texts.TOO_LONG.format(limit=MAX_TEXT))
        command = self.parse_command(message)
        if command is not None:
            name, for_this_bot = command
            return self.run_command(name, message) if for_this_bot else None
        thread = self.thread_of(message)  # a reply within a support thread (support.py)
        if thread is not None:
            return self.thread_message(message, thread)
        if message.content_type == "text":
            return None if self.orphan_answer(message) else self.text(message)
        if message.content_type in ("photo", "document"):
            return self.media(message)
        self.reply(chat_id, texts.MEDIA_UNSUPPORTED)

    def run_command(self, name: str, message) -> None:
        handler = self.routes.get(name)
        if handler is None:
            return self.reply(message.chat.id, texts.UNKNOWN_COMMAND)
        state = conversation.load(message.chat.id)
        if state.awaiting:  # a command ends the wait for plain text
            state.awaiting = None
            conversation.save(message.chat.id, state)
        count_command()
        getattr(self, handler)(message)

    def parse_command(self, message) -> tuple[str, bool] | None:
        """("status", True) for "/STATUS" or "/Status@PantauBot x"; ("status", False) for
        "/status@otherbot"; None when the message is no command."""
        text = message.text if message.content_type == "text" else None
        if not text or not text.startswith("/"):
            return None
        name, _, target = text.split(maxsplit=1)[0][1:].partition("@")
        own = self.username()
        return name.lower(), not target or own is None or target.lower() == own.lower()

    def username(self) -> str | None:
        """This bot's @username (getMe, asked once); None while Telegram cannot be asked."""
        if self._username is None:
            try:
                self._username = self.bot.get_me().username or ""
            except (ApiException, requests.RequestException) as exc:
                log.warning("Could not ask Telegram for the bot's username: %s", exc)
                return None
        return self._username or None

    def group_message(self, message) -> None:
        """Groups, supergroups and channels: one short notice per command for this bot, paced."""
        command = self.parse_command(message)
        if command is None or not command[1] or not self.group_limiter.take(message.chat.id):
            return
        own = self.username()
        link = f"https://t.me/{own}" if own else "chat pribadi dengan bot ini"
        try:
            self.reply(message.chat.id, texts.PRIVATE_ONLY.format(link=link))
        except ApiTelegramException as exc:  # e.g. a channel where the bot may not post
            log.info("No notice in %s chat %s: %s", message.chat.type, message.chat.id, exc.description)

    def callback(self, call) -> None:
        if call.message is None:  # inline-mode button: no chat to act in, but always answered
            log.info("Refused button without a message from user %s", call.from_user.id)
            self.bot.answer_callback_query(call.id, texts.BAD_BUTTON)
            return
        if call.message.chat.type != "private":  # e.g. a forged consent button in a group
            log.info("Refused a button in %s chat %s", call.message.chat.type, call.message.chat.id)
            self.bot.answer_callback_query(call.id, texts.PRIVATE_ONLY_BUTTON)
            return
        self.welcome_back(call.message.chat.id)  # unblocked, then pressed an old button
        action, _, value = (call.data or "").partition(":")
        try:
            if action == "consent" and value == "yes":
                self.consent(call)
            elif action == "acct" and value in ("delete", "keep"):
                self.account_button(call, value)
            elif action in self.STEPS:  # the guided /filter flow's buttons (filter_flow.py)
                self.button(call, action, value)
            elif action == "reg":  # the guided /daftar's Lewati buttons (registration.py)
                registration.button(self, call, value)
            elif action == "delf":
                self.delete_button(call, value)
            elif action in ("follow", "ignore", "unfollow"):  # under alerts, /diikuti, reminders
                getattr(self, f"{action}_button")(call, value)
            elif action == "recent":  # /terbaru's pages
                self.recent_button(call, value)
            elif action == "pay":  # plan, period, payment link (paying.py)
                self.pay_button(call, value)
            elif action == "support" and value == "ask":  # under /bantuan (support.py)
                self.support_button(call)
            else:
                raise ValueError(f"unknown button {action!r}")
        except ValueError:
            log.info("Refused button data from chat %s", call.message.chat.id)
            self.bot.answer_callback_query(call.id, texts.BAD_BUTTON)
            return
        self.bot.answer_callback_query(call.id)

    def membership(self, update) -> None:
        """The user blocked the bot (kicked) or unblocked it (member again) in their private
        chat: Telegram says so at once, before any message or button from them."""
        if update.chat.type != "private":
            return
        if update.new_chat_member.status == "kicked":
            self.blocked_us(update.chat.id)
        elif update.new_chat_member.status == "member":
            self.welcome_back(update.chat.id)

    def text(self, message) -> None:
        """Plain text (no command; dispatch did the checks): what the chat waits for, else a hint."""
        chat_id = message.chat.id
        state = conversation.load(chat_id)
        if (state.awaiting or "").startswith(registration.AWAITING):  # the guided /daftar
            return registration.answer(self, message)
        if state.awaiting in ("keywords", "lpse"):  # the guided /filter (filter_flow.py)
            return self.keywords(message)
        if state.awaiting == "support":  # on until the next command (support.py)
            return self.forward_support(message)
        self.reply(chat_id, texts.FREE_TEXT)


def build_bot(config: BotConfig, keyring: Keyring) -> tuple[TeleBot, PantauBot]:
    """A TeleBot talking to config.api_url, every update routed by PantauBot."""
    apihelper.API_URL = config.api_url + "/bot{0}/{1}"
    apihelper.FILE_URL = config.api_url + "/file/bot{0}/{1}"
    telebot = TeleBot(config.token, threaded=False, parse_mode=None)
    pantau = PantauBot(telebot, config, keyring)
    telebot.register_message_handler(pantau.dispatch, content_types=CONTENT_TYPES)
    telebot.register_channel_post_handler(pantau.dispatch, content_types=["text"])
    telebot.register_callback_query_handler(pantau.callback, func=lambda call: True)
    telebot.register_my_chat_member_handler(pantau.membership)
    return telebot, pantau
