"""``watchdog run``: the daemon in the foreground (what the systemd unit starts)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from watchdog import clock
from watchdog.cli.common import config_from
from watchdog.config import Config
from watchdog.contract import public_holidays
from watchdog.errors import ConfigError

# The interpreter option that leaves out code objects' column tables (PEP 657).
NO_DEBUG_RANGES = "no_debug_ranges"


def command(args: argparse.Namespace) -> int:
    restart = restart_arguments(sys.argv, sys.orig_argv, sys.executable, sys._xoptions,
                                os.environ)
    if restart is not None:
        # Nothing has started yet (no thread, no child, no file): the same process goes on.
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(restart[0], restart)
    # The holidays library would stay in the daemon's memory (~17 MB): a child computes them.
    public_holidays.in_child()

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


def restart_arguments(argv: Sequence[str], orig_argv: Sequence[str], executable: str,
                      xoptions: Mapping[str, object], environ: Mapping[str, str],
                      ) -> list[str] | None:
    """The command line to start ``watchdog run`` again with ``-X no_debug_ranges``, or None
    when it runs so already or is not the process's own command.

    Every code object keeps the column of each instruction for the carets of a traceback
    (PEP 657); the daemon logs no traceback, and without those tables its imported code
    takes about 0.4 MB less (bench resources). The option must be given to the interpreter,
    so the process starts again (``os.execv``: the same id for systemd, the same arguments
    and environment). Only the watchdog command itself (its script, ``python -m watchdog``)
    restarts; a program that calls ``main`` (a test) never is.
    """
    if xoptions.get(NO_DEBUG_RANGES) or environ.get("PYTHONNODEBUGRANGES"):
        return None
    script = Path(argv[0]) if argv else Path()
    own = script.name == "watchdog" or (script.name == "__main__.py"
                                        and script.parent.name == "watchdog")
    if not own or len(orig_argv) < 2:
        return None
    return [executable, "-X", NO_DEBUG_RANGES, *orig_argv[1:]]
