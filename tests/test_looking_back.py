"""Looking back over real HTTP: /terbaru pages through the newest matches, /ekspor sends a CSV."""

import csv
import io
from dataclasses import replace
from datetime import timedelta

import pytest

from lpse_crawler.matching.saved_filters import save_filter
from lpse_crawler.outbox import Notification
from lpse_crawler.people.follows import Follow
from lpse_crawler.people.models import Subscriber
from lpse_crawler.store.database import utcnow
from lpse_crawler.store.models import Tender
from lpse_crawler.store.tenders import upsert_tender
from tests.test_sender import ITEM

USER = 501


@pytest.fixture
def member(chat):
    chat.say(USER, "/start")
    chat.press(USER, "consent:yes")
    return Subscriber.get(Subscriber.chat_id == USER)


def matched(subscriber: Subscriber, names: list[str], days_ago: int = 0) -> list[Tender]:
    """Packages that matched the subscriber's filter `Obat`, the last of `names` newest."""
    saved = save_filter(subscriber, "Obat", "obat")
    tenders = []
    for n, nama in enumerate(names):
        kode = f"{days_ago}{n:03d}"
        upsert_tender(
            replace(ITEM, kode=kode, nama=nama, url=f"https://spse.inaproc.id/kemkes/lelang/{kode}/x")
        )
        tenders.append(Tender.get(Tender.kode == kode))
        at = utcnow() - timedelta(days=days_ago, minutes=len(names) - n)
        Notification.insert(
            subscriber=subscriber.id,
            tender=tenders[-1].id,
            filter_ids=[saved.id],
            status="sent",
            next_attempt_at=at,
            created_at=at,
            updated_at=at,
        ).execute()
    return tenders


def test_terbaru_pages_through_the_newest_matches(chat, telegram, member):
    assert "Belum ada paket yang cocok" in chat.say(USER, "/terbaru")
    tenders = matched(member, [f"Pengadaan Obat {n}" for n in range(7)])
    first = chat.say(USER, "/recent")
    assert "(halaman 1)" in first and "1. <a href=" in first and "Pengadaan Obat 6</a>" in first
    assert "Pengadaan Obat 1<" not in first and "batas penawaran" in first
    buttons = telegram.buttons(USER)
    assert buttons[:5] == [
        (f"Ikuti {n}", f"follow:{t.id}") for n, t in zip(range(1, 6), tenders[::-1], strict=False)
    ]
    assert buttons[5:] == [("Lebih lama »", "recent:1")]
    second = chat.press(USER, "recent:1")
    assert "6. <a" in second and "Pengadaan Obat 0</a>" in second
    assert telegram.buttons(USER)[-1] == ("« Lebih baru", "recent:0")
    assert "Anda mengikuti" in chat.press(USER, f"follow:{tenders[0].id}")
    assert Follow.select().count() == 1
    assert "Tidak ada paket lebih lama" in chat.press(USER, "recent:5")
    chat.press(USER, "recent:x")
    assert telegram.callback_answers[-1].get("text")  # refused


def documents(telegram) -> list[dict]:
    return [m for m in telegram.sent if m.get("method") == "sendDocument" and m["chat_id"] == USER]


def test_ekspor_sends_the_matches_of_a_period_as_csv_a_spreadsheet_cannot_run(chat, telegram, member):
    assert "Tidak ada paket yang cocok" in chat.say(USER, "/ekspor")
    matched(member, ["Pengadaan Obat Lama"], days_ago=40)
    matched(member, ['=HYPERLINK("http://x")', "Belanja Obat, Vaksin"])
    chat.say(USER, "/ekspor")
    (sent,) = documents(telegram)
    assert "2 paket yang cocok dengan filter Anda dalam 30 hari terakhir" in sent["caption"]
    assert sent["document"].startswith(b"\xef\xbb\xbf")  # the byte order mark spreadsheets look for
    text = sent["document"].decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["Tanggal cocok (WIB)", "Kode", "Nama paket"] and len(rows) == 3
    assert [r[2] for r in rows[1:]] == ["Belanja Obat, Vaksin", '\'=HYPERLINK("http://x")']  # newest first
    assert rows[1][9] == "Obat" and rows[1][10].startswith("https://spse.inaproc.id/")
    chat.say(USER, "/export 60")
    assert "3 paket" in documents(telegram)[-1]["caption"]
    for bad in ("/ekspor 0", "/ekspor 400", "/ekspor minggu"):
        assert "1 sampai 366" in chat.say(USER, bad)
