"""Account commands: /start, /daftar, /jeda, /lanjut, /status, /paket, the data rights."""

import io
import json
import logging
import re
import time

from telebot import TeleBot, types
from telebot.apihelper import ApiTelegramException
from telebot.formatting import escape_html

from bot import registration, texts
from bot.config import BotConfig
from bot.render import render_missed
from lpse_crawler import usage
from lpse_crawler.outbox import Notification, Status, note_summary, summarise_backlog
from lpse_crawler.people import audit
from lpse_crawler.people.contact import InvalidContact
from lpse_crawler.people.crypto import Keyring
from lpse_crawler.people.models import Filter, Subscriber, SubscriberStatus
from lpse_crawler.people.personal_data import create_subscriber, update_personal
from lpse_crawler.people.plans import PAID, PLANS, TRIAL_DAYS, plan_of
from lpse_crawler.people.privacy import erase_subscriber, export_subscriber
from lpse_crawler.store.database import WIB, utcnow, wib_start_of, write_transaction

log = logging.getLogger(__name__)
MAX_TEXT = 1000
RETRY_WAIT, RETRY_ATTEMPTS = 30.0, 5  # a reply waits out 429s this long in all, this often
_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
UBAHDATA_FIELDS = {
    "nama": "name",
    "name": "name",
    "wa": "phone",
    "whatsapp": "phone",
    "hp": "phone",
    "phone": "phone",
    "email": "email",
    "username": "username",
}


class Bot:
    """Shared plumbing for the command groups: replies, subscriber lookup."""

    def __init__(self, bot: TeleBot, config: BotConfig, keyring: Keyring):
        self.bot, self.config, self.keyring = bot, config, keyring

    def reply(self, chat_id: int, text: str, **kwargs):
        """Send an HTML message, waiting out Telegram's 429s (see `call`); the Message, or None."""
        return self.call(
            self.bot.send_message, chat_id, text, parse_mode="HTML", disable_web_page_preview=True, **kwargs
        )

    def call(self, method, chat_id: int, *args, **kwargs):
        """A Bot API call to `chat_id` that waits out 429s (retry_after), RETRY_WAIT seconds in all;
        past that it logs and returns None instead of the result. Other errors are raised."""
        waited = 0.0
        for _ in range(RETRY_ATTEMPTS):
            try:
                return method(chat_id, *args, **kwargs)
            except ApiTelegramException as exc:
                if exc.error_code != 429:
                    raise
                wait = float((exc.result_json.get("parameters") or {}).get("retry_after", 1))
            if waited + wait > RETRY_WAIT:
                break
            log.info("Telegram asks to wait %.0f s (429): %s to chat %s", wait, method.__name__, chat_id)
            time.sleep(wait)
            waited += wait
        log.warning(
            "Gave up %s to chat %s after waiting %.0f s: still 429, retry after %.0f s",
            method.__name__,
            chat_id,
            waited,
            wait,
        )
        return None

    def subscriber(self, message) -> Subscriber | None:
        """The consenting subscriber behind a message; tells the user to /start otherwise."""
        found = Subscriber.get_or_none(Subscriber.chat_id == message.chat.id)
        if found is None:
            self.reply(message.chat.id, texts.NEED_START)
        return found

    def own_filters(self, message) -> tuple[Subscriber, list[Filter]] | None:
        """The consenting subscriber and their filters, oldest first; None (and the user
        told why) when there is no subscriber or no filter."""
        subscriber = self.subscriber(message)
        if subscriber is None:
            return None
        filters = list(subscriber.filters.order_by(Filter.id))
        if not filters:
            self.reply(message.chat.id, texts.NO_FILTERS)
            return None
        return subscriber, filters

    @staticmethod
    def argument(message) -> str:
        parts = (message.text or "").split(maxsplit=1)
        return parts[1].strip() if len(parts) > 1 else ""


