"""A network lab for end-to-end tests: three network namespaces, office ↔ router ↔ internet.

::

    office 192.0.2.10/24 ── wd-lan ── 192.0.2.1/24 router 198.51.100.1/30 ── wd-wan ──
        198.51.100.2/30 internet, with the "internet hosts" as /32 addresses on its loopback:
        ping targets 203.0.113.1-3, resolvers 203.0.113.53 and .54 (UDP 53),
        web server 203.0.113.80 (TCP 80)

Only documentation ranges are used, and nothing is ever added to the host's own namespace: veth
pairs are created directly inside the namespaces (``ip -n NS link add ... peer ... netns OTHER``),
every kernel change goes through ``ip -n NS`` or ``ip netns exec NS``, and the interfaces are called
``wd-lan``/``wd-wan`` so that a command that missed its namespace fails instead of touching the
host. No namespace has a route out of the 192.0.2.0/24, 198.51.100.0/30, 203.0.113.0/24 triangle.

Names are ``wd-<pid>-<n>-office|router|internet``. Starting a lab first deletes the ``wd-<pid>-*``
namespaces (and kills the processes left inside them) of processes that no longer exist: the
remains of a run that was killed before its finalizers ran. Labs of live processes are left alone,
so several engineers can run the end-to-end tests at the same time.

Faults are applied by the kernel of the router or internet namespace and each returns the
wall-clock instant (aware UTC, real clock, never time-machine'd) taken right *after* the kernel
change completed: from that instant on every packet sees the fault. The instant taken right before
it is kept in ``Lab.events`` too, so a benchmark can bracket the change (they are ~3 ms apart).

Use it as a context manager (``with Lab() as lab:``) or through the ``lab`` fixture of
``tests/e2e/conftest.py``. It needs root, ``ip`` (iproute2) and, for ``packet_loss`` and
``kill_gateway``, ``nft`` (nftables).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ipaddress
import itertools
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

REPO = Path(__file__).resolve().parents[2]

Node = Literal["office", "router", "internet"]
NODES: tuple[Node, ...] = ("office", "router", "internet")
LossDirection = Literal["up", "down", "both"]

OFFICE_ADDRESS = "192.0.2.10"
GATEWAY_ADDRESS = "192.0.2.1"
LAN_NETWORK = "192.0.2.0/24"
ROUTER_WAN_ADDRESS = "198.51.100.1"
INTERNET_WAN_ADDRESS = "198.51.100.2"
WAN_PREFIX = 30
INTERNET_NETWORK = "203.0.113.0/24"
PING_TARGETS = ("203.0.113.1", "203.0.113.2", "203.0.113.3")
DNS_SERVERS = ("203.0.113.53", "203.0.113.54")
DNS_PORT = 53
HTTP_SERVER = "203.0.113.80"
HTTP_PORT = 80
# What tests/support/dns_server.py answers for any name in its default mode.
DNS_ANSWER = "192.0.2.10"
INTERNET_HOSTS = (*PING_TARGETS, *DNS_SERVERS, HTTP_SERVER)

LAN_INTERFACE = "wd-lan"
WAN_INTERFACE = "wd-wan"
NAME_PREFIX = "wd-"
NETNS_DIR = Path("/var/run/netns")

# How long a service may take from spawn to answering on its port.
SERVICE_READY_TIMEOUT = 10.0
# How long close() lets a process exit on SIGTERM before it sends SIGKILL.
TERMINATE_GRACE = 3.0
# Timeout of every ip/nft/sysctl command the lab runs itself.
COMMAND_TIMEOUT = 10.0

_NAME_PATTERN = re.compile(r"^wd-(\d+)-")
_WORKDIR_PATTERN = re.compile(r"^wd-(\d+)-\d+-\w+$")
_CLONE_NEWNET = 0x40000000
_NFT_LOSS_TABLE = "wdlab_loss"
_NFT_GATEWAY_TABLE = "wdlab_gateway"
_lab_numbers = itertools.count()


class LabError(RuntimeError):
    """The lab could not be built, changed or torn down; the message names the command and why."""


@dataclass(frozen=True)
class FaultEvent:
    """One change applied to the lab: ``before``/``after`` bracket the kernel change (aware UTC)."""

    name: str
    detail: str
    before: datetime
    after: datetime


@dataclass(frozen=True)
class Echo:
    """One ICMP echo request: when it left and its round-trip time (``None``: no reply in time)."""

    address: str
    sequence: int
    sent: datetime
    rtt: float | None

    @property
    def answered(self) -> bool:
        return self.rtt is not None


@dataclass(frozen=True)
class PingReport:
    """Every echo of one ``Lab.ping`` call, in sending order."""

    echoes: tuple[Echo, ...]

    def of(self, address: str) -> list[Echo]:
        return [echo for echo in self.echoes if echo.address == address]

    def received(self, address: str) -> int:
        return sum(echo.answered for echo in self.of(address))

    def answered(self, address: str) -> bool:
        """True when at least one echo to ``address`` was answered."""
        return self.received(address) > 0

    def loss(self, address: str) -> float:
        """Fraction of the echoes to ``address`` that got no reply (0.0 to 1.0)."""
        echoes = self.of(address)
        if not echoes:
            raise ValueError(f"no echo was sent to {address}")
        return 1.0 - self.received(address) / len(echoes)


@dataclass
class _Service:
    kind: Literal["dns", "http"]
    address: str
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None


# Runs inside a namespace with the project's interpreter: sends ``count`` echo requests to every
# address, one round every ``spacing`` seconds, through one unprivileged ICMP socket (icmplib),
# collects replies until ``timeout`` after the last send and prints [address, seq, sent, rtt|null].
_PING_SCRIPT = r"""
import encodings.idna, json, os, sys, time  # idna: socket.getaddrinfo needs it after setuid
from icmplib import ICMPRequest, ICMPv4Socket
from icmplib.exceptions import ICMPLibError

