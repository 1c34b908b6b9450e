"""The sender's pace (bot/pacing.py): Telegram's overall, per-chat and per-group limits."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import BotConfig, ConfigError
from bot.pacing import WINDOW, ChatPace, Pace


def drive(pace: Pace, stalls: list[float], sends: int) -> list[float]:
    """Send `sends` times as soon as `pace` allows, the sender busy for `stalls[n]` seconds
    before the n-th send (a slow answer, a slow claim); returns when each went."""
    now, moments = 0.0, []
    for n in range(sends):
        now += stalls[n % len(stalls)] if stalls else 0.0
        now += pace.wait(now)
        pace.took(now)
        moments.append(now)
    return moments


@settings(max_examples=200, deadline=None)
@given(
    rate=st.sampled_from([1, 5, 30, 100]),
    burst=st.integers(1, 10),
    stalls=st.lists(st.sampled_from([0.0, 0.0, 0.001, 0.02, 0.1, 0.3, 2.0]), max_size=20),
)
def test_never_more_than_rate_in_any_window(rate, burst, stalls):
    moments = drive(Pace(rate, burst), stalls, 3 * rate + 10)
    assert all(b - a >= WINDOW - 1e-9 for a, b in zip(moments, moments[rate:], strict=False))


def test_steady_sends_are_evenly_spaced_at_the_rate():
    moments = drive(Pace(30, burst=1), [], 300)
    gaps = {round(b - a, 9) for a, b in zip(moments, moments[1:], strict=False)}
    assert gaps == {round(WINDOW / 30, 9)}
    assert 299 / (moments[-1] - moments[0]) == pytest.approx(30 / WINDOW)


def test_after_slow_answers_it_catches_up_within_the_cap():
    stalls = [0.0] * 29 + [0.2]  # a slow claim or answer holds back every thirtieth send 200 ms
    moments = drive(Pace(30, burst=8), stalls, 900)
    rate = (len(moments) - 1) / (moments[-1] - moments[0])
    assert rate == pytest.approx(30 / WINDOW, rel=0.01)  # the time lost is made up
    without = drive(Pace(30, burst=1), stalls, 900)
    assert (len(without) - 1) / (without[-1] - without[0]) < 0.9 * rate  # a bucket of one cannot
    gaps = [b - a for a, b in zip(moments, moments[1:], strict=False)]
    assert min(gaps) >= WINDOW / 30 / 2 - 1e-9  # catching up at twice the pace, not all at once


def test_one_message_a_second_to_a_chat_and_twenty_a_minute_to_a_group():
    chats = ChatPace(interval=1.0, group_per_minute=20)
    chats.answered(42, 100.0)
    chats.answered(-100123, 100.0)
    assert chats.wait(42, 100.5) == pytest.approx(0.5) and chats.wait(42, 101.0) == 0
    assert chats.wait(-100123, 101.0) == pytest.approx(2.0) and chats.wait(-100123, 103.0) == 0
    assert chats.wait(7, 100.0) == 0  # never sent to
    assert chats.busy(100.2) == {42, -100123}
    assert chats.busy(100.6, within=0.5) == {-100123}  # 42 may get one within half a second
    assert chats.wait(42, 100.6) == pytest.approx(0.4)  # and is still remembered
    assert chats.busy(101.5) == {-100123} and chats.busy(103.0) == set()


def test_the_group_limit_never_loosens_the_chat_limit():
    assert ChatPace(interval=5.0, group_per_minute=20).gap(-1) == 5.0


@pytest.mark.parametrize("name", ["SENDER_IN_FLIGHT", "SENDER_GROUP_PER_MINUTE", "SENDER_RATE"])
def test_limits_must_be_positive(name):
    env = {"TELEGRAM_BOT_TOKEN": "1:abc", name: "0"}
    with pytest.raises(ConfigError, match=name):
        BotConfig.from_env(env)


def test_limits_come_from_the_environment():
    config = BotConfig.from_env(
        {"TELEGRAM_BOT_TOKEN": "1:abc", "SENDER_IN_FLIGHT": "3", "SENDER_GROUP_PER_MINUTE": "12"}
    )
    assert (config.in_flight, config.group_per_minute) == (3, 12)
    assert BotConfig.from_env({"TELEGRAM_BOT_TOKEN": "1:abc"}).in_flight == 8
