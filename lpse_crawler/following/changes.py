"""Change detection between two snapshots of a package, and each change as one line of a
Telegram HTML message in Bahasa Indonesia."""

import hashlib
import html
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from lpse_crawler.rupiah import format_rupiah
from lpse_crawler.spse.errors import MalformedPage
from lpse_crawler.spse.stages import CANCELLED_STAGES, FAILED_STAGES, canonical_stage
from lpse_crawler.spse.values import parse_datetime, squeeze
from lpse_crawler.tanggal import waktu

Moment = datetime | str | None  # aware datetime; the site's text where it did not parse; None: no date
Party = tuple[str, int | None]  # (name, amount in whole rupiah)
# The kinds of change, in the order changes() reports them.
KINDS = ("batal", "gagal", "ulang", "stage_advanced", "schedule_moved", "winner", "contract")
KEY_DIGEST_CHARS = 20  # hex characters of the digest in Change.key
KEYED_BY_OLD = ("stage_advanced", "schedule_moved")  # A -> B is another change than C -> B
FLAG_TEXTS = {  # badge -> its line; also the order changes() reports badges in
    "batal": "Paket dibatalkan (Batal)",
    "gagal": "Paket dinyatakan gagal (Gagal)",
    "ulang": "Paket diulang (Ulang)",
}
PARTY_TEXTS = {"winner": ("Pemenang", "penawaran"), "contract": ("Kontrak ditandatangani", "nilai kontrak")}


@dataclass(frozen=True)
class Snapshot:
    """What followers are told about, as read at one crawl of a package.

    `schedule` holds (stage, mulai, sampai) per jadwal row (see schedule_of); `winners` and
    `contract` hold (name, amount) per row of the winner and contract tabs."""

    tahap: str
    ulang: bool = False
    batal: bool = False
    gagal: bool = False
    schedule: tuple[tuple[str, Moment, Moment], ...] = ()
    winners: tuple[Party, ...] = ()
    contract: tuple[Party, ...] = ()
    round: int = 0  # times the package went back (next_round): what comes again is told again


@dataclass(frozen=True)
class Change:
    """One change: its kind (see KINDS), the value before and after, the stage it concerns,
    and the package's round (see next_round)."""

    kind: str
    old: object
    new: object
    stage: str | None = None
    round: int = 0

    @property
    def key(self) -> str:
        """`<kind>:<digest>` of the stage, the new value, the old one for a stage or jadwal
        change, and the round: the same for the same change on every crawl, so the outbox
        tells each follower once; a package that moves back and on again, or is awarded
        again after a re-evaluation, is told again."""
        parts = [self.kind, _canonical(self.stage), _canonical(self.new)]
        if self.kind in KEYED_BY_OLD and self.old is not None:
            parts.append(_canonical(self.old))
        if self.round:
            parts.append(f"round {self.round}")
        text = "\x1f".join(parts)
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        return f"{self.kind}:{digest[:KEY_DIGEST_CHARS]}"


def schedule_of(rows: Iterable, tz: str) -> tuple[tuple[str, Moment, Moment], ...]:
    """Jadwal rows (anything with tahap, mulai, sampai, such as pages.ScheduleRow) as snapshot
    entries: canonical stage names, aware datetimes in `tz`, the text where a date does not parse."""
    return tuple(
        (canonical_stage(row.tahap), _moment(row.mulai, tz), _moment(row.sampai, tz)) for row in rows
    )


def stored_schedule(jadwal: Iterable[list], tz: str) -> tuple[tuple[str, Moment, Moment], ...]:
    """A jadwal as stored (tender.jadwal: [tahap, mulai, sampai] rows) as snapshot entries."""
    return schedule_of((_StoredRow(*row) for row in jadwal), tz)


class _StoredRow:
    def __init__(self, tahap: str, mulai: str | None = None, sampai: str | None = None):
        self.tahap, self.mulai, self.sampai = tahap, mulai, sampai


def winners_of(winners: Iterable) -> tuple[Party, ...]:
    """results.Winner rows as (name, winning price)."""
    return tuple((squeeze(w.nama), w.harga) for w in winners)


def contracts_of(contracts: Iterable) -> tuple[Party, ...]:
    """results.Contract rows as (name, nilai kontrak)."""
    return tuple((squeeze(c.nama), c.harga_kontrak) for c in contracts)


def changes(old: Snapshot | None, new: Snapshot) -> list[Change]:
    """What changed from `old` to `new`; nothing for a first snapshot (old is None).

    Only what appears alerts: a badge (Ulang, Batal, Gagal) that shows up, a new stage, a moved
    stage, a winner or contract row that is new or has a new amount. A badge that disappears
    (a site correction, a package un-cancelled), a row or a schedule stage that disappears,
    an amount that turns blank and a stage added to the schedule alert nothing. Schedule rows
    are matched by stage name (and occurrence), never by position."""
    if old is None:
        return []
    found = [Change(flag, False, True) for flag in FLAG_TEXTS if _flag(new, flag) and not _flag(old, flag)]
    found += _stage_change(old, new)
    found += _schedule_changes(old.schedule, new.schedule)
    found += _party_changes("winner", old.winners, new.winners)
    found += _party_changes("contract", old.contract, new.contract)
    if new.round:  # a re-run: what happened in an earlier round may happen again, and is told
        found = [c if c.kind in FLAG_TEXTS else replace(c, round=new.round) for c in found]
    unique: dict[str, Change] = {}
    for change in found:
        unique.setdefault(change.key, change)  # the same winner listed twice is one change
    return list(unique.values())


