"""Admin-only commands: /stats and /broadcast (silently unknown to everyone else)."""

from peewee import chunked
from telebot.formatting import escape_html

from bot import texts
from bot.handlers import Bot
from lpse_crawler import audit
from lpse_crawler.accounts import Filter, Notification, Subscriber
from lpse_crawler.db import Tender, utcnow, write_transaction


class AdminCommands(Bot):
    def is_admin(self, message) -> bool:
        if message.from_user.id in self.config.admin_ids and message.chat.id in self.config.admin_ids:
            return True
        self.reply(message.chat.id, texts.NOT_ADMIN)
        return False

    def stats(self, message) -> None:
        if not self.is_admin(message):
            return
        by_status = {
            s: Subscriber.select().where(Subscriber.status == s).count()
            for s in ("active", "paused", "blocked")
        }
        today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
        outbox = Notification.select()
        self.reply(message.chat.id, texts.STATS.format(
            active=by_status["active"], paused=by_status["paused"], blocked=by_status["blocked"],
            filters=Filter.select().where(Filter.active == True).count(),  # noqa: E712
            tenders=Tender.select().count(),
            queued=outbox.where(Notification.status == "queued").count(),
            sent_today=outbox.where(Notification.status == "sent", Notification.sent_at >= today).count(),
            dead=outbox.where(Notification.status == "dead").count(),
        ))  # fmt: skip

    def broadcast(self, message) -> None:
        if not self.is_admin(message):
            return
        text = self.argument(message)
        if not text:
            return self.reply(message.chat.id, texts.BROADCAST_USAGE)
        self.reply(
            message.chat.id, texts.BROADCAST_QUEUED.format(count=queue_broadcast(text, actor="bot:admin"))
        )


def queue_broadcast(text: str, actor: str) -> int:
    """Queue an announcement (plain text, escaped here) to every active subscriber."""
    body = texts.BROADCAST_PREFIX + escape_html(text)
    now = utcnow()
    with write_transaction():
        ids = [s.id for s in Subscriber.select(Subscriber.id).where(Subscriber.status == "active")]
        rows = [{"subscriber": i, "body": body, "next_attempt_at": now, "created_at": now, "updated_at": now}
                for i in ids]  # fmt: skip
        for batch in chunked(rows, 500):  # SQLite caps the variables of one statement
            Notification.insert_many(batch).execute()
        audit.record(actor, "broadcast", None, f"{len(ids)} subscribers")
    return len(ids)
