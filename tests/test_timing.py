"""The timing recorder: nesting, counts, and silence when no recorder is active."""

from __future__ import annotations

from m2mrsp.report import timing_tree
from m2mrsp.timing import Recorder, span


def test_spans_nest_and_count() -> None:
    recorder = Recorder()
    with recorder.active():
        with span("phase"):
            for _ in range(3):
                with span("operation"):
                    sum(range(1000))
    totals = recorder.totals()
    assert list(totals) == [("phase", "operation"), ("phase",)]
    count, total = totals[("phase", "operation")]
    assert count == 3
    assert 0 < total <= totals[("phase",)][1]


def test_nothing_is_recorded_without_an_active_recorder() -> None:
    recorder = Recorder()
    with span("outside"):
        pass
    assert recorder.totals() == {}


def test_a_failing_block_is_still_timed_and_the_stack_unwinds() -> None:
    recorder = Recorder()
    with recorder.active():
        try:
            with span("fails"):
                raise ValueError("boom")
        except ValueError:
            pass
        with span("after"):
            pass
    assert set(recorder.totals()) == {("fails",), ("after",)}


def test_tree_lists_children_under_parents_with_shares() -> None:
    totals = {("a", "b"): (2, 250_000), ("a",): (1, 1_000_000), ("c",): (1, 1_000_000)}
    lines = timing_tree(totals)
    assert [line.split()[0] for line in lines[1:]] == ["a", "b", "c", "total"]
    assert lines[2].rstrip().endswith("25.0%")
    assert lines[-1].split()[-1] == "2.000"
