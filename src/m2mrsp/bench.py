"""``m2mrsp bench``: what a complete provisioning costs, per back-end, profile and curve.

For every (profile, curve) asked for, the complete provisioning runs ``warmup + iterations``
times per back-end. The back-ends are interleaved: iteration ``i`` runs each back-end once, in
an order that flips every iteration, with the same seed ``seed + i`` for all of them, so both
see the same bytes and any drift of the machine hits both. Each run is timed by a
:class:`~m2mrsp.timing.Recorder` (every phase and named operation) and by the wall clock of
the ``provision()`` call. After the back-ends, the same iteration times the cost floor.

The cost floor (:class:`CostFloor`) is the public-key work a conforming provisioning cannot
avoid, timed on the crypto primitives directly (PERF_ANCHORS.md §6.1 counts: four signature
verifications, one key generation, one signature, two ECDH, two X9.63 KDFs), as the
provisioning performs them. Known shortcoming: loading public keys from points is left out.

``--throughput S`` adds provisionings per second: each back-end runs back to back for ``S``
seconds of wall time, in slices that alternate between back-ends, pinned to one core.

``--bearer sms|https`` adds the modelled network time of every ES3/ES5 exchange
(:mod:`m2mrsp.transport`) per phase, next to the measured time; nothing waits for it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from m2mrsp import argtypes
from m2mrsp import backend as backends
from m2mrsp.crypto import ecc
from m2mrsp.crypto.kdf import x963_kdf
from m2mrsp.entities.smdp import DEFAULT_SEGMENTS_PER_CALL
from m2mrsp.hotpath.types import MAX_SEGMENT_PLAINTEXT
from m2mrsp.provisioning import (
    PHASES,
    Options,
    Result,
    _download,
    _set_up,
    _World,
    count_elements,
    profile_iccid,
    provision,
)
from m2mrsp.rng import RandomSource
from m2mrsp.timing import Path as SpanPath
from m2mrsp.timing import Recorder, span
from m2mrsp.transport import BEARERS, default_segment_size, default_segments_per_call

DEFAULT_ITERATIONS = 100
DEFAULT_WARMUP = 10
DEFAULT_PROFILE = "default"
SET_UP_PHASE = PHASES[0]
PROTOCOL_PHASES = PHASES[1:]
# PERF_ANCHORS.md §6.1: SM-DP 2 verify, 1 keygen, 1 sign, 1 ECDH, 1 KDF; eUICC 2 verify,
# 1 ECDH, 1 KDF.
FLOOR_OPERATIONS: tuple[tuple[str, int], ...] = (
    ("verify", 4),
    ("generate key", 1),
    ("sign", 1),
    ("ecdh", 2),
    ("kdf", 2),
)
FLOOR_MESSAGE_BYTES = 200  # about the size of a certificate body or of 3A02 ‖ 7F49 ‖ 0085
FLOOR_SHARED_INFO_BYTES = 19  # usage ‖ type ‖ length ‖ 16-byte DR (PROTOCOL.md §4.6)
FLOOR_KEY_DATA_BYTES = 64  # receipt key, ENC, MAC, DEK
THROUGHPUT_SLICE_S = 0.25


class _Progress(Protocol):
    def update(self, n: float = 1) -> object: ...


# -- one provisioning, phase by phase -------------------------------------------------------------


class Stages:
    """One provisioning cut at its phases, to time a phase alone (pytest-benchmark, asv).

    The steps and spans are those of :func:`m2mrsp.provisioning.provision`; a test checks that
    both send the same bytes. Call :meth:`run_until` with a phase name to run every phase
    before it, then :meth:`run` with that name.
    """

    def __init__(self, package: bytes, options: Options) -> None:
        """Check the options and read the ICCID; nothing runs yet.

        Raises:
            ValueError: bad options.
            M2mRspError: the package does not start with a profile header.
        """
        options.validate()
        self.package = package
        self.options = options
        self.iccid = profile_iccid(package)
        self.world: _World | None = None
        self._agreement: Any = None
        self._aid = b""
        self._keys: Any = None
        self._done = 0
        self._steps: dict[str, Callable[[], None]] = {
            PHASES[0]: self._set_up,
            PHASES[1]: self._create_isdp,
            PHASES[2]: self._establish_keys,
            PHASES[3]: self._download,
            PHASES[4]: self._enable,
        }

    def run(self, phase: str) -> None:
        """Run ``phase``, which must be the next one, under its span.

        Raises:
            ValueError: ``phase`` is unknown or not the next one.
        """
        if phase not in self._steps:
            raise ValueError(f"unknown phase {phase!r}; phases are {', '.join(PHASES)}")
        if PHASES.index(phase) != self._done:
            raise ValueError(f"{phase!r} is not the next phase")
        if self.world is not None:
            self.world.wire.phase = phase
        with span(phase):
            self._steps[phase]()
        self._done += 1

    def run_until(self, phase: str) -> None:
        """Run every phase before ``phase`` (none when it is the first)."""
        for earlier in PHASES[self._done : PHASES.index(phase)]:
            self.run(earlier)

    def run_all(self) -> _World:
        """Run every remaining phase; return the entities."""
        for phase in PHASES[self._done :]:
            self.run(phase)
        assert self.world is not None
        return self.world

    def _set_up(self) -> None:
        self.world = _set_up(self.options, None)

    def _create_isdp(self) -> None:
        assert self.world is not None
        eid, smdp = self.world.pki.eid_bytes, self.world.smdp
        eis = smdp.get_eis(eid)
        self._agreement = smdp.prepare_key_agreement(eid, eis)
        self._aid = smdp.create_isdp(eid, self.iccid, len(self.package))

    def _establish_keys(self) -> None:
        assert self.world is not None
        eid, smdp = self.world.pki.eid_bytes, self.world.smdp
        self._keys = smdp.establish_keys(eid, self._aid, self._agreement)

    def _download(self) -> None:
        assert self.world is not None
        eid, smdp = self.world.pki.eid_bytes, self.world.smdp
        _download(smdp, eid, self._aid, self._keys, self.package, self.iccid)

    def _enable(self) -> None:
        assert self.world is not None
        self.world.smdp.enable(self.world.pki.eid_bytes, self.iccid)


# -- the cost floor -------------------------------------------------------------------------------


class CostFloor:
    """The public-key operations of one provisioning, timed directly on the primitives."""

    def __init__(self, curve: str, seed: int) -> None:
        """Make the keys, message and signature the operations work on.

        Raises:
            ValueError: unknown curve.
        """
        self.curve = ecc.curve_by_name(curve)
        rng = RandomSource(seed, f"floor/{self.curve.name}")
        self._keygen_rng = rng.fork("keygen")
        self._signer = ecc.generate_private_key(self.curve, rng.fork("signer"))
        peer = ecc.generate_private_key(self.curve, rng.fork("peer"))
        self._peer_public = peer.public_key()
        self._public = self._signer.public_key()
        self._message = rng.bytes(FLOOR_MESSAGE_BYTES)
        self._signature = ecc.sign(self._signer, self._message)
        self._secret = ecc.ecdh(self._signer, self._peer_public)
        self._shared_info = rng.bytes(FLOOR_SHARED_INFO_BYTES)
        if not ecc.verify(self._public, self._signature, self._message):
            raise RuntimeError("the floor's own signature does not verify")
        self._operations: dict[str, Callable[[], object]] = {
            "verify": lambda: ecc.verify(self._public, self._signature, self._message),
            "generate key": lambda: ecc.generate_private_key(self.curve, self._keygen_rng),
            "sign": lambda: ecc.sign(self._signer, self._message),
            "ecdh": lambda: ecc.ecdh(self._signer, self._peer_public),
            "kdf": lambda: x963_kdf(self._secret, self._shared_info, FLOOR_KEY_DATA_BYTES),
        }

    def measure(self) -> dict[str, int]:
        """Nanoseconds per operation name, summed over its count in one provisioning."""
        clock = time.perf_counter_ns
        spent: dict[str, int] = {}
        for name, count in FLOOR_OPERATIONS:
            operation = self._operations[name]
            total = 0
            for _ in range(count):
                start = clock()
                operation()
                total += clock() - start
            spent[name] = total
        return spent


# -- samples --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileSpec:
    """A profile to benchmark: ``default``, ``default:N`` (grown to N bytes) or a file."""

    name: str
    source: str
    package: bytes


@dataclass
class Series:
    """The samples of one back-end in one case: one value per measured provisioning."""

    backend: str
    wall: list[int] = field(default_factory=list)
    runs: list[dict[SpanPath, int]] = field(default_factory=list)
    calls: dict[SpanPath, int] = field(default_factory=dict)
    facts: dict[str, int] = field(default_factory=dict)
    network: list[dict[str, float]] = field(default_factory=list)

    def add(self, wall_ns: int, totals: dict[SpanPath, tuple[int, int]], result: Result) -> None:
        self.wall.append(wall_ns)
        self.runs.append({path: ns for path, (_, ns) in totals.items()})
        self.network.append(dict(result.network_s))
        self.calls.update({path: count for path, (count, _) in totals.items()})
        self.facts = {
            "package_bytes": result.package_bytes,
            "segments": result.download.segments,
            "es8_calls": result.download.es8_calls,
            "es8_bytes": result.wire.byte_counts.get("ES8", 0),
            "installed_pes": result.installed_pes,
        }

    def paths(self) -> list[SpanPath]:
        """Every span path seen, in first-seen order."""
        seen: dict[SpanPath, None] = {}
        for run in self.runs:
            seen.update(dict.fromkeys(run))
        return list(seen)

    def path_samples(self, path: SpanPath) -> list[int]:
        """Total ns of ``path`` in each run (0 where a run did not enter it)."""
        return [run.get(path, 0) for run in self.runs]

    def total(self) -> list[int]:
        """The complete provisioning: the four protocol phases, entity set-up excluded."""
        return [sum(run.get((phase,), 0) for phase in PROTOCOL_PHASES) for run in self.runs]

    def network_samples(self, phase: str | None = None) -> list[int]:
        """Modelled network ns of ``phase`` (``None``: all phases) in each run."""
        return [round(1e9 * (sum(run.values()) if phase is None else run.get(phase, 0.0)))
                for run in self.network]

    def names(self) -> list[str]:
        """Operation names below the phases, in first-seen order."""
        return list(dict.fromkeys(path[-1] for path in self.paths() if len(path) > 1))

    def name_samples(self, name: str) -> list[int]:
        """Total ns of every span called ``name`` in each run (not counted twice if nested)."""
        paths = [p for p in self.paths() if len(p) > 1 and p[-1] == name and name not in p[:-1]]
        return [sum(run.get(p, 0) for p in paths) for run in self.runs]


@dataclass
class Case:
    """Every back-end's samples and the floor for one (profile, curve)."""

    profile: ProfileSpec
    curve: str
    series: dict[str, Series]
    floor: dict[str, list[int]]

    def floor_total(self) -> list[int]:
        return [sum(parts) for parts in zip(*self.floor.values(), strict=True)]


