"""``m2mrsp campaign`` on the command line, and what it prints and writes.

The results folder gets the same three kinds of file as ``m2mrsp bench``: ``report.txt``,
``campaign.json`` (format ``m2mrsp-campaign``, version :data:`FORMAT_VERSION`: the
configuration, the environment, throughput, statistics of CPU per provisioning, latency and
network time, per-phase means, outcomes, failures by kind, fault counts, inconsistencies and
peak RSS) and ``devices.csv``, one line per device (:data:`CSV_COLUMNS`), written batch by
batch as results arrive. Unlike ``bench.json``, the JSON holds no raw per-device samples: at
fleet scale they live in the CSV only.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import sys
from pathlib import Path
from typing import Any, Final, TextIO

from m2mrsp import __version__, argtypes
from m2mrsp import backend as backends
from m2mrsp.bench import read_profile
from m2mrsp.bench_report import environment, prepare_folder
from m2mrsp.campaign import (
    DEFAULT_DASK_WORKERS,
    LOCAL,
    PROTOCOL_PHASES,
    STAGES,
    BatchResult,
    CampaignConfig,
    ProfileChoice,
    Run,
    random_seed,
    run_campaign,
)
from m2mrsp.consistency import OUTCOMES
from m2mrsp.crypto.ecc import CURVES
from m2mrsp.entities.smsr import DEFAULT_MAX_RETRIES
from m2mrsp.stats import summarize
from m2mrsp.transport import BEARERS

FORMAT: Final = "m2mrsp-campaign"
FORMAT_VERSION: Final = 1
REPORT_FILE: Final = "report.txt"
JSON_FILE: Final = "campaign.json"
CSV_FILE: Final = "devices.csv"
CSV_COLUMNS: Final = (
    "device", "eid", "iccid", "outcome", "failure", "cpu_ns",
    *(f"measured_ns:{stage}" for stage in STAGES),
    *(f"network_ns:{phase}" for phase in PROTOCOL_PHASES),
    "latency_ns", "retransmissions", "lost", "corrupted",
)
NS_PER_MS: Final = 1e6
NS_PER_S: Final = 1e9
MIB: Final = 1024 * 1024


class DeviceCsv:
    """``devices.csv``, written one batch at a time (batches arrive in any order)."""

    def __init__(self, path: Path) -> None:
        """Open the file and write the header.

        Raises:
            ValueError: it cannot be written.
        """
        try:
            self._handle: TextIO = path.open("w", encoding="utf-8", newline="")
        except OSError as err:
            raise ValueError(f"cannot write {path}: {err.strerror or err}") from None
        self._writer = csv.writer(self._handle)
        self._writer.writerow(CSV_COLUMNS)

    def write(self, batch: BatchResult) -> None:
        protocol = STAGES.index(PROTOCOL_PHASES[0])
        for i in range(batch.count):
            stages = batch.stage_ns[i].tolist()
            network = batch.network_ns[i].tolist()
            self._writer.writerow((
                batch.start + i, batch.eids[i], batch.iccids[i], OUTCOMES[batch.outcome[i]],
                batch.failures[i], int(batch.cpu_ns[i]), *stages, *network,
                sum(stages[protocol:]) + sum(network), int(batch.retransmissions[i]),
                int(batch.lost[i]), int(batch.corrupted[i]),
            ))

    def close(self) -> None:
        self._handle.close()


# -- the document ----------------------------------------------------------------------------------


def _stats(samples: Any) -> dict[str, Any] | None:
    return summarize(samples).as_dict() if len(samples) else None


def to_document(run: Run, env: dict[str, Any], created: str) -> dict[str, Any]:
    """The ``campaign.json`` document."""
    config, totals = run.config, run.totals
    devices = max(1, totals.devices)
    options = config.options()
    phases = []
    for index, stage in enumerate(STAGES):
        measured = int(totals.stage_ns[index]) / devices
        network = (int(totals.network_ns[PROTOCOL_PHASES.index(stage)]) / devices
                   if stage in PROTOCOL_PHASES else 0.0)
        phases.append({"name": stage, "measured_ns_mean": measured,
                       "network_ns_mean": network, "sum_ns_mean": measured + network})
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": created,
        "unit": "ns",
        "environment": env,
        "config": {
            "devices": config.devices, "profile": config.profile.name,
            "workers": run.workers, "dask": config.dask, "batch_size": run.batch_size,
            "bearer": config.bearer, "curve": config.curve, "seed": config.seed,
            "loss_rate": config.loss_rate, "corruption_rate": config.corruption_rate,
            "max_retries": config.max_retries, "segment_size": options.segment_size,
            "segments_per_call": options.segments_per_call,
            "backend": config.backend or backends.BACKEND,
        },
        "executor": {
            "name": run.executor, "workers": run.workers, "batch_size": run.batch_size,
            "batches": totals.batches, "startup_s": run.startup_s, "elapsed_s": run.elapsed_s,
            "busy_share": run.busy_share, "worker_processes": len(totals.workers_seen),
            "worker_cpu_s": totals.worker_cpu_s,
        },
        "throughput": {"provisionings": totals.devices, "seconds": run.elapsed_s,
                       "per_second": run.per_second},
        "cpu_per_provisioning": _stats(totals.cpu_ns()),
        "latency": _stats(totals.latency_ns()),
        "network": _stats(totals.network_ns_per_device()),
        "phases": phases,
        "outcomes": {name: totals.outcomes[name] for name in OUTCOMES},
        "failures": dict(totals.failures.most_common()),
        "faults": {"lost": totals.lost, "corrupted": totals.corrupted,
                   "retransmissions": totals.retransmissions},
        "inconsistencies": {"count": totals.inconsistent, "examples": totals.problems},
        "memory": {"client_peak_rss_bytes": run.client_peak_rss_bytes,
                   "worker_peak_rss_bytes": totals.worker_peak_rss_bytes},
    }


# -- text ------------------------------------------------------------------------------------------


def _ms(ns: float) -> str:
    return f"{ns / NS_PER_MS:.3f}"


def _seconds(ns: float) -> str:
    return f"{ns / NS_PER_S:.3f}"


def summary_lines(document: dict[str, Any]) -> list[str]:
    """What the terminal shows (and the head of ``report.txt``)."""
    config, executor, rate = document["config"], document["executor"], document["throughput"]
    lines = [
        f"m2mrsp {__version__} campaign: {config['devices']} devices, profile "
        f"{config['profile']}, curve {config['curve']}, bearer {config['bearer']}, seed "
        f"{config['seed']}",
        f"{executor['name']}, {executor['batches']} batches of <= {executor['batch_size']}; "
        f"start-up {executor['startup_s']:.2f} s, workers busy {100 * executor['busy_share']:.1f}%"
        " of the run",
        f"throughput: {rate['per_second']:.1f} provisionings/s ({rate['provisionings']} in "
        f"{rate['seconds']:.2f} s)",
    ]
    cpu = document["cpu_per_provisioning"]
    if cpu is not None:
        lines.append(f"CPU per provisioning (process time, preparation and set-up included): "
                     f"median {_ms(cpu['median'])} ms, mean {_ms(cpu['mean'])} ms")
    latency = document["latency"]
    if latency is not None:
        lines.append(
            f"latency of a provisioning (protocol phases + modelled network): median "
            f"{_seconds(latency['median'])} s, p95 {_seconds(latency['p95'])} s, p99 "
            f"{_seconds(latency['p99'])} s"
        )
    lines += ["", f"{'per device, mean':<24}{'measured ms':>14}{'network s':>12}{'sum s':>12}"]
    for phase in document["phases"]:
        lines.append(f"{phase['name']:<24}{_ms(phase['measured_ns_mean']):>14}"
                     f"{_seconds(phase['network_ns_mean']):>12}"
                     f"{_seconds(phase['sum_ns_mean']):>12}")
    outcomes = ", ".join(f"{n} {name}" for name, n in document["outcomes"].items())
    faults = document["faults"]
    lines += ["", f"outcomes: {outcomes}",
              f"faults: {faults['lost']} packets lost, {faults['corrupted']} corrupted, "
              f"{faults['retransmissions']} ES5 retransmissions"]
    lines += [f"  failed: {count} {kind}" for kind, count in document["failures"].items()]
    examples = document["inconsistencies"]["examples"]
    lines += [f"  inconsistent: {problem}" for problem in examples]
    memory = document["memory"]
    lines.append(f"peak RSS: client {memory['client_peak_rss_bytes'] / MIB:.1f} MiB, largest "
                 f"worker {memory['worker_peak_rss_bytes'] / MIB:.1f} MiB")
    return lines


def report_text(document: dict[str, Any]) -> str:
    """``report.txt``: the summary, every statistic and the environment."""
    lines = [f"m2mrsp campaign report, {document['created']}", "", *summary_lines(document), ""]
    for key in ("cpu_per_provisioning", "latency", "network"):
        stats = document[key]
        if stats is not None:
            values = ", ".join(f"{name} {_ms(value)}" for name, value in stats.items()
                               if name != "count")
            lines.append(f"{key} (ms, {stats['count']} devices): {values}")
    lines += ["", "configuration:"]
    lines += [f"  {key}: {value}" for key, value in document["config"].items()]
    lines += ["", "environment:"]
    lines += [f"  {key}: {value}" for key, value in document["environment"].items()]
    return "\n".join(lines) + "\n"


# -- command line ----------------------------------------------------------------------------------










def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Register ``campaign`` on the CLI's sub-command action; return its parser."""
    parser = commands.add_parser(
        "campaign", help="provision N distinct eUICCs on a process pool or a Dask cluster")
    parser.add_argument("--devices", type=argtypes.positive, required=True, help="how many eUICCs")
    parser.add_argument("--workers", type=argtypes.positive, default=None,
                        help="worker processes (default: the CPUs here; 2 with --dask local)")
    parser.add_argument("--dask", default=None, metavar="ADDRESS|local",
                        help="run on the Dask scheduler at ADDRESS, or on a LocalCluster")
    parser.add_argument("--batch-size", type=argtypes.positive, default=None,
                        help="devices per task (default: about 4 tasks per worker, <= 200)")
    parser.add_argument("--profile", default="default",
                        help="'default', 'default:BYTES' (built per device with its own ICCID) "
                             "or a SAIP file (installed as it is on every card)")
    parser.add_argument("--bearer", choices=BEARERS, default="none",
                        help="model the network time of ES3/ES5 over this bearer")
    parser.add_argument("--curve", choices=sorted(CURVES), default="p256")
    parser.add_argument("--seed", type=int, default=None,
                        help="derives every device's EID, keys, ICCID and faults "
                             "(default: a random one, written to the results)")
    parser.add_argument("--loss-rate", type=argtypes.probability, default=0.0,
                        help="probability that an ES5 packet is lost (either direction)")
    parser.add_argument("--corruption-rate", type=argtypes.probability, default=0.0,
                        help="probability that an ES5 packet arrives corrupted")
    parser.add_argument("--max-retries", type=argtypes.count, default=DEFAULT_MAX_RETRIES,
                        help=f"how often the SM-SR resends a lost ES5 exchange "
                             f"(default {DEFAULT_MAX_RETRIES})")
    parser.add_argument("--segment-size", type=argtypes.segment_size, default=None,
                        help="plaintext bytes per SCP03t segment (default: 79 for sms, "
                             "else 1007)")
    parser.add_argument("--backend", choices=list(backends.NAMES), default=None,
                        help="hot-path back-end (default: as M2MRSP_NATIVE selects)")
    parser.add_argument("--output", type=Path, default=None,
                        help="results folder (default results/campaign-<UTC time>)")
    return parser  # type: ignore[no-any-return]


