"""The README's first command: the offline demo runs the whole journey and says so."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # the whole demo: crawls, matching and the bot as processes

ROOT = Path(__file__).resolve().parent.parent


def test_the_demo_crawls_matches_and_delivers_one_alert():
    result = subprocess.run(
        [sys.executable, "scripts/demo.py"], cwd=ROOT, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    # the second crawl spends 2-3 per instance & kind
    assert "6 instances, 0 failed, 28 requests (0 reading followed packages)" in out
    assert "-- chat 5001 received 1 message(s)" in out
    assert "Anda menerima ini karena filter Jembatan (kata: jembatan, beton)." in out
    assert "-- chat 5002 received 0 message(s)" in out  # its exclusion wins
