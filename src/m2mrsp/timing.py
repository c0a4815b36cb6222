"""Named timings of phases and operations, measured with ``time.perf_counter_ns``.

Code marks its work with ``with span("ecdh"):``. Spans nest: a span opened inside another is
recorded under its path (``("key establishment", "eUICC", "ecdh")``). Nothing is recorded, and
almost nothing is spent, unless a :class:`Recorder` is active in the current context::

    recorder = Recorder()
    with recorder.active():
        provision(...)
    recorder.totals()  # {path: (count, total_ns)}
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from types import TracebackType

Path = tuple[str, ...]

_current: ContextVar[Recorder | None] = ContextVar("m2mrsp_recorder", default=None)


class _NoSpan:
    """The span handed out when no recorder is active: enters and exits doing nothing."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NO_SPAN = _NoSpan()


class _Span:
    __slots__ = ("_recorder", "_name", "_start")

    def __init__(self, recorder: Recorder, name: str) -> None:
        self._recorder = recorder
        self._name = name
        self._start = 0

    def __enter__(self) -> None:
        self._recorder._stack.append(self._name)
        self._start = time.perf_counter_ns()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        elapsed = time.perf_counter_ns() - self._start
        path = tuple(self._recorder._stack)
        self._recorder._stack.pop()
        self._recorder._add(path, elapsed)


def span(name: str) -> _Span | _NoSpan:
    """A context manager timing ``name`` in the active recorder, if there is one."""
    recorder = _current.get()
    return _NO_SPAN if recorder is None else _Span(recorder, name)


class Recorder:
    """Collects span durations by path, in first-seen order."""

    def __init__(self) -> None:
        self._stack: list[str] = []
        self._samples: dict[Path, list[int]] = {}

    def _add(self, path: Path, elapsed_ns: int) -> None:
        self._samples.setdefault(path, []).append(elapsed_ns)

    @contextlib.contextmanager
    def active(self) -> Iterator[Recorder]:
        """Make this recorder the one ``span`` reports to, for the ``with`` block."""
        token = _current.set(self)
        try:
            yield self
        finally:
            _current.reset(token)

    def samples(self) -> dict[Path, list[int]]:
        """Every duration (ns) recorded, by path."""
        return {path: list(values) for path, values in self._samples.items()}

    def totals(self) -> dict[Path, tuple[int, int]]:
        """``(count, total ns)`` by path."""
        return {path: (len(values), sum(values)) for path, values in self._samples.items()}
