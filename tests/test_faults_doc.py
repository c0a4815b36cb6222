"""docs/FAULTS.md stays true: every table row names a test, and every named test exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "docs" / "FAULTS.md"
NAME = re.compile(r"`(test_\w+)`")


def _defined() -> set[str]:
    names: set[str] = set()
    for path in ROOT.glob("tests/test_*.py"):
        names |= set(re.findall(r"^def (test_\w+)", path.read_text(), re.MULTILINE))
    return names


def _rows() -> list[str]:
    rows = [line for line in TABLE.read_text().splitlines() if line.startswith("|")]
    return [r for r in rows if not set(r) <= set("|- ") and not r.startswith("| Bad input")
            and not r.startswith(("| Fault |", "| Property |", "| Target |"))]


def test_every_row_names_a_test() -> None:
    rows = _rows()
    assert len(rows) > 80
    assert [row for row in rows if not NAME.search(row)] == []


def test_every_named_test_exists() -> None:
    named = set(NAME.findall(TABLE.read_text()))
    assert named - _defined() == set()
