"""Crash anywhere, short size: one outage, SIGKILLs at the ticket's opening, mid-delivery and
around the recovery (soak/crash.py). About 45 s."""

from __future__ import annotations

from pathlib import Path

import pytest

from soak import crash
from tests.soak.support import assert_targets_met

pytestmark = pytest.mark.netns


def test_kills_across_an_outage_lose_and_double_nothing(lab_allowed: None,
                                                        tmp_path: Path) -> None:
    result = crash.run("short", tmp_path)
    assert_targets_met(result)
    assert result.value("kills survived") == 3
