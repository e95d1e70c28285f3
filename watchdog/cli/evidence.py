"""``watchdog evidence REF -o DIR``: an incident's raw probe results, with its report.

For each outage (cut) of the incident, every probe result from ``storage.evidence_margin``
before to after its start, and the same around its end, as CSV; the report of the days the
incident spans (HTML and JSON); and ``SHA256SUMS`` over every file, so the set can be handed
over and checked as a whole.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
from datetime import datetime, tzinfo
from pathlib import Path

from watchdog import clock
from watchdog.cli.common import config_from
from watchdog.config import humanize
from watchdog.config.zone import site_zone
from watchdog.errors import EX_CANTCREAT, UserError
from watchdog.report import period as periods
from watchdog.report.build import build
from watchdog.report.formats import as_html, as_json
from watchdog.report.words import Writer
from watchdog.store.evidence_reader import RawSample, read_incident_outages, read_samples

COLUMNS = ("at", "at_utc", "link", "kind", "target", "address", "ok", "rtt_ms", "sent",
           "received", "error")


def command(args: argparse.Namespace) -> int:
    config = config_from(args, check_holidays=True)
    zone = site_zone(config)
    now = clock.utcnow()
    path = config.storage.database
    reference = args.reference.upper()
    outages = read_incident_outages(path, reference)
    margin = config.storage.evidence_margin
    directory = Path(args.output)
    files: dict[str, str] = {}
    for number, outage in enumerate(outages, 1):
        moments = [("start", outage.started_at)]
        if outage.ended_at is not None:
            moments.append(("end", outage.ended_at))
        for edge, moment in moments:
            samples = read_samples(path, outage.link_id, moment - margin,
                                   min(moment + margin, now))
            name = f"{reference}-cut{number}-{edge}.csv" if len(outages) > 1 else (
                f"{reference}-{edge}.csv")
            files[name] = _csv(samples, outage.link, zone)
    first = outages[0].started_at.astimezone(zone).date()
    last = max((o.ended_at or now) for o in outages).astimezone(zone).date()
    period = periods.days(first.isoformat(), last.isoformat(), zone, now)
    report = build(config, period, now, link=outages[0].link)
    write = Writer(config.site.language, zone)
    files[f"{reference}-report.html"] = as_html(report, write)
    files[f"{reference}-report.json"] = as_json(report)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        sums = []
        for name, text in files.items():
            data = text.encode("utf-8")
            (directory / name).write_bytes(data)
            sums.append(f"{hashlib.sha256(data).hexdigest()}  {name}\n")
        (directory / "SHA256SUMS").write_text("".join(sums), encoding="utf-8")
    except OSError as error:
        raise UserError(f"cannot write the evidence to {directory} ({error.strerror}); choose "
                        "a directory you can write to", EX_CANTCREAT) from None
    print(f"{directory}: {len(files)} files for {reference} ({len(outages)} outage(s), "
          f"{humanize(margin.total_seconds())} around each start and end), checksums in "
          "SHA256SUMS")
    return 0


def _csv(samples: list[RawSample], link: str, zone: tzinfo) -> str:
    """One row per probe result: its time in the site's zone and in UTC, the target, the
    outcome."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for sample in samples:
        writer.writerow([
            _iso(sample.at.astimezone(zone)), _iso(sample.at), link,
            sample.kind, sample.target, sample.address, int(sample.ok),
            "" if sample.rtt_ms is None else f"{sample.rtt_ms:.3f}", sample.sent,
            sample.received, sample.error or "",
        ])
    return out.getvalue()


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")
