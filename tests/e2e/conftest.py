"""Fixtures of the end-to-end tests: a fresh network lab per test (see ``testbed/lab``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed.lab import Lab, lab_available
from tests.environment import require

E2E_DIR = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/e2e ``netns`` so ``-m "not netns"`` leaves them out."""
    for item in items:
        if E2E_DIR in item.path.parents:
            item.add_marker(pytest.mark.netns)


@pytest.fixture
def lab() -> Iterator[Lab]:
    """A running lab, torn down after the test whatever happens (skips without root, fails
    then under .ci/run: see ``tests/environment.py``)."""
    require(lab_available())
    with Lab() as running:
        yield running
