"""A hostile ping target: answers every echo request to ADDRESS with forged replies only.

    python testbed/servers/icmp_forger.py --address 203.0.113.9 [--copies N]

Runs where ADDRESS is a local address (the lab's internet namespace) and the kernel's own
replies from it are dropped by the caller (``LabFaults.forge_echo_replies`` does both). For
each echo request to ADDRESS it sends ``--copies`` rounds of replies that a correct client
must ignore: the right sequence with the wrong identifier, the right identifier with the wrong
sequence, and a reply cut short to 4 bytes; never a correct one. Its packets carry the
firewall mark ``MARK`` (SO_MARK) so the rule that drops the kernel's replies lets them pass.
Prints "forging for ADDRESS" once ready and a count of requests seen on SIGTERM. Standard
library only; needs root (a raw socket and SO_MARK).
"""

from __future__ import annotations

import argparse
import signal
import socket
import struct
import sys
from types import FrameType

MARK = 0x77
SO_MARK = 36  # socket.SO_MARK where Python lacks it
ECHO_REQUEST, ECHO_REPLY = 8, 0


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def reply(identifier: int, sequence: int, payload: bytes) -> bytes:
    """An ICMP echo reply with its checksum."""
    header = struct.pack("!BBHHH", ECHO_REPLY, 0, 0, identifier, sequence)
    total = checksum(header + payload)
    return struct.pack("!BBHHH", ECHO_REPLY, 0, total, identifier, sequence) + payload


def forgeries(identifier: int, sequence: int, payload: bytes) -> list[bytes]:
    """What is sent for one request: never the right identifier with the right sequence."""
    return [
        reply((identifier + 1) & 0xFFFF, sequence, payload),
        reply(identifier ^ 0x5A5A, sequence, payload),
        # (Not sequence + 1: that is the next echo's, which a forger may well predict.)
        reply(identifier, (sequence + 1000) & 0xFFFF, payload),
        reply(identifier, (sequence - 1000) & 0xFFFF, payload[:8]),
        reply(identifier, sequence, payload)[:4],
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Answer pings to ADDRESS with forged replies.")
    parser.add_argument("--address", required=True, help="the local address to forge for")
    parser.add_argument("--copies", type=int, default=4,
                        help="rounds of forged replies per request (default 4)")
    arguments = parser.parse_args(argv)
    requests = 0

    def stop(signal_number: int, frame: FrameType | None) -> None:
        print(f"requests seen: {requests}", flush=True)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as raw:
        raw.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_MARK", SO_MARK), MARK)
        raw.bind((arguments.address, 0))
        print(f"forging for {arguments.address}", flush=True)
        while True:
            packet, (source, _) = raw.recvfrom(65535)
            header_length = (packet[0] & 0x0F) * 4
            destination = socket.inet_ntoa(packet[16:20])
            icmp = packet[header_length:]
            if destination != arguments.address or len(icmp) < 8 or icmp[0] != ECHO_REQUEST:
                continue
            requests += 1
            _, _, _, identifier, sequence = struct.unpack("!BBHHH", icmp[:8])
            for _ in range(arguments.copies):
                for forged in forgeries(identifier, sequence, icmp[8:]):
                    raw.sendto(forged, (source, 0))


if __name__ == "__main__":
    sys.exit(main())
