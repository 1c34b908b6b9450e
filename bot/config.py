"""Bot configuration from the environment; the token never leaves this process unredacted."""

import logging
import traceback
from dataclasses import dataclass

from lpse_crawler import config


class ConfigError(RuntimeError):
    """The bot cannot start: the message says which variable to set."""


@dataclass(frozen=True)
class BotConfig:
    token: str
    api_url: str
    admin_ids: frozenset[int]
    rate_per_second: float  # all chats together, in any 1.05 s (Telegram allows about 30 a second)
    per_chat_interval: float  # seconds between two messages to one chat
    max_attempts: int  # network errors before a notification is marked dead
    claim_lease: float  # seconds after which a claimed, unmarked notification is taken back
    payment_info: str
    in_flight: int  # sends in flight at once, so Telegram's round trip does not cap the rate
    group_per_minute: float  # messages a minute to one group chat (a negative chat id)

    @classmethod
    def from_env(cls, env: dict | None = None) -> "BotConfig":
        token = config.get("TELEGRAM_BOT_TOKEN", env)
        if not token or ":" not in token:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is missing or malformed: set it to the token from @BotFather"
            )
        try:
            admins = frozenset(
                int(x) for x in config.get("BOT_ADMIN_IDS", env).replace(" ", "").split(",") if x
            )
        except ValueError as exc:
            raise ConfigError("BOT_ADMIN_IDS must be comma-separated Telegram chat ids") from exc
        try:
            built = cls(
                token=token,
                api_url=config.get("TELEGRAM_API_URL", env).rstrip("/"),
                admin_ids=admins,
                rate_per_second=config.get("SENDER_RATE", env),
                per_chat_interval=config.get("SENDER_PER_CHAT_INTERVAL", env),
                max_attempts=config.get("SENDER_MAX_ATTEMPTS", env),
                claim_lease=config.get("SENDER_CLAIM_LEASE", env),
                payment_info=config.get("PAYMENT_INFO", env),
                in_flight=config.get("SENDER_IN_FLIGHT", env),
                group_per_minute=config.get("SENDER_GROUP_PER_MINUTE", env),
            )
        except config.ConfigError as exc:
            raise ConfigError(str(exc)) from exc
        for name, value in (
            ("SENDER_RATE", built.rate_per_second),
            ("SENDER_IN_FLIGHT", built.in_flight),
            ("SENDER_GROUP_PER_MINUTE", built.group_per_minute),
        ):
            if value <= 0:
                raise ConfigError(f"{name}={value} must be more than 0")
        return built


class TokenRedactor(logging.Filter):
    """Replaces the bot token in every log record (it is part of every API URL)."""

    def __init__(self, token: str):
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:  # a traceback can quote a request URL: redact it too
            message += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
            record.exc_info, record.exc_text = None, None
        record.msg, record.args = redact(message, self.token), None
        return True


def redact(text: str, token: str) -> str:
    return text.replace(token, "<TOKEN>") if token else text


def install_redaction(token: str) -> None:
    """Redact the token from everything logged, by any library, through the root handlers."""
    redactor = TokenRedactor(token)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
    logging.getLogger("TeleBot").addFilter(redactor)
