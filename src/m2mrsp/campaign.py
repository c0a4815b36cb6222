"""``m2mrsp campaign``: provision a fleet of distinct eUICCs on a process pool or a Dask cluster.

Device ``i`` of a campaign with seed ``s`` has its own EID and ECASD key (drawn from ``s`` and
``i``, the EUM issuing the certificate), its own ICCID (:func:`device_iccid`) and IMSI, and its
own ES5 fault draws; with the default profile, its package is built for that ICCID and IMSI.
A given profile file is installed as it is on every card: its ICCID is not patched, since
doing so cleanly means rewriting EF.ICCID inside the MF PE too (a known shortcoming).

Work goes out in batches (:class:`BatchSpec`). A batch runs in one worker process with one
:class:`~m2mrsp.provisioning.Fleet`, i.e. one SM-DP/SM-SR pair that serves every device of the
batch one after the other; each device is checked against its EIS
(:func:`~m2mrsp.consistency.check_consistency`) and then forgotten, so a worker's memory does
not grow with the batch. A batch returns numpy arrays of per-device figures
(:class:`BatchResult`); the client keeps a bounded window of batches in flight, adds each
result to the totals as it completes and streams its rows to the CSV file, so the client's
memory grows only by the few bytes per device that the percentiles need.

Executors: a local :class:`~concurrent.futures.ProcessPoolExecutor` of ``workers`` processes by
default; with ``dask`` an address, the Dask cluster there (its workers need m2mrsp installed);
with ``dask="local"``, a :class:`distributed.LocalCluster` of ``workers`` (default 2)
single-threaded worker processes. Workers are warmed up (imports, one profile build) before
the clock starts.

Timings: measured CPU time comes from the timing spans of each phase and from the process CPU
clock of the whole device (profile preparation and card set-up included); network time is
modelled (:mod:`m2mrsp.transport`) and never waited for, so the throughput is what the CPU
sustains, and a device's latency is its four protocol phases plus its modelled network time.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import resource
import secrets
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from m2mrsp.consistency import (
    INCONSISTENT,
    OUTCOMES,
    PROVISIONED,
    check_consistency,
    outcome,
)
from m2mrsp.entities.smdp import DEFAULT_SEGMENTS_PER_CALL
from m2mrsp.entities.smsr import DEFAULT_MAX_RETRIES
from m2mrsp.errors import M2mRspError
from m2mrsp.provisioning import PHASES, Fleet, Options, device_rng, profile_iccid
from m2mrsp.saip.builder import build_default_profile
from m2mrsp.timing import Recorder, span
from m2mrsp.transport import FaultRates, default_segment_size, default_segments_per_call

PREPARATION: Final = "profile preparation"
# What a device's measured time is split into, in order (entity set-up: the card and its ES1
# registration; the fleet's PKI and entities are made once per batch).
STAGES: Final = (PREPARATION, *PHASES)
PROTOCOL_PHASES: Final = PHASES[1:]
DEFAULT_BATCH: Final = 200
BATCHES_PER_WORKER: Final = 4
IN_FLIGHT_PER_WORKER: Final = 2
LOCAL: Final = "local"
DASK_CONNECT_TIMEOUT_S: Final = 10
PROFILER_SETTING: Final = "distributed.worker.profile.enabled"
DEFAULT_DASK_WORKERS: Final = 2
ICCID_PREFIX: Final = "89"
ICCID_SEED_DIGITS: Final = 5
ICCID_INDEX_DIGITS: Final = 12
IMSI_PLMN: Final = "00101"  # test network 001-01
IMSI_MSIN_DIGITS: Final = 10
MAX_EXAMPLES: Final = 5
KIB: Final = 1024


def luhn_digit(digits: str) -> str:
    """The Luhn check digit completing ``digits`` (ITU-T E.118 ICCID)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str(-total % 10)


def device_iccid(seed: int, index: int) -> str:
    """The 20-digit ICCID of device ``index``: ``89``, 5 seed digits, 12 index digits, Luhn."""
    body = (f"{ICCID_PREFIX}{seed % 10**ICCID_SEED_DIGITS:0{ICCID_SEED_DIGITS}d}"
            f"{index % 10**ICCID_INDEX_DIGITS:0{ICCID_INDEX_DIGITS}d}")
    return body + luhn_digit(body)


