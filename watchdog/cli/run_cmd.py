"""``watchdog run``: the daemon in the foreground (what the systemd unit starts)."""

from __future__ import annotations

import argparse

from watchdog import charset_detector, clock
from watchdog.cli.common import config_from
from watchdog.config import Config
from watchdog.contract import public_holidays
from watchdog.errors import ConfigError


def command(args: argparse.Namespace) -> int:
    # The holidays library would stay in the daemon's memory (~17 MB): a child computes them.
    public_holidays.in_child()
    # requests' charset detector (~2.6 MB resident) is never used by the daemon: imported only
    # if something asks for it.
    charset_detector.defer()

    def daemon_config() -> Config:
        """The config, checked, and the public holidays it needs known before any cycle."""
        config = config_from(args, secrets=True, check_holidays=True)
        hours = config.contract.business_hours
        if hours.holidays_country:
            year = clock.utcnow().year
            try:
                public_holidays.preload(hours.holidays_country, hours.holidays_subdivision,
                                        [year - 1, year, year + 1])
            except ValueError as error:
                raise ConfigError([f"{config.source}: contract.business_hours."
                                   f"holidays_country: {error}"]) from None
        return config

    config = daemon_config()
    from watchdog import logs

    logs.configure()
    from watchdog.daemon.runner import run

    # SIGHUP: the same lookup and checks as at start.
    return run(config, daemon_config)
