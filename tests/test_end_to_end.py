"""From a fresh database: /start, /daftar, a filter made with the keyboard, an alert for a
crawled tender, /jeda stops alerts, /datasaya, /hapusakun. The crawl runs against the SPSE
replay server and `python -m bot` (a real process) against the Bot API emulator."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest

from lpse_crawler.outbox import Notification
from lpse_crawler.people.crypto import generate_key
from lpse_crawler.people.models import Subscriber
from lpse_crawler.store.database import database, utcnow
from lpse_crawler.store.models import Tender
from lpse_crawler.store.schema import open_database
from tests.conftest import ROOT, TOKEN, run_crawl
from tests.spse_replay import SpseReplayServer

pytestmark = pytest.mark.slow  # `scrapy crawl` and `python -m bot` as real processes

USER = 4242
INSTANCES = ["kemkes", "jakarta"]


def wait_for(predicate, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class User:
    def __init__(self, telegram):
        self.telegram = telegram

    def _after(self, action, expect: str) -> str:
        before = len(self.telegram.sent)
        action()

        def reply():
            texts = [m.get("text") or m.get("caption") or "" for m in self.telegram.sent[before:]]
            return next((t for t in texts if expect in t), None)

        return wait_for(reply, repr(expect))

    def presses_data(self, data: str, expect: str) -> str:
        return self._after(lambda: self.telegram.push_callback(USER, data), expect)

    def says(self, text: str, expect: str) -> str:
        return self._after(lambda: self.telegram.push_message(USER, text), expect)

    def presses(self, label: str, expect: str) -> str:
        for _ in range(20):  # page through "Berikutnya »" until the button shows
            buttons = dict(self.telegram.buttons(USER))
            found = label in buttons
            data = buttons[label] if found else buttons["Berikutnya »"]
            reply = self._after(
                lambda data=data: self.telegram.push_callback(USER, data), expect if found else "Pilih"
            )
            if found:
                return reply
        raise AssertionError(f"no button {label!r}")


@pytest.fixture
def bot_process(telegram, database_url, tmp_path):
    env = os.environ | {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": telegram.api_url,
        "BOT_ADMIN_IDS": "1",
        "DATABASE_URL": database_url,
        "PANTAU_KEYS": generate_key("e2e"),
        "SENDER_RATE": "50",
        "SENDER_PER_CHAT_INTERVAL": "0.05",
    }
    subprocess.run([sys.executable, "cli.py", "db", "init"], cwd=ROOT, env=env, check=True)  # as deployed
    log = (tmp_path / "bot.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "bot"], cwd=ROOT, env=env, stdout=log, stderr=log)
    yield process
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    log.close()
    assert TOKEN not in (tmp_path / "bot.log").read_text()


def alerts(telegram) -> list[str]:
    return [t for t in telegram.texts_to(USER) if "Tender baru" in t]


def test_a_user_journey_from_start_to_account_deletion(telegram, bot_process, database_url):
    user = User(telegram)
    wait_for(lambda: bot_process.poll() is None and telegram.api_getMe({})[0] == 200, "bot start")
    user.says("/start", "kebijakan privasi")
    user.presses("Setuju", "uji coba")
    user.says("/daftar Budi Santoso; 0812-3456-7890; budi@cvmaju.co.id", "tersimpan")
    user.says("/filter", "Pilih <b>provinsi</b>")
    user.presses("DKI Jakarta", "Pilih <b>LPSE</b>")
    user.presses("LPSE Kementrian Kesehatan Republik Indonesia", "kategori")
    user.presses("Pengadaan Barang", "kata kunci")
    user.says("obat", "tersimpan")

    with SpseReplayServer(INSTANCES) as server:
        assert run_crawl(server.base_url, database_url, INSTANCES).returncode == 0
        expected = {
            p.kode
            for p in server.dataset.packages.values()
            if "kemkes" in p.instances
            and re.search(r"\bobat\b", p.cells[1].lower())
            and p.cells[8].startswith("Pengadaan Barang")
        }
        assert expected
        wait_for(lambda: len(alerts(telegram)) == len(expected), "the alerts")
        assert {re.search(r"Kode (\d+)", text).group(1) for text in alerts(telegram)} == expected

        user.says("/jeda", "dijeda")
        server.dataset.publish("kemkes", "tender", 1, name="Penyediaan Obat Baru Tahap III")
        assert run_crawl(server.base_url, database_url, INSTANCES).returncode == 0
    time.sleep(1.5)  # the sender polls twice a second: nothing may arrive while paused
    assert len(alerts(telegram)) == len(expected)

    before = len(telegram.sent)
    telegram.push_message(USER, "/datasaya")
    wait_for(lambda: any(m.get("document") for m in telegram.sent[before:]), "the data document")
    document = json.loads(next(m["document"] for m in telegram.sent[before:] if m.get("document")))
    assert document["profile"]["name"] == "Budi Santoso" and document["profile"]["phone"] == "+6281234567890"
    assert len(document["notifications"]) == len(expected) + 1  # the match while paused is kept

    user.says("/hapusakun", "Tidak bisa dibatalkan")
    user.presses("Ya, hapus semua", "telah dihapus")
    open_database(database_url)
    assert Subscriber.select().count() == 0 and Notification.select().count() == 0
    database.close()


def changes_told(telegram) -> list[str]:
    return [t for t in telegram.texts_to(USER) if "Perubahan pada paket yang Anda ikuti" in t]


def test_a_followed_package_s_moved_jadwal_winner_and_cancellation_reach_its_follower_once_each(
    telegram, bot_process, database_url
):
    user = User(telegram)
    wait_for(lambda: bot_process.poll() is None and telegram.api_getMe({})[0] == 200, "bot start")
    user.says("/start", "kebijakan privasi")
    user.presses("Setuju", "uji coba")
    user.says("/filter obat lpse:kemkes", "tersimpan")
    with SpseReplayServer(INSTANCES) as server:
        assert run_crawl(server.base_url, database_url, INSTANCES).returncode == 0
        # Two new packages, on the listing's first page (which every crawl reads, see issue 15)
        followed, other = server.dataset.publish("kemkes", "tender", 2, name="Penyediaan Obat Baru")
        assert run_crawl(server.base_url, database_url, INSTANCES).returncode == 0
        by_kode = wait_for(
            lambda: (b := _alert_buttons(telegram)) and {followed.kode, other.kode} <= set(b) and b,
            "the new alerts",
        )
        user.presses_data(by_kode[followed.kode], "Anda mengikuti")
        for package in (followed, other):  # every change on both; only one is followed
            server.dataset.move_deadline("tender", package.kode, timedelta(days=7))  # no listing change
        _read_again_now(database_url)
        assert run_crawl(server.base_url, database_url, INSTANCES).returncode == 0
        (moved,) = wait_for(lambda: changes_told(telegram), "the moved jadwal")
        assert "• Jadwal <b>Upload Dokumen Penawaran</b> berubah: sampai" in moved
        for package in (followed, other):
            server.dataset.announce_winner("tender", package.kode, "CV Farma Nusantara", 987_654_321)
        assert run_crawl(server.base_url, database_url, INSTANCES).returncode == 0
        wait_for(lambda: len(changes_told(telegram)) == 3, "the stage and the winner")
        assert "• Pemenang: CV Farma Nusantara, penawaran Rp 987.654.321" in changes_told(telegram)[2]
        for package in (followed, other):
            server.dataset.set_stage("tender", package.kode, "Tender Batal")
        assert run_crawl(server.base_url, database_url, INSTANCES).returncode == 0
        told = wait_for(lambda: (t := changes_told(telegram)) and len(t) == 4 and t, "the cancellation")
        assert "• Paket dibatalkan (Batal)" in told[3] and all(f"/{followed.kode}/" in t for t in told)
        assert run_crawl(server.base_url, database_url, INSTANCES).returncode == 0  # nothing new
    time.sleep(1.5)  # the sender polls twice a second
    assert changes_told(telegram) == told
    user.says("/diikuti", "tahap: Tender Batal")


def _read_again_now(database_url: str) -> None:
    """Time passes: every followed package is due to be read again."""
    open_database(database_url)
    Tender.update(watch_due_at=utcnow()).where(Tender.watch_due_at.is_null(False)).execute()
    database.close()


def _alert_buttons(telegram) -> dict[str, str]:
    """{package code: its Ikuti button's data} of the alerts sent."""
    found = {}
    for m in telegram.sent:
        if m["chat_id"] == USER and "Tender baru" in (m.get("text") or "") and m.get("reply_markup"):
            (kode,) = re.findall(r"Kode (\d+)", m["text"])[:1]
            rows = json.loads(m["reply_markup"])["inline_keyboard"]
            found[kode] = next(b["callback_data"] for row in rows for b in row if b["text"] == "Ikuti")
    return found
