"""Every robustness suite at its short size (soak/), judged on its figures.

The suites run once per session, side by side (``conftest.short_run``). A missed target
fails its suite's test, unless the test names it as pending with the reason: what the code
cannot do yet, and which work will make it.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.soak.conftest import assert_targets_met, suite_result

pytestmark = pytest.mark.timeout(700)


def test_bad_input_ends_in_one_sentence_never_a_traceback(short_run: dict[str, Any]) -> None:
    result = suite_result(short_run, "bad_input")
    assert_targets_met(result)
    assert result.value("configs tried") >= 200


@pytest.mark.netns
def test_kills_across_an_outage_lose_and_double_nothing(short_run: dict[str, Any]) -> None:
    result = suite_result(short_run, "crash")
    assert_targets_met(result)
    assert result.value("kills survived") == 3


@pytest.mark.netns
def test_messages_wait_for_dead_receivers_and_arrive_once_in_order(
    short_run: dict[str, Any],
) -> None:
    result = suite_result(short_run, "receivers")
    assert_targets_met(result)
    assert result.value("permanent failures (401 with the token quoted back)") > 0


@pytest.mark.netns
def test_heavy_loss_is_degraded_never_an_outage(short_run: dict[str, Any]) -> None:
    result = suite_result(short_run, "loss")
    assert_targets_met(result)


@pytest.mark.netns
def test_hostile_peers_cost_a_timeout_at_most_and_no_memory(short_run: dict[str, Any]) -> None:
    result = suite_result(short_run, "hostile")
    assert_targets_met(result)
    assert result.value("hostile probes run alone") == 16


# What the daemon cannot do yet: it records first and sends from the database, so while the
# database cannot be written nothing is recorded or sent, and the cycles it could not record
# are lost. Reported with the suite's figures; the design change is the lead's call.
RECORD_FIRST = {
    "full: outage alerts at the LAN webhook during it": "alerts leave from the database",
    "full: its outage in the history": "cycles that could not be written are not kept",
    "read-only: daemon stopped": "the daemon ends at start when it cannot lock the database",
    "read-only: outage alerts at the LAN webhook during it": "the daemon is not running",
    "read-only: its outage in the history": "the daemon is not running",
}


@pytest.mark.netns
def test_a_full_or_read_only_database_corrupts_nothing(short_run: dict[str, Any]) -> None:
    result = suite_result(short_run, "disk")
    assert_targets_met(result, pending=RECORD_FIRST)
