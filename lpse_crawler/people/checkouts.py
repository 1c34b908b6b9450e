"""Checkouts: payment links opened from the bot, until the gateway says paid or closed.

The amount always comes from the price list (plan price x months): never from the user, and
the gateway's answer is only checked against it. A paid checkout records exactly one payment
(its status moves from `pending` once, in the transaction that records the payment). A
checkout holds no personal data; erasing its subscriber unlinks it (accounting stays).
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from peewee import BigIntegerField, CharField, ForeignKeyField, IntegerField, TextField

from lpse_crawler.people import audit
from lpse_crawler.people.crypto import Keyring
from lpse_crawler.people.gateway import OPEN_STATUS, PAID_STATUSES, GatewayInvoice
from lpse_crawler.people.models import Payment, Subscriber
from lpse_crawler.people.payments import Recorded, record_payment
from lpse_crawler.people.plans import PAID, PLANS, PlanConflict, first_paid_day, renewal
from lpse_crawler.store.database import WIB, AwareDateTimeField, BaseModel, write_transaction

log = logging.getLogger(__name__)
PERIODS = (1, 3, 12)  # months a payment link may buy
REUSE_MARGIN = timedelta(hours=1)  # an open link that lives at least this long is shown again
METHODS = {  # the gateway's payment method -> the payment's method (printed on the faktur)
    "QR_CODE": "qris",
    "QRIS": "qris",
    "CALLBACK_VIRTUAL_ACCOUNT": "virtual account",
    "BANK_TRANSFER": "virtual account",
    "EWALLET": "ewallet",
    "RETAIL_OUTLET": "gerai ritel",
    "DIRECT_DEBIT": "debit langsung",
    "CREDIT_CARD": "kartu kredit",
    "PAYLATER": "paylater",
}


class CheckoutStatus:
    PENDING = "pending"  # the link is open: the poller asks the gateway
    PAID = "paid"  # the payment is recorded (payment_id)
    EXPIRED = "expired"  # the link expired unpaid
    FAILED = "failed"  # the gateway closed it unpaid for another reason (problem says)
    REJECTED = "rejected"  # paid at the gateway, but not applied: an operator must act (problem)


class Checkout(BaseModel):
    """A payment link (a gateway invoice) for `months` of `plan`."""

    subscriber = ForeignKeyField(Subscriber, null=True, on_delete="SET NULL", backref="checkouts")
    plan = CharField()  # basic | pro
    months = IntegerField()
    amount = BigIntegerField()  # rupiah, from the price list
    gateway = CharField()  # xendit
    external_id = CharField(unique=True)  # ours, given to the gateway
    gateway_id = CharField(unique=True)  # the gateway's invoice id
    url = TextField()
    status = CharField(default=CheckoutStatus.PENDING, index=True)  # see CheckoutStatus
    payment = ForeignKeyField(Payment, null=True, unique=True, on_delete="SET NULL")
    expires_at = AwareDateTimeField()
    checked_at = AwareDateTimeField(null=True)  # last answer from the gateway
    problem = TextField(null=True)  # why failed or rejected (no personal data)
    notified_at = AwareDateTimeField(null=True)  # the user was told the outcome


class CheckoutRefused(ValueError):
    """No link for this choice; the message says why (Indonesian, for the user)."""


def price(plan: str, months: int) -> int:
    if plan not in PAID or months not in PERIODS:
        raise ValueError(f"no price for {plan!r} x {months}")
    return PLANS[plan].price * months


def open_checkout(subscriber: Subscriber, plan: str, months: int, gateway, now: datetime, hours: int):
    """The open link for this choice, or a new one from the gateway (raises GatewayError)."""
    amount = price(plan, months)
    try:  # a lower plan while a higher one is paid for would be refused when paid: say it now
        renewal(subscriber.plan, subscriber.plan_expires_at, plan, now.astimezone(WIB).date(), months, now)
    except PlanConflict:
        current = PLANS[subscriber.plan]
        until = subscriber.plan_expires_at.astimezone(WIB)
        raise CheckoutRefused(
            f"Paket {current.label} Anda masih berlaku sampai {until:%d-%m-%Y}. "
            f"Paket {PLANS[plan].label} bisa dibayar setelah itu."
        ) from None
    reusable = Checkout.select().where(
        Checkout.subscriber == subscriber,
        Checkout.plan == plan,
        Checkout.months == months,
        Checkout.status == CheckoutStatus.PENDING,
        Checkout.expires_at > now + REUSE_MARGIN,
    )
    if found := reusable.order_by(Checkout.id.desc()).first():
        return found
    external_id = f"pantau-{secrets.token_hex(8)}"
    description = f"Pantau LPSE paket {PLANS[plan].label} {months} bulan"
    invoice = gateway.create(external_id, amount, description, hours * 3600)
    if invoice.amount != amount or not invoice.id or not invoice.url:
        raise ValueError(f"the gateway made invoice {invoice.id!r} of {invoice.amount}, not {amount}")
    with write_transaction():
        checkout = Checkout.create(
            subscriber=subscriber,
            plan=plan,
            months=months,
            amount=amount,
            gateway=gateway.name,
            external_id=external_id,
            gateway_id=invoice.id,
            url=invoice.url,
            expires_at=now + timedelta(hours=hours),
        )
    log.info("Checkout %s opened for subscriber %s: %s x %d", checkout.id, subscriber.id, plan, months)
    return checkout


def pending() -> list[Checkout]:
    return list(Checkout.select().where(Checkout.status == CheckoutStatus.PENDING).order_by(Checkout.id))


@dataclass(frozen=True)
class Outcome:
    status: str  # the checkout's new status
    recorded: Recorded | None = None
    problem: str | None = None


def apply_answer(checkout_id: int, invoice: GatewayInvoice, ring: Keyring, now: datetime) -> Outcome | None:
    """Act on the gateway's answer about a pending checkout; None when it stays pending or
    another poll (or process) has already acted on it."""
    if invoice.status == OPEN_STATUS:
        with write_transaction():
            Checkout.update(checked_at=now).where(Checkout.id == checkout_id).execute()
        return None
    with write_transaction():
        claimed = (  # the claim: one transaction moves a checkout out of pending, once
            Checkout.update(status=CheckoutStatus.FAILED, checked_at=now)
            .where(Checkout.id == checkout_id, Checkout.status == CheckoutStatus.PENDING)
            .execute()
        )
        if not claimed:
            return None
        checkout = Checkout.get_by_id(checkout_id)
        outcome = _outcome(checkout, invoice, ring, now)
        Checkout.update(
            status=outcome.status,
            problem=outcome.problem,
            payment=outcome.recorded.payment if outcome.recorded else None,
        ).where(Checkout.id == checkout_id).execute()
        if outcome.recorded:
            payment = outcome.recorded.payment
            detail = f"{payment.invoice_no} {checkout.plan} {payment.period_start}..{payment.period_end}"
            audit.record("bot", "payments.record", checkout.subscriber_id, f"{detail} {checkout.amount}")
    level = logging.ERROR if outcome.status == CheckoutStatus.REJECTED else logging.INFO
    log.log(
        level, "Checkout %s %s (%s)", checkout_id, outcome.status, outcome.problem or "as the gateway says"
    )
    return outcome


def _outcome(checkout: Checkout, invoice: GatewayInvoice, ring: Keyring, now: datetime) -> Outcome:
    if invoice.status not in PAID_STATUSES:
        if invoice.status == "EXPIRED":
            return Outcome(CheckoutStatus.EXPIRED)
        return Outcome(CheckoutStatus.FAILED, problem=f"the gateway says {invoice.status[:40]}")
    paid = invoice.paid_amount if invoice.paid_amount is not None else invoice.amount
    if paid != checkout.amount or invoice.currency != "IDR":
        problem = f"paid {paid} {invoice.currency[:8]}, the price is {checkout.amount} IDR"
        return Outcome(CheckoutStatus.REJECTED, problem=problem)
    if checkout.subscriber_id is None:
        return Outcome(CheckoutStatus.REJECTED, problem="paid after the subscriber was erased")
    method = METHODS.get(invoice.method, checkout.gateway)
    try:
        subscriber = Subscriber.get_by_id(checkout.subscriber_id)
        recorded = record_payment(
            checkout.subscriber_id,
            checkout.plan,
            first_paid_day(subscriber.plan, subscriber.plan_expires_at, now, subscriber.trial_until),
            checkout.months,
            checkout.amount,
            method,
            checkout.gateway_id,
            now,
            ring,
        )
    except PlanConflict as exc:
        return Outcome(CheckoutStatus.REJECTED, problem=str(exc))
    return Outcome(CheckoutStatus.PAID, recorded=recorded)


def claim_notice(checkout_id: int, now: datetime) -> bool:
    """Take the job of telling the user about a closed checkout (once, across processes)."""
    with write_transaction():
        return bool(
            Checkout.update(notified_at=now)
            .where(Checkout.id == checkout_id, Checkout.notified_at.is_null())
            .execute()
        )


def release_notice(checkout_id: int) -> None:
    """The notice did not go out: the next poll tries again."""
    with write_transaction():
        Checkout.update(notified_at=None).where(Checkout.id == checkout_id).execute()


def unnotified() -> list[Checkout]:
    return list(
        Checkout.select()
        .where(Checkout.status != CheckoutStatus.PENDING, Checkout.notified_at.is_null())
        .order_by(Checkout.id)
    )
