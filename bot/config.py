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
    rate_per_second: float  # all chats together (Telegram allows about 30)
    per_chat_interval: float  # seconds between two messages to one chat
    max_attempts: int  # network errors before a notification is marked dead
    claim_lease: float  # seconds after which a claimed, unmarked notification is taken back
    payment_info: str

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
            return cls(
                token=token,
                api_url=config.get("TELEGRAM_API_URL", env).rstrip("/"),
                admin_ids=admins,
                rate_per_second=config.get("SENDER_RATE", env),
                per_chat_interval=config.get("SENDER_PER_CHAT_INTERVAL", env),
                max_attempts=config.get("SENDER_MAX_ATTEMPTS", env),
                claim_lease=config.get("SENDER_CLAIM_LEASE", env),
                payment_info=config.get("PAYMENT_INFO", env),
            )
        except config.ConfigError as exc:
            raise ConfigError(str(exc)) from exc


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
