"""Paying in the bot: /paket -> plan -> period -> a Xendit payment link (loopback emulator,
through the real SDK); the poller records what the gateway says is paid, once, at the price
list's amount, and sends the receipt and the faktur through the Telegram emulator."""

import io
import json
import re
import threading
from datetime import timedelta
from pathlib import Path

import jsonschema
import pypdf
import pytest
from peewee import IntegrityError

from bot.payment_poller import PaymentPoller
from lpse_crawler.matching.saved_filters import save_filter
from lpse_crawler.people.checkouts import Checkout, apply_answer
from lpse_crawler.people.gateway import XenditGateway
from lpse_crawler.people.models import Payment, Subscriber
from lpse_crawler.people.plans import paid_until, period_end
from lpse_crawler.people.privacy import export_subscriber
from lpse_crawler.store.database import WIB, utcnow, write_transaction
from tests.gateway_emulator import KEY, GatewayEmulator

USER, ADMIN = 501, 900
SCHEMA = json.loads((Path(__file__).parent.parent / "schemas" / "export.schema.json").read_text())


@pytest.fixture
def gateway(monkeypatch):
    emulator = GatewayEmulator()
    emulator.thread = threading.Thread(target=emulator.httpd.serve_forever, args=(0.02,), daemon=True)
    with emulator:
        monkeypatch.setenv("PAYMENT_GATEWAY_KEY", KEY)
        monkeypatch.setenv("PAYMENT_GATEWAY_URL", emulator.url)
        yield emulator


@pytest.fixture
def member(chat):
    chat.say(USER, "/start")
    chat.press(USER, "consent:yes")
    return Subscriber.get(Subscriber.chat_id == USER)


@pytest.fixture
def poller(chat, keyring, gateway):
    return PaymentPoller(chat.telebot, keyring, XenditGateway(KEY, gateway.url), {ADMIN})


def on_plan(subscriber, plan: str, days: int):
    """The subscriber paid for `plan` until `days` from today (in Jakarta); that last day."""
    last = utcnow().astimezone(WIB).date() + timedelta(days=days)
    with write_transaction():
        Subscriber.update(plan=plan, plan_expires_at=paid_until(last)).where(
            Subscriber.id == subscriber.id
        ).execute()
    return last


def open_link(chat, telegram, plan="basic", months=3) -> Checkout:
    chat.say(USER, "/paket")
    chat.press(USER, f"pay:{plan}")
    assert f"pay:{plan}:{months}" in dict(telegram.buttons(USER)).values()
    chat.press(USER, f"pay:{plan}:{months}")
    return Checkout.get()


def test_without_a_gateway_key_paket_shows_how_to_transfer(chat, telegram, member):
    text = chat.say(USER, "/paket")
    assert "Transfer ke rekening yang diberikan admin" in text and "Rp 49.000/bulan" in text
    assert telegram.buttons(USER) == [("Setuju", "consent:yes")]  # the consent keyboard, nothing new


def test_paket_buttons_lead_to_a_link_at_the_price_list_amount(chat, telegram, gateway, member):
    chat.say(USER, "/paket")
    assert ("Bayar Pro (Rp 149.000/bulan)", "pay:pro") in telegram.buttons(USER)
    chat.press(USER, "pay:basic")
    periods = telegram.buttons(USER)
    assert periods == [
        ("1 bulan · Rp 49.000", "pay:basic:1"),
        ("3 bulan · Rp 147.000", "pay:basic:3"),
        ("12 bulan · Rp 588.000", "pay:basic:12"),
    ]
    text = chat.press(USER, "pay:basic:3")
    invoice = gateway.only()
    assert gateway.created[0]["amount"] == 147_000 and gateway.created[0]["currency"] == "IDR"
    assert gateway.created[0]["invoice_duration"] == 24 * 3600
    assert "Rp 147.000" in text and invoice["invoice_url"] in text
    checkout = Checkout.get()
    assert (checkout.amount, checkout.status, checkout.gateway_id) == (147_000, "pending", invoice["id"])
    chat.press(USER, "pay:basic:3")  # the same choice again: the open link, not a second invoice
    assert len(gateway.created) == 1 and Checkout.select().count() == 1


