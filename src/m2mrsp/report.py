"""Turn a provisioning's result and timings into the CLI's timing tree and its JSON document."""

from __future__ import annotations

import platform
from typing import Any

from m2mrsp import __version__
from m2mrsp.provisioning import PHASES, Result
from m2mrsp.timing import Path

Totals = dict[Path, tuple[int, int]]


def _children(totals: Totals) -> dict[Path, list[Path]]:
    tree: dict[Path, list[Path]] = {(): []}
    for path in totals:
        tree.setdefault(path, [])
        tree.setdefault(path[:-1], []).append(path)
    return tree


def timing_tree(totals: Totals) -> list[str]:
    """Indented lines: each span with its count, total time and share of its parent."""
    tree = _children(totals)
    lines = [f"{'phase / operation':<52} {'calls':>6} {'total ms':>10} {'share':>6}"]

    def walk(path: Path, parent_ns: int) -> None:
        count, total = totals[path]
        share = f"{100 * total / parent_ns:5.1f}%" if parent_ns else ""
        label = "  " * (len(path) - 1) + path[-1]
        lines.append(f"{label:<52} {count:>6} {total / 1e6:>10.3f} {share:>6}")
        for child in tree[path]:
            walk(child, total)

    grand = sum(totals[p][1] for p in tree[()])
    for top in tree[()]:
        walk(top, grand)
    lines.append(f"{'total':<52} {'':>6} {grand / 1e6:>10.3f}")
    return lines


def summary_lines(result: Result, segment_size: int) -> list[str]:
    """The outcome in a few lines."""
    report = result.download
    es8 = result.wire.byte_counts.get("ES8", 0)
    return [
        f"EID {result.eid}  ICCID {result.iccid}  ISD-P {result.isdp_aid.hex().upper()}",
        f"profile package {result.package_bytes} bytes, {result.input_pes} PEs in, "
        f"{result.installed_pes} installed",
        f"{report.segments} SCP03t segments of <= {segment_size} bytes in {report.es8_calls} "
        f"ES3 SendData calls; {es8} bytes on ES8",
        f"final state: ISD-P {result.isdp_state}, SM-SR EIS {result.eis_state}",
    ]


def to_document(result: Result, totals: Totals, segment_size: int) -> dict[str, Any]:
    """The ``--json`` document (its schema is described in README.md)."""
    return {
        "m2mrsp": __version__,
        "python": platform.python_version(),
        "backend": result.backend,
        "curve": result.curve,
        "eid": result.eid,
        "iccid": result.iccid,
        "isdp_aid": result.isdp_aid.hex().upper(),
        "package_bytes": result.package_bytes,
        "input_pes": result.input_pes,
        "installed_pes": result.installed_pes,
        "segment_size": segment_size,
        "segments": result.download.segments,
        "es8_calls": result.download.es8_calls,
        "bytes": dict(result.wire.byte_counts),
        "es8_bytes": result.wire.byte_counts.get("ES8", 0),
        "states": {"isdp": result.isdp_state, "eis": result.eis_state},
        "phases": [
            {"name": name, "ns": totals[(name,)][1]} for name in PHASES if (name,) in totals
        ],
        "operations": [
            {"path": list(path), "count": count, "ns": total}
            for path, (count, total) in totals.items()
        ],
    }
