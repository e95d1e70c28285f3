"""The daemon's web server in the lab: scraped by a real Prometheus that sees the WAN cut and
fires the shipped alert; the status page in chromium while the link is cut; and hostile
requests (a flood, slow clients, long URLs) that never delay a probe cycle nor grow memory.

The daemon, Prometheus and chromium all run in the lab's office namespace, on its loopback:
the web server's default address.
"""

from __future__ import annotations

import itertools
import os
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testbed.daemon.driver import LabDaemon
from testbed.daemon.prometheus import LabPrometheus, prometheus_available
from testbed.daemon.records import describe_database
from testbed.daemon.waiting import poll_until, utcnow
from testbed.lab import Lab
from testbed.lab.http_client import get
from tests.browser import launched, require_chromium, watch
from tests.environment import require
from watchdog.store.reader import connect

WEB_PORT = 9830
LISTEN = f"127.0.0.1:{WEB_PORT}"
RULES = Path(__file__).resolve().parents[2] / "contrib" / "prometheus" / "watchdog.rules.yml"
# The shipped rule waits this long (its `for`) before the alert fires.
ALERT_FOR = 30.0
DEADLINE = 20.0
LINK_DOWN = 'watchdog_link_state{state=~"down|lan_down"} == 1'


@pytest.fixture
def daemon(lab: Lab, tmp_path: Path) -> Iterator[LabDaemon]:
    """The daemon with [web] on the office's loopback, started and seen up."""
    config = lab.write_config(tmp_path / "watchdog.toml",
                              web={"enabled": True, "listen": LISTEN})
    with LabDaemon(lab, config) as running:
        running.start()
        running.wait_for_state("up", timeout=DEADLINE)
        poll_until(lambda: page(lab, "/metrics")[0] == 200, timeout=DEADLINE,
                   what="the web server", guard=None)
        yield running


def page(lab: Lab, target: str) -> tuple[int, bytes]:
    try:
        return get(lab, "office", "127.0.0.1", WEB_PORT, target)
    except OSError:
        return 0, b""


def test_prometheus_sees_the_cut_and_fires_the_shipped_alert(
    lab: Lab, daemon: LabDaemon, tmp_path: Path
) -> None:
    require(prometheus_available())
    prometheus = LabPrometheus(lab, tmp_path / "prometheus", LISTEN, [RULES]).start()

    def described() -> str:
        return f"{prometheus.output()}\n{daemon.describe()}"

    # An empty answer is "not yet" (None), as for every wait.
    daemon.poll(lambda: prometheus.query('watchdog_link_up{site="lab"} == 1') or None,
                timeout=DEADLINE, what="Prometheus scraping the link up", also=described)
    cut = lab.cut_wan()
    seen = daemon.poll(lambda: prometheus.query(LINK_DOWN) or None, timeout=DEADLINE,
                       what=f"{LINK_DOWN} in Prometheus", also=described)
    (series,) = seen.value
    assert series["metric"]["site"] == "lab"
    assert series["metric"]["state"] == "down"
    assert (seen.at - cut).total_seconds() <= 10, described()

    def firing() -> list[dict[str, Any]] | None:
        return [alert for alert in prometheus.alerts()
                if alert["labels"]["alertname"] == "WatchdogLinkDown"
                and alert["state"] == "firing"] or None

    fired = daemon.poll(firing, timeout=ALERT_FOR + DEADLINE, what="WatchdogLinkDown firing",
                        also=described)
    assert fired.value[0]["labels"]["site"] == "lab"
    assert fired.value[0]["labels"]["severity"] == "critical"
    print(f"cut → {LINK_DOWN} in Prometheus {(seen.at - cut).total_seconds():.1f} s, "
          f"→ WatchdogLinkDown firing {(fired.at - cut).total_seconds():.1f} s")
    prometheus.stop()


def test_the_status_page_in_chromium_while_the_link_is_cut(
    lab: Lab, daemon: LabDaemon, tmp_path: Path
) -> None:
    require_chromium("the status page")
    # chromium in the office namespace: a script that execs it there.
    wrapper = tmp_path / "chromium-in-office"
    wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {lab.namespace("office")} '
                       f'/usr/bin/chromium "$@"\n')
    wrapper.chmod(0o755)
    origin = f"http://{LISTEN}"
    browser = launched(wrapper)
    chromium = next(browser)
    try:
        tab = chromium.new_page(viewport={"width": 820, "height": 1200})
        problems = watch(tab, origin)
        tab.goto(origin + "/")
        assert tab.inner_text("#headline") == "UP"
        lab.cut_wan()
        daemon.wait_for_outage(timeout=DEADLINE)

        def shows_down() -> bool:
            tab.reload()
            return tab.inner_text("#headline") == "DOWN (internet provider)"

        daemon.poll(shows_down, timeout=DEADLINE, what="the page saying DOWN")
        assert problems == []
        assert "3 of 3 internet targets do not answer" in tab.inner_text("#cause")
        assert "Outage #1 (provider)" in tab.inner_text("#outage")
        assert tab.locator("[data-window='24h'] .value").inner_text().endswith("%")
        assert tab.locator("#days svg g.day").count() == 90
        tab.screenshot(path=str(tmp_path / "status-cut.png"), full_page=True)
        assert (tmp_path / "status-cut.png").stat().st_size > 20_000
    finally:
        browser.close()


