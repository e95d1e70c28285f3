"""What ``config check`` finds beyond the config's own rules: what would fail later, and what
works but leaves the office unwarned.

Errors (``config check`` exits 78): the database's directory cannot be created or written by
the service's user (``service_account``), a secret or CA file it cannot read, a template that
does not render (``delivery.rehearsal``, run by the command). Warnings (printed; exit 0 unless
``--strict``): no ticket backend, no notification channel, no channel that can deliver while
the internet is down, a secret in a file that others may read.

Each finding is (key path, what is wrong; the fix), as the loader's problems are.
"""

from __future__ import annotations

import dataclasses
import grp
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from watchdog.config import service_account
from watchdog.config.schema import DEFAULT_DATABASE, Config
from watchdog.config.secrets import CREDENTIALS_DIRECTORY_NAME, Secret, secret_file_candidates
from watchdog.config.service_account import Account, Want, check_paths

Finding = tuple[str, str]


class Findings(NamedTuple):
    """What ``config check`` says besides the effective config."""

    errors: list[Finding]
    warnings: list[Finding]


class SecretPlace(NamedTuple):
    """Where one configured secret is kept: its key path and the file that holds it."""

    key: str
    file: Path
    # Given as a relative name: loaded by systemd when it lies in credentials/.
    relative: bool


def secret_places(config: Config) -> list[SecretPlace]:
    """Every secret of ``config`` read from a file: the ``_file`` it was read from (the first
    of its candidates that exists), or the config file itself for an inline one."""
    base = config.source.absolute().parent if config.source else Path.cwd()
    source = _source(config)
    places: list[SecretPlace] = []
    for key, table in _tables(config, ""):
        for spec in dataclasses.fields(table):
            secret = getattr(table, spec.name)
            if not spec.metadata.get("secret") or not isinstance(secret, Secret):
                continue
            name = getattr(table, f"{spec.name}_file", "")
            if name:
                found = next((path for path in secret_file_candidates(name, base)
                              if path.exists()), None)
                if found is not None:
                    places.append(SecretPlace(f"{key}.{spec.name}_file", found,
                                              not Path(name).is_absolute()))
            elif secret.source == "the config file" and source is not None:
                places.append(SecretPlace(f"{key}.{spec.name}", source, False))
    return places


def _source(config: Config) -> Path | None:
    """The config file, as an absolute path (messages name it whole)."""
    return config.source.absolute() if config.source else None


