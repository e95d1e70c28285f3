"""The end-to-end lab itself: what answers, what each fault silences, and that nothing is left."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest

from testbed.lab import Lab, lab_available
from testbed.lab.namespaces import list_namespaces
from testbed.lab.ping import Echo, PingReport
from testbed.lab.topology import DNS_ANSWER, DNS_SERVERS, GATEWAY_ADDRESS, HTTP_SERVER, PING_TARGETS
from tests.environment import require

EVERYONE = (*PING_TARGETS, GATEWAY_ADDRESS)
NOBODY = 65534

# Asks each resolver given on the command line for an A record; prints "server answer-or-error".
DNS_CODE = """
import sys
import dns.exception, dns.message, dns.query, dns.rcode
for server in sys.argv[1:]:
    try:
        reply = dns.query.udp(dns.message.make_query("office.example", "A"), server, timeout=0.5)
    except (dns.exception.Timeout, OSError) as error:
        print(server, type(error).__name__)
    else:
        answer = ",".join(item.address for rrset in reply.answer for item in rrset)
        print(server, answer or dns.rcode.to_text(reply.rcode()))
"""

# GETs each URL given on the command line; prints "url status-or-error".
HTTP_CODE = """
import sys
import requests
for url in sys.argv[1:]:
    try:
        print(url, requests.get(url, timeout=1, allow_redirects=False).status_code)
    except requests.RequestException as error:
        print(url, type(error).__name__)
