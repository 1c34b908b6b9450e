"""Change detection between two snapshots of a package, its dedupe keys, and its Indonesian lines."""

import dataclasses
import json
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lpse_crawler.following.changes import (
    KINDS,
    Change,
    Snapshot,
    changes,
    contracts_of,
    describe,
    next_round,
    schedule_of,
    winners_of,
)
from lpse_crawler.spse.pages import ScheduleRow, parse_schedule
from lpse_crawler.spse.results import Contract, parse_winners
from tests.conftest import ROOT

FILES = Path(__file__).parent / "files"
JADWAL = FILES / "recorded" / "nontender_jadwal_berubah_pontianak_10748199000.html"  # real
WINNER_PAGE = FILES / "synthetic_tender_pemenang.html"  # synthetic (no real capture with rows)
WIB, WITA = ZoneInfo("Asia/Jakarta"), ZoneInfo("Asia/Makassar")


def at(day: int, hour: int, minute: int = 0, zone=WIB) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=zone)


BASE = Snapshot(
    tahap="Pengumuman Pascakualifikasi",
    schedule=(
        ("Pengumuman Pascakualifikasi", at(2, 8), at(9, 16)),
        ("Upload Dokumen Penawaran", at(3, 8), at(12, 15)),
        ("Pembukaan Dokumen Penawaran", at(12, 15, 1), at(12, 16)),
    ),
)


def moved(snapshot: Snapshot, stage: str, start, end) -> Snapshot:
    rows = tuple((name, start, end) if name == stage else (name, s, e) for name, s, e in snapshot.schedule)
    return dataclasses.replace(snapshot, schedule=rows)


# -- changes() -----------------------------------------------------------------------------------


def test_a_first_snapshot_gives_no_changes():
    assert changes(None, BASE) == []


def test_the_same_snapshot_twice_gives_nothing():
    assert changes(BASE, BASE) == []
    assert changes(BASE, dataclasses.replace(BASE)) == []


@pytest.mark.parametrize(
    "after, kind",
    [
        (dict(batal=True), "batal"),
        (dict(gagal=True), "gagal"),
        (dict(ulang=True), "ulang"),
        (dict(tahap="Tender Batal"), "batal"),  # the stage says it: one change, no stage change
        (dict(tahap="Seleksi Gagal"), "gagal"),
        (dict(tahap="Paket Dibatalkan"), "batal"),
    ],
)
def test_a_badge_that_appears_is_one_change(after, kind):
    found = changes(BASE, dataclasses.replace(BASE, **after))
    assert [(c.kind, c.old, c.new) for c in found] == [(kind, False, True)]


def test_a_badge_already_shown_by_the_stage_is_not_told_again():
    cancelled = dataclasses.replace(BASE, tahap="Tender Batal")
    assert changes(cancelled, dataclasses.replace(cancelled, batal=True)) == []


@pytest.mark.parametrize("flag", ["batal", "gagal", "ulang"])
def test_a_badge_that_disappears_alerts_nothing(flag):
    assert changes(dataclasses.replace(BASE, **{flag: True}), BASE) == []


def test_a_new_stage():
    found = changes(BASE, dataclasses.replace(BASE, tahap="Upload Dokumen Penawaran [...]"))
    assert [(c.kind, c.old, c.new) for c in found] == [
        ("stage_advanced", "Pengumuman Pascakualifikasi", "Upload Dokumen Penawaran")
    ]


def test_the_parallel_marker_and_spelling_variants_are_no_new_stage():
    assert changes(BASE, dataclasses.replace(BASE, tahap="Pengumuman  Pascakualifikasi [...]")) == []


def test_a_moved_stage_is_one_change_with_old_and_new_times():
    after = moved(BASE, "Upload Dokumen Penawaran", at(3, 8), at(19, 15))
    (change,) = changes(BASE, after)
    assert (change.kind, change.stage) == ("schedule_moved", "Upload Dokumen Penawaran")
    assert (change.old, change.new) == ((at(3, 8), at(12, 15)), (at(3, 8), at(19, 15)))


