"""Every environment variable the service reads, each with its one default, read here only.

`.env.example` lists the same variables with the same defaults (a test holds the two
together). An empty value means the default. A value that does not parse is a
`ConfigError` whose message names the variable, for a one-line error.

Every entry point (CLI, crawl, bot) first calls `load_env_file`: the env file
(PANTAU_ENV_FILE, default `.env` in the checkout) fills in what the process environment
does not set, so cron and systemd need no shell to read it.
"""

import difflib
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values
from dotenv.parser import parse_stream

ENV_FILE = "PANTAU_ENV_FILE"
DEFAULT_ENV_FILE = Path(__file__).resolve().parents[1] / ".env"


class ConfigError(ValueError):
    """A variable is set to something that cannot be used; the message says which."""


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    kind: str  # 'text' | 'int' | 'number' | 'flag' | 'years' (comma-separated, e.g. 2026,2027)
    meaning: str


VARIABLES = {
    v.name: v
    for v in [
        # database
        Variable("DATABASE_URL", "sqlite:///data/pantau.db", "text", "database (peewee db_url syntax)"),
        Variable("SQLITE_BUSY_TIMEOUT_MS", "10000", "int", "ms a writer waits for another's lock"),
        Variable("SQLITE_MAX_SIZE_MB", "0", "number", "cap on the SQLite file (0: none)"),
        Variable("PG_LOCK_TIMEOUT_MS", "10000", "int", "PostgreSQL: ms a statement waits for a lock"),
        # crawl
        Variable("LPSE_BASE_URL", "https://spse.inaproc.id", "text", "SPSE host; instances are paths"),
        Variable("LPSE_YEARS", "", "years", "fiscal years polled (empty: this year and next)"),
        Variable("LPSE_PAGE_SIZE", "100", "int", "rows per DataTables page"),
        Variable("LPSE_DETAIL_ATTEMPTS", "5", "int", "failures before a package is tried daily"),
        Variable("LPSE_MAX_PAGES", "50", "int", "listing pages per instance, kind, year and cycle"),
        Variable("LPSE_MAX_DETAILS", "500", "int", "packages fetched per instance and cycle"),
        Variable("LPSE_MAX_WATCHES", "500", "int", "followed packages read again per run"),
        Variable("LPSE_FAIL_AFTER", "1", "int", "failures in a row before an instance fails the crawl"),
        Variable("LPSE_LEASE_SECONDS", "600", "int", "how long a crawl's lease on an instance lasts"),
        Variable("LPSE_SCHEDULE", "1", "flag", "check listings when due (0: every listing every run)"),
        Variable("LPSE_REQUESTS_PER_HOUR", "3000", "int", "fleet-wide request budget to the host"),
        Variable("LPSE_RUN_MINUTES", "30", "number", "a scheduled run takes listings falling due this long"),
        Variable("LPSE_MIN_WAIT_MINUTES", "3", "number", "shortest wait between two checks of a listing"),
        Variable("LPSE_MAX_WAIT_HOURS", "3", "number", "longest wait between checks (this year)"),
        Variable("LPSE_NEXT_YEAR_HOURS", "24", "number", "longest wait for next year, Feb-Sep"),
        Variable("LPSE_DOWNLOAD_MAXSIZE", "8388608", "int", "largest response accepted, bytes"),
        Variable("LPSE_CONCURRENCY", "2", "int", "requests in flight to the host"),
        Variable("LPSE_DOWNLOAD_DELAY", "1.0", "number", "seconds between requests"),
        Variable("LPSE_AUTOTHROTTLE", "1", "flag", "adapt the delay to the host's latency"),
        Variable("LPSE_DOWNLOAD_TIMEOUT", "30", "number", "seconds before a request times out"),
        Variable("LPSE_RETRY_TIMES", "3", "int", "retries of a 5xx or timeout"),
        Variable("LPSE_RETRY_BACKOFF", "2.0", "number", "seconds before the first retry, doubled"),
        Variable("LPSE_429_PAUSE", "60", "number", "seconds paused after a 429 without Retry-After"),
        Variable("LPSE_PROXY", "", "text", "outbound proxy for SPSE requests"),
        Variable("LPSE_CONTACT", "ops@pantaulpse.id", "text", "contact address in the User-Agent"),
        Variable("LPSE_USER_AGENT", "", "text", "the whole User-Agent (empty: built from the contact)"),
        Variable("LPSE_BROWSER", "1", "flag", "solve Cloudflare challenges in Chromium"),
        Variable("CHROMIUM_PATH", "/usr/bin/chromium", "text", "Debian's Chromium"),
        Variable("LOG_LEVEL", "INFO", "text", "crawl log level"),
        # keys
        Variable("PANTAU_KEYS", "", "text", "keyring id:base64key,... (first is primary)"),
        Variable("PANTAU_KEY_FILE", "", "text", "file with one id:base64key a line"),
        # bot
        Variable("TELEGRAM_BOT_TOKEN", "", "text", "the bot's token (required by the bot)"),
        Variable("TELEGRAM_API_URL", "https://api.telegram.org", "text", "Bot API server"),
        Variable("BOT_ADMIN_IDS", "", "text", "comma-separated admin chat ids"),
        Variable("SENDER_RATE", "30", "number", "messages per second overall"),
        Variable("SENDER_PER_CHAT_INTERVAL", "1.0", "number", "seconds between two messages to a chat"),
        Variable("SENDER_MAX_ATTEMPTS", "6", "int", "network errors before a notification is dead"),
        Variable("SENDER_CLAIM_LEASE", "60", "number", "seconds before a crashed claim is retried"),
        Variable("SENDER_IN_FLIGHT", "8", "int", "sends in flight at once (hides the round trip)"),
        Variable("SENDER_GROUP_PER_MINUTE", "20", "number", "messages per minute to one group chat"),
        # operators
        Variable("PANTAU_OPERATOR", "", "text", "who acts, for the audit trail (empty: login name)"),
        Variable("RETENTION_DAYS", "180", "int", "days a closed package is kept"),
        # invoices (faktur)
        Variable("SELLER_NAME", "Pantau LPSE", "text", "seller's legal name on invoices"),
        Variable("SELLER_ADDRESS", "", "text", "seller's address on invoices"),
        Variable("SELLER_NPWP", "", "text", "seller's NPWP on invoices"),
        Variable("SELLER_PKP", "0", "flag", "seller is a PKP: invoices show DPP and PPN"),
        Variable("PPN_RATE", "11", "number", "PPN in percent of the DPP, prices include it"),
        # email (service notices)
        Variable("SMTP_HOST", "", "text", "SMTP server for email notices (empty: no email)"),
        Variable("SMTP_PORT", "587", "int", "SMTP port"),
        Variable("SMTP_SECURITY", "starttls", "text", "starttls, tls or none"),
        Variable("SMTP_USER", "", "text", "SMTP login (empty: none)"),
        Variable("SMTP_PASSWORD", "", "text", "SMTP password (never logged)"),
        Variable("SMTP_FROM", "Pantau LPSE <noreply@pantaulpse.id>", "text", "sender of notices"),
        Variable(
            "PAYMENT_INFO",
            "Transfer ke rekening yang diberikan admin; ketik /bantuan.",
            "text",
            "how to pay, shown by /paket",
        ),
        # payment links in the bot (Xendit Invoice API)
        Variable("PAYMENT_GATEWAY_URL", "https://api.xendit.co", "text", "payment gateway API base"),
        Variable("PAYMENT_GATEWAY_KEY", "", "text", "gateway secret key (empty: no links; never logged)"),
        Variable("PAYMENT_POLL_SECONDS", "30", "number", "seconds between asks about open links"),
        Variable("PAYMENT_LINK_HOURS", "24", "int", "hours a payment link stays open"),
    ]
}


