"""The real daemon (``watchdog run``) in the lab's office, judged by the database it writes.

Each test builds its own lab, starts ``.venv/bin/watchdog run`` in the office namespace with the
lab's quick schedule (pings every 1 s, 500 ms timeout, retries every 500 ms, 3 cycles to confirm
down or up, DNS and HTTP every 5 s), applies a fault in the router or internet namespace and
waits (polling the database every 50 ms) until the daemon has recorded what it should. Times
the lab returns are taken right after the kernel change, so "within N s of the cut" compares
the daemon's back-dated records with the real instant of the fault.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from testbed.daemon.driver import LabDaemon, run_cli
from testbed.daemon.records import find_outage, ping_loss_percent
from testbed.daemon.waiting import utcnow
from testbed.lab import Lab
from testbed.lab.network import FaultEvent
from testbed.lab.topology import PING_TARGETS
from watchdog.store.invariants import timeline_problems
from watchdog.store.reader import CAUSE_STOPPED, OutageRow, read_blips
from watchdog.store.timeline import CAUSE_AFTER_CRASH, CAUSE_AFTER_SHUTDOWN

# A cycle is stamped when it starts, a moment before its pings leave: the first failing
# cycle may be stamped this much before the fault whose effect it saw.
STAMP_SLACK = timedelta(milliseconds=100)
# With the lab's schedule the first failing (or succeeding) probe comes within 1 s of a change;
# the assertions allow twice (start) and three times (end) that.
START_TOLERANCE = timedelta(seconds=2)
END_TOLERANCE = timedelta(seconds=3)
# Generous deadlines for a wait on the database: confirmation takes about 2 s in the lab.
DEADLINE = 20.0
# The loss the lab injects in the packet-loss scenario, and the daemon's threshold for it.
LOSS_PERCENT = 30.0
DEGRADED_LOSS_PERCENT = 20.0
LOSS_WINDOW = timedelta(seconds=60)

MakeDaemon = Callable[..., LabDaemon]
STATUS_KEYS = {"state", "since", "cause", "daemon", "uptime", "unknown_seconds", "outage",
               "targets"}


@pytest.fixture
def make_daemon(lab: Lab, tmp_path: Path) -> Iterator[MakeDaemon]:
    """``make_daemon(**overrides)``: a daemon (not started) on a fresh lab config; stopped at
    the end of the test whatever happens."""
    daemons: list[LabDaemon] = []

    def make(**overrides: Any) -> LabDaemon:
        config = lab.write_config(tmp_path / f"run-{len(daemons)}" / "watchdog.toml", **overrides)
        daemon = LabDaemon(lab, config)
        daemons.append(daemon)
        return daemon

    yield make
    for daemon in daemons:
        daemon.close()


def started_up(make_daemon: MakeDaemon, **overrides: Any) -> LabDaemon:
    """A daemon started on the lab config and seen ``up`` in its database."""
    daemon = make_daemon(**overrides).start()
    daemon.wait_for_state("up", timeout=DEADLINE)
    return daemon


def no_outage(daemon: LabDaemon) -> Callable[[], str | None]:
    def check() -> str | None:
        outages = daemon.outages()
        return f"an outage was recorded: {outages}" if outages else None

    return check


def assert_near(moment: datetime, reference: datetime, tolerance: timedelta, what: str) -> None:
    """``moment`` is at most ``tolerance`` after ``reference`` and not before it (but for the
    stamp of the cycle that saw the change)."""
    offset = (moment - reference).total_seconds()
    assert -STAMP_SLACK <= moment - reference <= tolerance, (
        f"{what} is {offset:+.3f} s from the fault; expected 0 to {tolerance.total_seconds()} s")


def assert_bracket_holds(
    after: datetime | None, by: datetime | None, fault: FaultEvent, what: str
) -> None:
    """The recorded bracket [``after``, ``by``] contains the fault, which the lab applied
    between ``fault.before`` and ``fault.after``: the last probe that saw the old state left
    before the change was complete; the first cycle that saw the new one had sent its probes
    after the change began (less ``STAMP_SLACK``: a probe's time is read a moment before it
    leaves, and its packet may meet the change on the way)."""
    assert after is not None and by is not None, f"{what}: no bracket recorded ({after}, {by})"
    assert after <= fault.after, (
        f"{what} bracket starts {(after - fault.after).total_seconds():+.3f} s after the "
        f"{fault.name} was complete")
    assert by >= fault.before - STAMP_SLACK, (
        f"{what} bracket ends {(fault.before - by).total_seconds():.3f} s before the "
        f"{fault.name} began")


def assert_timeline_sound(daemon: LabDaemon) -> None:
    assert timeline_problems(daemon.database) == [], daemon.describe()


def assert_outage_matches_interval(daemon: LabDaemon, outage: OutageRow, state: str) -> None:
    """The closed outage is exactly one interval of ``state`` (same start, same end)."""
    spans = [(i.started_at, i.ended_at) for i in daemon.intervals() if i.state == state]
    assert spans == [(outage.started_at, outage.ended_at)], daemon.describe()


def test_a_wan_cut_is_one_isp_outage_from_the_cut_to_the_restore(
    lab: Lab, make_daemon: MakeDaemon
) -> None:
    daemon = started_up(make_daemon)

    cut = lab.cut_wan()
    cut_event = lab.events[-1]
    recorded = daemon.wait_for_outage(timeout=DEADLINE).value
    assert daemon.status().state == "down"
    time.sleep(5)  # deliberate: the outage lasts a while
    restored = lab.restore_wan()
    restore_event = lab.events[-1]
    outage = daemon.wait_for_outage(ended=True, outage_id=recorded.id, timeout=DEADLINE).value
    daemon.wait_for_state("up", timeout=DEADLINE)

    assert [(o.id, o.kind) for o in daemon.outages()] == [(recorded.id, "isp")]
    assert "192.0.2.1 answers but 3 of 3 internet targets do not answer" in outage.cause
    assert_near(outage.started_at, cut, START_TOLERANCE, "the recorded start")
    assert outage.ended_at is not None
    assert_near(outage.ended_at, restored, END_TOLERANCE, "the recorded end")
    assert outage.end_observed is True
    assert outage.unobserved_seconds == 0
    # The record is honest about its precision: the real cut and restore lie in its brackets.
    assert_bracket_holds(outage.start_after, outage.start_by, cut_event, "the start's")
    assert_bracket_holds(outage.end_after, outage.end_by, restore_event, "the end's")
    assert_outage_matches_interval(daemon, outage, "down")
    assert_timeline_sound(daemon)


def test_a_dead_gateway_is_a_lan_outage_never_an_isp_one(
    lab: Lab, make_daemon: MakeDaemon
) -> None:
    daemon = started_up(make_daemon)

    killed = lab.kill_gateway()
    kill_event = lab.events[-1]
    recorded = daemon.wait_for_outage(timeout=DEADLINE).value
    status = daemon.wait_for_state("lan_down", timeout=DEADLINE)
    assert "the gateway 192.0.2.1 does not answer" in status.cause
    assert status.open_outage is not None and status.open_outage.kind == "lan"
    revived = lab.revive_gateway()
    revive_event = lab.events[-1]
    outage = daemon.wait_for_outage(ended=True, outage_id=recorded.id, timeout=DEADLINE).value
    daemon.wait_for_state("up", timeout=DEADLINE)

    assert [(o.id, o.kind) for o in daemon.outages()] == [(recorded.id, "lan")]
    assert_bracket_holds(outage.start_after, outage.start_by, kill_event, "the start's")
    assert_bracket_holds(outage.end_after, outage.end_by, revive_event, "the end's")
    assert_near(outage.started_at, killed, START_TOLERANCE, "the recorded start")
    assert outage.ended_at is not None
    assert_near(outage.ended_at, revived, END_TOLERANCE, "the recorded end")
    assert_outage_matches_interval(daemon, outage, "lan_down")
    assert "down" not in {i.state for i in daemon.intervals()}
    assert_timeline_sound(daemon)


def test_one_dead_target_of_three_degrades_the_link_without_an_outage(
    lab: Lab, make_daemon: MakeDaemon
) -> None:
    """A third of the echo requests are lost while the target is gone, so the loss window
    keeps the link degraded after it is back until the loss in the window falls to 20 %:
    ~12 s with the default 60 s window, ~4 s with the 10 s window used here."""
    daemon = started_up(make_daemon, detection={"window": "10s"})
    gone = PING_TARGETS[1]  # "target-2" in the lab config

    removed = lab.remove_target(gone)
    status = daemon.wait_for_state("degraded", timeout=DEADLINE)
    assert "target-2" in status.cause and "2 of 3 answer" in status.cause
    daemon.hold(removed + timedelta(seconds=20), unwanted=no_outage(daemon))
    status = daemon.status()
    assert status.state == "degraded" and "target-2" in status.cause
    lab.add_target(gone)
    daemon.wait_for_state("up", timeout=30)

    assert daemon.outages() == []
    assert read_blips(daemon.database, None) == []  # no cycle ever judged the link down
    states = [i.state for i in daemon.intervals()]
    assert states == ["unknown", "up", "degraded", "up"], daemon.describe()
    degraded = daemon.intervals()[2]
    assert_near(degraded.started_at, removed, START_TOLERANCE, "the degraded interval's start")
    assert_timeline_sound(daemon)


def test_thirty_percent_packet_loss_degrades_the_link_without_an_outage(
    lab: Lab, make_daemon: MakeDaemon
) -> None:
    """30 % of the office's packets through the router are dropped (pings, DNS and HTTP alike).

    This test is not deterministic, and says so rather than hiding it. A simulation of this
    scenario with the real tracker, cadence and lab settings (40 000 runs) gives:
    - a false *ISP* outage: practically never (all 3 targets losing both echo requests in three
      counted cycles in a row: ~(0.09³)³);
    - a false *DNS* outage: practically never since a check retransmits its query within its
      timeout (``probes.dns.DNS_ATTEMPTS``, 4): a resolver's check fails with 0.3⁴ ≈ 0.8 %,
      both resolvers' with ≈ 7 × 10⁻⁵, and three such checks confirm an outage, not
      necessarily in a row (a tracker bug reported with this test: the cycles in between,
      where DNS answers, carry a stale HTTP failure and are dropped instead of breaking the
      streak). With one query per check it was 0.63 % of runs; tests/e2e/test_dns_loss.py
      holds 30 % each way with one resolver;
    - the state not ``degraded`` at the end in 0.09 %, the window's loss at or under 20 % in
      ~0.15 %.
    The assertions stay strict (no outage of any kind; degraded; loss over the threshold);
    a DNS outage fails with a message pointing here.
    """
    daemon = started_up(make_daemon)

    began = lab.packet_loss(LOSS_PERCENT)  # from the LAN: each echo request lost with p = 0.3
    daemon.wait_for_state("degraded", timeout=DEADLINE)

    def unwanted() -> str | None:
        outages = daemon.outages()
        if not outages:
            return None
        hint = ""
        if {o.kind for o in outages} == {"dns"}:
            hint = (" (kind dns: both resolvers' queries, retransmitted, were lost in three "
                    "DNS checks; see this test's docstring)")
        return f"30 % loss was recorded as an outage{hint}: {outages}"

    daemon.hold(began + timedelta(seconds=35), unwanted=unwanted)
    status = daemon.status()
    sent, loss = ping_loss_percent(daemon.database, utcnow() - LOSS_WINDOW)
    lab.clear_packet_loss()

    assert status.state == "degraded", daemon.describe()
    assert status.open_outage is None
    # The loss the daemon recorded over its window: over the threshold (p(not) ~ 0.15 %).
    assert sent >= 150 and loss is not None and loss > DEGRADED_LOSS_PERCENT, (sent, loss)
    assert_timeline_sound(daemon)


def test_a_clean_stop_closes_the_interval_and_the_time_until_the_restart_is_unknown(
    lab: Lab, make_daemon: MakeDaemon
) -> None:
    daemon = started_up(make_daemon)

    asked = utcnow()
    assert daemon.stop() == 0
    exited = utcnow()
    before = daemon.intervals()
    assert all(i.ended_at is not None for i in before), daemon.describe()
    closed = before[-1]
    assert closed.state == "up" and closed.ended_at is not None
    assert asked <= closed.ended_at <= exited
    stopped = daemon.status()
    assert stopped.heartbeat is not None and stopped.heartbeat.clean_shutdown
    assert not stopped.heartbeat.running
    assert (stopped.state, stopped.cause) == ("unknown", CAUSE_STOPPED)
    assert_timeline_sound(daemon)

    time.sleep(6)  # deliberate: the watchdog is away for a while
    restarted = utcnow()
    daemon.start()
    daemon.wait_for_state("up", timeout=DEADLINE)

    after = daemon.intervals()
    assert after[: len(before)] == before  # history is never rewritten
    gap, back = after[len(before):]
    assert (gap.state, gap.cause) == ("unknown", CAUSE_AFTER_SHUTDOWN)
    assert gap.started_at == closed.ended_at
    assert gap.ended_at is not None and gap.ended_at >= restarted
    assert (back.state, back.ended_at) == ("up", None)
    heartbeat = daemon.status().heartbeat
    assert heartbeat is not None and not heartbeat.clean_shutdown
    assert_timeline_sound(daemon)


def test_a_crash_and_restart_during_an_outage_keep_one_outage_with_its_unobserved_part(
    lab: Lab, make_daemon: MakeDaemon
) -> None:
    daemon = started_up(make_daemon)
    cut = lab.cut_wan()
    recorded = daemon.wait_for_outage(timeout=DEADLINE).value

    assert daemon.kill() == -9
    killed = utcnow()
    # Longer than two ping intervals: the restart is not a quick one, the gap is `unknown`.
    time.sleep(4)
    daemon.start()
    status = daemon.wait_for_state("down", timeout=DEADLINE)
    confirmed = utcnow()

    assert status.open_outage is not None and status.open_outage.id == recorded.id
    continued = daemon.outages()
    assert [(o.id, o.ended_at) for o in continued] == [(recorded.id, None)]
    unobserved = continued[0].unobserved_seconds
    # From the last heartbeat before the kill (at most ~1 s before it) to the first failing
    # cycle after the restart.
    assert 4 <= unobserved <= (confirmed - killed).total_seconds() + 1.5, unobserved
    assert CAUSE_AFTER_CRASH in [i.cause for i in daemon.intervals() if i.state == "unknown"]

    restored = lab.restore_wan()
    outage = daemon.wait_for_outage(ended=True, outage_id=recorded.id, timeout=DEADLINE).value
    daemon.wait_for_state("up", timeout=DEADLINE)
    assert len(daemon.outages()) == 1
    assert outage.started_at == recorded.started_at
    assert_near(outage.started_at, cut, START_TOLERANCE, "the recorded start")
    assert outage.ended_at is not None
    assert_near(outage.ended_at, restored, END_TOLERANCE, "the recorded end")
    assert outage.unobserved_seconds == unobserved and outage.end_observed is True
    assert_timeline_sound(daemon)


def test_status_and_check_commands_report_the_outage_while_the_wan_is_cut(
    lab: Lab, make_daemon: MakeDaemon
) -> None:
    daemon = started_up(make_daemon)
    config = daemon.config
    lab.cut_wan()
    recorded = daemon.wait_for_outage(timeout=DEADLINE).value
    daemon.wait_for_state("down", timeout=DEADLINE)

    text = run_cli(lab, "status", "--config", config)
    assert text.returncode == 2, text.stderr  # CRITICAL, as monitoring plugins read it
    assert "Internet link: DOWN (internet provider)" in text.stdout
    assert f"outage #{recorded.id} (isp)" in text.stdout
    assert "Daemon: running" in text.stdout

    shown = run_cli(lab, "status", "--json", "--config", config)
    assert shown.returncode == 2, shown.stderr
    status = json.loads(shown.stdout)
    assert set(status) >= STATUS_KEYS
    assert status["state"] == "down"
    assert status["daemon"]["running"] is True
    assert status["outage"] is not None
    assert (status["outage"]["id"], status["outage"]["kind"]) == (recorded.id, "isp")
    pings = {t["name"]: t["ok"] for t in status["targets"] if t["kind"] == "ping"}
    assert pings == {"target-1": False, "target-2": False, "target-3": False}

    during = run_cli(lab, "check", "--json", "--config", config)
    assert during.returncode == 2, during.stderr
    assert json.loads(during.stdout)["state"] == "down"

    lab.restore_wan()
    daemon.wait_for_outage(ended=True, outage_id=recorded.id, timeout=DEADLINE)
    after = run_cli(lab, "check", "--json", "--config", config)
    assert after.returncode == 0, (after.stdout, after.stderr)
    assert json.loads(after.stdout)["state"] == "up"
    assert find_outage(daemon.database) is not None  # the CLI never writes: still one outage
    assert len(daemon.outages()) == 1
