"""Subscriber-side models: subscriber, filter, notification (outbox), payment, usage, audit.

Personal values (name, phone, email, Telegram username, payment reference) are stored only
as ciphertext from crypto.py in the `*_enc` columns; phone and email also as blind indexes.
"""

from peewee import (
    BigIntegerField,
    BooleanField,
    CharField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from lpse_crawler.db import AwareDateTimeField, BaseModel, DayField, JSONField, Tender, utcnow


class Subscriber(BaseModel):
    """One Telegram user. Status: active | paused | blocked (bot blocked) | deleted."""

    chat_id = BigIntegerField(unique=True)  # plain: needed to send
    name_enc = TextField(null=True)
    phone_enc = TextField(null=True)
    email_enc = TextField(null=True)
    username_enc = TextField(null=True)
    phone_index = CharField(null=True, unique=True)  # blind index of the +62 form
    email_index = CharField(null=True, unique=True)  # blind index of the lower-cased email
    plan = CharField(default="trial")  # trial | free | basic | pro (see plans.py)
    plan_expires_at = AwareDateTimeField(null=True)
    status = CharField(default="active")
    consent_at = AwareDateTimeField(null=True)
    language = CharField(default="id")


class Filter(BaseModel):
    """A saved filter; `spec` is the one-line text it was made from (filters.py)."""

    subscriber = ForeignKeyField(Subscriber, backref="filters", on_delete="CASCADE")
    name = CharField()
    spec = TextField()
    active = BooleanField(default=True)


class Notification(BaseModel):
    """The outbox: one tender (or one broadcast `body`) for one subscriber, once.

    Status: queued | sending (claimed by the sender) | sent | dead (gave up; see last_error).
    """

    subscriber = ForeignKeyField(Subscriber, backref="notifications", on_delete="CASCADE")
    tender = ForeignKeyField(Tender, null=True, on_delete="CASCADE")
    body = TextField(null=True)  # a service announcement instead of a tender
    status = CharField(default="queued")
    filter_ids = JSONField(default=list)  # every filter of the subscriber that matched
    matched_words = JSONField(default=list)  # why: the keywords that matched
    attempts = IntegerField(default=0)
    next_attempt_at = AwareDateTimeField(default=utcnow)
    claimed_at = AwareDateTimeField(null=True)
    sent_at = AwareDateTimeField(null=True)
    telegram_message_id = BigIntegerField(null=True)
    last_error = TextField(null=True)

    class Meta:
        indexes = ((("subscriber", "tender"), True), (("status", "next_attempt_at"), False))


class Payment(BaseModel):
    """A payment; kept for accounting after erasure with the subscriber link removed."""

    subscriber = ForeignKeyField(Subscriber, backref="payments", null=True, on_delete="SET NULL")
    invoice_no = CharField(unique=True)
    amount = IntegerField()  # rupiah
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


class UsageDaily(BaseModel):
    """Anonymous daily counts (metric names in usage.py); no link to any subscriber."""

    day = DayField()
    metric = CharField()
    count = IntegerField(default=0)

    class Meta:
        indexes = ((("day", "metric"), True),)


class Audit(BaseModel):
    """Who did what to which pseudonymous subject (e.g. subscriber:42), never personal data."""

    actor = CharField()
    action = CharField()
    subject = CharField(null=True)
    detail = TextField(null=True)


ACCOUNT_MODELS = [Subscriber, Filter, Notification, Payment, BotState, UsageDaily, Audit]
