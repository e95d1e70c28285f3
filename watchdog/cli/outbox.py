"""``watchdog outbox [--all] [--json]``: messages not delivered yet, with their last error;
with ``--all`` also those delivered in the last day, with their proof (when, by which
server, its reply, the Message-ID). ``--json`` adds every attempt.

Reads with the stdlib reader only.
"""

from __future__ import annotations

import argparse
from datetime import timedelta

from watchdog import clock
from watchdog.cli.common import config_from, print_json
from watchdog.cli.ticket_views import message_json, message_line
from watchdog.config.zone import site_zone
from watchdog.store.ticket_reader import read_outbox


def command(args: argparse.Namespace) -> int:
    config = config_from(args)
    zone = site_zone(config)
    since = clock.utcnow() - timedelta(days=1) if args.all else None
    rows = read_outbox(config.storage.database, include_sent_since=since)
    if args.json:
        print_json([message_json(row, zone) for row in rows])
    elif not rows:
        print("Nothing waiting: every message was delivered.")
    else:
        for row in rows:
            print(message_line(row, zone))
    return 0
