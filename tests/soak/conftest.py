"""The short suites that build a namespace lab are ``netns`` tests, as tests/e2e's: they need
root (``require`` skips without it, or fails under .ci/run)."""

from __future__ import annotations

import pytest

from testbed.lab import lab_available
from tests.environment import require


@pytest.fixture
def lab_allowed() -> None:
    """For a suite that builds its own lab: root and ``ip netns``."""
    require(lab_available())
