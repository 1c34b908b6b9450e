"""The faktur (invoice) of a payment as a PDF, in Indonesian: `payments invoice` writes it,
and the bot can send the same document after a payment.

Core PDF fonts know Latin-1 only, so every text goes through `_latin1`.
"""

import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from lpse_crawler import config
from lpse_crawler.people.models import Payment
from lpse_crawler.people.plans import PLANS
from lpse_crawler.rupiah import format_rupiah, terbilang
from lpse_crawler.store.database import WIB
from lpse_crawler.tanggal import tanggal

ERASED = "(data pelanggan telah dihapus)"
NOT_PKP = "Penjual bukan Pengusaha Kena Pajak (PKP); tidak dipungut PPN."
PKP_NOTE = "Harga sudah termasuk PPN. Dokumen ini bukan Faktur Pajak."
LABEL_WIDTH = 45  # mm


@dataclass(frozen=True)
class Seller:
    name: str
    address: str
    npwp: str
    pkp: bool
    ppn_rate: float  # percent of the DPP; prices include it

    @classmethod
    def from_config(cls) -> "Seller":
        return cls(
            config.get("SELLER_NAME"),
            config.get("SELLER_ADDRESS"),
            config.get("SELLER_NPWP"),
            config.get("SELLER_PKP"),
            config.get("PPN_RATE"),
        )


@dataclass(frozen=True)
class Buyer:
    name: str  # ERASED once the subscriber is erased
    company: str = ""
    npwp: str = ""


def check_npwp(text: str) -> str:
    """An NPWP as printed: 15 digits as `01.234.567.8-901.234`, or the 16-digit form
    (NIK-based) as given; anything else raises ValueError."""
    digits = re.sub(r"[\s.\-]", "", text)
    if not digits.isdigit() or len(digits) not in (15, 16):
        raise ValueError(f"NPWP {text!r}: it has 15 or 16 digits")
    if len(digits) == 16:
        return digits
    d = digits
    return f"{d[:2]}.{d[2:5]}.{d[5:8]}.{d[8]}-{d[9:12]}.{d[12:]}"


def split_ppn(total: int, rate: float) -> tuple[int, int]:
    """A price that includes PPN -> (DPP, PPN), DPP rounded half up: 49000 at 11% -> (44144, 4856)."""
    dpp = (Decimal(total) * 100 / (100 + Decimal(str(rate)))).quantize(Decimal(1), ROUND_HALF_UP)
    return int(dpp), total - int(dpp)


def invoice_pdf(payment: Payment, seller: Seller, buyer: Buyer) -> bytes:
    """The faktur of `payment` (its number, paid_at, plan, period, amount, method) as PDF bytes;
    the same payment gives the same bytes."""
    pdf = FPDF(format="A4")
    pdf.set_margins(20, 20)
    pdf.set_creation_date(payment.paid_at)
    pdf.set_title(_latin1(f"Faktur {payment.invoice_no}"))
    pdf.set_author(_latin1(seller.name))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    _line(pdf, "FAKTUR", 10)
    pdf.set_font("Helvetica", size=10)
    _rows(pdf, [("Nomor", payment.invoice_no), ("Tanggal", tanggal(payment.paid_at.astimezone(WIB).date()))])
    _rows(pdf, [("Status", "LUNAS"), ("Cara bayar", payment.method)])
    _heading(pdf, "Penjual")
    _rows(pdf, [("Nama", seller.name), ("Alamat", seller.address or "-"), ("NPWP", seller.npwp or "-")])
    _heading(pdf, "Pembeli")
    buyer_rows = [("Nama", buyer.name), ("Perusahaan", buyer.company), ("NPWP", buyer.npwp)]
    _rows(pdf, [(label, value) for label, value in buyer_rows if value])
    _heading(pdf, "Rincian")
    _rows(
        pdf,
        [
            ("Uraian", f"Langganan Pantau LPSE paket {PLANS[payment.plan].label}"),
            ("Periode", f"{tanggal(payment.period_start)} s.d. {tanggal(payment.period_end)}"),
            ("Jumlah", format_rupiah(payment.amount)),
        ],
    )
    if seller.pkp:
        dpp, ppn = split_ppn(payment.amount, seller.ppn_rate)
        rate = f"{seller.ppn_rate:g}".replace(".", ",")
        _rows(pdf, [("DPP", format_rupiah(dpp)), (f"PPN {rate}%", format_rupiah(ppn))])
    pdf.set_font("Helvetica", "B", 10)
    _rows(pdf, [("Total", format_rupiah(payment.amount))])
    pdf.set_font("Helvetica", "I", 10)
    _rows(pdf, [("Terbilang", f"{terbilang(payment.amount)} rupiah")])
    pdf.set_font("Helvetica", size=10)
    pdf.ln(4)
    _line(pdf, PKP_NOTE if seller.pkp else NOT_PKP)
    return bytes(pdf.output())


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 11)
    _line(pdf, text, 7)
    pdf.set_font("Helvetica", size=10)


def _rows(pdf: FPDF, rows: list[tuple[str, str]]) -> None:
    for label, value in rows:
        pdf.cell(LABEL_WIDTH, 6, _latin1(label))
        pdf.multi_cell(0, 6, _latin1(value), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _line(pdf: FPDF, text: str, height: float = 6) -> None:
    pdf.multi_cell(0, height, _latin1(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _latin1(text: str) -> str:
    """`text` on one line in Latin-1: accents kept where Latin-1 has them, otherwise their
    base letter (`Đỗ` -> `?o`), other characters as `?`."""
    text = " ".join(unicodedata.normalize("NFC", text).split())
    return "".join(char if ord(char) < 256 else _base_letter(char) for char in text)


def _base_letter(char: str) -> str:
    base = unicodedata.normalize("NFKD", char)[0]
    return base if ord(base) < 256 else "?"
