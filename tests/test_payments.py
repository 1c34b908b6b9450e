"""Payments: amounts, periods and plan extension, invoice numbers, the faktur PDF, the summary,
through the CLI against a real database (SQLite, or PostgreSQL with TEST_DATABASE=postgres)."""

import json
import os
import re
import threading
import time
from datetime import date

import pypdf
import pytest
from click.testing import CliRunner

from cli import cli
from lpse_crawler.people.audit import Audit
from lpse_crawler.people.crypto import Keyring
from lpse_crawler.people.invoice import check_npwp, split_ppn
from lpse_crawler.people.models import Payment, Subscriber
from lpse_crawler.people.payments import next_invoice_no
from lpse_crawler.people.personal_data import create_subscriber
from lpse_crawler.people.plans import period_end, whole_months
from lpse_crawler.rupiah import parse_rupiah, terbilang
from lpse_crawler.store.database import WIB, database, utcnow, write_transaction
from lpse_crawler.store.schema import open_database
from tests.test_cli import KEY, env, person, run  # noqa: F401 (fixtures)

SELLER = {
    "SELLER_NAME": "PT Pantau Lelang Nusantara",
    "SELLER_ADDRESS": "Jl. Merdeka No. 1, Jakarta Pusat",
    "SELLER_NPWP": "01.234.567.8-901.000",
}
BULAN = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
]


def month(offset: int) -> str:
    """`YYYY-MM` of the month `offset` months from this one in Jakarta."""
    today = utcnow().astimezone(WIB).date()
    year, index = divmod(today.month - 1 + offset, 12)
    return f"{today.year + year}-{index + 1:02d}"


def first(offset: int) -> date:
    return date.fromisoformat(f"{month(offset)}-01")


def last(offset: int) -> date:
    return period_end(first(offset), 1)


def pay(who="1", amount="49000", period=None, plan="basic", *extra, code=0) -> str:
    args = ["payments", "record", who, "--amount", amount, "--method", "transfer", "--plan", plan]
    return run(*args, "--period", period or month(0), *extra, code=code)


def expiry() -> date:
    open_database()
    return Subscriber.get().plan_expires_at.astimezone(WIB).date()


def payments() -> list[tuple[str, str, date, date]]:
    open_database()
    return [
        (p.invoice_no, p.plan, p.period_start, p.period_end) for p in Payment.select().order_by(Payment.id)
    ]


def pdf_text(path) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in pypdf.PdfReader(path).pages)


# --- amounts, words, periods ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "nol"),
        (1, "satu"),
        (10, "sepuluh"),
        (11, "sebelas"),
        (12, "dua belas"),
        (19, "sembilan belas"),
        (20, "dua puluh"),
        (99, "sembilan puluh sembilan"),
        (100, "seratus"),
        (111, "seratus sebelas"),
        (1000, "seribu"),
        (1001, "seribu satu"),
        (2000, "dua ribu"),
        (11000, "sebelas ribu"),
        (49000, "empat puluh sembilan ribu"),
        (101000, "seratus satu ribu"),
        (149000, "seratus empat puluh sembilan ribu"),
        (1_000_000, "satu juta"),
        (1_001_000, "satu juta seribu"),
        (1_000_000_000, "satu miliar"),
        (2_000_000_000_001, "dua triliun satu"),
        (999 * 10**12, "sembilan ratus sembilan puluh sembilan triliun"),
    ],
)
def test_terbilang(number, words):
    assert terbilang(number) == words


def read_words(text: str) -> int:
    """Indonesian number words back to a number (the test's own, independent reading)."""
    digits = ["nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan"]
    units = {word: digit for digit, word in enumerate(digits)}
    units |= {"sepuluh": 10, "sebelas": 11, "seratus": 100, "seribu": 1000}
    scales = {"triliun": 10**12, "miliar": 10**9, "juta": 10**6, "ribu": 1000}
    total = group = 0
    for word in text.split():
        if word in scales:
            total, group = total + group * scales[word], 0
        elif word == "seribu":
            total += 1000
        elif word in ("puluh", "ratus"):
            group = group - group % 10 + group % 10 * (10 if word == "puluh" else 100)
        elif word == "belas":
            group += 10
        else:
            group += units[word]
    return total + group


