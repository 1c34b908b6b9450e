"""`payments`: record a payment (extends the plan), list, summarise, and write the faktur PDF.

Invoice numbers follow the issue date in Jakarta, one gap-free sequence a year
(`INV-2026-0001`), whatever period was paid for; older `INV-YYYYMM-NNNN` numbers stay as they
are. The buyer's company and NPWP are not stored: give them when the faktur is written.
"""

import calendar
import re
import sys
from datetime import date

import click

from lpse_crawler.cli.common import (
    audited,
    db_command,
    emit,
    find_person,
    keyring,
    read_command,
    write_private,
)
from lpse_crawler.people.models import Payment
from lpse_crawler.people.payments import record_payment
from lpse_crawler.people.personal_data import personal_data
from lpse_crawler.people.plans import MAX_MONTHS, PAID, PLANS, PlanConflict, whole_months
from lpse_crawler.rupiah import format_rupiah, parse_rupiah
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
@click.option("--amount", "amount_text", required=True, help="Rupiah paid: 49000, 49.000 or 'Rp 49.000'.")
@click.option("--method", type=click.Choice(METHODS), required=True, help="How it was paid.")
@click.option("--period", required=True, help="Whole months paid for: YYYY-MM or YYYY-MM-DD..YYYY-MM-DD.")
@click.option("--plan", type=click.Choice(PAID), default="basic", show_default=True, help="Plan paid for.")
@click.option("--reference", help="Bank or wallet reference (stored encrypted).")
@click.option("--force", is_flag=True, help="Accept an amount that is not the plan's price (needs --reason).")
@click.option("--reason", help="Why the amount differs from the price (with --force; audited).")
@db_command
def record(who, amount_text, method, period, plan, reference, force, reason):
    """Record a payment and extend the subscriber's plan (never shortening it).

    The amount must be the plan's monthly price times the months paid for, unless --force
    with --reason. A period of the plan already paid for moves to start after the current
    expiry; a lower plan while a higher one is in force is refused.

    Example: python cli.py payments record 42 --amount 49.000 --method transfer --period 2026-12
    """
    try:
        amount = parse_rupiah(amount_text)
    except ValueError as exc:
        raise click.ClickException(f"--amount: {exc}") from exc
    if force != bool(reason):
        raise click.ClickException("--force and --reason go together: say why the amount differs")
    start, end = parse_period(period)
    now = utcnow()
    if end < now.astimezone(WIB).date():
        raise click.ClickException(f"the period {period} is already over")
    months = whole_months(start, end)
    if months is None:
        raise click.ClickException(
            f"{period} is not whole months (at most {MAX_MONTHS}): from a day to the day before "
            "the same day months later, e.g. 2026-12 or 2026-12-01..2027-02-28"
        )
    price = PLANS[plan].price * months
    if amount != price and not force:
        raise click.ClickException(
            f"{format_rupiah(amount)} is not the price of {months} month(s) of {PLANS[plan].label} "
            f"({format_rupiah(price)}); use --force --reason TEXT to record it anyway"
        )
    ring = keyring(encrypting=True)
    subscriber = find_person(ring, who)
    with write_transaction():  # the audit record commits with the payment, or neither
        try:
            recorded = record_payment(
                subscriber.id, plan, start, months, amount, method, reference, now, ring
            )
        except PlanConflict as exc:
            raise click.ClickException(str(exc)) from exc
        number, expires = recorded.payment.invoice_no, recorded.expires
        start, end = recorded.payment.period_start, recorded.payment.period_end
        detail = f"{number} {plan} {start}..{end} {amount}"
        audited(
            "payments.record",
            subscriber.id,
            f"{detail}; forced (price {price}): {reason}" if force else detail,
        )
    click.echo(
        f"{number}: {format_rupiah(amount)} for {PLANS[plan].label} {start}..{end}; "
        f"subscriber {subscriber.id} on {PLANS[plan].label} until {expires.astimezone(WIB):%Y-%m-%d}"
    )


@payments.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@read_command
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


@payments.command("summary")
@click.option("--month", help="Only this month (YYYY-MM, in Jakarta).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@read_command
def summary(month, as_json):
    """Revenue by month of payment (in Jakarta): count, total and by plan.

    Example: python cli.py payments summary --month 2026-12
    """
    if month and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise click.ClickException(f"--month {month}: use YYYY-MM")
    months = {month: _month_row(month)} if month else {}
    for payment in Payment.select(Payment.paid_at, Payment.amount, Payment.plan):
        key = f"{payment.paid_at.astimezone(WIB):%Y-%m}"
        if month and key != month:
            continue
        row = months.setdefault(key, _month_row(key))
        by_plan = row["by_plan"].setdefault(payment.plan, {"count": 0, "total": 0})
        for counts in (row, by_plan):
            counts["count"] += 1
            counts["total"] += payment.amount
    data = [months[key] for key in sorted(months, reverse=True)]
    if as_json:
        emit(data, True)
        return
    table = [
        {"month": r["month"], "count": r["count"], "total": format_rupiah(r["total"])}
        | {plan: f"{v['count']}: {format_rupiah(v['total'])}" for plan, v in r["by_plan"].items()}
        for r in data
    ]
    plans = sorted({plan for r in data for plan in r["by_plan"]})
    emit(
        table,
        False,
        [("month", "MONTH"), ("count", "COUNT"), ("total", "TOTAL")] + [(p, p.upper()) for p in plans],
    )


def _month_row(month: str) -> dict:
    return {"month": month, "count": 0, "total": 0, "by_plan": {}}


@payments.command("invoice")
@click.argument("number")
@click.option("-o", "--output", help="PDF file to create (mode 0600).")
@click.option("--company", help="Buyer's company, printed under the buyer's name.")
@click.option("--npwp", help="Buyer's NPWP (15 or 16 digits).")
@db_command
def invoice(number, output, company, npwp):
    """Write the faktur of a payment as PDF (buyer's name in clear; audited). Without -o the
    PDF goes to standard output, unless that is a terminal.

    Example: python cli.py payments invoice INV-2026-0001 -o faktur.pdf --company "CV Maju"
    """
    # imported here: fpdf would add half a second to every command
    from lpse_crawler.people.invoice import ERASED, Buyer, Seller, check_npwp, invoice_pdf

    payment = Payment.get_or_none(Payment.invoice_no == number)
    if payment is None:
        raise click.ClickException(f"no invoice {number}")
    if output is None and sys.stdout.isatty():
        raise click.ClickException("a PDF is not for the terminal: give -o FILE.pdf")
    name = ERASED
    if payment.subscriber_id:
        values = personal_data(keyring(), payment.subscriber)
        name = values["name"] or values["email"] or "-"
    buyer = Buyer(name, (company or "").strip(), check_npwp(npwp) if npwp else "")
    document = invoice_pdf(payment, Seller.from_config(), buyer)
    if output is None:
        sys.stdout.buffer.write(document)
    else:
        write_private(output, document)
    audited("payments.invoice", payment.subscriber_id, number)
    if output:
        click.echo(f"faktur {number} written to {output}")
