"""Looking back: /terbaru pages through the newest matches, /ekspor sends those of a period as CSV."""

import io

from telebot import types
from telebot.formatting import escape_html

from bot import texts
from bot.handlers import Bot
from lpse_crawler.people import matches
from lpse_crawler.people.follows import bidding
from lpse_crawler.store.database import WIB, utcnow
from lpse_crawler.tanggal import waktu

MAX_PAGE = 10_000
NAME_CHARS = 120


class LookBackCommands(Bot):
    def terbaru(self, message) -> None:
        subscriber = self.subscriber(message)
        if subscriber is not None:
            self._page(message.chat.id, subscriber.id, 0)

    def recent_button(self, call, value: str) -> None:
        """`recent:<page>` under /terbaru."""
        if not value.isdigit() or int(value) >= MAX_PAGE:
            raise ValueError(f"button value {value!r} out of range")
        subscriber = self.subscriber(call.message)
        if subscriber is None:
            raise ValueError("not a subscriber")
        self._page(call.message.chat.id, subscriber.id, int(value))

    def _page(self, chat_id: int, subscriber_id: int, page: int) -> None:
        found, more = matches.recent(subscriber_id, page)
        if not found:
            return self.reply(chat_id, texts.RECENT_NONE if page == 0 else texts.RECENT_END)
        now = utcnow()
        lines = [texts.RECENT_HEADER.format(page=page + 1)]
        keyboard = types.InlineKeyboardMarkup(row_width=3)
        for n, match in enumerate(found, page * matches.PAGE + 1):
            lines.append(_line(n, match, now))
            keyboard.add(
                types.InlineKeyboardButton(
                    texts.RECENT_FOLLOW.format(n=n), callback_data=f"follow:{match.tender.id}"
                )
            )
        paging = []
        if page:
            paging.append(types.InlineKeyboardButton(texts.RECENT_NEWER, callback_data=f"recent:{page - 1}"))
        if more:
            paging.append(types.InlineKeyboardButton(texts.RECENT_OLDER, callback_data=f"recent:{page + 1}"))
        if paging:
            keyboard.row(*paging)
        self.reply(chat_id, "\n".join(lines), reply_markup=keyboard)

    def ekspor(self, message) -> None:
        subscriber = self.subscriber(message)
        if subscriber is None:
            return
        argument = self.argument(message) or "30"
        if not argument.isdigit() or not 1 <= int(argument) <= matches.MAX_DAYS:
            return self.reply(message.chat.id, texts.EKSPOR_USAGE.format(max=matches.MAX_DAYS))
        days = int(argument)
        since = matches.period_start(days, utcnow())
        data, rows, cut = matches.export_csv(subscriber.id, since)
        if not rows:
            return self.reply(message.chat.id, texts.EKSPOR_NONE.format(days=days))
        name = f"pantau-lpse-cocok-{since.astimezone(WIB):%Y%m%d}-{days}hari.csv"
        caption = texts.EKSPOR_CAPTION.format(rows=rows, days=days)
        if cut:
            caption += texts.EKSPOR_CUT.format(rows=rows)
        self.call(
            self.bot.send_document,
            message.chat.id,
            types.InputFile(io.BytesIO(data), file_name=name),
            caption=caption,
        )


def _line(n: int, match: matches.Match, now) -> str:
    tender = match.tender
    nama = " ".join(tender.nama.split())
    nama = nama if len(nama) <= NAME_CHARS else nama[: NAME_CHARS - 1] + "…"
    when = waktu(tender.deadline.astimezone(WIB)) if bidding(tender, now) else None
    state = (
        texts.RECENT_DEADLINE.format(deadline=when)
        if when
        else texts.RECENT_STAGE.format(tahap=escape_html(tender.tahap))
    )
    return texts.RECENT_LINE.format(
        n=n,
        url=escape_html(tender.url),
        nama=escape_html(nama),
        matched=waktu(match.matched_at.astimezone(WIB)),
        state=state,
    )
