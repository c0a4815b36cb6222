"""What ``m2mrsp bench`` shows and writes: the table, the text report, JSON, CSV and plots.

The JSON document follows ``docs/bench-schema.json`` (format ``m2mrsp-bench``, version
:data:`FORMAT_VERSION`): every raw sample in nanoseconds, its statistics (:mod:`m2mrsp.stats`)
and the environment. The CSV holds the same raw samples, one per line. The native/python ratio
is the native median divided by the python median of the same run: below 1 native is faster.
With a bearer, each series also carries the modelled network time per phase and the sum of
measured and modelled time (``network`` in the JSON, ``network`` and ``end-to-end`` CSV rows).
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import os
import platform
import re
import ssl
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from m2mrsp import __version__
from m2mrsp import backend as backends
from m2mrsp.bench import (
    FLOOR_OPERATIONS,
    PROTOCOL_PHASES,
    SET_UP_PHASE,
    BenchConfig,
    Case,
    Series,
    Throughput,
)
from m2mrsp.stats import Summary, ratio, summarize

FORMAT = "m2mrsp-bench"
FORMAT_VERSION = 1
REPORT_FILE = "report.txt"
JSON_FILE = "bench.json"
CSV_FILE = "samples.csv"
CSV_COLUMNS = ("profile", "curve", "backend", "iteration", "kind", "name", "ns")
TERMINAL_OPERATIONS = 12
NS_PER_MS = 1e6
GIT_TIMEOUT_S = 5
PLOT_HINT = "--plot needs matplotlib: pip install 'm2mrsp[plot]' (or .[plot] in a checkout)"
TOTAL_LABEL = "complete provisioning"
WALL_LABEL = "provision() call, set-up included"
NETWORK_LABEL = "modelled network time"
END_TO_END_LABEL = "measured + modelled network"
RATIO_HEADER = "native/python"


@dataclass
class BenchRun:
    """Everything one ``m2mrsp bench`` measured, with the environment it ran in."""

    config: BenchConfig
    cases: list[Case]
    throughput: list[Throughput]
    environment: dict[str, Any]
    created: str = field(
        default_factory=lambda: datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        )
    )


# -- environment ----------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _git() -> dict[str, Any] | None:
    """The checkout's commit and whether it has local changes; ``None`` outside a checkout."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=GIT_TIMEOUT_S, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                cwd=root, capture_output=True, text=True,
                                timeout=GIT_TIMEOUT_S, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip())}


def _build_info() -> dict[str, str]:
    """``backend.build_info()`` as strings (a commit without it gives what backend.py says)."""
    build_info = getattr(backends, "build_info", None)
    if callable(build_info):
        return {str(key): str(value) for key, value in build_info().items()}
    return {"active": backends.BACKEND, "native": str(backends.HAS_NATIVE),
            "native_error": str(backends.NATIVE_ERROR)}


def environment() -> dict[str, Any]:
    """CPU, Python, OpenSSL and package versions, git commit and back-end build details."""
    import cryptography
    import numpy
    from cryptography.hazmat.backends.openssl import backend as openssl

    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count() or 0,
        "cpus_allowed": len(cpus) if cpus is not None else os.cpu_count() or 0,
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "openssl": {
            "cryptography": openssl.openssl_version_text(),
            "python_ssl": ssl.OPENSSL_VERSION,
        },
        "packages": {"m2mrsp": __version__, "cryptography": cryptography.__version__,
                     "numpy": numpy.__version__},
        "git": _git(),
        "backends_available": backends.available(),
        "build_info": _build_info(),
    }


# -- the JSON document ----------------------------------------------------------------------------


def _metric(samples: Sequence[int], **extra: Any) -> dict[str, Any]:
    return {**extra, "samples": list(samples), "stats": summarize(samples).as_dict()}


def _has_network(series: Series) -> bool:
    return any(series.network)


def _sums(a: Sequence[int], b: Sequence[int]) -> list[int]:
    return [x + y for x, y in zip(a, b, strict=True)]


def _phase_sum(series: Series, phase: str) -> list[int]:
    return _sums(series.path_samples((phase,)), series.network_samples(phase))


def _network_document(series: Series) -> dict[str, Any]:
    return {
        "phases": [_metric(series.network_samples(phase), name=phase)
                   for phase in PROTOCOL_PHASES],
        "total": _metric(series.network_samples()),
        "end_to_end_phases": [_metric(_phase_sum(series, phase), name=phase)
                              for phase in PROTOCOL_PHASES],
        "end_to_end": _metric(_sums(series.total(), series.network_samples())),
    }


