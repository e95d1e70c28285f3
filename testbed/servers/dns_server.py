"""A small real DNS server over UDP for tests: answers, errors, silence or garbage on demand.

In-process::

    with DnsServer(host="127.0.0.53", port=0, mode="answer") as server:
        ...  # query server.host:server.port; set server.mode = "servfail" at any time

As a script (foreground, stops on SIGTERM or Ctrl-C; prints "listening on ADDRESS:PORT" once
ready, so a caller can wait for that line)::

    python testbed/servers/dns_server.py --listen 10.0.0.53:53 --mode answer
    python testbed/servers/dns_server.py --listen 127.0.0.53:0 --mode-file /tmp/mode

With ``--mode-file`` the mode is read from that file before every answer (when it exists), so an
end-to-end test can break and repair DNS while the server runs in another namespace.

Needs only the standard library and dnspython: it runs where the test package is not importable.

Modes:
- ``answer``: NOERROR with a record of the asked type for any name (A 192.0.2.10,
  AAAA 2001:db8::10, MX, NS, TXT, SOA); other types get NOERROR with no records.
- ``empty``: NOERROR with no records (NODATA).
- ``nxdomain`` / ``servfail`` / ``refused``: that response code.
- ``silent``: reads queries and never answers.
- ``garbage``: answers with bytes that are not a DNS message.
- ``truncated``: NOERROR with the TC bit set and no records (what a UDP answer too big for its
  datagram says).
- ``wrong-source``: the right answer, sent from another address (``reply_from``,
  ``--reply-from``): a stray or a spoof a client must not take for the resolver's answer.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import ipaddress
import selectors
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any, Final, Self

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

if __package__:
    from .running import Running, listen_address, serve_in_foreground
else:  # run as a script: its own folder is on sys.path, the testbed package may not be
    from running import (  # type: ignore[import-not-found,no-redef]
        Running,
        listen_address,
        serve_in_foreground,
    )

MODES: Final = ("answer", "empty", "nxdomain", "servfail", "refused", "silent", "garbage",
                "truncated", "wrong-source")
ANSWER_A: Final = "192.0.2.10"
ANSWER_AAAA: Final = "2001:db8::10"
TTL: Final = 60
# How often the serving loop looks at its stop flag while no query arrives.
POLL_SECONDS: Final = 0.05
# Starts like a DNS header (so it reaches the parser) but claims sections that are not there.
GARBAGE: Final = b"\xff\xff\x81\x80\x00\x07\x00\x09\x00\x00\x00\x00not a dns message"


class DnsServer(Running):
    """A UDP DNS server on ``host``:``port`` (port 0: any free port, see ``.port``).

    ``mode`` may be changed at any time; ``queries`` counts the queries received and
    ``arrivals`` holds when each came (``time.monotonic()``) and ``last_client`` the address of
    the latest one's sender; ``drop_next`` queries from now on are read and left unanswered, as
    if lost on the way (a retransmission test). ``hold``:
    each answer is sent that many seconds after its query arrived, while the server goes on
    reading others; ``in_flight`` counts the queries whose answer is held and ``max_in_flight``
    the most at once, so a test can count how many queries a client had out together.
    Start with ``start()`` or ``with``; ``serve_forever()`` runs it in the calling thread.
    """

    def __init__(
        self,
        host: str = "127.0.0.53",
        port: int = 0,
        mode: str = "answer",
        mode_file: str | None = None,
        hold: float = 0.0,
        reply_from: str | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        self.mode = mode
        self.mode_file = Path(mode_file) if mode_file else None
        self.queries = 0
        self.arrivals: list[float] = []
        self.drop_next = 0
        self.last_client: str | None = None
        self.hold = hold
        self.in_flight = 0
        self.max_in_flight = 0
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_DGRAM)
        self._socket.bind((host, port))
        self.host: str = self._socket.getsockname()[0]
        self.port: int = self._socket.getsockname()[1]
        # Where "wrong-source" answers come from (any free port there).
        self._elsewhere: socket.socket | None = None
        if reply_from is not None:
            self._elsewhere = socket.socket(family, socket.SOCK_DGRAM)
            self._elsewhere.bind((reply_from, 0))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Serve in a background thread; returns self."""
        self._thread = threading.Thread(
            target=self.serve_forever, name=f"dns-server-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._socket.close()
        if self._elsewhere is not None:
            self._elsewhere.close()

    def serve_forever(self) -> None:
        """Answer queries until ``stop()`` (or a signal handler raising) ends the loop."""
        # Held answers: (when due, arrival order, reply, client, from where), soonest first.
        held: list[tuple[float, int, bytes, Any, socket.socket]] = []
        with selectors.DefaultSelector() as selector:
            selector.register(self._socket, selectors.EVENT_READ)
            while not self._stop.is_set():
                wait = POLL_SECONDS if not held else max(
                    0.0, min(POLL_SECONDS, held[0][0] - time.monotonic()))
                if selector.select(wait):
                    self._receive(held)
                while held and held[0][0] <= time.monotonic():
                    _, _, reply, client, sender = heapq.heappop(held)
                    self.in_flight -= 1
                    self._send(reply, client, sender)

    def _receive(self, held: list[tuple[float, int, bytes, Any, socket.socket]]) -> None:
        """Read one query and answer it, now or (``hold``) by queueing its answer in ``held``."""
        try:
            wire, client = self._socket.recvfrom(65535)
        except OSError:
            return
        self.queries += 1
        self.arrivals.append(time.monotonic())
        self.last_client = client[0]
        if self.drop_next > 0:
            self.drop_next -= 1
            return
        mode = self.current_mode()
        reply = self.reply_to(wire, mode)
        if reply is None:
            return
        sender = self._socket
        if mode == "wrong-source" and self._elsewhere is not None:
            sender = self._elsewhere
        if self.hold <= 0:
            self._send(reply, client, sender)
            return
        heapq.heappush(held, (time.monotonic() + self.hold, self.queries, reply, client,
                              sender))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _send(self, reply: bytes, client: Any, sender: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sender.sendto(reply, client)

    def current_mode(self) -> str:
        """The mode in force: the mode file's content when there is one, else ``mode``."""
        if self.mode_file is not None:
            with contextlib.suppress(OSError):
                text = self.mode_file.read_text(encoding="ascii").strip()
                if text in MODES:
                    return text
        return self.mode

    def reply_to(self, wire: bytes, mode: str | None = None) -> bytes | None:
        """The bytes to send back for the query ``wire`` (in ``mode``, default the mode in
        force), or None to stay silent."""
        mode = mode or self.current_mode()
        if mode == "silent":
            return None
        if mode == "garbage":
            return GARBAGE
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None  # not a query we can parse: a real server would drop it too
        response = dns.message.make_response(query, recursion_available=True)
        if mode == "nxdomain":
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif mode == "servfail":
            response.set_rcode(dns.rcode.SERVFAIL)
        elif mode == "refused":
            response.set_rcode(dns.rcode.REFUSED)
        elif mode == "truncated":
            response.flags |= dns.flags.TC
        elif mode in ("answer", "wrong-source") and query.question:
            question = query.question[0]
            record = _record_for(question.name.to_text(), question.rdtype)
            if record is not None:
                response.answer.append(
                    dns.rrset.from_text(
                        question.name, TTL, dns.rdataclass.IN, question.rdtype, record
                    )
                )
        return response.to_wire()


def _record_for(name: str, rdtype: int) -> str | None:
    """The text of one record of type ``rdtype`` for ``name``; None for types we do not serve."""
    records = {
        dns.rdatatype.A: ANSWER_A,
        dns.rdatatype.AAAA: ANSWER_AAAA,
        dns.rdatatype.MX: f"10 mail.{name}",
        dns.rdatatype.NS: f"ns1.{name}",
        dns.rdatatype.TXT: '"connectivity-watchdog test server"',
        dns.rdatatype.SOA: f"ns1.{name} hostmaster.{name} 1 3600 600 86400 60",
    }
    return records.get(dns.rdatatype.RdataType(rdtype))



def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A DNS server for tests (UDP).")
    parser.add_argument(
        "--listen", type=listen_address("127.0.0.53:5353"), required=True, help="ADDRESS:PORT"
    )
    parser.add_argument("--mode", choices=MODES, default="answer")
    parser.add_argument("--mode-file", help="read the mode from this file before every answer")
    parser.add_argument("--reply-from", help="the local address wrong-source answers come from")
    arguments = parser.parse_args(argv)

    host, port = arguments.listen
    server = DnsServer(host, port, arguments.mode, arguments.mode_file,
                       reply_from=arguments.reply_from)
    return serve_in_foreground(server, server.serve_forever)


if __name__ == "__main__":
    sys.exit(main())