"""


def ask(lab: Lab, code: str, *args: str) -> dict[str, str]:
    done = lab.run_python("office", code, *args, check=True)
    return dict(line.split(" ", 1) for line in done.stdout.splitlines())


def received(report: PingReport) -> dict[str, int]:
    return {address: report.received(address) for address in dict.fromkeys(
        echo.address for echo in report.echoes)}


def require_lab() -> None:
    require(lab_available())


def test_office_reaches_every_target_and_the_gateway(lab: Lab) -> None:
    report = lab.ping(EVERYONE, count=2)

    assert received(report) == dict.fromkeys(EVERYONE, 2)


def test_an_unprivileged_user_can_ping_from_the_office(lab: Lab) -> None:
    report = lab.ping(PING_TARGETS[0], count=2, uid=NOBODY)

    assert report.received(PING_TARGETS[0]) == 2


def test_both_resolvers_answer_from_the_internet(lab: Lab) -> None:
    assert ask(lab, DNS_CODE, *DNS_SERVERS) == dict.fromkeys(DNS_SERVERS, DNS_ANSWER)


def test_web_server_answers_204_and_200_and_refuses_when_stopped(lab: Lab) -> None:
    urls = (f"http://{HTTP_SERVER}/204", f"http://{HTTP_SERVER}/ok")
    assert ask(lab, HTTP_CODE, *urls) == dict(zip(urls, ("204", "200"), strict=True))

    lab.stop_http()
    assert ask(lab, HTTP_CODE, urls[0]) == {urls[0]: "ConnectionError"}

    lab.start_http()
    assert ask(lab, HTTP_CODE, urls[0]) == {urls[0]: "204"}


def test_a_stopped_resolver_is_silent_while_the_other_answers(lab: Lab) -> None:
    lab.stop_dns(DNS_SERVERS[0])
    answers = ask(lab, DNS_CODE, *DNS_SERVERS)
    assert answers[DNS_SERVERS[0]] == "Timeout"  # port unreachable is ignored by dnspython
    assert answers[DNS_SERVERS[1]] == DNS_ANSWER

    lab.start_dns(DNS_SERVERS[0])
    assert ask(lab, DNS_CODE, DNS_SERVERS[0]) == {DNS_SERVERS[0]: DNS_ANSWER}


def test_dns_mode_changes_what_a_running_resolver_answers(lab: Lab) -> None:
    lab.dns_mode(DNS_SERVERS[1], "servfail")
    assert ask(lab, DNS_CODE, *DNS_SERVERS) == {DNS_SERVERS[0]: DNS_ANSWER,
                                                DNS_SERVERS[1]: "SERVFAIL"}

    lab.dns_mode(DNS_SERVERS[1], "answer")
    assert ask(lab, DNS_CODE, DNS_SERVERS[1]) == {DNS_SERVERS[1]: DNS_ANSWER}
    with pytest.raises(ValueError, match="unknown DNS mode"):
        lab.dns_mode(DNS_SERVERS[1], "sulk")


def test_cut_wan_silences_the_internet_but_not_the_gateway(lab: Lab) -> None:
    before = lab.now()
    cut = lab.cut_wan()
    assert before <= cut <= lab.now()
    report = lab.ping(EVERYONE, count=3, timeout=0.3)
    assert received(report) == {**dict.fromkeys(PING_TARGETS, 0), GATEWAY_ADDRESS: 3}

    lab.restore_wan()
    assert received(lab.ping(EVERYONE, count=3)) == dict.fromkeys(EVERYONE, 3)
    assert [event.name for event in lab.events] == ["cut_wan", "restore_wan"]


def test_kill_gateway_silences_the_router_and_everything_behind_it(lab: Lab) -> None:
    lab.kill_gateway()
    report = lab.ping(EVERYONE, count=3, timeout=0.3)
    assert received(report) == dict.fromkeys(EVERYONE, 0)
    route = lab.office_run(["ip", "route", "show", "default"], check=True).stdout
    assert f"via {GATEWAY_ADDRESS}" in route  # the office still has its link and default route

    lab.revive_gateway()
    assert received(lab.ping(EVERYONE, count=3)) == dict.fromkeys(EVERYONE, 3)


def test_remove_target_silences_that_target_only(lab: Lab) -> None:
    gone, *others = PING_TARGETS
    lab.remove_target(gone)
    report = lab.ping(EVERYONE, count=3, timeout=0.3)
    assert received(report) == {gone: 0, **dict.fromkeys([*others, GATEWAY_ADDRESS], 3)}

    lab.add_target(gone)
    assert lab.ping(gone, count=3).received(gone) == 3


def test_a_target_outside_the_lab_internet_is_refused() -> None:
    with pytest.raises(ValueError, match=r"203\.0\.113\.0/24"):
        Lab().add_target("198.51.100.7")


def test_packet_loss_drops_about_the_given_share_of_pings(lab: Lab) -> None:
    # 200 pings at p = 0.30: standard deviation 3.2 points; the bounds are 4.5 of them.
    lab.packet_loss(30)
    report = lab.ping([PING_TARGETS[0], GATEWAY_ADDRESS], count=200, spacing=0.005, timeout=0.3)
    assert 0.155 <= report.loss(PING_TARGETS[0]) <= 0.445
    assert report.loss(GATEWAY_ADDRESS) == 0.0

    lab.clear_packet_loss()
    assert lab.ping(PING_TARGETS[0], count=50, spacing=0.005).loss(PING_TARGETS[0]) == 0.0


def test_packet_loss_in_both_directions_compounds(lab: Lab) -> None:
    # Each way 30 %: a ping fails with 1 - 0.7² = 51 % (standard deviation 3.5 points).
    lab.packet_loss(30, direction="both")
    report = lab.ping(PING_TARGETS[0], count=200, spacing=0.005, timeout=0.3)
    assert 0.35 <= report.loss(PING_TARGETS[0]) <= 0.67


def first(echoes: list[Echo], condition: Callable[[Echo], bool]) -> Echo:
    return next(echo for echo in echoes if condition(echo))


def test_wan_cut_and_restore_take_effect_at_once(
    lab: Lab, record_property: Callable[[str, object], None]
) -> None:
    target = PING_TARGETS[0]
    with ThreadPoolExecutor(max_workers=1) as pool:
        pinging = pool.submit(lab.ping, target, count=300, spacing=0.005, timeout=0.5)
        time.sleep(0.5)
        lab.cut_wan()
        time.sleep(0.4)
        lab.restore_wan()
        echoes = pinging.result().of(target)
    cut, restore = lab.events

    assert any(echo.answered for echo in echoes if echo.sent < cut.before), "pinger too late"
    failed = first(echoes, lambda echo: not echo.answered)
    back = first(echoes, lambda echo: echo.sent >= restore.before and echo.answered)
    to_failure = (failed.sent - cut.after).total_seconds()
    to_success = (back.sent - restore.after).total_seconds()
    record_property("cut_to_first_failed_ping_s", round(to_failure, 4))
    record_property("restore_to_first_answered_ping_s", round(to_success, 4))
    print(f"cut -> first failed ping {to_failure * 1000:.1f} ms, "
          f"restore -> first answered ping {to_success * 1000:.1f} ms "
          f"(the changes took {(cut.after - cut.before).total_seconds() * 1000:.1f} and "
          f"{(restore.after - restore.before).total_seconds() * 1000:.1f} ms)")

    # Each change lands between its before and after instants; pings go out every 5 ms.
    slack = timedelta(seconds=0.05)
    assert cut.before - slack <= failed.sent <= cut.after + slack
    assert back.sent <= restore.after + slack
    during = [echo for echo in echoes if cut.after <= echo.sent < restore.before]
    after = [echo for echo in echoes if echo.sent >= restore.after + slack]
    assert during and not any(echo.answered for echo in during)
    assert after and all(echo.answered for echo in after)


def test_close_deletes_the_namespaces_and_stops_the_processes() -> None:
    require_lab()
    with Lab() as other:
        names = set(other.names.values())
        assert names <= set(list_namespaces())
        sleeper = other.office_exec(["sleep", "60"])
        workdir = other.workdir
    assert other.setup_seconds is not None and other.teardown_seconds is not None
    print(f"setup {other.setup_seconds:.3f} s, teardown {other.teardown_seconds:.3f} s")

    assert not names & set(list_namespaces())
    assert not [name for name in list_namespaces() if name.startswith(f"wd-{os.getpid()}-")]
    assert sleeper.poll() is not None
    assert workdir is not None and not workdir.exists()


def test_start_sweeps_namespaces_left_by_dead_runs_only() -> None:
    require_lab()
    finished = subprocess.Popen(["true"])
    finished.wait()
    stale = f"wd-{finished.pid}-0-office"
    alive = f"wd-{os.getpid()}-999999-office"
    for name in (stale, alive):
        subprocess.run(["ip", "netns", "add", name], check=True)
    stale_workdir = Path(tempfile.mkdtemp(prefix=f"wd-{finished.pid}-0-"))
    try:
        with Lab(services=False):
            present = set(list_namespaces())
        assert stale not in present
        assert alive in present
        assert not stale_workdir.exists()
    finally:
        for name in (stale, alive):
            subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)


def test_write_config_probes_the_lab_and_takes_overrides(tmp_path: Path) -> None:
    from watchdog.config.loader import load_config

    path = Lab().write_config(
        tmp_path / "watchdog.toml",
        schedule={"ping_interval": "2s", "check_interval": None},
        detection={"confirm_down": 2},
        http=[],
    )

    config = load_config(path)
    assert [target.address for target in config.ping] == list(PING_TARGETS)
    assert [(check.server, check.port) for check in config.dns] == [
        (server, 53) for server in DNS_SERVERS
    ]
    assert config.http == []
    assert config.gateway.enabled and config.gateway.address == ""
    assert config.storage.database == tmp_path / "watchdog.db"
    assert config.schedule.ping_interval == timedelta(seconds=2)
    assert config.schedule.check_interval == timedelta(seconds=30)  # key deleted: the default
    assert config.detection.confirm_down == 2


def test_write_config_defaults_check_the_web_server(tmp_path: Path) -> None:
    path = Lab().write_config(tmp_path / "lab.toml")

    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    assert [(check["url"], check["expect_status"]) for check in raw["http"]] == [
        (f"http://{HTTP_SERVER}/204", [204]), (f"http://{HTTP_SERVER}/ok", [200]),
    ]


def test_without_root_the_lab_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)

    assert lab_available() == "needs root for network namespaces"
