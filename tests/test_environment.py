"""The rule for tests that cannot run here: skip on a developer's machine, fail under CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.environment import REQUIRE_ALL, require, requiring_all

CI_SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "run"


def test_a_missing_requirement_skips_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_ALL, raising=False)

    require(None)  # nothing missing: the test goes on
    with pytest.raises(pytest.skip.Exception, match="needs a unicorn"):
        require("needs a unicorn")


@pytest.mark.parametrize("value", ["1", "yes"])
def test_under_ci_a_missing_requirement_fails_with_its_reason(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(REQUIRE_ALL, value)

    require(None)
    with pytest.raises(pytest.fail.Exception, match=f"needs a unicorn .*{REQUIRE_ALL} is set"):
        require("needs a unicorn")


def test_an_empty_or_zero_variable_does_not_require_all(monkeypatch: pytest.MonkeyPatch) -> None:
    for value in ("", "0"):
        monkeypatch.setenv(REQUIRE_ALL, value)
        assert not requiring_all()


def test_ci_requires_every_test_and_runs_make_test() -> None:
    lines = [line.strip() for line in CI_SCRIPT.read_text(encoding="utf-8").splitlines()]

    assert f"export {REQUIRE_ALL}=1" in lines
    assert lines.index(f"export {REQUIRE_ALL}=1") < lines.index("make test")
