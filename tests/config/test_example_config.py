"""The example config: explanation (``## ``) and keys to enable (``# key = value``) kept apart,
so that removing every ``# `` gives a complete config that loads; and every key of the schema,
the registered providers' included, shown in it."""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Iterator
from pathlib import Path

from watchdog.channels.registry import configured, providers
from watchdog.config import load_config
from watchdog.config.schema import ChannelTables, Config

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "watchdog.toml"
# The secret files its commented channels name, with what a loadable secret holds.
SECRETS = {
    "smtp-password": "s3cret",
    "helpdesk-token": "t0ken",
    "ntfy-token": "t0ken",
    "webhook-secret": "hm4c",
    "apprise-urls": "ntfy://192.168.1.20/internet",
    "heartbeat-url": "https://hc-ping.com/5b0b5bd9-0000-4000-8000-000000000000",
}
HEADER = re.compile(r"^(?:# )?\[\[?([\w.]+)\]\]?")


def uncommented() -> str:
    """The example with every line's leading "# " removed: ``sed 's/^# //'``."""
    return re.sub(r"(?m)^# ", "", EXAMPLE.read_text(encoding="utf-8"))


def schema_keys(kind: type[typing.Any], table: str = "") -> Iterator[tuple[str, str]]:
    """(table, key) for every key of the config's schema: each dataclass's fields, the
    ``[tickets]`` and ``[notify]`` tables of every registered provider included."""
    hints = typing.get_type_hints(kind)
    for field in dataclasses.fields(kind):
        if field.metadata.get("internal"):
            continue
        value = hints[field.name]
        if isinstance(value, type) and issubclass(value, ChannelTables):
            value = value.shape()
        # A repeated table (list[X]) or an optional one (X | None, as [uplink.path]): X's keys.
        inner = next((argument for argument in typing.get_args(value)
                      if argument is not type(None)), value)
        path = f"{table}.{field.name}" if table else field.name
        if dataclasses.is_dataclass(inner):
            yield from schema_keys(inner, path)
        else:
            yield table, field.name


def example_tables() -> dict[str, str]:
    """Each table's text in the example (enabled or commented, every block of a repeated
    ``[[table]]`` together), by its name."""
    tables: dict[str, str] = {}
    current = ""
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        header = HEADER.match(line)
        if header:
            current = header.group(1)
            continue
        tables[current] = tables.get(current, "") + line + "\n"
    return tables


def test_uncommenting_every_line_gives_a_config_that_loads(tmp_path: Path) -> None:
    (tmp_path / "credentials").mkdir(mode=0o700)
    for name, value in SECRETS.items():
        secret = tmp_path / "credentials" / name
        secret.write_text(value + "\n")
        secret.chmod(0o600)
    path = tmp_path / "watchdog.toml"
    path.write_text(uncommented(), encoding="utf-8")
    config = load_config(path)
    # Every provider has its entry, and every secret was read from credentials/.
    shown = {channel.provider.table for channel in configured(config)}
    assert shown == {provider.table for provider in providers()}
    assert config.smtp[0].password is not None
    assert config.smtp[0].password.reveal() == "s3cret"
    assert len(config.maintenance) == 2 and len(config.heartbeat) == 1


def test_explanations_and_keys_do_not_share_a_prefix() -> None:
    for number, line in enumerate(EXAMPLE.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("#") and not line.startswith(("## ", "# ")):
            assert line in ("#", "##"), f"watchdog.toml:{number}: {line!r}"


def test_every_key_of_the_schema_is_in_the_example() -> None:
    tables = example_tables()
    missing = [f"{table}.{key}" if table else key for table, key in schema_keys(Config)
               if not re.search(rf"(?m)(^|[#\s]){re.escape(key)} = ", tables.get(table, ""))]
    assert missing == [], "keys of the schema the example does not show"
