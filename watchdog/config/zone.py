"""The site's time zone: every time is stored in UTC and shown in this zone."""

from __future__ import annotations

import os
from datetime import UTC, tzinfo

from watchdog.config.schema import Config


def site_zone(config: Config) -> tzinfo:
    """The site's time zone: ``site.timezone``, else the server's (``TZ`` or /etc/localtime)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if config.site.timezone:
        return ZoneInfo(config.site.timezone)
    name = os.environ.get("TZ", "").lstrip(":")
    try:
        if name:
            return ZoneInfo(name)
        with open("/etc/localtime", "rb") as handle:
            return ZoneInfo.from_file(handle, key="localtime")
    except (OSError, ValueError, ZoneInfoNotFoundError):
        return UTC
