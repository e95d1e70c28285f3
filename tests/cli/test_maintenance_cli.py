"""``watchdog maintenance add|list|remove``, and maintenance in ``status``.

The site is in Europe/Paris (UTC+1 in December); the database is built through the real
store, the commands run in-process (``watchdog.cli.main``), or as a child where the exit code
and the absence of a traceback are the point.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from tests.store.store_helpers import cycle, rows, transition
from watchdog.cli import main
from watchdog.errors import EX_USAGE
from watchdog.store.writer import Store
from watchdog.vocabulary import DEFAULT_LINK

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)  # 10:00 in Paris, a Saturday
WEEKLY = """
[[maintenance]]
days = ["Sun"]
start = "02:00"
end = "04:00"
reason = "router firmware updates"
"""


@pytest.fixture
def database(config: Path) -> Path:
    """Up since 10:00 Paris time, then two hours of maintenance from 10:30, up again at 12:30,
    last cycle at 13:00."""
    path = config.parent / "watchdog.db"
    with Store.open(path) as store:
        store.resume(NOW, timedelta(seconds=2), link=DEFAULT_LINK)
        for hours, state in ((0, "up"), (0.5, "maintenance"), (2.5, "up")):
            moment = NOW + timedelta(hours=hours)
            store.record_cycle(cycle(moment), [transition(state, moment)], [], moment,
                               link=DEFAULT_LINK)
        store.record_cycle(cycle(NOW + timedelta(hours=3)), [], [], NOW + timedelta(hours=3),
                           link=DEFAULT_LINK)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str,
        at: datetime = NOW + timedelta(hours=3)) -> tuple[int, str, str]:
    with time_machine.travel(at, tick=False):
        code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_add_list_and_remove_a_window(
    config: Path, database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with config.open("a") as handle:
        handle.write(WEEKLY)
    code, out, err = run(capsys, "maintenance", "add", "--config", str(config), "--from",
                         "2026-12-05 22:00", "--to", "+5h", "--reason", "fibre works, ref 4411")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "Maintenance window 1 added: 2026-12-05 22:00 → 2026-12-06 03:00 (Europe/Paris), "
        "every link: fibre works, ref 4411.",
        "'watchdog maintenance remove 1' ends it early.",
    ]
    assert rows(database, "SELECT starts_at, ends_at, link, created_by IS NOT NULL "
                          "FROM maintenance_window") == [
        ("2026-12-05 21:00:00.000000", "2026-12-06 02:00:00.000000", None, 1)]

    code, out, _ = run(capsys, "maintenance", "list", "--config", str(config))
    lines = out.splitlines()
    assert code == 0 and lines[0] == "Maintenance windows (times in Europe/Paris)"
    assert lines[1] == ("  config:1  every Sun 02:00 → 04:00  every link  in 13 h: "
                        "Sun 06 Dec 02:00 → 04:00")
    assert lines[2] == "            router firmware updates (config file)"
    assert lines[3] == ("  1         2026-12-05 22:00 → 2026-12-06 03:00  every link  in 9 h: "
                        "22:00 → Sun 06 Dec 03:00")
    assert lines[4].startswith("            fibre works, ref 4411 (added by ")

    code, out, _ = run(capsys, "maintenance", "list", "--json", "--config", str(config))
    weekly, added = json.loads(out)
    assert weekly == {"id": "config:1", "source": "config", "link": None,
                      "reason": "router firmware updates", "kind": "weekly", "days": ["Sun"],
                      "start": "02:00", "end": "04:00", "active": False,
                      "next": {"starts_at": "2026-12-06T02:00:00+01:00",
                               "ends_at": "2026-12-06T04:00:00+01:00"}}
    assert (added["id"], added["source"], added["kind"], added["starts_at"], added["ends_at"],
            added["removed_at"]) == ("1", "cli", "one-off", "2026-12-05T22:00:00+01:00",
                                     "2026-12-06T03:00:00+01:00", None)

    code, out, _ = run(capsys, "maintenance", "remove", "1", "--config", str(config))
    assert (code, out) == (0, "Maintenance window 1 removed: it will not hold.\n")
    code, out, _ = run(capsys, "maintenance", "list", "--config", str(config))
    assert "removed 13:00, it never held" in out


def test_a_window_that_has_begun_ends_when_removed(
    config: Path, database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "maintenance", "add", "--config", str(config), "--to", "+1h", "--reason",
        "router swap", "--link", DEFAULT_LINK)
    code, out, _ = run(capsys, "maintenance", "remove", "1", "--config", str(config),
                       at=NOW + timedelta(hours=3, minutes=10))
    assert (code, out) == (0, "Maintenance window 1 removed: it had begun, and ends now.\n")
    assert rows(database, "SELECT link, starts_at, removed_at FROM maintenance_window") == [
        (DEFAULT_LINK, "2026-12-05 12:00:00.000000", "2026-12-05 12:10:00.000000")]


@pytest.mark.parametrize(("argv", "message"), [
    (("add", "--from", "2026-12-05 22:00", "--to", "2026-12-05 21:00", "--reason", "x"),
     "the window's end is not after its start; give --to after --from"),
    (("add", "--from", "2026-12-05 08:00", "--to", "2026-12-05 09:00", "--reason", "x"),
     "the window is already over"),
    (("add", "--from", "tonight", "--to", "+1h", "--reason", "x"),
     "--from 'tonight' is not a date and time; write it as \"2026-12-06 02:00\""),
    (("add", "--to", "soon", "--reason", "x"),
     "--to 'soon' is neither a date and time nor a duration"),
    (("add", "--to", "2027-12-05 09:00", "--reason", "x"),
     "the window would last 364 d 20 h, longer than 31 days; check --to, or declare the "
     "works in several windows"),
    (("add", "--to", "+1h", "--reason", "x", "--link", "fibre"),
     "--link 'fibre' is not a link of the config; use one of 'default'"),
    (("remove", "config:1"), "window config:1 is declared in "),
    (("remove", "7"), "no maintenance window 7; 'watchdog maintenance list --all' lists them"),
    (("remove", "seven"), "'seven' is not a window id"),
])
def test_a_bad_window_is_one_sentence_with_exit_64(
    config: Path, database: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...],
    message: str,
) -> None:
    code, out, err = run(capsys, "maintenance", *argv, "--config", str(config))
    assert (code, out) == (EX_USAGE, "")
    assert err.startswith(f"watchdog: {message}")
    assert err.count("\n") == 1


def test_removing_a_config_window_says_where_it_is_declared(
    config: Path, database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with config.open("a") as handle:
        handle.write(WEEKLY)
    code, _, err = run(capsys, "maintenance", "remove", "config:1", "--config", str(config))
    assert code == EX_USAGE
    assert err == (f"watchdog: window config:1 is declared in {config} ([[maintenance]] number "
                   "1); remove it there and reload the daemon (systemctl reload "
                   "connectivity-watchdog)\n")


def test_a_bad_window_ends_the_process_without_a_traceback(config: Path, database: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "watchdog", "maintenance", "add", "--config", str(config),
         "--from", "2026-12-05 22:00", "--to", "2026-12-05 21:00", "--reason", "x"],
        capture_output=True, text=True, timeout=30)
    assert result.returncode == EX_USAGE
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


def test_status_shows_the_window_holding_now_and_the_next_and_leaves_maintenance_out(
    config: Path, database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with config.open("a") as handle:
        handle.write(WEEKLY)
    run(capsys, "maintenance", "add", "--config", str(config), "--to", "+1h", "--reason",
        "router swap")
    code, out, _ = run(capsys, "status", "--config", str(config))
    assert code == 0
    assert ("  maintenance window 1 active now, until 14:00 (1 h left): router swap"
            in out.splitlines())
    assert ("  maintenance window config:1 in 13 h: Sun 06 Dec 02:00 → 04:00: "
            "router firmware updates" in out.splitlines())
    assert "Maintenance   24h 2 h" in out
    code, out, _ = run(capsys, "status", "--json", "--config", str(config))
    data = json.loads(out)
    # Up 1 h, then 2 h of works, up 30 min: 100 % of the time that counts; works apart.
    assert data["uptime"]["24h"] == 100.0
    assert data["maintenance_seconds"]["24h"] == 7200
    assert data["unknown_seconds"]["24h"] == 0
    assert data["maintenance"]["active"] == {
        "id": "1", "source": "cli", "link": None, "starts_at": "2026-12-05T13:00:00+01:00",
        "ends_at": "2026-12-05T14:00:00+01:00", "reason": "router swap"}
    assert [window["id"] for window in data["maintenance"]["upcoming"]] == ["config:1"]


def test_status_without_any_window_says_nothing_of_maintenance(
    config: Path, database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(capsys, "status", "--json", "--config", str(config),
                    at=NOW + timedelta(minutes=20))
    assert json.loads(out)["maintenance"] == {"active": None, "upcoming": []}
    _, out, _ = run(capsys, "status", "--config", str(config), at=NOW + timedelta(minutes=20))
    assert "aintenance" not in out
