"""Following packages: the Ikuti and Abaikan buttons under every tender alert, and /diikuti.

Buttons carry a package id only; whoever presses them acts on their own follows (a package
is public, a follow belongs to the pressing chat's subscriber).
"""

from zoneinfo import ZoneInfo

from telebot import types
from telebot.apihelper import ApiTelegramException
from telebot.formatting import escape_html

from bot import texts
from bot.handlers import Bot
from lpse_crawler.people import follows
from lpse_crawler.people.models import Subscriber
from lpse_crawler.people.plans import UPGRADE_HINT, plan_of
from lpse_crawler.store.database import utcnow
from lpse_crawler.store.models import Instance, Tender
from lpse_crawler.tanggal import waktu

MAX_ID = 2**62
LINES_PER_MESSAGE = 20  # /diikuti: each message well under Telegram's 4,096 characters
NAME_CHARS = 90


def alert_keyboard(tender_id: int) -> types.InlineKeyboardMarkup:
    """The buttons under a tender alert."""
    keyboard = types.InlineKeyboardMarkup(row_width=2)
    keyboard.add(
        types.InlineKeyboardButton(texts.FOLLOW_BUTTON, callback_data=f"follow:{tender_id}"),
        types.InlineKeyboardButton(texts.IGNORE_BUTTON, callback_data=f"ignore:{tender_id}"),
    )
    return keyboard


def held_keyboard(tenders: list[Tender]) -> types.InlineKeyboardMarkup:
    """An "Ikuti n" button for each package of a digest or quiet-hours summary, numbered as
    its lines are."""
    keyboard = types.InlineKeyboardMarkup(row_width=5)
    keyboard.add(
        *(
            types.InlineKeyboardButton(f"{texts.FOLLOW_BUTTON} {n}", callback_data=f"follow:{t.id}")
            for n, t in enumerate(tenders, 1)
        )
    )
    return keyboard


class FollowCommands(Bot):
    def diikuti(self, message) -> None:
        subscriber = self.subscriber(message)
        if subscriber is None:
            return
        now = utcnow()
        tenders = follows.followed(subscriber, now)
        if not tenders:
            return self.reply(message.chat.id, texts.NO_FOLLOWS)
        limit = follows.follow_limit(subscriber, now)
        codes = {t.instance_first_seen_id for t in tenders}
        instances = {i.code: i for i in Instance.select().where(Instance.code.in_(codes))}
        header = texts.FOLLOWS_HEADER.format(count=len(tenders), limit=limit)
        for start in range(0, len(tenders), LINES_PER_MESSAGE):
            chunk = list(enumerate(tenders[start : start + LINES_PER_MESSAGE], start + 1))
            lines = [
                _line(n, tender, instances.get(tender.instance_first_seen_id), now) for n, tender in chunk
            ]
            keyboard = types.InlineKeyboardMarkup(row_width=4)
            keyboard.add(
                *[
                    types.InlineKeyboardButton(
                        texts.UNFOLLOW_BUTTON.format(n=n), callback_data=f"unfollow:{t.id}"
                    )
                    for n, t in chunk
                ]
            )
            text = "\n".join([header, *lines] if start == 0 else lines)
            self.reply(message.chat.id, text, reply_markup=keyboard)

    def follow_button(self, call, value: str) -> None:
        """`follow:<package id>` under an alert."""
        subscriber, tender = self._pressed(call, value)
        now = utcnow()
        outcome = follows.follow(subscriber, tender.id, now)
        nama = _name(tender)
        if outcome is follows.Outcome.LIMIT:
            plan = plan_of(subscriber, now)
            text = texts.FOLLOW_LIMIT.format(plan=plan.label, limit=plan.max_follows, hint=UPGRADE_HINT)
        elif outcome is follows.Outcome.ALREADY:
            text = texts.ALREADY_FOLLOWED.format(nama=nama)
        elif outcome is follows.Outcome.GONE:
            text = texts.PACKAGE_GONE
        elif not follows.bidding(tender, now):
            text = texts.FOLLOWED_NO_DEADLINE.format(nama=nama)
        else:
            text = texts.FOLLOWED.format(nama=nama)
        self.reply(call.message.chat.id, text)

    def ignore_button(self, call, value: str) -> None:
        """`ignore:<package id>`: the alert loses its buttons; the package is not followed."""
        subscriber, tender = self._pressed(call, value)
        follows.unfollow(subscriber, tender.id)
        try:
            self.call(self.bot.edit_message_reply_markup, call.message.chat.id, call.message.message_id)
        except ApiTelegramException as exc:  # e.g. too old to edit: the reply still says it
            if "not modified" not in (exc.description or ""):
                raise
        self.reply(call.message.chat.id, texts.IGNORED)

    def unfollow_button(self, call, value: str) -> None:
        """`unfollow:<package id>` under /diikuti or a reminder."""
        subscriber, tender = self._pressed(call, value)
        done = follows.unfollow(subscriber, tender.id)
        self.reply(
            call.message.chat.id,
            (texts.UNFOLLOWED if done else texts.NOT_FOLLOWED).format(nama=_name(tender)),
        )

    def _pressed(self, call, value: str) -> tuple[Subscriber, Tender]:
        """The pressing chat's subscriber and the package; ValueError for forged data or a
        chat that has not agreed to the terms (it is told to /start)."""
        if not value.isdigit() or int(value) >= MAX_ID:
            raise ValueError(f"button value {value!r} out of range")
        subscriber = self.subscriber(call.message)  # tells a chat that has not agreed to /start
        if subscriber is None:
            raise ValueError("not a subscriber")
        tender = Tender.get_or_none(Tender.id == int(value))
        if tender is None:
            self.reply(call.message.chat.id, texts.PACKAGE_GONE)
            raise ValueError("no such package")
        return subscriber, tender


def _name(tender: Tender) -> str:
    text = " ".join(tender.nama.split())
    return escape_html(text if len(text) <= NAME_CHARS else text[: NAME_CHARS - 1] + "…")


def _line(n: int, tender: Tender, instance: Instance | None, now) -> str:
    if follows.bidding(tender, now):
        zone = ZoneInfo(instance.timezone if instance else "Asia/Jakarta")
        when = texts.FOLLOW_DEADLINE.format(deadline=waktu(tender.deadline.astimezone(zone)))
    else:
        when = texts.FOLLOW_STAGE.format(tahap=escape_html(tender.tahap))
    lpse = escape_html(instance.name if instance else tender.instance_first_seen_id)
    return texts.FOLLOW_LINE.format(n=n, nama=_name(tender), lpse=lpse, when=when)
