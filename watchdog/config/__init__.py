"""Configuration: schema (typed defaults), loader (lookup, TOML, one line per problem)."""

from watchdog.config.durations import format_duration, humanize, parse_duration
from watchdog.config.loader import dump_config, find_config, load_config, parse_config
from watchdog.config.schema import (
    Config,
    DetectionConfig,
    DnsCheck,
    GatewayConfig,
    HttpCheck,
    PingTarget,
    ScheduleConfig,
    SiteConfig,
    StorageConfig,
)

__all__ = [
    "Config",
    "DetectionConfig",
    "DnsCheck",
    "GatewayConfig",
    "HttpCheck",
    "PingTarget",
    "ScheduleConfig",
    "SiteConfig",
    "StorageConfig",
    "dump_config",
    "find_config",
    "format_duration",
    "humanize",
    "load_config",
    "parse_config",
    "parse_duration",
]
