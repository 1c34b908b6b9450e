"""The payment poller: asks the gateway about every open payment link (no public webhook
needed), records what is paid, and tells the user: a receipt and the faktur PDF, or that the
link expired (with a button to try again). Runs as a thread of `python -m bot`."""

import io
import logging

from requests import RequestException
from telebot import TeleBot, types
from telebot.apihelper import ApiTelegramException
from telebot.formatting import escape_html

from bot import texts
from lpse_crawler.people.checkouts import (
    Checkout,
    CheckoutStatus,
    apply_answer,
    claim_notice,
    pending,
    release_notice,
    unnotified,
)
from lpse_crawler.people.crypto import Keyring
from lpse_crawler.people.gateway import GatewayError
from lpse_crawler.people.personal_data import personal_data
from lpse_crawler.people.plans import PLANS
from lpse_crawler.rupiah import format_rupiah
from lpse_crawler.store.database import WIB, utcnow

log = logging.getLogger(__name__)


class PaymentPoller:
    def __init__(self, telebot: TeleBot, keyring: Keyring, gateway, admin_ids):
        self.bot, self.keyring, self.gateway, self.admin_ids = telebot, keyring, gateway, admin_ids

    def poll_once(self) -> None:
        for checkout in pending():
            try:
                answer = self.gateway.get(checkout.gateway_id)
            except GatewayError as exc:
                log.warning("Checkout %s: the gateway did not answer: %s", checkout.id, exc)
                continue
            apply_answer(checkout.id, answer, self.keyring, utcnow())
        for checkout in unnotified():
            self.notify(checkout)

    def notify(self, checkout: Checkout) -> None:
        """Tell the user, then for a rejected payment the admins, once, across processes. The
        user's notice is tried again until Telegram takes it (or says the user blocked the bot);
        an admin Telegram will not reach is logged, and neither holds up the user's notice."""
        if not claim_notice(checkout.id, utcnow()):
            return
        try:
            if checkout.subscriber_id is not None:
                self._tell_user(checkout)
        except ApiTelegramException as exc:
            if exc.error_code != 403:
                log.warning("Checkout %s: notice not sent (%s); trying again", checkout.id, exc.error_code)
                return release_notice(checkout.id)
            log.info("Checkout %s: subscriber %s blocked the bot", checkout.id, checkout.subscriber_id)
        except RequestException as exc:
            log.warning("Checkout %s: notice not sent (%s); trying again", checkout.id, type(exc).__name__)
            return release_notice(checkout.id)
        if checkout.status == CheckoutStatus.REJECTED:
            self._tell_admins(checkout)

    def _tell_user(self, checkout: Checkout) -> None:
        chat_id = checkout.subscriber.chat_id
        values = {
            "label": PLANS[checkout.plan].label,
            "months": checkout.months,
            "amount": format_rupiah(checkout.amount),
        }
        if checkout.status == CheckoutStatus.PAID:
            return self._receipt(checkout)
        if checkout.status == CheckoutStatus.REJECTED:
            return self._send(chat_id, texts.PAY_CHECKING.format(**values))
        text = texts.PAY_EXPIRED if checkout.status == CheckoutStatus.EXPIRED else texts.PAY_FAILED
        keyboard = types.InlineKeyboardMarkup()
        retry = f"pay:{checkout.plan}:{checkout.months}"
        keyboard.add(types.InlineKeyboardButton(texts.PAY_RETRY_BUTTON, callback_data=retry))
        self._send(chat_id, text.format(**values), reply_markup=keyboard)

    def _receipt(self, checkout: Checkout) -> None:
        # imported here: fpdf loads fontTools and lxml, which the bot otherwise never needs
        from lpse_crawler.people.invoice import Buyer, Seller, invoice_pdf, tanggal

        payment, subscriber = checkout.payment, checkout.subscriber
        label = PLANS[payment.plan].label
        until = subscriber.plan_expires_at.astimezone(WIB).date()
        text = texts.PAY_RECEIPT.format(
            number=payment.invoice_no,
            amount=format_rupiah(payment.amount),
            label=label,
            start=tanggal(payment.period_start),
            end=tanggal(payment.period_end),
            until=tanggal(until),
        )
        self._send(subscriber.chat_id, text)
        values = personal_data(self.keyring, subscriber)
        buyer = Buyer(values["name"] or values["email"] or "-")
        document = invoice_pdf(payment, Seller.from_config(), buyer)
        upload = types.InputFile(io.BytesIO(document), file_name=f"faktur-{payment.invoice_no}.pdf")
        caption = texts.PAY_FAKTUR.format(number=payment.invoice_no)
        self.bot.send_document(subscriber.chat_id, upload, caption=caption)
        log.info(
            "Checkout %s: receipt %s sent to subscriber %s", checkout.id, payment.invoice_no, subscriber.id
        )

    def _tell_admins(self, checkout: Checkout) -> None:
        text = texts.PAY_ADMIN_PROBLEM.format(
            id=checkout.id,
            subscriber=checkout.subscriber_id or "-",
            problem=escape_html(checkout.problem or "-"),
        )
        for admin in self.admin_ids:
            try:
                self._send(admin, text)
            except (ApiTelegramException, RequestException) as exc:  # the checkout's own ERROR line stays
                log.error(
                    "Checkout %s: admin %s not told of the rejected payment: %s", checkout.id, admin, exc
                )

    def _send(self, chat_id: int, text: str, **kwargs) -> None:
        self.bot.send_message(chat_id, text, parse_mode="HTML", disable_web_page_preview=True, **kwargs)