# --- hostile requests -----------------------------------------------------------------------

ATTACK_SECONDS = 12.0
SLOW_CLIENTS = 100
FLOODERS = 6


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def cycle_starts(database: Path, since_ms: int, until_ms: int) -> list[int]:
    """When each probe cycle of the window started: its gateway sample's instant (ms)."""
    with connect(database) as connection:
        return [row[0] for row in connection.execute(
            "SELECT s.at_ms FROM sample s JOIN target t ON t.id = s.target_id "
            "WHERE t.kind = 'gateway' AND s.at_ms >= ? AND s.at_ms < ? ORDER BY s.at_ms",
            (since_ms, until_ms))]


def lateness(starts: list[int], interval_ms: int) -> list[int]:
    """How late each cycle started after the one before it (its schedule is one interval)."""
    return [later - earlier - interval_ms for earlier, later in itertools.pairwise(starts)]


def attack(lab: Lab, seconds: float) -> dict[str, int]:
    """Slow clients holding connections, long URLs and a flood of page and scrape requests,
    all at once for ``seconds``; what the server answered, by status (the slow clients
    hold every connection it allows, so most of the flood is answered 503 at once: the
    server stays bounded, the daemon is what must not suffer)."""
    stop = time.monotonic() + seconds
    answered: dict[str, int] = {}
    lock = threading.Lock()

    def count(key: str) -> None:
        with lock:
            answered[key] = answered.get(key, 0) + 1

    def slow_client() -> None:
        while time.monotonic() < stop:
            try:
                with lab.open_socket("office") as sock:
                    sock.settimeout(2)
                    sock.connect(("127.0.0.1", WEB_PORT))
                    sock.sendall(b"GET / HTTP/1.0\r\n")
                    while time.monotonic() < stop:
                        sock.sendall(b"X-Slow: a\r\n")  # a header a second: never ending
                        time.sleep(1)
            except OSError:
                count("slow client cut off")
                time.sleep(0.2)

    def flood(target: str) -> None:
        while time.monotonic() < stop:
            status, _ = page(lab, target)
            count(f"HTTP {status}" if status else "refused")

    targets = ["/", "/metrics", "/?lang=fr", "/metrics", "/?" + "x" * 60_000, "/nothing"]
    threads = [threading.Thread(target=slow_client) for _ in range(SLOW_CLIENTS)]
    threads += [threading.Thread(target=flood, args=(targets[i % len(targets)],))
                for i in range(FLOODERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answered


def test_hostile_requests_never_delay_a_cycle_nor_grow_memory(
    lab: Lab, daemon: LabDaemon
) -> None:
    interval_ms = round(daemon.settings.schedule.ping_interval.total_seconds() * 1000)
    time.sleep(2)  # deliberate: the first cycles' start-up is not the baseline
    began = utcnow()
    time.sleep(ATTACK_SECONDS / 2)  # deliberate: the baseline, nobody asking
    quiet_until = utcnow()
    first = attack(lab, ATTACK_SECONDS)
    rss_after_first = rss_kib(daemon.pid)
    second = attack(lab, ATTACK_SECONDS)
    rss_after_second = rss_kib(daemon.pid)
    ended = utcnow()
    to_ms = lambda moment: round(moment.timestamp() * 1000)  # noqa: E731
    quiet = lateness(cycle_starts(daemon.database, to_ms(began), to_ms(quiet_until)),
                     interval_ms)
    loud = lateness(cycle_starts(daemon.database, to_ms(quiet_until), to_ms(ended)),
                    interval_ms)
    expected_cycles = (ended - quiet_until).total_seconds() * 1000 / interval_ms
    summary = (f"cycle start lateness, quiet: median {statistics.median(quiet)} ms, max "
               f"{max(quiet)} ms ({len(quiet)} cycles); under attack: median "
               f"{statistics.median(loud)} ms, p95 {sorted(loud)[int(0.95 * len(loud))]} ms, "
               f"max {max(loud)} ms ({len(loud) + 1} cycles of {expected_cycles:.0f}); "
               f"RSS after each round {rss_after_first} / {rss_after_second} KiB; "
               f"answers {first} / {second}")
    print(summary)
    assert daemon.status().state == "up", describe_database(daemon.database)
    assert len(loud) + 1 >= expected_cycles - 2, summary
    assert max(loud) <= 500, summary
    assert statistics.median(loud) <= statistics.median(quiet) + 50, summary
    assert rss_after_second - rss_after_first <= 1024, summary
    assert first.get("HTTP 503", 0) > 0 and second.get("slow client cut off", 0) > 0, summary
    assert os.path.exists(f"/proc/{daemon.pid}")
