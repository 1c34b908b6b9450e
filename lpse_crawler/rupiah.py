"""Rupiah amounts as Indonesians write them: `Rp 1.234.567` (what spse.values.parse_money reads
back), read back from an operator's typing, and in words (terbilang) for invoices."""

import re

MAX_AMOUNT = 100_000_000  # Rp 100 juta: more than any payment for a plan; a typo beyond it
_AMOUNT = re.compile(r"(?:Rp\.?\s*)?(\d{1,3}(?:\.\d{3}){1,4}|\d{1,15})(?:,-|,00)?", re.IGNORECASE)
_ONES = [
    "nol",
    "satu",
    "dua",
    "tiga",
    "empat",
    "lima",
    "enam",
    "tujuh",
    "delapan",
    "sembilan",
    "sepuluh",
    "sebelas",
]
_SCALES = [(10**12, "triliun"), (10**9, "miliar"), (10**6, "juta"), (1000, "ribu")]


def format_rupiah(amount: int) -> str:
    """1234567 -> `Rp 1.234.567`, as Indonesians write it (what parse_money reads back)."""
    return "Rp " + f"{amount:,}".replace(",", ".")


def parse_rupiah(text: str) -> int:
    """`49000`, `49.000`, `Rp 49.000` or `Rp 49.000,-` -> 49000. A comma is the Indonesian
    decimal mark, so `49,000` and `49,5` are refused (no cents), as are 0 and amounts over
    MAX_AMOUNT. Raises ValueError with a sentence for the operator."""
    match = _AMOUNT.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a whole rupiah amount: write 49000 or 49.000")
    amount = int(match.group(1).replace(".", ""))
    if not 0 < amount <= MAX_AMOUNT:
        raise ValueError(f"{text!r}: the amount must be between Rp 1 and {format_rupiah(MAX_AMOUNT)}")
    return amount


def terbilang(number: int) -> str:
    """A whole number below 1000 triliun in Indonesian words: 149000 -> `seratus empat puluh
    sembilan ribu`, 1000 -> `seribu`, 11 -> `sebelas`."""
    if not 0 <= number < 1000 * 10**12:
        raise ValueError(f"terbilang: {number} is out of range")
    if number == 0:
        return _ONES[0]
    words = []
    for scale, name in _SCALES:
        count, number = divmod(number, scale)
        if count == 1 and scale == 1000:
            words.append("seribu")
        elif count:
            words += [_below_thousand(count), name]
    if number:
        words.append(_below_thousand(number))
    return " ".join(words)


def _below_thousand(number: int) -> str:
    hundreds, rest = divmod(number, 100)
    words = ["seratus" if hundreds == 1 else f"{_ONES[hundreds]} ratus"] if hundreds else []
    if rest <= 11:
        words += [_ONES[rest]] if rest else []
    elif rest < 20:
        words.append(f"{_ONES[rest - 10]} belas")
    else:
        tens, ones = divmod(rest, 10)
        words += [f"{_ONES[tens]} puluh"] + ([_ONES[ones]] if ones else [])
    return " ".join(words)
