"""The configuration's shape: typed, with defaults. ``loader`` fills these from TOML.

Field metadata carries the checks the loader applies (``min``, ``max``, ``choices``) so the
rules live next to the key they constrain. Cross-field rules live in ``Config.problems()``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, ClassVar, Literal, Self, get_args
from urllib.parse import urlsplit

from watchdog.config.secrets import Secret
from watchdog.vocabulary import DEFAULT_LINK, Language, OutageKind

DEFAULT_DATABASE = Path("/var/lib/connectivity-watchdog/watchdog.db")


def _limits(low: Any = None, high: Any = None) -> dict[str, Any]:
    return {"min": low, "max": high}


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


# A secret key: also readable from KEY_file and KEY_env (see config/secrets.py).
SECRET: dict[str, Any] = {"secret": True}


@dataclass(frozen=True)
class SiteConfig:
    name: str = "Office"
    # IANA zone such as "Europe/Paris"; empty: the server's own time zone.
    timezone: str = ""
    # Language of every message: "en" or "fr".
    language: Language = "en"
    # For the ISP's incident report: where the line is and who to call back.
    address: str = ""
    contact: str = ""


@dataclass(frozen=True)
class StorageConfig:
    # Relative paths are read relative to the config file's directory.
    database: Path = DEFAULT_DATABASE
    raw_retention: timedelta = field(default=timedelta(days=7), metadata=_limits(_seconds(3600)))
    minute_retention: timedelta = field(
        default=timedelta(days=90), metadata=_limits(timedelta(days=1))
    )
    evidence_margin: timedelta = field(default=timedelta(minutes=10), metadata=_limits(_seconds(0)))


@dataclass(frozen=True)
class ScheduleConfig:
    ping_interval: timedelta = field(default=_seconds(2), metadata=_limits(_seconds(0.2)))
    ping_timeout: timedelta = field(default=_seconds(1), metadata=_limits(_seconds(0.05)))
    pings_per_target: int = field(default=2, metadata=_limits(1, 10))
    retry_interval: timedelta = field(default=_seconds(1), metadata=_limits(_seconds(0.1)))
    check_interval: timedelta = field(default=_seconds(30), metadata=_limits(_seconds(1)))
    dns_timeout: timedelta = field(default=_seconds(2), metadata=_limits(_seconds(0.05)))
    http_timeout: timedelta = field(default=_seconds(5), metadata=_limits(_seconds(0.05)))


@dataclass(frozen=True)
class DetectionConfig:
    confirm_down: int = field(default=3, metadata=_limits(1, 100))
    confirm_up: int = field(default=3, metadata=_limits(1, 100))
    # How many ping targets must fail together for the link to be down; 0 means all of them.
    down_quorum: int = field(default=0, metadata=_limits(0, 1000))
    window: timedelta = field(default=_seconds(60), metadata=_limits(_seconds(1)))
    degraded_loss_percent: float = field(default=20.0, metadata=_limits(0.0, 100.0))
    degraded_rtt: timedelta = field(default=_seconds(0.3), metadata=_limits(_seconds(0.001)))


@dataclass(frozen=True)
class GatewayConfig:
    enabled: bool = True
    # Empty: read from the default route at every cycle.
    address: str = ""


@dataclass(frozen=True)
class PingTarget:
    name: str
    address: str


@dataclass(frozen=True)
class DnsCheck:
    name: str
    server: str
    port: int = field(default=53, metadata=_limits(1, 65535))
    query: str = "example.com"
    record: Literal["A", "AAAA", "NS", "MX", "TXT", "SOA"] = "A"


@dataclass(frozen=True)
class HttpCheck:
    name: str
    url: str
    # Empty: any 2xx or 3xx answer is a success (redirects are not followed).
    expect_status: list[int] = field(default_factory=list)
    max_body_bytes: int = field(default=65536, metadata=_limits(0, 10_000_000))
    # Text the body must contain (within its first max_body_bytes), or with expect_body_regex
    # a regular expression it must match: a captive portal answers 200 with its own page.
    expect_body: str = ""
    expect_body_regex: bool = False


@dataclass(frozen=True)
class IspConfig:
    name: str = ""
    line_id: str = ""
    customer_ref: str = ""
    # The contract's guaranteed time to repair.
    gtr: timedelta = field(default=timedelta(hours=4), metadata=_limits(_seconds(60)))


# How a contract counts time: every hour, or only the site's business hours.
Counting = Literal["24/7", "business_hours"]
# When the GTR clock starts: the outage's start, the ticket's opening, or the provider's
# acknowledgement (its own reference recorded with ``watchdog ticket provider-ref``).
GtrStart = Literal["outage", "ticket", "provider_ref"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# In Python's order (Monday 0), so that ``WEEKDAYS.index(day)`` is ``date.weekday()``.
WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)


@dataclass(frozen=True)
class BusinessHoursConfig:
    """``[contract.business_hours]``: when the provider's clock runs, in the site's zone."""

    days: list[Weekday] = field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    # "HH:MM" in the site's time zone; closes may be "24:00" (the end of the day).
    opens: str = "08:00"
    closes: str = "18:00"
    # Public holidays from the `holidays` library: an ISO country code ("FR") and, where the
    # regions differ, a subdivision ("57" or "Alsace-Moselle": Good Friday and 26 December).
    holidays_country: str = ""
    holidays_subdivision: str = ""
    # Further days the business is closed (bridges, the office's own closures).
    closed_days: list[date] = field(default_factory=list)


@dataclass(frozen=True)
class CompensationConfig:
    """``[contract.compensation]``: what is owed, in percent of the monthly fee."""

    # Per started hour of repair time beyond the GTR, for each incident.
    per_started_hour_beyond_gtr: float = field(default=0.0, metadata=_limits(0.0, 100.0))
    # Per started 0.1 point of the month's availability below the commitment.
    per_tenth_below_commitment: float = field(default=0.0, metadata=_limits(0.0, 100.0))
    # The month's compensation never exceeds this share of the monthly fee.
    cap: float = field(default=100.0, metadata=_limits(0.0, 10_000.0))


@dataclass(frozen=True)
class ContractConfig:
    """``[contract]``: the provider's commitments (the GTR itself is ``isp.gtr``)."""

    # Percent of the month the line must be available; 0: no commitment.
    availability_commitment: float = field(default=0.0, metadata=_limits(0.0, 100.0))
    availability_counted: Counting = "24/7"
    gtr_counted: Counting = "24/7"
    gtr_starts: GtrStart = "outage"
    monthly_fee: float = field(default=0.0, metadata=_limits(0.0))
    currency: str = "EUR"
    business_hours: BusinessHoursConfig = field(default_factory=BusinessHoursConfig)
    compensation: CompensationConfig = field(default_factory=CompensationConfig)

    def problems(self) -> list[tuple[str, str]]:
        """What is wrong with these terms (key path, what and the fix); no library needed."""
        from watchdog.config.durations import parse_time_of_day

        found: list[tuple[str, str]] = []
        hours = self.business_hours
        where = "contract.business_hours"
        times: dict[str, int] = {}
        for name, text in (("opens", hours.opens), ("closes", hours.closes)):
            try:
                times[name] = parse_time_of_day(text, allow_end_of_day=name == "closes")
            except ValueError as error:
                found.append((f"{where}.{name}", str(error)))
        if len(times) == 2 and times["closes"] <= times["opens"]:
            found.append((f"{where}.closes", f"{hours.closes!r} is not after opens "
                          f"({hours.opens!r}); business hours end later the same day"))
        if not hours.days:
            found.append((f"{where}.days", "is empty, so the business never opens; list "
                          "the open days, for example [\"mon\", \"tue\", \"wed\", \"thu\", "
                          "\"fri\"]"))
        country = hours.holidays_country
        if country and not (len(country) == 2 and country.isascii() and country.isupper()):
            found.append((f"{where}.holidays_country", f"{country!r} is not a country code; "
                          "write the two capital letters of ISO 3166, for example \"FR\""))
        if hours.holidays_subdivision and not country:
            found.append((f"{where}.holidays_subdivision", "needs holidays_country; add the "
                          "country, for example holidays_country = \"FR\""))
        if not self.currency.strip():
            found.append(("contract.currency", "is empty; write the currency of the fee, "
                          "for example \"EUR\""))
        return found


