"""What every short suite's test does with its result: print the table, then require every
target met, save those listed as not yet reachable (with why)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from soak.figures import SuiteResult


def assert_targets_met(result: SuiteResult, pending: Mapping[str, str] | None = None) -> None:
    """Fail, naming every missed figure and the suite's details, unless each missed one is
    in ``pending`` (figure name → why it cannot be met yet: the work that will meet it)."""
    print(result.table())
    allowed = pending or {}
    missed = [figure for figure in result.missed if figure.name not in allowed]
    details = json.dumps(result.details, indent=1, default=str, ensure_ascii=False)
    assert not missed, (
        "missed: " + "; ".join(f"{f.name} = {f.shown} (target {f.target})" for f in missed)
        + f"\n{result.table()}\n{details[:20000]}")
