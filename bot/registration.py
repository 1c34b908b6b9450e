"""/daftar: name, WhatsApp and email, on one line or asked one at a time with a Lewati button.

Each answer of the guided form is checked and stored (encrypted) as soon as it is typed:
the chat state (bot_state, not encrypted) only says which question comes next, never a
value. Nothing typed is dropped without a word: every value that cannot be used is named.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from telebot import types
from telebot.formatting import escape_html

from bot import conversation, texts
from lpse_crawler.people.contact import InvalidContact, shown
from lpse_crawler.people.models import Subscriber
from lpse_crawler.people.personal_data import PERSONAL_FIELDS, find_subscriber, personal_data, update_personal

if TYPE_CHECKING:
    from bot.handlers import Bot

STEPS = ("name", "phone", "email")  # the guided form's questions, in order
AWAITING = "daftar_"  # + step: what the chat's next plain text is for
_PHONE_LIKE = re.compile(r"\+?\d[\d\s().-]{3,}.*")  # starts like a number: checked as one


class Refused(ValueError):
    """Values of one /daftar that cannot be stored; the message (HTML) names each of them."""


# -- the one-line form: /daftar Budi Santoso; 0812-3456-7890; budi@cvmaju.co.id ----------


def daftar(bot: Bot, message) -> None:
    """`/daftar` asks step by step; `/daftar name; phone; email` stores them at once."""
    subscriber = bot.subscriber(message)
    if subscriber is None:
        return
    text = bot.argument(message)
    if not text:
        return ask(bot, message.chat.id, "name", subscriber)
    try:
        values = checked(bot.keyring, subscriber, sorted_parts(text))
        if not ({"phone", "email"} & values.keys() or _has_contact(bot.keyring, subscriber)):
            raise Refused(texts.DAFTAR_NEEDS_CONTACT)
        update_personal(bot.keyring, subscriber, **values)
    except InvalidContact as exc:  # a race: the value was taken after the check
        return bot.reply(message.chat.id, escape_html(str(exc)))
    except Refused as exc:
        return bot.reply(message.chat.id, str(exc))
    bot.reply(message.chat.id, f"{_saved(values)} {texts.DAFTAR_DONE}")


def sorted_parts(text: str) -> dict[str, str]:
    """The parts of a one-line /daftar by kind; two of one kind are refused, naming both."""
    values: dict[str, str] = {}
    for part in (p.strip() for p in re.split(r"[;\n]", text)):
        if not part:
            continue
        kind = "email" if "@" in part else "phone" if _PHONE_LIKE.fullmatch(part) else "name"
        if kind in values:
            first, second = (escape_html(shown(v)) for v in (values[kind], part))
            raise Refused(texts.DAFTAR_TWO.format(what=texts.DAFTAR_WHAT[kind], first=first, second=second))
        values[kind] = part
    return values


def checked(keyring, subscriber: Subscriber, values: dict[str, str]) -> dict[str, str]:
    """`values` if every one is valid and free to use; otherwise Refused naming each bad one."""
    problems = []
    for field, value in values.items():
        normalise = PERSONAL_FIELDS[field][0]
        try:
            clean = normalise(value)
        except InvalidContact as exc:
            problems.append(escape_html(str(exc)))
            continue
        if field in texts.DAFTAR_TAKEN and _taken(keyring, subscriber, field, clean):
            problems.append(texts.DAFTAR_TAKEN[field].format(value=escape_html(shown(value))))
    if problems:
        if len(values) > 1:
            problems.append(texts.DAFTAR_NOTHING_SAVED)
        raise Refused("\n".join(problems))
    return values


def _taken(keyring, subscriber: Subscriber, field: str, clean: str) -> bool:
    holder = find_subscriber(keyring, **{field: clean})
    return holder is not None and holder.id != subscriber.id


def _has_contact(keyring, subscriber: Subscriber) -> bool:
    stored = personal_data(keyring, Subscriber.get_by_id(subscriber.id))
    return bool(stored["phone"] or stored["email"])


def _saved(values: dict[str, str]) -> str:
    return texts.DAFTAR_SAVED.format(fields=", ".join(texts.DAFTAR_FIELD_LABELS[f] for f in values))


# -- the guided form: one question at a time ---------------------------------------------


def ask(bot: Bot, chat_id: int, step: str, subscriber: Subscriber, before: str = "") -> None:
    """Ask `step`'s question (after `before`), with the value stored now and a Lewati button."""
    _await(chat_id, AWAITING + step)
    current = personal_data(bot.keyring, Subscriber.get_by_id(subscriber.id))[step]
    text = texts.DAFTAR_ASK[step]
    if current:
        text += texts.DAFTAR_CURRENT.format(value=escape_html(current))
    bot.reply(chat_id, f"{before}\n\n{text}" if before else text, reply_markup=_skip(step))


def answer(bot: Bot, message) -> None:
    """A plain-text answer to the question asked last: stored, or named and asked again."""
    state = conversation.load(message.chat.id)
    step = (state.awaiting or "").removeprefix(AWAITING)
    subscriber = bot.subscriber(message)
    if subscriber is None or step not in STEPS:
        return _await(message.chat.id, None)
    value = {step: message.text.strip()}
    try:
        update_personal(bot.keyring, subscriber, **checked(bot.keyring, subscriber, value))
    except (InvalidContact, Refused) as exc:
        problem = escape_html(str(exc)) if isinstance(exc, InvalidContact) else str(exc)
        return bot.reply(message.chat.id, f"{problem}\n{texts.DAFTAR_RETRY}", reply_markup=_skip(step))
    _next(bot, message.chat.id, step, subscriber, _saved(value))


def button(bot: Bot, call, value: str) -> None:
    """`reg:skip:<step>`: keep what is stored and go on; a button of an earlier question is refused."""
    chat_id = call.message.chat.id
    action, _, step = value.partition(":")
    subscriber = Subscriber.get_or_none(Subscriber.chat_id == chat_id)
    if action != "skip" or conversation.load(chat_id).awaiting != AWAITING + step or subscriber is None:
        raise ValueError(f"stale or forged registration button {value!r}")
    _next(bot, chat_id, step, subscriber)


def _next(bot: Bot, chat_id: int, step: str, subscriber: Subscriber, before: str = "") -> None:
    if step != STEPS[-1]:
        return ask(bot, chat_id, STEPS[STEPS.index(step) + 1], subscriber, before)
    _await(chat_id, None)
    done = texts.DAFTAR_DONE if _has_contact(bot.keyring, subscriber) else texts.DAFTAR_NO_CONTACT
    bot.reply(chat_id, f"{before} {done}" if before else done)


def _await(chat_id: int, awaiting: str | None) -> None:
    """Set what the next plain text is for, keeping a filter being built with buttons."""
    state = conversation.load(chat_id)
    state.awaiting = awaiting
    conversation.save(chat_id, state)


def _skip(step: str) -> types.InlineKeyboardMarkup:
    keyboard = types.InlineKeyboardMarkup()
    keyboard.add(types.InlineKeyboardButton(texts.DAFTAR_SKIP, callback_data=f"reg:skip:{step}"))
    return keyboard
