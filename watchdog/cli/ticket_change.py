"""``watchdog ticket ack|note|close REF``: change a ticket by hand and say what was recorded.

The rules, and what each change writes, are ``incidents.ticket_actions``'. This opens the
database for writing (``BEGIN IMMEDIATE``, as the daemon does), so nothing races it, and
prints the line the ticket's timeline got.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

from watchdog import clock
from watchdog.cli.common import config_from
from watchdog.incidents import ticket_actions
from watchdog.incidents.ticket_actions import TicketChange
from watchdog.store.writer import Store


def _apply(args: argparse.Namespace, change: Callable[[Session, datetime], TicketChange]) -> int:
    config = config_from(args)
    now = clock.utcnow()
    with Store.open(config.storage.database, migrate=False) as store, store.write() as session:
        done = change(session, now)
    print(f"{done.reference}: {done.text}")
    return 0


def ack(args: argparse.Namespace) -> int:
    return _apply(args, lambda session, now: ticket_actions.acknowledge(
        session, args.reference, now))


def note(args: argparse.Namespace) -> int:
    return _apply(args, lambda session, now: ticket_actions.add_note(
        session, args.reference, " ".join(args.text), now))


def close(args: argparse.Namespace) -> int:
    return _apply(args, lambda session, now: ticket_actions.close_by_hand(
        session, args.reference, now))
