"""``watchdog config check``: the effective config, or one line per problem (exit 78).

Beyond the config's own rules it finds what would fail later (``config.preflight``: the
database's directory, secret and CA files, as the service's user; ``delivery.rehearsal``:
every template rendered once) and warns of what works but leaves the office unwarned. Errors
and warnings are lines ``FILE: KEY: ...`` on stderr; warnings alone exit 0 unless ``--strict``.
"""

from __future__ import annotations

import argparse
import sys

from watchdog import clock
from watchdog.cli.common import config_from
from watchdog.config import dump_config
from watchdog.config.preflight import channel_warnings, exposure_warnings, file_findings
from watchdog.config.service_account import checking_account
from watchdog.errors import EX_CONFIG, ConfigError


def command(args: argparse.Namespace) -> int:
    config = config_from(args, secrets=True, check_holidays=True)
    from watchdog.delivery.rehearsal import Rehearsal

    account = checking_account(args.user)
    files = file_findings(config, account)
    errors = files.errors + Rehearsal(config, clock.utcnow()).problems()
    warnings = files.warnings + exposure_warnings(config) + channel_warnings(config)
    for key, message in warnings:
        print(f"{config.source}: {key}: warning: {message}", file=sys.stderr)
    if errors:
        raise ConfigError([f"{config.source}: {key}: {message}" for key, message in errors])
    print(dump_config(config), end="")
    return EX_CONFIG if warnings and args.strict else 0
