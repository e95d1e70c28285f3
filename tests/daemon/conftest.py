"""A config whose every target is on loopback, so the real daemon can run anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

LOOPBACK_CONFIG = """
[storage]
database = "watchdog.db"

[schedule]
ping_interval = "500ms"
ping_timeout = "200ms"
retry_interval = "200ms"
check_interval = "2s"
dns_timeout = "300ms"
http_timeout = "500ms"

[gateway]
address = "127.0.0.1"

[[ping]]
name = "alpha"
address = "127.0.0.2"

[[ping]]
name = "bravo"
address = "127.0.0.3"

[[ping]]
name = "charlie"
address = "127.0.0.4"
"""


@pytest.fixture
def loopback_config(tmp_path: Path) -> Path:
    path = tmp_path / "watchdog.toml"
    path.write_text(LOOPBACK_CONFIG)
    return path