def test_schedule_rows_are_matched_by_stage_name_not_position():
    shuffled = dataclasses.replace(BASE, schedule=BASE.schedule[::-1])
    assert changes(BASE, shuffled) == []
    after = moved(shuffled, "Pembukaan Dokumen Penawaran", at(19, 15, 1), at(19, 16))
    assert [(c.stage, c.new) for c in changes(BASE, after)] == [
        ("Pembukaan Dokumen Penawaran", (at(19, 15, 1), at(19, 16)))
    ]


def test_the_same_instant_in_another_zone_is_no_move():
    same = moved(BASE, "Upload Dokumen Penawaran", at(3, 9, zone=WITA), at(12, 16, zone=WITA))
    assert changes(BASE, same) == []


def test_stages_added_or_dropped_or_cleared_alert_nothing():
    added = dataclasses.replace(
        BASE, schedule=BASE.schedule + (("Evaluasi Penawaran", at(13, 8), at(14, 8)),)
    )
    assert changes(BASE, added) == []
    assert changes(added, BASE) == []
    assert changes(BASE, moved(BASE, "Upload Dokumen Penawaran", None, None)) == []


def test_a_stage_listed_twice_is_matched_by_occurrence():
    twice = (("Evaluasi Penawaran", at(13, 8), at(14, 8)), ("Evaluasi Penawaran", at(15, 8), at(16, 8)))
    before = dataclasses.replace(BASE, schedule=twice)
    after = dataclasses.replace(BASE, schedule=(twice[0], ("Evaluasi Penawaran", at(15, 8), at(17, 8))))
    assert [(c.old, c.new) for c in changes(before, after)] == [
        ((at(15, 8), at(16, 8)), (at(15, 8), at(17, 8)))
    ]


def test_schedule_of_the_real_jadwal_page_and_a_move_on_it():
    rows = parse_schedule(JADWAL.read_text(encoding="utf-8"))
    before = dataclasses.replace(BASE, schedule=schedule_of(rows, "Asia/Pontianak"))
    assert before.schedule[0] == (
        "Upload Dokumen Penawaran",
        datetime(2026, 2, 6, 16, 5, tzinfo=ZoneInfo("Asia/Pontianak")),
        datetime(2026, 2, 10, 12, 0, tzinfo=ZoneInfo("Asia/Pontianak")),
    )
    rows[2] = dataclasses.replace(rows[2], sampai="13 Februari 2026 17:00")  # DERIVED: one stage moved
    (change,) = changes(before, dataclasses.replace(BASE, schedule=schedule_of(rows, "Asia/Pontianak")))
    assert change.stage == "Evaluasi Penawaran"
    assert describe(change, "Asia/Pontianak") == (
        "Jadwal <b>Evaluasi Penawaran</b> berubah: sampai 11 Feb 2026 17:00 WIB → 13 Feb 2026 17:00 WIB"
    )


def test_dates_that_do_not_parse_are_kept_as_text():
    rows = [ScheduleRow("Upload Dokumen Penawaran", "-", "segera diumumkan")]
    assert schedule_of(rows, "Asia/Jakarta") == (("Upload Dokumen Penawaran", None, "segera diumumkan"),)


def test_new_winners_one_change_each():
    after = dataclasses.replace(
        BASE, winners=winners_of(parse_winners(WINNER_PAGE.read_text(encoding="utf-8")))
    )
    found = changes(BASE, after)
    assert [(c.kind, c.old, c.new) for c in found] == [
        ("winner", None, ("PT Contoh Sarana Medika", 1_200_000_000)),
        ("winner", None, ("CV Sampel & Putra", 199_800_000)),
    ]
    assert changes(after, after) == []
    assert changes(after, BASE) == []  # winners that disappear alert nothing


def test_a_winner_with_a_new_price_and_one_listed_twice():
    before = dataclasses.replace(BASE, winners=(("PT A", 100),))
    after = dataclasses.replace(BASE, winners=(("pt  a", 90), ("PT B", None), ("PT B", None)))
    assert [(c.old, c.new) for c in changes(before, after)] == [
        (("PT A", 100), ("pt a", 90)),
        (None, ("PT B", None)),
    ]
    assert changes(after, dataclasses.replace(after, winners=(("PT A", None),))) == []  # a price turned blank