def device_imsi(index: int) -> str:
    """The IMSI of device ``index`` on the test network 001-01."""
    return f"{IMSI_PLMN}{index % 10**IMSI_MSIN_DIGITS:0{IMSI_MSIN_DIGITS}d}"


@dataclass(frozen=True)
class ProfileChoice:
    """``default`` (built per device, ``size`` bytes or the default size) or a file's bytes."""

    name: str
    package: bytes | None = None
    size: int | None = None


@dataclass(frozen=True)
class CampaignConfig:
    """What ``m2mrsp campaign`` was asked to do."""

    devices: int
    profile: ProfileChoice = ProfileChoice("default")
    workers: int = 1
    dask: str | None = None
    batch_size: int | None = None
    bearer: str = "none"
    curve: str = "p256"
    seed: int = 0
    loss_rate: float = 0.0
    corruption_rate: float = 0.0
    max_retries: int = DEFAULT_MAX_RETRIES
    segment_size: int | None = None
    segments_per_call: int | None = None
    backend: str | None = None

    def options(self) -> Options:
        """The provisioning options every device runs with (messages not kept)."""
        return Options(
            curve=self.curve,
            segment_size=self.segment_size or default_segment_size(self.bearer),
            segments_per_call=self.segments_per_call or default_segments_per_call(
                self.bearer, DEFAULT_SEGMENTS_PER_CALL),
            seed=self.seed, backend=self.backend, keep_messages=False, bearer=self.bearer,
            faults=FaultRates(self.loss_rate, self.corruption_rate),
            max_retries=self.max_retries,
        )

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first value out of range."""
        if self.devices < 1:
            raise ValueError(f"devices must be at least 1, not {self.devices}")
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, not {self.workers}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch size must be at least 1, not {self.batch_size}")
        self.options().validate()

    def batch(self, workers: int) -> int:
        """Devices per batch: as asked, else about four batches per worker, at most 200."""
        if self.batch_size is not None:
            return self.batch_size
        return max(1, min(DEFAULT_BATCH, -(-self.devices // (BATCHES_PER_WORKER * workers))))


def device_profile(config: CampaignConfig, index: int) -> tuple[bytes, str]:
    """``(package, ICCID)`` of device ``index``.

    Raises:
        M2mRspError: a given package without a readable header.
    """
    choice = config.profile
    if choice.package is not None:
        return choice.package, profile_iccid(choice.package)
    iccid = device_iccid(config.seed, index)
    rng = device_rng(config.seed, index).fork("profile")
    package = build_default_profile(iccid=iccid, imsi=device_imsi(index), target_size=choice.size,
                                    rng=rng)
    return package, iccid


# -- one batch, in a worker ------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchSpec:
    """Devices ``start`` .. ``start + count - 1`` of a campaign."""

    config: CampaignConfig
    start: int
    count: int


@dataclass
class DeviceFigures:
    """What one device's provisioning measured and how it ended."""

    eid: str
    iccid: str
    outcome: str
    failure: str
    cpu_ns: int
    stage_ns: list[int]
    network_ns: list[int]
    retransmissions: int
    lost: int
    corrupted: int
    problems: list[str]


@dataclass
class BatchResult:
    """Per-device figures of one batch as numpy arrays, and what the worker spent on it.

    Attributes:
        stage_ns: ``(count, len(STAGES))`` measured ns per stage.
        network_ns: ``(count, len(PROTOCOL_PHASES))`` modelled network ns per phase.
        outcome: index in :data:`~m2mrsp.consistency.OUTCOMES` per device.
        failures: failure kind per failed device (``""`` for the others).
    """

    start: int
    eids: list[str]
    iccids: list[str]
    outcome: np.ndarray
    failures: list[str]
    cpu_ns: np.ndarray
    stage_ns: np.ndarray
    network_ns: np.ndarray
    retransmissions: np.ndarray
    lost: np.ndarray
    corrupted: np.ndarray
    problems: list[str]
    wall_s: float
    cpu_s: float
    peak_rss_bytes: int
    worker: str

    @property
    def count(self) -> int:
        return len(self.eids)


