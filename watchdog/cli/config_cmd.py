"""``watchdog config check``: the effective config, or one line per problem (exit 78)."""

from __future__ import annotations

import argparse

from watchdog.cli.common import config_from
from watchdog.config import dump_config


def command(args: argparse.Namespace) -> int:
    print(dump_config(config_from(args, secrets=True, check_holidays=True)), end="")
    return 0