def _default_open_after() -> dict[OutageKind, timedelta]:
    return {"isp": timedelta(minutes=2), "lan": timedelta(minutes=2), "dns": timedelta(minutes=2)}


@dataclass(frozen=True)
class IncidentsConfig:
    # How long an outage lasts before a ticket is opened, per outage kind.
    open_after: dict[OutageKind, timedelta] = field(default_factory=_default_open_after)
    # Reminder steps, counted from the outage's start; "gtr" is when isp.gtr runs out, as
    # [contract] counts it (business hours, from the ticket...).
    escalation: list[str] = field(default_factory=lambda: ["gtr", "24h", "72h"])
    # After the last step, remind again this often until the repair.
    repeat_every: timedelta = field(default=timedelta(hours=24), metadata=_limits(_seconds(60)))
    # A cut that starts this soon after the previous one ended belongs to the same incident.
    merge_within: timedelta = field(default=timedelta(minutes=10), metadata=_limits(_seconds(0)))
    # A flapping incident's "down again" messages are at least this far apart, grouped.
    flap_notify_interval: timedelta = field(
        default=timedelta(minutes=5), metadata=_limits(_seconds(0))
    )
    reference_prefix: str = "WD"


@dataclass(frozen=True)
class MaintenanceConfig:
    """``[[maintenance]]``: a window of planned works (``watchdog.link.maintenance_windows``).

    One-off: ``start`` and ``end`` are dates and times ("2026-12-06 02:00" in the site's zone,
    or ISO with an offset). Weekly: ``days`` lists the days and ``start``/``end`` are times of
    day in the site's zone ("02:00"; an end not after the start is on the next day).
    """

    start: str
    end: str
    reason: str
    # Weekly windows: ["Sun"], ["Sat", "Sun"], ["Mon-Fri"]; empty: a one-off window.
    days: list[str] = field(default_factory=list)
    # The link it covers (a link's name); empty: every link.
    link: str = ""