def test_one_company_winning_two_lots():
    two_lots = dataclasses.replace(BASE, winners=(("PT A", 100), ("PT A", 90)))
    assert changes(two_lots, two_lots) == []
    one_lot = dataclasses.replace(BASE, winners=(("PT A", 100),))
    assert [(c.old, c.new) for c in changes(one_lot, two_lots)] == [(None, ("PT A", 90))]
    assert changes(two_lots, one_lot) == []


def test_a_signed_contract():
    contract = contracts_of([Contract("PT Contoh Sarana Medika", harga_kontrak=1_195_000_000)])
    (change,) = changes(BASE, dataclasses.replace(BASE, contract=contract))
    assert (change.kind, change.new) == ("contract", ("PT Contoh Sarana Medika", 1_195_000_000))


def test_everything_at_once_in_a_fixed_order():
    after = dataclasses.replace(
        moved(BASE, "Upload Dokumen Penawaran", at(3, 8), at(19, 15)),
        tahap="Evaluasi Penawaran",
        ulang=True,
        gagal=True,
        winners=(("PT A", 1),),
        contract=(("PT A", 1),),
    )
    assert [c.kind for c in changes(BASE, after)] == [
        "gagal",
        "ulang",
        "stage_advanced",
        "schedule_moved",
        "winner",
        "contract",
    ]


# -- keys ----------------------------------------------------------------------------------------


def test_keys_are_the_same_for_the_same_change_and_differ_otherwise():
    later = moved(BASE, "Upload Dokumen Penawaran", at(3, 8), at(19, 15))
    (one,) = changes(BASE, later)
    (again,) = changes(
        dataclasses.replace(BASE), moved(BASE, "Upload Dokumen Penawaran", at(3, 8), at(19, 15))
    )
    (other,) = changes(BASE, moved(BASE, "Upload Dokumen Penawaran", at(3, 8), at(20, 15)))
    (elsewhere,) = changes(
        BASE, moved(BASE, "Upload Dokumen Penawaran", at(3, 9, zone=WITA), at(19, 16, zone=WITA))
    )
    assert one.key == again.key == elsewhere.key != other.key
    assert re.fullmatch(r"schedule_moved:[0-9a-f]{20}", one.key)
    flags = [
        changes(BASE, dataclasses.replace(BASE, **{k: True}))[0].key for k in ("batal", "gagal", "ulang")
    ]
    assert len(set(flags)) == 3


def test_a_stage_or_date_reached_again_from_elsewhere_or_in_a_re_run_has_another_key():
    evaluated = dataclasses.replace(BASE, tahap="Evaluasi Penawaran")
    awarded = dataclasses.replace(BASE, tahap="Pengumuman Pemenang", winners=(("PT A", 1_000),))
    (first, winner) = changes(evaluated, awarded)
    assert (first.kind, winner.kind) == ("stage_advanced", "winner")
    (from_elsewhere,) = changes(BASE, dataclasses.replace(awarded, winners=()))
    assert from_elsewhere.key != first.key  # Pascakualifikasi -> Pemenang, not Evaluasi -> Pemenang
    # Re-evaluated (Evaluasi Ulang) and awarded again: the same steps in the next round, told again
    again = changes(dataclasses.replace(evaluated, round=1), dataclasses.replace(awarded, round=1))
    assert [c.kind for c in again] == ["stage_advanced", "winner"]
    assert {c.key for c in again}.isdisjoint({first.key, winner.key})
    later = moved(BASE, "Upload Dokumen Penawaran", at(3, 8), at(19, 15))
    (out,), (back,) = changes(BASE, later), changes(later, BASE)
    (out_again,) = changes(BASE, later)
    assert out.key == out_again.key != back.key  # the same move once; the move back is another
    (ulang,) = changes(BASE, dataclasses.replace(BASE, ulang=True))
    assert ulang.key == Change("ulang", False, True).key  # the badge itself keeps its key