def next_round(old: Snapshot, new: Snapshot) -> int:
    """`old`'s round, plus one when the package went back: an Ulang badge appeared, or its
    stage moved to one before it in the package's own jadwal (Evaluasi after Pengumuman
    Pemenang: a re-evaluation), so a stage or winner reached again is told again."""
    order = [canonical_stage(row[0]) for row in new.schedule]
    before, after = canonical_stage(old.tahap), canonical_stage(new.tahap)
    went_back = before in order and after in order and order.index(after) < order.index(before)
    return old.round + 1 if went_back or (new.ulang and not old.ulang) else old.round


def describe(change: Change, zone: str = "Asia/Jakarta") -> str:
    """One change as an HTML line for Telegram, every site value escaped; times shown in `zone`."""
    if change.kind == "schedule_moved":
        return f"Jadwal <b>{_escape(change.stage)}</b> berubah: {_span(change.old, change.new, zone)}"
    if change.kind == "stage_advanced":
        return f"Tahap berubah: {_escape(change.old or '-')} → {_escape(change.new)}"
    if change.kind in FLAG_TEXTS:
        return FLAG_TEXTS[change.kind]
    if change.kind in PARTY_TEXTS:
        heading, amount_name = PARTY_TEXTS[change.kind]
        name, amount = change.new
        text = f"{heading}: {_escape(name)}"
        if amount:
            text += f", {amount_name} {format_rupiah(amount)}"
            before = change.old[1] if change.old else None
            if before and before != amount:
                text += f" (sebelumnya {format_rupiah(before)})"
        return text
    raise ValueError(f"unknown change kind {change.kind!r}")


def _flag(snapshot: Snapshot, flag: str) -> bool:
    """A badge, or (Batal, Gagal) the stage that says the same."""
    stage = canonical_stage(snapshot.tahap)
    if flag == "batal":
        return snapshot.batal or stage in CANCELLED_STAGES
    if flag == "gagal":
        return snapshot.gagal or stage in FAILED_STAGES
    return snapshot.ulang


def _stage_change(old: Snapshot, new: Snapshot) -> list[Change]:
    """A new stage; Batal and Gagal stages are told by their own kinds."""
    before, after = canonical_stage(old.tahap), canonical_stage(new.tahap)
    if not after or before == after or after in CANCELLED_STAGES | FAILED_STAGES:
        return []
    return [Change("stage_advanced", before, after)]


def _schedule_changes(old: tuple, new: tuple) -> list[Change]:
    """One change per stage whose mulai or sampai moved, matched by name and occurrence."""
    before = dict(_by_stage(old))
    found = []
    for key, (stage, start, end) in _by_stage(new):
        if key not in before or (start is None and end is None):
            continue
        was = before[key][1:]
        if _canonical(was) != _canonical((start, end)):
            found.append(Change("schedule_moved", was, (start, end), stage=stage))
    return found


def _by_stage(schedule: tuple) -> list[tuple[tuple[str, int], tuple]]:
    """((folded stage name, occurrence), entry) for each schedule entry."""
    seen: dict[str, int] = {}
    keyed = []
    for stage, start, end in schedule:
        name = canonical_stage(stage)
        folded = name.casefold()
        seen[folded] = seen.get(folded, -1) + 1
        keyed.append(((folded, seen[folded]), (name, start, end)))
    return keyed


def _party_changes(kind: str, old: tuple[Party, ...], new: tuple[Party, ...]) -> list[Change]:
    """A winner or contract row that is new, or whose amount changed to another amount. One
    company may hold several rows (several lots), so rows are compared as (name, amount) pairs."""
    seen = {(_fold(name), amount) for name, amount in old}
    now = {(_fold(name), amount) for name, amount in new}
    found = []
    for name, amount in new:
        folded = _fold(name)
        if not folded or (folded, amount) in seen:
            continue
        earlier = [(n, a) for n, a in old if _fold(n) == folded]
        if earlier and amount is None:
            continue  # an amount turned blank
        gone = [(n, a) for n, a in earlier if (folded, a) not in now]  # the amount it replaced
        found.append(Change(kind, gone[0] if gone else None, (squeeze(name), amount)))
    return found


def _fold(name: str) -> str:
    return squeeze(name).casefold()


def _moment(text: str | None, tz: str) -> Moment:
    try:
        return parse_datetime(text, tz)
    except MalformedPage:
        return squeeze(text)


def _canonical(value: object) -> str:
    """A stable text for a change's value: instants in UTC, names folded, tuples joined."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, tuple | list):
        return "(" + "\x1e".join(_canonical(item) for item in value) + ")"
    if isinstance(value, str):
        return squeeze(value).casefold()
    return str(value)


def _span(old: tuple[Moment, Moment], new: tuple[Moment, Moment], zone: str) -> str:
    """`sampai A → B` when only the end moved, `mulai A → B` when only the start, else both."""
    (was_start, was_end), (start, end) = old, new
    if _canonical(was_start) == _canonical(start):
        return f"sampai {_when(was_end, zone)} → {_when(end, zone)}"
    if _canonical(was_end) == _canonical(end):
        return f"mulai {_when(was_start, zone)} → {_when(start, zone)}"
    return f"{_when(was_start, zone)} – {_when(was_end, zone)} → {_when(start, zone)} – {_when(end, zone)}"


def _when(moment: Moment, zone: str) -> str:
    """`12 Mar 2026 15:00 WIB` in `zone`; the site's text escaped; `-` for no date."""
    if not isinstance(moment, datetime):
        return _escape(moment or "-")
    return waktu(moment.astimezone(ZoneInfo(zone)) if moment.tzinfo else moment)


def _escape(text: str | None) -> str:
    return html.escape(text or "", quote=False)
