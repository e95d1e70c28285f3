"""``watchdog notify-test [--channel NAME]``: a test message through each channel, now."""

from __future__ import annotations

import argparse
import tempfile
import uuid
from contextlib import ExitStack
from pathlib import Path

from watchdog import clock
from watchdog.cli.common import config_from
from watchdog.config.zone import site_zone
from watchdog.errors import EX_USAGE, UserError


def command(args: argparse.Namespace) -> int:
    """Send a test through each notification channel now (not behind its queue); print results.

    Ticket backends are left alone (a test there would open a real ticket at the provider's
    helpdesk) unless one is named with ``--channel``; the output names them. On a database
    the daemon has not created yet, the tests are sent through a scratch one and not kept:
    a channel can be tried before the daemon's first run, and nothing here creates the
    service's database (as root, it would be root's).
    """
    from watchdog import logs
    from watchdog.channels.provider import NOTIFY, TICKETS
    from watchdog.channels.registry import configured, providers
    from watchdog.delivery import outbox as outbox_rows
    from watchdog.delivery.senders import build_senders
    from watchdog.delivery.worker import Deliverer
    from watchdog.incidents.context import base
    from watchdog.store.writer import Store

    logs.configure_for_command("error")  # stdout is the results; each FAILED says why
    config = config_from(args, secrets=True)
    senders = build_senders(config, site_zone(config))
    tickets = [channel.entry.name for channel in configured(config, TICKETS)]
    if args.channel:
        names = [name for name in senders if name == args.channel]
        if not names:
            known = ", ".join(senders) or "none configured"
            raise UserError(f"no channel {args.channel!r} (known: {known})", EX_USAGE)
    else:
        names = [channel.entry.name for channel in configured(config, NOTIFY)]
        if tickets:
            print(f"Not tested: the ticket backends {', '.join(tickets)} (a test would open a "
                  "ticket at the helpdesk); name one with --channel to test it.")
    if not names:
        tables = ", ".join(f"[[{provider.table}]]" for provider in providers(NOTIFY))
        print(f"No notification channel is configured ({tables}).")
        return 0
    failures = 0
    batch = uuid.uuid4().hex[:12]
    with ExitStack() as stack:
        database, scratch = config.storage.database, False
        if not _has_schema(database):
            print(f"{database} does not exist yet (the daemon creates it on its first run): "
                  "these tests are not recorded.")
            database = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "test.db"
            scratch = True
        # The service's database is never migrated here: that is the daemon's (with a backup).
        store = stack.enter_context(Store.open(database, migrate=scratch))
        deliverer = Deliverer(store, senders)
        for name in names:
            now = clock.utcnow()
            with store.write() as session:
                row = outbox_rows.enqueue(
                    session, key=f"test:{batch}:{name}", channel=name, event="test",
                    event_at=now, now=now, context=base(config, "test", name, now))
                assert row is not None and row.id is not None
                outbox_rows.begin_attempt(session, row, now)
                message_id = row.id
            ok, result = deliverer.send_now(name, message_id)
            failures += 0 if ok else 1
            print(f"{name}: {'ok' if ok else 'FAILED'} — {result}")
    return 1 if failures else 0


def _has_schema(database: Path) -> bool:
    """Whether ``database`` exists with tables in it (stdlib only; creates nothing)."""
    from watchdog.store.migrate import inspect

    try:
        if not database.is_file() or database.stat().st_size == 0:
            return False
    except OSError:
        return True  # not ours to judge: opening it says what is wrong
    return not inspect(database).empty
