"""Delivery: the durable outbox, the senders behind each channel, the templates."""
