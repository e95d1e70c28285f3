"""The watchdog config that probes the lab, written as TOML (what ``tomllib`` reads)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from testbed.lab.topology import (
    BACKUP_INTERFACE,
    DNS_PORT,
    DNS_SERVERS,
    ECHO_PATH,
    FAR_HOST,
    FIBRE_OPERATOR_PREFIX,
    FIBRE_PUBLIC_ADDRESS,
    HTTP_SERVER,
    LAN_INTERFACE,
    PING_TARGETS,
    Backup,
)

# The uplinks' names in the configs ``uplink_sections`` writes.
FIBRE = "fibre"
BACKUP = "4g"


def _duration(value: timedelta) -> str:
    milliseconds = round(value.total_seconds() * 1000)
    return f"{milliseconds // 1000}s" if milliseconds % 1000 == 0 else f"{milliseconds}ms"


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, timedelta):
        return json.dumps(_duration(value))
    if isinstance(value, date):
        return value.isoformat()  # a TOML local date, unquoted
    if isinstance(value, (str, Path)):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{" + inner + "}"
    raise TypeError(f"cannot write {value!r} ({type(value).__name__}) to TOML")


def _is_table_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and bool(value) and all(
        isinstance(item, Mapping) for item in value
    )


def _toml_table(header: str, table: Mapping[str, Any], lines: list[str], array: bool) -> None:
    if header:
        lines.append("")
        lines.append(f"[[{header}]]" if array else f"[{header}]")
    nested = {k: v for k, v in table.items() if isinstance(v, Mapping) or _is_table_list(v)}
    for key, value in table.items():
        if key not in nested:
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value in nested.items():
        path = f"{header}.{_toml_key(key)}" if header else _toml_key(key)
        if isinstance(value, Mapping):
            _toml_table(path, value, lines, array=False)
        else:
            for item in value:
                _toml_table(path, item, lines, array=True)


def to_toml(document: Mapping[str, Any]) -> str:
    """Write a dict of tables, lists of tables and plain values as TOML (what ``tomllib`` reads)."""
    lines: list[str] = []
    _toml_table("", document, lines, array=False)
    return "\n".join(lines).lstrip("\n") + "\n"


def lab_config_document(database: Path) -> dict[str, Any]:
    """The watchdog config that probes the lab from the office, as a dict of TOML tables.

    The schedule is quicker than the shipped defaults so that end-to-end tests run in seconds.
    """
    return {
        "site": {"name": "Lab office"},
        "storage": {"database": str(database)},
        "schedule": {
            "ping_interval": "1s",
            "ping_timeout": "500ms",
            "retry_interval": "500ms",
            "check_interval": "5s",
            "dns_timeout": "1s",
            "http_timeout": "2s",
        },
        "gateway": {"enabled": True, "address": ""},
        "ping": [
            {"name": f"target-{index}", "address": address}
            for index, address in enumerate(PING_TARGETS, start=1)
        ],
        "dns": [
            {"name": f"resolver-{address.rsplit('.', 1)[1]}", "server": address,
             "port": DNS_PORT, "query": "example.com", "record": "A"}
            for address in DNS_SERVERS
        ],
        "http": [
            {"name": "web-204", "url": f"http://{HTTP_SERVER}/204", "expect_status": [204]},
            {"name": "web-ok", "url": f"http://{HTTP_SERVER}/ok", "expect_status": [200]},
        ],
    }


def merge_config(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` applied: a dict merges into its table key by key (``None``
    deletes a key), anything else (a list of tables, ``None`` to drop the section) replaces."""
    merged = {key: dict(value) if isinstance(value, Mapping) else value
              for key, value in base.items()}
    for section, value in overrides.items():
        if value is None:
            merged.pop(section, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(section), dict):
            table = merged[section]
            for key, item in value.items():
                if item is None:
                    table.pop(key, None)
                else:
                    table[key] = item
        else:
            merged[section] = value
    return merged


def uplink_sections(backup: Backup, *, path: str = "both") -> dict[str, Any]:
    """Config sections for a lab with a backup path (``Lab(backup=...)``), for
    ``lab.write_config``.

    ``"uplink"``: the fibre (primary) and the 4G as two uplinks, each bound to its own
    interface (its gateway read from the routes through it). ``"failover"``: one uplink, the
    fibre behind the router that fails over, with a path check: the public address the web
    server's echo sees (``path`` "echo"), the router 2 hops away on the way to the far host
    (``path`` "hop"), or both (the default).
    """
    if backup == "uplink":
        return {"uplink": [
            {"name": FIBRE, "kind": "fibre", "primary": True, "interface": LAN_INTERFACE},
            {"name": BACKUP, "kind": "4g", "interface": BACKUP_INTERFACE},
        ]}
    check: dict[str, Any] = {}
    if path in ("echo", "both"):
        check |= {"echo_url": f"http://{HTTP_SERVER}{ECHO_PATH}",
                  "expect_address": [FIBRE_PUBLIC_ADDRESS]}
    if path in ("hop", "both"):
        check |= {"hop_target": FAR_HOST, "hop": 2, "expect_hop": [FIBRE_OPERATOR_PREFIX]}
    return {"uplink": [{"name": FIBRE, "kind": "fibre", "primary": True, "path": check}]}
