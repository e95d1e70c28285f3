"""Faults applied by the kernel of the router or internet namespace (``LabFaults``).

Each returns the wall-clock instant (aware UTC, real clock, never time-machine'd) taken right
*after* the kernel change completed: from that instant on every packet sees the fault. The
instant taken right before it is kept in ``Lab.events`` too, so a benchmark can bracket the
change (they are ~3 ms apart). ``packet_loss`` and ``kill_gateway`` need ``nft`` (nftables).
"""

from __future__ import annotations

import subprocess
import time
from datetime import datetime

from testbed.lab.namespaces import LabError
from testbed.lab.network import NFT_GATEWAY_TABLE, NFT_LOSS_TABLE, LabNetwork
from testbed.lab.topology import (
    BACKUP_INTERFACE,
    BACKUP_INTERNET_ADDRESS,
    INTERNET_NETWORK,
    INTERNET_WAN_ADDRESS,
    LAN_INTERFACE,
    OFFICE_ADDRESS,
    WAN_INTERFACE,
    LossDirection,
    check_internet_host,
)

# The internet's nftables table that silences the kernel's echo replies of forged targets.
NFT_FORGED_TABLE = "wdlab_forged"
FORGER_READY_TIMEOUT = 10.0


class LabFaults(LabNetwork):
    """The faults of the lab: a cut WAN, a dead gateway, a missing host, packet loss, a host
    answering pings with forgeries."""

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

    def cut_backup(self) -> datetime:
        """Cut the 4G uplink's way to the internet (``Lab(backup="uplink")``): the 4G router's
        WAN interface goes down, as ``cut_wan`` does the fibre's. Returns the instant right
        after the change."""
        self._need_backup("uplink", "cut_backup")
        return self._apply("cut_backup", "", lambda: self._ip_batch("mobile", [
            f"link set {WAN_INTERFACE} down",
        ]))

    def restore_backup(self) -> datetime:
        """Bring the 4G uplink's way to the internet back (its route with it). Returns the
        instant right after the change."""
        self._need_backup("uplink", "restore_backup")
        return self._apply("restore_backup", "", lambda: self._ip_batch("mobile", [
            f"link set {WAN_INTERFACE} up",
            f"route replace {INTERNET_NETWORK} via {BACKUP_INTERNET_ADDRESS}",
        ]))

    def fail_over(self) -> datetime:
        """The fibre dies and its router switches to its 4G by itself
        (``Lab(backup="failover")``): in one ``ip -batch``, the router's WAN interface goes
        down and its route to the internet goes through the 4G path. The office sees the
        internet answer as before, through another path. Returns the instant right after."""
        self._need_backup("failover", "fail_over")
        return self._apply("fail_over", "", lambda: self._ip_batch("router", [
            f"link set {WAN_INTERFACE} down",
            f"route replace {INTERNET_NETWORK} via {BACKUP_INTERNET_ADDRESS} "
            f"dev {BACKUP_INTERFACE}",
        ]))

    def fail_back(self) -> datetime:
        """The fibre is repaired and the router goes back to it: its WAN interface up and its
        route to the internet through it again. Returns the instant right after."""
        self._need_backup("failover", "fail_back")
        return self._apply("fail_back", "", lambda: self._ip_batch("router", [
            f"link set {WAN_INTERFACE} up",
            f"route replace {INTERNET_NETWORK} via {INTERNET_WAN_ADDRESS} dev {WAN_INTERFACE}",
        ]))

    def _need_backup(self, backup: str, fault: str) -> None:
        if self.backup != backup:
            raise LabError(f"{fault} needs a lab built with Lab(backup={backup!r})")

    def kill_gateway(self) -> datetime:
        """Make the router deaf and mute on the LAN, as a hung router behind a live switch.

        A ``drop`` rule in the nftables ``netdev`` chains on the router's LAN interface drops
        every frame at ingress (ARP included) and at egress (where the kernel has that hook), so
        192.0.2.1 stops answering and nothing passes through it, while the office keeps its link
        (carrier up) and its default route. Returns the instant right after the change.
        """
        script = "".join(f"flush chain netdev {NFT_GATEWAY_TABLE} {chain}\n"
                         f"add rule netdev {NFT_GATEWAY_TABLE} {chain} drop\n"
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
            self._nft(f"flush table netdev {NFT_GATEWAY_TABLE}\n")
            self._ip_batch("router", [f"neigh flush dev {LAN_INTERFACE}"])
            self._echo("router", OFFICE_ADDRESS)

        return self._apply("revive_gateway", "", change)

    def remove_target(self, address: str) -> datetime:
        """Delete ``address`` from the internet namespace's loopback: that host is gone and its
        packets are dropped there silently (no forwarding, no ICMP error). Other hosts are
        untouched; a service bound to it stays running but unreachable. Returns the instant right
        after the change; ``LabError`` if the address is not there."""
        check_internet_host(address)
        return self._apply("remove_target", address, lambda: self._ip_batch("internet", [
            f"addr del {address}/32 dev lo",
        ]))

    def add_target(self, address: str) -> datetime:
        """Add ``address`` (in 203.0.113.0/24) to the internet namespace's loopback: from then on
        it answers pings (and reaches any service bound to it). Returns the instant right after
        the change; ``LabError`` if it is already there."""
        check_internet_host(address)
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
        script = (f"flush chain inet {NFT_LOSS_TABLE} forward\n"
                  f"add rule inet {NFT_LOSS_TABLE} forward "
                  f"{match}numgen random mod 10000 < {round(percent * 100)} drop\n")
        return self._apply("packet_loss", f"{percent}% {direction}", lambda: self._nft(script))

    def forge_echo_replies(self, address: str, copies: int = 4) -> datetime:
        """Make ``address`` a hostile ping target: it answers every echo request with forged
        replies only (wrong identifier, wrong sequence, cut short), never a correct one.

        Adds ``address`` to the internet, drops the kernel's own echo replies from it (an
        nftables rule in the internet's output hook, for packets without the forger's mark)
        and starts ``testbed/servers/icmp_forger.py`` there. Returns the instant right after
        the forger is ready; ``LabError`` if it does not start.
        """
        from testbed.servers.icmp_forger import MARK

        check_internet_host(address)
        assert self.workdir is not None
        log = self.workdir / f"icmp-forger-{address}.log"
        script = (f"add table ip {NFT_FORGED_TABLE}\n"
                  f"add chain ip {NFT_FORGED_TABLE} output "
                  "{ type filter hook output priority 0 ; policy accept ; }\n"
                  f"add rule ip {NFT_FORGED_TABLE} output ip saddr {address} "
                  f"icmp type echo-reply meta mark != {MARK:#x} drop\n")

        def change() -> None:
            self._ip_batch("internet", [f"addr add {address}/32 dev lo"])
            self._exec_command("internet", ["nft", "-f", "-"], input_text=script)
            with open(log, "ab") as output:
                process = self.exec("internet", [self.python, self.servers_dir /
                                                 "icmp_forger.py", "--address", address,
                                                 "--copies", str(copies)],
                                    stdin=subprocess.DEVNULL, stdout=output,
                                    stderr=subprocess.STDOUT)
            deadline = time.monotonic() + FORGER_READY_TIMEOUT
            while "forging for" not in log.read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise LabError(f"the ICMP forger for {address} did not start:\n"
                                   f"{log.read_text(errors='replace')}")
                time.sleep(0.02)

        return self._apply("forge_echo_replies", address, change)

    def clear_packet_loss(self) -> datetime:
        """Flush the loss rule from the router's forward chain. Returns the instant right after."""
        return self._apply("clear_packet_loss", "", lambda: self._nft(
            f"flush chain inet {NFT_LOSS_TABLE} forward\n"))
