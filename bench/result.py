"""The structured result every benchmark hands back, and the summary table ``python -m bench`` builds.

A benchmark ends with :func:`emit`: it prints the machine-readable last line (``P1 key=value ...
VERDICT``, as before) and, when run by ``python -m bench``, also writes the result as JSON to the file
named by ``CRM_BENCH_RESULT`` so the runner builds its table from the values themselves, not from
text. A benchmark that does not call it yet is read from its last line (:meth:`Result.from_line`).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

Verdict = Literal["PASS", "MISS", "INVALID", "SKIP", "FAILED"]
VERDICTS: tuple[Verdict, ...] = ("PASS", "MISS", "INVALID", "SKIP", "FAILED")
RESULT_FILE_ENV = "CRM_BENCH_RESULT"

Value = float | int | str


@dataclass(frozen=True)
class Result:
    """One benchmark's outcome."""

    id: str
    """``P1`` … ``P9``."""
    measured: str
    """The headline figure as read by a person, e.g. ``"512 cmd/s, p99 163 ms"``."""
    target: str
    """The target it is held to, e.g. ``"≥ 1,500 cmd/s, p99 ≤ 25 ms, ≥ 0.7× baseline"``."""
    ratio: float | None
    """Measured against its baseline in the same run (None: the benchmark has no baseline)."""
    verdict: Verdict
    fields: dict[str, Value] = field(default_factory=dict)
    """The key=value pairs of the last line, in order."""
    missed: list[str] = field(default_factory=list)
    """Which targets were missed (empty on PASS)."""

    def line(self) -> str:
        """The machine-readable last line: ``ID key=value ... VERDICT``."""
        pairs = " ".join(f"{k}={_text(v)}" for k, v in self.fields.items())
        return f"{self.id} {pairs} {self.verdict}" if pairs else f"{self.id} {self.verdict}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Result:
        raw = json.loads(text)
        return cls(
            id=str(raw["id"]),
            measured=str(raw["measured"]),
            target=str(raw["target"]),
            ratio=None if raw.get("ratio") is None else float(raw["ratio"]),
            verdict=_verdict(str(raw["verdict"])),
            fields=dict(raw.get("fields") or {}),
            missed=[str(m) for m in raw.get("missed") or []],
        )

    @classmethod
    def from_line(cls, line: str, target: str = "") -> Result | None:
        """A result read back from a last line ``ID key=value ... VERDICT`` (None if it is not one)."""
        words = line.split()
        if len(words) < 2 or words[-1] not in VERDICTS:
            return None
        fields = fields_of(" ".join(words[1:-1]))
        ratio = fields.get("ratio")
        shown = [f"{k}={_text(v)}" for k, v in fields.items() if k != "ratio"][:3]
        return cls(
            id=words[0],
            measured=" ".join(shown),
            target=target,
            ratio=float(ratio) if isinstance(ratio, float | int) else None,
            verdict=_verdict(words[-1]),
            fields=fields,
        )


def emit(result: Result) -> Result:
    """Print the result's last line and hand it to ``python -m bench`` when it asked for it."""
    print(result.line(), flush=True)
    path = os.environ.get(RESULT_FILE_ENV)
    if path:
        Path(path).write_text(result.to_json(), encoding="utf-8")
    return result


def fields_of(pairs: str) -> dict[str, Value]:
    """``key=value`` pairs (separated by spaces) as a dict, numbers as numbers."""
    fields: dict[str, Value] = {}
    for word in pairs.split():
        key, sep, value = word.partition("=")
        if sep:
            fields[key] = _number(value)
    return fields


def read_result(path: Path) -> Result | None:
    """The result a benchmark wrote (None when it wrote none)."""
    try:
        return Result.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def table(rows: list[tuple[str, Result, float]]) -> str:
    """The summary: one row per benchmark (its name, result and seconds it took)."""
    header = ("bench", "measured", "target", "ratio vs baseline", "verdict", "time")
    body = [
        (
            result.id,
            result.measured,
            result.target,
            "—" if result.ratio is None or math.isnan(result.ratio) else f"{result.ratio:.2f}",
            result.verdict + (f" ({', '.join(result.missed)})" if result.missed else ""),
            f"{seconds:.0f} s",
        )
        for _name, result, seconds in rows
    ]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def fmt(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([fmt(header), rule, *(fmt(r) for r in body)])


def _verdict(text: str) -> Verdict:
    for verdict in VERDICTS:
        if verdict == text:
            return verdict
    return "FAILED"


def _text(value: Value) -> str:
    return str(value).replace(" ", "_")


def _number(text: str) -> Value:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text
