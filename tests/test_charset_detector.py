"""requests' character detector deferred to its first use: requests imports and works as
before, the detector loads only when asked for, and then answers as it always did."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from watchdog.cli import run_cmd

# A body in Latin-1 with no charset declared: only the detector can tell what it is.
UNDECLARED = (
    "import requests\n"
    "response = requests.models.Response()\n"
    "response._content = 'Panne réseau à Paris, débit réduit à l’étage'.encode('cp1252')\n"
    "response.encoding = None\n"
)


def _run(code: str) -> str:
    """``code`` in a fresh interpreter (imports are process-wide), warnings as errors; its
    stdout."""
    result = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_requests_imports_without_the_detector_and_without_a_warning() -> None:
    output = _run(
        "import sys, importlib.metadata\n"
        "from watchdog import charset_detector\n"
        "charset_detector.defer()\n"
        "import requests\n"
        "assert not any(name.startswith('charset_normalizer.') for name in sys.modules)\n"
        "stand_in = sys.modules['charset_normalizer']\n"
        "assert stand_in.__version__ == importlib.metadata.version('charset-normalizer')\n"
        "print(type(stand_in).__name__)\n"
    )
    assert output.strip() == "_StandIn"


def test_the_detector_loads_at_its_first_use_and_answers_as_without_the_stand_in() -> None:
    undeferred = _run(UNDECLARED + "print(response.apparent_encoding, response.text)\n")
    deferred = _run(
        "from watchdog import charset_detector\n"
        "charset_detector.defer()\n"
        + UNDECLARED
        + "print(response.apparent_encoding, response.text)\n"
        "import sys, types\n"
        "assert type(sys.modules['charset_normalizer']) is types.ModuleType\n"
        "from charset_normalizer import from_bytes\n"
        "assert str(from_bytes(b'plain words').best()) == 'plain words'\n"
    )
    assert deferred == undeferred
    assert "Panne" in deferred


def test_a_submodule_imports_through_the_stand_in() -> None:
    output = _run(
        "from watchdog import charset_detector\n"
        "charset_detector.defer()\n"
        "import requests\n"
        "from charset_normalizer.md import mess_ratio\n"
        "print(mess_ratio('plain words'))\n"
    )
    assert float(output) == 0.0


def test_defer_does_nothing_once_requests_is_imported() -> None:
    output = _run(
        "import sys, requests\n"
        "real = sys.modules['charset_normalizer']\n"
        "from watchdog import charset_detector\n"
        "charset_detector.defer()\n"
        "print(sys.modules['charset_normalizer'] is real)\n"
    )
    assert output.strip() == "True"


class _Stop(Exception):
    pass


def test_watchdog_run_defers_the_detector_before_anything_else(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(run_cmd.charset_detector, "defer", lambda: calls.append("defer"))

    def config_from(*_args: object, **_kwargs: object) -> None:
        calls.append("config")
        raise _Stop

    monkeypatch.setattr(run_cmd, "config_from", config_from)
    monkeypatch.setattr(run_cmd.public_holidays, "in_child", lambda: None)
    with pytest.raises(_Stop):
        run_cmd.command(argparse.Namespace())
    assert calls == ["defer", "config"]
