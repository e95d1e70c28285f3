"""The systemd unit: ``systemd-analyze verify`` is silent and the exposure level is at most 2.0.

``verify`` checks that ExecStart's program exists, and /opt/connectivity-watchdog is not
installed on a development machine. ``--root=DIR`` is no way out: it resolves everything in DIR,
sysinit.target and ``kill`` included, so DIR would need a whole systemd tree. So the unit is
verified as a temporary copy whose ExecStart names a real executable (this checkout's
``watchdog`` command, else this Python); every other line is the shipped one. The exposure is
scored on the shipped file itself, and once more with the CAP_NET_RAW drop-in that make
install adds on hosts whose ping_group_range excludes the service's group.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.environment import unavailable

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "connectivity-watchdog.service"
PING_RAW = REPO / "systemd" / "ping-raw.conf"
INSTALLED_COMMAND = "/opt/connectivity-watchdog/bin/watchdog"
MAX_EXPOSURE = 2.0
EXPOSURE = re.compile(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)")

ANALYZE = shutil.which("systemd-analyze")


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    if ANALYZE is None:
        unavailable("systemd-analyze is not installed (apt-get install systemd): the unit is "
                    "not checked")
    return subprocess.run([ANALYZE, *args], capture_output=True, text=True, timeout=60,
                          check=False)


def exposure(output: str) -> float:
    found = EXPOSURE.search(output)
    assert found, f"no 'Overall exposure level' line in:\n{output}"
    return float(found.group(1))


def directives(text: str) -> list[tuple[str, str, str]]:
    """(section, key, value) for every assignment, in order (keys may repeat)."""
    section, found = "", []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.append((section, key.strip(), value.strip()))
    return found


def test_the_unit_verifies_without_a_word(tmp_path: Path) -> None:
    real = Path(sys.executable).parent / "watchdog"
    command = str(real if real.exists() else Path(sys.executable))
    text = UNIT.read_text()
    assert INSTALLED_COMMAND in text
    copy = tmp_path / UNIT.name
    copy.write_text(text.replace(INSTALLED_COMMAND, command))
    result = analyze("verify", str(copy))
    # verify exits 0 even for an unknown key (a typo): any output at all is a finding.
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), \
        result.stdout + result.stderr


def test_the_exposure_level_is_at_most_two(tmp_path: Path) -> None:
    # A copy alone in its directory: a connectivity-watchdog.service.d/ beside the file would
    # be read as its drop-ins.
    copy = tmp_path / UNIT.name
    shutil.copy(UNIT, copy)
    result = analyze("security", "--offline=true", str(copy))
    level = exposure(result.stdout + result.stderr)
    print(f"exposure level of {UNIT.name}: {level}")
    assert level <= MAX_EXPOSURE, result.stdout


def test_the_exposure_with_the_cap_net_raw_drop_in_is_at_most_two(tmp_path: Path) -> None:
    unit_dir = tmp_path / "usr/local/lib/systemd/system"
    (unit_dir / f"{UNIT.name}.d").mkdir(parents=True)
    shutil.copy(UNIT, unit_dir / UNIT.name)
    shutil.copy(PING_RAW, unit_dir / f"{UNIT.name}.d" / PING_RAW.name)
    result = analyze("security", "--offline=true", f"--root={tmp_path}", UNIT.name)
    output = result.stdout + result.stderr
    # The drop-in was read: the service now receives an ambient capability.
    assert re.search(r"✗ AmbientCapabilities=", output), output
    level = exposure(output)
    print(f"exposure level with {PING_RAW.name}: {level}")
    assert level <= MAX_EXPOSURE, output


def test_the_unit_says_what_the_issue_asks() -> None:
    found = directives(UNIT.read_text())
    service = {key: value for section, key, value in found if section == "Service"}
    unit = [(key, value) for section, key, value in found if section == "Unit"]
    assert service["Type"] == "notify"
    assert service["NotifyAccess"] == "main"
    assert service["WatchdogSec"]
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"].split() == ["78", "77"]
    assert service["ExecStart"] == (f"{INSTALLED_COMMAND} run --config "
                                    "/etc/connectivity-watchdog/watchdog.toml")
    assert service["User"] == service["Group"] == "connectivity-watchdog"
    assert "DynamicUser" not in service
    assert service["StateDirectory"] == service["ConfigurationDirectory"] \
        == "connectivity-watchdog"
    assert service["StateDirectoryMode"] == "0750"
    assert service["UMask"] == "0027"
    # No capability in the unit itself: CAP_NET_RAW comes only with the drop-in.
    assert service["CapabilityBoundingSet"] == service["AmbientCapabilities"] == ""
    assert ("After", "network-online.target") in unit and ("Wants", "network-online.target") \
        in unit and ("After", "time-sync.target") in unit
    # The gateway is read from /proc/net/route, which ProcSubset=pid would hide.
    assert "ProcSubset" not in service


def test_every_setting_says_why() -> None:
    """A comment stands above every block of settings in [Service] (one line each says why)."""
    lines = UNIT.read_text().splitlines()
    section, previous = "", ""
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped.startswith("["):
            section = stripped
        elif section == "[Service]" and stripped and not stripped.startswith("#"):
            key = stripped.partition("=")[0]
            continued = previous.partition("=")[0] == key  # a repeated key, as SystemCallFilter
            assert previous.startswith("#") or continued or key in {
                "ExecStart", "Restart", "RestartSec", "Group", "CapabilityBoundingSet",
                "AmbientCapabilities", "StateDirectoryMode",
            }, f"{UNIT.name}:{number}: {key}= has no comment above it saying why"
        previous = stripped
