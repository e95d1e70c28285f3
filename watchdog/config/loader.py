"""Find, read and validate the TOML config; report every problem as one line.

Lookup order: ``--config``, ``$WATCHDOG_CONFIG``, ``/etc/connectivity-watchdog/watchdog.toml``,
``./config/watchdog.toml``. Each problem reads ``FILE: KEY: what is wrong; the fix``.
"""

from __future__ import annotations

import contextvars
import dataclasses
import os
import tomllib
import types
import typing
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from watchdog.config.durations import format_duration, parse_duration
from watchdog.config.schema import ChannelTables, Config
from watchdog.config.secrets import MASK, Secret, resolve
from watchdog.errors import ConfigError

SYSTEM_CONFIG = Path("/etc/connectivity-watchdog/watchdog.toml")
LOCAL_CONFIG = Path("config/watchdog.toml")
ENV_CONFIG = "WATCHDOG_CONFIG"
ENV_DATABASE = "WATCHDOG_DATABASE"

# Whether secret files and variables are read while converting (see ``parse_config``).
_READ_SECRETS: contextvars.ContextVar[bool] = contextvars.ContextVar("read_secrets", default=True)


def find_config(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Return the config file to use, or raise ``ConfigError`` naming where we looked."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError([f"{path}: no such config file; check the --config path"])
        return path
    from_env = os.environ.get(ENV_CONFIG)
    if from_env:
        path = Path(from_env)
        if not path.is_file():
            raise ConfigError([f"{path}: no such config file; fix or unset ${ENV_CONFIG}"])
        return path
    for candidate in (SYSTEM_CONFIG, LOCAL_CONFIG):
        if candidate.is_file():
            return candidate
    raise ConfigError([
        f"no config file found (looked at {SYSTEM_CONFIG} and ./{LOCAL_CONFIG}); "
        f"pass --config FILE or set ${ENV_CONFIG}"
    ])


def load_config(
    explicit: str | os.PathLike[str] | None = None,
    database: str | None = None,
    *,
    secrets: bool = True,
    check_holidays: bool = True,
) -> Config:
    """Find, read and validate the config; ``database`` (or ``$WATCHDOG_DATABASE``) overrides.

    With ``secrets=False`` secret files and variables are not read (their keys stay None):
    the read-only commands need none, so a secret file may be readable by the service alone.
    With ``check_holidays=False`` the holidays' country and subdivision are not looked up in
    the `holidays` library (~45 ms and ~17 MB once loaded): the commands that count no
    business time (``status``, ``outages``, ``tickets``) need not pay for it.
    """
    path = find_config(explicit)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except PermissionError:
        from watchdog.store.files import group_hint

        raise ConfigError([f"{path}: cannot be read (permission denied); {group_hint(path)}"]
                          ) from None
    except OSError as error:
        raise ConfigError([f"{path}: cannot be read ({error.strerror})"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: is not UTF-8 text; save it as UTF-8"]) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([f"{path}: is not valid TOML ({error}); fix the syntax there"]) from None
    return parse_config(raw, path, database=database, secrets=secrets,
                        check_holidays=check_holidays)


def parse_config(
    raw: dict[str, Any], path: Path, database: str | None = None, *, secrets: bool = True,
    check_holidays: bool = True,
) -> Config:
    """Build a ``Config`` from parsed TOML, or raise ``ConfigError`` with every problem
    (``check_holidays``: see ``load_config``)."""
    problems: list[str] = []
    token = _READ_SECRETS.set(secrets)
    try:
        values = _convert(raw, Config, "", path, problems)
    finally:
        _READ_SECRETS.reset(token)
    if problems:
        raise ConfigError(problems)
    config = typing.cast(Config, values)
    storage = config.storage
    override = database or os.environ.get(ENV_DATABASE)
    db_path = Path(override) if override else storage.database
    if not db_path.is_absolute() and not override:
        db_path = path.parent / db_path
    db_path = Path(os.path.abspath(db_path))
    config = dataclasses.replace(
        config, source=path, storage=dataclasses.replace(storage, database=db_path)
    )
    found = config.problems()
    hours = config.contract.business_hours
    if check_holidays and hours.holidays_country and not any(
        key.startswith("contract.business_hours.holidays_") for key, _ in found
    ):
        from watchdog.contract.public_holidays import holiday_problems

        found.extend(holiday_problems(hours.holidays_country, hours.holidays_subdivision))
    for key, message in found:
        problems.append(f"{path}: {key}: {message}")
    if problems:
        raise ConfigError(problems)
    return config


def _describe(kind: Any) -> str:
    if kind is bool:
        return "true or false"
    if kind is int:
        return "a whole number"
    if kind is float:
        return "a number"
    if kind is str:
        return "a quoted string"
    if kind is timedelta:
        return "a duration such as \"2s\" or \"5m\""
    if kind is Path:
        return "a quoted file path"
    if kind is date:
        return "a date such as 2026-12-24"
    return "a value"


def _convert(value: Any, kind: Any, key: str, path: Path, problems: list[str]) -> Any:
    """Convert ``value`` to ``kind``; on failure append a problem and return ``None``."""
    where = f"{path}: {key or '(top level)'}"
    if isinstance(kind, type) and issubclass(kind, ChannelTables) and (
        not dataclasses.is_dataclass(kind)
    ):
        kind = kind.shape()  # [tickets], [notify]: a list of tables per registered provider
    origin = typing.get_origin(kind)
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        if not isinstance(value, dict):
            problems.append(f"{where}: must be a table ([{key}])")
            return None
        return _convert_table(value, kind, key, path, problems)
    if origin is list:
        (item_kind,) = typing.get_args(kind)
        if not isinstance(value, list):
            if dataclasses.is_dataclass(item_kind):
                problems.append(f"{where}: must be a list of tables; write each entry "
                                f"under its own [[{key}]] header")
            else:
                problems.append(f"{where}: must be a list, for example [200, 204]")
            return None
        items = [_convert(item, item_kind, f"{key}[{i}]", path, problems)
                 for i, item in enumerate(value)]
        return items
    if origin is dict:
        key_kind, value_kind = typing.get_args(kind)
        if not isinstance(value, dict):
            problems.append(f"{where}: must be a table, for example {{ key = \"value\" }}")
            return None
        converted: dict[Any, Any] = {}
        for name, item in value.items():
            if _convert(name, key_kind, f"{key}.{name}", path, problems) is None:
                continue
            result = _convert(item, value_kind, f"{key}.{name}", path, problems)
            if result is not None:
                converted[name] = result
        return converted
    if kind is Secret:
        if not isinstance(value, str):
            problems.append(f"{where}: must be a quoted string")
            return None
        return Secret(value, "the config file")
    if origin is typing.Literal:
        choices = typing.get_args(kind)
        if value not in choices:
            allowed = ", ".join(repr(choice) for choice in choices)
            problems.append(f"{where}: {value!r} is not allowed; use one of {allowed}")
            return None
        return value
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return _convert(value, options[0], key, path, problems)
    if kind is timedelta:
        if not isinstance(value, str):
            problems.append(f"{where}: must be {_describe(kind)}, with its unit in quotes")
            return None
        try:
            return parse_duration(value)
        except ValueError as error:
            problems.append(f"{where}: {error}")
            return None
    if kind is date:
        # A TOML date (2026-12-24) or the same in quotes; a date with a time is not a day.
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        elif isinstance(value, date) and not isinstance(value, datetime):
            return value
        problems.append(f"{where}: {value!r} is not a day; write {_describe(kind)}")
        return None
    if kind is Path:
        if not isinstance(value, str) or not value:
            problems.append(f"{where}: must be {_describe(kind)}, not empty")
            return None
        return Path(value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind in (bool, int, float, str) and (
        not isinstance(value, kind) or (kind is int and isinstance(value, bool))
    ):
        problems.append(f"{where}: must be {_describe(kind)}, not {value!r}")
        return None
    return value


def _convert_table(
    table: dict[str, Any], kind: type[Any], prefix: str, path: Path, problems: list[str]
) -> Any:
    hints = typing.get_type_hints(kind)
    fields = {f.name: f for f in dataclasses.fields(kind) if not f.metadata.get("internal")}
    arguments: dict[str, Any] = {}
    for name, value in table.items():
        key = f"{prefix}.{name}" if prefix else name
        if name not in fields:
            import difflib  # only for a mistyped key: the daemon need not keep it

            close = difflib.get_close_matches(name, list(fields), n=1)
            hint = f'did you mean "{close[0]}"? ' if close else ""
            allowed = ", ".join(fields)
            problems.append(f"{path}: {key}: unknown key; {hint}(allowed here: {allowed})")
            continue
        converted = _convert(value, hints[name], key, path, problems)
        if converted is None:
            continue
        factory = fields[name].default_factory
        if isinstance(converted, dict) and factory is not dataclasses.MISSING:
            converted = {**factory(), **converted}  # a partial table keeps the other defaults
        meta = fields[name].metadata
        low, high = meta.get("min"), meta.get("max")
        shown = format_duration(converted) if isinstance(converted, timedelta) else converted
        if low is not None and converted < low:
            limit = format_duration(low) if isinstance(low, timedelta) else low
            problems.append(f"{path}: {key}: {shown} is too small; use at least {limit}")
            continue
        if high is not None and converted > high:
            limit = format_duration(high) if isinstance(high, timedelta) else high
            problems.append(f"{path}: {key}: {shown} is too large; use at most {limit}")
            continue
        arguments[name] = converted
    missing = [
        name for name, f in fields.items()
        if name not in table
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    for name in missing:
        key = f"{prefix}.{name}" if prefix else name
        problems.append(f"{path}: {key}: is required; add it")
    if missing or len(arguments) != len([n for n in table if n in fields]):
        return None
    for name, spec in fields.items():
        if spec.metadata.get("secret") and not _READ_SECRETS.get():
            arguments[name] = None
        elif spec.metadata.get("secret"):
            secret, problem, spelling = resolve(
                arguments.get(name), arguments.get(f"{name}_file", ""),
                arguments.get(f"{name}_env", ""), path.parent)
            if problem is None and secret is None and spec.metadata.get("required"):
                problem = (f"is required; write it in a file named by {name}_file (or give "
                           f"{name}_env, or {name} itself)")
            if problem:
                # Named as written: a missing password_file is password_file's problem.
                key = f"{prefix}.{name}{spelling}" if prefix else f"{name}{spelling}"
                problems.append(f"{path}: {key}: {problem}")
                return None
            arguments[name] = secret
    return kind(**arguments)


def dump_config(config: Config) -> str:
    """The effective config as TOML, defaults filled in (what ``config check`` prints)."""
    lines = [f"# effective configuration read from {config.source}"]
    tables: list[tuple[str, Any]] = []
    for f in dataclasses.fields(config):
        if f.metadata.get("internal"):
            continue
        value = getattr(config, f.name)
        if isinstance(value, list):
            tables.extend((f"[[{f.name}]]", item) for item in value)
        else:
            tables.append((f"[{f.name}]", value))
    while tables:
        header, table = tables.pop(0)
        lines.append("")
        lines.append(header)
        name = header.strip("[]")
        nested: list[tuple[str, Any]] = []
        for f in dataclasses.fields(table):
            value = getattr(table, f.name)
            if dataclasses.is_dataclass(value):
                nested.append((f"[{name}.{f.name}]", value))
            elif isinstance(value, list) and value and dataclasses.is_dataclass(value[0]):
                nested.extend((f"[[{name}.{f.name}]]", item) for item in value)
            elif _is_secret_source(table, f.name):
                continue  # shown through the masked secret itself
            elif value is None and _is_optional_table(table, f.name):
                continue  # an optional table left out ([uplink.isp])
            else:
                lines.append(f"{f.name} = {_toml_value(value, f)}")
        tables[:0] = nested
    return "\n".join(lines) + "\n"


def _is_optional_table(table: Any, name: str) -> bool:
    """Whether field ``name`` of ``table`` is a table that may be left out (``X | None``)."""
    kind = typing.get_type_hints(type(table))[name]
    return typing.get_origin(kind) in (typing.Union, types.UnionType) and any(
        dataclasses.is_dataclass(option) for option in typing.get_args(kind))


def _is_secret_source(table: Any, name: str) -> bool:
    """Whether ``name`` is ``password_file`` or ``password_env`` of a secret ``password``."""
    base, _, suffix = name.rpartition("_")
    if suffix not in ("file", "env"):
        return False
    spec = {f.name: f for f in dataclasses.fields(table)}.get(base)
    return spec is not None and bool(spec.metadata.get("secret"))


def _toml_value(value: Any, spec: dataclasses.Field[Any]) -> str:
    if isinstance(value, Secret):
        return f'"{MASK}"  # from {value.source}'
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, timedelta):
        return f'"{format_duration(value)}"'
    if isinstance(value, date):
        return value.isoformat()  # a TOML date, unquoted
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item, spec) for item in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{k} = {_toml_value(v, spec)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
