"""Turn a provisioning's result and timings into the CLI's timing tree and its JSON document.

Per phase, both show the measured time (the phase's span), the modelled network time of its
ES3/ES5 exchanges (:mod:`m2mrsp.transport`, 0 without a bearer) and their sum.
"""

from __future__ import annotations

import platform
from typing import Any

from m2mrsp import __version__
from m2mrsp.provisioning import PHASES, Result
from m2mrsp.timing import Path

Totals = dict[Path, tuple[int, int]]
NS_PER_S = 1e9
NS_PER_MS = 1e6


def phase_times(result: Result, totals: Totals) -> list[tuple[str, int, int]]:
    """``(phase, measured ns, modelled network ns)`` for each phase that ran."""
    return [
        (name, totals[(name,)][1], round(NS_PER_S * result.network_s.get(name, 0.0)))
        for name in PHASES if (name,) in totals
    ]


def network_lines(result: Result, totals: Totals, bearer: str) -> list[str]:
    """Per phase: measured ms, modelled network ms over ``bearer`` and their sum."""
    lines = [f"{'phase':<30} {'measured ms':>12} {'network ms (' + bearer + ')':>20} "
             f"{'sum ms':>12}"]
    rows = phase_times(result, totals)
    for name, measured, network in [*rows, ("total", sum(r[1] for r in rows),
                                            sum(r[2] for r in rows))]:
        lines.append(f"{name:<30} {measured / NS_PER_MS:>12.3f} {network / NS_PER_MS:>20.3f} "
                     f"{(measured + network) / NS_PER_MS:>12.3f}")
    return lines


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


def to_document(
    result: Result, totals: Totals, segment_size: int, bearer: str = "none"
) -> dict[str, Any]:
    """The ``--json`` document (its schema is described in README.md)."""
    phases = phase_times(result, totals)
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
        "bearer": bearer,
        "network_ns": sum(network for _, _, network in phases),
        "phases": [
            {"name": name, "ns": measured, "network_ns": network, "sum_ns": measured + network}
            for name, measured, network in phases
        ],
        "operations": [
            {"path": list(path), "count": count, "ns": total}
            for path, (count, total) in totals.items()
        ],
    }
