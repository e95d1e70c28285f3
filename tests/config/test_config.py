"""Config: lookup order, defaults, and one line per problem naming file, key and fix."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from watchdog.config import dump_config, find_config, load_config, parse_duration
from watchdog.config.durations import format_duration, humanize
from watchdog.errors import EX_CONFIG, ConfigError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "watchdog.toml"

MINIMAL = """
[[ping]]
name = "a"
address = "203.0.113.1"
[[ping]]
name = "b"
address = "203.0.113.2"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "watchdog.toml"
    path.write_text(text)
    return path


def problems_of(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert caught.value.exit_code == EX_CONFIG
    return caught.value.problems


def test_the_example_config_is_valid_and_keeps_its_data_under_var() -> None:
    config = load_config(EXAMPLE)
    assert len(config.ping) == 3
    assert config.schedule.ping_interval == timedelta(seconds=2)
    assert config.storage.database == ROOT / "var" / "watchdog.db"


def test_the_example_config_lists_every_default(tmp_path: Path) -> None:
    # Every key of the schema appears in the example with its default value.
    example = load_config(EXAMPLE)
    defaults = load_config(write(tmp_path, MINIMAL))
    for section in ("schedule", "detection", "gateway", "site"):
        assert getattr(example, section) == getattr(defaults, section), section


def test_it_reports_an_unknown_key_with_a_suggestion(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, MINIMAL + '[schedule]\nping_intervall = "2s"\n')
    assert len(problems) == 1
    assert problems[0].startswith(f"{tmp_path / 'watchdog.toml'}: schedule.ping_intervall: "
                                  "unknown key; did you mean \"ping_interval\"?")


def test_it_reports_every_problem_at_once(tmp_path: Path) -> None:
    text = MINIMAL + """
[schedule]
ping_interval = 2
retry_interval = "soon"
[detection]
confirm_down = "three"
degraded_loss_percent = 150
[[dns]]
name = "x"
"""
    problems = problems_of(tmp_path, text)
    keys = [line.split(": ")[1] for line in problems]
    assert keys == ["schedule.ping_interval", "schedule.retry_interval",
                    "detection.confirm_down", "detection.degraded_loss_percent", "dns[0].server"]
    assert "with its unit in quotes" in problems[0]
    assert "for example \"2s\"" in problems[1]
    assert "use at most 100.0" in problems[3]
    assert "is required; add it" in problems[4]


def test_it_refuses_a_single_ping_target(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, '[[ping]]\nname = "a"\naddress = "203.0.113.1"\n')
    assert problems == [f"{tmp_path / 'watchdog.toml'}: ping: needs at least two [[ping]] targets "
                        "so that one dead host never makes the link look down; add another "
                        "public address"]


@pytest.mark.parametrize(
    ("extra", "key", "words"),
    [
        ('[detection]\ndown_quorum = 1\n', "detection.down_quorum", "between 2 and"),
        ('[gateway]\naddress = "router.lan"\n', "gateway.address", "not an IP address"),
        ('[site]\ntimezone = "Mars/Olympus"\n', "site.timezone", "not a known time zone"),
        ('[[http]]\nname = "w"\nurl = "ftp://x"\n', "http[0].url", "not an http(s) URL"),
        ('[[http]]\nname = "w"\nurl = "http://x/"\nexpect_status = [999]\n',
         "http[0].expect_status", "not an HTTP status"),
        ('[[dns]]\nname = "d"\nserver = "203.0.113.53"\nrecord = "PTR"\n', "dns[0].record",
         "use one of"),
        ('[schedule]\nping_timeout = "3s"\n', "schedule.ping_timeout", "must be shorter"),
        ('[[ping]]\nname = "a"\naddress = "203.0.113.9"\n', "ping[2].name", "used twice"),
        ('[storage]\nraw_retention = "1s"\n', "storage.raw_retention", "use at least 1h"),
    ],
)
def test_it_explains_each_bad_value(tmp_path: Path, extra: str, key: str, words: str) -> None:
    problems = problems_of(tmp_path, MINIMAL + extra)
    assert len(problems) == 1, problems
    assert f": {key}: " in problems[0]
    assert words in problems[0]


def test_it_reports_invalid_toml_with_the_file(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, "[schedule\n")
    assert problems[0].startswith(f"{tmp_path / 'watchdog.toml'}: is not valid TOML")


def test_lookup_prefers_the_flag_then_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flag = write(tmp_path, MINIMAL)
    env = tmp_path / "env.toml"
    env.write_text(MINIMAL)
    monkeypatch.setenv("WATCHDOG_CONFIG", str(env))
    assert find_config(flag) == flag
    assert find_config() == env
    monkeypatch.setenv("WATCHDOG_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="fix or unset \\$WATCHDOG_CONFIG"):
        find_config()


def test_lookup_falls_back_to_the_local_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WATCHDOG_CONFIG", raising=False)
    monkeypatch.setattr("watchdog.config.loader.SYSTEM_CONFIG", tmp_path / "absent.toml")
    monkeypatch.chdir(ROOT)
    assert find_config() == Path("config/watchdog.toml")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="no config file found"):
        find_config()


def test_the_database_can_be_overridden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, MINIMAL + '[storage]\ndatabase = "data/w.db"\n')
    assert load_config(path).storage.database == tmp_path / "data" / "w.db"
    monkeypatch.setenv("WATCHDOG_DATABASE", str(tmp_path / "env.db"))
    assert load_config(path).storage.database == tmp_path / "env.db"
    assert load_config(path, database=str(tmp_path / "flag.db")).storage.database == (
        tmp_path / "flag.db")


