"""Adapters that reach people: Apprise notifiers and the Telegram bot (optional extras
'alerts' and 'telegram'; each imports its library only when it is built)."""