def failure_kind(phase: str, err: M2mRspError, unreachable: bool) -> str:
    """``"<phase>: <cause>"``: ES5 unreachable, or the class of the first error in the chain."""
    if unreachable:
        return f"{phase}: ES5 unreachable"
    cause: BaseException = err
    while cause.__cause__ is not None:
        cause = cause.__cause__
    return f"{phase}: {type(cause).__name__}"


def provision_device(fleet: Fleet, config: CampaignConfig, index: int) -> DeviceFigures:
    """Prepare, register, provision and check device ``index`` on ``fleet``, then forget it."""
    smsr = fleet.smsr
    resent, unreachable = smsr.retransmissions, smsr.unreachable
    recorder = Recorder()
    start = time.process_time_ns()
    with recorder.active():
        with span(PREPARATION):
            package, iccid = device_profile(config, index)
        with span(PHASES[0]):
            device = fleet.add_device(index)
        failure = ""
        try:
            fleet.provision(device, package, iccid)
        except M2mRspError as err:
            failure = failure_kind(fleet.wire.phase, err, smsr.unreachable > unreachable)
    cpu_ns = time.process_time_ns() - start
    eis = smsr.eis(device.eid)
    problems = check_consistency(device.euicc, eis)
    ending = outcome(device.euicc, eis, iccid, not failure, enabled=fleet.options.enable)
    totals = recorder.totals()
    network = fleet.wire.network_seconds()
    faults = device.faults
    fleet.remove(device)
    return DeviceFigures(
        eid=device.pki.eid, iccid=iccid, outcome=ending, failure=failure, cpu_ns=cpu_ns,
        stage_ns=[totals.get((stage,), (0, 0))[1] for stage in STAGES],
        network_ns=[round(1e9 * network.get(phase, 0.0)) for phase in PROTOCOL_PHASES],
        retransmissions=smsr.retransmissions - resent,
        lost=faults.lost if faults is not None else 0,
        corrupted=faults.corrupted if faults is not None else 0,
        problems=problems,
    )


