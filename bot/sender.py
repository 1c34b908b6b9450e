"""The outbox sender: Telegram I/O and pacing over the outbox's state machine (outbox.py).

- about `rate_per_second` messages overall and one per `per_chat_interval` to a chat;
- HTTP 429: wait `retry_after` (kept in bot_state, so a restart waits too);
- HTTP 403 (bot blocked): the subscriber is marked blocked and skipped from then on;
- network errors and 5xx: retried with exponential backoff, then marked dead with the error;
- a crash leaves rows 'sending': after `claim_lease` they are queued again and counted as
  possible duplicates (usage metric notifications_reclaimed).
"""

import logging
import time
from datetime import datetime, timedelta

import requests
from telebot import TeleBot, types
from telebot.apihelper import ApiTelegramException

from bot.config import BotConfig, redact
from bot.render import render_notification
from lpse_crawler import outbox
from lpse_crawler.outbox import Claim, Notification
from lpse_crawler.people.models import BotState, Filter
from lpse_crawler.store.database import upsert, utcnow, write_transaction

log = logging.getLogger(__name__)
PAUSE_KEY = "sender.paused_until"
BACKOFF_BASE, BACKOFF_MAX = 5.0, 3600.0  # seconds
PERMANENT = {400}  # bad request (chat not found, unparsable text): retrying cannot help


class Sender:
    def __init__(self, bot: TeleBot, config: BotConfig, clock=time.monotonic, sleep=time.sleep):
        self.bot, self.config, self.clock, self.sleep = bot, config, clock, sleep
        self.last_sent: dict[int, float] = {}
        self.next_slot = 0.0

    # -- state ------------------------------------------------------------------------------

    def paused_for(self) -> float:
        """Seconds left of a 429 pause (0 when none), as stored in bot_state."""
        row = BotState.get_or_none(BotState.key == PAUSE_KEY)
        if row is None:
            return 0.0
        return max(0.0, (datetime.fromisoformat(row.value) - utcnow()).total_seconds())

    def pause(self, seconds: float) -> None:
        until = (utcnow() + timedelta(seconds=seconds)).isoformat()
        with write_transaction():
            upsert(BotState, [BotState.key], {"key": PAUSE_KEY, "value": until, "updated_at": utcnow()})
        log.warning("Telegram asked to wait %.0f s (429); pausing the sender", seconds)

    def reclaim_stale(self) -> int:
        """Queue again the rows a dead sender had claimed but not marked."""
        count = outbox.reclaim_stale(self.config.claim_lease)
        if count:
            log.warning("Took back %d claimed notifications (a sender stopped mid-send)", count)
        return count

    # -- claim and send ------------------------------------------------------------------------

    def claim(self, limit: int) -> list[Claim]:
        """Claim up to `limit` due notifications, at most one per chat, none to a chat just served."""
        clock = self.clock()
        interval = self.config.per_chat_interval
        return outbox.claim(limit, lambda chat: clock - self.last_sent.get(chat, -1e9) < interval)

    def drain_once(self) -> int:
        """Send one batch; returns how many notifications were handled."""
        if self.paused_for() > 0:
            return 0
        claims = self.claim(self.batch_size)
        for position, claim in enumerate(claims):
            if not self.deliver(claim):
                self.release([c.notification_id for c in claims[position + 1 :]])
                return position + 1
        return len(claims)

    @property
    def batch_size(self) -> int:
        """About a second of sending, and never more than a quarter of the claim lease, so
        that a live sender never sees its own claims expire."""
        rate = self.config.rate_per_second
        return max(1, int(min(rate, rate * self.config.claim_lease / 4)))

    def release(self, ids: list[int]) -> None:
        outbox.release(ids)

    def deliver(self, claim: Claim) -> bool:
        """Send one claimed notification and mark it; False when the batch must stop (429)."""
        notification = Notification.get_or_none(Notification.id == claim.notification_id)
        if notification is None:  # the subscriber was erased meanwhile
            return True
        names = [
            f.name for f in Filter.select(Filter.name).where(Filter.id.in_(notification.filter_ids or []))
        ]
        text = render_notification(notification, names)
        keyboard = None
        if notification.buttons:
            keyboard = types.InlineKeyboardMarkup()
            for label, data in notification.buttons:
                keyboard.add(types.InlineKeyboardButton(label, callback_data=data))
        self._wait_turn(claim.chat_id)
        try:
            message = self.bot.send_message(
                claim.chat_id,
                text,
                parse_mode="HTML",
                disable_web_page_preview=True,
                reply_markup=keyboard,
                timeout=15,
            )
        except ApiTelegramException as exc:
            return self._api_error(claim, exc)
        except requests.RequestException as exc:
            self._retry_or_dead(claim, f"{type(exc).__name__}: {exc}")
            return True
        self.last_sent[claim.chat_id] = self.clock()
        outbox.mark_sent(claim.notification_id, message.message_id)
        return True

    def _wait_turn(self, chat_id: int) -> None:
        now = self.clock()
        wait = max(
            self.next_slot - now, self.last_sent.get(chat_id, -1e9) + self.config.per_chat_interval - now
        )
        if wait > 0:
            self.sleep(wait)
            now = self.clock()
        self.next_slot = max(now, self.next_slot) + 1 / self.config.rate_per_second

    def _api_error(self, claim: Claim, exc: ApiTelegramException) -> bool:
        if exc.error_code == 429:
            retry_after = (exc.result_json.get("parameters") or {}).get("retry_after", 5)
            self.pause(float(retry_after))
            self.release([claim.notification_id])
            return False
        if exc.error_code == 403:
            self._dead(claim, f"403: {exc.description}", blocked=True)
            log.info("Subscriber %d blocked the bot; no more sends to them", claim.subscriber_id)
            return True
        if exc.error_code in PERMANENT:
            self._dead(claim, f"{exc.error_code}: {exc.description}")
            return True
        self._retry_or_dead(claim, f"{exc.error_code}: {exc.description}")
        return True

    def _retry_or_dead(self, claim: Claim, error: str) -> None:
        error = redact(error, self.config.token)[:500]
        if claim.attempts >= self.config.max_attempts:
            self._dead(claim, error)
            return
        delay = min(BACKOFF_BASE * 2 ** (claim.attempts - 1), BACKOFF_MAX)
        outbox.retry_later(claim.notification_id, error, delay)
        log.warning(
            "Notification %d to subscriber %d failed (%s); retry in %.0f s",
            claim.notification_id,
            claim.subscriber_id,
            error,
            delay,
        )

    def _dead(self, claim: Claim, error: str, blocked: bool = False) -> None:
        outbox.mark_dead(claim.notification_id, error, claim.subscriber_id if blocked else None)
        log.warning(
            "Notification %d to subscriber %d is dead: %s", claim.notification_id, claim.subscriber_id, error
        )

    def run(self, stop, idle_wait: float = 0.5) -> None:
        """Drain until `stop` (a threading.Event) is set; one failure never stops the loop."""
        last_reclaim = 0.0
        while not stop.is_set():
            try:
                if self.clock() - last_reclaim > min(self.config.claim_lease, 30):
                    self.reclaim_stale()
                    last_reclaim = self.clock()
                paused = self.paused_for()
                if paused > 0:
                    stop.wait(min(paused, 5))
                elif not self.drain_once():
                    stop.wait(idle_wait)
            except Exception:
                log.exception("Sender loop error; continuing")
                stop.wait(1)
