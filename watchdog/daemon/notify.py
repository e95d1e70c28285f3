"""sd_notify without a dependency: one datagram to ``$NOTIFY_SOCKET`` (sd_notify(3)).

``READY=1`` once the database is open and every link's first cycle has run; ``WATCHDOG=1``
each time every link has completed a probe cycle (never from a timer of its own, so a stuck
loop gets restarted);
``STATUS=`` a one-line summary for ``systemctl status``; ``RELOADING=1`` and ``STOPPING=1``.
Outside systemd (no ``NOTIFY_SOCKET``) every call is a no-op.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

from watchdog.logs import get_logger

log = get_logger("watchdog.daemon")


def notify(*fields: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``fields`` ("READY=1", "STATUS=...") to systemd; True when a datagram went out.

    A leading ``@`` in the socket address means an abstract socket. A failure is logged once
    per call and never raised: the service must not die because its supervisor is gone.
    """
    address = (environ if environ is not None else os.environ).get("NOTIFY_SOCKET")
    if not address or not fields:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    payload = "\n".join(field.replace("\n", " ") for field in fields).encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(payload)
    except OSError as error:
        log.warning("sd_notify_failed", error=str(error))
        return False
    return True


def watchdog_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether systemd expects ``WATCHDOG=1`` pings (``WatchdogSec=`` is set for us)."""
    env = environ if environ is not None else os.environ
    pid = env.get("WATCHDOG_PID")
    return bool(env.get("WATCHDOG_USEC")) and (pid is None or pid == str(os.getpid()))
