"""Hostile peers, short size: every hostile target's probe alone, then the daemon with all of
them for 20 s (soak/hostile.py). About 40 s."""

from __future__ import annotations

from pathlib import Path

import pytest

from soak import hostile
from tests.soak.support import assert_targets_met

pytestmark = pytest.mark.netns


def test_hostile_peers_cost_a_timeout_at_most_and_no_memory(lab_allowed: None,
                                                           tmp_path: Path) -> None:
    result = hostile.run("short", tmp_path)
    assert_targets_met(result)
    assert result.value("hostile probes run alone") == 16
