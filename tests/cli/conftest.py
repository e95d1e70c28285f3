"""Fixtures of the command line tests: a config that probes loopback only."""

from __future__ import annotations

from pathlib import Path

import pytest

# A config whose targets are all on loopback (every 127/8 address answers on lo).
LOOPBACK_CONFIG = """
[site]
timezone = "Europe/Paris"
[storage]
database = "watchdog.db"
[gateway]
address = "127.0.0.1"
[[ping]]
name = "alpha"
address = "127.0.0.2"
[[ping]]
name = "bravo"
address = "127.0.0.3"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """``watchdog.toml`` in the test's directory, probing loopback, its database beside it."""
    path = tmp_path / "watchdog.toml"
    path.write_text(LOOPBACK_CONFIG)
    return path