# How a heartbeat speaks to its URL: healthchecks.io's pinging API (a self-hosted healthchecks
# too), or an Uptime Kuma push monitor.
HeartbeatStyle = Literal["healthchecks", "uptime_kuma"]


@dataclass(frozen=True)
class HeartbeatConfig:
    """``[[heartbeat]]``: a dead-man's switch (``watchdog.heartbeats``): the link's state sent
    to an outside service every ``interval``, which raises the alarm when they stop coming."""

    name: str
    # The ping URL: "https://hc-ping.com/<uuid>", or Uptime Kuma's push URL
    # "https://kuma.example/api/push/<token>" (its query is ours). A secret: whoever holds it
    # can silence the alarm, so url_file or url_env rather than url itself.
    url: Secret | None = field(default=None, metadata={**SECRET, "required": True})
    url_file: str = ""
    url_env: str = ""
    style: HeartbeatStyle = "healthchecks"
    interval: timedelta = field(default=_seconds(60), metadata=_limits(_seconds(1)))
    # For each request (connecting, then each read); shorter than interval.
    timeout: timedelta = field(default=_seconds(10), metadata=_limits(_seconds(0.1)))
    # The link whose state it reports (a link's name); empty: the site's, the worst of its links.
    link: str = ""


@dataclass(frozen=True)
class SmtpConfig:
    name: str
    host: str
    sender: str
    port: int = field(default=587, metadata=_limits(1, 65535))
    # "starttls" (port 587), "tls" (implicit TLS, port 465) or "none" (a LAN relay only).
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str = ""
    password: Secret | None = field(default=None, metadata=SECRET)
    password_file: str = ""
    password_env: str = ""
    timeout: timedelta = field(default=_seconds(10), metadata=_limits(_seconds(0.1)))
    # A CA certificate to trust (a relay with a private certificate); empty: the system's.
    ca_file: str = ""


