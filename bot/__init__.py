"""The Telegram bot process (`python -m bot`): subscription commands and the outbox sender."""