def _series_document(series: Series, floor_median: float) -> dict[str, Any]:
    total = series.total()
    network = {"network": _network_document(series)} if _has_network(series) else {}
    return {
        "backend": series.backend,
        **series.facts,
        "total": _metric(total),
        "wall": _metric(series.wall),
        "floor_ratio": ratio(summarize(total).median, floor_median),
        "phases": [
            _metric(series.path_samples((phase,)), name=phase)
            for phase in (SET_UP_PHASE, *PROTOCOL_PHASES) if (phase,) in series.calls
        ],
        "operations": [_metric(series.name_samples(name), name=name) for name in series.names()],
        "paths": [
            _metric(series.path_samples(path), path=list(path), calls=series.calls[path])
            for path in series.paths()
        ],
        **network,
    }


def _native_ratios(case: Case) -> dict[str, Any] | None:
    if not {"python", "native"} <= case.series.keys():
        return None
    py, nat = case.series["python"], case.series["native"]

    def medians(a: Sequence[int], b: Sequence[int]) -> float | None:
        return ratio(summarize(b).median, summarize(a).median)

    return {
        "total": medians(py.total(), nat.total()),
        "wall": medians(py.wall, nat.wall),
        "phases": {phase: medians(py.path_samples((phase,)), nat.path_samples((phase,)))
                   for phase in (SET_UP_PHASE, *PROTOCOL_PHASES)},
        "operations": {name: medians(py.name_samples(name), nat.name_samples(name))
                       for name in py.names() if name in nat.names()},
    }


def _case_document(case: Case) -> dict[str, Any]:
    floor_total = case.floor_total()
    floor_median = summarize(floor_total).median
    counts = dict(FLOOR_OPERATIONS)
    profile = case.profile
    return {
        "profile": {"name": profile.name, "source": profile.source,
                    "bytes": len(profile.package),
                    "sha256": hashlib.sha256(profile.package).hexdigest()},
        "curve": case.curve,
        "floor": {
            **_metric(floor_total),
            "operations": [_metric(samples, name=name, count=counts[name])
                           for name, samples in case.floor.items()],
        },
        "backends": [_series_document(s, floor_median) for s in case.series.values()],
        "native_over_python": _native_ratios(case),
    }


def to_document(run: BenchRun) -> dict[str, Any]:
    """The JSON document (``docs/bench-schema.json``)."""
    config = run.config
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": run.created,
        "unit": "ns",
        "environment": run.environment,
        "config": {
            "backends": list(config.backends),
            "profiles": [p.name for p in config.profiles],
            "curves": list(config.curves),
            "iterations": config.iterations,
            "warmup": config.warmup,
            "segment_size": config.segment_size,
            "segments_per_call": config.segments_per_call,
            "seed": config.seed,
            "throughput_seconds": config.throughput_seconds,
            "bearer": config.bearer,
            "floor_operations": [{"name": n, "count": c} for n, c in FLOOR_OPERATIONS],
        },
        "cases": [_case_document(case) for case in run.cases],
        "throughput": [
            {"profile": t.profile, "curve": t.curve, "backend": t.backend,
             "seconds": t.seconds, "provisionings": t.provisionings,
             "per_second": t.per_second, "cpu": t.cpu}
            for t in run.throughput
        ],
    }


# -- tables ---------------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value / NS_PER_MS:.3f}"


Row = tuple[str, list[Sequence[int]]]


def _rows(case: Case, operations: int | None) -> tuple[list[Row], list[Row]]:
    """``(label, samples per back-end)``: total, phases and wall; then the operations."""
    series = list(case.series.values())
    rows: list[Row] = [(TOTAL_LABEL, [s.total() for s in series])]
    rows += [(f"  {phase}", [s.path_samples((phase,)) for s in series])
             for phase in PROTOCOL_PHASES]
    if all(_has_network(s) for s in series):
        rows.append((NETWORK_LABEL, [s.network_samples() for s in series]))
        rows += [(f"  {phase}", [s.network_samples(phase) for s in series])
                 for phase in PROTOCOL_PHASES]
        rows.append((END_TO_END_LABEL, [_sums(s.total(), s.network_samples()) for s in series]))
        rows += [(f"  {phase}", [_phase_sum(s, phase) for s in series])
                 for phase in PROTOCOL_PHASES]
    rows.append((WALL_LABEL, [s.wall for s in series]))
    rows.append((f"  {SET_UP_PHASE}", [s.path_samples((SET_UP_PHASE,)) for s in series]))
    names = [n for n in series[0].names() if all(n in s.names() for s in series)]
    by_cost = sorted(names, key=lambda n: -summarize(series[0].name_samples(n)).median)
    ops: list[Row] = [(f"  {name}", [s.name_samples(name) for s in series])
                      for name in by_cost[:operations]]
    return rows, ops