@dataclass(frozen=True)
class Throughput:
    """Provisionings per second of one back-end over a fixed wall time on one core."""

    profile: str
    curve: str
    backend: str
    seconds: float
    provisionings: int
    per_second: float
    cpu: int | None


@dataclass(frozen=True)
class BenchConfig:
    """What ``m2mrsp bench`` was asked to measure."""

    backends: tuple[str, ...]
    profiles: tuple[ProfileSpec, ...]
    curves: tuple[str, ...]
    iterations: int = DEFAULT_ITERATIONS
    warmup: int = DEFAULT_WARMUP
    segment_size: int = MAX_SEGMENT_PLAINTEXT
    segments_per_call: int = DEFAULT_SEGMENTS_PER_CALL
    seed: int = 0
    throughput_seconds: float | None = None
    bearer: str = "none"

    def options(self, backend: str, curve: str, seed: int) -> Options:
        return Options(
            curve=curve, segment_size=self.segment_size,
            segments_per_call=self.segments_per_call, seed=seed, backend=backend,
            keep_messages=False, bearer=self.bearer,
        )


# -- running --------------------------------------------------------------------------------------


def provision_once(package: bytes, options: Options) -> tuple[int, Recorder, Result]:
    """One timed provisioning: wall ns of the call, its recorder and its result."""
    recorder = Recorder()
    with recorder.active():
        start = time.perf_counter_ns()
        result = provision(package, options)
        wall = time.perf_counter_ns() - start
    return wall, recorder, result


