"""Messages out of the lab: two mail servers "on the internet", a webhook on the LAN.

The ISP's and management's SMTP servers (``testbed/servers/smtp_server.py``) listen on their own
addresses in the internet namespace, so a WAN cut makes them unreachable; the webhook receiver
(``testbed/servers/http_receiver.py``) listens on the router's LAN address, which the office
reaches while the WAN is cut. Each appends one JSON line per message it accepts; the readers
below turn those lines into records. ``alert_overrides`` is the matching config for
``lab.write_config``.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from testbed.daemon.driver import STOP_TIMEOUT
from testbed.lab import Lab
from testbed.lab.topology import GATEWAY_ADDRESS
from testbed.servers import SERVERS_DIR
from watchdog.channels.smtp import make_message_id

ISP_SMTP_ADDRESS = "203.0.113.25"
MANAGEMENT_SMTP_ADDRESS = "203.0.113.26"
SMTP_PORT = 25
LAN_HOOK_ADDRESS = GATEWAY_ADDRESS
LAN_HOOK_PORT = 8080
LAN_HOOK_PATH = "/hook"
SENDER = "watchdog@office.example"
ISP_MAILBOX = "support@isp.example"
MANAGEMENT_MAILBOX = "management@office.example"
# Channel (and relay) names in the config alert_overrides writes.
ISP_CHANNEL = "isp-helpdesk"
MANAGEMENT_CHANNEL = "management-mail"
HOOK_CHANNEL = "lan-hook"
ISP_RELAY = "isp-relay"
MANAGEMENT_RELAY = "management-relay"
ALERT_EVENTS = ("outage_started", "ticket_opened", "recovered")
SMTP_SCRIPT = SERVERS_DIR / "smtp_server.py"
RECEIVER_SCRIPT = SERVERS_DIR / "http_receiver.py"
# A webhook receiver that answers every request to PATH after DELAY seconds (argv: ADDRESS PORT
# LOG PATH DELAY); the script itself has no option for that.
_SLOW_RECEIVER = r"""
import signal, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from http_receiver import HttpReceiver, Reply
receiver = HttpReceiver(sys.argv[2], int(sys.argv[3]), log=Path(sys.argv[4]))
receiver.script(sys.argv[5], Reply(json={"ok": True}, delay=float(sys.argv[6])))

def stop(*_):
    raise SystemExit(0)

signal.signal(signal.SIGTERM, stop)
try:
    receiver.serve_forever()
finally:
    receiver.stop()
"""


def alert_overrides(
    *,
    open_after: str = "5s",
    merge_within: str | None = None,
    events: Collection[str] = ALERT_EVENTS,
    smtp_timeout: str | None = None,
    hook_timeout: str | None = None,
) -> dict[str, Any]:
    """Config sections for ``lab.write_config``: an ISP contract, the two mail relays (no TLS,
    in the lab), the ISP's helpdesk as email ticket backend, management's mailbox and the LAN
    webhook as notification channels for ``events``, and ``incidents.open_after`` (every
    outage kind) shortened so a ticket opens in seconds. ``None`` keeps a default."""
    incidents: dict[str, Any] = {
        "open_after": {"isp": open_after, "lan": open_after, "dns": open_after}}
    if merge_within is not None:
        incidents["merge_within"] = merge_within
    relays = [
        {"name": name, "host": host, "port": SMTP_PORT, "security": "none", "sender": SENDER}
        for name, host in ((ISP_RELAY, ISP_SMTP_ADDRESS),
                           (MANAGEMENT_RELAY, MANAGEMENT_SMTP_ADDRESS))
    ]
    hook: dict[str, Any] = {
        "name": HOOK_CHANNEL, "url": f"http://{LAN_HOOK_ADDRESS}:{LAN_HOOK_PORT}{LAN_HOOK_PATH}",
        "events": list(events)}
    if smtp_timeout is not None:
        for relay in relays:
            relay["timeout"] = smtp_timeout
    if hook_timeout is not None:
        hook["timeout"] = hook_timeout
    return {
        "isp": {"name": "Lab Fibre", "line_id": "FTTH-0042", "customer_ref": "C-1234",
                "gtr": "4h"},
        "incidents": incidents,
        "smtp": relays,
        "tickets": {"email": [{"name": ISP_CHANNEL, "smtp": ISP_RELAY, "to": [ISP_MAILBOX]}]},
        "notify": {
            "email": [{"name": MANAGEMENT_CHANNEL, "smtp": MANAGEMENT_RELAY,
                       "to": [MANAGEMENT_MAILBOX], "events": list(events)}],
            "webhook": [hook],
        },
    }


def message_id_of(key: str, sender: str = SENDER) -> str:
    """The Message-ID the daemon gives the email of outbox key ``key``."""
    return make_message_id(key, sender.rpartition("@")[2])


@dataclass(frozen=True, slots=True)
class MailRecord:
    """One message a lab SMTP server accepted (a line of its log)."""

    at: datetime
    message_id: str
    subject: str
    recipients: tuple[str, ...]
    in_reply_to: str | None
    body: str


@dataclass(frozen=True, slots=True)
class HookRecord:
    """One request the LAN webhook receiver got (a line of its log)."""

    at: datetime
    key: str | None
    event: str | None
    payload: dict[str, Any]
    # The request's path: the webhook's, or another client's (a heartbeat's ping).
    path: str = LAN_HOOK_PATH


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of a receiver's log (none yet: []); a last line still being written is
    left for the next read."""
    if not path.exists():
        return []
    records: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            break
    return records


