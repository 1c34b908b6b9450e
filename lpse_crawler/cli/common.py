"""What every command shares: the database, the keyring, lookups, errors, audit, output."""

import functools
import getpass
import json
from pathlib import Path

import apsw
import click
from peewee import InterfaceError, OperationalError

from lpse_crawler import config
from lpse_crawler.people import audit
from lpse_crawler.people.contact import InvalidContact
from lpse_crawler.people.crypto import CryptoError, Keyring, load_keyring
from lpse_crawler.people.keycheck import verify_keyring
from lpse_crawler.people.models import Subscriber
from lpse_crawler.people.personal_data import find_subscriber
from lpse_crawler.store.database import connect_database, create_private_file, database, write_transaction
from lpse_crawler.store.schema import open_current, open_database


def actor() -> str:
    """Who runs the command, for the audit trail (an operator account, never a subscriber)."""
    return "cli:" + (config.get("PANTAU_OPERATOR") or getpass.getuser())


def keyring(*, encrypting: bool = False) -> Keyring:
    """The keyring, checked against the database's check values (open the database first):
    a wrong or missing key stops the command before it reads or writes personal data.
    `encrypting`: the command will encrypt, so the primary key's check value is stored."""
    try:
        ring = load_keyring()
        verify_keyring(ring, writing=encrypting)
    except CryptoError as exc:
        raise click.ClickException(str(exc)) from exc
    return ring


def db_command(fn=None, *, read_only: bool = False, create: bool = False, upgrade: bool = False):
    """Open the existing database first, at this release's schema (never migrating it);
    turn expected failures into one-line errors (exit code 1).

    `read_only`: a command that only reads opens the database read-only, so it neither
    takes nor waits for the write lock (a crawl may be writing). `create`: `db init`
    creates and migrates. `upgrade`: `db migrate` opens an existing one at any version.
    """
    if fn is None:
        return functools.partial(db_command, read_only=read_only, create=create, upgrade=upgrade)

    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            if create:
                open_database(create=True)
            elif upgrade:
                connect_database(create=False)
            else:
                open_current(read_only=read_only)
            return fn(*args, **kwargs)
        except (CryptoError, InvalidContact, ValueError, OSError, OverflowError) as exc:
            raise click.ClickException(_one_line(exc)) from exc
        except (OperationalError, InterfaceError, apsw.Error) as exc:
            message = _one_line(exc)
            if any(word in message for word in ("locked", "busy", "lock timeout")):
                raise click.ClickException(
                    "the database is busy (locked by another process); try again"
                ) from exc
            raise click.ClickException(f"database error: {message}") from exc
        finally:
            if database.obj is not None:
                database.close()

    return run


def read_command(fn):
    """db_command for a command that only reads (see db_command)."""
    return db_command(fn, read_only=True)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, OSError) and exc.filename:
        text = f"{exc.strerror or text}: {str(exc.filename)[:120]}"
    elif isinstance(exc, OverflowError):
        text = "a number is out of range"
    elif isinstance(exc, UnicodeError):
        text = "an argument is not valid UTF-8 text"
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


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
    """A database id or Telegram chat id: a whole number that fits in 64 bits."""
    if not text.strip().lstrip("-").isdigit() or len(text.strip()) > 19 or abs(int(text)) >= 2**63:
        raise click.ClickException(f"{text[:40]!r} is not an id")
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


def write_private(path: str, data: bytes) -> None:
    """Create `path` (refusing an existing file) readable by its owner only, and write
    `data`: exports and invoices hold personal data."""
    try:
        create_private_file(path)
    except FileExistsError as exc:
        raise click.ClickException(f"{path} exists: choose another name") from exc
    Path(path).write_bytes(data)
