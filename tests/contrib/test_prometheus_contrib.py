"""``contrib/prometheus``: the rules pass ``promtool check rules`` and their own unit tests in
Prometheus' rule engine, the scrape config ``promtool check config``, and the Alertmanager
example ``amtool check-config`` with the routes it promises."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.environment import require

CONTRIB = Path(__file__).resolve().parents[2] / "contrib" / "prometheus"
RULES = CONTRIB / "watchdog.rules.yml"


def tool(name: str, package: str) -> str:
    found = shutil.which(name)
    require(None if found else f"needs {name} (Debian's {package} package; make test "
                               "installs it)")
    assert found is not None
    return found


def run(*argv: str | Path, cwd: Path = CONTRIB) -> str:
    done = subprocess.run([str(arg) for arg in argv], capture_output=True, text=True,
                          timeout=60, cwd=cwd, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_the_rules_pass_promtool() -> None:
    assert "SUCCESS: 9 rules found" in run(tool("promtool", "prometheus"), "check", "rules",
                                           RULES)


def test_the_rules_do_what_their_unit_tests_say() -> None:
    output = run(tool("promtool", "prometheus"), "test", "rules", "watchdog.rules.test.yml",
                 cwd=CONTRIB / "tests")
    assert "SUCCESS" in output


def test_the_scrape_config_is_valid_and_names_the_rules() -> None:
    output = run(tool("promtool", "prometheus"), "check", "config", "prometheus.yml")
    assert "SUCCESS: 1 rule files found" in output


@pytest.mark.parametrize(("alert", "receiver"), [
    ("WatchdogLinkDown", "it-provider-oncall"),
    ("WatchdogSiteSilent", "it-provider-oncall"),
    ("WatchdogGtrBreached", "management"),
    ("WatchdogOutboxStuck", "it-provider"),
])
def test_the_alertmanager_example_routes_each_alert(alert: str, receiver: str) -> None:
    amtool = tool("amtool", "prometheus-alertmanager")
    run(amtool, "check-config", "alertmanager.yml")
    routed = run(amtool, "config", "routes", "test", "--config.file=alertmanager.yml",
                 f"alertname={alert}", "site=lyon")
    assert routed.splitlines()[0].strip() == receiver
