"""Webhooks: case and callback events to subscribed URLs, signed, through the notification outbox (SPEC §10)."""
