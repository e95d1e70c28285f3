"""``watchdog run``: the daemon in the foreground (what the systemd unit starts)."""

from __future__ import annotations

import argparse

from watchdog.cli.common import config_from


def command(args: argparse.Namespace) -> int:
    config = config_from(args)
    from watchdog import logs

    logs.configure()
    from watchdog.daemon.runner import run

    return run(config)
