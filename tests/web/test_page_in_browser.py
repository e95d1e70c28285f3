"""The status page in a real browser (Debian's chromium driven by Playwright), served by the
web server over HTTP: no console error, nothing fetched from elsewhere, the state, cause,
uptime figures and charts in the DOM; a screenshot is kept in the test's output folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser import watch
from tests.web.conftest import CAUSE_DOWN
from watchdog.web.page import BAR_DAYS
from watchdog.web.server import WebServer


@pytest.mark.parametrize(("language", "headline", "uptime"), [
    ("en", "DOWN (internet provider)", "87.500 %"),
    ("fr", "COUPÉ (opérateur)", "87,500 %"),
])
def test_the_status_page_renders_in_chromium(web: WebServer, browser: Any, tmp_path: Path,
                                              language: str, headline: str,
                                              uptime: str) -> None:
    origin = "http://{}:{}".format(*web.address)
    page = browser.new_page(viewport={"width": 820, "height": 1200})
    problems = watch(page, origin)
    page.goto(f"{origin}/?lang={language}")
    assert problems == []
    assert page.inner_text("#headline") == headline
    assert page.locator("#state").get_attribute("data-state") == "down"
    assert page.inner_text("#cause") == CAUSE_DOWN
    assert "WD-2026-0002" in page.inner_text("#done")
    assert page.inner_text("[data-window='24h'] .value") == uptime
    assert page.locator("#days svg g.day").count() == BAR_DAYS
    for chart in ("#chart-day", "#chart-month"):
        assert page.locator(f"{chart} svg polyline").count() >= 1
        assert page.locator(f"{chart} svg").bounding_box()["height"] > 100
    assert "provider_ref" in page.inner_text("#ticket")
    screenshot = tmp_path / f"status-{language}.png"
    page.screenshot(path=str(screenshot), full_page=True)
    page.close()
    assert screenshot.stat().st_size > 20_000