def test_the_effective_config_round_trips(tmp_path: Path) -> None:
    config = load_config(EXAMPLE)
    again = load_config(write(tmp_path, dump_config(config)))
    assert again.schedule == config.schedule
    assert again.ping == config.ping
    assert again.storage.database == config.storage.database


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("2s", 2), ("500ms", 0.5), ("5m", 300), ("4h", 14400), ("7d", 604800), ("1h30m", 5400),
     ("1.5s", 1.5)],
)
def test_durations_read_as_people_write_them(text: str, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds
    assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)


@pytest.mark.parametrize("text", ["", "2", "s", "2 parsecs", "-1s", "2s3",
                                  "99999999999999d", "4294967296w", "36526d"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_humanize_reads_like_a_person() -> None:
    assert humanize(45) == "45 s"
    assert humanize(2 * 3600 + 14 * 60) == "2 h 14 min"
    assert humanize(10 * 86400 + 3 * 3600) == "10 d 3 h"


MAINTENANCE = """
[site]
timezone = "Europe/Paris"

[[maintenance]]
start = "2026-12-06 02:00"
end = "2026-12-06 05:00"
reason = "fibre operator's planned works"

[[maintenance]]
days = ["Sun"]
start = "02:00"
end = "04:00"
reason = "router updates"
link = "default"
"""


def test_maintenance_windows_are_read_one_off_and_weekly(tmp_path: Path) -> None:
    from watchdog.link.maintenance_windows import OneOffWindow, WeeklyWindow, config_windows

    config = load_config(write(tmp_path, MINIMAL + MAINTENANCE))
    one, every_sunday = config_windows(config)
    assert isinstance(one, OneOffWindow) and isinstance(every_sunday, WeeklyWindow)
    assert one.starts_at.isoformat() == "2026-12-06T01:00:00+00:00"  # 02:00 in Paris
    assert (one.link, one.key, every_sunday.link, every_sunday.key) == (
        None, "config:1", "default", "config:2")
    assert load_config(write(tmp_path, dump_config(config))) == config


def test_a_maintenance_window_that_cannot_be_read_names_its_key_and_the_fix(
    tmp_path: Path,
) -> None:
    text = (MINIMAL + MAINTENANCE).replace('end = "2026-12-06 05:00"', 'end = "5am"').replace(
        'link = "default"', 'link = "fibre"')
    problems = problems_of(tmp_path, text)
    where = tmp_path / "watchdog.toml"
    assert problems == [
        f"{where}: maintenance[0].end: '5am' is not a date and time; write it as "
        "\"2026-12-06 02:00\" (the site's time) or with its offset, \"2026-12-06T02:00+01:00\"",
        f"{where}: maintenance[1].link: 'fibre' is not a link of this config; use one of "
        "'default', or leave it empty for every link",
    ]
