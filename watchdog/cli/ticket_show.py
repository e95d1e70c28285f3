"""``watchdog ticket show REF [--json]``: one ticket, its timeline, and its messages with
their proof of delivery: delivered, folded into a later one, and not delivered.

Reads with the stdlib reader only.
"""

from __future__ import annotations

import argparse

from watchdog.cli.common import config_from, print_json
from watchdog.cli.ticket_views import (
    attempt_lines,
    message_json,
    message_line,
    ticket_json,
    ticket_line,
    timeline_json,
    timeline_line,
)
from watchdog.config.zone import site_zone
from watchdog.store.ticket_reader import read_ticket
from watchdog.vocabulary import UNDELIVERED_STATUSES


def command(args: argparse.Namespace) -> int:
    config = config_from(args)
    zone = site_zone(config)
    detail = read_ticket(config.storage.database, args.reference)
    if args.json:
        print_json({**ticket_json(detail.ticket, zone),
                    "timeline": [timeline_json(e, zone) for e in detail.timeline],
                    "messages": [message_json(m, zone) for m in detail.messages]})
        return 0
    print(ticket_line(detail.ticket, zone))
    print(f"  {detail.ticket.cause}")
    print()
    for event in detail.timeline:
        print(timeline_line(event, zone))
    sections = (
        ("Delivered:", [m for m in detail.messages if m.delivered]),
        ("Folded into a later message:", [m for m in detail.messages
                                          if m.status in ("folded", "superseded")]),
        ("Not delivered yet:", [m for m in detail.messages
                                if m.status in UNDELIVERED_STATUSES]),
    )
    for title, messages in sections:
        if messages:
            print()
            print(title)
            for message in messages:
                print("  " + message_line(message, zone))
                for line in attempt_lines(message, zone):
                    print("  " + line)
    return 0