def test_terbilang_reads_back_over_many_numbers():
    numbers = [
        *range(0, 3000),
        *range(0, 10**7, 9973),
        *(10**k + d for k in range(3, 15) for d in (-1, 0, 1)),
    ]
    for number in numbers:
        words = terbilang(number)
        assert read_words(words) == number, words
        assert not re.search(r"satu (ratus|puluh|belas)|(^|juta |miliar |triliun )satu ribu|  ", words)
    with pytest.raises(ValueError):
        terbilang(1000 * 10**12)
    with pytest.raises(ValueError):
        terbilang(-1)


@pytest.mark.parametrize("text", ["49000", "49.000", "Rp 49.000", "Rp49.000,-", "rp. 49.000,00", " 49000 "])
def test_amounts_as_indonesians_write_them(text):
    assert parse_rupiah(text) == 49000


@pytest.mark.parametrize(
    "text", ["49,000", "49.5", "49,5", "-49000", "0", "1.000.000.000", "49 000", "", "9" * 5000]
)
def test_amounts_that_are_refused(text):
    with pytest.raises(ValueError, match="amount"):
        parse_rupiah(text)


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        ("2026-12-01", "2026-12-31", 1),
        ("2026-12-01", "2027-02-28", 3),
        ("2027-01-15", "2027-02-14", 1),
        ("2027-01-31", "2027-02-28", 1),
        ("2026-12-01", "2027-11-30", 12),
        ("2026-12-01", "2026-12-30", None),
        ("2026-12-02", "2026-12-31", None),
        ("2026-12-01", "2099-12-31", None),
    ],
)
def test_whole_months(start, end, months):
    assert whole_months(date.fromisoformat(start), date.fromisoformat(end)) == months


def test_npwp_and_ppn_split():
    assert check_npwp("012345678901234") == "01.234.567.8-901.234"
    assert check_npwp("3171 0123 4567 8901") == "3171012345678901"
    with pytest.raises(ValueError, match="15 or 16 digits"):
        check_npwp("12.345")
    assert split_ppn(49000, 11) == (44144, 4856)
    assert split_ppn(149000, 11) == (134234, 14766)
    assert split_ppn(100, 12.5) == (89, 11)


# --- record ---------------------------------------------------------------------------------


def test_record_list_and_the_plan(person):
    output = pay("chat:777", "149000", plan="pro")
    number = output.split(":")[0]
    assert number == f"INV-{utcnow().astimezone(WIB):%Y}-0001"
    assert f"until {last(0)}" in output
    assert expiry() == last(0) and Subscriber.get().plan == "pro"
    assert f"{Subscriber.get().plan_expires_at.astimezone(WIB):%H:%M}" == "23:59"
    listed = json.loads(run("payments", "list", "--json"))
    assert listed[0]["invoice_no"] == number and listed[0]["amount"] == 149000


def test_amount_in_indonesian_notation_and_several_months(person):
    pay(amount="Rp 147.000", period=f"{first(0)}..{last(2)}")
    assert payments() == [(payments()[0][0], "basic", first(0), last(2))] and expiry() == last(2)


@pytest.mark.parametrize("amount", ["49.5", "-1", "0", "49,000", "Rp 1.000.000.000"])
def test_bad_amounts_are_one_line_errors(person, amount):
    output = pay(amount=amount, code=1)
    assert output.startswith("Error: --amount") and output.count("\n") == 1
    assert payments() == []


