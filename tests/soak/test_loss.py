"""Loss, short size: 30 s of 30 % loss each way, one resolver and two, then a real DNS outage
(soak/loss.py). About 60 s."""

from __future__ import annotations

from pathlib import Path

import pytest

from soak import loss
from tests.soak.support import assert_targets_met

pytestmark = pytest.mark.netns

# While a DNS check sends a single query, heavy loss makes a lone resolver look dead: the
# figures say so; the retransmission that cures it is issue 12's DNS hardening.
SINGLE_QUERY = {
    "one resolver: outages during the loss": "a DNS check sends one query, not retransmitting",
    "one resolver: state held most": "the false DNS outage holds the link down",
    "one resolver: real DNS outage recorded after": "measured from a false DNS outage",
}


def test_heavy_loss_is_degraded_never_an_outage(lab_allowed: None, tmp_path: Path) -> None:
    result = loss.run("short", tmp_path)
    retransmits = result.value("DNS queries one check sends to a silent resolver") != 1
    assert_targets_met(result, pending=None if retransmits else SINGLE_QUERY)