def _years(raw: str) -> str:
    """'2026, 2027' -> '2026,2027'; ValueError unless every item is a 4-digit year."""
    years = [year.strip() for year in raw.split(",")]
    if not all(re.fullmatch(r"[0-9]{4}", year) for year in years):
        raise ValueError(raw)
    return ",".join(years)


_CONVERT = {"text": str, "int": int, "number": float, "years": _years}
_FLAG_WORDS = {
    "1": True,
    "true": True,
    "yes": True,
    "on": True,
    "0": False,
    "false": False,
    "no": False,
    "off": False,
}
_KIND_WORDS = {
    "int": "a whole number",
    "number": "a number",
    "flag": "1 or 0",
    "years": "fiscal years such as 2026,2027",
}


def get(name: str, env: Mapping[str, str] | None = None):
    """The value of variable `name` from `env` (default: the process environment), typed."""
    variable = VARIABLES[name]
    raw = (os.environ if env is None else env).get(name, "").strip() or variable.default
    if not raw:
        return raw  # an empty default: the reader's own (LPSE_YEARS: this year and next)
    try:
        if variable.kind == "flag":
            return _FLAG_WORDS[raw.lower()]
        return _CONVERT[variable.kind](raw)
    except (KeyError, ValueError):
        raise ConfigError(
            f"{name}={raw!r} is not {_KIND_WORDS[variable.kind]} (default {variable.default or 'empty'})"
        ) from None


def offline_suffix_list() -> None:
    """Make tldextract (Scrapy's cookie middleware) use the public suffix list bundled with
    it instead of downloading one: the crawl needs no other host than SPSE, and offline the
    download printed two tracebacks on a new machine. Call before Scrapy is imported."""
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")


def check_all(env: Mapping[str, str] | None = None) -> None:
    """Raise ConfigError for the first variable whose value does not parse."""
    for name in VARIABLES:
        get(name, env)


def load_env_file(environ: dict | None = None) -> Path | None:
    """Load the env file into `environ` (default: the process environment), where it sets
    only what is not set already; return its path, or None when there is none.

    One-line ConfigErrors: a named file that is missing, a file others may read (it can
    hold keys and passwords), a line that does not parse, a name that is no setting.
    """
    environ = os.environ if environ is None else environ
    named = environ.get(ENV_FILE, "").strip()
    path = Path(named) if named else DEFAULT_ENV_FILE
    if not path.is_file():
        if named:
            raise ConfigError(f"{ENV_FILE}={named}: no such file")
        return None
    if (mode := stat.S_IMODE(path.stat().st_mode)) & 0o077:  # as the key file (people/crypto.py)
        raise ConfigError(f"{path} may be read or changed by other users (mode {mode:04o}): chmod 600 {path}")
    with path.open(encoding="utf-8") as stream:
        for binding in parse_stream(stream):
            where = f"{path}, line {binding.original.line}"
            if binding.error:
                raise ConfigError(f"{where}: cannot read {binding.original.string.strip()[:60]!r}")
            if binding.key and binding.key not in VARIABLES and binding.key != ENV_FILE:
                close = difflib.get_close_matches(binding.key, VARIABLES, n=1)
                hint = f" (did you mean {close[0]}?)" if close else " (see .env.example)"
                raise ConfigError(f"{where}: {binding.key} is not a Pantau LPSE setting{hint}")
    for name, value in dotenv_values(path).items():
        environ.setdefault(name, value or "")
    return path