# The two tables that hold channels: ticket backends and notification channels.
Section = Literal["tickets", "notify"]


class ChannelTables:
    """``[tickets]`` or ``[notify]``: one list of tables per provider registered for it.

    The providers (``watchdog/channels/registry.py``) decide the keys: the config holds an
    instance of ``tables_type``'s dataclass, a subclass of ``TicketsConfig`` or
    ``NotifyConfig`` with a field per provider, so ``[[tickets.email]]`` is read into
    ``config.tickets.email``. Code reads them through ``registry.configured(config)``.
    """

    section: ClassVar[Section]

    @classmethod
    def shape(cls) -> type[Self]:
        """The dataclass the loader fills for this table, made from the registry."""
        from watchdog.channels.registry import tables_type

        return tables_type(cls)

    @classmethod
    def empty(cls) -> Self:
        """The table with no channel (a config that defines none)."""
        return cls.shape()()


class TicketsConfig(ChannelTables):
    """``[[tickets.KEY]]``: the ticket backends."""

    section: ClassVar[Section] = "tickets"


class NotifyConfig(ChannelTables):
    """``[[notify.KEY]]``: the notification channels."""

    section: ClassVar[Section] = "notify"


@dataclass(frozen=True)
class WebConfig:
    """``[web]``: the daemon's read-only HTTP server (``/metrics`` and the status page)."""

    enabled: bool = False
    # "ADDRESS:PORT"; the loopback by default. A LAN address is the user's explicit choice.
    listen: str = "127.0.0.1:9830"


@dataclass(frozen=True)
class PathCheckConfig:
    """``[uplink.path]``: which way the traffic really leaves (``watchdog.probes.path``).

    Behind a router that fails over to a backup by itself, the internet answers through
    either path; this check tells them apart, by the public address a web echo service sees
    (``echo_url`` answers with the caller's address, which must be in ``expect_address``)
    and/or by the operator of the hop ``hop`` on the way to ``hop_target`` (its "time
    exceeded" must come from ``expect_hop``). An answer from elsewhere means the traffic
    takes another path: the uplink is down (its provider's outage) while the site is on
    backup. A check that gets no answer says nothing.
    """

    echo_url: str = ""
    # Addresses or prefixes: ["198.51.100.7"], ["198.51.100.0/24"].
    expect_address: list[str] = field(default_factory=list)
    # Empty: the first [[ping]] target.
    hop_target: str = ""
    hop: int = field(default=2, metadata=_limits(1, 30))
    # Prefixes of the operator's network: ["198.51.100.0/24"].
    expect_hop: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class UplinkConfig:
    """``[[uplink]]``: one way out of the office, watched by its own monitor.

    Its probes leave through ``interface`` (SO_BINDTODEVICE) and/or from ``source`` (a
    local address; the kernel then needs a policy route for it, see the README). Its outages
    are its own, ticketed to ``tickets`` (empty: every ticket backend) under its provider
    ``isp`` (the primary's defaults to the top-level ``[isp]``).
    """

    name: str
    # A word for people: "fibre", "4g", "adsl", "cable"...
    kind: str = ""
    # The uplink the site depends on; when none says so, the first one.
    primary: bool = False
    interface: str = ""
    source: str = ""
    # Its router's address; empty: the default route through its interface.
    gateway: str = ""
    tickets: list[str] = field(default_factory=list)
    isp: IspConfig | None = None
    path: PathCheckConfig | None = None


