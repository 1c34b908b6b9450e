"""The outbox sender: claim before sending, mark right after, within Telegram's limits.

- about `rate_per_second` messages overall and one per `per_chat_interval` to a chat;
- HTTP 429: wait `retry_after` (kept in bot_state, so a restart waits too);
- HTTP 403 (bot blocked): the subscriber is marked blocked and skipped from then on;
- network errors and 5xx: retried with exponential backoff, then marked dead with the error;
- a crash leaves rows 'sending': after `claim_lease` they are queued again and counted as
  possible duplicates (usage metric notifications_reclaimed).
"""

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from telebot import TeleBot
from telebot.apihelper import ApiTelegramException

from bot.config import BotConfig, redact
from bot.render import render_notification
from lpse_crawler import usage
from lpse_crawler.accounts import BotState, Filter, Notification, Subscriber
from lpse_crawler.db import utcnow, write_transaction

log = logging.getLogger(__name__)
PAUSE_KEY = "sender.paused_until"
BACKOFF_BASE, BACKOFF_MAX = 5.0, 3600.0  # seconds
PERMANENT = {400}  # bad request (chat not found, unparsable text): retrying cannot help


@dataclass(frozen=True)
class Claim:
    notification_id: int
    subscriber_id: int
    chat_id: int
    attempts: int


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
            BotState.replace(key=PAUSE_KEY, value=until, updated_at=utcnow()).execute()
        log.warning("Telegram asked to wait %.0f s (429); pausing the sender", seconds)

    def reclaim_stale(self) -> int:
        """Queue again the rows a dead sender had claimed but not marked."""
        cutoff = utcnow() - timedelta(seconds=self.config.claim_lease)
        with write_transaction():
            count = (
                Notification.update(status="queued", claimed_at=None, updated_at=utcnow())
                .where(Notification.status == "sending", Notification.claimed_at < cutoff)
                .execute()
            )
            usage.count("notifications_reclaimed", count)
        if count:
            log.warning("Took back %d claimed notifications (a sender stopped mid-send)", count)
        return count

    # -- claim and send ------------------------------------------------------------------------

    def claim(self, limit: int) -> list[Claim]:
        """Claim up to `limit` due notifications, at most one per chat, none to a chat just served."""
        now, clock = utcnow(), self.clock()
        with write_transaction():
            rows = (
                Notification.select(Notification.id, Notification.attempts, Subscriber.id, Subscriber.chat_id)
                .join(Subscriber)
                .where(Notification.status == "queued", Notification.next_attempt_at <= now,
                       Subscriber.status == "active")
                .order_by(Notification.id)
                .limit(limit * 4)
            )  # fmt: skip
            chosen, chats = [], set()
            for row in rows:
                chat = row.subscriber.chat_id
                if chat in chats or clock - self.last_sent.get(chat, -1e9) < self.config.per_chat_interval:
                    continue
                chats.add(chat)
                chosen.append(Claim(row.id, row.subscriber.id, chat, row.attempts + 1))
                if len(chosen) == limit:
                    break
            if chosen:
                Notification.update(
                    status="sending", claimed_at=now, attempts=Notification.attempts + 1
                ).where(Notification.id.in_([c.notification_id for c in chosen])).execute()
        return chosen

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
        if ids:
            with write_transaction():
                Notification.update(
                    status="queued", claimed_at=None, attempts=Notification.attempts - 1
                ).where(Notification.id.in_(ids)).execute()

    def deliver(self, claim: Claim) -> bool:
        """Send one claimed notification and mark it; False when the batch must stop (429)."""
        notification = Notification.get_or_none(Notification.id == claim.notification_id)
        if notification is None:  # the subscriber was erased meanwhile
            return True
        names = [
            f.name for f in Filter.select(Filter.name).where(Filter.id.in_(notification.filter_ids or []))
        ]
        text = render_notification(notification, names)
        self._wait_turn(claim.chat_id)
        try:
            message = self.bot.send_message(claim.chat_id, text, parse_mode="HTML",
                                            disable_web_page_preview=True, timeout=15)  # fmt: skip
        except ApiTelegramException as exc:
            return self._api_error(claim, exc)
        except requests.RequestException as exc:
            self._retry_or_dead(claim, f"{type(exc).__name__}: {exc}")
            return True
        self.last_sent[claim.chat_id] = self.clock()
        with write_transaction():
            Notification.update(status="sent", sent_at=utcnow(), telegram_message_id=message.message_id,
                                last_error=None, updated_at=utcnow()).where(
                Notification.id == claim.notification_id).execute()  # fmt: skip
            usage.count("notifications_sent")
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
            with write_transaction():
                Subscriber.update(status="blocked", updated_at=utcnow()).where(
                    Subscriber.id == claim.subscriber_id).execute()  # fmt: skip
                self._mark_dead(claim, f"403: {exc.description}")
            log.info("Subscriber %d blocked the bot; no more sends to them", claim.subscriber_id)
            return True
        if exc.error_code in PERMANENT:
            with write_transaction():
                self._mark_dead(claim, f"{exc.error_code}: {exc.description}")
            return True
        self._retry_or_dead(claim, f"{exc.error_code}: {exc.description}")
        return True

    def _retry_or_dead(self, claim: Claim, error: str) -> None:
        error = redact(error, self.config.token)[:500]
        with write_transaction():
            if claim.attempts >= self.config.max_attempts:
                self._mark_dead(claim, error)
                return
            delay = min(BACKOFF_BASE * 2 ** (claim.attempts - 1), BACKOFF_MAX)
            Notification.update(status="queued", claimed_at=None, last_error=error, updated_at=utcnow(),
                                next_attempt_at=utcnow() + timedelta(seconds=delay)).where(
                Notification.id == claim.notification_id).execute()  # fmt: skip
        log.warning("Notification %d to subscriber %d failed (%s); retry in %.0f s",
                    claim.notification_id, claim.subscriber_id, error, delay)  # fmt: skip

    def _mark_dead(self, claim: Claim, error: str) -> None:
        Notification.update(status="dead", claimed_at=None, last_error=error, updated_at=utcnow()).where(
            Notification.id == claim.notification_id).execute()  # fmt: skip
        usage.count("notifications_dead")
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
