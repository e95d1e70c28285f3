"""Resource faults, short size: the database's file system full for 15 s, then read-only at a
restart, a WAN cut inside each (soak/disk.py). About 50 s."""

from __future__ import annotations

from pathlib import Path

import pytest

from soak import disk
from tests.soak.support import assert_targets_met

pytestmark = pytest.mark.netns

# What the daemon cannot do yet: it records first and sends from the database, so while the
# database cannot be written nothing is recorded or sent, and the cycles it could not record
# are lost. Reported with the suite's figures; the design change is the lead's call.
RECORD_FIRST = {
    "full: error lines logged": "one error per cycle, not one per fault",
    "full: outage alerts at the LAN webhook during it": "alerts leave from the database",
    "full: its outage in the history": "cycles that could not be written are not kept",
    "read-only: daemon stopped": "the daemon ends at start when it cannot lock the database",
    "read-only: outage alerts at the LAN webhook during it": "the daemon is not running",
    "read-only: its outage in the history": "the daemon is not running",
}


def test_a_full_or_read_only_database_corrupts_nothing(lab_allowed: None,
                                                       tmp_path: Path) -> None:
    result = disk.run("short", tmp_path)
    assert_targets_met(result, pending=RECORD_FIRST)