def test_forged_pay_buttons_are_refused(chat, telegram, gateway, member):
    for data in ("pay:trial:1", "pay:basic:2", "pay:basic:x", "pay:gold"):
        chat.press(USER, data)
        assert telegram.callback_answers[-1].get("text") == "Tombol ini sudah tidak berlaku.", data
    assert not gateway.created


def test_paid_extends_from_the_current_expiry_and_sends_receipt_and_faktur(
    chat, telegram, gateway, member, poller
):
    last = on_plan(member, "basic", 10)
    checkout = open_link(chat, telegram)
    poller.poll_once()  # still pending: nothing changes
    assert Checkout.get_by_id(checkout.id).status == "pending" and Payment.select().count() == 0
    gateway.set_status(checkout.gateway_id, "PAID")
    poller.poll_once()
    payment = Payment.get()
    year = utcnow().astimezone(WIB).year
    assert payment.invoice_no == f"INV-{year}-0001" and payment.amount == 147_000
    assert payment.method == "qris" and payment.period_start == last + timedelta(days=1)
    subscriber = Subscriber.get_by_id(member.id)
    assert subscriber.plan == "basic"
    assert subscriber.plan_expires_at == paid_until(period_end(last + timedelta(days=1), 3))
    assert Checkout.get_by_id(checkout.id).payment_id == payment.id
    receipt = telegram.texts_to(USER)[-1]
    assert "Pembayaran diterima" in receipt and payment.invoice_no in receipt and "Rp 147.000" in receipt
    document = telegram.sent[-1]
    assert document["method"] == "sendDocument" and payment.invoice_no in document["caption"]
    pdf = pypdf.PdfReader(io.BytesIO(document["document"]))
    text = "".join(page.extract_text() for page in pdf.pages)
    assert payment.invoice_no in text and "LUNAS" in text


def test_dasar_paid_during_the_trial_keeps_the_trial_and_status_says_what_follows(
    chat, telegram, gateway, member, poller
):
    for n in range(8):  # beyond Dasar's 5 filters, within the trial's 30
        save_filter(member, f"Filter {n}", f"kata{n} lpse:kemkes")
    trial_end = member.plan_expires_at.astimezone(WIB)
    checkout = open_link(chat, telegram, months=1)
    gateway.set_status(checkout.gateway_id, "PAID")
    poller.poll_once()
    assert Payment.get().period_start == trial_end.date() + timedelta(days=1)
    dasar_end = Subscriber.get_by_id(member.id).plan_expires_at.astimezone(WIB)
    status = chat.say(USER, "/status")
    assert (
        f"Paket: Uji coba (sampai {trial_end:%d-%m-%Y}), lalu Dasar (sampai {dasar_end:%d-%m-%Y})" in status
    )
    assert "Filter aktif: 8 dari 30" in status


def test_a_duplicate_paid_answer_records_one_payment(chat, telegram, gateway, member, poller, keyring):
    checkout = open_link(chat, telegram, months=1)
    gateway.set_status(checkout.gateway_id, "PAID")
    other = PaymentPoller(chat.telebot, keyring, XenditGateway(KEY, gateway.url), {ADMIN})
    poller.poll_once()
    other.poll_once()  # a second bot process
    poller.poll_once()  # polled again
    answer = XenditGateway(KEY, gateway.url).get(checkout.gateway_id)
    assert apply_answer(checkout.id, answer, keyring, utcnow()) is None  # already acted on
    assert Payment.select().count() == 1
    assert sum("Pembayaran diterima" in t for t in telegram.texts_to(USER)) == 1
    assert sum(m["method"] == "sendDocument" for m in telegram.sent) == 1
    with pytest.raises(IntegrityError), write_transaction():  # one checkout per gateway invoice
        Checkout.create(**{**Checkout.get().__data__, "id": None, "external_id": "pantau-other"})


def test_concurrent_polls_record_one_payment(chat, telegram, gateway, member, keyring):
    checkout = open_link(chat, telegram, months=1)
    gateway.set_status(checkout.gateway_id, "PAID")
    answer = XenditGateway(KEY, gateway.url).get(checkout.gateway_id)
    outcomes, errors = [], []

    def settle():
        try:
            outcomes.append(apply_answer(checkout.id, answer, keyring, utcnow()))
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=settle) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and sum(o is not None for o in outcomes) == 1
    assert Payment.select().count() == 1


