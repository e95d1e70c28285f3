"""``watchdog tickets [--all] [--json]``: the open tickets, or every one.

Reads with the stdlib reader only.
"""

from __future__ import annotations

import argparse

from watchdog.cli.common import config_from, print_json
from watchdog.cli.ticket_views import ticket_json, ticket_line
from watchdog.config.zone import site_zone
from watchdog.store.ticket_reader import read_tickets


def command(args: argparse.Namespace) -> int:
    config = config_from(args)
    zone = site_zone(config)
    rows = read_tickets(config.storage.database, include_all=args.all)
    if args.json:
        print_json([ticket_json(row, zone) for row in rows])
    elif not rows:
        print("No ticket." if args.all else "No open ticket ('--all' lists every ticket).")
    else:
        for row in rows:
            print(ticket_line(row, zone))
    return 0