def mail_records(lines: list[dict[str, Any]]) -> list[MailRecord]:
    return [MailRecord(at=datetime.fromisoformat(line["at"]), message_id=line["message_id"],
                       subject=line["subject"] or "", recipients=tuple(line["to"]),
                       in_reply_to=line.get("in_reply_to"), body=line.get("body") or "")
            for line in lines]


def hook_records(lines: list[dict[str, Any]]) -> list[HookRecord]:
    records: list[HookRecord] = []
    for line in lines:
        headers = {name.lower(): value for name, value in line["headers"].items()}
        try:
            payload = json.loads(line.get("body") or "null")
        except ValueError:
            payload = None
        payload = payload if isinstance(payload, dict) else {}
        records.append(HookRecord(at=datetime.fromisoformat(line["at"]),
                                  key=headers.get("idempotency-key"),
                                  event=payload.get("event"), payload=payload,
                                  path=str(line.get("path", LAN_HOOK_PATH)).split("?")[0]))
    return records


class AlertServers:
    """The ISP's and management's SMTP servers on the lab's internet, the webhook on its LAN.

    ``smtp_delay``/``hook_delay``: each server holds its answer that many seconds after it
    recorded (and logged) the message, so a test can kill the daemon with a message in flight.
    Processes are stopped by ``stop()`` or, at the latest, by the lab's ``close()``.
    """

    def __init__(self, lab: Lab, workdir: Path, *, smtp_delay: float = 0.0,
                 hook_delay: float = 0.0) -> None:
        self.lab = lab
        self.workdir = Path(workdir)
        self.smtp_delay = smtp_delay
        self.hook_delay = hook_delay
        self.isp_log = self.workdir / "isp-smtp.jsonl"
        self.management_log = self.workdir / "management-smtp.jsonl"
        self.hook_log = self.workdir / "lan-hook.jsonl"
        self._smtp: list[subprocess.Popen[bytes]] = []
        self._hook: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> AlertServers:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self, *, hook: bool = True) -> AlertServers:
        """Add the mail servers' addresses to the internet, start them and (``hook``) the
        webhook receiver; return once all accept connections."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        for address, log in ((ISP_SMTP_ADDRESS, self.isp_log),
                             (MANAGEMENT_SMTP_ADDRESS, self.management_log)):
            self.lab.add_target(address)
            argv: list[str | Path] = [self.lab.python, SMTP_SCRIPT, "--listen",
                                      f"{address}:{SMTP_PORT}", "--log", log]
            if self.smtp_delay:
                argv += ["--data-delay", str(self.smtp_delay)]
            self._smtp.append(self.lab.start_listener(
                "internet", argv, address, SMTP_PORT,
                output=self.workdir / f"smtp-{address}.out"))
        if hook:
            self.start_hook()
        return self

    def start_hook(self) -> None:
        """Start the LAN webhook receiver (it must not be running)."""
        if self._hook is not None and self._hook.poll() is None:
            raise RuntimeError("the webhook receiver already runs")
        argv: list[str | Path]
        if self.hook_delay:
            argv = [self.lab.python, "-c", _SLOW_RECEIVER, RECEIVER_SCRIPT.parent,
                    LAN_HOOK_ADDRESS, str(LAN_HOOK_PORT), self.hook_log, LAN_HOOK_PATH,
                    str(self.hook_delay)]
        else:
            argv = [self.lab.python, RECEIVER_SCRIPT, "--listen",
                    f"{LAN_HOOK_ADDRESS}:{LAN_HOOK_PORT}", "--log", self.hook_log]
        self._hook = self.lab.start_listener("router", argv, LAN_HOOK_ADDRESS, LAN_HOOK_PORT,
                                             output=self.workdir / "lan-hook.out")

    def stop_hook(self) -> None:
        """Stop the webhook receiver: from then on the office's connections are refused."""
        if self._hook is not None:
            _terminate(self._hook)
            self._hook = None

    def stop(self) -> None:
        self.stop_hook()
        for process in self._smtp:
            _terminate(process)
        self._smtp.clear()

    def isp_mail(self) -> list[MailRecord]:
        return mail_records(read_json_lines(self.isp_log))

    def management_mail(self) -> list[MailRecord]:
        return mail_records(read_json_lines(self.management_log))

    def hooks(self) -> list[HookRecord]:
        """The webhook's requests (other clients' requests to the receiver left out)."""
        return [hook for hook in hook_records(read_json_lines(self.hook_log))
                if hook.path == LAN_HOOK_PATH]

    def other_requests(self) -> list[HookRecord]:
        """Requests to the LAN receiver on another path than the webhook's (heartbeats)."""
        return [hook for hook in hook_records(read_json_lines(self.hook_log))
                if hook.path != LAN_HOOK_PATH]

    def describe(self) -> str:
        """What each server received, for a failure message."""
        lines = ["ISP mail:"]
        lines += [f"  {m.at:%H:%M:%S.%f} {m.message_id} {m.subject}" for m in self.isp_mail()]
        lines.append("management mail:")
        lines += [f"  {m.at:%H:%M:%S.%f} {m.message_id} {m.subject}"
                  for m in self.management_mail()]
        lines.append("LAN webhook:")
        lines += [f"  {h.at:%H:%M:%S.%f} {h.key} {h.event}" for h in self.hooks()]
        return "\n".join(lines)


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
