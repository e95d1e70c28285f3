"""``watchdog ticket ack|note|provider-ref|close REF``: change a ticket by hand and say what
was recorded.

The rules, and what each change writes, are ``incidents.ticket_actions``'. This opens the
database for writing (``BEGIN IMMEDIATE``, as the daemon does), so nothing races it, and
prints the line the ticket's timeline got. ``--at`` (a call made earlier) is read in the
site's time zone, or with its offset; ``--by`` names who made it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime, tzinfo

from sqlmodel import Session

from watchdog import clock
from watchdog.cli.common import config_from, parse_local_time
from watchdog.config.zone import site_zone
from watchdog.incidents import ticket_actions
from watchdog.incidents.ticket_actions import TicketChange
from watchdog.store.writer import Store

# A change: (session, now, the site's zone, the --at instant or None) → what was recorded.
Change = Callable[[Session, datetime, tzinfo, datetime | None], TicketChange]


def _apply(args: argparse.Namespace, change: Change) -> int:
    config = config_from(args)
    zone = site_zone(config)
    given = getattr(args, "at", None)
    # A bad --at is refused before the database is opened.
    at = parse_local_time(given, zone, "--at") if given else None
    now = clock.utcnow()
    with Store.open(config.storage.database, migrate=False) as store, store.write() as session:
        done = change(session, now, zone, at)
    extras = [f"at {at.astimezone(zone):%Y-%m-%d %H:%M}"] if at else []
    if getattr(args, "by", None):
        extras.append(f"by {args.by}")
    print(f"{done.reference}: {done.text}" + (f" ({', '.join(extras)})" if extras else ""))
    return 0


def ack(args: argparse.Namespace) -> int:
    return _apply(args, lambda session, now, _zone, _at: ticket_actions.acknowledge(
        session, args.reference, now))


def note(args: argparse.Namespace) -> int:
    return _apply(args, lambda session, now, zone, at: ticket_actions.add_note(
        session, args.reference, " ".join(args.text), now, at=at, author=args.by, zone=zone))


def provider_ref(args: argparse.Namespace) -> int:
    return _apply(args, lambda session, now, zone, at: ticket_actions.set_provider_ref(
        session, args.reference, args.provider_ref, now, at=at, author=args.by, zone=zone))


def close(args: argparse.Namespace) -> int:
    return _apply(args, lambda session, now, _zone, _at: ticket_actions.close_by_hand(
        session, args.reference, now))
