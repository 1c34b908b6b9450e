"""`payments`: record a payment (extends the plan), list, and print an invoice."""

import calendar
import re
from datetime import date

import click

from lpse_crawler import config
from lpse_crawler.cli.common import audited, db_command, emit, find_person, keyring
from lpse_crawler.people.models import Payment, Subscriber
from lpse_crawler.people.personal_data import personal_data
from lpse_crawler.people.plans import PAID, PLANS, paid_until
from lpse_crawler.rupiah import format_rupiah
from lpse_crawler.store.database import WIB, utcnow, write_transaction

METHODS = ("transfer", "qris", "ewallet", "tunai")


def parse_period(text: str) -> tuple[date, date]:
    """`2026-12` (a month) or `2026-12-01..2027-02-28` -> (first day, last day)."""
    month = re.fullmatch(r"(\d{4})-(\d{2})", text)
    if month:
        year, number = int(month.group(1)), int(month.group(2))
        if not 1 <= number <= 12:
            raise click.ClickException(f"{text}: no such month")
        return date(year, number, 1), date(year, number, calendar.monthrange(year, number)[1])
    try:
        start, end = (date.fromisoformat(part) for part in text.split(".."))
    except ValueError as exc:
        raise click.ClickException(f"{text}: use YYYY-MM or YYYY-MM-DD..YYYY-MM-DD") from exc
    if end < start:
        raise click.ClickException(f"{text}: the period ends before it starts")
    return start, end


@click.group(help="Payments for paid plans.")
def payments():
    pass


@payments.command("record")
@click.argument("who", metavar="ID")
@click.option("--amount", type=click.IntRange(min=1), required=True, help="Amount paid, in rupiah.")
@click.option("--method", type=click.Choice(METHODS), required=True, help="How it was paid.")
@click.option("--period", required=True, help="Period paid for: YYYY-MM or YYYY-MM-DD..YYYY-MM-DD.")
@click.option("--plan", type=click.Choice(PAID), default="basic", show_default=True, help="Plan paid for.")
@click.option("--reference", help="Bank or wallet reference (stored encrypted).")
@db_command
def record(who, amount, method, period, plan, reference):
    """Record a payment and put the subscriber on the plan until the period's end.

    Example: python cli.py payments record 42 --amount 49000 --method transfer --period 2026-12
    """
    start, end = parse_period(period)
    if end < utcnow().astimezone(WIB).date():
        raise click.ClickException(f"the period {period} is already over")
    ring = keyring()
    subscriber = find_person(ring, who)
    with write_transaction():
        count = Payment.select().where(Payment.invoice_no.startswith(f"INV-{start:%Y%m}-")).count()
        payment = Payment.create(
            subscriber=subscriber,
            invoice_no=f"INV-{start:%Y%m}-{count + 1:04d}",
            amount=amount,
            method=method,
            plan=plan,
            period_start=start,
            period_end=end,
        )
        payment.reference_enc = ring.encrypt(reference, Payment._meta.table_name, "reference_enc", payment.id)
        payment.save()
        expires = paid_until(end)
        Subscriber.update(plan=plan, plan_expires_at=expires).where(Subscriber.id == subscriber.id).execute()
    audited("payments.record", subscriber.id, payment.invoice_no)
    click.echo(f"{payment.invoice_no}: {format_rupiah(amount)} for {PLANS[plan].label} {start}..{end}")


@payments.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@db_command
def list_payments(as_json):
    """All payments, newest first (no personal data).  Example: python cli.py payments list"""
    rows = [
        {
            "invoice_no": p.invoice_no,
            "subscriber": p.subscriber_id,
            "amount": p.amount,
            "method": p.method,
            "plan": p.plan,
            "period": f"{p.period_start}..{p.period_end}",
            "paid_at": p.paid_at,
        }
        for p in Payment.select().order_by(Payment.id.desc())
    ]
    emit(
        rows,
        as_json,
        [
            ("invoice_no", "INVOICE"),
            ("subscriber", "SUBSCRIBER"),
            ("amount", "AMOUNT"),
            ("method", "METHOD"),
            ("plan", "PLAN"),
            ("period", "PERIOD"),
        ],
    )


@payments.command("invoice")
@click.argument("number")
@db_command
def invoice(number):
    """Print the invoice for a payment (buyer's name in clear; audited).

    Example: python cli.py payments invoice INV-202612-0001 > invoice.txt
    """
    payment = Payment.get_or_none(Payment.invoice_no == number)
    if payment is None:
        raise click.ClickException(f"no invoice {number}")
    buyer = "(data pelanggan telah dihapus)"
    if payment.subscriber_id:
        values = personal_data(keyring(), payment.subscriber)
        buyer = "\n".join(v for v in (values["name"], values["email"], values["phone"]) if v) or "-"
    audited("payments.invoice", payment.subscriber_id, number)
    seller = config.get("SELLER_INFO")
    click.echo(
        f"INVOICE / FAKTUR\nNomor: {payment.invoice_no}\nTanggal: {payment.paid_at:%d-%m-%Y}\n\n"
        f"Penjual:\n{seller}\n\nPembeli:\n{buyer}\n\n"
        f"Uraian: Langganan Pantau LPSE paket {PLANS[payment.plan].label}\n"
        f"Periode: {payment.period_start:%d-%m-%Y} s.d. {payment.period_end:%d-%m-%Y}\n"
        f"Jumlah: {format_rupiah(payment.amount)}\nCara bayar: {payment.method}\nStatus: LUNAS"
    )
