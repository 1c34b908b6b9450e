"""When to be told: /ringkasan (per filter at once or a daily digest at an hour), /jamtenang
(quiet hours) and /zona (the clock both keep). The rules are people/delivery.py's."""

from telebot.formatting import escape_html

from bot import texts
from bot.handlers import Bot
from lpse_crawler.people import delivery
from lpse_crawler.people.delivery import DeliveryError, clock, zone_label
from lpse_crawler.people.models import Filter
from lpse_crawler.people.plans import PlanLimitError, plan_of
from lpse_crawler.store.database import utcnow

OFF = ("mati", "off", "hapus", "tidak")
INSTANT = ("langsung", "instan", "instant", "now")


class DeliveryCommands(Bot):
    def ringkasan(self, message) -> None:
        """`/ringkasan` lists each filter's delivery; `/ringkasan <no> <jam>` makes it a daily
        digest at that hour, `/ringkasan <no> langsung` sends its alerts at once again."""
        if (found := self.own_filters(message)) is None:
            return
        subscriber, filters = found
        now = utcnow()
        plan = plan_of(subscriber, now)
        words = self.argument(message).split(maxsplit=1)
        if not words:
            return self.reply(
                message.chat.id, _listing(filters, plan.instant, zone_label(subscriber.timezone))
            )
        if len(words) < 2 or not words[0].isdigit() or not 1 <= int(words[0]) <= len(filters):
            return self.reply(message.chat.id, texts.DIGEST_USAGE.format(count=len(filters)))
        chosen = filters[int(words[0]) - 1]
        try:
            hour = None if words[1].strip().lower() in INSTANT else delivery.parse_hour(words[1])
            delivery.set_digest(subscriber, chosen, hour, now)
        except (DeliveryError, PlanLimitError) as exc:
            return self.reply(message.chat.id, str(exc))
        name = escape_html(chosen.name)
        if hour is None:
            return self.reply(message.chat.id, texts.DIGEST_OFF.format(name=name))
        when = f"{clock(hour * 60)} {zone_label(subscriber.timezone)}"
        self.reply(message.chat.id, texts.DIGEST_ON.format(name=name, when=when))

    def jamtenang(self, message) -> None:
        """`/jamtenang 21-6` sets quiet hours, `/jamtenang mati` ends them, alone it shows them."""
        subscriber = self.subscriber(message)
        if subscriber is None:
            return
        text, zone = self.argument(message), zone_label(subscriber.timezone)
        if not text:
            if subscriber.quiet_start is None or subscriber.quiet_end is None:
                return self.reply(message.chat.id, texts.QUIET_NONE)
            window = f"{clock(subscriber.quiet_start)}–{clock(subscriber.quiet_end)} {zone}"
            return self.reply(message.chat.id, texts.QUIET_SHOW.format(window=window))
        if text.lower() in OFF:
            delivery.set_quiet(subscriber, None)
            return self.reply(message.chat.id, texts.QUIET_OFF)
        try:
            start, end = delivery.parse_window(text)
        except DeliveryError as exc:
            return self.reply(message.chat.id, str(exc))
        delivery.set_quiet(subscriber, (start, end))
        window = f"{clock(start)}–{clock(end)} {zone}"
        self.reply(message.chat.id, texts.QUIET_SET.format(window=window))

    def zona(self, message) -> None:
        """`/zona WITA`: the zone of digest hours and quiet hours."""
        subscriber = self.subscriber(message)
        if subscriber is None:
            return
        text = self.argument(message)
        if not text:
            return self.reply(message.chat.id, texts.ZONE_SHOW.format(zone=zone_label(subscriber.timezone)))
        try:
            zone = delivery.set_zone(subscriber, text)
        except DeliveryError as exc:
            return self.reply(message.chat.id, str(exc))
        self.reply(message.chat.id, texts.ZONE_SET.format(zone=zone_label(zone)))


def _listing(filters: list[Filter], instant: bool, zone: str) -> str:
    lines = [texts.DIGEST_HEADER]
    for n, saved in enumerate(filters, 1):
        hour = saved.digest_hour if saved.digest_hour is not None or instant else delivery.DEFAULT_HOUR
        when = (
            texts.DIGEST_AT.format(when=f"{clock(hour * 60)} {zone}") if hour is not None else texts.AT_ONCE
        )
        lines.append(f"{n}. <b>{escape_html(saved.name)}</b>: {when}")
    lines.append(texts.DIGEST_HELP if instant else texts.DIGEST_HELP_FREE)
    return "\n".join(lines)
