"""Pings from inside a namespace (``Lab.ping``): the script that sends them and its report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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


# Runs inside a namespace with the project's interpreter: sends ``count`` echo requests to every
# address, one round every ``spacing`` seconds, through one unprivileged ICMP socket (icmplib),
# collects replies until ``timeout`` after the last send and prints [address, seq, sent, rtt|null].
PING_SCRIPT = r"""
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
