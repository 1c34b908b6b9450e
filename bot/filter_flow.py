"""Filter commands: guided creation with inline keyboards, one-line creation, list, delete."""

import logging
import re

from telebot import types
from telebot.formatting import escape_html

from bot import conversation, texts
from bot.conversation import ChatState, Draft
from bot.handlers import Bot
from bot.render import messages_of
from lpse_crawler.matching.filters import CATEGORY_ALIASES, FIELDS, FilterError
from lpse_crawler.matching.preview import MAX_SCANNED, PREVIEW_DAYS, preview
from lpse_crawler.matching.saved_filters import InstanceGeography, save_filter
from lpse_crawler.matching.textmatch import words
from lpse_crawler.people.models import Filter, Subscriber
from lpse_crawler.people.plans import PlanLimitError, check_filter_limits, plan_of
from lpse_crawler.store.database import utcnow, write_transaction
from lpse_crawler.store.models import Instance

log = logging.getLogger(__name__)

PAGE = 8  # buttons per keyboard page
FOUND = 40  # LPSE listed for a typed part of a name, at most
NAME_LENGTH = 40  # a filter's name, cut at a word boundary
CATEGORIES = sorted(set(CATEGORY_ALIASES.values()))
HELP_WORDS = {"bantuan", "help", "?"}  # `/filter bantuan` shows the language
_FIELD_TERM = re.compile(rf'(?<!\S)-?(?:{"|".join(FIELDS)}):(?:"[^"]*"|\S+)', re.IGNORECASE)


