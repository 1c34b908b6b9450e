"""Subscribers' tables: subscriber, saved filter, payment, and small bot state kept per chat.

Personal values (name, phone, email, Telegram username, payment reference) are stored only
as ciphertext from crypto.py in the `*_enc` columns; phone and email also as blind indexes.
"""

from enum import StrEnum

from peewee import (
    BigIntegerField,
    BooleanField,
    CharField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from lpse_crawler.store.database import AwareDateTimeField, BaseModel, DayField, utcnow


class SubscriberStatus(StrEnum):
    """Whether alerts reach a subscriber."""

    ACTIVE = "active"
    PAUSED = "paused"  # /jeda
    BLOCKED = "blocked"  # blocked the bot (Telegram answered 403)
    DELETED = "deleted"


class Subscriber(BaseModel):
    """One Telegram user."""

    chat_id = BigIntegerField(unique=True)  # plain: needed to send
    name_enc = TextField(null=True)
    phone_enc = TextField(null=True)
    email_enc = TextField(null=True)
    username_enc = TextField(null=True)
    phone_index = CharField(null=True, unique=True)  # blind index of the +62 form
    email_index = CharField(null=True, unique=True)  # blind index of the lower-cased email
    plan = CharField(default="trial")  # trial | free | basic | pro (see plans.py)
    plan_expires_at = AwareDateTimeField(null=True)
    # A trial still running when a plan was bought: it goes on until then (plans.plan_of).
    trial_until = AwareDateTimeField(null=True)
    status = CharField(default=SubscriberStatus.ACTIVE)
    consent_at = AwareDateTimeField(null=True)
    language = CharField(default="id")
    timezone = CharField(default="Asia/Jakarta")  # digests and quiet hours keep this clock
    quiet_start = IntegerField(null=True)  # quiet hours: minutes after local midnight
    quiet_end = IntegerField(null=True)
    # When their last Telegram message was sent, by any sender: each spaces a chat's sends from it.
    telegram_sent_at = AwareDateTimeField(null=True)


class Filter(BaseModel):
    """A saved filter; `spec` is the one-line text it was made from (filters.py)."""

    subscriber = ForeignKeyField(Subscriber, backref="filters", on_delete="CASCADE")
    name = CharField()
    spec = TextField()
    active = BooleanField(default=True)
    digest_hour = IntegerField(null=True)  # a daily digest at this local hour; NULL: at once


class Payment(BaseModel):
    """A payment; kept for accounting after erasure with the subscriber link removed."""

    subscriber = ForeignKeyField(Subscriber, backref="payments", null=True, on_delete="SET NULL")
    invoice_no = CharField(unique=True)
    amount = BigIntegerField()  # rupiah
    method = CharField()
    plan = CharField()
    period_start = DayField()
    period_end = DayField()
    reference_enc = TextField(null=True)
    paid_at = AwareDateTimeField(default=utcnow)


class BotState(BaseModel):
    """Small values the bot must keep across restarts (e.g. `paused_until` after a 429, what
    a chat is in the middle of)."""

    key = CharField(primary_key=True)
    value = TextField()


def chat_state_key(chat_id: int) -> str:
    """The bot_state key of one chat's conversation state (erased with the subscriber)."""
    return f"chat.{chat_id}"


PEOPLE_MODELS = [Subscriber, Filter, Payment, BotState]
