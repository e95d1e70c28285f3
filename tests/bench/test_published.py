"""What is published: BENCHMARKS.md's generated section is the latest results file, rendered
by the publishing code, and bench/results holds nothing else that could pass for a figure."""

from __future__ import annotations

import json
import re

from bench.publishing import (
    BEGIN_MARK,
    BENCHMARKS,
    END_MARK,
    RESULTS_DIR,
    latest_results,
    render_section,
)

# Suite results (what the table cites), and what .gitignore keeps off the repository.
PUBLISHED = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")
LOCAL_ONLY = re.compile(r"^(\d{4}-\d{2}-\d{2}-quick|alerts-\d{4}-\d{2}-\d{2}"
                        r"|detection-\d{4}-\d{2}-\d{2})\.json$")


def test_benchmarks_md_shows_the_latest_results() -> None:
    latest = latest_results(RESULTS_DIR)
    assert latest is not None, f"no full results in {RESULTS_DIR}"
    text = BENCHMARKS.read_text(encoding="utf-8")
    published = text[text.index(BEGIN_MARK):text.index(END_MARK) + len(END_MARK)]

    # If this fails, BENCHMARKS.md was edited by hand or a results file was added without it:
    # run make bench (or restore the file the section was made from).
    assert published == render_section(latest)


def test_the_results_directory_holds_only_full_suite_results() -> None:
    for path in sorted(RESULTS_DIR.iterdir()):
        if LOCAL_ONLY.match(path.name):
            continue
        assert PUBLISHED.match(path.name), f"{path.name}: not a results file of make bench"
        document = json.loads(path.read_text(encoding="utf-8"))
        assert document.get("suite") == "bench" and not document.get("quick"), path.name