def measure_case(
    config: BenchConfig, profile: ProfileSpec, curve: str, progress: _Progress | None = None
) -> Case:
    """Warm-ups then measured iterations, back-ends interleaved, floor after each iteration."""
    series = {name: Series(name) for name in config.backends}
    floor_samples: dict[str, list[int]] = {name: [] for name, _ in FLOOR_OPERATIONS}
    floor = CostFloor(curve, config.seed)
    for index in range(config.warmup + config.iterations):
        measured = index >= config.warmup
        order = config.backends if index % 2 == 0 else config.backends[::-1]
        for name in order:
            options = config.options(name, curve, config.seed + index)
            wall, recorder, result = provision_once(profile.package, options)
            if measured:
                series[name].add(wall, recorder.totals(), result)
            if progress is not None:
                progress.update(1)
        spent = floor.measure()
        if measured:
            for operation, ns in spent.items():
                floor_samples[operation].append(ns)
    return Case(profile, curve, series, floor_samples)


@contextlib.contextmanager
def one_core() -> Iterator[int | None]:
    """Pin this process to one CPU (the last allowed one) for the block; ``None`` if unable."""
    if not hasattr(os, "sched_setaffinity"):
        yield None
        return
    allowed = os.sched_getaffinity(0)
    cpu = max(allowed)
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError:  # a sandbox may refuse it: measure unpinned and say so
        yield None
        return
    try:
        yield cpu
    finally:
        os.sched_setaffinity(0, allowed)


