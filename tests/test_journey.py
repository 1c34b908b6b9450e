"""One subscriber's journey, over real HTTP and real processes: `python -m bot` against the
Bot API emulator and the Xendit emulator, `scrapy crawl lpse` against the SPSE replay server,
`python cli.py` as an operator and cron run it. /start and the trial, /daftar and a filter,
alerts, the trial's reminder 3 days before it ends, paying with buttons, the receipt and the
faktur, blocking the bot (matches kept), coming back to one summary, alerts again."""

import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

import pypdf
import pytest

from lpse_crawler.outbox import Notification
from lpse_crawler.people.checkouts import Checkout
from lpse_crawler.people.crypto import generate_key
from lpse_crawler.people.models import Payment, Subscriber
from lpse_crawler.people.plans import paid_until, period_end
from lpse_crawler.store.database import WIB, database, utcnow, write_transaction
from lpse_crawler.store.schema import open_database
from tests.conftest import ROOT, TOKEN, run_crawl
from tests.gateway_emulator import KEY, GatewayEmulator
from tests.spse_replay import SpseReplayServer
from tests.test_end_to_end import USER, User, alerts, wait_for

pytestmark = pytest.mark.slow  # `scrapy crawl`, `python -m bot` and `python cli.py` as real processes

INSTANCES = ["kemkes"]


@pytest.fixture
def gateway():
    emulator = GatewayEmulator()
    emulator.thread = threading.Thread(target=emulator.httpd.serve_forever, args=(0.02,), daemon=True)
    with emulator:
        yield emulator


@pytest.fixture
def spse():
    with SpseReplayServer(INSTANCES) as server:
        yield server


@pytest.fixture
def environment(telegram, gateway, database_url):
    return os.environ | {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": telegram.api_url,
        "BOT_ADMIN_IDS": "1",
        "DATABASE_URL": database_url,
        "PANTAU_KEYS": generate_key("journey"),
        "SENDER_RATE": "50",
        "SENDER_PER_CHAT_INTERVAL": "0.05",
        "PAYMENT_GATEWAY_URL": gateway.url,
        "PAYMENT_GATEWAY_KEY": KEY,
        "PAYMENT_POLL_SECONDS": "0.5",
    }


