"""The ``watchdog`` command: the daemon (``run``) and short commands that read its database.

Only argparse and the stdlib load at start-up; each command imports what it needs, so the
read commands (``status``, ``outages``) never pay for sqlmodel, sqlalchemy or apscheduler.
A user error ends in one sentence on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from watchdog import __version__
from watchdog.errors import EX_SOFTWARE, EX_USAGE, ConfigError, UserError

Handler = Callable[[argparse.Namespace], int]


def _lazy(module: str, function: str = "command") -> Handler:
    """A handler that imports its command's module only when that command runs."""

    def handler(args: argparse.Namespace) -> int:
        import importlib

        command: Handler = getattr(importlib.import_module(f"watchdog.cli.{module}"), function)
        return command(args)

    return handler


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one sentence with the fix (and exit code 64)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EX_USAGE, f"{self.prog}: {message}; see '{self.prog} --help'\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="watchdog", description="Watch the office's internet link.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    common = _Parser(add_help=False)
    common.add_argument("--config", metavar="FILE",
                        help="config file (default: $WATCHDOG_CONFIG, "
                             "/etc/connectivity-watchdog/watchdog.toml, ./config/watchdog.toml)")
    common.add_argument("--database", metavar="FILE",
                        help="SQLite database (default: storage.database from the config)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    run = commands.add_parser("run", parents=[common], help="run the daemon in the foreground")
    run.set_defaults(handler=_lazy("run_cmd"))

    status = commands.add_parser(
        "status", parents=[common],
        help="the link's state, since when, uptime, last results; exit 0 up, 1 degraded or "
             "maintenance, 2 down, 3 unknown (the daemon is not running)",
        description="The link's state, since when, uptime and the last results. The exit code "
                    "follows the Nagios plugins' convention: 0 up (OK), 1 degraded or in a "
                    "maintenance window (WARNING), 2 down or a LAN fault (CRITICAL), 3 unknown: "
                    "the daemon is not running or never ran (UNKNOWN). With several uplinks: "
                    "the primary's, but 1 while the site is on backup. A config or database "
                    "that cannot be read exits 64 to 78 with one sentence (UNKNOWN to a "
                    "monitoring system).")
    status.add_argument("--json", action="store_true", help="print JSON for programs")
    status.set_defaults(handler=_lazy("status"))

    check = commands.add_parser("check", parents=[common],
                                help="probe every target now; exit 0 up, 1 degraded, 2 down")
    check.add_argument("--json", action="store_true", help="print JSON for programs")
    check.set_defaults(handler=_lazy("check"))

    outages = commands.add_parser("outages", parents=[common], help="list recorded outages")
    outages.add_argument("--since", metavar="DATE",
                         help="only outages still going on at or after DATE (YYYY-MM-DD or "
                              "an ISO time; default: all)")
    outages.add_argument("--link", metavar="NAME",
                         help="only this uplink's outages (default: every link's)")
    outages.add_argument("--json", action="store_true", help="print JSON for programs")
    outages.set_defaults(handler=_lazy("outages"))

    report = commands.add_parser("report", parents=[common],
                                 help="a period's availability, outages and tickets, for a claim")
    report.add_argument("--month", nargs="?", const="", default="", metavar="YYYY-MM",
                        help="the month (default: this month)")
    report.add_argument("--from", dest="date_from", metavar="DATE",
                        help="first day (YYYY-MM-DD, the site's zone), with --to")
    report.add_argument("--to", dest="date_to", metavar="DATE",
                        help="last day, included (YYYY-MM-DD)")
    report.add_argument("--format", choices=("text", "html", "csv", "json"), default="text",
                        help="text (default), html (one self-contained page), csv (one row "
                             "per outage) or json (every figure)")
    report.add_argument("--json", action="store_true", help="the same as --format json")
    report.add_argument("-o", "--output", metavar="FILE",
                        help="write the report to FILE instead of printing it")
    report.add_argument("--link", metavar="NAME",
                        help="the uplink to report on (default: the primary one)")
    report.set_defaults(handler=_lazy("report"))

    evidence = commands.add_parser(
        "evidence", parents=[common],
        help="an incident's raw probe results around each start and end, with its report")
    evidence.add_argument("reference", metavar="REF", help="the ticket, e.g. WD-2026-0007")
    evidence.add_argument("-o", "--output", metavar="DIR", required=True,
                          help="the directory to write the files to (created if missing)")
    evidence.set_defaults(handler=_lazy("evidence"))

    listing = commands.add_parser("tickets", parents=[common],
                                  help="open tickets (--all: every ticket)")
    listing.add_argument("--all", action="store_true", help="also closed and recovered ones")
    listing.add_argument("--json", action="store_true", help="print JSON for programs")
    listing.set_defaults(handler=_lazy("tickets"))

    ticket = commands.add_parser("ticket",
                                 help="one ticket: show, ack, note, provider-ref, close")
    ticket_commands = ticket.add_subparsers(dest="ticket_command", metavar="ACTION",
                                            parser_class=_Parser)
    ticket_commands.required = True
    show = ticket_commands.add_parser("show", parents=[common], help="the ticket's timeline")
    show.add_argument("reference", metavar="REF", help="e.g. WD-2026-0007")
    show.add_argument("--json", action="store_true", help="print JSON for programs")
    show.set_defaults(handler=_lazy("ticket_show"))
    for action, text in (("ack", "acknowledge: stop escalation alerts to management"),
                         ("close", "close by hand: no more reminders")):
        sub = ticket_commands.add_parser(action, parents=[common], help=text)
        sub.add_argument("reference", metavar="REF")
        sub.set_defaults(handler=_lazy("ticket_change", action))
    note = ticket_commands.add_parser("note", parents=[common], help="add a note to the timeline")
    note.add_argument("reference", metavar="REF")
    note.add_argument("text", nargs="+", metavar="TEXT")
    provider = ticket_commands.add_parser(
        "provider-ref", parents=[common],
        help="record the provider's own reference for the ticket (it acknowledged it)")
    provider.add_argument("reference", metavar="REF")
    provider.add_argument("provider_ref", metavar="PROVIDER_REF", help="e.g. 4411-XYZ")
    for sub in (note, provider):
        sub.add_argument("--at", metavar="TIME",
                         help="when it happened, e.g. \"2026-11-26 09:40\" in the site's time "
                              "zone (default: now)")
        sub.add_argument("--by", metavar="NAME", help="who called or wrote it")
    note.set_defaults(handler=_lazy("ticket_change", "note"))
    provider.set_defaults(handler=_lazy("ticket_change", "provider_ref"))

    maintenance = commands.add_parser(
        "maintenance", help="windows of planned works: list, add, remove")
    maintenance_commands = maintenance.add_subparsers(dest="maintenance_command",
                                                      metavar="ACTION", parser_class=_Parser)
    maintenance_commands.required = True
    windows = maintenance_commands.add_parser(
        "list", parents=[common], help="the windows (config and command line), whether they hold")
    windows.add_argument("--all", action="store_true",
                         help="also windows over for more than a week, and removed ones")
    windows.add_argument("--json", action="store_true", help="print JSON for programs")
    windows.set_defaults(handler=_lazy("maintenance_list"))
    declare = maintenance_commands.add_parser(
        "add", parents=[common],
        help="declare planned works: probed and recorded as maintenance, no ticket, left out "
             "of availability")
    declare.add_argument("--from", dest="start", default="now", metavar="WHEN",
                         help="when the works begin: \"2026-12-06 02:00\" in the site's time "
                              "zone, ISO with an offset, or now (default)")
    declare.add_argument("--to", dest="end", required=True, metavar="WHEN",
                         help="when they end: a date and time, or a duration after --from "
                              "(\"+3h\")")
    declare.add_argument("--reason", required=True, help="what the works are (for the record)")
    declare.add_argument("--link", metavar="NAME", help="only this link (default: every link)")
    declare.set_defaults(handler=_lazy("maintenance_change", "add"))
    withdraw = maintenance_commands.add_parser(
        "remove", parents=[common], help="withdraw a window declared with 'maintenance add' "
                                         "(one that has begun ends now)")
    withdraw.add_argument("id", metavar="ID", help="the window's id, from 'maintenance list'")
    withdraw.set_defaults(handler=_lazy("maintenance_change", "remove"))

    outbox = commands.add_parser("outbox", parents=[common],
                                 help="messages not delivered yet, with their last error")
    outbox.add_argument("--all", action="store_true", help="also those sent in the last day")
    outbox.add_argument("--json", action="store_true", help="print JSON for programs")
    outbox.set_defaults(handler=_lazy("outbox"))

    notify = commands.add_parser(
        "notify-test", parents=[common],
        help="send a test through each notification channel now (ticket backends only when "
             "named with --channel: a test would open a ticket at the helpdesk)",
        description="Send a test message through each notification channel now and print "
                    "what each answered (exit 1 if one failed). The ticket backends are left "
                    "alone, and named, since a test would open a ticket at the provider's or "
                    "the helpdesk's: name one with --channel to test its address. Works before "
                    "the daemon's first run (nothing is recorded then).")
    notify.add_argument("--channel", metavar="NAME",
                        help="only this channel or ticket backend (the way to test a ticket "
                             "backend)")
    notify.set_defaults(handler=_lazy("notify_cmd"))

    config = commands.add_parser("config", help="configuration commands")
    config_commands = config.add_subparsers(dest="config_command", metavar="ACTION",
                                            parser_class=_Parser)
    config_commands.required = True
    config_check = config_commands.add_parser(
        "check", parents=[common],
        help="print the effective config, or one line per problem (exit 78); also what would "
             "fail later (the database's directory, secret files, templates) and warnings")
    config_check.add_argument(
        "--strict", action="store_true",
        help="exit 78 on warnings too (no ticket backend or notification channel, none "
             "reachable without the internet, a secret others may read)")
    config_check.add_argument(
        "--user", metavar="NAME",
        help="check the files as this user (default: connectivity-watchdog, the service's, "
             "when run as root and it exists; else you)")
    config_check.set_defaults(handler=_lazy("config_cmd"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except ConfigError as error:
        # Each problem already starts with the file and the key.
        print(error, file=sys.stderr)
        return error.exit_code
    except UserError as error:
        print(f"watchdog: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `watchdog outages | head`: the reader went away; not an error worth a message.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as error:
        if os.environ.get("WATCHDOG_DEBUG"):
            raise
        print(f"watchdog: internal error ({type(error).__name__}: {error}); please report it, "
              "and rerun with WATCHDOG_DEBUG=1 to see the details", file=sys.stderr)
        return EX_SOFTWARE
