"""Debian's chromium driven by Playwright, for the tests that open a page in a real browser
(the HTML report, the status page): no browser is downloaded (``executable_path``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.environment import require

CHROMIUM = "/usr/bin/chromium"
# What the lab's chromium runs with (as root, with no network beyond loopback).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def require_chromium(what: str) -> None:
    require(None if shutil.which("chromium") else
            f"needs Debian's chromium (make test installs it) to open {what}")


def launched(executable: str | Path = CHROMIUM) -> Iterator[Any]:
    """A headless chromium (``executable``: the binary, or a script that execs it), closed
    when the generator is."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable),
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def watch(page: Any, allowed_prefix: str) -> list[str]:
    """The console errors and warnings, page errors and requests outside ``allowed_prefix``
    that ``page`` meets from now on (a list that fills as they come)."""
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text)
            if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("request", lambda request: problems.append(f"fetched {request.url}")
            if not request.url.startswith(allowed_prefix) else None)
    return problems
