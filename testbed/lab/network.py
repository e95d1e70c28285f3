"""The lab's network: building and tearing down the namespaces, running things inside them.

``LabNetwork`` is the base of ``testbed.lab.Lab``: life cycle (``start``/``close``), the links,
addresses and routes of ``testbed.lab.topology``, processes and sockets inside a namespace,
pings, and the instant of every change (``events``). Nothing is ever added to the host's own
namespace: veth pairs are created directly inside the namespaces (``ip -n NS link add ... peer
... netns OTHER``) and every kernel change goes through ``ip -n NS`` or ``ip netns exec NS``.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import itertools
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Self

from testbed import REPO
from testbed.lab.config import lab_config_document, merge_config, to_toml
from testbed.lab.namespaces import (
    NAME_PREFIX,
    TERMINATE_GRACE,
    LabError,
    kill_namespace_processes,
    lab_available,
    run_command,
    sweep_stale_namespaces,
)
from testbed.lab.ping import PING_SCRIPT, Echo, PingReport
from testbed.lab.topology import (
    BACKUP_GATEWAY_ADDRESS,
    BACKUP_INTERFACE,
    BACKUP_INTERNET_ADDRESS,
    BACKUP_LAN_NETWORK,
    BACKUP_LAN_PREFIX,
    BACKUP_METRIC,
    BACKUP_OFFICE_ADDRESS,
    BACKUP_TABLE,
    BACKUP_WAN_ADDRESS,
    DNS_SERVERS,
    FAR_HOST,
    FAR_INTERFACE,
    GATEWAY_ADDRESS,
    HTTP_SERVER,
    INTERNET_HOSTS,
    INTERNET_NETWORK,
    INTERNET_WAN_ADDRESS,
    LAN_INTERFACE,
    LAN_NETWORK,
    NODES,
    OFFICE_ADDRESS,
    PING_TARGETS,
    ROUTER_WAN_ADDRESS,
    WAN_INTERFACE,
    WAN_PREFIX,
    Backup,
    Node,
)
from testbed.servers import SERVERS_DIR

NETNS_DIR = Path("/var/run/netns")
# How long a service may take from spawn to answering on its port.
SERVICE_READY_TIMEOUT = 10.0

_CLONE_NEWNET = 0x40000000
# The router's nftables tables for the faults (created empty at start, see testbed.lab.faults).
NFT_LOSS_TABLE = "wdlab_loss"
NFT_GATEWAY_TABLE = "wdlab_gateway"
# The failover router's NAT (``Lab(backup="failover")``).
NFT_NAT_TABLE = "wdlab_nat"
_lab_numbers = itertools.count()


@dataclass(frozen=True)
class FaultEvent:
    """One change applied to the lab: ``before``/``after`` bracket the kernel change (aware UTC)."""

    name: str
    detail: str
    before: datetime
    after: datetime


@dataclass
class Service:
    """One server the lab runs in its internet namespace, and where its output goes."""

    kind: Literal["dns", "http"]
    address: str
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None


def _now() -> datetime:
    return datetime.now(UTC)


class LabNetwork:
    """Three namespaces (office, router, internet) linked and routed; the base of ``Lab``.

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
        servers_dir: Path | None = None,
        python: str | None = None,
        backup: Backup | None = None,
    ) -> None:
        """``services``: start the DNS and HTTP servers (``dns_server.py`` and ``http_server.py``
        from ``servers_dir``, default ``testbed/servers``); ``python``: the interpreter for them
        and for ``ping``/``run_python`` (default: the project's ``.venv/bin/python``);
        ``backup``: a backup path to the same internet, the office's own 4G uplink
        (``"uplink"``) or its router's failover to a 4G (``"failover"``), see ``topology``."""
        number = next(_lab_numbers)
        self.prefix = f"{NAME_PREFIX}{os.getpid()}-{number}-"
        self.backup = backup
        nodes: tuple[Node, ...] = (*NODES, "mobile") if backup == "uplink" else NODES
        self.names: dict[Node, str] = {node: f"{self.prefix}{node}" for node in nodes}
        self.with_services = services
        self.servers_dir = servers_dir or SERVERS_DIR
        venv_python = REPO / ".venv" / "bin" / "python"
        self.python = python or (str(venv_python) if venv_python.exists() else sys.executable)
        self.events: list[FaultEvent] = []
        self.setup_seconds: float | None = None
        self.teardown_seconds: float | None = None
        self.workdir: Path | None = None
        self._services: dict[tuple[str, str], Service] = {}
        self._processes: list[subprocess.Popen[Any]] = []
        self._created: list[str] = []
        self._gateway_chains: list[str] = []
        self._started = False
        self._closed = False

    # -- life cycle -------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> Self:
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
            kill_namespace_processes(name)
        for name in reversed(self._created):
            try:
                run_command(["ip", "netns", "delete", name])
            except LabError as error:
                problems.append(str(error))
        self._created.clear()
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        self.teardown_seconds = time.monotonic() - began
        if problems:
            raise LabError("; ".join(problems))

    def _start_services(self) -> None:
        """Start the servers "out there" (``LabServices`` does; the bare network has none)."""

    def _build_network(self) -> None:
        router, internet = self.names["router"], self.names["internet"]
        for name in self.names.values():
            run_command(["ip", "netns", "add", name])
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
        if self.backup == "uplink":
            self._build_backup_uplink()
        elif self.backup == "failover":
            self._build_failover()

    def _build_backup_uplink(self) -> None:
        """The office's own 4G uplink: a second interface, a 4G router, its own way to the
        internet; a default route through it (after the fibre's) and a policy rule for what
        leaves from its address."""
        mobile, internet = self.names["mobile"], self.names["internet"]
        self._ip_batch("office", [
            f"link add {BACKUP_INTERFACE} type veth peer name {LAN_INTERFACE} netns {mobile}",
            f"addr add {BACKUP_OFFICE_ADDRESS}/{BACKUP_LAN_PREFIX} dev {BACKUP_INTERFACE}",
            f"link set {BACKUP_INTERFACE} up",
            f"route add default via {BACKUP_GATEWAY_ADDRESS} dev {BACKUP_INTERFACE} "
            f"metric {BACKUP_METRIC}",
            f"route add default via {BACKUP_GATEWAY_ADDRESS} dev {BACKUP_INTERFACE} "
            f"table {BACKUP_TABLE}",
            f"rule add from {BACKUP_OFFICE_ADDRESS} table {BACKUP_TABLE}",
        ])
        self._ip_batch("mobile", [
            "link set lo up",
            f"link add {WAN_INTERFACE} type veth peer name {BACKUP_INTERFACE} netns {internet}",
            f"addr add {BACKUP_GATEWAY_ADDRESS}/{BACKUP_LAN_PREFIX} dev {LAN_INTERFACE}",
            f"link set {LAN_INTERFACE} up",
            f"addr add {BACKUP_WAN_ADDRESS}/{WAN_PREFIX} dev {WAN_INTERFACE}",
            f"link set {WAN_INTERFACE} up",
            f"route add {INTERNET_NETWORK} via {BACKUP_INTERNET_ADDRESS}",
        ])
        self._ip_batch("internet", [
            f"addr add {BACKUP_INTERNET_ADDRESS}/{WAN_PREFIX} dev {BACKUP_INTERFACE}",
            f"link set {BACKUP_INTERFACE} up",
            f"route add {BACKUP_LAN_NETWORK} via {BACKUP_WAN_ADDRESS}",
        ])
        self._exec_command("mobile", ["sysctl", "-q", "-w",
                                      "net.ipv4.ping_group_range=0 2147483647",
                                      "net.ipv4.ip_forward=1"])
        # Answers to the 4G address come in on the 4G interface while the main table's best
        # route back is the fibre's: a strict reverse-path filter would drop them.
        self._exec_command("office", ["sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0",
                                      f"net.ipv4.conf.{BACKUP_INTERFACE}.rp_filter=0",
                                      f"net.ipv4.conf.{LAN_INTERFACE}.rp_filter=0"])

    def _build_failover(self) -> None:
        """The fibre router's own 4G path (not used until ``fail_over``), its NAT, and a far
        host beyond the internet's edge for the hop check."""
        internet = self.names["internet"]
        self._ip_batch("router", [
            f"link add {BACKUP_INTERFACE} type veth peer name {BACKUP_INTERFACE} netns {internet}",
            f"addr add {BACKUP_WAN_ADDRESS}/{WAN_PREFIX} dev {BACKUP_INTERFACE}",
            f"link set {BACKUP_INTERFACE} up",
        ])
        self._ip_batch("internet", [
            f"addr add {BACKUP_INTERNET_ADDRESS}/{WAN_PREFIX} dev {BACKUP_INTERFACE}",
            f"link set {BACKUP_INTERFACE} up",
            # A veth pair with nothing behind it (no dummy driver needed): what is routed
            # there goes nowhere.
            f"link add {FAR_INTERFACE} type veth peer name {FAR_INTERFACE}-end",
            f"link set {FAR_INTERFACE}-end up",
            f"link set {FAR_INTERFACE} up",
            f"route add {FAR_HOST}/32 dev {FAR_INTERFACE}",
        ])
        # The internet forwards towards the far host, so a packet that reaches its edge with
        # a time-to-live of 1 draws "time exceeded" from that edge.
        self._exec_command("internet", ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
        self._exec_command("router", ["nft", "-f", "-"], input_text=(
            f"table ip {NFT_NAT_TABLE} {{\n"
            "  chain postrouting { type nat hook postrouting priority srcnat; policy accept;\n"
            f'    oifname "{WAN_INTERFACE}" masquerade\n'
            f'    oifname "{BACKUP_INTERFACE}" masquerade\n'
            "  }\n}\n"))

    def _prepare_router_tables(self) -> None:
        """Create the router's fault tables with empty, accepting chains.

        Faults then only add or flush rules: a cheap transaction that takes effect in a
        millisecond, where creating a base chain on a device waits for an RCU grace period
        (~10 ms). The egress hook needs Linux 5.16 and nft 1.0.1; without it only ingress is used.
        """
        hook = 'type filter hook {0} device "' + LAN_INTERFACE + '" priority 0; policy accept;'
        loss = (f"table inet {NFT_LOSS_TABLE} {{\n"
                "  chain forward { type filter hook forward priority 0; policy accept; }\n}\n")
        gateway = [f"chain ingress {{ {hook.format('ingress')} }}",
                   f"chain egress {{ {hook.format('egress')} }}"]
        for chains in (gateway, gateway[:1]):
            body = "\n".join(f"  {chain}" for chain in chains)
            try:
                self._exec_command("router", ["nft", "-f", "-"], input_text=(
                    loss + f"table netdev {NFT_GATEWAY_TABLE} {{\n{body}\n}}\n"))
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
            node, PING_SCRIPT, json.dumps(targets), str(count), str(spacing), str(timeout),
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
        run_command(["ip", "-n", self.names[node], "-batch", "-"], input_text=script)

    def _exec_command(self, node: Node, argv: Sequence[str], input_text: str | None = None) -> None:
        run_command(self._wrap(node, argv), input_text=input_text)

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