def case_table(case: Case, operations: int | None = TERMINAL_OPERATIONS) -> list[str]:
    """The table of one case: median, p95 and IQR in ms per back-end, and the ratio.

    Args:
        case: the samples.
        operations: how many operations to list (the costliest first); ``None``: all.
    """
    names = list(case.series)
    with_ratio = {"python", "native"} <= set(names)
    width = 36
    # A space before every cell keeps columns apart even when a value outgrows its width.
    head = f"{'ms':<{width}}" + "".join(
        f" {n + ' median':>14} {'p95':>8} {'IQR':>7}" for n in names
    )

    def line(label: str, per_backend: list[Sequence[int]]) -> str:
        stats = [summarize(samples) for samples in per_backend]
        cells = "".join(f" {_ms(s.median):>14} {_ms(s.p95):>8} {_ms(s.iqr):>7}" for s in stats)
        text = f"{label[: width - 1]:<{width}}{cells}"
        if with_ratio:
            value = ratio(stats[names.index("native")].median, stats[names.index("python")].median)
            text += f"{value:>14.2f}x" if value is not None else f"{'-':>15}"
        return text

    rows, ops = _rows(case, operations)
    which = f"top {operations}" if operations is not None else "all"
    return [
        head + (f"{RATIO_HEADER:>15}" if with_ratio else ""),
        *(line(label, samples) for label, samples in rows),
        f"operations (every span of that name summed per provisioning; {which}, costliest first):",
        *(line(label, samples) for label, samples in ops),
    ]


def floor_lines(case: Case) -> list[str]:
    """The cost floor and the ratio of each back-end's complete provisioning to it."""
    floor = summarize(case.floor_total())
    parts = ", ".join(
        f"{count} {name} {_ms(summarize(case.floor[name]).median)}"
        for name, count in FLOOR_OPERATIONS
    )
    ratios = ", ".join(
        f"{name} {summarize(s.total()).median / floor.median:.2f}x"
        for name, s in case.series.items()
    )
    return [
        f"cost floor (public-key work, timed on the primitives): {_ms(floor.median)} ms median",
        f"  = {parts} ms",
        f"complete provisioning / floor (medians): {ratios}",
    ]


def _case_title(case: Case, config: BenchConfig) -> list[str]:
    facts = next(iter(case.series.values())).facts
    return [
        f"profile {case.profile.name}, curve {case.curve}",
        (
            f"  {len(case.profile.package)} bytes in {facts.get('segments', '?')} segments of <= "
            f"{config.segment_size} bytes; {config.iterations} runs per back-end after "
            f"{config.warmup} warm-up runs, back-ends interleaved"
        ),
    ]


def throughput_lines(rates: Sequence[Throughput]) -> list[str]:
    """Provisionings per second per (profile, curve, back-end)."""
    if not rates:
        return []
    cpu = rates[0].cpu
    lines = [(f"throughput on one core{f' (CPU {cpu})' if cpu is not None else ''}: "
             "provision() calls per second, set-up included")]
    width = max(len(rate.profile) for rate in rates)
    for rate in rates:
        lines.append(f"  {rate.profile:<{width}} {rate.curve:<16} {rate.backend:<8} "
                     f"{rate.per_second:>9.1f}/s  ({rate.provisionings} in {rate.seconds:.2f} s)")
    return lines


def _native_note() -> list[str]:
    if backends.HAS_NATIVE:
        return []
    return [f"native rows appear once the native back-end is available ({backends.NATIVE_ERROR})"]


def terminal_lines(run: BenchRun) -> list[str]:
    """What ``m2mrsp bench`` prints."""
    env = run.environment
    lines = [(f"m2mrsp {__version__} bench on {env['cpu_model']}, {env['python']}, "
             f"{env['openssl']['cryptography']} (cryptography), seed {run.config.seed}")]
    lines += _native_note()
    for case in run.cases:
        lines += ["", *_case_title(case, run.config), *case_table(case), *floor_lines(case)]
    if run.throughput:
        lines += ["", *throughput_lines(run.throughput)]
    return lines


def report_text(run: BenchRun) -> str:
    """The human-readable report: environment, every table in full, every span path."""
    env = run.environment
    lines = [f"m2mrsp bench report, {run.created}", ""]
    for key in ("cpu_model", "cpu_count", "cpus_allowed", "platform", "python"):
        lines.append(f"{key}: {env[key]}")
    lines += [f"openssl ({k}): {v}" for k, v in env["openssl"].items()]
    lines += [f"package {k}: {v}" for k, v in env["packages"].items()]
    git = env["git"]
    lines.append(f"git: {git['commit']}{' (local changes)' if git['dirty'] else ''}"
                 if git else "git: not a checkout")
    lines += [f"build {k}: {v}" for k, v in env["build_info"].items()]
    lines += _native_note()
    for case in run.cases:
        lines += ["", *_case_title(case, run.config), *case_table(case, None),
                  *floor_lines(case)]
        for series in case.series.values():
            lines += ["", f"every span, {series.backend} (ms per provisioning):",
                      *_path_lines(series)]
    if run.throughput:
        lines += ["", *throughput_lines(run.throughput)]
    return "\n".join(lines) + "\n"


