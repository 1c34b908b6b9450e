"""The outbox sender: Telegram I/O and pacing over the outbox's state machine (outbox.py).

- several sends in flight at once (`in_flight` threads doing only the HTTP), so Telegram's
  round trip does not cap the rate; one loop keeps the pace, claims, renders and marks, so
  the database is used from one thread only; the next batch is claimed while the last
  sends of one are still in flight;
- at most `rate_per_second` sends in any 1.05 s, through one token bucket that catches up
  after slow answers; one message per `per_chat_interval` to a chat and `group_per_minute`
  a minute to a group (bot/pacing.py), counted from another sender's sends too (the outbox
  stamps each chat's last message; with several senders, split `rate_per_second`);
- each claim takes the oldest due notification of every chat that may get one now (or
  within READY_WITHIN), so one chat's backlog never holds back the others;
- HTTP 429: wait `retry_after` (kept in bot_state, so a restart waits too); claims not yet
  sent are given back untried, sends in flight marked by their answers;
- HTTP 403 (bot blocked): the subscriber is marked blocked and skipped from then on;
- network errors and 5xx (Telegram's JSON, or a gateway's page): retried with exponential
  backoff, then marked dead with the error (a read timeout always counts: the message may
  have arrived); but a second such failure with no send answered in between means Telegram
  (or our network) is down, not the message: its claim and the rest are given back untried
  and the sender pauses (OUTAGE_PAUSE, doubling up to OUTAGE_PAUSE_MAX, until a send gets
  through), so an outage kills no alert;
- a crash leaves rows 'sending': after `claim_lease` they are queued again and counted as
  possible duplicates (usage metric notifications_reclaimed).
"""

import logging
import time
from concurrent import futures
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from peewee import JOIN, InterfaceError
from telebot import TeleBot, types
from telebot.apihelper import ApiHTTPException, ApiTelegramException

from bot.config import BotConfig, redact
from bot.following import alert_keyboard, held_keyboard
from bot.pacing import ChatPace, Pace
from bot.render import HELD_ITEMS, render_held, render_notification
from lpse_crawler import outbox
from lpse_crawler.outbox import Claim, Notification
from lpse_crawler.people.models import BotState, Filter, Subscriber
from lpse_crawler.store.database import STORAGE_ERRORS, upsert, utcnow, write_transaction
from lpse_crawler.store.models import Tender

log = logging.getLogger(__name__)
PAUSE_KEY = "sender.paused_until"
BACKOFF_BASE, BACKOFF_MAX = 5.0, 3600.0  # seconds
OUTAGE_PAUSE, OUTAGE_PAUSE_MAX = 5.0, 300.0  # seconds: the sender's pause in an outage, doubling
PERMANENT = {400}  # bad request (chat not found, unparsable text): retrying cannot help
# A chat whose wait ends this soon is claimed already, its claim waiting while others go:
# claims come about once a second, and a chat with a backlog then gets one a second, not
# one every other claim.
READY_WITHIN = 1.0


@dataclass(frozen=True)
class Outgoing:
    """A claimed notification rendered, ready to go."""

    claim: Claim
    text: str
    keyboard: types.InlineKeyboardMarkup | None


@dataclass(frozen=True)
class Answer:
    """What came back for one send, and when: Telegram's message, or the exception."""

    message: types.Message | None
    error: Exception | None
    at: float


