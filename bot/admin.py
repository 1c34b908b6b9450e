"""Admin-only commands: /stats and /broadcast (silently unknown to everyone else)."""

from bot import texts
from bot.handlers import Bot
from lpse_crawler.outbox import Notification, Status, queue_broadcast
from lpse_crawler.people.models import Filter, Subscriber, SubscriberStatus
from lpse_crawler.store.database import utcnow, wib_start_of
from lpse_crawler.store.models import Tender


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
            for s in (SubscriberStatus.ACTIVE, SubscriberStatus.PAUSED, SubscriberStatus.BLOCKED)
        }
        today = wib_start_of(utcnow(), "day")
        outbox = Notification.select()
        self.reply(
            message.chat.id,
            texts.STATS.format(
                active=by_status[SubscriberStatus.ACTIVE],
                paused=by_status[SubscriberStatus.PAUSED],
                blocked=by_status[SubscriberStatus.BLOCKED],
                filters=Filter.select().where(Filter.active == True).count(),  # noqa: E712
                tenders=Tender.select().count(),
                queued=outbox.where(Notification.status == Status.QUEUED).count(),
                sent_today=outbox.where(
                    Notification.status == Status.SENT, Notification.sent_at >= today
                ).count(),
                dead=outbox.where(Notification.status == Status.DEAD).count(),
            ),
        )

    def broadcast(self, message) -> None:
        if not self.is_admin(message):
            return
        text = self.argument(message)
        if not text:
            return self.reply(message.chat.id, texts.BROADCAST_USAGE)
        count = queue_broadcast(text, actor="bot:admin")
        self.reply(message.chat.id, texts.BROADCAST_QUEUED.format(count=count))
