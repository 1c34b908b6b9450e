"""Recording a payment: the next invoice number and the plan's extension, in one transaction.

Shared by the operators' `payments record` (a transfer checked by hand) and the bot's
payment links (a gateway said the invoice is paid).
"""

from dataclasses import dataclass
from datetime import date, datetime

from lpse_crawler.people.crypto import Keyring
from lpse_crawler.people.models import Payment, Subscriber
from lpse_crawler.people.plans import renewal
from lpse_crawler.store.database import WIB, database, is_postgres, write_transaction


@dataclass(frozen=True)
class Recorded:
    payment: Payment
    expires: datetime  # the subscriber's plan now ends then


def next_invoice_no(issued: datetime) -> str:
    """The next number of the issue year (in Jakarta). Call inside the write transaction: on
    PostgreSQL it locks the payment table against other writers until the transaction ends."""
    if is_postgres():
        database.execute_sql(f'LOCK TABLE "{Payment._meta.table_name}" IN SHARE ROW EXCLUSIVE MODE')
    prefix = f"INV-{issued.astimezone(WIB):%Y}-"
    taken = Payment.select(Payment.invoice_no).where(Payment.invoice_no.startswith(prefix))
    return f"{prefix}{max((int(p.invoice_no[len(prefix) :]) for p in taken), default=0) + 1:04d}"


def record_payment(
    subscriber_id: int,
    plan: str,
    start: date,
    months: int,
    amount: int,
    method: str,
    reference: str | None,
    now: datetime,
    ring: Keyring,
) -> Recorded:
    """Write the payment with the next invoice number and extend the subscriber's plan (see
    plans.renewal: never shortening it). Raises PlanConflict for a lower plan while a higher
    one is in force. The amount is the caller's to check against the price list."""
    with write_transaction():
        number = next_invoice_no(now)  # first: on PostgreSQL its lock serialises recording
        subscriber = Subscriber.get_by_id(subscriber_id)
        start, end, expires = renewal(subscriber.plan, subscriber.plan_expires_at, plan, start, months, now)
        payment = Payment.create(
            subscriber=subscriber,
            invoice_no=number,
            amount=amount,
            method=method,
            plan=plan,
            period_start=start,
            period_end=end,
            paid_at=now,
        )
        payment.reference_enc = ring.encrypt(reference, Payment._meta.table_name, "reference_enc", payment.id)
        payment.save()
        trial_until = subscriber.trial_until  # a trial running now goes on: the period starts after it
        if (
            subscriber.plan == "trial"
            and subscriber.plan_expires_at is not None
            and subscriber.plan_expires_at > now
        ):
            trial_until = subscriber.plan_expires_at
        Subscriber.update(plan=plan, plan_expires_at=expires, trial_until=trial_until).where(
            Subscriber.id == subscriber.id
        ).execute()
    return Recorded(payment, expires)
