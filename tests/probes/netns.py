"""Private network namespaces for tests, entered by one thread of the test process.

A Linux network namespace belongs to a thread, not to a process: after ``unshare(CLONE_NEWNET)``
only the calling thread (and the threads and processes it starts) use the new namespace, while
the rest of the test process stays in the host's. So a test can run real probes there, against
addresses that exist nowhere else, with ``net.ipv4.ping_group_range`` widened, and nothing it
sends can leave the machine: the namespace holds only its loopback and, on request, a veth pair
to a second namespace acting as a router.

Caveat: ``/proc/net`` points at the *process's* namespace; read ``/proc/thread-self/net`` instead.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import queue
import shutil
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

SKIP_REASON = "needs root for network namespaces"
CLONE_NEWNET = 0x40000000
WIDE_PING_GROUP_RANGE = "0 2147483647"
CALL_TIMEOUT = 60.0

# With add_router(): our side of the link, the router, an address on the link nobody has
# (ARP gets no answer: pings time out), a network the router reports as unreachable, and one
# whose packets it drops without a word (as many silent hosts as a test wants).
LINK_ADDRESS = "10.77.0.1"
ROUTER_ADDRESS = "10.77.0.2"
SILENT_ADDRESS = "10.77.0.9"
UNREACHABLE_NETWORK = "10.99.0.0/16"
UNREACHABLE_ADDRESS = "10.99.0.5"
SILENT_NETWORK = "10.88.0.0/16"

T = TypeVar("T")
_names = itertools.count()


class NamespaceUnavailable(Exception):
    """This machine or user cannot create network namespaces."""


class IsolatedNetwork:
    """A network namespace with loopback up, served by a worker thread.

    ``call(function, ...)`` runs ``function`` in the namespace and returns its result;
    ``sh(command)`` runs a shell command there. ``ping_group_range``: the sysctl's value in the
    namespace (None: leave the kernel default "1 0", which allows nobody).
    """

    def __init__(self, ping_group_range: str | None = WIDE_PING_GROUP_RANGE) -> None:
        self._ping_group_range = ping_group_range
        self._jobs: queue.Queue[tuple[Callable[[], Any], Future[Any]] | None] = queue.Queue()
        self._ready: Future[None] = Future()
        self._thread = threading.Thread(target=self._serve, name="netns", daemon=True)
        self._peers: list[str] = []

    def __enter__(self) -> IsolatedNetwork:
        if os.geteuid() != 0:
            raise NamespaceUnavailable("not root")
        if shutil.which("ip") is None:
            raise NamespaceUnavailable("the ip command (iproute2) is missing")
        self._thread.start()
        self._ready.result(timeout=CALL_TIMEOUT)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=CALL_TIMEOUT)
        for name in self._peers:
            subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)

    def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``function(*args, **kwargs)`` inside the namespace and return what it returns."""
        future: Future[T] = Future()
        self._jobs.put((lambda: function(*args, **kwargs), future))
        return future.result(timeout=CALL_TIMEOUT)

    def sh(self, command: str) -> str:
        """Run a shell command inside the namespace; return its output, raise if it fails."""
        done = self.call(
            subprocess.run, command, shell=True, capture_output=True, text=True, check=False
        )
        if done.returncode:
            raise RuntimeError(f"{command!r} failed: {done.stderr.strip()}")
        return str(done.stdout)

    def add_router(self) -> str:
        """Link this namespace to a second one that routes for it; return the router's name.

        Our side gets LINK_ADDRESS and a default route via ROUTER_ADDRESS. The router answers
        pings, rejects UNREACHABLE_ADDRESS's network with ICMP "host unreachable" (without
        rate limit), drops SILENT_NETWORK's packets silently, and nobody answers
        SILENT_ADDRESS. The router has no other link: nothing it receives can leave the
        machine.
        """
        name = f"wdtest-{os.getpid()}-{next(_names)}"
        self.sh(f"ip netns add {name}")
        self._peers.append(name)
        self.sh(f"ip link add wd0 type veth peer name wd1 netns {name}")
        self.sh(f"ip addr add {LINK_ADDRESS}/24 dev wd0 && ip link set wd0 up")
        self.sh(f"ip route add default via {ROUTER_ADDRESS}")
        self.sh(
            f"ip -n {name} link set lo up && ip -n {name} addr add {ROUTER_ADDRESS}/24 dev wd1 "
            f"&& ip -n {name} link set wd1 up"
        )
        self.sh(f"ip netns exec {name} sysctl -qw net.ipv4.ip_forward=1 net.ipv4.icmp_ratelimit=0")
        self.sh(f"ip -n {name} route add unreachable {UNREACHABLE_NETWORK}")
        self.sh(f"ip -n {name} route add blackhole {SILENT_NETWORK}")
        return name

    def _serve(self) -> None:
        try:
            self._enter_namespace()
        except BaseException as error:
            self._ready.set_exception(error)
            return
        self._ready.set_result(None)
        while (job := self._jobs.get()) is not None:
            function, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(function())
            except BaseException as error:
                future.set_exception(error)

    def _enter_namespace(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(CLONE_NEWNET) != 0:
            raise NamespaceUnavailable(f"unshare: {os.strerror(ctypes.get_errno())}")
        # Processes started from this thread inherit its namespace, so `ip` acts on ours.
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True, capture_output=True)
        if self._ping_group_range is not None:
            # /proc/sys/net shows the namespace of the thread that opens it: this one.
            Path("/proc/sys/net/ipv4/ping_group_range").write_text(self._ping_group_range)