def peak_rss_bytes() -> int:
    """This process's peak resident set size (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * KIB


def run_batch(spec: BatchSpec) -> BatchResult:
    """Provision the devices of ``spec`` with one fleet (one SM-DP/SM-SR pair)."""
    wall, cpu = time.perf_counter(), time.process_time()
    fleet = Fleet(spec.config.options())
    figures = [provision_device(fleet, spec.config, spec.start + offset)
               for offset in range(spec.count)]
    problems = [f"device {spec.start + i}: {p}" for i, f in enumerate(figures) for p in f.problems]
    return BatchResult(
        start=spec.start,
        eids=[f.eid for f in figures],
        iccids=[f.iccid for f in figures],
        outcome=np.array([OUTCOMES.index(f.outcome) for f in figures], dtype=np.int8),
        failures=[f.failure for f in figures],
        cpu_ns=np.array([f.cpu_ns for f in figures], dtype=np.int64),
        stage_ns=np.array([f.stage_ns for f in figures], dtype=np.int64).reshape(-1, len(STAGES)),
        network_ns=np.array([f.network_ns for f in figures], dtype=np.int64).reshape(
            -1, len(PROTOCOL_PHASES)),
        retransmissions=np.array([f.retransmissions for f in figures], dtype=np.int32),
        lost=np.array([f.lost for f in figures], dtype=np.int32),
        corrupted=np.array([f.corrupted for f in figures], dtype=np.int32),
        problems=problems[:MAX_EXAMPLES],
        wall_s=time.perf_counter() - wall,
        cpu_s=time.process_time() - cpu,
        peak_rss_bytes=peak_rss_bytes(),
        worker=f"{socket.gethostname()}:{os.getpid()}",
    )


def warm_up(*_: object) -> int:
    """Import and exercise what a batch needs once, so the first batch is not timed cold."""
    build_default_profile()
    return os.getpid()


# -- the totals, on the client -----------------------------------------------------------------


@dataclass
class Totals:
    """Everything a campaign aggregates, batch by batch, in memory that grows ~24 B/device."""

    outcomes: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    stage_ns: np.ndarray = field(default_factory=lambda: np.zeros(len(STAGES), np.int64))
    network_ns: np.ndarray = field(
        default_factory=lambda: np.zeros(len(PROTOCOL_PHASES), np.int64))
    retransmissions: int = 0
    lost: int = 0
    corrupted: int = 0
    problems: list[str] = field(default_factory=list)
    batches: int = 0
    worker_wall_s: float = 0.0
    worker_cpu_s: float = 0.0
    worker_peak_rss_bytes: int = 0
    workers_seen: set[str] = field(default_factory=set)
    _cpu: list[np.ndarray] = field(default_factory=list)
    _latency: list[np.ndarray] = field(default_factory=list)
    _network: list[np.ndarray] = field(default_factory=list)
    _provisioned: list[np.ndarray] = field(default_factory=list)

    def add(self, batch: BatchResult) -> None:
        self.outcomes.update(OUTCOMES[code] for code in batch.outcome.tolist())
        self.failures.update(kind for kind in batch.failures if kind)
        self.stage_ns += batch.stage_ns.sum(axis=0)
        self.network_ns += batch.network_ns.sum(axis=0)
        self.retransmissions += int(batch.retransmissions.sum())
        self.lost += int(batch.lost.sum())
        self.corrupted += int(batch.corrupted.sum())
        self.problems += batch.problems[: MAX_EXAMPLES - len(self.problems)]
        self.batches += 1
        self.worker_wall_s += batch.wall_s
        self.worker_cpu_s += batch.cpu_s
        self.worker_peak_rss_bytes = max(self.worker_peak_rss_bytes, batch.peak_rss_bytes)
        self.workers_seen.add(batch.worker)
        network = batch.network_ns.sum(axis=1)
        protocol = batch.stage_ns[:, STAGES.index(PHASES[1]):].sum(axis=1)
        self._cpu.append(batch.cpu_ns)
        self._network.append(network)
        self._latency.append(protocol + network)
        self._provisioned.append(batch.outcome == OUTCOMES.index(PROVISIONED))

    @property
    def devices(self) -> int:
        return sum(self.outcomes.values())

    @property
    def inconsistent(self) -> int:
        return self.outcomes[INCONSISTENT]

    def cpu_ns(self) -> np.ndarray:
        """Process CPU ns per device, every device."""
        return _joined(self._cpu)

    def latency_ns(self, provisioned_only: bool = True) -> np.ndarray:
        """Protocol phases + modelled network ns per (provisioned) device."""
        latency = _joined(self._latency)
        return latency[_joined(self._provisioned, bool)] if provisioned_only else latency

    def network_ns_per_device(self) -> np.ndarray:
        return _joined(self._network)


def _joined(parts: Sequence[np.ndarray], dtype: Any = np.int64) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype)


# -- executors ---------------------------------------------------------------------------------


@dataclass
class Run:
    """A finished campaign: its configuration, totals and the executor's figures."""

    config: CampaignConfig
    totals: Totals
    executor: str
    workers: int
    batch_size: int
    elapsed_s: float
    startup_s: float
    client_peak_rss_bytes: int

    @property
    def per_second(self) -> float:
        return self.totals.devices / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def busy_share(self) -> float:
        """Share of the workers' time spent inside batches (1 - scheduling and idle time)."""
        capacity = self.elapsed_s * self.workers
        return self.totals.worker_wall_s / capacity if capacity > 0 else 0.0


def batches(config: CampaignConfig, size: int) -> Iterator[BatchSpec]:
    """The batches of a campaign, in device order."""
    for start in range(0, config.devices, size):
        yield BatchSpec(config, start, min(size, config.devices - start))


Sink = Callable[[BatchResult], None]