@dataclass(frozen=True)
class LinkConfig:
    """One link (uplink) the daemon watches with its own monitor: its name, its gateway, how
    its probes reach it (``interface``, ``source``; both empty: the default route), its
    provider and ticket backends, and its path check.

    The probe targets (``ping``, ``dns``, ``http``) are the config's, probed on every link.
    ``tickets`` empty: every ticket backend that takes the outage's kind.
    """

    name: str
    gateway: GatewayConfig
    kind: str = ""
    primary: bool = True
    interface: str = ""
    source: str = ""
    isp: IspConfig = field(default_factory=IspConfig)
    tickets: tuple[str, ...] = ()
    path: PathCheckConfig | None = None


@dataclass(frozen=True)
class Config:
    site: SiteConfig = field(default_factory=SiteConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    gateway: GatewayConfig = field(default_factory=GatewayConfig)
    ping: list[PingTarget] = field(default_factory=list)
    dns: list[DnsCheck] = field(default_factory=list)
    http: list[HttpCheck] = field(default_factory=list)
    isp: IspConfig = field(default_factory=IspConfig)
    incidents: IncidentsConfig = field(default_factory=IncidentsConfig)
    contract: ContractConfig = field(default_factory=ContractConfig)
    maintenance: list[MaintenanceConfig] = field(default_factory=list)
    heartbeat: list[HeartbeatConfig] = field(default_factory=list)
    uplink: list[UplinkConfig] = field(default_factory=list)
    smtp: list[SmtpConfig] = field(default_factory=list)
    tickets: TicketsConfig = field(default_factory=TicketsConfig.empty)
    notify: NotifyConfig = field(default_factory=NotifyConfig.empty)
    web: WebConfig = field(default_factory=WebConfig)
    # Where this config was read from (not a key): for messages and relative paths.
    source: Path | None = field(default=None, compare=False, metadata={"internal": True})

    @property
    def links(self) -> tuple[LinkConfig, ...]:
        """The links to watch, each by its own monitor, the primary first: one per
        ``[[uplink]]``, or the one implicit link (``DEFAULT_LINK``) of a config without."""
        if not self.uplink:
            return (LinkConfig(DEFAULT_LINK, self.gateway, isp=self.isp),)
        primary = next((up for up in self.uplink if up.primary), self.uplink[0])
        ordered = [primary, *(up for up in self.uplink if up is not primary)]
        return tuple(
            LinkConfig(
                up.name, GatewayConfig(self.gateway.enabled, up.gateway), kind=up.kind,
                primary=up is primary, interface=up.interface, source=up.source,
                isp=up.isp or (self.isp if up is primary else IspConfig()),
                tickets=tuple(up.tickets), path=up.path,
            )
            for up in ordered
        )

    @property
    def primary_link(self) -> LinkConfig:
        """The link the site depends on (the implicit one of a config without uplinks)."""
        return self.links[0]

    def link(self, name: str) -> LinkConfig:
        """The link called ``name``; ``KeyError`` when the config has none of that name."""
        for link in self.links:
            if link.name == name:
                return link
        raise KeyError(name)

    @property
    def down_quorum(self) -> int:
        """How many ping targets must fail together for the link to be down."""
        return self.detection.down_quorum or len(self.ping)

    def problems(self) -> list[tuple[str, str]]:
        """Cross-field rules: (key path, what is wrong and how to fix it)."""
        found: list[tuple[str, str]] = []
        if len(self.ping) < 2:
            found.append(
                ("ping", "needs at least two [[ping]] targets so that one dead host never "
                 "makes the link look down; add another public address")
            )
        quorum = self.detection.down_quorum
        if quorum and self.ping and not 2 <= quorum <= len(self.ping):
            found.append(
                ("detection.down_quorum", f"is {quorum} but must be between 2 and the number "
                 f"of ping targets ({len(self.ping)}); use 0 for all of them")
            )
        if self.schedule.ping_timeout >= self.schedule.ping_interval:
            found.append(
                ("schedule.ping_timeout", "must be shorter than schedule.ping_interval, "
                 "or cycles would run back to back")
            )
        for kind, names in (
            ("ping", [item.name for item in self.ping]),
            ("dns", [item.name for item in self.dns]),
            ("http", [item.name for item in self.http]),
        ):
            for index, name in enumerate(names):
                if name in names[:index]:
                    found.append((f"{kind}[{index}].name", f"{name!r} is used twice; "
                                  "give every target its own name"))
        for index, target in enumerate(self.ping):
            if not _is_ip(target.address):
                found.append((f"ping[{index}].address", f"{target.address!r} is not an IP "
                              "address; write the address itself (names are not resolved)"))
        for index, check in enumerate(self.dns):
            if not _is_ip(check.server):
                found.append((f"dns[{index}].server", f"{check.server!r} is not an IP address; "
                              "write the resolver's address, for example \"9.9.9.9\""))
        for index, http in enumerate(self.http):
            if not is_http_url(http.url):
                found.append((f"http[{index}].url", f"{http.url!r} is not an http(s) URL; "
                              "write it as \"https://host/path\""))
            for status in http.expect_status:
                if not 100 <= status <= 599:
                    found.append((f"http[{index}].expect_status",
                                  f"{status} is not an HTTP status code (100 to 599)"))
        for index, http in enumerate(self.http):
            if http.expect_body_regex:
                try:
                    re.compile(http.expect_body)
                except re.error as error:
                    found.append((f"http[{index}].expect_body", f"is not a regular expression "
                                  f"({error}); fix it, or set expect_body_regex = false to "
                                  "look for the text as it is"))
        if self.gateway.address and not _is_ip(self.gateway.address):
            found.append(("gateway.address", f"{self.gateway.address!r} is not an IP address; "
                          "write the router's LAN address or leave it empty to auto-detect"))
        found.extend(self._uplink_problems())
        found.extend(self._delivery_problems())
        found.extend(self._heartbeat_problems())
        found.extend((f"smtp[{index}].host", f"{relay.host!r} is not a host name or an IP "
                      "address; write the relay's name or address, for example "
                      "\"mail.office.lan\"") for index, relay in enumerate(self.smtp)
                     if not is_host(relay.host))
        found.extend(self.contract.problems())
        found.extend(web_listen_problems(self.web))
        if self.site.timezone:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(self.site.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                found.append(("site.timezone", f"{self.site.timezone!r} is not a known time "
                              "zone; write an IANA name such as \"Europe/Paris\""))
                return found  # the maintenance windows' times cannot be read without it
        found.extend(self._maintenance_problems())
        return found

    def _maintenance_problems(self) -> list[tuple[str, str]]:
        from watchdog.config.zone import site_zone
        from watchdog.link.maintenance_windows import WindowProblem, window_from_config

        found: list[tuple[str, str]] = []
        zone = site_zone(self)
        names = [link.name for link in self.links]
        for index, entry in enumerate(self.maintenance):
            try:
                window_from_config(entry, zone, index + 1)
            except WindowProblem as problem:
                found.append((f"maintenance[{index}].{problem.key}", str(problem)))
            if entry.link and entry.link not in names:
                found.append((f"maintenance[{index}].link", f"{entry.link!r} is not a link of "
                              f"this config; use one of {', '.join(map(repr, names))}, or "
                              "leave it empty for every link"))
        return found

    def _heartbeat_problems(self) -> list[tuple[str, str]]:
        from watchdog.heartbeats.styles import url_problem

        found: list[tuple[str, str]] = []
        names = [entry.name for entry in self.heartbeat]
        links = [link.name for link in self.links]
        for index, entry in enumerate(self.heartbeat):
            where = f"heartbeat[{index}]"
            if entry.name in names[:index]:
                found.append((f"{where}.name", f"{entry.name!r} is used twice; give every "
                              "heartbeat its own name"))
            # The URL itself is never quoted: it is the secret.
            problem = None if entry.url is None else url_problem(entry.style, entry.url.reveal())
            if problem:
                found.append((f"{where}.url", problem))
            if entry.timeout >= entry.interval:
                found.append((f"{where}.timeout", "must be shorter than its interval, or one "
                              "slow answer would hold up the next heartbeat"))
            if entry.link and entry.link not in links:
                found.append((f"{where}.link", f"{entry.link!r} is not a link of this config; "
                              f"use one of {', '.join(map(repr, links))}, or leave it empty "
                              "for the site (the worst of its links)"))
        return found

    def _uplink_problems(self) -> list[tuple[str, str]]:
        """The ``[[uplink]]`` tables: names, the one primary, addresses, interfaces, ticket
        backends and path checks."""
        from watchdog.channels.provider import TICKETS
        from watchdog.channels.registry import configured

        found: list[tuple[str, str]] = []
        names = [up.name for up in self.uplink]
        backends = [channel.entry.name for channel in configured(self, TICKETS)]
        primaries = [index for index, up in enumerate(self.uplink) if up.primary]
        for index in primaries[1:]:
            found.append((f"uplink[{index}].primary", f"{self.uplink[primaries[0]].name!r} is "
                          "already the primary uplink; mark only one uplink primary = true"))
        for index, up in enumerate(self.uplink):
            where = f"uplink[{index}]"
            if not up.name.strip():
                found.append((f"{where}.name", "is empty; give the uplink a name such as "
                              "\"fibre\" or \"4g\""))
            elif up.name in names[:index]:
                found.append((f"{where}.name", f"{up.name!r} is used twice; give every uplink "
                              "its own name"))
            if up.interface and not _is_interface_name(up.interface):
                found.append((f"{where}.interface", f"{up.interface!r} is not a network "
                              "interface name; write it as `ip link` shows it, for example "
                              "\"eth1\" or \"wwan0\""))
            for key, value, what in (("source", up.source, "one of this server's addresses"),
                                     ("gateway", up.gateway, "the uplink's router")):
                if value and not _is_ip(value):
                    found.append((f"{where}.{key}", f"{value!r} is not an IP address; write "
                                  f"the address of {what}, or leave it empty"))
            for name in up.tickets:
                if name not in backends:
                    listed = ", ".join(map(repr, backends)) or "none is configured"
                    found.append((f"{where}.tickets", f"{name!r} is not a ticket backend of "
                                  f"this config ({listed}); name a [[tickets.*]] entry"))
            if up.path is not None:
                found.extend(_path_problems(up.path, f"{where}.path"))
        return found

    def channel_names(self) -> list[str]:
        """Every ticket backend and notification channel, by name (outbox rows refer to them)."""
        from watchdog.channels.registry import configured

        return [channel.entry.name for channel in configured(self)]

    def _delivery_problems(self) -> list[tuple[str, str]]:
        # Read here, not at import: the registry imports the providers, which import this.
        from watchdog.channels.registry import configured
        from watchdog.config.durations import parse_duration

        found: list[tuple[str, str]] = []
        for index, step in enumerate(self.incidents.escalation):
            if step == "gtr":
                continue
            try:
                parse_duration(step)
            except ValueError as error:
                found.append((f"incidents.escalation[{index}]",
                              f"{error}; or write \"gtr\" for the contract's repair time"))
        for channel in configured(self):
            found.extend(channel.provider.problems(channel.entry, channel.where, self))
        names = self.channel_names() + [relay.name for relay in self.smtp]
        for name in sorted({name for name in names if names.count(name) > 1}):
            found.append(("tickets/notify/smtp", f"the name {name!r} is used twice; give every "
                          "relay, ticket backend and channel its own name"))
        return found


def parse_listen(text: str) -> tuple[str, int]:
    """``"127.0.0.1:9830"`` or ``"[::1]:9830"`` → (address, port); port 0 is any free one
    (for tests: the config asks for a real port). Raises ``ValueError`` with what is wrong."""
    host, colon, port = text.rpartition(":")
    if not colon or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError("needs a port from 1 to 65535 after the last colon")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError("an IPv6 address goes in brackets, as \"[::1]:9830\"")
    if not _is_ip(host):
        raise ValueError(f"{host!r} is not an IP address")
    return host, int(port)


def web_listen_problems(web: WebConfig) -> list[tuple[str, str]]:
    """What is wrong with ``[web] listen`` (key path, what and the fix)."""
    try:
        if parse_listen(web.listen)[1] == 0:
            raise ValueError("needs a port from 1 to 65535 after the last colon")
    except ValueError as error:
        return [("web.listen", f"{web.listen!r}: {error}; write an address and a port, for "
                 "example \"127.0.0.1:9830\" (this machine only) or \"192.168.1.5:9830\" "
                 "(the LAN)")]
    return []


def is_http_url(text: str) -> bool:
    """Whether ``text`` is an http:// or https:// URL with a host (and a port that can be
    one, when given)."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (read for its ValueError: "http://host:99999", "http://[::1")
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


# A host name as DNS allows it (labels of letters, digits and inner hyphens), or an IP address.
_HOST_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")


def is_host(text: str) -> bool:
    """Whether ``text`` is a host name or an IP address (what a relay's ``host`` may be).

    A name whose last label is all digits ("999.1.1.1", "256.256.256.256") is neither: no top
    level domain is numeric, so it is a mistyped address, not a name.
    """
    if _is_ip(text):
        return True
    return (len(text) <= 253 and _HOST_NAME.fullmatch(text) is not None
            and not text.rstrip(".").rsplit(".", 1)[-1].isdigit())


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


def _is_interface_name(text: str) -> bool:
    """What Linux accepts as an interface name: 1 to 15 bytes, no slash, colon or space."""
    return (0 < len(text.encode()) <= 15 and text not in (".", "..")
            and not any(char in text for char in "/: \t\n"))


def _path_problems(path: PathCheckConfig, where: str) -> list[tuple[str, str]]:
    """An ``[uplink.path]`` table: at least one way to tell the path, each complete."""
    found: list[tuple[str, str]] = []
    if not (path.echo_url or path.expect_address or path.expect_hop):
        found.append((where, "says nothing to tell the path by; give echo_url and "
                      "expect_address, and/or expect_hop"))
    if path.echo_url and not is_http_url(path.echo_url):
        found.append((f"{where}.echo_url", f"{path.echo_url!r} is not an http(s) URL; write "
                      "the address of a service that answers with the caller's address"))
    if path.echo_url and not path.expect_address:
        found.append((f"{where}.expect_address", "is empty; list the uplink's public "
                      "address or prefix, for example [\"198.51.100.7\"]"))
    if path.expect_address and not path.echo_url:
        found.append((f"{where}.echo_url", "is empty while expect_address is set; give the "
                      "URL of a service that answers with the caller's address"))
    for key, values in (("expect_address", path.expect_address),
                        ("expect_hop", path.expect_hop)):
        for value in values:
            if not _is_network(value):
                found.append((f"{where}.{key}", f"{value!r} is not an address or prefix; "
                              "write it as \"198.51.100.7\" or \"198.51.100.0/24\""))
    if path.hop_target and not _is_ip(path.hop_target):
        found.append((f"{where}.hop_target", f"{path.hop_target!r} is not an IP address; "
                      "write an internet host's address, or leave it empty for the first "
                      "ping target"))
    return found