def _path_lines(series: Series) -> list[str]:
    lines = [(f"{'span':<56}{'calls':>6}{'min':>9}{'median':>9}{'mean':>9}{'p95':>9}"
             f"{'p99':>9}{'stdev':>9}{'IQR':>9}")]
    for path in series.paths():
        s: Summary = summarize(series.path_samples(path))
        label = ("  " * (len(path) - 1) + path[-1])[:55]
        values = "".join(f"{_ms(v):>9}" for v in (s.min, s.median, s.mean, s.p95, s.p99,
                                                    s.stdev, s.iqr))
        lines.append(f"{label:<56}{series.calls[path]:>6}{values}")
    return lines


# -- files ----------------------------------------------------------------------------------------


def prepare_folder(output: Path | None) -> Path:
    """Create the results folder (default ``results/bench-<UTC time>``).

    Raises:
        ValueError: it cannot be created.
    """
    if output is None:
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
        output = Path("results") / f"bench-{stamp}"
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"cannot create {output}: {err.strerror or err}") from None
    return output


def write_csv(run: BenchRun, path: Path) -> None:
    """Every raw sample, one per line (:data:`CSV_COLUMNS`); floor rows have no back-end."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for case in run.cases:
            key = (case.profile.name, case.curve)
            for series in case.series.values():
                for i, ns in enumerate(series.total()):
                    writer.writerow((*key, series.backend, i, "total", TOTAL_LABEL, ns))
                for i, ns in enumerate(series.wall):
                    writer.writerow((*key, series.backend, i, "wall", WALL_LABEL, ns))
                if _has_network(series):
                    _write_network(writer, key, series)
                for span_path in series.paths():
                    kind = "phase" if len(span_path) == 1 else "span"
                    name = " / ".join(span_path)
                    for i, ns in enumerate(series.path_samples(span_path)):
                        writer.writerow((*key, series.backend, i, kind, name, ns))
            for name, samples in case.floor.items():
                for i, ns in enumerate(samples):
                    writer.writerow((*key, "", i, "floor", name, ns))


def _write_network(writer: Any, key: tuple[str, str], series: Series) -> None:
    """``network`` rows per phase and in total, then ``end-to-end`` (measured + network)."""
    for phase in (*PROTOCOL_PHASES, None):
        name = phase or NETWORK_LABEL
        for i, ns in enumerate(series.network_samples(phase)):
            writer.writerow((*key, series.backend, i, "network", name, ns))
    for i, ns in enumerate(_sums(series.total(), series.network_samples())):
        writer.writerow((*key, series.backend, i, "end-to-end", END_TO_END_LABEL, ns))


def require_matplotlib() -> None:
    """Raise ``ValueError`` with the install hint when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ValueError(PLOT_HINT) from None


def _file_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def write_plot(case: Case, path: Path) -> None:
    """One PNG: per-phase (and total) distributions per back-end, as box plots in ms."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(TOTAL_LABEL, [s.total() for s in case.series.values()])]
    panels += [(phase, [s.path_samples((phase,)) for s in case.series.values()])
               for phase in (SET_UP_PHASE, *PROTOCOL_PHASES)]
    figure, axes = plt.subplots(1, len(panels), figsize=(3 * len(panels), 4))
    for axis, (title, per_backend) in zip(axes, panels, strict=True):
        axis.boxplot([[ns / NS_PER_MS for ns in samples] for samples in per_backend],
                     tick_labels=list(case.series), showfliers=True)
        axis.set_title(title, fontsize=9)
        axis.set_ylabel("ms")
    floor = summarize(case.floor_total()).median / NS_PER_MS
    axes[0].axhline(floor, linestyle="--", linewidth=1, color="grey")
    axes[0].text(0.02, floor, f"cost floor {floor:.3f} ms", transform=axes[0].get_yaxis_transform(),
                 fontsize=7, color="grey", va="bottom")
    figure.suptitle(f"{case.profile.name}, {case.curve}")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write_all(run: BenchRun, folder: Path, plot: bool = False) -> list[Path]:
    """Write the report, JSON and CSV (and the plots) into ``folder``; return their paths."""
    import json

    written = [folder / REPORT_FILE, folder / JSON_FILE, folder / CSV_FILE]
    written[0].write_text(report_text(run), encoding="utf-8")
    written[1].write_text(json.dumps(to_document(run), indent=1) + "\n", encoding="utf-8")
    write_csv(run, written[2])
    if plot:
        for case in run.cases:
            path = folder / f"plot-{_file_part(case.profile.name)}-{_file_part(case.curve)}.png"
            write_plot(case, path)
            written.append(path)
    return written
