"""Filter commands: guided creation with inline keyboards, one-line creation, list, delete."""

from telebot import types
from telebot.formatting import escape_html

from bot import conversation, texts
from bot.conversation import ChatState, Draft
from bot.handlers import Bot
from lpse_crawler.matching.filters import CATEGORY_ALIASES, FilterError
from lpse_crawler.matching.saved_filters import InstanceGeography, save_filter
from lpse_crawler.people.models import Filter, Subscriber
from lpse_crawler.people.plans import PlanLimitError, check_filter_limits, effective_plan
from lpse_crawler.store.database import utcnow, write_transaction
from lpse_crawler.store.models import Instance

PAGE = 8  # buttons per keyboard page
CATEGORIES = sorted(set(CATEGORY_ALIASES.values()))


class FilterCommands(Bot):
    # the guided /filter flow: button prefix -> its step, which edits the message and says
    # whether the chat's state is saved (a refused press leaves it as it was)
    STEPS = {
        "fpage": "_province_page",
        "fprov": "_pick_province",
        "fipage": "_instance_page",
        "finst": "_pick_instance",
        "fcat": "_pick_category",
    }

    def filter(self, message) -> None:
        subscriber = self.subscriber(message)
        if subscriber is None:
            return
        expression = self.argument(message)
        if expression:
            return self._save(message.chat.id, subscriber, expression)
        conversation.save(message.chat.id, ChatState(draft=Draft()))
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
        """`fprov:<n>`: a province, then its LPSE; `fprov:all`: straight on to the categories."""
        if value == "all":
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
        self._edit(call, texts.FILTER_PICK_CATEGORY, self._categories())
        return True

    def _pick_category(self, call, state: ChatState, value: str) -> bool:
        """`fcat:<n>` or `fcat:all`; the keywords come next, as plain text."""
        state.draft.category = None if value == "all" else CATEGORIES[_index(value, len(CATEGORIES))]
        state.awaiting = "keywords"
        self._edit(call, texts.FILTER_ASK_KEYWORDS)
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
        plan = effective_plan(subscriber.plan, subscriber.plan_expires_at, utcnow())
        try:
            check_filter_limits(plan, filters_after_save=0, instances=instances, keywords=0)
        except PlanLimitError as exc:
            return escape_html(str(exc))
        return None

    def keywords(self, message) -> None:
        """The plain text after the keyboard steps: keywords, or '-' for none."""
        subscriber = self.subscriber(message)
        draft = conversation.load(message.chat.id).draft
        if subscriber is None or draft is None:
            return
        parts = [] if message.text.strip() == "-" else [message.text.strip()]
        if draft.instances:
            parts.append("lpse:" + ",".join(draft.instances))
        elif draft.province:
            parts.append(f'provinsi:"{draft.province}"')
        if draft.category:
            parts.append(f'kategori:"{draft.category}"')
        if self._save(message.chat.id, subscriber, " ".join(parts) or "-"):
            conversation.save(message.chat.id, ChatState())

    def _save(self, chat_id: int, subscriber, expression: str) -> bool:
        name = expression.split(" lpse:")[0].split(" provinsi:")[0][:40] or "Filter"
        try:
            saved = save_filter(subscriber, name, expression)
        except (FilterError, PlanLimitError) as exc:
            self.reply(chat_id, escape_html(str(exc)))
            return False
        self.reply(
            chat_id, texts.FILTER_SAVED.format(name=escape_html(saved.name), spec=escape_html(saved.spec))
        )
        return True

    def filterku(self, message) -> None:
        subscriber = self.subscriber(message)
        if subscriber is None:
            return
        filters = list(subscriber.filters.order_by(Filter.id))
        if not filters:
            return self.reply(message.chat.id, texts.NO_FILTERS)
        lines = [texts.FILTER_LIST_HEADER] + [
            f"{n}. <b>{escape_html(f.name)}</b>\n<code>{escape_html(f.spec)}</code>"
            for n, f in enumerate(filters, 1)
        ]
        self.reply(message.chat.id, "\n".join(lines))

    def hapusfilter(self, message) -> None:
        subscriber = self.subscriber(message)
        if subscriber is None:
            return
        filters = list(subscriber.filters.order_by(Filter.id))
        number = self.argument(message)
        if not filters:
            return self.reply(message.chat.id, texts.NO_FILTERS)
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
        if found is None:
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


def _index(value: str, size: int) -> int:
    """A button's number, checked: forged or stale data raises ValueError."""
    if not value.isdigit() or int(value) >= size:
        raise ValueError(f"button value {value!r} out of range")
    return int(value)