def test_amount_must_match_the_price_unless_forced_with_a_reason(person):
    assert "not the price of 1 month(s) of Pro (Rp 149.000)" in pay(amount="49000", plan="pro", code=1)
    assert "not whole months" in pay(amount="1", plan="pro", period=f"{first(0)}..2099-12-31", code=1)
    assert "not whole months" in pay(period=f"{first(1)}..{last(1).replace(day=20)}", code=1)
    assert "already over" in pay(period="2020-01", code=1)
    assert "go together" in run(
        "payments",
        "record",
        "1",
        "--amount",
        "40000",
        "--method",
        "qris",
        "--period",
        month(0),
        "--force",
        code=1,
    )
    assert payments() == []
    pay("1", "40000", None, "basic", "--force", "--reason", "promo Ramadan")
    detail = Audit.get(Audit.action == "payments.record").detail
    assert "forced (price 49000): promo Ramadan" in detail and " 40000" in detail
    assert expiry() == last(0)


def test_same_plan_extends_from_the_current_expiry(person):
    pay(amount="447.000", plan="pro", period=f"{first(0)}..{last(2)}")  # Pro for three months
    assert expiry() == last(2)
    pay(amount="149.000", plan="pro", period=month(0))  # this month again: buys the fourth
    assert payments()[-1][1:] == ("pro", first(3), last(3))
    assert expiry() == last(3)


def test_a_lower_plan_never_cuts_a_higher_one_short(person):
    pay(amount="447000", plan="pro", period=f"{first(0)}..{last(2)}")
    output = pay(amount="49000", plan="basic", period=month(0), code=1)
    assert f"has Pro until {last(2)}" in output and f"record it after {last(2)}" in output
    assert expiry() == last(2) and Subscriber.get().plan == "pro" and len(payments()) == 1


def test_an_upgrade_starts_now_and_never_shortens(person):
    pay(amount="147000", plan="basic", period=f"{first(0)}..{last(2)}")
    pay(amount="149000", plan="pro", period=month(0))
    assert Subscriber.get().plan == "pro" and expiry() == last(2)
    assert payments()[-1][1:] == ("pro", first(0), last(0))


# --- invoice numbers ------------------------------------------------------------------------


def test_numbers_follow_the_issue_date_not_the_period(person):
    year = f"{utcnow().astimezone(WIB):%Y}"
    open_database()
    for old in ("INV-202601-0009", f"INV-{int(year) - 1}-0042"):  # older styles and years
        Payment.create(
            invoice_no=old, amount=1, method="tunai", plan="basic", period_start=first(0), period_end=last(0)
        )
    database.close()
    pay(period=month(3))
    pay(period=month(0))
    run("users", "add", "--chat-id", "55", "--name", "Budi")
    pay("chat:55", period=month(0))
    numbers = [p[0] for p in payments()[2:]]
    assert numbers == [f"INV-{year}-0001", f"INV-{year}-0002", f"INV-{year}-0003"]


def test_two_writers_never_take_the_same_number(env):
    """Each thread computes the next number, waits, then inserts: the lock serialises them."""
    subscriber = create_subscriber(Keyring.parse(KEY), 1, name="Ani")
    database.close()
    errors = []

    def issue():
        try:
            with write_transaction():
                number = next_invoice_no(utcnow())
                time.sleep(0.3)
                Payment.create(
                    subscriber=subscriber.id,
                    invoice_no=number,
                    amount=49000,
                    method="qris",
                    plan="basic",
                    period_start=first(0),
                    period_end=last(0),
                )
        except Exception as exc:  # noqa: BLE001 (reported by the assertion)
            errors.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=issue) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(p[0][-4:] for p in payments()) == ["0001", "0002"]


# --- the faktur PDF ------------------------------------------------------------------------