def test_a_package_is_in_its_next_round_once_it_goes_back():
    jadwal = tuple((stage, None, None) for stage in ("Evaluasi Penawaran", "Pengumuman Pemenang"))
    evaluated = dataclasses.replace(BASE, tahap="Evaluasi Penawaran", schedule=jadwal)
    awarded = dataclasses.replace(evaluated, tahap="Pengumuman Pemenang")
    assert next_round(evaluated, awarded) == 0  # on, as planned
    assert next_round(awarded, evaluated) == 1  # back by its own jadwal: re-evaluated
    assert next_round(dataclasses.replace(awarded, round=1), dataclasses.replace(evaluated, round=1)) == 2
    assert next_round(awarded, dataclasses.replace(awarded, ulang=True)) == 1  # the Ulang badge appears
    assert next_round(dataclasses.replace(awarded, ulang=True), dataclasses.replace(awarded, ulang=True)) == 0
    unplanned = dataclasses.replace(BASE, tahap="Pengumuman Pemenang")  # stages not in its jadwal
    assert next_round(unplanned, dataclasses.replace(unplanned, tahap="Evaluasi Penawaran")) == 0


def test_keys_are_pinned_because_the_outbox_stores_them():
    """A key computed on one release must come out the same on the next, or followers hear twice."""
    assert Change("batal", False, True).key == "batal:33e5b71fbdba3115ea1c"
    assert Change("winner", None, ("PT A", 1_000)).key == "winner:4d9d036a8cb1c4968187"
    moved_to = (at(3, 8), at(19, 15))
    assert Change("schedule_moved", None, moved_to, "Upload Dokumen Penawaran").key == (
        "schedule_moved:8be18857a0fd69c798e7"
    )


# -- describe() ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, zone, text",
    [
        (
            Change(
                "schedule_moved", (at(3, 8), at(12, 15)), (at(3, 8), at(19, 15)), "Upload Dokumen Penawaran"
            ),
            "Asia/Jakarta",
            "Jadwal <b>Upload Dokumen Penawaran</b> berubah:"
            " sampai 12 Mar 2026 15:00 WIB → 19 Mar 2026 15:00 WIB",
        ),
        (
            Change(
                "schedule_moved", (at(3, 8), at(12, 15)), (at(3, 8), at(19, 15)), "Upload Dokumen Penawaran"
            ),
            "Asia/Makassar",
            "Jadwal <b>Upload Dokumen Penawaran</b> berubah:"
            " sampai 12 Mar 2026 16:00 WITA → 19 Mar 2026 16:00 WITA",
        ),
        (
            Change("schedule_moved", (at(3, 8), at(12, 15)), (at(4, 8), at(12, 15)), "Pemberian Penjelasan"),
            "Asia/Jayapura",
            "Jadwal <b>Pemberian Penjelasan</b> berubah: mulai 3 Mar 2026 10:00 WIT → 4 Mar 2026 10:00 WIT",
        ),
        (
            Change("schedule_moved", (at(3, 8), at(12, 15)), (at(4, 8), "akan diumumkan"), "Masa Sanggah"),
            "Asia/Jakarta",
            "Jadwal <b>Masa Sanggah</b> berubah: 3 Mar 2026 08:00 WIB – 12 Mar 2026 15:00 WIB"
            " → 4 Mar 2026 08:00 WIB – akan diumumkan",
        ),
        (
            Change("stage_advanced", "Pengumuman Pascakualifikasi", "Evaluasi Penawaran"),
            "Asia/Jakarta",
            "Tahap berubah: Pengumuman Pascakualifikasi → Evaluasi Penawaran",
        ),
        (Change("batal", False, True), "Asia/Jakarta", "Paket dibatalkan (Batal)"),
        (Change("gagal", False, True), "Asia/Jakarta", "Paket dinyatakan gagal (Gagal)"),
        (Change("ulang", False, True), "Asia/Jakarta", "Paket diulang (Ulang)"),
        (
            Change("winner", None, ("PT X", 1_234_000_000)),
            "Asia/Jakarta",
            "Pemenang: PT X, penawaran Rp 1.234.000.000",
        ),
        (
            Change("winner", ("PT X", 1_300_000_000), ("PT X", 1_234_000_000)),
            "Asia/Jakarta",
            "Pemenang: PT X, penawaran Rp 1.234.000.000 (sebelumnya Rp 1.300.000.000)",
        ),
        (Change("winner", None, ("PT X", None)), "Asia/Jakarta", "Pemenang: PT X"),
        (
            Change("contract", None, ("PT X", 1_195_000_000)),
            "Asia/Jakarta",
            "Kontrak ditandatangani: PT X, nilai kontrak Rp 1.195.000.000",
        ),
    ],
)
def test_describe(change, zone, text):
    assert describe(change, zone) == text


