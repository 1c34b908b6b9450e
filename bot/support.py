"""Support both ways: /bantuan, a subscriber's messages to the admins, an admin's answer back.

Under /bantuan a subscriber presses "Tulis pesan ke admin"; from then on, until their next
command (or a day later: conversation.py), their text, photos and documents are copied to
every admin in BOT_ADMIN_IDS under the heading "pelanggan #<id>". Copied, never forwarded:
a forward would show the sender's name. An admin answers by replying to that copy in
Telegram; the answer (text, photo or document) reaches the subscriber with a short heading,
and the subscriber goes on by replying to the answer.

Which message belongs to which subscriber is kept in bot_state: `support.<chat>.<message>`
-> subscriber id, for the admins' copies and the subscriber's answers, erased with the
account (people/privacy.py). The audit trail keeps each step without content:
support.ask / support.answer, subject subscriber:<id>, detail "photo" or "text 120 chars".
"""

import logging
import re

from telebot import types
from telebot.apihelper import ApiTelegramException
from telebot.formatting import escape_html

from bot import conversation, texts
from bot.handlers import Bot
from lpse_crawler.people import audit
from lpse_crawler.people.models import BotState, Subscriber
from lpse_crawler.store.database import upsert, utcnow, write_transaction

log = logging.getLogger(__name__)
THREAD_KEY = "support.{chat}.{message}"  # bot_state key; privacy.erase_subscriber knows the prefix
SUPPORTED = ("text", "photo", "document")
COPY_PREFIX = re.sub("<[^>]+>", "", texts.SUPPORT_TO_ADMIN).split("#")[0]  # "Pesan bantuan dari ..."
CAPTION_ROOM = 900  # of Telegram's 1024 caption characters, what is left after the heading
TEXT_PART = 750  # characters of a text per message: escaped (at most 5 times longer) it fits in 4096


def thread_key(chat_id: int, message_id: int) -> str:
    return THREAD_KEY.format(chat=chat_id, message=message_id)


def describe(message) -> str:
    """What a thread step was, for the audit trail: its kind and size, never its content."""
    if message.content_type == "text":
        return f"text {len(message.text or '')} chars"
    caption = f", caption {len(message.caption)} chars" if message.caption else ""
    return f"{message.content_type}{caption}"


def escaped_within(text: str, room: int) -> str:
    """`text` escaped for HTML and cut (with "…") to at most `room` characters."""
    if len(escape_html(text)) <= room:
        return escape_html(text)
    low, high = 0, len(text)  # the longest prefix whose escaped form and "…" fit
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if len(escape_html(text[:middle])) < room else (low, middle - 1)
    return escape_html(text[:low]) + "…"


def support_keyboard() -> types.InlineKeyboardMarkup:
    keyboard = types.InlineKeyboardMarkup()
    keyboard.add(types.InlineKeyboardButton(texts.SUPPORT_BUTTON, callback_data="support:ask"))
    return keyboard