def config_from_args(args: argparse.Namespace) -> CampaignConfig:
    """The :class:`CampaignConfig` the parsed arguments ask for.

    Raises:
        ValueError: an unreadable profile or a bad combination of values.
    """
    spec = read_profile(args.profile)
    if spec.source == "default":
        size_text = args.profile.partition(":")[2]
        profile = ProfileChoice(spec.name, None, int(size_text) if size_text else None)
    else:
        profile = ProfileChoice(spec.name, spec.package)
    dask = args.dask
    default_workers = DEFAULT_DASK_WORKERS if dask == LOCAL else _cpus()
    config = CampaignConfig(
        devices=args.devices, profile=profile, workers=args.workers or default_workers,
        dask=dask, batch_size=args.batch_size, bearer=args.bearer, curve=args.curve,
        seed=args.seed if args.seed is not None else random_seed(),
        loss_rate=args.loss_rate, corruption_rate=args.corruption_rate,
        max_retries=args.max_retries, segment_size=args.segment_size, backend=args.backend,
    )
    config.validate()
    return config


def _cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def write_results(document: dict[str, Any], folder: Path) -> list[Path]:
    """``report.txt`` and ``campaign.json`` (the CSV is already written)."""
    written = [folder / REPORT_FILE, folder / JSON_FILE]
    written[0].write_text(report_text(document), encoding="utf-8")
    written[1].write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    return written


def run_command(args: argparse.Namespace, out: TextIO) -> None:
    """``m2mrsp campaign``: run it with a progress bar, print the summary, write the folder.

    Raises:
        ValueError: bad arguments or an unwritable folder.
    """
    from tqdm import tqdm  # type: ignore[import-untyped]

    config = config_from_args(args)
    if config.dask is not None:
        _require_distributed()
    folder = prepare_folder(args.output or _default_folder())
    created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    rows = DeviceCsv(folder / CSV_FILE)
    try:
        with tqdm(total=config.devices, unit="prov", desc="campaign", file=sys.stderr,
                  delay=1.0, leave=False, disable=None) as bar:

            def sink(batch: BatchResult) -> None:
                rows.write(batch)
                bar.update(batch.count)

            run = run_campaign(config, sink)
    finally:
        rows.close()
    document = to_document(run, environment(), created)
    for line in summary_lines(document):
        out.write(line + "\n")
    written = [*write_results(document, folder), folder / CSV_FILE]
    out.write(f"\nresults in {folder}: {', '.join(path.name for path in written)}\n")


def _default_folder() -> Path:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return Path("results") / f"campaign-{stamp}"


def _require_distributed() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ValueError("--dask needs dask.distributed: pip install 'dask[distributed]'") from None