class FilterCommands(Bot):
    # the guided /filter flow: button prefix -> its step, which edits the message and says
    # whether the chat's state is saved (a refused press leaves it as it was)
    STEPS = {
        "fpage": "_province_page",
        "fprov": "_pick_province",
        "fipage": "_instance_page",
        "finst": "_pick_instance",
        "fcat": "_pick_category",
        "ffind": "_pick_found",
        "ffpage": "_found_page",
    }

    def filter(self, message) -> None:
        subscriber = self.subscriber(message)
        if subscriber is None:
            return
        expression = self.argument(message)
        if expression.lower() in HELP_WORDS:
            help_text = escape_html(texts.FILTER_HELP_TEXT)
            return self.reply(message.chat.id, texts.FILTER_HELP.format(help=help_text))
        if expression:
            return self._save(message.chat.id, subscriber, expression)
        conversation.save(message.chat.id, ChatState(awaiting="lpse", draft=Draft()))
        self.reply(message.chat.id, texts.FILTER_START, reply_markup=self._provinces(0))

    def button(self, call, action: str, value: str) -> None:
        """Inline-keyboard steps; a button without a draft of this chat is refused."""
        chat_id = call.message.chat.id
        state = conversation.load(chat_id)
        if state.draft is None:
            return self.bot.edit_message_text(texts.FILTER_EXPIRED, chat_id, call.message.message_id)
        if action not in self.STEPS:
            raise ValueError(f"unknown button {action!r}")
        if getattr(self, self.STEPS[action])(call, state, value):
            conversation.save(chat_id, state)

    def _province_page(self, call, state: ChatState, value: str) -> bool:
        """`fpage:<n>`: another page of provinces."""
        provinces = sorted(InstanceGeography().by_province)
        self._edit(call, texts.FILTER_START, self._provinces(_index(value, len(provinces))))
        return True

    def _pick_province(self, call, state: ChatState, value: str) -> bool:
        """`fprov:<n>`: a province, then its LPSE; `fprov:all`: straight on to the categories,
        if the plan allows a filter on every LPSE."""
        if value == "all":
            everywhere = InstanceGeography().active_count
            if refusal := self._too_many_for_plan(call.message.chat.id, everywhere):
                self._edit(call, f"{refusal}\n\n" + texts.FILTER_START, self._provinces(0))
                return False
            state.awaiting = None
            self._edit(call, texts.FILTER_PICK_CATEGORY, self._categories())
            return True
        provinces = sorted(InstanceGeography().by_province)
        state.draft.province = provinces[_index(value, len(provinces))]
        self._edit(call, _instance_prompt(state.draft), self._instances(state.draft, 0))
        return True

    def _instance_page(self, call, state: ChatState, value: str) -> bool:
        """`fipage:<n>`: another page of the province's LPSE."""
        self._edit(call, _instance_prompt(state.draft), self._instances(state.draft, _index(value, 1000)))
        return True

    def _pick_instance(self, call, state: ChatState, value: str) -> bool:
        """`finst:<n>`: one LPSE; `finst:all`: all of the province, if the plan allows; then categories."""
        draft = state.draft
        codes = sorted(InstanceGeography().by_province.get(draft.province or "", ()))
        if value == "all" and (refusal := self._too_many_for_plan(call.message.chat.id, len(codes))):
            # say it now, not after the keywords: one LPSE of the province still fits
            self._edit(call, f"{refusal}\n\n" + _instance_prompt(draft), self._instances(draft, 0))
            return False
        draft.instances = None if value == "all" else [codes[_index(value, len(codes))]]
        state.awaiting = None
        self._edit(call, texts.FILTER_PICK_CATEGORY, self._categories())
        return True

    def _pick_category(self, call, state: ChatState, value: str) -> bool:
        """`fcat:<n>` or `fcat:all`; the keywords come next, as plain text."""
        state.draft.category = None if value == "all" else CATEGORIES[_index(value, len(CATEGORIES))]
        state.awaiting = "keywords"
        narrowed = _narrowed(state.draft)
        self._edit(call, texts.FILTER_ASK_KEYWORDS if narrowed else texts.FILTER_ASK_KEYWORDS_REQUIRED)
        return True

    def _edit(self, call, text: str, markup: types.InlineKeyboardMarkup | None = None) -> None:
        """Replace the pressed message (HTML) and its keyboard."""
        self.bot.edit_message_text(
            text, call.message.chat.id, call.message.message_id, parse_mode="HTML", reply_markup=markup
        )

    @staticmethod
    def _too_many_for_plan(chat_id: int, instances: int) -> str | None:
        """The plan-limit message when a filter on `instances` LPSE exceeds the chat's plan."""
        subscriber = Subscriber.get_or_none(Subscriber.chat_id == chat_id)
        if subscriber is None:  # the account is gone; saving will say so
            return None
        plan = plan_of(subscriber, utcnow())
        try:
            check_filter_limits(plan, filters_after_save=0, instances=instances, keywords=0)
        except PlanLimitError as exc:
            return escape_html(str(exc))
        return None

    def keywords(self, message) -> None:
        """The plain text of the guided flow: a part of an LPSE's name while LPSE are being
        picked, then the keywords, or '-' for every package of the choices made."""
        subscriber = self.subscriber(message)
        state = conversation.load(message.chat.id)
        draft = state.draft
        if subscriber is None or draft is None:
            return
        if state.awaiting == "lpse":
            return self._search(message, state)
        typed = " ".join(message.text.split())
        every = typed in ("-", "semua")
        if every and not _narrowed(draft):
            return self.reply(message.chat.id, texts.FILTER_NEEDS_KEYWORDS)
        parts = [] if every else [typed]
        if draft.instances:
            parts.append("lpse:" + ",".join(draft.instances))
        elif draft.province:
            parts.append(f'provinsi:"{draft.province}"')
        if draft.category:
            parts.append(f'kategori:"{draft.category}"')
        name = f"{texts.FILTER_EVERY_PACKAGE} {_place(draft)}" if every else None
        if self._save(message.chat.id, subscriber, " ".join(parts), name):
            conversation.save(message.chat.id, ChatState())

    def _save(self, chat_id: int, subscriber, expression: str, name: str | None = None) -> bool:
        try:
            saved = save_filter(subscriber, shorten(name or filter_name(expression)), expression)
        except (FilterError, PlanLimitError) as exc:
            self.reply(chat_id, escape_html(str(exc)))
            return False
        text = texts.FILTER_SAVED.format(name=escape_html(saved.name), spec=escape_html(saved.spec))
        try:
            shown = _preview(saved.spec)
        except Exception:  # the filter is saved: say so, and the operator reads why there is no preview
            log.exception("Could not preview filter %d", saved.id)
            shown = texts.PREVIEW_FAILED
        self.reply(chat_id, f"{text}\n\n{shown}")
        return True

    def _search(self, message, state: ChatState) -> None:
        """A typed part of an LPSE's name, code or province: the LPSE that fit, as buttons."""
        draft, query = state.draft, " ".join(message.text.split())[:60]
        geography = InstanceGeography()
        codes = geography.by_province.get(draft.province, set()) if draft.province else geography.codes
        found = _find(words(query), codes, geography)
        draft.found, draft.query = found[:FOUND], query
        conversation.save(message.chat.id, state)
        keyboard = self._found(draft, 0)
        if not keyboard.keyboard:
            return self.reply(message.chat.id, texts.FILTER_FOUND_NONE.format(query=escape_html(query)))
        self.reply(message.chat.id, _found_prompt(draft, len(found)), reply_markup=keyboard)

    def _found_page(self, call, state: ChatState, value: str) -> bool:
        """`ffpage:<n>`: another page of the LPSE found for a typed name."""
        page = _index(value, (len(state.draft.found or ()) + PAGE - 1) // PAGE)
        self._edit(call, _found_prompt(state.draft, len(state.draft.found)), self._found(state.draft, page))
        return True

    def _pick_found(self, call, state: ChatState, value: str) -> bool:
        """`ffind:<n>`: one of the LPSE found for a typed name; then the categories."""
        found = state.draft.found or []
        state.draft.instances = [found[_index(value, len(found))]]
        state.awaiting = None
        self._edit(call, texts.FILTER_PICK_CATEGORY, self._categories())
        return True

    def _found(self, draft: Draft, page: int) -> types.InlineKeyboardMarkup:
        """Provinces (on the first page, while none is picked) and LPSE that fit the typed name."""
        keyboard = types.InlineKeyboardMarkup(row_width=1)
        if page == 0 and not draft.province:
            query = words(draft.query)
            provinces = sorted(InstanceGeography().by_province)
            for n, province in enumerate(provinces):
                if query and _fits(query, words(province)):
                    label = texts.FILTER_ALL_OF_PROVINCE.format(province=province)
                    keyboard.add(types.InlineKeyboardButton(label, callback_data=f"fprov:{n}"))
        codes = draft.found or []
        names = {i.code: i.name for i in Instance.select().where(Instance.code.in_(codes))}
        start = page * PAGE
        for n, code in enumerate(codes[start : start + PAGE], start):
            keyboard.add(types.InlineKeyboardButton(names.get(code, code)[:60], callback_data=f"ffind:{n}"))
        if pager := _pager("ffpage", page, len(codes)):
            keyboard.row(*pager)
        return keyboard

    def filterku(self, message) -> None:
        if (found := self.own_filters(message)) is None:
            return
        _, filters = found
        lines = [texts.FILTER_LIST_HEADER] + [
            f"{n}. <b>{escape_html(f.name)}</b>\n<code>{escape_html(f.spec)}</code>"
            for n, f in enumerate(filters, 1)
        ]
        for text in messages_of(lines):  # 30 filters of 500 characters fit no single message
            self.reply(message.chat.id, text)

    def hapusfilter(self, message) -> None:
        if (found := self.own_filters(message)) is None:
            return
        _, filters = found
        number = self.argument(message)
        if not number:
            keyboard = types.InlineKeyboardMarkup()
            for n, f in enumerate(filters, 1):
                keyboard.add(types.InlineKeyboardButton(f"{n}. {f.name}", callback_data=f"delf:{f.id}"))
            return self.reply(message.chat.id, texts.HAPUSFILTER_PICK, reply_markup=keyboard)
        if not number.isdigit() or not 1 <= int(number) <= len(filters):
            return self.reply(message.chat.id, texts.FILTER_NOT_FOUND)
        self._delete(message.chat.id, filters[int(number) - 1])

    def delete_button(self, call, value: str) -> None:
        """`delf:<id>`: only a filter of the subscriber whose chat pressed the button."""
        owner = Subscriber.chat_id == call.message.chat.id
        found = Filter.select().join(Subscriber).where(Filter.id == _index(value, 2**62), owner).first()
        if found is None:  # ids are never reused: a deleted filter's id names no other filter
            self.reply(call.message.chat.id, texts.FILTER_GONE)
            raise ValueError("filter of another subscriber, or gone")
        self._delete(call.message.chat.id, found)

    def _delete(self, chat_id: int, found: Filter) -> None:
        with write_transaction():
            found.delete_instance()
        self.reply(chat_id, texts.FILTER_DELETED.format(name=escape_html(found.name)))

    def _provinces(self, page: int) -> types.InlineKeyboardMarkup:
        provinces = sorted(InstanceGeography().by_province)
        keyboard = types.InlineKeyboardMarkup(row_width=2)
        start = page * PAGE
        keyboard.add(
            *[
                types.InlineKeyboardButton(p, callback_data=f"fprov:{start + i}")
                for i, p in enumerate(provinces[start : start + PAGE])
            ]
        )
        keyboard.add(*_pager("fpage", page, len(provinces)))
        keyboard.add(types.InlineKeyboardButton("Semua provinsi", callback_data="fprov:all"))
        return keyboard

    def _instances(self, draft: Draft, page: int) -> types.InlineKeyboardMarkup:
        codes = sorted(InstanceGeography().by_province.get(draft.province or "", ()))
        names = {i.code: i.name for i in Instance.select().where(Instance.code.in_(codes))}
        keyboard = types.InlineKeyboardMarkup(row_width=1)
        start = page * PAGE
        keyboard.add(
            *[
                types.InlineKeyboardButton(names.get(c, c)[:60], callback_data=f"finst:{start + i}")
                for i, c in enumerate(codes[start : start + PAGE])
            ]
        )
        keyboard.add(*_pager("fipage", page, len(codes)))
        keyboard.add(types.InlineKeyboardButton("Semua LPSE di provinsi ini", callback_data="finst:all"))
        return keyboard

    def _categories(self) -> types.InlineKeyboardMarkup:
        keyboard = types.InlineKeyboardMarkup(row_width=1)
        keyboard.add(
            *[types.InlineKeyboardButton(c, callback_data=f"fcat:{i}") for i, c in enumerate(CATEGORIES)]
        )
        keyboard.add(types.InlineKeyboardButton("Semua kategori", callback_data="fcat:all"))
        return keyboard


def _pager(action: str, page: int, total: int) -> list[types.InlineKeyboardButton]:
    buttons = []
    if page > 0:
        buttons.append(types.InlineKeyboardButton("« Sebelumnya", callback_data=f"{action}:{page - 1}"))
    if (page + 1) * PAGE < total:
        buttons.append(types.InlineKeyboardButton("Berikutnya »", callback_data=f"{action}:{page + 1}"))
    return buttons


def _instance_prompt(draft: Draft) -> str:
    return texts.FILTER_PICK_INSTANCE.format(province=escape_html(draft.province or ""))


def _found_prompt(draft: Draft, count: int) -> str:
    many = texts.FILTER_FOUND_MANY.format(shown=FOUND) if count > FOUND else ""
    return texts.FILTER_FOUND.format(count=count, query=escape_html(draft.query or ""), many=many)


def _find(query: tuple[str, ...], codes, geography: InstanceGeography) -> list[str]:
    """The codes whose name, code or province has a word starting with each typed word;
    those whose name alone fits come first, then by name."""
    if not query:
        return []
    rows = Instance.select(Instance.code, Instance.name).where(Instance.code.in_(codes))
    ranked = []
    for code, name in ((r.code, r.name) for r in rows):
        own = words(name) + (code,)
        if _fits(query, own + words(geography.province_of.get(code))):
            ranked.append((not _fits(query, own), name, code))
    return [code for _, _, code in sorted(ranked)]


def _fits(query: tuple[str, ...], haystack: tuple[str, ...]) -> bool:
    return all(any(word.startswith(typed) for word in haystack) for typed in query)


def _narrowed(draft: Draft) -> bool:
    """Whether the buttons chose anything: without, '-' would mean every package anywhere."""
    return bool(draft.instances or draft.province or draft.category)


def _place(draft: Draft) -> str:
    """What the buttons chose, for a filter's name: one LPSE's name, a province or a category."""
    if draft.instances and len(draft.instances) == 1:
        found = Instance.get_or_none(Instance.code == draft.instances[0])
        return found.name if found else draft.instances[0]
    return draft.province or draft.category or ""


def filter_name(expression: str) -> str:
    """A filter's default name: its keywords without the field terms, or the whole line."""
    keywords = " ".join(_FIELD_TERM.sub(" ", expression).split())
    return keywords or " ".join(expression.split()) or "Filter"


def shorten(text: str, limit: int = NAME_LENGTH) -> str:
    """`text` cut at a word boundary to at most `limit` characters, ending in …"""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if text[limit - 1] != " " and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" |&-,;·") + "…"


def _preview(spec: str) -> str:
    """What the filter fits among the packages stored lately (matching/preview.py)."""
    geography = InstanceGeography()
    found = preview(geography.parse(spec), geography.province_of, utcnow())
    if not found.count:
        return texts.PREVIEW_NONE.format(days=PREVIEW_DAYS)
    capped = texts.PREVIEW_CAPPED.format(scanned=f"{MAX_SCANNED:,}".replace(",", ".")) if found.capped else ""
    lines = [texts.PREVIEW.format(count=found.count, days=PREVIEW_DAYS, capped=capped)]
    for tender in found.examples:
        nama = " ".join(tender.nama.split())
        nama = nama if len(nama) <= 90 else nama[:89] + "…"
        lines.append(texts.PREVIEW_EXAMPLE.format(url=escape_html(tender.url), nama=escape_html(nama)))
    return "\n".join(lines)


def _index(value: str, size: int) -> int:
    """A button's number, checked: forged or stale data raises ValueError."""
    if not value.isdigit() or int(value) >= size:
        raise ValueError(f"button value {value!r} out of range")
    return int(value)
