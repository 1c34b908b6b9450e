"""`python -m bot`: answer commands (long polling) and drain the outbox, in one process.

python -m bot             both
python -m bot --sender    only the outbox sender
python -m bot --polling   only the commands
"""

import argparse
import logging
import signal
import sys
import threading

from bot.app import build_bot
from bot.config import BotConfig, ConfigError, install_redaction
from bot.paying import payment_gateway
from bot.payment_poller import PaymentPoller
from bot.sender import Sender
from lpse_crawler import config as settings
from lpse_crawler.people.crypto import CryptoError, load_keyring
from lpse_crawler.people.follows import queue_deadline_reminders
from lpse_crawler.people.keycheck import verify_keyring
from lpse_crawler.people.reminders import queue_plan_reminders
from lpse_crawler.spse.registry import load_registry, sync_registry
from lpse_crawler.store.database import DatabaseMissing, utcnow
from lpse_crawler.store.schema import open_database

log = logging.getLogger("bot")
REMIND_SECONDS = 600  # how often the bot looks for plan-end and deadline reminders that are due


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__.splitlines()[0])
    parser.add_argument("--sender", action="store_true", help="run only the outbox sender")
    parser.add_argument("--polling", action="store_true", help="run only the command handlers")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings.load_env_file()
        settings.check_all()
        config = BotConfig.from_env()
        keyring = load_keyring()
        install_redaction(config.token)
        install_redaction(settings.get("PAYMENT_GATEWAY_KEY"))  # the gateway key too
        open_database(create=False)
        verify_keyring(keyring, writing=True)
    except (ConfigError, settings.ConfigError, CryptoError, DatabaseMissing) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sync_registry(load_registry())  # the guided /filter offers the registry's provinces and LPSE
    telebot, _ = build_bot(config, keyring)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    workers = []
    if not args.polling:
        workers.append(threading.Thread(target=Sender(telebot, config).run, args=(stop,), name="sender"))
        reminders = (stop, REMIND_SECONDS, lambda: queue_plan_reminders(utcnow()), "Plan-end reminders")
        workers.append(threading.Thread(target=every, args=reminders, name="reminders"))
        deadlines = (stop, REMIND_SECONDS, lambda: queue_deadline_reminders(utcnow()), "Deadline reminders")
        workers.append(threading.Thread(target=every, args=deadlines, name="deadlines"))
        if gateway := payment_gateway():  # payment links: learn their outcome from the gateway
            poller = PaymentPoller(telebot, keyring, gateway, config.admin_ids)
            polls = (stop, settings.get("PAYMENT_POLL_SECONDS"), poller.poll_once, "Payment poll")
            workers.append(threading.Thread(target=every, args=polls, name="payments"))
    if not args.sender:
        workers.append(threading.Thread(target=poll, args=(telebot, stop), name="polling", daemon=True))
    for worker in workers:
        worker.start()
    log.info("Bot running (%s)", ", ".join(w.name for w in workers))
    try:
        while not stop.wait(1):
            pass
    except KeyboardInterrupt:
        stop.set()
    telebot.stop_polling()
    return 0


def every(stop: threading.Event, seconds: float, task, what: str) -> None:
    """Run `task` every `seconds` until `stop`; a failure is logged and never ends the loop."""
    while not stop.is_set():
        try:
            task()
        except Exception:
            log.exception("%s failed; trying again in %s s", what, seconds)
        stop.wait(seconds)


def poll(telebot, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            telebot.polling(non_stop=True, timeout=20, long_polling_timeout=20)
        except Exception:
            log.exception("Polling stopped; restarting in 5 s")
            stop.wait(5)


if __name__ == "__main__":
    sys.exit(main())
