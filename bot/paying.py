"""/paket and paying in the bot: a plan, a period, then a payment link from the gateway.

Buttons: `pay:<plan>` (choose the period), `pay:<plan>:<months>` (open the link). The price is
the price list's; bot/payment_poller.py learns the outcome from the gateway.
"""

import logging
from datetime import timedelta
from functools import cached_property

from telebot import types
from telebot.formatting import escape_html

from bot import texts
from bot.handlers import Bot
from lpse_crawler import config
from lpse_crawler.people.checkouts import PERIODS, CheckoutRefused, open_checkout, price
from lpse_crawler.people.gateway import GatewayError, XenditGateway
from lpse_crawler.people.models import Subscriber
from lpse_crawler.people.plans import PAID, PLANS
from lpse_crawler.rupiah import format_rupiah
from lpse_crawler.store.database import WIB, utcnow

log = logging.getLogger(__name__)


def payment_gateway() -> XenditGateway | None:
    """The gateway from PAYMENT_GATEWAY_KEY and _URL; None when no key is set (links off)."""
    key = config.get("PAYMENT_GATEWAY_KEY")
    return XenditGateway(key, config.get("PAYMENT_GATEWAY_URL")) if key else None


def price_text(price: int) -> str:
    return "gratis" if not price else format_rupiah(price) + "/bulan"


class PayingCommands(Bot):
    @cached_property
    def gateway(self) -> XenditGateway | None:
        return payment_gateway()

    def paket(self, message) -> None:
        self.plans(message.chat.id)

    def plans(self, chat_id: int) -> None:
        """The plans and their prices, with buttons to pay when the gateway is configured."""
        lines = [
            texts.PLAN_LINE.format(
                label=p.label,
                price=price_text(p.price),
                filters=p.max_filters,
                instances=p.max_instances,
                keywords=p.max_keywords,
                delivery=texts.PLAN_DELIVERY[p.instant],
            )
            for p in PLANS.values()
            if p.code != "trial"
        ]
        if self.gateway is None:
            payment = escape_html(self.config.payment_info)
            return self.reply(chat_id, texts.PAKET.format(plans="\n".join(lines), payment=payment))
        keyboard = types.InlineKeyboardMarkup()
        for code in PAID:
            label = texts.PAY_PLAN_BUTTON.format(label=PLANS[code].label, price=price_text(PLANS[code].price))
            keyboard.add(types.InlineKeyboardButton(label, callback_data=f"pay:{code}"))
        text = texts.PAKET.format(plans="\n".join(lines), payment=texts.PAY_CHOOSE_PLAN)
        self.reply(chat_id, text, reply_markup=keyboard)

    def pay_button(self, call, value: str) -> None:
        """`pay:renew` (a plan-end reminder's button): the plans; `pay:<plan>`: the periods;
        `pay:<plan>:<months>`: the payment link."""
        if value == "renew":
            return self.plans(call.message.chat.id)
        plan, _, months = value.partition(":")
        if plan not in PAID or self.gateway is None:
            raise ValueError(f"no payment for {value!r}")
        if not months:
            return self._periods(call, plan)
        if not months.isdigit() or int(months) not in PERIODS:
            raise ValueError(f"no period {months!r}")
        self._link(call.message.chat.id, plan, int(months))

    def _periods(self, call, plan: str) -> None:
        keyboard = types.InlineKeyboardMarkup()
        for months in PERIODS:
            label = texts.PAY_PERIOD_BUTTON.format(months=months, amount=format_rupiah(price(plan, months)))
            keyboard.add(types.InlineKeyboardButton(label, callback_data=f"pay:{plan}:{months}"))
        text = texts.PAY_CHOOSE_PERIOD.format(label=PLANS[plan].label, price=price_text(PLANS[plan].price))
        self.bot.edit_message_text(
            text, call.message.chat.id, call.message.message_id, parse_mode="HTML", reply_markup=keyboard
        )

    def _link(self, chat_id: int, plan: str, months: int) -> None:
        subscriber = Subscriber.get_or_none(Subscriber.chat_id == chat_id)
        if subscriber is None:
            return self.reply(chat_id, texts.NEED_START)
        hours = config.get("PAYMENT_LINK_HOURS")
        try:
            checkout = open_checkout(subscriber, plan, months, self.gateway, utcnow(), hours)
        except CheckoutRefused as exc:
            return self.reply(chat_id, escape_html(str(exc)))
        except (GatewayError, ValueError) as exc:
            log.warning("No payment link for subscriber %s: %s", subscriber.id, exc)
            return self.reply(chat_id, texts.PAY_UNAVAILABLE)
        until = checkout.expires_at.astimezone(WIB) - timedelta(minutes=1)
        keyboard = types.InlineKeyboardMarkup()
        keyboard.add(types.InlineKeyboardButton(texts.PAY_LINK_BUTTON, url=checkout.url))
        text = texts.PAY_LINK.format(
            label=PLANS[plan].label,
            months=months,
            amount=format_rupiah(checkout.amount),
            until=f"{until:%d-%m-%Y %H:%M}",
            url=escape_html(checkout.url),
        )
        self.reply(chat_id, text, reply_markup=keyboard)
