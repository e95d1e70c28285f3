"""``RouteChooser``: which uplink the daemon's messages leave through now.

The monitors know each link's state; ``link.site.carrier`` picks the one the traffic should
leave through. While that is the primary (or its router's backup path), messages take the
default route as they always did; while it is another uplink, they are bound to it (its
interface or source address), since the default route may well point at the dead line. The
delivery loop asks before each attempt (``Deliverer.route``) and the transports apply the
answer to connections bound for the internet (``watchdog.binding``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from watchdog.binding import Binding
from watchdog.link.site import carrier
from watchdog.logs import get_logger

if TYPE_CHECKING:
    from watchdog.daemon.monitor import LinkMonitor

log = get_logger("watchdog.daemon")


class RouteChooser:
    """Chooses the way out from ``monitors`` (the primary's first); says so in the log when
    the choice changes. Safe to call from every delivery thread."""

    def __init__(self, monitors: Sequence[LinkMonitor]) -> None:
        self.monitors = monitors
        self._lock = threading.Lock()
        # The last choice logged: a link's name, "" for none, None before the first.
        self._logged: str | None = None

    def binding(self) -> Binding | None:
        """The binding of the uplink that carries the traffic now when it is not the
        primary; None for the default route (the primary works, its router carries the
        traffic another way, or nothing works and the default route is as good as any)."""
        views = [monitor.view() for monitor in self.monitors]
        chosen = carrier(views)
        monitor = next((m for m in self.monitors if chosen and m.name == chosen.name), None)
        binding = None if monitor is None or monitor.link.primary else Binding.of(monitor.link)
        self._log(chosen.name if chosen else "", binding)
        return binding

    def _log(self, name: str, binding: Binding | None) -> None:
        with self._lock:
            if name == self._logged:
                return
            self._logged = name
        if name:
            log.info("messages_route", uplink=name, binding=str(binding or "default route"))
        else:
            log.warning("messages_route", uplink=None,
                        hint="no uplink works: messages wait in the outbox")
