"""What a chat is in the middle of: a filter being built with buttons, or the message that
/bantuan waits for. Kept in bot_state, so a restart of the bot forgets nothing; a state
untouched for a day is stale and starts over."""

import json
from dataclasses import asdict, dataclass
from datetime import timedelta

from lpse_crawler.people.models import BotState, chat_state_key
from lpse_crawler.store.database import upsert, utcnow, write_transaction

STALE_AFTER = timedelta(days=1)


@dataclass
class Draft:
    """A filter being built with buttons."""

    province: str | None = None
    instances: list[str] | None = None
    category: str | None = None
    query: str | None = None  # a typed part of an LPSE's name
    found: list[str] | None = None  # the LPSE codes it found, which `ffind:<n>` buttons index


@dataclass
class ChatState:
    # what the next plain text is for: "lpse" (a part of an LPSE's name) | "keywords" | "support"
    # | "daftar_name" | "daftar_phone" | "daftar_email" (bot/registration.py)
    awaiting: str | None = None
    draft: Draft | None = None


def load(chat_id: int) -> ChatState:
    row = BotState.get_or_none(BotState.key == chat_state_key(chat_id))
    if row is None or row.updated_at < utcnow() - STALE_AFTER:
        return ChatState()
    saved = json.loads(row.value)
    draft = saved.get("draft")
    return ChatState(awaiting=saved.get("awaiting"), draft=Draft(**draft) if draft else None)


def save(chat_id: int, state: ChatState) -> None:
    key = chat_state_key(chat_id)
    with write_transaction():
        if state == ChatState():
            BotState.delete().where(BotState.key == key).execute()
        else:
            upsert(
                BotState,
                [BotState.key],
                {"key": key, "value": json.dumps(asdict(state)), "updated_at": utcnow()},
            )
