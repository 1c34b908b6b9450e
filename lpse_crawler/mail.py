"""Email notices: SMTP I/O over the outbox's state machine (outbox.py), for `outbox send-email`.

- rows are claimed one at a time and every SMTP step times out at a sixth of the claim
  lease (SENDER_CLAIM_LEASE), so a live sender's claim does not expire; a crash leaves
  the row 'sending' until the lease passes, then it is queued again (as Telegram claims are);
- 4xx replies and dropped connections: retried with exponential backoff, then dead;
- 5xx replies (recipient or message refused): dead with the reply, redacted;
- a refused sender address (MAIL FROM, a 5xx reply): the notice is given back untried and
  the run stops, since no notice can go until SMTP_FROM or the account is fixed;
- the address is decrypted only to send; logs and stored errors never hold it.
"""

import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from lpse_crawler import config, outbox
from lpse_crawler.outbox import Channel, Claim, Notification
from lpse_crawler.people.crypto import Keyring
from lpse_crawler.people.models import Subscriber
from lpse_crawler.people.personal_data import personal_data
from lpse_crawler.store.database import utcnow

log = logging.getLogger(__name__)
SUBJECT = "Pemberitahuan Pantau LPSE"
SECURITY = ("starttls", "tls", "none")
BACKOFF_BASE, BACKOFF_MAX = 60.0, 3600.0  # seconds; the drain runs from cron about every minute
LEASE_SHARE = 6  # an SMTP step may take this fraction of the claim lease: a send has about four


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # starttls | tls | none
    user: str
    password: str = field(repr=False)
    sender: str  # the From header

    @classmethod
    def from_config(cls) -> "SmtpSettings":
        """The SMTP_* settings, checked; a ConfigError names what to fix."""
        host, security, sender = (config.get(n) for n in ("SMTP_HOST", "SMTP_SECURITY", "SMTP_FROM"))
        if not host:
            raise config.ConfigError("SMTP_HOST is empty: set the SMTP server to send email notices")
        if security not in SECURITY:
            raise config.ConfigError(f"SMTP_SECURITY={security!r} is not one of {', '.join(SECURITY)}")
        if "@" not in parseaddr(sender)[1]:
            raise config.ConfigError(f"SMTP_FROM={sender!r} has no email address")
        port = config.get("SMTP_PORT")
        if not 0 < port < 65536:
            raise config.ConfigError(f"SMTP_PORT={port} is not a port number")
        if security == "none" and config.get("SMTP_USER") and host not in ("localhost", "127.0.0.1", "::1"):
            raise config.ConfigError(
                "SMTP_SECURITY=none would send SMTP_PASSWORD unencrypted to another host: use starttls or tls"
            )
        return cls(host, port, security, config.get("SMTP_USER"), config.get("SMTP_PASSWORD"), sender)


def connect(settings: SmtpSettings, claim_lease: float) -> smtplib.SMTP:
    """An SMTP session, encrypted as SMTP_SECURITY says and logged in when SMTP_USER is set;
    each step times out well within `claim_lease`."""
    timeout = claim_lease / LEASE_SHARE
    if settings.security == "tls":
        smtp = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
    try:
        if settings.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if settings.user:
            smtp.login(settings.user, settings.password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def compose(settings: SmtpSettings, notification_id: int, to: str, body: str) -> EmailMessage:
    """The notice as plain UTF-8 text; its Message-ID is the notification's, so a duplicate
    after a crash is recognisable."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = SUBJECT
    message["Date"] = format_datetime(utcnow())
    domain = parseaddr(settings.sender)[1].rpartition("@")[2]
    message["Message-ID"] = f"<notice-{notification_id}@{domain}>"
    message.set_content(body)
    return message


@dataclass
class Tally:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    sender_refused: str | None = None  # the server's reply to MAIL FROM: the run stopped

    @property
    def failed(self) -> int:
        return self.retried + self.dead


class EmailSender:
    """Drains the queued email notices through one SMTP session."""

    def __init__(self, smtp: smtplib.SMTP, settings: SmtpSettings, keyring: Keyring, max_attempts: int):
        self.smtp, self.settings, self.keyring, self.max_attempts = smtp, settings, keyring, max_attempts
        self.tally = Tally()

    def drain(self, progress: Callable[[Tally], None] = lambda tally: None) -> Tally:
        """Send every due email notice; stops early, the rest still queued, if the
        connection drops or the server refuses the sender address."""
        while claims := outbox.claim(1, channel=Channel.EMAIL):
            if not self.deliver(claims[0]):
                break
            progress(self.tally)
        return self.tally

    def deliver(self, claim: Claim) -> bool:
        """Send one claimed notice and mark it; False when the connection is lost or the
        sender refused."""
        notification = Notification.get_or_none(Notification.id == claim.notification_id)
        if notification is None:  # the subscriber was erased meanwhile
            return True
        address = personal_data(self.keyring, Subscriber.get_by_id(claim.subscriber_id))["email"]
        if not address:
            self._dead(claim, "the subscriber has no email address any more")
            return True
        try:
            self.smtp.send_message(compose(self.settings, claim.notification_id, address, notification.body))
        except smtplib.SMTPSenderRefused as exc:  # before SMTPResponseException, its base
            if exc.smtp_code >= 500:
                return self._sender_refused(claim, exc.smtp_code, exc.smtp_error)
            return self._refused(claim, exc.smtp_code, exc.smtp_error)  # 4xx: try again later
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            return self._refused(claim, code, reply)
        except smtplib.SMTPResponseException as exc:
            return self._refused(claim, exc.smtp_code, exc.smtp_error)
        except (smtplib.SMTPException, OSError) as exc:
            self._retry_or_dead(claim, f"{type(exc).__name__}: {exc}")
            return False
        else:
            outbox.mark_sent(claim.notification_id)
            self.tally.sent += 1
        return True

    def _sender_refused(self, claim: Claim, code: int, reply: bytes | str) -> bool:
        """Our From address refused: no fault of this notice, which goes back untried."""
        text = reply.decode(errors="replace") if isinstance(reply, bytes) else reply
        outbox.release([claim.notification_id])
        self.tally.sender_refused = outbox.redact_error(f"{code} {text}")
        log.error("The SMTP server refused the sender address: %s", self.tally.sender_refused)
        return False

    def _refused(self, claim: Claim, code: int, reply: bytes | str) -> bool:
        """Dead on 5xx, retried otherwise; False when the server closed the session (421)."""
        text = reply.decode(errors="replace") if isinstance(reply, bytes) else reply
        if 500 <= code < 600:
            self._dead(claim, f"{code} {text}")
        else:
            self._retry_or_dead(claim, f"{code} {text}")
        return code != 421

    def _retry_or_dead(self, claim: Claim, error: str) -> None:
        error = outbox.redact_error(error)
        if claim.attempts >= self.max_attempts:
            self._dead(claim, error)
            return
        delay = min(BACKOFF_BASE * 2 ** (claim.attempts - 1), BACKOFF_MAX)
        outbox.retry_later(claim.notification_id, error, delay)
        self.tally.retried += 1
        log.warning(
            "Email notice %d to subscriber %d failed (%s); retry in %.0f s",
            claim.notification_id,
            claim.subscriber_id,
            error,
            delay,
        )

    def _dead(self, claim: Claim, error: str) -> None:
        error = outbox.redact_error(error)
        outbox.mark_dead(claim.notification_id, error)
        self.tally.dead += 1
        log.warning(
            "Email notice %d to subscriber %d is dead: %s", claim.notification_id, claim.subscriber_id, error
        )
