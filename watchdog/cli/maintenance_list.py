"""``watchdog maintenance list [--all] [--json]``: the maintenance windows, where they come from,
and whether they hold now.

The config's windows (``config:N``) and the database's (``maintenance add``): by default those
not over for more than a week, with ``--all`` every one ever declared (removed ones included:
they stay on the record). Reads with the stdlib reader only.
"""

from __future__ import annotations

import argparse

from watchdog import clock
from watchdog.cli.common import config_from, print_json
from watchdog.cli.maintenance_views import RECENT, window_json, window_lines
from watchdog.config.zone import site_zone
from watchdog.link.maintenance_windows import config_windows
from watchdog.store.maintenance_reader import read_windows


def command(args: argparse.Namespace) -> int:
    config = config_from(args)
    zone = site_zone(config)
    now = clock.utcnow()
    stored = read_windows(config.storage.database,
                          ending_after=None if args.all else now - RECENT)
    listed = [(window, None) for window in config_windows(config)] + [
        (row.declared, row) for row in stored]
    if args.json:
        print_json([window_json(window, row, zone, now) for window, row in listed])
        return 0
    if not listed:
        print("No maintenance window. Declare one with 'watchdog maintenance add --from ... "
              "--to ... --reason ...' or in the config's [[maintenance]].")
        return 0
    print(f"Maintenance windows (times in {zone})")
    for window, row in listed:
        for line in window_lines(window, row, zone, now):
            print(f"  {line}".rstrip())
    return 0