def test_site_values_are_escaped():
    assert describe(Change("winner", None, ("PT <b>A</b> & Co", 5)), "Asia/Jakarta") == (
        "Pemenang: PT &lt;b&gt;A&lt;/b&gt; &amp; Co, penawaran Rp 5"
    )
    assert describe(Change("contract", None, ("CV <Maju> & 'Jaya'", None))) == (
        "Kontrak ditandatangani: CV &lt;Maju&gt; &amp; 'Jaya'"
    )
    stage = "Pengumuman Hasil Evaluasi Admin & Teknis"
    assert (
        describe(Change("stage_advanced", "<i>", stage))
        == f"Tahap berubah: &lt;i&gt; → {stage.replace('&', '&amp;')}"
    )
    line = describe(Change("schedule_moved", (None, "<script>"), (None, "1 & 2"), "<b>"))
    assert line == "Jadwal <b>&lt;b&gt;</b> berubah: sampai &lt;script&gt; → 1 &amp; 2"


def test_every_kind_is_described_and_an_unknown_one_refused():
    samples = {
        "schedule_moved": Change("schedule_moved", (None, at(1, 1)), (None, at(2, 1)), "X"),
        "stage_advanced": Change("stage_advanced", "A", "B"),
        "winner": Change("winner", None, ("A", 1)),
        "contract": Change("contract", None, ("A", 1)),
    }
    for kind in KINDS:
        assert describe(samples.get(kind, Change(kind, False, True)))
    with pytest.raises(ValueError, match="unknown"):
        describe(Change("renamed", "a", "b"))


# -- properties ----------------------------------------------------------------------------------

NAMES = st.sampled_from(["PT A", "pt a", "CV B", "<x>", ""])
MOMENTS = st.none() | st.sampled_from(["-", "segera"]) | st.builds(at, st.integers(1, 28), st.integers(0, 23))
SNAPSHOTS = st.builds(
    Snapshot,
    tahap=st.sampled_from(["Pengumuman Pascakualifikasi", "Tender Batal", "Evaluasi Penawaran [...]", ""]),
    ulang=st.booleans(),
    batal=st.booleans(),
    gagal=st.booleans(),
    schedule=st.lists(st.tuples(st.sampled_from(["A", "B", "a "]), MOMENTS, MOMENTS), max_size=4).map(tuple),
    winners=st.lists(st.tuples(NAMES, st.none() | st.integers(0, 10)), max_size=3).map(tuple),
    contract=st.lists(st.tuples(NAMES, st.none() | st.integers(0, 10)), max_size=2).map(tuple),
)


@settings(max_examples=150, deadline=None)
@given(SNAPSHOTS, SNAPSHOTS)
def test_properties(old, new):
    found = changes(old, new)
    assert changes(new, new) == []
    assert len({c.key for c in found}) == len(found)  # once per change
    assert all(c.kind in KINDS for c in found)
    for change in found:
        assert describe(change, "Asia/Makassar")
    assert changes(new, new) == changes(dataclasses.replace(new), new)


def test_the_module_loads_without_parsel_so_the_bot_may_import_it():
    code = "import json, sys, lpse_crawler.following.changes; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = set(json.loads(done.stdout))
    assert not loaded & {"parsel", "lxml", "scrapy", "telebot", "bot", "peewee"}
