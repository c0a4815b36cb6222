"""``m2mrsp bench``: statistics, interleaving, phase stages, the cost floor and its output files.

No test here times anything: they check the statistics on synthetic samples with values worked
out by hand, the order and seeds of the runs, that the staged provisioning sends the same bytes
as ``provision()``, and that the files written match ``docs/bench-schema.json``.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from m2mrsp import backend as backends
from m2mrsp import bench, bench_report
from m2mrsp.cli import main
from m2mrsp.provisioning import PHASES, Options, provision
from m2mrsp.stats import FIELDS, ratio, summarize
from m2mrsp.timing import Recorder

SCHEMA = Path(__file__).resolve().parents[1] / "docs" / "bench-schema.json"


@pytest.fixture(scope="module")
def package() -> bytes:
    return bench.read_profile("default").package


# -- statistics ------------------------------------------------------------------------------------


def test_statistics_of_one_to_a_hundred() -> None:
    # Linear interpolation: the q-th percentile of 1..100 sits at rank 99q/100, i.e. 1 + 0.99q.
    summary = summarize(list(range(1, 101)))
    assert summary.count == 100
    assert summary.min == 1
    assert summary.median == 50.5
    assert summary.mean == 50.5
    assert summary.p95 == pytest.approx(95.05)
    assert summary.p99 == pytest.approx(99.01)
    assert summary.iqr == pytest.approx(75.25 - 25.75)
    # Sample variance of 1..n is n(n+1)/12: 841.666..., its root 29.0115.
    assert summary.stdev == pytest.approx(math.sqrt(100 * 101 / 12))


def test_statistics_of_an_unsorted_odd_series_with_an_outlier() -> None:
    summary = summarize([7, 1, 1000, 3, 5])
    # Sorted: 1 3 5 7 1000; p25 at rank 1 (3), p75 at rank 3 (7), p95 at rank 3.8.
    assert (summary.min, summary.median, summary.mean) == (1, 5, 203.2)
    assert summary.iqr == 4
    assert summary.p95 == pytest.approx(7 + 0.8 * 993)
    assert summary.p99 == pytest.approx(7 + 0.96 * 993)


def test_a_single_sample_has_no_spread() -> None:
    summary = summarize([42])
    assert summary.as_dict() == {"count": 1, "min": 42, "median": 42, "mean": 42, "p95": 42,
                                 "p99": 42, "stdev": 0.0, "iqr": 0}
    assert list(summary.as_dict()) == list(FIELDS)


def test_scaling_keeps_the_count() -> None:
    scaled = summarize([1_000_000, 3_000_000]).scaled(1e-6)
    assert (scaled.count, scaled.min, scaled.median) == (2, 1, 2)
    assert scaled.stdev == pytest.approx(math.sqrt(2))


@pytest.mark.parametrize("samples", [[], [1.0, math.nan], [[1, 2], [3, 4]]])
def test_statistics_refuse_empty_or_non_finite_series(samples: list[object]) -> None:
    with pytest.raises(ValueError):
        summarize(samples)  # type: ignore[arg-type]


def test_ratio_of_nothing_is_none() -> None:
    assert ratio(3, 2) == 1.5
    assert ratio(3, 0) is None


def test_operations_by_name_are_not_counted_twice_when_nested() -> None:
    series = bench.Series("python")
    series.runs = [
        {("p",): 100, ("p", "op"): 40, ("p", "op", "op"): 10, ("p", "x"): 6, ("p", "x", "op"): 5},
        {("p",): 90, ("p", "op"): 30},
    ]
    assert series.names() == ["op", "x"]
    assert series.name_samples("op") == [45, 30]
    assert series.path_samples(("p", "x", "op")) == [5, 0]


# -- staged provisioning, floor, interleaving ------------------------------------------------------


def test_stages_send_the_same_bytes_as_provision(package: bytes) -> None:
    options = Options(seed=11)
    whole = provision(package, options)
    recorder = Recorder()
    with recorder.active():
        world = bench.Stages(package, options).run_all()
    assert world.wire.messages == whole.wire.messages
    assert [path[0] for path in recorder.totals() if len(path) == 1] == list(PHASES)


def test_stages_run_in_order_only(package: bytes) -> None:
    stages = bench.Stages(package, Options(seed=3))
    with pytest.raises(ValueError, match="not the next phase"):
        stages.run("key establishment")
    stages.run_until("key establishment")
    stages.run("key establishment")
    with pytest.raises(ValueError, match="unknown phase"):
        stages.run("coffee")


@pytest.mark.parametrize("curve", ["p256", "brainpoolp256r1"])
def test_the_floor_times_every_public_key_operation(curve: str) -> None:
    spent = bench.CostFloor(curve, seed=1).measure()
    assert list(spent) == [name for name, _ in bench.FLOOR_OPERATIONS]
    assert all(isinstance(ns, int) and ns > 0 for ns in spent.values())


def test_backends_are_interleaved_with_shared_seeds(
    package: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str | None, int | None]] = []
    real = bench.provision_once

    def spy(pkg: bytes, options: Options) -> tuple[int, Recorder, object]:
        calls.append((options.backend, options.seed))
        return real(pkg, options)  # type: ignore[return-value]

    monkeypatch.setattr(bench, "provision_once", spy)
    if not backends.HAS_NATIVE:
        pytest.skip(str(backends.NATIVE_ERROR))
    config = bench.BenchConfig(backends=("python", "native"), profiles=(), curves=("p256",),
                               iterations=2, warmup=1, seed=100)
    spec = bench.ProfileSpec("default", "default", package)
    case = bench.measure_case(config, spec, "p256")

    first, second = config.backends
    assert calls == [(first, 100), (second, 100), (second, 101), (first, 101),
                     (first, 102), (second, 102)]
    assert all(len(s.total()) == 2 and len(s.wall) == 2 for s in case.series.values())
    assert all(len(samples) == 2 for samples in case.floor.values())


def test_default_profile_sizes_and_bad_profiles(tmp_path: Path) -> None:
    assert len(bench.read_profile("default:4096").package) == 4096
    with pytest.raises(ValueError, match="positive integer"):
        bench.read_profile("default:big")
    with pytest.raises(ValueError, match="cannot read"):
        bench.read_profile(str(tmp_path / "absent.der"))


# -- the command -----------------------------------------------------------------------------------


def _bench(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["bench", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _validate(document: dict[str, object]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)


def test_a_tiny_run_prints_the_table_and_writes_valid_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_dir = tmp_path / "out"
    code, out, err = _bench(capsys, "--iterations", "3", "--warmup", "1", "--seed", "5",
                            "--output", str(out_dir))
    assert (code, err) == (0, "")
    names = backends.available()
    assert "complete provisioning" in out and "cost floor" in out
    assert ("native/python" in out) == ("native" in names)
    assert {p.name for p in out_dir.iterdir()} == {"report.txt", "bench.json", "samples.csv"}

    document = json.loads((out_dir / "bench.json").read_text(encoding="utf-8"))
    _validate(document)
    (case,) = document["cases"]
    assert [s["backend"] for s in case["backends"]] == names
    for series in case["backends"]:
        assert series["total"]["stats"]["count"] == 3
        assert [p["name"] for p in series["phases"]] == list(PHASES)
        assert series["floor_ratio"] > 1
        assert series["segments"] == 13
    assert document["config"]["seed"] == 5

    with (out_dir / "samples.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == bench_report.CSV_COLUMNS
    totals = [r for r in rows if r["kind"] == "total"]
    assert len(totals) == 3 * len(names)
    assert {int(r["ns"]) for r in totals} == {
        ns for s in case["backends"] for ns in s["total"]["samples"]
    }
    assert len([r for r in rows if r["kind"] == "floor"]) == 3 * len(bench.FLOOR_OPERATIONS)
    assert "every span, python" in (out_dir / "report.txt").read_text(encoding="utf-8")


def test_throughput_only_and_two_curves(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = _bench(capsys, "--iterations", "0", "--throughput", "0.05", "--backend",
                            "python", "--curve", "p256,brainpoolp256r1", "--output",
                            str(tmp_path))
    assert (code, err) == (0, "")
    document = json.loads((tmp_path / "bench.json").read_text(encoding="utf-8"))
    _validate(document)
    assert document["cases"] == []
    rates = document["throughput"]
    assert [(r["curve"], r["backend"]) for r in rates] == [("p256", "python"),
                                                          ("brainpoolp256r1", "python")]
    assert all(r["provisionings"] >= 1 and r["per_second"] > 0 for r in rates)
    assert "throughput on one core" in out


def test_plot_writes_one_png_per_case(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    code, _, err = _bench(capsys, "--iterations", "2", "--warmup", "0", "--backend", "python",
                          "--profile", "default:2048", "--plot", "--output", str(tmp_path))
    assert (code, err) == (0, "")
    png = tmp_path / "plot-default_2048-p256.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--backend", "cobol"], "--backend"),
        (["--iterations", "-1"], "--iterations"),
        (["--curve", "p384"], "--curve"),
        (["--segment-size", "1008"], "--segment-size"),
        (["--throughput", "0"], "--throughput"),
        (["--iterations", "0"], "needs --throughput"),
        (["--profile", "no/such/file.der"], "cannot read"),
        (["--profile", "default:0"], "positive integer"),
    ],
)
def test_bad_arguments_give_one_line_and_fail(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        code = main(["bench", *argv, "--output", str(tmp_path)])
        raise SystemExit(code)
    captured = capsys.readouterr()
    assert exit_info.value.code != 0
    assert captured.err.count("\n") == 1 and message in captured.err
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_not_a_profile_fails_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.der"
    bad.write_bytes(b"\x30\x03\x01\x01")
    code, out, err = _bench(capsys, "--profile", str(bad), "--output", str(tmp_path / "o"))
    assert code != 0 and out == ""
    assert err.startswith("m2mrsp: error:") and err.count("\n") == 1


def test_native_asked_for_but_missing_fails_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing(name: str | None = None) -> object:
        if name == "native":
            raise backends.NativeUnavailableError("native back-end not available: test")
        return backends.active()

    monkeypatch.setattr(backends, "get", missing)
    code, _, err = _bench(capsys, "--backend", "python,native", "--output", str(tmp_path))
    assert code != 0 and err.count("\n") == 1 and "not available" in err


def test_plot_without_matplotlib_says_what_to_install(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name: str, *args: object, **kwargs: object) -> object:
        if name.split(".")[0] == "matplotlib":
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    code, _, err = _bench(capsys, "--plot", "--output", str(tmp_path / "o"))
    assert code != 0
    assert err == f"m2mrsp: error: {bench_report.PLOT_HINT}\n"
    assert not (tmp_path / "o").exists()
