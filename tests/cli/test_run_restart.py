"""``watchdog run`` starts again as ``python -X no_debug_ranges`` (a smaller daemon), once,
and only when the process is the watchdog command itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from watchdog.cli.run_cmd import restart_arguments

PYTHON = "/srv/venv/bin/python"


def test_the_script_and_python_m_restart_with_the_option_and_the_same_arguments() -> None:
    script = ["/srv/venv/bin/watchdog", "run", "--config", "/etc/watchdog.toml"]
    assert restart_arguments(script, [PYTHON, *script], PYTHON, {}, {}) == [
        PYTHON, "-X", "no_debug_ranges", *script]
    module = ["/srv/venv/lib/python3.11/site-packages/watchdog/__main__.py", "run"]
    assert restart_arguments(module, [PYTHON, "-m", "watchdog", "run"], PYTHON, {}, {}) == [
        PYTHON, "-X", "no_debug_ranges", "-m", "watchdog", "run"]


def test_no_restart_once_restarted_or_inside_another_program() -> None:
    script = ["/srv/venv/bin/watchdog", "run"]
    assert restart_arguments(script, [PYTHON, "-X", "no_debug_ranges", *script], PYTHON,
                             {"no_debug_ranges": True}, {}) is None
    assert restart_arguments(script, [PYTHON, *script], PYTHON, {},
                             {"PYTHONNODEBUGRANGES": "1"}) is None
    pytest_argv = ["/srv/venv/bin/pytest", "tests"]
    assert restart_arguments(pytest_argv, [PYTHON, *pytest_argv], PYTHON, {}, {}) is None


def test_the_daemon_runs_without_column_tables(tmp_path: Path) -> None:
    # A config error ends the run at once: after the restart, which the exit code survives.
    bad = tmp_path / "watchdog.toml"
    bad.write_text("[schedule]\nping_interval = 'soon'\n")
    probe = tmp_path / "sitecustomize.py"
    probe.write_text("import sys\nprint('ranges', sys._xoptions.get('no_debug_ranges'),"
                     " file=sys.stderr)\n")
    result = subprocess.run(
        [sys.executable, "-m", "watchdog", "run", "--config", str(bad)], capture_output=True,
        text=True, timeout=60, env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 78, result.stderr
    assert result.stderr.splitlines()[:2] == ["ranges None", "ranges True"]
