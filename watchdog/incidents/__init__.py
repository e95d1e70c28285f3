"""Incidents: an outage (or close cuts merged) → a ticket → escalation on schedule → recovery.

``schedule`` and ``routing`` are pure; ``service`` applies them inside the store's
transaction, so a state change, its ticket and every message it causes commit together.
"""
