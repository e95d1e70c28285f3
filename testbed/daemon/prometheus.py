"""A real Prometheus (Debian's ``prometheus`` binary) in the lab's office, scraping the
daemon's ``/metrics`` on loopback every second and evaluating rule files every second; asked
through its HTTP API."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote

from testbed.daemon.waiting import poll_until
from testbed.lab.http_client import get, get_json
from testbed.lab.network import LabNetwork

PROMETHEUS_PORT = 9090
SCRAPE_SECONDS = 1
READY_TIMEOUT = 30.0


def prometheus_available() -> str | None:
    """Why Prometheus cannot run here (None: it can)."""
    return None if shutil.which("prometheus") else (
        "needs Debian's prometheus package (make test installs it)")


class LabPrometheus:
    """``prometheus`` in ``lab``'s office scraping ``target`` (host:port) as job
    ``connectivity-watchdog`` with ``site=SITE``, evaluating ``rules``; its data and log under
    ``work``. Stopped by the lab's teardown or ``stop()``."""

    def __init__(self, lab: LabNetwork, work: Path, target: str, rules: list[Path], *,
                 site: str = "lab") -> None:
        self.lab = lab
        self.work = work
        work.mkdir(parents=True, exist_ok=True)
        config = {
            "global": {"scrape_interval": f"{SCRAPE_SECONDS}s",
                       "evaluation_interval": f"{SCRAPE_SECONDS}s",
                       "scrape_timeout": f"{SCRAPE_SECONDS}s"},
            "rule_files": [str(rule) for rule in rules],
            "scrape_configs": [{"job_name": "connectivity-watchdog",
                                "static_configs": [{"targets": [target],
                                                    "labels": {"site": site}}]}],
        }
        self.config = work / "prometheus.yml"
        self.config.write_text(json.dumps(config, indent=2), encoding="utf-8")  # YAML too
        self.log = work / "prometheus.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> LabPrometheus:
        """Start it and wait until it is ready (it answers 503 while its storage opens)."""
        self.process = self.lab.start_listener(
            "office", ["prometheus", f"--config.file={self.config}",
                       f"--storage.tsdb.path={self.work / 'data'}",
                       f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}",
                       "--log.level=warn"],
            "127.0.0.1", PROMETHEUS_PORT, output=self.log, timeout=30)
        poll_until(lambda: get(self.lab, "office", "127.0.0.1", PROMETHEUS_PORT,
                               "/-/ready")[0] == 200, timeout=READY_TIMEOUT,
                   what="Prometheus to be ready", describe=self.output)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def api(self, target: str) -> Any:
        """The ``data`` of an API answer (``/api/v1/...``)."""
        document = get_json(self.lab, "office", "127.0.0.1", PROMETHEUS_PORT, target)
        if document.get("status") != "success":
            raise ValueError(f"{target}: {document}")
        return document["data"]

    def query(self, expression: str) -> list[dict[str, Any]]:
        """The instant vector ``expression`` evaluates to now: [{metric: {...}, value: [t, v]}]."""
        result: list[dict[str, Any]] = self.api(f"/api/v1/query?query={quote(expression)}")[
            "result"]
        return result

    def alerts(self) -> list[dict[str, Any]]:
        """The alerts of the rule evaluation (pending and firing), with their labels."""
        found: list[dict[str, Any]] = self.api("/api/v1/alerts")["alerts"]
        return found

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() \
            else "(no output)"
