"""What ``/metrics`` reads beyond ``read_status``: each target's probes over the detection
window, outages by kind, open tickets, and each channel's outbox queue (stdlib ``sqlite3``).

Every query is bounded: the window's samples through the sample table's primary key (time
first), the link's outages and tickets through its id, the outbox's undelivered rows by status.
So a scrape costs the same on a month's history as on three years'.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from watchdog.clock import to_ms
from watchdog.store.reader import connect
from watchdog.store.timetext import from_text
from watchdog.vocabulary import DEFAULT_LINK, OUTAGE_KINDS, QUEUED_STATUSES, OutageKind

_QUEUED = ", ".join(f"'{status}'" for status in QUEUED_STATUSES)

# A target's samples since the window's start: a range on sample's primary key per target.
_WINDOW = (
    "SELECT t.kind, t.name, t.last_ok, count(s.at_ms), sum(s.sent), sum(s.received), "
    "sum(s.rtt_us), count(s.rtt_us) "
    "FROM target t LEFT JOIN sample s ON s.target_id = t.id AND s.at_ms >= ? "
    "WHERE t.link_id = ? GROUP BY t.id ORDER BY t.id"
)
_OUTAGES = "SELECT kind, count(*) FROM outage WHERE link_id = ? GROUP BY kind"
# Open tickets as ``watchdog tickets`` lists them: a reference, link still down, not closed.
_TICKETS = (
    "SELECT count(*), coalesce(sum(gtr_breached), 0) FROM incident "
    "WHERE link_id = ? AND reference IS NOT NULL AND ended_at IS NULL AND closed_at IS NULL"
)
_OUTBOX = (
    "SELECT channel, status, count(*), min(created_at) FROM outbox "
    f"WHERE status IN ({_QUEUED}, 'failed') GROUP BY channel, status"
)


@dataclass(frozen=True, slots=True)
class TargetWindow:
    """One target's probes over the window: its last result, the echo requests (or checks)
    sent and answered, and the mean round trip of those answered (None: none was)."""

    kind: str
    name: str
    last_ok: bool | None
    samples: int
    sent: int
    received: int
    mean_rtt_ms: float | None

    @property
    def loss_ratio(self) -> float | None:
        """Share of what was sent that got no answer (None: nothing sent in the window)."""
        return None if not self.sent else (self.sent - self.received) / self.sent


@dataclass(frozen=True, slots=True)
class LinkFigures:
    """A link's figures for ``/metrics`` (beside ``read_status``'s)."""

    targets: tuple[TargetWindow, ...]
    outages: dict[OutageKind, int]
    tickets_open: int
    tickets_gtr_breached: int


@dataclass(frozen=True, slots=True)
class ChannelQueue:
    """A channel's undelivered messages: still to be sent (pending or being sent), the
    oldest of those queued since (None: none), and those given up (failed)."""

    channel: str
    queued: int
    oldest_queued_at: datetime | None
    failed: int


def read_link_figures(path: Path, now: datetime, window: timedelta, *,
                      link: str = DEFAULT_LINK) -> LinkFigures:
    """The link's targets over [``now - window``, now], its outages by kind (all time) and its
    open tickets. A link never watched has no target and no outage. Raises ``DatabaseError``."""
    with connect(Path(path)) as connection:
        row = connection.execute("SELECT id FROM link WHERE name = ?", (link,)).fetchone()
        link_id = None if row is None else row[0]
        targets = tuple(
            TargetWindow(kind, name, None if last_ok is None else bool(last_ok), samples,
                         sent or 0, received or 0,
                         None if not answered else rtt_sum_us / answered / 1000)
            for kind, name, last_ok, samples, sent, received, rtt_sum_us, answered
            in connection.execute(_WINDOW, (to_ms(now - window), link_id))
        )
        counted = dict(connection.execute(_OUTAGES, (link_id,)).fetchall())
        tickets_open, breached = connection.execute(_TICKETS, (link_id,)).fetchone()
    return LinkFigures(targets, {kind: counted.get(kind, 0) for kind in OUTAGE_KINDS},
                       tickets_open, breached)


def read_outbox_queues(path: Path, channels: list[str]) -> list[ChannelQueue]:
    """Each of ``channels`` (the config's), then any other channel with undelivered messages
    (one removed from the config still holds its queue). Raises ``DatabaseError``."""
    queued: dict[str, int] = dict.fromkeys(channels, 0)
    failed: dict[str, int] = dict.fromkeys(channels, 0)
    oldest: dict[str, datetime] = {}
    with connect(Path(path)) as connection:
        rows = connection.execute(_OUTBOX).fetchall()
    for channel, status, count, first in rows:
        queued.setdefault(channel, 0)
        failed.setdefault(channel, 0)
        if status == "failed":
            failed[channel] += count
            continue
        queued[channel] += count
        moment = from_text(first)
        if channel not in oldest or moment < oldest[channel]:
            oldest[channel] = moment
    return [ChannelQueue(channel, queued[channel], oldest.get(channel), failed[channel])
            for channel in queued]
