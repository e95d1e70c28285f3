"""The record of each heartbeat's last send (``heartbeat_ping``), written by the daemon.

One row per ``[[heartbeat]]``, by its name, rewritten at each send inside the caller's write
transaction (``Store.write()``). The stdlib reader for it is ``store.heartbeat_reader``.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from watchdog.store.models import HeartbeatPing
from watchdog.vocabulary import HeartbeatSignal, LinkState


def record(
    session: Session,
    name: str,
    *,
    style: str,
    host: str,
    sent_at: datetime,
    signal: HeartbeatSignal,
    state: LinkState | None,
    ok: bool,
    answer: str,
    error: str | None,
    reported_outage_id: int | None,
) -> None:
    """The heartbeat ``name`` said ``signal`` (reporting ``state``) to ``host`` at
    ``sent_at``; the service took it (``ok``) or not (``error``), answering ``answer``.

    ``reported_outage_id``: the newest outage whose summary has been delivered (None keeps
    the stored one). ``host`` is the service's origin, never its URL (the secret).
    """
    row = session.exec(select(HeartbeatPing).where(col(HeartbeatPing.name) == name)).first()
    if row is None:
        row = HeartbeatPing(name=name, style=style, host=host, sent_at=sent_at, signal=signal,
                            ok=ok)
    row.style, row.host, row.sent_at, row.signal = style, host, sent_at, signal
    row.state, row.ok, row.answer, row.error = state, ok, answer, error
    if ok:
        row.last_ok_at = sent_at
    if reported_outage_id is not None:
        row.reported_outage_id = reported_outage_id
    session.add(row)