def _tables(value: Any, key: str) -> Iterator[tuple[str, Any]]:
    """Every table (dataclass instance) under ``value``, with its key path."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _tables(item, f"{key}[{index}]")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        yield key, value
        for spec in dataclasses.fields(value):
            if not spec.metadata.get("internal"):
                yield from _tables(getattr(value, spec.name),
                                   f"{key}.{spec.name}" if key else spec.name)


def file_findings(config: Config, account: Account) -> Findings:
    """Whether ``account`` can do with the files what the daemon will: create and write the
    database, read the secret files it reads itself and the relays' CA files.

    What it cannot do is an error when the account is ``judged`` (see ``Account``); else (a
    user checking a config the service runs as another user) only a warning naming who was
    checked. A secret file given by a relative name and found next to the config, not in
    ``credentials/``, may reach the service through a ``LoadCredential=`` drop-in: a warning.
    """
    database = config.storage.database
    checks: list[tuple[str, Path, Want]] = []
    source = _source(config)
    if source is not None:
        checks.append(("(the file)", source, "read"))
    if not (database.parent == DEFAULT_DATABASE.parent and not database.parent.exists()):
        # (The unit's StateDirectory= makes the default directory when it is missing.)
        checks.append(("storage.database", database, "database"))
    direct: list[SecretPlace] = []
    for place in secret_places(config):
        in_credentials = place.file.parent.name == CREDENTIALS_DIRECTORY_NAME and place.relative
        if not in_credentials and place.file != source:
            direct.append(place)  # read by the service itself, not loaded by systemd
            checks.append((place.key, place.file, "read"))
    relays = [(f"smtp[{index}].ca_file", Path(relay.ca_file))
              for index, relay in enumerate(config.smtp) if relay.ca_file]
    checks.extend((key, path, "read") for key, path in relays if path.is_absolute())
    found = Findings([], [])
    warnings = [(key, f"{path} is a relative path: the service resolves it from /, not from "
                 "here; give the full path") for key, path in relays if not path.is_absolute()]
    answers = check_paths(account, [(path, want) for _, path, want in checks])
    for (key, path, want), problem in zip(checks, answers, strict=True):
        if problem is None:
            continue
        relative_secret = any(place.key == key and place.relative for place in direct)
        if key == "(the file)":
            fix = f"give it the service's group, mode 0640 (chgrp {account.name} {path})"
        elif want == "database":
            fix = (f"make it writable by {account.name}, or set storage.database to a file "
                   "in a directory it can write")
        elif relative_secret:
            fix = (f"move it into {path.parent / CREDENTIALS_DIRECTORY_NAME} (owned by root, "
                   "mode 0600): the service gets those as systemd credentials")
        else:
            fix = f"let {account.name} read it, or give another path"
        message = f"{account.who} {problem}; {fix}"
        if account.judged and not relative_secret:
            found.errors.append((key, message))
        else:
            # A relative secret may still reach the service through a LoadCredential= drop-in.
            found.warnings.append((key, message + ("" if account.judged else
                                   f" (checked as {account.name}; run config check as root "
                                   f"to check as {service_account.SERVICE_USER})")))
    found.warnings.extend(warnings)
    return found


def exposure_warnings(config: Config) -> list[Finding]:
    """A secret kept in a file that every user, or a group other than root's, may read: the
    status readers' group may read the config, so an inline secret is theirs too."""
    found: list[Finding] = []
    source = _source(config)
    for place in secret_places(config):
        try:
            mode = place.file.stat()
        except OSError:
            continue
        holder = ("the config file" if place.file == source else "the file") + f" {place.file}"
        fix = ("move it into its own file in "
               f"{place.file.parent / CREDENTIALS_DIRECTORY_NAME} (owned by root, mode 0600)"
               if place.file == source else f"chmod 0600 {place.file} (owned by root)")
        if mode.st_mode & stat.S_IROTH:
            found.append((place.key, f"{holder} is readable by every user of this machine; "
                          f"{fix}"))
        elif mode.st_mode & stat.S_IRGRP and mode.st_gid != 0:
            found.append((place.key, f"{holder} is readable by the group {_group(mode.st_gid)}, "
                          f"so by everyone in it (who may run watchdog status); {fix}"))
    return found


def _group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def backup_uplinks(config: Config) -> list[str]:
    """The ``[[uplink]]`` links besides the primary (a backup line such as 4G): while the
    primary is cut, the daemon sends every channel bound for the internet through a backup
    that works. None in a config without uplinks."""
    return [link.name for link in config.links[1:]]


def channel_warnings(config: Config) -> list[Finding]:
    """No ticket backend; no notification channel; no channel that can deliver while the
    internet link is down (none on a LAN address, no command channel, no backup uplink)."""
    from watchdog.channels.registry import configured

    found: list[Finding] = []
    tickets, channels = configured(config, "tickets"), configured(config, "notify")
    if not tickets:
        found.append(("tickets", "no ticket backend: tickets stay in the local ledger and the "
                      "provider is never told of an outage; add a [[tickets.email]] (or "
                      "[[tickets.rest]]) with the provider's support address"))
    if not channels:
        found.append(("notify", "no notification channel: nobody is told of an outage; add a "
                      "[[notify.email]], [[notify.webhook]] or [[notify.command]]"))
    if (tickets or channels) and not backup_uplinks(config) and not any(
        channel.provider.reaches_without_internet(channel.entry, config)
        for channel in tickets + channels
    ):
        found.append(("notify", "no channel can deliver while the internet is down: every "
                      "alert waits for the line's return; add one on the LAN (an [[smtp]] "
                      "relay, a webhook or ntfy at a LAN address: names are not resolved, "
                      "write the address) or a [[notify.command]] (an SMS through a modem)"))
    return found
