"""What arrived against what the outbox holds: lost, redelivered and duplicated messages.

Pure functions of the outbox rows and the ids the receivers logged (no namespaces): shared by
the crash tests and bench/alerts.py, tested in tests/bench/test_alerts_harness.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass

from testbed.daemon.alert_servers import (
    HOOK_CHANNEL,
    ISP_CHANNEL,
    MANAGEMENT_CHANNEL,
    AlertServers,
    message_id_of,
)
from testbed.daemon.records import OutboxRow

WEBHOOK_CHANNELS = frozenset({HOOK_CHANNEL})
# Statuses after which the outbox will not try a row again (a folded row's news travels in the
# message it was folded into).
FINAL_STATUSES = frozenset({"sent", "superseded", "folded"})

# (channel, the outage a message is about, event, cut): two delivered rows with the same
# identity are one message delivered twice under two ids.
Identity = tuple[str, object, str, object]


def delivery_id(row: OutboxRow, webhook_channels: Collection[str] = WEBHOOK_CHANNELS) -> str:
    """What a receiver sees of ``row``: the Idempotency-Key of a webhook, else the
    Message-ID of the email."""
    return row.key if row.channel in webhook_channels else message_id_of(row.key)


def cut_of(key: str) -> int:
    """Which cut of its incident an incident message is about: the number in ``cut:N``,
    ``recovered:N``, ``close:N`` keys, 1 for the rest (``started``, ``ticket_open``, ...)."""
    for part in key.split(":")[2:]:
        if part.isdigit():
            return int(part)
    return 1


@dataclass(frozen=True, slots=True)
class DeliveryAudit:
    """The outbox against the receivers' logs.

    ``unsent``: rows the outbox still means to send (or gave up on): lost if the run is over.
    ``missing``: rows recorded as sent whose id never arrived: lost on the way.
    ``unexpected``: (channel, id) that arrived but match no row of that channel.
    ``redelivered``: (channel, id) → how many times it arrived, when more than once: the same
    message again, recognisable by its id (allowed for a message in flight at a crash).
    ``duplicates``: one message (same ``Identity``) delivered under several ids: the
    duplicates a receiver cannot recognise (must never happen).
    """

    rows: int
    delivered: int
    unsent: tuple[OutboxRow, ...]
    missing: tuple[OutboxRow, ...]
    unexpected: tuple[tuple[str, str], ...]
    redelivered: dict[tuple[str, str], int]
    duplicates: dict[Identity, tuple[str, ...]]

    @property
    def lost(self) -> int:
        return len(self.unsent) + len(self.missing)

    @property
    def redeliveries(self) -> int:
        """Extra arrivals of ids that had already arrived."""
        return sum(count - 1 for count in self.redelivered.values())

    @property
    def unrecognisable_duplicates(self) -> int:
        return sum(len(ids) - 1 for ids in self.duplicates.values())


def audit_deliveries(
    rows: Collection[OutboxRow],
    received: dict[str, list[str]],
    *,
    outage_of: Callable[[int | None], object] = lambda incident_id: incident_id,
    webhook_channels: Collection[str] = WEBHOOK_CHANNELS,
) -> DeliveryAudit:
    """Compare the outbox ``rows`` with ``received`` (channel → ids in arrival order).

    ``outage_of`` maps an incident id to the real outage it is about (the harness knows the
    cuts it made): two incidents for one outage then count as one message sent twice.
    """
    by_id: dict[tuple[str, str], OutboxRow] = {
        (row.channel, delivery_id(row, webhook_channels)): row for row in rows}
    arrivals: Counter[tuple[str, str]] = Counter(
        (channel, item) for channel, ids in received.items() for item in ids)
    unsent = tuple(row for row in rows if row.status not in FINAL_STATUSES)
    missing = tuple(row for row in rows if row.status == "sent"
                    and arrivals[(row.channel, delivery_id(row, webhook_channels))] == 0)
    unexpected = tuple(sorted(pair for pair in arrivals if pair not in by_id))
    redelivered = {pair: count for pair, count in arrivals.items() if count > 1}
    identities: dict[Identity, set[str]] = {}
    for pair in arrivals:
        row = by_id.get(pair)
        if row is None:
            continue
        identity: Identity = (
            (row.channel, outage_of(row.incident_id), row.event, cut_of(row.key))
            if row.incident_id is not None else (row.channel, None, row.event, row.key))
        identities.setdefault(identity, set()).add(pair[1])
    return DeliveryAudit(
        rows=len(rows),
        delivered=sum(1 for pair in arrivals if pair in by_id),
        unsent=unsent, missing=missing, unexpected=unexpected, redelivered=redelivered,
        duplicates={identity: tuple(sorted(ids)) for identity, ids in identities.items()
                    if len(ids) > 1},
    )


def received_ids(servers: AlertServers) -> dict[str, list[str]]:
    """Channel → the ids its receiver logged, in arrival order."""
    return {
        ISP_CHANNEL: [mail.message_id for mail in servers.isp_mail()],
        MANAGEMENT_CHANNEL: [mail.message_id for mail in servers.management_mail()],
        HOOK_CHANNEL: [hook.key or "" for hook in servers.hooks()],
    }