class Sender:
    """Drains the outbox to Telegram (see the module docstring).

    `clock` and `sleep` may be replaced (tests): a send then takes no time on that clock, so
    the sender lets every send in flight come back before it sleeps.
    """

    def __init__(self, bot: TeleBot, config: BotConfig, clock=time.monotonic, sleep=time.sleep):
        self.bot, self.config, self.clock, self.sleep = bot, config, clock, sleep
        self.pace = Pace(config.rate_per_second, burst=config.in_flight)
        self.chats = ChatPace(config.per_chat_interval, config.group_per_minute)
        self.pool = futures.ThreadPoolExecutor(config.in_flight, thread_name_prefix="sender-http")
        self.flying: dict[futures.Future, Claim] = {}  # sends in flight, marked as they come back
        self.left_over: list[tuple[Claim, Answer | None]] = []  # unmarked (None: unsent) after an error
        self.carried: dict[int, list[int]] = {}  # a held alert's id -> the others its message carries
        self.virtual_time = sleep is not time.sleep
        self.failed_in_a_row = 0  # network errors and 5xx since a send was last answered
        self.stamped: dict[int, datetime] = {}  # chat -> when this sender's last send to it was marked
        self.outage_pauses = 0  # pauses for an outage since a send was last answered

    # -- state ------------------------------------------------------------------------------

    def paused_for(self) -> float:
        """Seconds left of a 429 pause (0 when none), as stored in bot_state."""
        row = BotState.get_or_none(BotState.key == PAUSE_KEY)
        if row is None:
            return 0.0
        return max(0.0, (datetime.fromisoformat(row.value) - utcnow()).total_seconds())

    def pause(self, seconds: float, why: str = "Telegram asked to wait (429)") -> None:
        until = (utcnow() + timedelta(seconds=seconds)).isoformat()
        with write_transaction():
            upsert(BotState, [BotState.key], {"key": PAUSE_KEY, "value": until, "updated_at": utcnow()})
        log.warning("%s; pausing the sender %.0f s", why, seconds)

    def reclaim_stale(self) -> int:
        """Queue again the rows a dead sender had claimed but not marked."""
        count = outbox.reclaim_stale(self.config.claim_lease)
        if count:
            log.warning("Took back %d claimed notifications (a sender stopped mid-send)", count)
        return count

    # -- claim and send ------------------------------------------------------------------------

    def claim(self, limit: int) -> list[Claim]:
        """Claim up to `limit` due notifications, the oldest of each chat that may get one
        within READY_WITHIN seconds (its claim waits while others go)."""
        self._tidy()
        claims = outbox.claim(limit, self.chats.busy(self.clock(), READY_WITHIN))
        self._spaced_from_others(claims)
        return claims

    def _spaced_from_others(self, claims: list[Claim]) -> None:
        """A chat another sender (a second bot process) sent to lately waits its interval
        from that send too: its moment, as the outbox stamped it, on this sender's clock."""
        now, clock = utcnow(), self.clock()
        self.stamped = {chat: at for chat, at in self.stamped.items() if chat in self.chats.last}
        for claim in claims:
            sent_at = claim.last_sent_at
            if sent_at is not None and sent_at != self.stamped.get(claim.chat_id):  # not ours
                self.chats.answered(claim.chat_id, clock - max(0.0, (now - sent_at).total_seconds()))

    def drain_once(self) -> int:
        """Claim one batch and send it; returns how many notifications were handled."""
        if self.paused_for() > 0:
            return 0
        return self.send(self.claim(self.batch_size))

    @property
    def batch_size(self) -> int:
        """About a second of sending, and never more than a quarter of the claim lease, so
        that a live sender never sees its own claims expire."""
        rate = self.config.rate_per_second
        return max(1, int(min(rate, rate * self.config.claim_lease / 4)))

    def release(self, ids: list[int]) -> None:
        outbox.release(ids)

    def send(self, claims: list[Claim], finish: bool = True) -> int:
        """Send `claims`, oldest first among those whose chat may get one now, up to
        `in_flight` at once, each when the pace allows, marking each (and any still in flight
        from before) as its answer comes; after a 429 the rest are given back untried.
        `finish=False` returns once the last is sent, its answer marked by the next call.
        Returns how many were handled (sent, failed, or found erased)."""
        waiting, handled = list(claims), 0
        try:
            while waiting or (finish and self.flying):
                if not self._collect():  # a 429 or an outage: give the rest back
                    self.release([c.notification_id for c in waiting])
                    waiting = []
                wait = None  # until a send comes back
                if waiting and len(self.flying) < self.config.in_flight:
                    now = self.clock()
                    wait, ready = min((self.chats.wait(c.chat_id, now), n) for n, c in enumerate(waiting))
                    wait = max(wait, self.pace.wait(now))
                    if not wait:
                        handled += 1
                        outgoing = self._compose(waiting[ready])  # None: nothing to send
                        del waiting[ready]
                        if outgoing:
                            self.pace.took(self.clock())
                            self.flying[self.pool.submit(self._post, outgoing)] = outgoing.claim
                        continue
                self._wait(wait)
        except BaseException:
            self._abandon(waiting)
            raise
        return handled

    def finish(self) -> None:
        """Let every send in flight come back, and mark it."""
        self.send([])

    def _collect(self) -> bool:
        """Mark the sends that came back; False when one met a 429 or an outage."""
        go_on = True
        for future in [f for f in self.flying if f.done()]:
            claim = self.flying.pop(future)
            try:
                go_on = self._settle(claim, future.result()) and go_on
            except BaseException:
                self.left_over.append((claim, future.result()))
                raise
        return go_on

    def _wait(self, seconds: float | None) -> None:
        """Let `seconds` pass (None: until a send comes back), less when a send comes back."""
        if self.virtual_time:  # a send takes none of this clock's time: all come back first
            futures.wait(self.flying)
            if seconds:
                self.sleep(seconds)
        elif self.flying:
            futures.wait(self.flying, timeout=seconds, return_when=futures.FIRST_COMPLETED)
        elif seconds:
            self.sleep(seconds)

    def _abandon(self, unsent: list[Claim]) -> None:
        """After an error in the loop (the caller logs it): give back what was not sent and
        mark what was, now or, when the database is down, before the next claim."""
        self.left_over += [(claim, None) for claim in unsent]
        for future in futures.as_completed(list(self.flying)):
            self.left_over.append((self.flying.pop(future), future.result()))
        try:
            self._tidy()
        except Exception as exc:  # one line: the caller logs the traceback
            log.error("%d claims to give back or mark later: %s", len(self.left_over), exc)

    def _tidy(self) -> None:
        """Give back the claims and mark the sends an error in the loop left behind."""
        if unsent := [claim.notification_id for claim, answer in self.left_over if answer is None]:
            self.release(unsent)
            self.left_over = [(claim, answer) for claim, answer in self.left_over if answer is not None]
        while self.left_over:
            self._settle(*self.left_over[0])
            self.left_over.pop(0)

    def _compose(self, claim: Claim) -> Outgoing | None:
        """The message for a claim; None when there is nothing to send (erased meanwhile, or
        it cannot be rendered: that is recorded on its row like a failed send)."""
        try:
            notification = (  # its tender in the same query
                Notification.select(Notification, Tender)
                .join(Tender, JOIN.LEFT_OUTER)
                .where(Notification.id == claim.notification_id)
                .get_or_none()
            )
            if notification is None:  # the subscriber was erased meanwhile
                return None
            if notification.held and notification.tender_id:
                return self._compose_held(claim, notification)
            names = []
            if filter_ids := notification.filter_ids:
                names = [f.name for f in Filter.select(Filter.name).where(Filter.id.in_(filter_ids))]
            keyboard = alert_keyboard(notification.tender_id) if notification.tender_id else None
            if notification.buttons:
                keyboard = types.InlineKeyboardMarkup()
                for label, data in notification.buttons:
                    keyboard.add(types.InlineKeyboardButton(label, callback_data=data))
            return Outgoing(claim, render_notification(notification, names), keyboard)
        except (*STORAGE_ERRORS, InterfaceError):
            raise  # the database, not this notification: the loop logs it and tries again
        except Exception as exc:
            log.exception("Cannot render notification %d", claim.notification_id)
            self._retry_or_dead(claim, f"{type(exc).__name__}: {exc}")
            return None

    def _compose_held(self, claim: Claim, notification: Notification) -> Outgoing:
        """Held alerts falling due together (a digest, or the end of quiet hours) as one
        message of up to HELD_ITEMS packages, each with its "Ikuti" button; more go in the
        next message to the chat."""
        others, more = outbox.held_with(notification, HELD_ITEMS - 1)
        subscriber = Subscriber.get_by_id(claim.subscriber_id)
        tenders = [notification.tender, *(o.tender for o in others)]
        text = render_held(notification.held, tenders, more, subscriber)
        self.carried[claim.notification_id] = [o.id for o in others]
        return Outgoing(claim, text, held_keyboard(tenders))

    def _post(self, outgoing: Outgoing) -> Answer:
        """The HTTP request, in a worker thread; no database here."""
        try:
            message = self.bot.send_message(
                outgoing.claim.chat_id,
                outgoing.text,
                parse_mode="HTML",
                disable_web_page_preview=True,
                reply_markup=outgoing.keyboard,
                timeout=15,
            )
        except Exception as exc:  # judged by the loop, which owns the database
            return Answer(None, exc, self.clock())
        return Answer(message, None, self.clock())

    def _settle(self, claim: Claim, answer: Answer) -> bool:
        """Mark a claim by its answer; False when sending must stop (429, an outage)."""
        error = answer.error
        carried = self.carried.get(claim.notification_id)  # kept until marked: a mark may fail
        if error is None:
            self.chats.answered(claim.chat_id, answer.at)
            stamp = outbox.mark_sent(
                claim.notification_id, answer.message.message_id, carried or (), claim.subscriber_id
            )
            self.stamped[claim.chat_id] = stamp
            self.carried.pop(claim.notification_id, None)
            self.failed_in_a_row = self.outage_pauses = 0
            return True
        self.carried.pop(claim.notification_id, None)  # not sent: what it carried stays queued
        if isinstance(error, ApiTelegramException):
            return self._api_error(claim, error)
        if isinstance(error, ApiHTTPException) and error.result.status_code >= 500:  # a gateway's page
            return self._unreachable(claim, f"HTTP {error.result.status_code} {error.result.reason}")
        if isinstance(error, requests.ReadTimeout):  # it may have arrived: counted, not sent again freely
            self._retry_or_dead(claim, f"{type(error).__name__}: {error}")
            return True
        if not isinstance(error, requests.RequestException):
            log.error("Sending notification %d failed unexpectedly", claim.notification_id, exc_info=error)
            self._retry_or_dead(claim, f"{type(error).__name__}: {error}")
            return True
        return self._unreachable(claim, f"{type(error).__name__}: {error}")

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
        if exc.error_code >= 500:
            return self._unreachable(claim, f"{exc.error_code}: {exc.description}")
        self._retry_or_dead(claim, f"{exc.error_code}: {exc.description}")
        return True

    def _unreachable(self, claim: Claim, error: str) -> bool:
        """A network error or a 5xx: the first since a send was answered counts against the
        notification; a second means an outage (see the module docstring): the claim is
        given back untried, the sender pauses, and False stops this batch."""
        self.failed_in_a_row += 1
        if self.failed_in_a_row == 1:
            self._retry_or_dead(claim, error)
            return True
        if self.paused_for() <= 0:  # paused first: a failure here leaves the claim to mark later
            seconds = min(OUTAGE_PAUSE * 2**self.outage_pauses, OUTAGE_PAUSE_MAX)
            self.outage_pauses += 1
            reason = redact(error, self.config.token)[:200]
            self.pause(
                seconds, f"Telegram unreachable, {self.failed_in_a_row} sends in a row failed ({reason})"
            )
        self.release([claim.notification_id])
        return False

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
        """Drain until `stop` (a threading.Event) is set; one failure never stops the loop.
        The next batch is claimed while the last sends of one are still in flight."""
        last_reclaim = 0.0
        while not stop.is_set():
            try:
                if self.clock() - last_reclaim > min(self.config.claim_lease, 30):
                    self.reclaim_stale()
                    last_reclaim = self.clock()
                paused = self.paused_for()
                if paused > 0:
                    self.finish()
                    stop.wait(min(paused, 5))
                elif not self.send(self.claim(self.batch_size), finish=False):
                    self.finish()
                    stop.wait(idle_wait)
            except Exception:
                log.exception("Sender loop error; continuing")
                stop.wait(1)
        try:
            self.finish()
        finally:
            self.pool.shutdown()