def measure_throughput(
    config: BenchConfig, profile: ProfileSpec, curve: str, progress: _Progress | None = None
) -> list[Throughput]:
    """Provisionings per second per back-end, alternating slices of wall time on one core."""
    seconds = config.throughput_seconds or 0.0
    count = dict.fromkeys(config.backends, 0)
    spent = dict.fromkeys(config.backends, 0.0)
    seed = config.seed
    with one_core() as cpu:
        while min(spent.values()) < seconds:
            for name in config.backends:
                budget = min(THROUGHPUT_SLICE_S, seconds - spent[name])
                if budget <= 0:
                    continue
                start = now = time.perf_counter()
                while now - start < budget:
                    provision(profile.package, config.options(name, curve, seed))
                    seed += 1
                    count[name] += 1
                    now = time.perf_counter()
                spent[name] += now - start
                if progress is not None:
                    progress.update(now - start)
    return [
        Throughput(profile.name, curve, name, spent[name], count[name],
                   count[name] / spent[name], cpu)
        for name in config.backends
    ]


# -- command line ---------------------------------------------------------------------------------








def _names(choices: Sequence[str]) -> Callable[[str], tuple[str, ...]]:
    def parse(text: str) -> tuple[str, ...]:
        names = tuple(dict.fromkeys(part.strip().lower() for part in text.split(",")))
        unknown = [name for name in names if name not in choices]
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f"{','.join(unknown) or text!r} not among {', '.join(choices)}"
            )
        return names

    return parse


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Register ``bench`` on the CLI's sub-command action; return its parser."""
    bench = commands.add_parser(
        "bench", help="time complete provisionings per back-end, profile and curve"
    )
    bench.add_argument("--iterations", type=argtypes.count, default=DEFAULT_ITERATIONS,
                       help=f"measured provisionings per back-end and case "
                            f"(default {DEFAULT_ITERATIONS}; 0 only with --throughput)")
    bench.add_argument("--warmup", type=argtypes.count, default=DEFAULT_WARMUP,
                       help=f"unmeasured runs first (default {DEFAULT_WARMUP})")
    bench.add_argument("--backend", type=_names(backends.NAMES), default=None,
                       help="comma-separated back-ends (default: every one available)")
    bench.add_argument("--profile", action="append", default=None,
                       help="'default', 'default:BYTES' or a SAIP package file; repeatable")
    bench.add_argument("--curve", type=_names(sorted(ecc.CURVES)), default=("p256",),
                       help="comma-separated curves (default p256)")
    bench.add_argument("--segment-size", type=argtypes.segment_size, default=None,
                       help=f"plaintext bytes per SCP03t segment (1..{MAX_SEGMENT_PLAINTEXT}; "
                            "default: 79 for sms, else 1007)")
    bench.add_argument("--bearer", choices=BEARERS, default="none",
                       help="model the network time of ES3/ES5 over this bearer (default none)")
    bench.add_argument("--seed", type=int, default=None,
                       help="base seed; iteration i uses seed+i (default: a random one)")
    bench.add_argument("--throughput", type=argtypes.seconds, default=None, metavar="SECONDS",
                       help="also measure provisionings per second over this wall time, "
                            "per back-end and case, on one core")
    bench.add_argument("--output", type=Path, default=None,
                       help="results folder (default results/bench-<UTC time>)")
    bench.add_argument("--plot", action="store_true",
                       help="also write a PNG of the per-phase distributions per case")
    return bench  # type: ignore[no-any-return]