class SupportCommands(Bot):
    def bantuan(self, message) -> None:
        """The commands, and a button to write to the admins (nothing is armed by /bantuan)."""
        self.reply(message.chat.id, texts.BANTUAN, reply_markup=support_keyboard())

    def support_button(self, call) -> None:
        """`support:ask`: what the subscriber sends next goes to the admins."""
        chat_id = call.message.chat.id
        if Subscriber.get_or_none(Subscriber.chat_id == chat_id) is None:
            return self.reply(chat_id, texts.NEED_START)  # no consent, nothing forwarded or kept
        state = conversation.load(chat_id)
        state.awaiting = "support"
        conversation.save(chat_id, state)
        self.reply(chat_id, texts.SUPPORT_ASK)

    def media(self, message) -> None:
        """A photo or document outside a reply: to the admins when /bantuan asked for it, else a hint."""
        if conversation.load(message.chat.id).awaiting == "support":
            return self.forward_support(message)
        self.reply(message.chat.id, texts.MEDIA_HINT, reply_markup=support_keyboard())

    def thread_of(self, message) -> Subscriber | None:
        """The subscriber of the support thread that `message` replies to, if it does."""
        original = message.reply_to_message
        if original is None or message.content_type not in SUPPORTED:
            return None
        row = BotState.get_or_none(BotState.key == thread_key(message.chat.id, original.message_id))
        return Subscriber.get_or_none(Subscriber.id == int(row.value)) if row else None

    def thread_message(self, message, subscriber: Subscriber) -> None:
        """A reply within a thread: the subscriber's goes to the admins, an admin's to the subscriber."""
        if subscriber.chat_id == message.chat.id:
            return self.forward_support(message)
        if self.from_admin(message):
            return self.answer_support(message, subscriber)

    def from_admin(self, message) -> bool:
        sender = message.from_user.id if message.from_user else None
        return message.chat.id in self.config.admin_ids and sender in self.config.admin_ids

    def orphan_answer(self, message) -> bool:
        """An admin replying to a copy whose subscriber was erased: say so (True) instead of nothing."""
        original = message.reply_to_message
        said = (original.text or original.caption or "") if original else ""
        if not (self.from_admin(message) and said.startswith(COPY_PREFIX)):
            return False
        self.reply(message.chat.id, texts.SUPPORT_GONE)
        return True

    def forward_support(self, message) -> None:
        """Copy the subscriber's message to every admin, headed by their number; keep the thread."""
        chat_id = message.chat.id
        subscriber = Subscriber.get_or_none(Subscriber.chat_id == chat_id)
        if subscriber is None:
            return self.reply(chat_id, texts.NEED_START)
        heading = texts.SUPPORT_TO_ADMIN.format(id=subscriber.id)
        copies = []
        for admin in sorted(self.config.admin_ids):
            try:
                copies += [thread_key(admin, sent) for sent in self.copy(admin, message, heading)]
            except ApiTelegramException as exc:  # one admin unreachable: the others still get it
                log.warning("Support message of subscriber %d not copied to an admin: %s", subscriber.id, exc)
        if not copies:
            log.warning("Support message of subscriber %d reached no admin", subscriber.id)
            return self.reply(chat_id, texts.SUPPORT_NO_ADMIN)
        self.keep_thread(subscriber.id, copies, "bot", "support.ask", describe(message))
        self.reply(chat_id, texts.SUPPORT_FORWARDED)

    def answer_support(self, message, subscriber: Subscriber) -> None:
        """Copy an admin's answer to the subscriber, with a heading; tell the admin how it went."""
        try:
            sent = self.copy(subscriber.chat_id, message, texts.SUPPORT_ANSWER)
            reason = "Telegram meminta menunggu terlalu lama; coba lagi nanti."
        except ApiTelegramException as exc:
            sent, reason = [], escape_html(exc.description or str(exc.error_code))
        if not sent:
            log.warning("Support answer to subscriber %d not delivered: %s", subscriber.id, reason)
            return self.reply(
                message.chat.id, texts.SUPPORT_NOT_DELIVERED.format(id=subscriber.id, reason=reason)
            )
        answer = [thread_key(subscriber.chat_id, message_id) for message_id in sent]
        self.keep_thread(subscriber.id, answer, "bot:admin", "support.answer", describe(message))
        self.reply(message.chat.id, texts.SUPPORT_ANSWERED.format(id=subscriber.id))

    def copy(self, chat_id: int, message, heading: str) -> list[int]:
        """`message` sent on to `chat_id` under `heading`: text as new messages (a long one in
        parts), media copied (copyMessage) with the heading over its caption. The new messages'
        ids; none when Telegram's 429s outlasted Bot.call's wait."""
        if message.content_type == "text":
            parts = [message.text[i : i + TEXT_PART] for i in range(0, len(message.text), TEXT_PART)]
            sent = [self.reply(chat_id, f"{heading}\n{escape_html(part)}") for part in parts]
            return [m.message_id for m in sent if m is not None]
        caption = escaped_within(message.caption, CAPTION_ROOM) if message.caption else ""
        sent = self.call(
            self.bot.copy_message,
            chat_id,
            message.chat.id,
            message.message_id,
            caption=f"{heading}\n{caption}" if caption else heading,
            parse_mode="HTML",
        )
        return [sent.message_id] if sent is not None else []

    @staticmethod
    def keep_thread(subscriber_id: int, keys: list[str], actor: str, action: str, detail: str) -> None:
        with write_transaction():
            for key in keys:
                upsert(
                    BotState,
                    [BotState.key],
                    {"key": key, "value": str(subscriber_id), "updated_at": utcnow()},
                )
            audit.record(actor, action, subscriber_id, detail)
