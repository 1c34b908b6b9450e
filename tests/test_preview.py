"""Saving a filter previews it on the packages stored in the last 30 days; nothing is sent."""

from dataclasses import replace
from datetime import timedelta

import pytest

from lpse_crawler.matching import preview as previews
from lpse_crawler.matching.saved_filters import InstanceGeography
from lpse_crawler.outbox import Notification
from lpse_crawler.store.database import utcnow
from lpse_crawler.store.models import Tender
from lpse_crawler.store.tenders import upsert_tender
from tests.test_sender import ITEM

USER = 501


@pytest.fixture
def member(chat):
    chat.say(USER, "/start")
    chat.press(USER, "consent:yes")


def store(kode: str, nama: str, days_ago: int = 0) -> None:
    upsert_tender(replace(ITEM, kode=kode, nama=nama, url=f"https://spse.inaproc.id/kemkes/lelang/{kode}/x"))
    moved = utcnow() - timedelta(days=days_ago)
    Tender.update(first_seen_at=moved).where(Tender.kode == kode).execute()


def test_a_saved_filter_shows_what_it_fits_of_the_last_30_days_and_sends_nothing(chat, member):
    store("1", "Pengadaan Obat Puskesmas", days_ago=29)
    store("2", "Belanja Obat & <Vaksin>", days_ago=1)
    store("3", "Pengadaan Obat Tahun Lalu", days_ago=31)
    store("4", "Pembangunan Jembatan")
    reply = chat.say(USER, "/filter obat")
    assert "Filter ini cocok dengan <b>2 paket</b> dalam 30 hari terakhir, misalnya:" in reply
    assert (
        '• <a href="https://spse.inaproc.id/kemkes/lelang/2/x">Belanja Obat &amp; &lt;Vaksin&gt;</a>' in reply
    )
    assert reply.index("Belanja Obat") < reply.index("Pengadaan Obat Puskesmas")  # the newest first
    assert "Tahun Lalu" not in reply and "Jembatan" not in reply
    assert Notification.select().count() == 0
    assert "Belum ada paket dalam 30 hari terakhir" in chat.say(USER, "/filter jalan tol")


def test_a_preview_looks_at_a_bounded_number_of_packages_and_says_so(database, monkeypatch):
    from lpse_crawler.spse.registry import load_registry, sync_registry

    sync_registry(load_registry())
    for n in range(5):
        store(str(n), f"Pengadaan Obat {n}")
    monkeypatch.setattr(previews, "MAX_SCANNED", 3)
    geography = InstanceGeography()
    found = previews.preview(geography.parse("obat"), geography.province_of, utcnow())
    assert (found.count, found.capped, [t.kode for t in found.examples]) == (3, True, ["4", "3", "2"])


def test_a_preview_that_fails_still_says_the_filter_is_saved(chat, member, monkeypatch, caplog):
    def broken(*args):
        raise OSError("disk I/O error")

    monkeypatch.setattr("bot.filter_flow.preview", broken)
    reply = chat.say(USER, "/filter obat")
    assert "tersimpan" in reply and "Pratinjau filter tidak tersedia saat ini" in reply
    assert "Could not preview filter" in caplog.text and "disk I/O error" in caplog.text