def read_profile(text: str) -> ProfileSpec:
    """``default``, ``default:N`` or a file path as a :class:`ProfileSpec`.

    Raises:
        ValueError: a bad size or an unreadable file.
    """
    if text == DEFAULT_PROFILE or text.startswith(DEFAULT_PROFILE + ":"):
        from m2mrsp.saip.builder import build_default_profile

        size_text = text.partition(":")[2]
        if size_text and not (size_text.isdigit() and int(size_text) > 0):
            raise ValueError(f"profile size must be a positive integer, not {size_text!r}")
        size = int(size_text) if size_text else None
        package = build_default_profile(target_size=size, rng=RandomSource(0, "bench profile"))
        return ProfileSpec(text, DEFAULT_PROFILE, package)
    path = Path(text)
    try:
        package = path.read_bytes()
    except OSError as err:
        raise ValueError(f"cannot read {path}: {err.strerror or err}") from None
    profile_iccid(package)
    count_elements(package)
    return ProfileSpec(path.stem, str(path), package)


def config_from_args(args: argparse.Namespace) -> BenchConfig:
    """The :class:`BenchConfig` the parsed arguments ask for.

    Raises:
        ValueError: an unusable combination (no iterations and no throughput, a back-end
            that is not built, a profile that cannot be read).
        NativeUnavailableError: ``native`` asked for but not available.
    """
    if args.iterations == 0 and args.throughput is None:
        raise ValueError("--iterations 0 needs --throughput")
    names = args.backend or tuple(backends.available())
    for name in names:
        backends.get(name)
    profiles = tuple(read_profile(text) for text in (args.profile or [DEFAULT_PROFILE]))
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    segment_size = args.segment_size or default_segment_size(args.bearer)
    return BenchConfig(
        backends=tuple(names), profiles=profiles, curves=tuple(args.curve),
        iterations=args.iterations, warmup=args.warmup, segment_size=segment_size,
        segments_per_call=default_segments_per_call(args.bearer, DEFAULT_SEGMENTS_PER_CALL),
        seed=seed, throughput_seconds=args.throughput, bearer=args.bearer,
    )


def run_command(args: argparse.Namespace, out: Any) -> None:
    """``m2mrsp bench``: measure, print the table, write the results folder.

    Raises:
        ValueError: bad arguments, matplotlib missing for ``--plot``, or an unwritable folder.
    """
    from m2mrsp import bench_report

    if args.plot:
        bench_report.require_matplotlib()
    config = config_from_args(args)
    folder = bench_report.prepare_folder(args.output)
    cases, rates = measure(config)
    run = bench_report.BenchRun(config, cases, rates, bench_report.environment())
    for line in bench_report.terminal_lines(run):
        out.write(line + "\n")
    written = bench_report.write_all(run, folder, plot=args.plot)
    out.write(f"\nresults in {folder}: {', '.join(path.name for path in written)}\n")


def measure(config: BenchConfig) -> tuple[list[Case], list[Throughput]]:
    """Every case, then (if asked) every throughput, with a progress bar on stderr."""
    from tqdm import tqdm  # type: ignore[import-untyped]

    cases_asked = [(p, c) for p in config.profiles for c in config.curves]
    runs = len(cases_asked) * len(config.backends) * (config.warmup + config.iterations)
    cases: list[Case] = []
    rates: list[Throughput] = []
    if config.iterations:
        with tqdm(total=runs, unit="prov", desc="bench", delay=1.0, leave=False,
                  disable=None) as bar:
            cases = [measure_case(config, p, c, bar) for p, c in cases_asked]
    if config.throughput_seconds:
        total = config.throughput_seconds * len(cases_asked) * len(config.backends)
        with tqdm(total=round(total, 1), unit="s", desc="throughput", delay=1.0, leave=False,
                  disable=None, bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} s") as bar:
            for profile, curve in cases_asked:
                rates += measure_throughput(config, profile, curve, bar)
    return cases, rates
