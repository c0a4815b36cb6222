"""The campaign figures of the README: scaling over workers and executors, and flat memory.

Each campaign runs as its own ``m2mrsp campaign`` process (peak RSS is per process), and the
figures are read from its ``campaign.json``::

    .venv/bin/python benchmarks/campaign_figures.py scaling --devices 3000 --repeats 3
    .venv/bin/python benchmarks/campaign_figures.py memory --devices 10000 100000

``scaling`` alternates 1 local worker, 2 local workers and a 2-worker Dask LocalCluster, so a
change in the machine's state hits all three alike, and prints provisionings per second, the
2-worker / 1-worker ratio and Dask / pool ratio per round and their medians, and how many
cores the workers got (their CPU seconds over the run's seconds: on a shared machine, fewer
than the workers). ``memory`` runs
one campaign per size on the local pool and prints the peak RSS of the client and of the
largest worker, and each size's ratio to the first.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

MIB = 1024 * 1024
EXECUTORS = {
    "pool, 1 worker": ["--workers", "1"],
    "pool, 2 workers": ["--workers", "2"],
    "dask LocalCluster, 2 workers": ["--dask", "local"],
}


def campaign(devices: int, extra: list[str], seed: int) -> dict[str, Any]:
    """Run one campaign in its own process; return its ``campaign.json``."""
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "m2mrsp", "campaign", "--devices", str(devices),
                   "--seed", str(seed), "--output", folder, *extra]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        document: dict[str, Any] = json.loads((Path(folder) / "campaign.json").read_text())
        return document


def scaling(devices: int, repeats: int) -> None:
    rates: dict[str, list[float]] = {name: [] for name in EXECUTORS}
    for round_ in range(repeats):
        for name, extra in EXECUTORS.items():
            document = campaign(devices, extra, seed=round_)
            executor = document["executor"]
            rates[name].append(document["throughput"]["per_second"])
            cores = executor["worker_cpu_s"] / executor["elapsed_s"]
            print(f"round {round_ + 1} {name}: {rates[name][-1]:.1f}/s, workers busy "
                  f"{100 * executor['busy_share']:.1f}%, cores used {cores:.2f}", flush=True)
    one, two, dask = (rates[name] for name in EXECUTORS)
    print("\n| | " + " | ".join(f"round {i + 1}" for i in range(repeats)) + " | median |")
    print("|---" * (repeats + 2) + "|")
    rows = {name: values for name, values in rates.items()}
    rows["2 workers / 1 worker"] = [b / a for a, b in zip(one, two, strict=True)]
    rows["Dask / pool (2 workers)"] = [d / b for b, d in zip(two, dask, strict=True)]
    for name, values in rows.items():
        cells = " | ".join(f"{v:.2f}" for v in values)
        print(f"| {name} | {cells} | {statistics.median(values):.2f} |")


def memory(sizes: list[int]) -> None:
    print("| devices | client peak RSS MiB | largest worker MiB | client vs first | "
          "worker vs first | provisionings/s |")
    print("|---|---|---|---|---|---|")
    first: tuple[float, float] | None = None
    for devices in sizes:
        document = campaign(devices, ["--workers", "2"], seed=1)
        rss = document["memory"]
        client = rss["client_peak_rss_bytes"] / MIB
        worker = rss["worker_peak_rss_bytes"] / MIB
        first = first or (client, worker)
        print(f"| {devices} | {client:.1f} | {worker:.1f} | {client / first[0]:.2f}x | "
              f"{worker / first[1]:.2f}x | {document['throughput']['per_second']:.1f} |",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    scale = commands.add_parser("scaling")
    scale.add_argument("--devices", type=int, default=3000)
    scale.add_argument("--repeats", type=int, default=3)
    mem = commands.add_parser("memory")
    mem.add_argument("--devices", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    if args.command == "scaling":
        scaling(args.devices, args.repeats)
    else:
        memory(args.devices)


if __name__ == "__main__":
    main()
