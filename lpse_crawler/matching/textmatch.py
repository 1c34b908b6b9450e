"""Word-level text normalisation: case, accents and punctuation ignored, whole words kept."""

import re
import unicodedata

_NON_WORD = re.compile(r"[^0-9a-z]+")


def words(text: str | None) -> tuple[str, ...]:
    """`Pembangunan Jembatan (Beton), Tahap-II` -> ('pembangunan', 'jembatan', 'beton', 'tahap', 'ii')."""
    if not text:
        return ()
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in plain if not unicodedata.combining(c)).lower()
    return tuple(w for w in _NON_WORD.split(plain) if w)


def positions(tokens: tuple[str, ...]) -> dict[str, list[int]]:
    """Where each word occurs, for phrase lookups."""
    found: dict[str, list[int]] = {}
    for i, token in enumerate(tokens):
        found.setdefault(token, []).append(i)
    return found


def contains_phrase(
    tokens: tuple[str, ...], phrase: tuple[str, ...], where: dict[str, list[int]] | None = None
) -> bool:
    """True when `phrase` occurs in `tokens` as consecutive whole words; `where` (from
    `positions(tokens)`, computed once per text) saves scanning every start."""
    size = len(phrase)
    if where is None:
        return any(tokens[i : i + size] == phrase for i in range(len(tokens) - size + 1))
    if size == 1:
        return phrase[0] in where
    return any(tokens[i : i + size] == phrase for i in where.get(phrase[0], ()))
