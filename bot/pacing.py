"""When the sender may send: Telegram's limits as two small clocks (pure; times in seconds).

Telegram allows a bot about 30 messages a second overall, one a second to one chat and
about 20 a minute to one group. `Pace` keeps the overall rate, `ChatPace` each chat's.
"""

import math
from collections import deque

# The overall cap counts sends in any WINDOW seconds, 50 ms more than Telegram's second: an
# answer that took a little longer than the one before must not show Telegram two sends of
# ours in one second that we made a second apart. Costs 5% of the rate (30 -> 28.6 msg/s).
WINDOW = 1.05


class Pace:
    """The overall rate: one token bucket, tokens coming at `rate` per WINDOW and at most
    `burst` held, so sends go evenly spaced and, after slow answers kept them back, catch up
    with up to `burst` sends at twice the pace (never closer than half the spacing: a burst
    all at once would come back as one a window later); whatever the bucket holds, never
    more than `rate` sends in any WINDOW (the last `rate` sends are remembered)."""

    def __init__(self, rate: float, burst: int = 1, window: float = WINDOW):
        self.spacing = window / rate
        self.tolerance = (max(1, burst) - 1) * self.spacing
        self.window = window
        self.recent: deque[float] = deque(maxlen=max(1, int(rate)))
        self.due = -math.inf  # when the next send is due, were sends evenly spaced

    def wait(self, now: float) -> float:
        """Seconds until the next send may go (0 when it may go now)."""
        earliest = self.due - self.tolerance
        if self.recent:
            earliest = max(earliest, self.recent[-1] + self.spacing / 2)
        if len(self.recent) == self.recent.maxlen:
            earliest = max(earliest, self.recent[0] + self.window)
        return max(0.0, earliest - now)

    def took(self, now: float) -> None:
        """A send went at `now`."""
        self.due = max(self.due, now) + self.spacing
        self.recent.append(now)


class ChatPace:
    """Each chat's rate: `interval` seconds from one message's answer to the next send to
    that chat, and for a group (a negative chat id: groups, supergroups and channels) at
    least 60 / `group_per_minute` seconds, so a group never gets more than that many in any
    minute. Counting from the answer, not the request, keeps the gap Telegram sees at least
    `interval` however long the round trip."""

    def __init__(self, interval: float, group_per_minute: float):
        self.interval = interval
        self.group_interval = max(interval, 60 / group_per_minute)
        self.last: dict[int, float] = {}  # chat -> when its last message was answered

    def gap(self, chat_id: int) -> float:
        return self.group_interval if chat_id < 0 else self.interval

    def answered(self, chat_id: int, at: float) -> None:
        """The chat's message was answered at `at` (by this sender, or by another as the
        outbox says); an earlier moment than the one known changes nothing."""
        self.last[chat_id] = max(at, self.last.get(chat_id, at))

    def wait(self, chat_id: int, now: float) -> float:
        """Seconds until `chat_id` may get its next message (0 when it may now)."""
        return max(0.0, self.last.get(chat_id, -math.inf) + self.gap(chat_id) - now)

    def busy(self, now: float, within: float = 0.0) -> set[int]:
        """The chats that may not get a message `within` seconds from `now`; forgets those
        that may now."""
        self.last = {chat: at for chat, at in self.last.items() if at + self.gap(chat) > now}
        return {chat for chat, at in self.last.items() if at + self.gap(chat) > now + within}
