"""A suite's outcome: its figures (each with its target and verdict), printed as a small table.

A ``Figure`` is one number a suite measured: "kills survived 52 (target ≥ 50) ok". Its
verdict is None when it only informs (how many messages were sent, how long a wait took).
A ``SuiteResult`` holds one suite's figures, the size it ran at, how long it took and the
details kept in the JSON (what failed, and why), so a missed target can be read, not guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Size = Literal["short", "long"]
SIZES: tuple[Size, ...] = ("short", "long")


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure: ``target`` in words ("0", "≥ 50"), ``ok`` None when informative."""

    name: str
    value: int | float | str
    target: str = ""
    ok: bool | None = None
    unit: str = ""

    @property
    def shown(self) -> str:
        value = f"{self.value:.1f}" if isinstance(self.value, float) else str(self.value)
        return f"{value} {self.unit}".strip()

    @property
    def verdict(self) -> str:
        return "" if self.ok is None else ("ok" if self.ok else "MISSED")


def at_most(name: str, value: int | float, limit: int | float = 0, *, unit: str = "") -> Figure:
    """A count or amount that must not exceed ``limit`` (0 by default: lost, duplicated...)."""
    return Figure(name, value, f"≤ {limit:g}" if limit else "0", value <= limit, unit)


def at_least(name: str, value: int | float, minimum: int | float, *,
             unit: str = "") -> Figure:
    """A count that must reach ``minimum`` (kills survived, configs tried)."""
    return Figure(name, value, f"≥ {minimum:g}", value >= minimum, unit)


def expect(name: str, value: int | float | str, wanted: int | float | str) -> Figure:
    """A value that must equal ``wanted`` (the state held: "degraded")."""
    return Figure(name, value, str(wanted), value == wanted)


def info(name: str, value: int | float | str, *, unit: str = "") -> Figure:
    """A figure without a target."""
    return Figure(name, value, "", None, unit)


@dataclass(slots=True)
class SuiteResult:
    """One suite's run: ``figures`` in the order printed, ``details`` for the JSON only."""

    suite: str
    title: str
    size: Size
    figures: list[Figure] = field(default_factory=list)
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(figure.ok is not False for figure in self.figures)

    @property
    def missed(self) -> list[Figure]:
        return [figure for figure in self.figures if figure.ok is False]

    def figure(self, name: str) -> Figure:
        """The figure called ``name`` (KeyError if the suite has none)."""
        for figure in self.figures:
            if figure.name == name:
                return figure
        raise KeyError(f"{self.suite} has no figure {name!r}")

    def value(self, name: str) -> int | float | str:
        return self.figure(name).value

    def table(self) -> str:
        """The figures as a table under the suite's title and size."""
        head = f"{self.title} ({self.size}, {self.seconds:.0f} s)"
        rows = [[figure.name, figure.shown, figure.target, figure.verdict]
                for figure in self.figures]
        return f"{head}\n{format_table(['figure', 'value', 'target', ''], rows)}"

    def as_json(self) -> dict[str, Any]:
        return {
            "suite": self.suite, "title": self.title, "size": self.size, "ok": self.ok,
            "seconds": round(self.seconds, 1),
            "figures": [{"name": f.name, "value": f.value, "unit": f.unit,
                         "target": f.target, "ok": f.ok} for f in self.figures],
            "details": self.details,
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> SuiteResult:
        return cls(
            suite=document["suite"], title=document["title"], size=document["size"],
            figures=[Figure(f["name"], f["value"], f["target"], f["ok"], f.get("unit", ""))
                     for f in document["figures"]],
            seconds=document["seconds"], details=document.get("details", {}))


def format_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Left-aligned first column, the others right-aligned, a rule under the headers."""
    lines = [list(headers), *(list(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]

    def render(line: list[str]) -> str:
        cells = [text.ljust(width) if index == 0 else text.rjust(width)
                 for index, (text, width) in enumerate(zip(line, widths, strict=True))]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([render(lines[0]), rule, *(render(line) for line in lines[1:])])
