"""The status page: the state in words, what has been done, uptime, 90 days of bars, the
charts, the ticket's timeline and the report's link, in English and French; no secret."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from datetime import timedelta

from tests.web.conftest import NOW, PROVIDER_REF, SECRETS
from watchdog.config import Config
from watchdog.web.page import BAR_DAYS, PageRequest, render


def test_it_says_the_state_since_when_and_what_has_been_done(site: Config) -> None:
    html = render(site, PageRequest("default", "en"), NOW)
    assert '<div class="headline" id="headline">DOWN (internet provider)</div>' in html
    # Paris is UTC+1 in November: the outage began at 09:00 local.
    assert "since 2026-11-20 09:00:00 CET (for 3 h)" in html
    assert "Ticket WD-2026-0002 opened 2026-11-20 09:05:00 CET" in html
    assert f"provider&#x27;s reference {PROVIDER_REF}" in html
    assert "The watchdog is running; last cycle 1 s ago." in html
    assert re.search(r'data-window="24h">\s*<div class="muted">Uptime, last 24h</div>\s*'
                     r'<div class="value">87\.500 %</div>', html)


def test_it_draws_ninety_day_bars_and_both_charts_inline(site: Config) -> None:
    html = render(site, PageRequest("default", "en"), NOW)
    assert html.count('<g class="day"') == BAR_DAYS
    assert html.count("<svg") == 3
    assert 'id="chart-day"' in html and 'id="chart-month"' in html
    assert "<script" not in html and "http://" not in html.replace(
        "http://www.w3.org", "") and "src=" not in html
    # The days before the first record are nobody's: grey, not green.
    assert html.count('fill="#b8b8b8"') >= BAR_DAYS - 41


def test_it_shows_the_open_tickets_timeline_and_the_months_report(site: Config) -> None:
    html = render(site, PageRequest("default", "en"), NOW)
    assert "Open ticket WD-2026-0002" in html
    assert "provider_ref" in html
    assert '<a href="/report/2026-11.html">2026-11 (so far)</a>' in html
    assert '<a href="/report/2026-10.html">2026-10</a>' in html


def test_it_speaks_french(site: Config) -> None:
    html = render(site, PageRequest("default", "fr"), NOW)
    assert '<html lang="fr">' in html
    assert "COUPÉ (opérateur)" in html
    assert "depuis 2026-11-20 09:00:00 CET (soit 3 h)" in html
    assert "Les 90 derniers jours" in html
    assert "87,500 %" in html


def test_it_never_shows_a_secret(site: Config) -> None:
    for language in ("en", "fr"):
        html = render(site, PageRequest("default", language), NOW)  # type: ignore[arg-type]
        assert not [secret for secret in SECRETS if secret in html]


def test_a_site_never_watched_says_so(site: Config, tmp_path: object) -> None:
    from pathlib import Path

    from watchdog.store.writer import Store

    empty = Path(str(tmp_path)) / "empty.db"
    Store.open(empty).close()
    config = replace(site, storage=replace(site.storage, database=empty))
    html = render(config, PageRequest("default", "en"), NOW)
    assert "UNKNOWN" in html and "has never run on this database" in html


def test_it_renders_in_well_under_fifty_milliseconds(site: Config) -> None:
    render(site, PageRequest("default", "en"), NOW)
    began = time.perf_counter()
    render(site, PageRequest("default", "en"), NOW)
    assert time.perf_counter() - began < 0.5  # generous here; bench/web.py measures it


def test_a_database_not_written_for_long_is_said_as_the_serving_daemon_knows_it(
    site: Config,
) -> None:
    # The page is served by the running daemon: an old heartbeat means it could not write.
    html = render(site, PageRequest("default", "en"), NOW + timedelta(hours=1))
    assert ("The watchdog has not written its database since 2026-11-20 11:59:59 CET: this "
            "page shows the state then (is its file system full or read-only?).") in html
    assert "The state when the watchdog last wrote its database" in html
    assert "not running" not in html