@pytest.mark.parametrize(("status", "said"), [("EXPIRED", "kedaluwarsa"), ("FAILED", "dibatalkan")])
def test_an_unpaid_link_is_closed_and_the_user_may_try_again(
    chat, telegram, gateway, member, poller, status, said
):
    before = Subscriber.get_by_id(member.id)
    checkout = open_link(chat, telegram, plan="pro", months=1)
    gateway.set_status(checkout.gateway_id, status)
    poller.poll_once()
    assert said in telegram.texts_to(USER)[-1]
    assert telegram.buttons(USER) == [("Coba lagi", "pay:pro:1")]
    after = Subscriber.get_by_id(member.id)
    assert (after.plan, after.plan_expires_at) == (before.plan, before.plan_expires_at)
    assert Checkout.get_by_id(checkout.id).status == status.lower() and Payment.select().count() == 0
    poller.poll_once()
    assert sum(said in t for t in telegram.texts_to(USER)) == 1  # told once
    assert "Tagihan paket <b>Pro</b> 1 bulan" in chat.press(USER, "pay:pro:1")  # a new link
    assert len(gateway.created) == 2


def test_a_wrong_paid_amount_changes_no_plan_and_is_shown_to_operators(
    chat, telegram, gateway, member, poller, keyring
):
    checkout = open_link(chat, telegram)
    gateway.set_status(checkout.gateway_id, "PAID", paid_amount=49_000)
    poller.poll_once()
    assert Payment.select().count() == 0 and Subscriber.get_by_id(member.id).plan == "trial"
    row = Checkout.get_by_id(checkout.id)
    assert row.status == "rejected" and "paid 49000" in row.problem and "147000" in row.problem
    assert re.search(rf"perlu diperiksa.*#{checkout.id}.*49000", telegram.texts_to(ADMIN)[-1])
    assert "sedang kami periksa" in telegram.texts_to(USER)[-1]
    document = export_subscriber(keyring, Subscriber.get_by_id(member.id))  # /datasaya shows it too
    jsonschema.validate(document, SCHEMA)
    ((shown),) = document["checkouts"]
    assert (shown["status"], shown["amount"], shown["problem"]) == ("rejected", 147_000, row.problem)


def test_a_rejected_payment_reaches_the_user_though_an_admin_blocked_the_bot(
    chat, telegram, gateway, member, keyring, caplog
):
    other_admin = 901
    telegram.blocked.add(ADMIN)
    poller = PaymentPoller(chat.telebot, keyring, XenditGateway(KEY, gateway.url), [ADMIN, other_admin])
    checkout = open_link(chat, telegram)
    gateway.set_status(checkout.gateway_id, "PAID", paid_amount=1_000)
    poller.poll_once()
    assert "sedang kami periksa" in telegram.texts_to(USER)[-1]
    assert "perlu diperiksa" in telegram.texts_to(other_admin)[-1]  # the next admin still told
    assert f"admin {ADMIN} not told of the rejected payment" in caplog.text
    poller.poll_once()
    assert sum("sedang kami periksa" in t for t in telegram.texts_to(USER)) == 1


def test_a_lower_plan_is_refused_while_a_higher_one_is_paid(chat, telegram, gateway, member):
    on_plan(member, "pro", 20)
    chat.say(USER, "/paket")
    chat.press(USER, "pay:basic")
    assert "masih berlaku" in chat.press(USER, "pay:basic:1")
    assert not gateway.created and Checkout.select().count() == 0


def test_a_gateway_that_does_not_answer_gives_a_plain_message(chat, telegram, gateway, member):
    gateway.down = True
    chat.say(USER, "/paket")
    chat.press(USER, "pay:basic")
    assert "tidak bisa dibuat" in chat.press(USER, "pay:basic:1")
    assert Checkout.select().count() == 0


def test_buttons_need_a_subscriber(chat, telegram, gateway):
    assert "/start" in chat.press(USER, "pay:basic:1")
    assert not gateway.created
