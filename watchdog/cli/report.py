"""``watchdog report``: a period's record of the link, the document for a claim.

``--month YYYY-MM`` (default: this month) or ``--from DATE --to DATE`` (days in the site's
zone, both included); ``--format text|html|csv|json`` (``--json`` is ``--format json``);
``-o FILE`` writes it there instead of printing it; ``--link NAME`` reports on that uplink
(default: the primary one; with uplinks, the report lists each one's availability too). The
words follow ``site.language``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from watchdog import clock
from watchdog.cli.common import chosen_link, config_from
from watchdog.config.zone import site_zone
from watchdog.errors import EX_CANTCREAT, EX_USAGE, UserError
from watchdog.report import period as periods
from watchdog.report.build import build
from watchdog.report.formats import as_csv, as_html, as_json, as_text
from watchdog.report.words import Writer


def command(args: argparse.Namespace) -> int:
    config = config_from(args, check_holidays=True)
    zone = site_zone(config)
    now = clock.utcnow()
    if (args.date_from is None) != (args.date_to is None):
        raise UserError("give both --from and --to (the first and the last day), or --month",
                        EX_USAGE)
    if args.date_from is not None:
        if args.month:
            raise UserError("give --month or --from/--to, not both", EX_USAGE)
        period = periods.days(args.date_from, args.date_to, zone, now)
    else:
        period = periods.month(args.month, zone, now)
    report = build(config, period, now, link=chosen_link(config, args.link).name)
    fmt = "json" if args.json else args.format
    write = Writer(config.site.language, zone)
    text = {"json": lambda: as_json(report), "csv": lambda: as_csv(report),
            "html": lambda: as_html(report, write), "text": lambda: as_text(report, write)}[fmt]()
    if args.output is None:
        sys.stdout.write(text)
        return 0
    output = Path(args.output)
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise UserError(f"cannot write the report to {output} ({error.strerror}); choose a "
                        "file in a directory you can write to", EX_CANTCREAT) from None
    print(f"{output}: {fmt} report of {period.label}, SHA-256 {report['digest']['value']}")
    return 0
