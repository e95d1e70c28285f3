"""The services "out there" in the lab's internet (``LabServices``): two resolvers, a web server.

They run ``testbed/servers/dns_server.py`` and ``http_server.py`` as scripts inside the
internet namespace with the project's interpreter; a DNS server's mode can be changed while it
runs (through a mode file it reads before every answer).
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Literal

from testbed.lab.namespaces import TERMINATE_GRACE, LabError
from testbed.lab.network import SERVICE_READY_TIMEOUT, LabNetwork, Service
from testbed.lab.topology import DNS_PORT, DNS_SERVERS, HTTP_PORT, HTTP_SERVER


class LabServices(LabNetwork):
    """Starting, stopping and switching the lab's DNS and HTTP servers."""

    def stop_dns(self, address: str = DNS_SERVERS[0]) -> datetime:
        """Stop the DNS server on ``address`` (SIGTERM, wait for exit): its port is closed, so
        queries get ICMP port unreachable. Returns the instant right after it exited."""
        return self._apply("stop_dns", address, lambda: self._stop_service("dns", address))

    def start_dns(self, address: str = DNS_SERVERS[0], *, mode: str = "answer",
                  reply_from: str | None = None) -> datetime:
        """Start a DNS server on ``address``:53 answering in ``mode`` and wait until its port is
        bound (``reply_from``: a local address its ``wrong-source`` answers come from). Returns
        the instant right after it is ready."""
        return self._apply("start_dns", address, lambda: self._wait_ready(
            self._spawn_dns(address, mode, reply_from)))

    def dns_mode(self, address: str, mode: str) -> datetime:
        """Make the running DNS server on ``address`` answer in ``mode`` from its next query on.

        Modes (testbed/servers/dns_server.py): ``answer`` (A 192.0.2.10), ``empty`` (NODATA),
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
        from testbed.servers.dns_server import MODES

        if mode not in MODES:
            raise ValueError(f"unknown DNS mode {mode!r}; use one of {', '.join(MODES)}")
        staged = self._mode_file(address).with_suffix(".new")
        staged.write_text(mode + "\n", encoding="ascii")
        os.replace(staged, self._mode_file(address))

    def _spawn_dns(self, address: str, mode: str, reply_from: str | None = None) -> Service:
        self._write_dns_mode(address, mode)
        extra = ["--mode-file", str(self._mode_file(address))]
        if reply_from is not None:
            extra += ["--reply-from", reply_from]
        return self._spawn_service("dns", address, DNS_PORT, extra)

    def _script(self, kind: str) -> Path:
        script = self.servers_dir / f"{kind}_server.py"
        if not script.is_file():
            raise LabError(f"{script} is missing: the lab runs its {kind.upper()} server from "
                           "it; add it, pass Lab(servers_dir=...) or build the lab with "
                           "Lab(services=False)")
        return script

    def _spawn_service(self, kind: Literal["dns", "http"], address: str, port: int,
                       extra: list[str]) -> Service:
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
        service = Service(kind, address, port, log, process)
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

    def _wait_ready(self, service: Service) -> None:
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

    def _port_bound(self, service: Service) -> bool:
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


def _dns_query(name: str) -> bytes:
    """A minimal DNS query for ``name`` A (RFC 1035), without dnspython."""
    header = struct.pack("!HHHHHH", os.getpid() & 0xFFFF, 0x0100, 1, 0, 0, 0)
    labels = b"".join(bytes([len(part)]) + part.encode() for part in name.split("."))
    return header + labels + b"\x00" + struct.pack("!HH", 1, 1)