class AccountCommands(Bot):
    def start(self, message) -> None:
        payload = self.argument(message)
        keyboard = types.InlineKeyboardMarkup()
        keyboard.add(types.InlineKeyboardButton(texts.CONSENT_BUTTON, callback_data="consent:yes"))
        if Subscriber.get_or_none(Subscriber.chat_id == message.chat.id):
            self.reply(message.chat.id, texts.ALREADY)
        else:
            self.reply(message.chat.id, texts.WELCOME, reply_markup=keyboard)
        if payload and _PAYLOAD.match(payload) and payload.startswith("paket"):
            self.paket(message)

    def consent(self, call) -> None:
        chat_id = call.message.chat.id
        if Subscriber.get_or_none(Subscriber.chat_id == chat_id) is None:
            username = call.from_user.username
            subscriber = create_subscriber(self.keyring, chat_id, username=username if username else None)
            with write_transaction():
                Subscriber.update(consent_at=utcnow()).where(Subscriber.id == subscriber.id).execute()
                audit.record("bot", "consent", subscriber.id)
        self.reply(chat_id, texts.CONSENTED.format(days=TRIAL_DAYS))

    def daftar(self, message) -> None:
        """`/daftar` asks name, WhatsApp and email in turn; `/daftar a; b; c` stores them at once."""
        registration.daftar(self, message)

    def jeda(self, message) -> None:
        """Pause: matches are still queued (matching/saved_filters.py), sent as one summary on /lanjut."""
        subscriber = self.subscriber(message)
        if subscriber is not None:
            with write_transaction():
                Subscriber.update(status=SubscriberStatus.PAUSED).where(
                    Subscriber.id == subscriber.id
                ).execute()
            self.reply(message.chat.id, texts.PAUSED)

    def lanjut(self, message) -> None:
        subscriber = self.subscriber(message)
        if subscriber is None:
            return
        if subscriber.status == SubscriberStatus.ACTIVE:
            return self.reply(message.chat.id, texts.ALREADY_ACTIVE)
        self.resume(message.chat.id, subscriber.id, texts.RESUMED)

    def welcome_back(self, chat_id: int) -> None:
        """A subscriber who had blocked the bot and is back (unblocked it, wrote, or pressed a
        button) is active again, with one summary of what matched while they could not be
        reached (called by app.py)."""
        blocked = Subscriber.get_or_none(
            Subscriber.chat_id == chat_id, Subscriber.status == SubscriberStatus.BLOCKED
        )
        if blocked is not None:
            log.info("Subscriber %d is back after blocking the bot; active again", blocked.id)
            self.resume(chat_id, blocked.id, texts.WELCOME_BACK)

    def blocked_us(self, chat_id: int) -> None:
        """The chat blocked the bot: an active subscriber is blocked now, so what matches meanwhile
        is held for the welcome-back summary instead of each alert dying on Telegram's 403."""
        with write_transaction():
            blocked = (
                Subscriber.update(status=SubscriberStatus.BLOCKED, updated_at=utcnow())
                .where(Subscriber.chat_id == chat_id, Subscriber.status == SubscriberStatus.ACTIVE)
                .execute()
            )
        if blocked:
            log.info("Chat %s blocked the bot; its alerts are held until it is back", chat_id)

    def resume(self, chat_id: int, subscriber_id: int, heading: str) -> None:
        """Make the subscriber active and send what was held meanwhile as one summary message."""
        missed, claimed_at = summarise_backlog(subscriber_id)
        if not missed:
            return self.reply(chat_id, f"{heading} {texts.MISSED_NONE}")
        text = render_missed(f"{heading}\n{texts.MISSED_HEADING.format(count=len(missed))}", missed)
        try:
            sent = self.reply(chat_id, text)  # None: Telegram kept asking to wait
        except BaseException:  # not sent (network, Telegram's error): queued again, then raised
            note_summary(missed, claimed_at, None)
            raise
        note_summary(missed, claimed_at, sent.message_id if sent is not None else None)

    def status(self, message) -> None:
        subscriber = self.subscriber(message)
        if subscriber is None:
            return
        now = utcnow()
        plan = plan_of(subscriber, now)
        ends = subscriber.plan_expires_at.astimezone(WIB) if subscriber.plan_expires_at else None
        expiry = f" (sampai {ends:%d-%m-%Y})" if plan.code != "free" and ends else ""
        if plan.code != subscriber.plan and plan.code == "trial":  # bought during the trial: that comes next
            trial_ends = subscriber.trial_until.astimezone(WIB)
            expiry = f" (sampai {trial_ends:%d-%m-%Y}), lalu {PLANS[subscriber.plan].label}{expiry}"
        month_start = wib_start_of(now, "month")
        sent = Notification.select().where(
            Notification.subscriber == subscriber,
            Notification.status == Status.SENT,
            Notification.sent_at >= month_start,
        )
        active = Filter.select().where(Filter.subscriber == subscriber, Filter.active == True)  # noqa: E712
        status = texts.STATUS_WORDS.get(subscriber.status, subscriber.status)
        self.reply(
            message.chat.id,
            texts.STATUS.format(
                plan=plan.label,
                expiry=expiry,
                filters=active.count(),
                max_filters=plan.max_filters,
                month=sent.count(),
                status=status,
            ),
        )

    def datasaya(self, message) -> None:
        subscriber = self.subscriber(message)
        if subscriber is None:
            return
        with write_transaction():
            audit.record("bot", "datasaya", subscriber.id)
        document = json.dumps(export_subscriber(self.keyring, subscriber), ensure_ascii=False, indent=2)
        upload = types.InputFile(io.BytesIO(document.encode()), file_name="pantau-lpse-data-saya.json")
        self.bot.send_document(message.chat.id, upload, caption=texts.DATASAYA)

    def ubahdata(self, message) -> None:
        subscriber = self.subscriber(message)
        if subscriber is None:
            return
        words = self.argument(message).split(maxsplit=1)
        erase = len(words) == 2 and words[0].lower() == "hapus"
        key = (words[1] if erase else words[0]).lower() if words else ""
        if key not in UBAHDATA_FIELDS or (len(words) < 2):
            return self.reply(message.chat.id, texts.UBAHDATA_USAGE)
        field = UBAHDATA_FIELDS[key]
        try:  # a bad or unusable value is named, as in /daftar
            typed = {field: words[1]}
            values = {field: None} if erase else registration.checked(self.keyring, subscriber, typed)
            update_personal(self.keyring, subscriber, **values)
        except InvalidContact as exc:
            return self.reply(message.chat.id, escape_html(str(exc)))
        except registration.Refused as exc:
            return self.reply(message.chat.id, str(exc))
        with write_transaction():
            audit.record("bot", "ubahdata", subscriber.id, UBAHDATA_FIELDS[key])
        self.reply(message.chat.id, texts.UBAHDATA_DONE)

    def hapusakun(self, message) -> None:
        if (subscriber := self.subscriber(message)) is None:
            return
        text = texts.HAPUSAKUN_CONFIRM
        if subscriber.plan in PAID and subscriber.plan_expires_at and subscriber.plan_expires_at > utcnow():
            until = subscriber.plan_expires_at.astimezone(WIB)
            text += texts.HAPUSAKUN_PAID.format(label=PLANS[subscriber.plan].label, until=until)
        keyboard = types.InlineKeyboardMarkup()
        keyboard.add(
            types.InlineKeyboardButton(texts.HAPUSAKUN_YES, callback_data="acct:delete"),
            types.InlineKeyboardButton(texts.HAPUSAKUN_NO, callback_data="acct:keep"),
        )
        self.reply(message.chat.id, text, reply_markup=keyboard)

    def account_button(self, call, choice: str) -> None:
        chat_id = call.message.chat.id
        subscriber = Subscriber.get_or_none(Subscriber.chat_id == chat_id)
        if choice == "delete" and subscriber is not None:
            erase_subscriber(subscriber, actor="bot")
            self.bot.edit_message_text(texts.HAPUSAKUN_DONE, chat_id, call.message.message_id)
        else:
            self.bot.edit_message_text(texts.CANCELLED, chat_id, call.message.message_id)

    def privasi(self, message) -> None:
        self.reply(message.chat.id, texts.PRIVASI)


def count_command() -> None:
    with write_transaction():
        usage.count("commands")


def too_long(message) -> bool:
    return len(message.text or "") > MAX_TEXT
