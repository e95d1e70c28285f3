"""Dead receivers, short size: every receiver down through a 12 s outage and 12 s beyond, a
channel that fails for good (soak/receivers.py). About 45 s."""

from __future__ import annotations

from pathlib import Path

import pytest

from soak import receivers
from tests.soak.support import assert_targets_met

pytestmark = pytest.mark.netns


def test_messages_wait_for_dead_receivers_and_arrive_once_in_order(lab_allowed: None,
                                                                   tmp_path: Path) -> None:
    result = receivers.run("short", tmp_path)
    assert_targets_met(result)
    assert result.value("permanent failures (401 with the token quoted back)") > 0