def test_invoice_pdf_has_every_field(person, tmp_path, monkeypatch):
    for name, value in SELLER.items():
        monkeypatch.setenv(name, value)
    number = pay(amount="49.000").split(":")[0]
    path = tmp_path / "faktur.pdf"
    output = run(
        "payments",
        "invoice",
        number,
        "-o",
        str(path),
        "--company",
        "CV Maju Jaya",
        "--npwp",
        "012345678901234",
    )
    assert "written to" in output and os.stat(path).st_mode & 0o777 == 0o600
    text = pdf_text(path)
    paid = Payment.get().paid_at.astimezone(WIB).date()
    expected = [
        *SELLER.values(),
        "Siti Rahmawati",
        "CV Maju Jaya",
        "01.234.567.8-901.234",
        number,
        f"{paid.day} {BULAN[paid.month - 1]} {paid.year}",
        "Langganan Pantau LPSE paket Dasar",
        f"1 {BULAN[first(0).month - 1]} {first(0).year} s.d. {last(0).day} {BULAN[last(0).month - 1]}",
        "Total Rp 49.000",
        "empat puluh sembilan ribu rupiah",
        "Penjual bukan Pengusaha Kena Pajak (PKP); tidak dipungut PPN.",
        "LUNAS",
    ]
    assert [field for field in expected if field not in text] == []
    assert "PPN 11%" not in text
    assert Audit.get(Audit.action == "payments.invoice").detail == number


def test_invoice_of_a_pkp_shows_dpp_and_ppn(person, tmp_path, monkeypatch):
    monkeypatch.setenv("SELLER_PKP", "1")
    number = pay("1", "149000", None, "pro").split(":")[0]
    run("payments", "invoice", number, "-o", str(tmp_path / "f.pdf"))
    text = pdf_text(tmp_path / "f.pdf")
    expected = [
        "DPP Rp 134.234",
        "PPN 11% Rp 14.766",
        "Total Rp 149.000",
        "seratus empat puluh sembilan ribu rupiah",
    ]
    assert [field for field in expected if field not in text] == [] and "bukan Pengusaha" not in text


def test_invoice_output_refusals_and_stdout(person, tmp_path):
    number = pay().split(":")[0]
    (tmp_path / "there.pdf").write_bytes(b"keep")
    assert "there.pdf exists" in run("payments", "invoice", number, "-o", str(tmp_path / "there.pdf"), code=1)
    assert (tmp_path / "there.pdf").read_bytes() == b"keep"
    missing = run("payments", "invoice", number, "-o", str(tmp_path / "nowhere" / "f.pdf"), code=1)
    assert missing.startswith("Error: ") and missing.count("\n") == 1
    assert "15 or 16 digits" in run(
        "payments", "invoice", number, "-o", str(tmp_path / "x.pdf"), "--npwp", "1", code=1
    )
    result = CliRunner().invoke(cli, ["payments", "invoice", number], catch_exceptions=False)
    assert result.exit_code == 0 and result.stdout_bytes.startswith(b"%PDF-")


def test_invoice_of_an_erased_subscriber(person, tmp_path):
    number = pay().split(":")[0]
    run("users", "delete", "1", "--yes")
    run("payments", "invoice", number, "-o", str(tmp_path / "f.pdf"), "--company", "PT Lama")
    text = pdf_text(tmp_path / "f.pdf")
    assert "(data pelanggan telah dihapus)" in text and "PT Lama" in text and "Siti" not in text


# --- summary --------------------------------------------------------------------------------


def test_summary_by_month_and_plan(person):
    pay()
    pay("1", "149000", None, "pro")
    rows = json.loads(run("payments", "summary", "--json"))
    assert rows == [
        {
            "month": month(0),
            "count": 2,
            "total": 198000,
            "by_plan": {"basic": {"count": 1, "total": 49000}, "pro": {"count": 1, "total": 149000}},
        }
    ]
    table = run("payments", "summary")
    assert "Rp 198.000" in table and "1: Rp 149.000" in table
    assert json.loads(run("payments", "summary", "--month", "2020-01", "--json"))[0]["count"] == 0
    assert "use YYYY-MM" in run("payments", "summary", "--month", "2020-13", code=1)
