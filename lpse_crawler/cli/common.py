"""What every command shares: the database, the keyring, lookups, errors, audit, output."""

import functools
import getpass
import json

import click
from peewee import InterfaceError, OperationalError

from lpse_crawler import config
from lpse_crawler.people import audit
from lpse_crawler.people.contact import InvalidContact
from lpse_crawler.people.crypto import CryptoError, Keyring, load_keyring
from lpse_crawler.people.models import Subscriber
from lpse_crawler.people.personal_data import find_subscriber
from lpse_crawler.store.database import database, write_transaction
from lpse_crawler.store.schema import open_database


def actor() -> str:
    """Who runs the command, for the audit trail (an operator account, never a subscriber)."""
    return "cli:" + (config.get("PANTAU_OPERATOR") or getpass.getuser())


def keyring() -> Keyring:
    try:
        return load_keyring()
    except CryptoError as exc:
        raise click.ClickException(str(exc)) from exc


def db_command(fn):
    """Open the database first; turn expected failures into one-line errors (exit code 1)."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            open_database()
            return fn(*args, **kwargs)
        except (CryptoError, InvalidContact, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc
        except (OperationalError, InterfaceError) as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if any(word in message for word in ("locked", "busy", "lock timeout")):
                raise click.ClickException(
                    "the database is busy (locked by another process); try again"
                ) from exc
            raise click.ClickException(f"database error: {message}") from exc
        finally:
            if database.obj is not None:
                database.close()

    return run


def find_person(ring: Keyring | None, who: str) -> Subscriber:
    """A subscriber by id, Telegram chat id (`chat:123`), phone or email (blind index)."""
    found = None
    if who.startswith("chat:"):
        found = Subscriber.get_or_none(Subscriber.chat_id == _number(who[5:]))
    elif "@" in who:
        found = find_subscriber(ring or keyring(), email=who)
    elif who.startswith(("+", "0")) or len(who) > 9:
        found = find_subscriber(ring or keyring(), phone=who)
    else:
        found = Subscriber.get_or_none(Subscriber.id == _number(who))
    if found is None:
        raise click.ClickException(
            f"no subscriber matches {who!r} (use an id, chat:<id>, a phone or an email)"
        )
    return found


def _number(text: str) -> int:
    if not text.strip().lstrip("-").isdigit():
        raise click.ClickException(f"{text!r} is not a number")
    return int(text)


def audited(action: str, subject_id: int | None, detail: str | None = None) -> None:
    with write_transaction():
        audit.record(actor(), action, subject_id, detail)


def emit(data, as_json: bool, table: list[tuple[str, str]] | None = None) -> None:
    """Print rows as JSON (for scripts) or as an aligned table (for people)."""
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        return
    rows = data if isinstance(data, list) else [data]
    columns = table or [(k, k) for k in (rows[0] if rows else {})]
    widths = {key: max([len(title)] + [len(str(r.get(key, ""))) for r in rows]) for key, title in columns}
    click.echo("  ".join(title.ljust(widths[key]) for key, title in columns))
    for row in rows:
        click.echo("  ".join(str(row.get(key, "")).ljust(widths[key]) for key, _ in columns))
    if not rows:
        click.echo("(none)")


def mask(value: str | None) -> str:
    """`Budi Santoso` -> `B**********o`: enough to recognise, not to read."""
    if not value:
        return ""
    return value[0] + "*" * max(len(value) - 2, 1) + (value[-1] if len(value) > 2 else "")
