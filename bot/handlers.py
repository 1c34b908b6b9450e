"""Account commands: /start, /daftar, /jeda, /lanjut, /status, /paket, the data rights, /bantuan."""

import io
import json
import logging
import re

from telebot import TeleBot, types
from telebot.formatting import escape_html

from bot import conversation, texts
from bot.config import BotConfig
from lpse_crawler import usage
from lpse_crawler.outbox import Notification, Status
from lpse_crawler.people import audit
from lpse_crawler.people.contact import InvalidContact
from lpse_crawler.people.crypto import Keyring
from lpse_crawler.people.models import Filter, Subscriber, SubscriberStatus
from lpse_crawler.people.personal_data import create_subscriber, update_personal
from lpse_crawler.people.plans import PLANS, TRIAL_DAYS, effective_plan
from lpse_crawler.people.privacy import erase_subscriber, export_subscriber
from lpse_crawler.rupiah import format_rupiah
from lpse_crawler.store.database import WIB, utcnow, wib_start_of, write_transaction

log = logging.getLogger(__name__)
MAX_TEXT = 1000
_EMAIL = re.compile(r"\S+@\S+")
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

    def reply(self, chat_id: int, text: str, **kwargs) -> None:
        self.bot.send_message(chat_id, text, parse_mode="HTML", disable_web_page_preview=True, **kwargs)

    def subscriber(self, message) -> Subscriber | None:
        """The consenting subscriber behind a message; tells the user to /start otherwise."""
        found = Subscriber.get_or_none(Subscriber.chat_id == message.chat.id)
        if found is None:
            self.reply(message.chat.id, texts.NEED_START)
        return found

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
        subscriber = self.subscriber(message)
        if subscriber is None:
            return
        parts = [p.strip() for p in re.split(r"[;\n]", self.argument(message)) if p.strip()]
        if not parts:
            return self.reply(message.chat.id, texts.DAFTAR_USAGE)
        values: dict[str, str] = {}
        for part in parts:
            if _EMAIL.fullmatch(part):
                values["email"] = part
            elif re.fullmatch(r"[+\d][\d\s().-]{6,}", part):
                values["phone"] = part
            else:
                values["name"] = part
        if "phone" not in values and "email" not in values:
            return self.reply(message.chat.id, texts.DAFTAR_NEEDS_CONTACT)
        try:
            update_personal(self.keyring, subscriber, **values)
        except InvalidContact as exc:
            return self.reply(message.chat.id, escape_html(str(exc)))
        self.reply(message.chat.id, texts.DAFTAR_DONE)

    def jeda(self, message, status: SubscriberStatus = SubscriberStatus.PAUSED) -> None:
        subscriber = self.subscriber(message)
        if subscriber is not None:
            with write_transaction():
                Subscriber.update(status=status).where(Subscriber.id == subscriber.id).execute()
            self.reply(message.chat.id, texts.PAUSED if status == SubscriberStatus.PAUSED else texts.RESUMED)

    def lanjut(self, message) -> None:
        self.jeda(message, status=SubscriberStatus.ACTIVE)

    def status(self, message) -> None:
        subscriber = self.subscriber(message)
        if subscriber is None:
            return
        now = utcnow()
        plan = effective_plan(subscriber.plan, subscriber.plan_expires_at, now)
        ends = subscriber.plan_expires_at.astimezone(WIB) if subscriber.plan_expires_at else None
        expiry = f" (sampai {ends:%d-%m-%Y})" if plan.code != "free" and ends else ""
        month_start = wib_start_of(now, "month")
        sent = Notification.select().where(
            Notification.subscriber == subscriber,
            Notification.status == Status.SENT,
            Notification.sent_at >= month_start,
        )
        active = Filter.select().where(Filter.subscriber == subscriber, Filter.active == True)  # noqa: E712
        status = {SubscriberStatus.ACTIVE: "aktif", SubscriberStatus.PAUSED: "dijeda"}.get(
            subscriber.status, subscriber.status
        )
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

    def paket(self, message) -> None:
        lines = [
            texts.PLAN_LINE.format(
                label=p.label,
                price=price_text(p.price),
                filters=p.max_filters,
                instances=p.max_instances,
                keywords=p.max_keywords,
            )
            for p in PLANS.values()
            if p.code != "trial"
        ]
        payment = escape_html(self.config.payment_info)
        self.reply(message.chat.id, texts.PAKET.format(plans="\n".join(lines), payment=payment))

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
        try:
            update_personal(self.keyring, subscriber, **{UBAHDATA_FIELDS[key]: None if erase else words[1]})
        except InvalidContact as exc:
            return self.reply(message.chat.id, escape_html(str(exc)))
        with write_transaction():
            audit.record("bot", "ubahdata", subscriber.id, UBAHDATA_FIELDS[key])
        self.reply(message.chat.id, texts.UBAHDATA_DONE)

    def hapusakun(self, message) -> None:
        if self.subscriber(message) is None:
            return
        keyboard = types.InlineKeyboardMarkup()
        keyboard.add(
            types.InlineKeyboardButton(texts.HAPUSAKUN_YES, callback_data="acct:delete"),
            types.InlineKeyboardButton(texts.HAPUSAKUN_NO, callback_data="acct:keep"),
        )
        self.reply(message.chat.id, texts.HAPUSAKUN_CONFIRM, reply_markup=keyboard)

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

    def bantuan(self, message) -> None:
        state = conversation.load(message.chat.id)
        state.awaiting = "support"
        conversation.save(message.chat.id, state)
        self.reply(message.chat.id, texts.BANTUAN)

    def forward_support(self, message) -> None:
        subscriber = Subscriber.get_or_none(Subscriber.chat_id == message.chat.id)
        label = subscriber.id if subscriber else f"tamu {message.chat.id}"
        for admin in self.config.admin_ids:
            self.reply(admin, texts.SUPPORT_TO_ADMIN.format(id=label, text=escape_html(message.text)))
        self.reply(message.chat.id, texts.SUPPORT_FORWARDED)


def price_text(price: int) -> str:
    return "gratis" if not price else format_rupiah(price) + "/bulan"


def count_command() -> None:
    with write_transaction():
        usage.count("commands")


def too_long(message) -> bool:
    return len(message.text or "") > MAX_TEXT
