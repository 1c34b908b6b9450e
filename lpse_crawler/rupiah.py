"""Rupiah amounts as Indonesians write them: `Rp 1.234.567` (what spse.values.parse_money reads back)."""


def format_rupiah(amount: int) -> str:
    """1234567 -> `Rp 1.234.567`, as Indonesians write it (what parse_money reads back)."""
    return "Rp " + f"{amount:,}".replace(",", ".")
