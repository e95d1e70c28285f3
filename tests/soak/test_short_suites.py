"""Every robustness suite at its short size (soak/), judged on its figures.

One test runs them all at once (about a minute: the lab suites mostly wait on real time, and
the bad-input suite runs beside them), so that ``make test``'s workers never run them twice.
The bad-input suite needs no lab and is judged first; the lab suites need root (``require``:
without it they are left out and the test then skips, or fails under .ci/run). A missed
target fails the test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.lab import lab_available
from tests.environment import require
from tests.soak.conftest import missed_targets, run_short, suite_result

pytestmark = pytest.mark.timeout(700)

LAB_SUITES = ("crash", "receivers", "loss", "hostile", "disk")


@pytest.mark.netns
def test_kills_dead_receivers_loss_hostile_peers_bad_input_and_a_full_disk_lose_nothing(
    tmp_path: Path,
) -> None:
    """Bad input (200 configs), then crash (3 kills), dead receivers, loss, hostile peers and
    resource faults, all run at once."""
    lab = lab_available() is None
    run = run_short(["bad_input", *(LAB_SUITES if lab else ())], tmp_path)
    bad_input = suite_result(run, "bad_input")
    assert missed_targets(bad_input) == []
    assert bad_input.value("configs tried") >= 200
    require(lab_available())
    problems: list[str] = []
    for name in LAB_SUITES:
        problems += missed_targets(suite_result(run, name))
    crash, receivers = suite_result(run, "crash"), suite_result(run, "receivers")
    if crash.value("kills survived") != 3:
        problems.append(f"crash: {crash.value('kills survived')} kills survived of 3")
    if not receivers.value("permanent failures (401 with the token quoted back)"):
        problems.append("receivers: no permanent failure was provoked")
    hostile_probes = suite_result(run, "hostile").value("hostile probes run alone")
    if hostile_probes != 16:
        problems.append(f"hostile: {hostile_probes} hostile probes run alone, not 16")
    assert problems == [], "\n\n".join(problems)
