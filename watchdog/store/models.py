"""The tables, as SQLModel classes. The migrations in ``migrations/versions`` create exactly these.

Two kinds of time columns, on purpose:

* Events (intervals, outages, blips, targets' last results, the heartbeat) use plain ``datetime``
  fields: SQLModel stores them as UTC text ``YYYY-MM-DD HH:MM:SS.ffffff`` and returns aware UTC.
* Probe samples and their roll-ups are the bulk of the file, so they store integer epoch
  milliseconds (``watchdog.clock.to_ms``) in WITHOUT ROWID tables keyed by (time, target):
  about 25 bytes a sample instead of about 60.

Every link (uplink) has its own timeline: targets, intervals, outages, blips and incidents carry
the ``link_id`` of the ``link`` row they belong to (samples and roll-ups through their target).
Constraints guard the timeline's invariants in the database itself: an interval or outage never
ends before it starts, and each link has at most one open interval, one open outage and one
ongoing incident (``ended_at IS NULL``).

Brackets: a start or end that a probe cycle saw keeps its precision beside it, ``*_after`` (the
probes of the kinds that decided were last sent before the change then) and ``*_by`` (the first
cycle that saw the change had sent them by then); see ``watchdog.link.tracker``. NULL means no
probe tells: rows written before brackets were recorded, a start right after start-up or a gap
(``*_after``), an interval the watchdog opened itself (``unknown``), an end nobody saw.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, PrimaryKeyConstraint, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from watchdog.vocabulary import (
    ATTEMPT_OUTCOMES,
    HEARTBEAT_SIGNALS,
    INCIDENT_EVENT_KINDS,
    LINK_STATES,
    OUTAGE_KINDS,
    OUTBOX_STATUSES,
    PROBE_KINDS,
)


class _Table(SQLModel):
    """The tables' base: pydantic builds a model's validator and serializer at their first
    use, not at import (``defer_build``). The daemon writes through SQLAlchemy and uses
    neither: about 0.4 MB less resident (bench resources)."""

    model_config = SQLModel.model_config | {"defer_build": True}


def _one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    """``column IN ('a', 'b')``, named ``<column>_known``: the words of ``watchdog.vocabulary``.

    The migrations spell these lists out; a test checks they still match the vocabulary.
    """
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=f"{column}_known")


def _not_before_start() -> CheckConstraint:
    return CheckConstraint(
        "ended_at IS NULL OR ended_at >= started_at", name="ends_after_start"
    )


def _one_open_per_link(name: str) -> Index:
    """At most one row per link with ``ended_at`` NULL (a partial unique index)."""
    return Index(name, "link_id", unique=True, sqlite_where=text("ended_at IS NULL"))


class Link(_Table, table=True):
    """A link (uplink) watched by its own monitor, and that monitor's heartbeat.

    The heartbeat (``started_at`` … ``clean_shutdown``) is written when the monitor starts,
    after every cycle and at shutdown; ``watchdog status`` judges from it whether the link is
    being watched. A config without links has one, ``DEFAULT_LINK`` (id 1).
    """

    __tablename__ = "link"
    __table_args__ = (UniqueConstraint("name", name="uq_link_name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str
    started_at: datetime
    last_cycle_at: datetime
    pid: int
    ping_interval_s: float
    clean_shutdown: bool = False
    # Whether the system clock was synchronised (NTP) at the last check, NULL when it could
    # not be read; when that was checked, and since when the checks have said the same.
    clock_synced: bool | None = None
    clock_checked_at: datetime | None = None
    clock_status_since: datetime | None = None


class Target(_Table, table=True):
    """A probed thing (ping target, gateway, DNS resolver, HTTP URL) and its last result.

    ``last_*`` are rewritten every cycle so ``watchdog status`` reads them in O(targets).
    """

    __tablename__ = "target"
    __table_args__ = (
        UniqueConstraint("link_id", "kind", "name", name="uq_target_link_kind_name"),
        _one_of("kind", PROBE_KINDS),
    )

    id: int | None = Field(default=None, primary_key=True)
    link_id: int
    kind: str
    name: str
    address: str
    last_at: datetime | None = None
    last_ok: bool | None = None
    last_rtt_ms: float | None = None
    last_error: str | None = None


class ProbeError(_Table, table=True):
    """Error texts ("timeout", "HTTP 503"), stored once and referenced by samples."""

    __tablename__ = "probe_error"
    __table_args__ = (UniqueConstraint("text", name="uq_probe_error_text"),)

    id: int | None = Field(default=None, primary_key=True)
    text: str


class Sample(_Table, table=True):
    """One probe result: ``at_ms`` epoch ms, ``rtt_us`` microseconds (NULL: no answer)."""

    __tablename__ = "sample"
    # Time first: roll-ups, retention and evidence all read time ranges.
    __table_args__ = (
        PrimaryKeyConstraint("at_ms", "target_id", name="pk_sample"),
        {"sqlite_with_rowid": False},
    )

    at_ms: int = Field(primary_key=True)
    target_id: int = Field(primary_key=True)
    rtt_us: int | None = None
    sent: int
    received: int
    ok: bool
    error_id: int | None = None


class _RollupColumns(_Table):
    """Per (period, target): counts and RTT statistics; ``rtt_avg_us`` is sum / samples, exact."""

    target_id: int = Field(primary_key=True)
    samples: int
    failures: int
    sent: int
    lost: int
    rtt_min_us: int | None = None
    rtt_max_us: int | None = None
    rtt_sum_us: int | None = None
    rtt_samples: int = 0

    @property
    def rtt_avg_us(self) -> float | None:
        """Mean round trip in microseconds over the samples that had one; None if none had."""
        if not self.rtt_samples or self.rtt_sum_us is None:
            return None
        return self.rtt_sum_us / self.rtt_samples


class SampleMinute(_RollupColumns, table=True):
    """Samples summed per minute and target; kept ``storage.minute_retention``."""

    __tablename__ = "sample_minute"
    __table_args__ = (
        PrimaryKeyConstraint("minute_ms", "target_id", name="pk_sample_minute"),
        {"sqlite_with_rowid": False},
    )

    minute_ms: int = Field(primary_key=True)


class SampleHour(_RollupColumns, table=True):
    """Samples summed per hour and target; kept forever."""

    __tablename__ = "sample_hour"
    __table_args__ = (
        PrimaryKeyConstraint("hour_ms", "target_id", name="pk_sample_hour"),
        {"sqlite_with_rowid": False},
    )

    hour_ms: int = Field(primary_key=True)


class StateInterval(_Table, table=True):
    """The link held ``state`` from ``started_at`` to ``ended_at`` (NULL: it still holds).

    A link's intervals are contiguous and never overlap; exactly one is open while its
    monitor runs.
    """

    __tablename__ = "state_interval"
    __table_args__ = (
        _one_of("state", LINK_STATES),
        _not_before_start(),
        _one_open_per_link("uq_state_interval_one_open"),
    )

    id: int | None = Field(default=None, primary_key=True)
    link_id: int
    state: str
    cause: str
    started_at: datetime = Field(index=True)
    ended_at: datetime | None = Field(default=None, index=True)
    start_after: datetime | None = None
    start_by: datetime | None = None
    # The cause in a word (``evidence["cause"]["code"]`` of the change: "isp",
    # "gateway_silent", "other_path"...); NULL for the watchdog's own intervals and rows
    # written before it was recorded. ``other_path``: the site's traffic still flows.
    cause_code: str | None = None


class Outage(_Table, table=True):
    """A confirmed outage: ``kind`` isp, lan or dns; ``ended_at`` NULL while it goes on.

    ``evidence`` is JSON text (the opening transition's summary). ``unobserved_seconds`` is time
    inside the outage when the daemon was not running. ``end_observed`` is NULL while open, True
    when a probe saw the end, False when it ended while the daemon was down (``ended_at`` is then
    the last moment it was seen).
    """

    __tablename__ = "outage"
    __table_args__ = (
        _one_of("kind", OUTAGE_KINDS),
        _not_before_start(),
        _one_open_per_link("uq_outage_one_open"),
    )

    id: int | None = Field(default=None, primary_key=True)
    link_id: int
    kind: str
    started_at: datetime = Field(index=True)
    ended_at: datetime | None = Field(default=None, index=True)
    cause: str
    evidence: str = "{}"
    unobserved_seconds: float = 0.0
    end_observed: bool | None = None
    # The incident (ticket) this outage belongs to; several close cuts share one.
    incident_id: int | None = Field(default=None, index=True)
    start_after: datetime | None = None
    start_by: datetime | None = None
    end_after: datetime | None = None
    end_by: datetime | None = None


class Blip(_Table, table=True):
    """A failure shorter than the confirmation: recorded, not an outage."""

    __tablename__ = "blip"
    __table_args__ = (_one_of("state", LINK_STATES), _not_before_start())

    id: int | None = Field(default=None, primary_key=True)
    link_id: int
    state: str
    started_at: datetime = Field(index=True)
    ended_at: datetime = Field(index=True)
    cycles: int
    cause: str
    start_after: datetime | None = None
    start_by: datetime | None = None
    end_after: datetime | None = None
    end_by: datetime | None = None


class MaintenanceWindow(_Table, table=True):
    """A window of planned works declared from the command line (``watchdog maintenance``).

    ``link`` is the link's name (NULL: every link). A window is never deleted: removing it
    sets ``removed_at``, and it then holds only until that moment (if it had begun), so what
    the daemon honoured stays on the record. Windows of the config file are not stored.
    """

    __tablename__ = "maintenance_window"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="window_ends_after_start"),)

    id: int | None = Field(default=None, primary_key=True)
    link: str | None = None
    starts_at: datetime
    ends_at: datetime = Field(index=True)
    reason: str
    created_at: datetime
    created_by: str
    removed_at: datetime | None = None


class Watermark(_Table, table=True):
    """The single row (id 1) of maintenance progress, in epoch ms (NULL: not started).

    Minutes before ``minute_until_ms`` and hours before ``hour_until_ms`` are rolled up; raw
    samples before ``raw_purged_until_ms`` have been purged (evidence windows excepted).
    """

    __tablename__ = "watermark"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: int = Field(default=1, primary_key=True)
    minute_until_ms: int | None = None
    hour_until_ms: int | None = None
    raw_purged_until_ms: int | None = None


class Incident(_Table, table=True):
    """One incident: an outage, or several close cuts merged, and its ticket.

    ``ended_at`` is NULL while one of its outages goes on. ``reference`` (``WD-2026-0007``) is
    set when the ticket opens, after ``incidents.open_after``. ``steps_done`` counts the
    escalation steps already taken. ``closed_at`` is set when the ticket is closed, by the
    recovery or by hand (``closed_by``); a closed incident neither escalates nor reopens.
    ``provider_ref`` is the provider's own reference for the ticket, recorded by hand
    (``watchdog ticket provider-ref``); ``provider_ref_at`` when the provider acknowledged it.
    """

    __tablename__ = "incident"
    __table_args__ = (
        _one_of("kind", OUTAGE_KINDS),
        _not_before_start(),
        UniqueConstraint("reference", name="uq_incident_reference"),
        _one_open_per_link("uq_incident_one_ongoing"),
    )

    id: int | None = Field(default=None, primary_key=True)
    link_id: int
    kind: str
    started_at: datetime = Field(index=True)
    ended_at: datetime | None = Field(default=None, index=True)
    reference: str | None = None
    ticket_opened_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    acked_at: datetime | None = None
    steps_done: int = 0
    reminders_sent: int = 0
    gtr_breached: bool = False
    cuts: int = 1
    cause: str = ""
    provider_ref: str | None = None
    provider_ref_at: datetime | None = None


class IncidentEvent(_Table, table=True):
    """A line of an incident's timeline: what happened, what was sent to whom.

    A line written by a person names them (``author``); one written after the fact (a phone
    call noted later) keeps when it happened in ``at`` and when it was written in
    ``recorded_at`` (NULL: at ``at``).
    """

    __tablename__ = "incident_event"
    __table_args__ = (_one_of("kind", INCIDENT_EVENT_KINDS),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(index=True)
    at: datetime
    kind: str
    text: str
    channel: str | None = None
    author: str | None = None
    recorded_at: datetime | None = None


class OutboxMessage(_Table, table=True):
    """A message to deliver, written in the same transaction as the event that causes it.

    ``key`` is the idempotency key (unique: an event enqueues its message once, whatever
    happens). ``context`` is the JSON the templates render at send time. A message is
    ``pending`` until a sender claims it (``sending``), then ``sent`` (never again), ``failed``
    (permanently: ``last_error`` says why), ``superseded`` by a newer message of its
    ``group_key`` (a flapping incident's notices are grouped), or ``folded`` into a newer
    message of its incident that lists it. ``folded_into`` is the id of the message that
    superseded it or that it was folded into. Every attempt is a ``DeliveryAttempt`` row.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        _one_of("status", OUTBOX_STATUSES),
        UniqueConstraint("key", name="uq_outbox_key"),
        Index("ix_outbox_channel_status_due", "channel", "status", "due_at"),
        # What was folded into a message, read when it is claimed: few rows, a partial index.
        Index("ix_outbox_folded_into", "folded_into",
              sqlite_where=text("folded_into IS NOT NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str
    channel: str
    event: str
    incident_id: int | None = Field(default=None, index=True)
    event_at: datetime
    created_at: datetime
    due_at: datetime
    status: str = "pending"
    attempts: int = 0
    last_attempt_at: datetime | None = None
    last_error: str | None = None
    sent_at: datetime | None = None
    message_id: str | None = None
    context: str = "{}"
    response: str | None = None
    external_id: str | None = None
    group_key: str | None = None
    folded_into: int | None = None


class DeliveryAttempt(_Table, table=True):
    """One attempt to deliver an outbox message: the proof of delivery, or of trying.

    ``number`` counts the message's attempts from 1. ``finished_at`` and ``outcome`` are NULL
    while it is in flight. ``server`` is where it went (``relay:587 [192.0.2.25]``, a URL
    without its secrets); ``reply`` is what the server answered (SMTP's reply to the data,
    ``250 2.0.0 Ok: queued as 4F2A``; ``HTTP 201 Created`` and the start of the body);
    ``error`` why it failed. Never a password, a token or a signing key.
    """

    __tablename__ = "delivery_attempt"
    __table_args__ = (
        _one_of("outcome", ATTEMPT_OUTCOMES),
        UniqueConstraint("outbox_id", "number", name="uq_delivery_attempt_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Looked up through the unique (outbox_id, number) index.
    outbox_id: int
    number: int
    started_at: datetime
    finished_at: datetime | None = None
    outcome: str | None = None
    server: str | None = None
    reply: str | None = None
    error: str | None = None


class HeartbeatPing(_Table, table=True):
    """The last heartbeat of each ``[[heartbeat]]`` (the dead-man's switch), by its name.

    One row per heartbeat, rewritten at each send: not a message (nothing is kept to send
    later), the record ``watchdog status`` and ``/metrics`` read. ``host`` is the service's
    ``scheme://host:port``, never the URL's path or query (the secret). ``state`` is the state
    reported (NULL for a start or a note); ``ok`` whether the service took it, ``answer`` what
    it said and ``error`` why it did not count; ``last_ok_at`` the last one it took.
    ``reported_outage_id`` is the newest outage whose summary was delivered (or, for a new
    heartbeat, the newest before it began): the next recovery reports the outages after it.
    """

    __tablename__ = "heartbeat_ping"
    __table_args__ = (
        UniqueConstraint("name", name="uq_heartbeat_ping_name"),
        _one_of("signal", HEARTBEAT_SIGNALS),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str
    style: str
    host: str
    sent_at: datetime
    signal: str
    state: str | None = None
    ok: bool
    answer: str = ""
    error: str | None = None
    last_ok_at: datetime | None = None
    reported_outage_id: int | None = None
