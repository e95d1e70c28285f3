"""What every test server shares: ``with server:`` starts and stops it, ``--listen`` takes
``ADDRESS:PORT``, and as a script it serves in the foreground until SIGTERM or Ctrl-C.

Standard library only: the servers import it both from the ``testbed`` package and as a
sibling module when run as scripts (their folder on ``sys.path``).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import ssl
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Protocol, Self


class Running:
    """``with server:`` calls ``start()`` and, whatever happens inside, ``stop()``."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class Listening(Protocol):
    """A server bound to its address (the port is known once it is bound)."""

    host: str
    port: int

    def stop(self) -> None: ...


def listen_address(example: str) -> Callable[[str], tuple[str, int]]:
    """The ``--listen`` argument's type: ``ADDRESS:PORT`` or ``[IPV6]:PORT`` to (address,
    port); a wrong one is refused with ``example`` as the form to follow."""

    def parse(text: str) -> tuple[str, int]:
        host, _, port = text.rpartition(":")
        host = host.strip("[]")
        if not host or not port.isdigit():
            raise argparse.ArgumentTypeError(f"{text!r} is not ADDRESS:PORT (e.g. {example})")
        return host, int(port)

    return parse


def add_tls_arguments(parser: argparse.ArgumentParser) -> None:
    """``--cert`` and ``--key``: serve TLS with that certificate (see ``server_tls``)."""
    parser.add_argument("--cert", help="PEM certificate chain: serve HTTPS")
    parser.add_argument("--key", help="PEM private key of --cert (if not in the same file)")


def server_tls(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    """A server-side TLS context with ``cert`` (and ``key``) loaded; None without a cert."""
    if not cert:
        return None
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    return tls


def serve_in_foreground(server: Listening, serve: Callable[[], object]) -> int:
    """Print "listening on ADDRESS:PORT" (what the lab waits for), run ``serve`` until SIGTERM
    or Ctrl-C, then stop the server; the exit status for ``sys.exit``."""

    def stop(signal_number: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    address = f"[{server.host}]" if ":" in server.host else server.host
    print(f"listening on {address}:{server.port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        try:
            serve()
        finally:
            server.stop()
    return 0