addresses = json.loads(sys.argv[1])
count, spacing, timeout = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
uid = int(sys.argv[5])
if uid >= 0:
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
sock = ICMPv4Socket(privileged=False)
sent, rtts = {}, {}

def drain(deadline):
    while (left := deadline - time.time()) > 0:
        try:
            reply = sock.receive(None, left)
        except ICMPLibError:
            return
        key = (reply.source, reply.sequence)
        if reply.type == 0 and key in sent and key not in rtts:
            rtts[key] = reply.time - sent[key]

start = time.time()
for sequence in range(count):
    drain(start + sequence * spacing)
    for address in addresses:
        sent[(address, sequence)] = time.time()
        try:
            sock.send(ICMPRequest(address, 0, sequence))
        except ICMPLibError:
            pass
drain(time.time() + timeout)
sock.close()
print(json.dumps([[a, s, t, rtts[(a, s)] if rtts.get((a, s), timeout + 1) <= timeout else None]
                  for (a, s), t in sent.items()]))
"""


def _now() -> datetime:
    return datetime.now(UTC)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _command(argv: Sequence[str], *, input_text: str | None = None, check: bool = True) -> str:
    """Run one of the lab's own commands; raise ``LabError`` with its stderr when it fails."""
    try:
        done = subprocess.run(
            list(argv), input=input_text, capture_output=True, text=True,
            timeout=COMMAND_TIMEOUT, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise LabError(f"{' '.join(argv)}: could not run ({error})") from error
    if check and done.returncode != 0:
        script = f" with input:\n{input_text}" if input_text else ""
        raise LabError(f"{' '.join(argv)} failed ({done.returncode}): "
                       f"{done.stderr.strip() or done.stdout.strip()}{script}")
    return done.stdout


def list_namespaces() -> list[str]:
    """Names of all network namespaces ``ip netns`` knows about (the host's whole list)."""
    output = _command(["ip", "netns", "list"])
    return [line.split()[0] for line in output.splitlines() if line.strip()]


def sweep_stale_namespaces() -> list[str]:
    """Delete ``wd-<pid>-*`` namespaces whose process is gone, killing what still runs in them,
    and their ``wd-<pid>-<n>-*`` work directories in the temporary directory.

    Returns the namespace names deleted. Those of live processes and names of another shape are
    kept.
    """
    swept: list[str] = []
    for name in list_namespaces():
        match = _NAME_PATTERN.match(name)
        if not match or _pid_alive(int(match.group(1))):
            continue
        _kill_namespace_processes(name)
        with contextlib.suppress(LabError):
            _command(["ip", "netns", "delete", name])
            swept.append(name)
    for workdir in Path(tempfile.gettempdir()).glob("wd-*-*-*"):
        match = _WORKDIR_PATTERN.match(workdir.name)
        if match and workdir.is_dir() and not _pid_alive(int(match.group(1))):
            shutil.rmtree(workdir, ignore_errors=True)
    return swept


def _kill_namespace_processes(name: str) -> None:
    """SIGKILL every process inside namespace ``name`` (only ever one of the lab's) and wait."""
    try:
        pids = [int(pid) for pid in _command(["ip", "netns", "pids", name]).split()]
    except LabError:
        return
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + TERMINATE_GRACE
    while pids and time.monotonic() < deadline:
        pids = [pid for pid in pids if _running(pid)]
        time.sleep(0.01)


def _running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (an orphan's reaper may take its time)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def lab_available() -> str | None:
    """``None`` when this process can build a lab, else why not (the e2e tests skip with it)."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return "needs root for network namespaces"
    try:
        subprocess.run(["ip", "netns", "list"], capture_output=True, check=True,
                       timeout=COMMAND_TIMEOUT)
    except (OSError, subprocess.SubprocessError):
        return "needs root for network namespaces"
    return None


def _duration(value: timedelta) -> str:
    milliseconds = round(value.total_seconds() * 1000)
    return f"{milliseconds // 1000}s" if milliseconds % 1000 == 0 else f"{milliseconds}ms"


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, timedelta):
        return json.dumps(_duration(value))
    if isinstance(value, (str, Path)):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{" + inner + "}"
    raise TypeError(f"cannot write {value!r} ({type(value).__name__}) to TOML")


def _is_table_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and bool(value) and all(
        isinstance(item, Mapping) for item in value
    )


def _toml_table(header: str, table: Mapping[str, Any], lines: list[str], array: bool) -> None:
    if header:
        lines.append("")
        lines.append(f"[[{header}]]" if array else f"[{header}]")
    nested = {k: v for k, v in table.items() if isinstance(v, Mapping) or _is_table_list(v)}
    for key, value in table.items():
        if key not in nested:
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value in nested.items():
        path = f"{header}.{_toml_key(key)}" if header else _toml_key(key)
        if isinstance(value, Mapping):
            _toml_table(path, value, lines, array=False)
        else:
            for item in value:
                _toml_table(path, item, lines, array=True)


def to_toml(document: Mapping[str, Any]) -> str:
    """Write a dict of tables, lists of tables and plain values as TOML (what ``tomllib`` reads)."""
    lines: list[str] = []
    _toml_table("", document, lines, array=False)
    return "\n".join(lines).lstrip("\n") + "\n"


def lab_config_document(database: Path) -> dict[str, Any]:
    """The watchdog config that probes the lab from the office, as a dict of TOML tables.

    The schedule is quicker than the shipped defaults so that end-to-end tests run in seconds.
    """
    return {
        "site": {"name": "Lab office"},
        "storage": {"database": str(database)},
        "schedule": {
            "ping_interval": "1s",
            "ping_timeout": "500ms",
            "retry_interval": "500ms",
            "check_interval": "5s",
            "dns_timeout": "1s",
            "http_timeout": "2s",
        },
        "gateway": {"enabled": True, "address": ""},
        "ping": [
            {"name": f"target-{index}", "address": address}
            for index, address in enumerate(PING_TARGETS, start=1)
        ],
        "dns": [
            {"name": f"resolver-{address.rsplit('.', 1)[1]}", "server": address,
             "port": DNS_PORT, "query": "example.com", "record": "A"}
            for address in DNS_SERVERS
        ],
        "http": [
            {"name": "web-204", "url": f"http://{HTTP_SERVER}/204", "expect_status": [204]},
            {"name": "web-ok", "url": f"http://{HTTP_SERVER}/ok", "expect_status": [200]},
        ],
    }


def merge_config(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` applied: a dict merges into its table key by key (``None``
    deletes a key), anything else (a list of tables, ``None`` to drop the section) replaces."""
    merged = {key: dict(value) if isinstance(value, Mapping) else value
              for key, value in base.items()}
    for section, value in overrides.items():
        if value is None:
            merged.pop(section, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(section), dict):
            table = merged[section]
            for key, item in value.items():
                if item is None:
                    table.pop(key, None)
                else:
                    table[key] = item
        else:
            merged[section] = value
    return merged


class Lab:
    """Three namespaces (office, router, internet), two resolvers and a web server "out there".

    ``Lab()`` only prepares; ``start()`` (or ``with Lab() as lab``) builds it, ``close()`` tears it
    down and may be called any number of times. ``setup_seconds`` and ``teardown_seconds`` say how
    long those took. ``events`` lists every fault applied, in order.
    """

    office_address = OFFICE_ADDRESS
    gateway_address = GATEWAY_ADDRESS
    targets = PING_TARGETS
    dns_servers = DNS_SERVERS
    http_server = HTTP_SERVER

    def __init__(
        self,
        *,
        services: bool = True,
        support_dir: Path | None = None,
        python: str | None = None,
    ) -> None:
        """``services``: start the DNS and HTTP servers (``dns_server.py`` and ``http_server.py``
        from ``support_dir``, default ``tests/support``); ``python``: the interpreter for them
        and for ``ping``/``run_python`` (default: the project's ``.venv/bin/python``)."""
        number = next(_lab_numbers)
        self.prefix = f"{NAME_PREFIX}{os.getpid()}-{number}-"
        self.names: dict[Node, str] = {node: f"{self.prefix}{node}" for node in NODES}
        self.with_services = services
        self.support_dir = support_dir or REPO / "tests" / "support"
        venv_python = REPO / ".venv" / "bin" / "python"
        self.python = python or (str(venv_python) if venv_python.exists() else sys.executable)
        self.events: list[FaultEvent] = []
        self.setup_seconds: float | None = None
        self.teardown_seconds: float | None = None
        self.workdir: Path | None = None
        self._services: dict[tuple[str, str], _Service] = {}
        self._processes: list[subprocess.Popen[Any]] = []
        self._created: list[str] = []
        self._gateway_chains: list[str] = []
        self._started = False
        self._closed = False

    # -- life cycle -------------------------------------------------------------------------------

    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> Lab:
        """Build the namespaces, links, addresses, routes and services; undo it all on failure."""
        if self._started:
            raise LabError("this lab was already started; make a new Lab()")
        reason = lab_available()
        if reason:
            raise LabError(reason)
        self._started = True
        began = time.monotonic()
        atexit.register(self.close)
        try:
            sweep_stale_namespaces()
            self.workdir = Path(tempfile.mkdtemp(prefix=self.prefix))
            self._build_network()
            if self.with_services:
                self._start_services()
        except BaseException:
            self.close()
            raise
        self.setup_seconds = time.monotonic() - began
        return self

    def close(self) -> None:
        """Stop every process the lab started, kill anything left in its namespaces, delete them."""
        if self._closed or not self._started:
            return
        self._closed = True
        began = time.monotonic()
        atexit.unregister(self.close)
        problems: list[str] = []
        processes = [s.process for s in self._services.values() if s.process] + self._processes
        for process in processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
        deadline = time.monotonic() + TERMINATE_GRACE
        for process in processes:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for name in self._created:
            _kill_namespace_processes(name)
        for name in reversed(self._created):
            try:
                _command(["ip", "netns", "delete", name])
            except LabError as error:
                problems.append(str(error))
        self._created.clear()
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        self.teardown_seconds = time.monotonic() - began
        if problems:
            raise LabError("; ".join(problems))

    def _build_network(self) -> None:
        office, router, internet = (self.names[node] for node in NODES)
        for name in (office, router, internet):
            _command(["ip", "netns", "add", name])
            self._created.append(name)
        self._ip_batch("office", [
            "link set lo up",
            f"link add {LAN_INTERFACE} type veth peer name {LAN_INTERFACE} netns {router}",
            f"addr add {OFFICE_ADDRESS}/24 dev {LAN_INTERFACE}",
            f"link set {LAN_INTERFACE} up",
            f"route add default via {GATEWAY_ADDRESS}",
        ])
        self._ip_batch("router", [
            "link set lo up",
            f"link add {WAN_INTERFACE} type veth peer name {WAN_INTERFACE} netns {internet}",
            f"addr add {GATEWAY_ADDRESS}/24 dev {LAN_INTERFACE}",
            f"link set {LAN_INTERFACE} up",
            f"addr add {ROUTER_WAN_ADDRESS}/{WAN_PREFIX} dev {WAN_INTERFACE}",
            f"link set {WAN_INTERFACE} up",
            f"route add {INTERNET_NETWORK} via {INTERNET_WAN_ADDRESS}",
        ])
        self._ip_batch("internet", [
            "link set lo up",
            f"addr add {INTERNET_WAN_ADDRESS}/{WAN_PREFIX} dev {WAN_INTERFACE}",
            f"link set {WAN_INTERFACE} up",
            f"route add {LAN_NETWORK} via {ROUTER_WAN_ADDRESS}",
            *(f"addr add {host}/32 dev lo" for host in INTERNET_HOSTS),
        ])
        ping_range = "net.ipv4.ping_group_range=0 2147483647"
        # The internet namespace does not forward: a packet for a removed host is dropped there
        # without an ICMP error, as a dead host on the real internet would be.
        forwarding: tuple[tuple[Node, int], ...] = (("office", 0), ("router", 1), ("internet", 0))
        for node, forward in forwarding:
            self._exec_command(node, ["sysctl", "-q", "-w", ping_range,
                                      f"net.ipv4.ip_forward={forward}"])
        if shutil.which("nft"):
            self._prepare_router_tables()

    def _prepare_router_tables(self) -> None:
        """Create the router's fault tables with empty, accepting chains.

        Faults then only add or flush rules: a cheap transaction that takes effect in a
        millisecond, where creating a base chain on a device waits for an RCU grace period
        (~10 ms). The egress hook needs Linux 5.16 and nft 1.0.1; without it only ingress is used.
        """
        hook = 'type filter hook {0} device "' + LAN_INTERFACE + '" priority 0; policy accept;'
        loss = (f"table inet {_NFT_LOSS_TABLE} {{\n"
                "  chain forward { type filter hook forward priority 0; policy accept; }\n}\n")
        gateway = [f"chain ingress {{ {hook.format('ingress')} }}",
                   f"chain egress {{ {hook.format('egress')} }}"]
        for chains in (gateway, gateway[:1]):
            body = "\n".join(f"  {chain}" for chain in chains)
            try:
                self._exec_command("router", ["nft", "-f", "-"], input_text=(
                    loss + f"table netdev {_NFT_GATEWAY_TABLE} {{\n{body}\n}}\n"))
            except LabError:
                if len(chains) == 1:
                    raise
                continue
            self._gateway_chains = [chain.split()[1] for chain in chains]
            return

    # -- running things in the namespaces ----------------------------------------------------------

    def namespace(self, node: Node) -> str:
        """The namespace name of ``node`` (for ``ip -n``/``ip netns exec`` by hand)."""
        return self.names[node]

    def _wrap(self, node: Node, argv: Sequence[str | os.PathLike[str]]) -> list[str]:
        if not self._started or self._closed:
            raise LabError("the lab is not running; use it inside `with Lab() as lab:`")
        return ["ip", "netns", "exec", self.names[node], *(os.fspath(arg) for arg in argv)]

    def exec(self, node: Node, argv: Sequence[str | os.PathLike[str]],
             **popen_kwargs: Any) -> subprocess.Popen[Any]:
        """Start ``argv`` in ``node``'s namespace (``ip netns exec`` execs it: same pid).

        The process is stopped by ``close()`` if it still runs then.
        """
        process: subprocess.Popen[Any] = subprocess.Popen(self._wrap(node, argv), **popen_kwargs)
        self._processes.append(process)
        return process

    def run(self, node: Node, argv: Sequence[str | os.PathLike[str]],
            **run_kwargs: Any) -> subprocess.CompletedProcess[Any]:
        """Run ``argv`` in ``node``'s namespace to completion, like ``subprocess.run``.

        Defaults: ``capture_output=True`` (unless stdout/stderr are given), ``text=True``,
        ``timeout=30``, ``check=False``.
        """
        if "stdout" not in run_kwargs and "stderr" not in run_kwargs:
            run_kwargs.setdefault("capture_output", True)
        run_kwargs.setdefault("text", True)
        run_kwargs.setdefault("timeout", 30)
        run_kwargs.setdefault("check", False)
        return subprocess.run(self._wrap(node, argv), **run_kwargs)

    def office_exec(self, argv: Sequence[str | os.PathLike[str]],
                    **popen_kwargs: Any) -> subprocess.Popen[Any]:
        return self.exec("office", argv, **popen_kwargs)

    def office_run(self, argv: Sequence[str | os.PathLike[str]],
                   **run_kwargs: Any) -> subprocess.CompletedProcess[Any]:
        return self.run("office", argv, **run_kwargs)

    def router_exec(self, argv: Sequence[str | os.PathLike[str]],
                    **popen_kwargs: Any) -> subprocess.Popen[Any]:
        return self.exec("router", argv, **popen_kwargs)

    def router_run(self, argv: Sequence[str | os.PathLike[str]],
                   **run_kwargs: Any) -> subprocess.CompletedProcess[Any]:
        return self.run("router", argv, **run_kwargs)

    def internet_exec(self, argv: Sequence[str | os.PathLike[str]],
                      **popen_kwargs: Any) -> subprocess.Popen[Any]:
        return self.exec("internet", argv, **popen_kwargs)

    def internet_run(self, argv: Sequence[str | os.PathLike[str]],
                     **run_kwargs: Any) -> subprocess.CompletedProcess[Any]:
        return self.run("internet", argv, **run_kwargs)

    def run_python(self, node: Node, code: str, *args: str,
                   **run_kwargs: Any) -> subprocess.CompletedProcess[Any]:
        """Run ``python -c code args...`` (the project's interpreter) in ``node``'s namespace."""
        return self.run(node, [self.python, "-c", code, *args], **run_kwargs)

    def start_listener(
        self,
        node: Node,
        argv: Sequence[str | os.PathLike[str]],
        address: str,
        port: int,
        *,
        output: Path | None = None,
        timeout: float = SERVICE_READY_TIMEOUT,
    ) -> subprocess.Popen[bytes]:
        """Start a TCP server ``argv`` in ``node``'s namespace and wait until ``address:port``
        accepts connections from inside that namespace; return its process.

        Its stdout and stderr go to ``output`` (default: a file in the lab's work directory).
        ``close()`` stops it if it still runs. ``LabError`` (with what it printed) when it exits
        or is not accepting after ``timeout`` seconds; it is killed then.
        """
        assert self.workdir is not None
        log = output or self.workdir / f"listener-{node}-{address}-{port}.log"
        with open(log, "ab") as stream:
            process: subprocess.Popen[bytes] = self.exec(
                node, argv, stdin=subprocess.DEVNULL, stdout=stream, stderr=subprocess.STDOUT)
        command = " ".join(os.fspath(arg) for arg in argv)
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise LabError(f"{command} in {node} exited with "
                               f"{process.returncode}:\n{log.read_text(errors='replace')}")
            with self.open_socket(node, socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.settimeout(0.2)
                try:
                    probe.connect((address, port))
                except OSError:
                    pass
                else:
                    return process
            if time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise LabError(f"{command} in {node} was not accepting "
                               f"on {address}:{port} after {timeout:.0f} s:\n"
                               f"{log.read_text(errors='replace')}")
            time.sleep(0.02)

    def open_socket(self, node: Node, family: int = socket.AF_INET,
                    kind: int = socket.SOCK_STREAM, proto: int = 0) -> socket.socket:
        """A socket of this process that lives in ``node``'s namespace (no subprocess needed).

        A short-lived thread enters the namespace with setns(2), creates the socket and ends; the
        socket keeps its namespace for life, the rest of the process never changes namespace.
        """
        if not self._started or self._closed:
            raise LabError("the lab is not running; use it inside `with Lab() as lab:`")
        outcome: list[socket.socket | BaseException] = []

        def create() -> None:
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                with open(NETNS_DIR / self.names[node], "rb") as handle:
                    if libc.setns(handle.fileno(), _CLONE_NEWNET) != 0:
                        errno = ctypes.get_errno()
                        raise OSError(errno, f"setns into {self.names[node]}: "
                                             f"{os.strerror(errno)}")
                outcome.append(socket.socket(family, kind, proto))
            except BaseException as error:
                outcome.append(error)

        thread = threading.Thread(target=create, name=f"setns-{node}")
        thread.start()
        thread.join()
        result = outcome[0]
        if isinstance(result, BaseException):
            raise LabError(f"cannot open a socket in {self.names[node]}: {result}") from result
        return result

    def ping(
        self,
        addresses: str | Sequence[str],
        *,
        count: int = 1,
        spacing: float = 0.01,
        timeout: float = 0.5,
        node: Node = "office",
        uid: int | None = None,
    ) -> PingReport:
        """Ping from ``node`` through icmplib's unprivileged (datagram) ICMP sockets.

        ``count`` rounds, one every ``spacing`` seconds, each sending one echo to every address;
        an echo counts as answered when its reply comes within ``timeout``. ``uid`` drops to that
        user (and group) first, to prove that unprivileged ICMP works. Takes about
        0.1 s + count × spacing + timeout.
        """
        targets = [addresses] if isinstance(addresses, str) else list(addresses)
        if not 1 <= count <= 65536:
            raise ValueError("count must be between 1 and 65536 (ICMP sequence numbers)")
        done = self.run_python(
            node, _PING_SCRIPT, json.dumps(targets), str(count), str(spacing), str(timeout),
            str(-1 if uid is None else uid), timeout=30 + count * spacing + timeout,
        )
        if done.returncode != 0:
            raise LabError(f"ping from {node} failed: {done.stderr.strip()}")
        echoes = tuple(
            Echo(address, sequence, datetime.fromtimestamp(sent, UTC), rtt)
            for address, sequence, sent, rtt in json.loads(done.stdout)
        )
        return PingReport(echoes)

    # -- timing -----------------------------------------------------------------------------------

    @staticmethod
    def now() -> datetime:
        """The real wall clock, aware UTC (the daemon's records are compared against it)."""
        return _now()

    def _apply(self, name: str, detail: str, change: Callable[[], None]) -> datetime:
        before = _now()
        change()
        after = _now()
        self.events.append(FaultEvent(name, detail, before, after))
        return after

    # -- faults -----------------------------------------------------------------------------------

    def cut_wan(self) -> datetime:
        """Take the router's WAN interface down (``ip link set wd-wan down`` in the router).

        The kernel then drops the routes through it, including the one to 203.0.113.0/24: the
        router answers office traffic to the internet with ICMP "network unreachable" (type 3
        code 0, rate-limited; a raw socket sees it at once, an unprivileged ping socket ignores it
        and its pings time out) while the gateway itself keeps answering on the LAN. Returns the
        instant right after the change.
        """
        return self._apply("cut_wan", "", lambda: self._ip_batch("router", [
            f"link set {WAN_INTERFACE} down",
        ]))

    def restore_wan(self) -> datetime:
        """Bring the router's WAN interface up and put back the route to 203.0.113.0/24 (both in
        one ``ip -batch``): routing works again as soon as it returns. Returns the instant right
        after the change."""
        return self._apply("restore_wan", "", lambda: self._ip_batch("router", [
            f"link set {WAN_INTERFACE} up",
            f"route replace {INTERNET_NETWORK} via {INTERNET_WAN_ADDRESS}",
        ]))

    def kill_gateway(self) -> datetime:
        """Make the router deaf and mute on the LAN, as a hung router behind a live switch.

        A ``drop`` rule in the nftables ``netdev`` chains on the router's LAN interface drops
        every frame at ingress (ARP included) and at egress (where the kernel has that hook), so
        192.0.2.1 stops answering and nothing passes through it, while the office keeps its link
        (carrier up) and its default route. Returns the instant right after the change.
        """
        script = "".join(f"flush chain netdev {_NFT_GATEWAY_TABLE} {chain}\n"
                         f"add rule netdev {_NFT_GATEWAY_TABLE} {chain} drop\n"
                         for chain in self._gateway_chains)
        return self._apply("kill_gateway", "", lambda: self._nft(script))

    def revive_gateway(self) -> datetime:
        """Bring the router back on the LAN as a freshly rebooted one: with an empty ARP cache.

        Flushes the LAN drop rules, then the router's neighbour entries on the LAN (while it
        was deaf they went to PROBE/FAILED, which would hold its replies up to the next ARP retry,
        1 s later) and has the router ping the office once: its ARP request hands the office the
        router's MAC at once, whatever state the office's own entry was in. Returns the instant
        right after the office answered that ping, from which pings to and through the gateway
        succeed.
        """
        def change() -> None:
            self._nft(f"flush table netdev {_NFT_GATEWAY_TABLE}\n")
            self._ip_batch("router", [f"neigh flush dev {LAN_INTERFACE}"])
            self._echo("router", OFFICE_ADDRESS)

        return self._apply("revive_gateway", "", change)

    def remove_target(self, address: str) -> datetime:
        """Delete ``address`` from the internet namespace's loopback: that host is gone and its
        packets are dropped there silently (no forwarding, no ICMP error). Other hosts are
        untouched; a service bound to it stays running but unreachable. Returns the instant right
        after the change; ``LabError`` if the address is not there."""
        _internet_host(address)
        return self._apply("remove_target", address, lambda: self._ip_batch("internet", [
            f"addr del {address}/32 dev lo",
        ]))

    def add_target(self, address: str) -> datetime:
        """Add ``address`` (in 203.0.113.0/24) to the internet namespace's loopback: from then on
        it answers pings (and reaches any service bound to it). Returns the instant right after
        the change; ``LabError`` if it is already there."""
        _internet_host(address)
        return self._apply("add_target", address, lambda: self._ip_batch("internet", [
            f"addr add {address}/32 dev lo",
        ]))

    def packet_loss(self, percent: float, direction: LossDirection = "up") -> datetime:
        """Drop ``percent`` % of the packets the router forwards, at random, per packet.

        An nftables rule in the router's forward hook, ``numgen random mod 10000 < percent×100
        drop``, on packets from the LAN (``direction="up"``, the default), from the WAN
        (``"down"``) or both. Up or down alone, a ping (request + reply) fails with probability
        exactly ``percent``/100, so the loss the daemon measures equals the number given here;
        with ``"both"`` it fails with 1 - (1 - percent/100)², e.g. 51 % for 30. Pings to the
        gateway itself are never dropped. Replaces any earlier loss rule; returns the instant
        right after the change.
        """
        if not 0 <= percent <= 100:
            raise ValueError("percent must be between 0 and 100")
        match = {"up": f'iifname "{LAN_INTERFACE}" ', "down": f'iifname "{WAN_INTERFACE}" ',
                 "both": ""}[direction]
        script = (f"flush chain inet {_NFT_LOSS_TABLE} forward\n"
                  f"add rule inet {_NFT_LOSS_TABLE} forward "
                  f"{match}numgen random mod 10000 < {round(percent * 100)} drop\n")
        return self._apply("packet_loss", f"{percent}% {direction}", lambda: self._nft(script))

    def clear_packet_loss(self) -> datetime:
        """Flush the loss rule from the router's forward chain. Returns the instant right after."""
        return self._apply("clear_packet_loss", "", lambda: self._nft(
            f"flush chain inet {_NFT_LOSS_TABLE} forward\n"))

    # -- services ---------------------------------------------------------------------------------

    def stop_dns(self, address: str = DNS_SERVERS[0]) -> datetime:
        """Stop the DNS server on ``address`` (SIGTERM, wait for exit): its port is closed, so
        queries get ICMP port unreachable. Returns the instant right after it exited."""
        return self._apply("stop_dns", address, lambda: self._stop_service("dns", address))

    def start_dns(self, address: str = DNS_SERVERS[0], *, mode: str = "answer") -> datetime:
        """Start a DNS server on ``address``:53 answering in ``mode`` and wait until its port is
        bound. Returns the instant right after it is ready."""
        return self._apply("start_dns", address, lambda: self._wait_ready(
            self._spawn_dns(address, mode)))

    def dns_mode(self, address: str, mode: str) -> datetime:
        """Make the running DNS server on ``address`` answer in ``mode`` from its next query on.

        Modes (tests/support/dns_server.py): ``answer`` (A 192.0.2.10), ``empty`` (NODATA),
        ``nxdomain``, ``servfail``, ``refused``, ``silent`` (never answers), ``garbage`` (not a
        DNS message). The server reads its mode file before every answer; the file is replaced
        atomically. Returns the instant right after the replacement.
        """
        return self._apply("dns_mode", f"{address} {mode}",
                           lambda: self._write_dns_mode(address, mode))

    def stop_http(self) -> datetime:
        """Stop the web server on 203.0.113.80: connections are refused (TCP reset)."""
        return self._apply("stop_http", HTTP_SERVER,
                           lambda: self._stop_service("http", HTTP_SERVER))

    def start_http(self) -> datetime:
        """Start the web server on 203.0.113.80:80 and wait until it accepts connections."""
        return self._apply("start_http", HTTP_SERVER,
                           lambda: self._wait_ready(
                               self._spawn_service("http", HTTP_SERVER, HTTP_PORT, [])))

    def service_log(self, kind: Literal["dns", "http"], address: str) -> str:
        """What a service wrote to stdout/stderr so far (for a failing test's message)."""
        service = self._services.get((kind, address))
        if not service or not service.log.exists():
            return ""
        return service.log.read_text(encoding="utf-8", errors="replace")

    def _start_services(self) -> None:
        for address in DNS_SERVERS:
            self._spawn_dns(address, "answer")
        self._spawn_service("http", HTTP_SERVER, HTTP_PORT, [])
        for service in list(self._services.values()):
            self._wait_ready(service)

    def _mode_file(self, address: str) -> Path:
        assert self.workdir is not None
        return self.workdir / f"dns-{address}.mode"

    def _write_dns_mode(self, address: str, mode: str) -> None:
        from tests.support.dns_server import MODES

        if mode not in MODES:
            raise ValueError(f"unknown DNS mode {mode!r}; use one of {', '.join(MODES)}")
        staged = self._mode_file(address).with_suffix(".new")
        staged.write_text(mode + "\n", encoding="ascii")
        os.replace(staged, self._mode_file(address))

    def _spawn_dns(self, address: str, mode: str) -> _Service:
        self._write_dns_mode(address, mode)
        extra = ["--mode-file", str(self._mode_file(address))]
        return self._spawn_service("dns", address, DNS_PORT, extra)

    def _script(self, kind: str) -> Path:
        script = self.support_dir / f"{kind}_server.py"
        if not script.is_file():
            raise LabError(f"{script} is missing: the lab runs its {kind.upper()} server from "
                           "it; add it, pass Lab(support_dir=...) or build the lab with "
                           "Lab(services=False)")
        return script

    def _spawn_service(self, kind: Literal["dns", "http"], address: str, port: int,
                       extra: list[str]) -> _Service:
        assert self.workdir is not None
        existing = self._services.get((kind, address))
        if existing and existing.process and existing.process.poll() is None:
            raise LabError(f"the {kind} server on {address} already runs")
        log = self.workdir / f"{kind}-{address}.log"
        argv = [self.python, str(self._script(kind)), "--listen", f"{address}:{port}", *extra]
        with open(log, "ab") as output:
            process: subprocess.Popen[bytes] = subprocess.Popen(
                self._wrap("internet", argv), stdin=subprocess.DEVNULL, stdout=output,
                stderr=subprocess.STDOUT,
            )
        service = _Service(kind, address, port, log, process)
        self._services[(kind, address)] = service
        return service

    def _stop_service(self, kind: str, address: str) -> None:
        service = self._services.get((kind, address))
        if not service or not service.process or service.process.poll() is not None:
            raise LabError(f"no {kind} server runs on {address}")
        with contextlib.suppress(ProcessLookupError):
            service.process.terminate()
        try:
            service.process.wait(timeout=TERMINATE_GRACE)
        except subprocess.TimeoutExpired:
            service.process.kill()
            service.process.wait()

    def _wait_ready(self, service: _Service) -> None:
        """Poll the service's port from inside the internet namespace until it is bound.

        TCP: a connect succeeds. UDP: a DNS query to it does not come back as ICMP port
        unreachable (``ECONNREFUSED`` on the connected socket); an answer or silence both mean
        the port is bound, so modes that never answer are ready too.
        """
        deadline = time.monotonic() + SERVICE_READY_TIMEOUT
        while True:
            assert service.process is not None
            if service.process.poll() is not None:
                raise LabError(f"the {service.kind} server on {service.address}:{service.port} "
                               f"exited with {service.process.returncode}:\n"
                               f"{self.service_log(service.kind, service.address)}")
            if self._port_bound(service):
                return
            if time.monotonic() > deadline:
                raise LabError(f"the {service.kind} server on {service.address}:{service.port} "
                               f"was not ready after {SERVICE_READY_TIMEOUT:.0f} s:\n"
                               f"{self.service_log(service.kind, service.address)}")
            time.sleep(0.01)

    def _port_bound(self, service: _Service) -> bool:
        kind = socket.SOCK_STREAM if service.kind == "http" else socket.SOCK_DGRAM
        with self.open_socket("internet", socket.AF_INET, kind) as probe:
            probe.settimeout(0.05)
            try:
                probe.connect((service.address, service.port))
                if kind == socket.SOCK_DGRAM:
                    probe.send(_dns_query("ready.example"))
                    probe.recv(4096)
            except ConnectionRefusedError:
                return False
            except TimeoutError:
                return kind == socket.SOCK_DGRAM
            return True

    def _echo(self, node: Node, address: str, timeout: float = 1.0) -> None:
        """One ICMP echo from ``node`` to ``address`` through a ping socket; wait for the reply."""
        with self.open_socket(node, socket.AF_INET, socket.SOCK_DGRAM,
                              socket.IPPROTO_ICMP) as sock:
            sock.settimeout(timeout)
            # type 8 (echo request), code 0; the kernel sets the checksum and the identifier.
            sock.sendto(struct.pack("!BBHHH", 8, 0, 0, 0, 1), (address, 0))
            try:
                sock.recv(1024)
            except TimeoutError as error:
                raise LabError(f"{address} did not answer a ping from {node} within "
                               f"{timeout} s") from error

    # -- kernel plumbing --------------------------------------------------------------------------

    def _ip_batch(self, node: Node, lines: Iterable[str]) -> None:
        script = "\n".join(lines) + "\n"
        _command(["ip", "-n", self.names[node], "-batch", "-"], input_text=script)

    def _exec_command(self, node: Node, argv: Sequence[str], input_text: str | None = None) -> None:
        _command(self._wrap(node, argv), input_text=input_text)

    def _nft(self, script: str) -> None:
        """Apply ``script`` to the router's nftables as one transaction (all or nothing)."""
        if not self._gateway_chains:
            raise LabError("nft (nftables) is not installed: packet_loss and kill_gateway need "
                           "it; install the nftables package (make system-deps)")
        self._exec_command("router", ["nft", "-f", "-"], input_text=script)

    # -- config -----------------------------------------------------------------------------------

    def write_config(self, path: str | os.PathLike[str], *, validate: bool = True,
                     **overrides: Any) -> Path:
        """Write a watchdog TOML config that probes this lab from the office; return its path.

        Targets 203.0.113.1-3, resolvers 203.0.113.53 and .54 (port 53), web checks
        http://203.0.113.80/204 (expect 204) and /ok (expect 200), gateway auto-detected,
        database ``watchdog.db`` next to the config, a quick schedule (see
        ``lab_config_document``). ``overrides`` per section: a dict merges into that table
        (``None`` deletes a key), a list replaces a ``[[...]]`` list, ``None`` drops the section:
        ``lab.write_config(p, schedule={"ping_interval": "2s"}, http=[])``.
        ``validate`` loads the result with the project's loader (raising its ``ConfigError``).
        Needs no running lab.
        """
        target = Path(path).resolve()
        document = merge_config(lab_config_document(target.parent / "watchdog.db"), overrides)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(to_toml(document), encoding="utf-8")
        if validate:
            from watchdog.config.loader import load_config

            load_config(target)
        return target


def _internet_host(address: str) -> None:
    network = ipaddress.ip_network(INTERNET_NETWORK)
    host = ipaddress.ip_address(address)
    if host not in network or host in (network.network_address, network.broadcast_address):
        raise ValueError(f"{address} is not a host address in {INTERNET_NETWORK}, the lab's "
                         "internet")


def _dns_query(name: str) -> bytes:
    """A minimal DNS query for ``name`` A (RFC 1035), without dnspython."""
    header = struct.pack("!HHHHHH", os.getpid() & 0xFFFF, 0x0100, 1, 0, 0, 0)
    labels = b"".join(bytes([len(part)]) + part.encode() for part in name.split("."))
    return header + labels + b"\x00" + struct.pack("!HH", 1, 1)
