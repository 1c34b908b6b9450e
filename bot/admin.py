"""Admin-only commands: /stats and /broadcast (silently unknown to everyone else)."""

from telebot.formatting import escape_html

from bot import texts
from bot.handlers import Bot
from lpse_crawler.accounts import Filter, Notification, Subscriber
from lpse_crawler.db import Tender, utcnow, wib_start_of
from lpse_crawler.outbox import queue_broadcast


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
        today = wib_start_of(utcnow(), "day")
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
        count = queue_broadcast(texts.BROADCAST_PREFIX + escape_html(text), actor="bot:admin")
        self.reply(message.chat.id, texts.BROADCAST_QUEUED.format(count=count))
