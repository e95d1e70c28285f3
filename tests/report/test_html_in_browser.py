"""The HTML report in a real browser (Debian's chromium driven by Playwright): it renders
without a console error, shows the key figures, prints to an A4 PDF, and leaves a screenshot
in the test's output folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import time_machine

from tests.browser import watch
from tests.report.conftest import moment
from watchdog.cli import main


def test_the_html_report_renders_prints_and_shows_its_figures(
    site: Path, tmp_path: Path, browser: Any
) -> None:
    html, data = tmp_path / "report.html", tmp_path / "report.json"
    with time_machine.travel(moment(20, 0), tick=False):
        for fmt, target in (("html", html), ("json", data)):
            assert main(["report", "--month", "2026-11", "--format", fmt, "-o", str(target),
                         "--config", str(site)]) == 0
    figures = json.loads(data.read_text())
    page = browser.new_page(viewport={"width": 1000, "height": 1400})
    problems = watch(page, "file:")
    page.goto(html.as_uri())
    assert problems == []
    assert page.title() == "Connectivity report — Example Office — 2026-11"
    assert page.inner_text("#availability-value") == "98.460 %"
    assert page.inner_text("#provider-availability-value") == "98.677 %"
    assert page.inner_text("#digest") == figures["digest"]["value"]
    assert page.locator("tr.outage").count() == len(figures["outages"]) == 2
    assert page.locator("tr.day").count() == len(figures["days"]) == 20
    assert "WD-2026-0001" in page.inner_text("#outages")
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    pdf = page.pdf(format="A4", print_background=True)
    page.close()
    assert pdf.startswith(b"%PDF-")
    (tmp_path / "report.pdf").write_bytes(pdf)
    assert (tmp_path / "report.png").stat().st_size > 10_000
