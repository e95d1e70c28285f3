"""The test servers themselves, where other tests rely on more than the channel tests show."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from testbed.servers import SERVERS_DIR
from testbed.servers.http_receiver import HttpReceiver
from testbed.servers.smtp_server import SmtpServer
from watchdog.channels import SmtpSettings, WebhookSettings, build_email, post_json, send_email

from .conftest import HOST, LONG_TIMEOUT

RECEIVER_SCRIPT = SERVERS_DIR / "http_receiver.py"
NOW = datetime(2026, 3, 14, 9, 26, 53, tzinfo=UTC)


def test_the_receiver_runs_as_a_script_and_logs_json_lines(log_file: Path) -> None:
    # As the end-to-end tests run it in a namespace: by path, with only the standard library.
    with subprocess.Popen(
        [sys.executable, str(RECEIVER_SCRIPT), "--listen", f"{HOST}:0", "--log", str(log_file)],
        stdout=subprocess.PIPE, text=True, cwd="/",
    ) as process:
        try:
            assert process.stdout is not None
            banner = process.stdout.readline().strip()
            assert banner.startswith(f"listening on {HOST}:")
            url = f"http://{banner.rpartition(' ')[2]}/lan-hook"

            response = post_json(WebhookSettings(url=url, timeout=LONG_TIMEOUT),
                                 {"event": "outage_started", "message": "Coupure — été"},
                                 idempotency_key="k-1", now=NOW)
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=5) == 0

    assert response.json == {"ok": True, "received": 1}
    [line] = log_file.read_text(encoding="utf-8").splitlines()
    record = json.loads(line)
    assert record["method"] == "POST"
    assert record["path"] == "/lan-hook"
    assert record["headers"]["Idempotency-Key"] == "k-1"
    assert json.loads(record["body"]) == {"event": "outage_started", "message": "Coupure — été"}
    assert datetime.fromisoformat(record["at"]).tzinfo is not None


def test_the_receiver_logs_in_process_too_and_waits_for_requests(log_file: Path) -> None:
    with HttpReceiver(HOST, log=log_file) as receiver:
        for key in ("k-1", "k-2"):
            post_json(WebhookSettings(url=receiver.url("/x?a=1"), timeout=LONG_TIMEOUT),
                      b"\xff not utf-8", idempotency_key=key, now=NOW)

        arrived = receiver.wait_for(2, timeout=1)

    assert [request.header("idempotency-key") for request in arrived] == ["k-1", "k-2"]
    records = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert [record["path"] for record in records] == ["/x?a=1", "/x?a=1"]
    assert "body" not in records[0] and records[0]["body_base64"]


def test_the_smtp_server_lets_other_tests_wait_for_mail() -> None:
    with SmtpServer() as server:
        settings = SmtpSettings(host=server.host, port=server.port, security="none",
                                sender="watchdog@office.test", timeout=LONG_TIMEOUT)
        send_email(settings, build_email(sender="watchdog@office.test", to=["a@isp.test"],
                                         subject="s", text_body="b", message_id="<1@office.test>",
                                         date=NOW))

        [received] = server.wait_for(1, timeout=1)

    assert received.message["Message-ID"] == "<1@office.test>"