def _run_pool(config: CampaignConfig, size: int, sink: Sink) -> tuple[float, float]:
    """Run every batch on a local process pool; returns (start-up s, elapsed s)."""
    begin = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(config.workers, mp_context=context) as pool:
        list(pool.map(warm_up, range(config.workers)))
        started = time.perf_counter()
        pending: set[concurrent.futures.Future[BatchResult]] = set()
        window = IN_FLIGHT_PER_WORKER * config.workers
        for spec in batches(config, size):
            if len(pending) >= window:
                done, pending = concurrent.futures.wait(
                    pending, return_when=concurrent.futures.FIRST_COMPLETED)
                for future in done:
                    sink(future.result())
            pending.add(pool.submit(run_batch, spec))
        for future in concurrent.futures.as_completed(pending):
            sink(future.result())
        return started - begin, time.perf_counter() - started


def _distributed() -> Any:
    """The ``distributed`` module (untyped, hence ``Any``)."""
    import distributed

    return distributed


def _dask_config() -> Any:
    """``dask.config`` (untyped, hence ``Any``)."""
    import dask

    return dask.config


def _dask_client(config: CampaignConfig) -> tuple[Any, Any, int]:
    """``(client, local cluster or None, workers)`` for ``config.dask``."""
    import logging

    dask = _distributed()
    if config.dask == LOCAL:
        # The workers' statistical profiler samples every thread each 10 ms, which costs
        # CPU and GIL time the batches need; a remote cluster keeps its own configuration.
        _dask_config().set({PROFILER_SETTING: False})
        cluster = dask.LocalCluster(n_workers=config.workers, threads_per_worker=1,
                                    processes=True, dashboard_address=None,
                                    silence_logs=logging.ERROR)
        return dask.Client(cluster), cluster, config.workers
    try:
        client = dask.Client(config.dask, timeout=DASK_CONNECT_TIMEOUT_S)
    except OSError as err:
        raise ValueError(f"cannot reach the Dask scheduler at {config.dask}: {err}") from None
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    return client, None, workers


def _run_dask(config: CampaignConfig, sink: Sink) -> tuple[float, float, int, int]:
    """Run every batch on Dask; returns (start-up s, elapsed s, workers, batch size)."""
    begin = time.perf_counter()
    client, cluster, workers = _dask_client(config)
    size = config.batch(workers)
    try:
        client.run(warm_up)
        started = time.perf_counter()
        specs = batches(config, size)
        window = IN_FLIGHT_PER_WORKER * workers
        first = [client.submit(run_batch, spec, pure=False)
                 for _, spec in zip(range(window), specs, strict=False)]
        stream = _distributed().as_completed(first)
        del first
        for future in stream:
            result = future.result()
            future.release()
            spec = next(specs, None)
            if spec is not None:
                stream.add(client.submit(run_batch, spec, pure=False))
            sink(result)
        return started - begin, time.perf_counter() - started, workers, size
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_campaign(config: CampaignConfig, sink: Sink | None = None) -> Run:
    """Provision every device of ``config``; ``sink`` sees each batch result as it arrives.

    Raises:
        ValueError: a bad configuration, or a Dask scheduler that cannot be reached.
        ImportError: ``dask`` asked for but ``distributed`` is not installed.
    """
    config.validate()
    totals = Totals()

    def collect(result: BatchResult) -> None:
        totals.add(result)
        if sink is not None:
            sink(result)

    if config.dask is None:
        size = config.batch(config.workers)
        startup, elapsed = _run_pool(config, size, collect)
        executor, workers = f"process pool ({_workers(config.workers)})", config.workers
    else:
        startup, elapsed, workers, size = _run_dask(config, collect)
        where = "LocalCluster" if config.dask == LOCAL else config.dask
        executor = f"dask {where} ({_workers(workers)})"
    return Run(config, totals, executor, workers, size, elapsed, startup, peak_rss_bytes())


def _workers(count: int) -> str:
    return f"{count} worker" + ("" if count == 1 else "s")


def random_seed() -> int:
    """A seed for a campaign run without one (written to its results)."""
    return secrets.randbelow(2**31)