def cli(environment, *args: str) -> str:
    """`python cli.py ...` as an operator (or cron) runs it."""
    done = subprocess.run(
        [sys.executable, "cli.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def bot_process(environment, tmp_path):
    cli(environment, "db", "init")  # as deployed, before the bot's first start
    log = (tmp_path / "bot.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot"], cwd=ROOT, env=environment, stdout=log, stderr=log
    )
    yield process
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    log.close()
    text = (tmp_path / "bot.log").read_text()
    assert TOKEN not in text and KEY not in text
    assert "Traceback" not in text, text


@contextmanager
def the_database(url: str):
    """The test's own look into the database, closed again so the processes are not kept waiting."""
    open_database(url)
    try:
        yield
    finally:
        database.close()


def subscriber(url: str) -> Subscriber:
    with the_database(url):
        return Subscriber.get(Subscriber.chat_id == USER)


def crawl(spse, database_url) -> None:
    result = run_crawl(spse.base_url, database_url, INSTANCES)
    assert result.returncode == 0, result.log[-3000:]


def kode_of(text: str) -> str:
    return re.search(r"Kode (\d+)", text).group(1)


def obat(spse, kodes=None) -> set[str]:
    """The replay's kemkes packages whose name has the word `obat`."""
    return {
        p.kode
        for p in spse.dataset.packages.values()
        if re.search(r"\bobat\b", p.cells[1].lower()) and (kodes is None or p.kode in kodes)
    }


def test_a_subscriber_from_trial_to_paid_to_blocked_and_back(
    telegram, gateway, spse, bot_process, environment, database_url
):
    user = User(telegram)
    wait_for(lambda: bot_process.poll() is None and telegram.api_getMe({})[0] == 200, "bot start")

    # /start, consent: a trial
    user.says("/start", "kebijakan privasi")
    assert "uji coba 14 hari" in user.presses("Setuju", "uji coba")
    trial = subscriber(database_url)
    assert trial.plan == "trial" and trial.status == "active"

    # /daftar and a filter that fits the replay's packages; the next crawl alerts them
    user.says("/daftar Budi Santoso; 0812-3456-7890; budi@cvmaju.co.id", "tersimpan")
    user.says("/filter obat lpse:kemkes", "tersimpan")
    crawl(spse, database_url)
    expected = obat(spse)
    assert len(expected) == 3
    wait_for(lambda: len(alerts(telegram)) == len(expected), "the first alerts")
    assert {kode_of(text) for text in alerts(telegram)} == expected

    # three days before the trial ends: cron's `users remind`, delivered by the bot's sender
    ends = utcnow() + timedelta(days=3)
    with the_database(database_url), write_transaction():
        Subscriber.update(plan_expires_at=ends).where(Subscriber.chat_id == USER).execute()
    assert cli(environment, "users", "remind").split("\n")[:2] == [
        "queued 1 plan-end reminders",
        "queued 0 deadline reminders",
    ]
    reminder = wait_for(lambda: [t for t in telegram.texts_to(USER) if "berakhir" in t], "the reminder")
    assert len(reminder) == 1
    assert "Paket Uji coba Anda berakhir 3 hari lagi" in reminder[0] and "/paket" in reminder[0]
    assert ("Perpanjang paket", "pay:renew") in telegram.buttons(USER)
    assert cli(environment, "users", "remind").startswith("queued 0 plan-end reminders\n")  # once

    # /paket -> plan -> months: a link at the price list's amount
    user.says("/paket", "Pilih paket untuk dibayar")
    assert user.presses("Bayar Pro (Rp 149.000/bulan)", "Pilih lama langganan")
    link = user.presses("3 bulan · Rp 447.000", "Tagihan paket")
    invoice = gateway.only()
    assert invoice["amount"] == 447_000 and invoice["currency"] == "IDR" and invoice["status"] == "PENDING"
    assert "Rp 447.000" in link and invoice["invoice_url"] in link

    # paid in the gateway: within seconds the plan is extended, a receipt and the faktur arrive
    before = len(telegram.sent)
    gateway.set_status(invoice["id"], "PAID")
    receipt = wait_for(
        lambda: next((t for t in telegram.texts_to(USER) if "Pembayaran diterima" in t), None), "the receipt"
    )
    faktur = wait_for(
        lambda: next((m for m in telegram.sent[before:] if m["method"] == "sendDocument"), None), "the faktur"
    )
    with the_database(database_url):
        payment = Payment.get()
        paid = Subscriber.get(Subscriber.chat_id == USER)
        assert Checkout.get().status == "paid"
    # "extended from its current expiry" (README): the trial's last 3 days are not lost
    first_day = ends.astimezone(WIB).date() + timedelta(days=1)
    assert (payment.plan, payment.amount, payment.period_start) == ("pro", 447_000, first_day)
    assert paid.plan == "pro" and paid.plan_expires_at == paid_until(period_end(first_day, 3))
    assert payment.invoice_no in receipt and "Rp 447.000" in receipt
    assert faktur["chat_id"] == USER and payment.invoice_no in faktur["caption"]
    pdf = pypdf.PdfReader(io.BytesIO(faktur["document"]))
    text = "".join(page.extract_text() for page in pdf.pages)
    assert payment.invoice_no in text and "LUNAS" in text and "Budi Santoso" in text

    # the user blocks the bot; a crawl finds new packages; the sender's 403 marks them blocked
    telegram.blocked.add(USER)
    sent_before = len(telegram.texts_to(USER))
    published = spse.dataset.publish("kemkes", "tender", 2, name="Penyediaan Obat Program Tahap IV")
    crawl(spse, database_url)
    meanwhile = {p.kode for p in published}

    def blocked_and_settled():
        with the_database(database_url):
            status = Subscriber.get(Subscriber.chat_id == USER).status
            held = Notification.select().join(Subscriber).where(Subscriber.chat_id == USER)
            return status == "blocked" and not held.where(Notification.status == "sending").exists()

    wait_for(blocked_and_settled, "the subscriber marked blocked")
    assert len(telegram.texts_to(USER)) == sent_before  # nothing reached them

    # unblocked, any message: welcome back, with one summary of what matched meanwhile
    telegram.blocked.discard(USER)
    welcome = user.says("halo", "Selamat datang kembali")
    assert "2 paket" in welcome and set(re.findall(r">(\d+)</a>", welcome)) == meanwhile
    assert subscriber(database_url).status == "active"
    time.sleep(1.5)  # the sender polls twice a second: the held alerts must not follow one by one
    assert not [kode_of(t) for t in alerts(telegram) if kode_of(t) in meanwhile]

    # a later crawl's new package arrives as a normal alert
    (later,) = spse.dataset.publish("kemkes", "tender", 1, name="Penyediaan Obat Program Tahap V")
    crawl(spse, database_url)
    alert = wait_for(lambda: [t for t in alerts(telegram) if kode_of(t) == later.kode], "the later alert")
    assert len(alert) == 1 and "Obat Program Tahap V" in alert[0]
