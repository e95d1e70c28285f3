"""``watchdog run``: the daemon in the foreground (what the systemd unit starts)."""

from __future__ import annotations

import argparse

from watchdog.cli.common import config_from
from watchdog.config import Config


def command(args: argparse.Namespace) -> int:
    config = config_from(args, secrets=True, check_holidays=True)
    from watchdog import logs

    logs.configure()
    from watchdog.daemon.runner import run

    def reload_config() -> Config:
        # The same lookup and checks as at start (SIGHUP).
        return config_from(args, secrets=True, check_holidays=True)

    return run(config, reload_config)
