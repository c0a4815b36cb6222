"""``m2mrsp campaign``: distinct devices, batches on a process pool and on a Dask LocalCluster.

The campaigns here are small (20 devices) but real: worker processes, faults injected on ES5,
every device checked against its EIS. Each device's fault draws derive from the seed and its
index, so the pool and Dask, whatever the batches, must end every device the same way.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from m2mrsp import campaign
from m2mrsp.campaign import (
    BatchSpec,
    CampaignConfig,
    Totals,
    batches,
    device_iccid,
    device_imsi,
    luhn_digit,
    run_batch,
)
from m2mrsp.campaign_report import CSV_COLUMNS, CSV_FILE, JSON_FILE, REPORT_FILE
from m2mrsp.cli import main
from m2mrsp.consistency import OUTCOMES
from m2mrsp.entities.pki import is_valid_eid
from m2mrsp.saip.pe import decode_iccid

DEVICES = 20
FAULTY = ["--devices", str(DEVICES), "--seed", "11", "--bearer", "https", "--loss-rate",
          "0.03", "--corruption-rate", "0.03", "--max-retries", "1", "--batch-size", "6"]
# Per device: the columns that must not depend on where or in which batch it ran.
STABLE = ("device", "eid", "iccid", "outcome", "failure", "retransmissions", "lost",
          "corrupted")


def test_iccids_carry_a_luhn_digit_and_differ_per_seed_and_index() -> None:
    # Hand-checked Luhn examples: 7992739871 -> 3 (the textbook one); 8901410321111851072 -> 0.
    assert (luhn_digit("7992739871"), luhn_digit("8901410321111851072")) == ("3", "0")
    iccid = device_iccid(12345, 7)
    assert iccid == "8912345000000000007" + luhn_digit("8912345000000000007")
    assert len({device_iccid(s, i) for s in (1, 2) for i in range(50)}) == 100
    assert device_imsi(42) == "001010000000042"


def test_batches_cover_every_device_once() -> None:
    config = CampaignConfig(devices=23, batch_size=5)
    specs = list(batches(config, config.batch(2)))
    assert [(s.start, s.count) for s in specs] == [(0, 5), (5, 5), (10, 5), (15, 5), (20, 3)]
    assert CampaignConfig(devices=1000).batch(2) == 125
    assert CampaignConfig(devices=10**6).batch(2) == 200
    assert CampaignConfig(devices=3).batch(2) == 1


def test_a_batch_provisions_distinct_cards_on_one_pair() -> None:
    config = CampaignConfig(devices=6, seed=4)
    result = run_batch(BatchSpec(config, 0, 6))
    assert result.count == 6 and result.problems == []
    assert [OUTCOMES[code] for code in result.outcome] == ["provisioned"] * 6
    assert len(set(result.eids)) == 6 and all(is_valid_eid(eid) for eid in result.eids)
    assert result.iccids == [device_iccid(4, i) for i in range(6)]
    assert (result.network_ns == 0).all() and (result.stage_ns > 0).all()
    again = run_batch(BatchSpec(config, 3, 2))
    assert again.eids == result.eids[3:5]  # derived from seed and index, not from the batch
    totals = Totals()
    totals.add(result)
    assert totals.devices == 6 and totals.latency_ns().shape == (6,)


Outputs = tuple[dict[str, object], list[dict[str, str]]]


def _campaign(tmp_path: Path, name: str, *argv: str) -> Outputs:
    folder = tmp_path / name
    assert main(["campaign", *argv, "--output", str(folder)]) == 0
    assert {p.name for p in folder.iterdir()} == {REPORT_FILE, JSON_FILE, CSV_FILE}
    document = json.loads((folder / JSON_FILE).read_text(encoding="utf-8"))
    with (folder / CSV_FILE).open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
        rows = sorted(reader, key=lambda row: int(row["device"]))
    assert "outcomes:" in (folder / REPORT_FILE).read_text(encoding="utf-8")
    return document, rows


def _check(document: dict[str, object], rows: list[dict[str, str]]) -> None:
    outcomes = document["outcomes"]
    assert isinstance(outcomes, dict)
    assert sum(outcomes.values()) == DEVICES
    assert outcomes["inconsistent"] == 0
    assert document["inconsistencies"] == {"count": 0, "examples": []}
    assert [int(row["device"]) for row in rows] == list(range(DEVICES))
    assert len({row["eid"] for row in rows}) == DEVICES
    assert len({row["iccid"] for row in rows}) == DEVICES
    assert {name: sum(r["outcome"] == name for r in rows) for name in OUTCOMES} == outcomes
    failures = document["failures"]
    assert isinstance(failures, dict)
    assert sum(failures.values()) == DEVICES - outcomes["provisioned"]
    faults = document["faults"]
    assert isinstance(faults, dict)
    assert faults["lost"] == sum(int(r["lost"]) for r in rows) > 0
    assert faults["corrupted"] == sum(int(r["corrupted"]) for r in rows) > 0
    for row in rows:
        # https: every device spent modelled time on ISD-P creation, whatever its end.
        assert int(row["network_ns:ISD-P creation"]) > 0
        assert decode_iccid(bytes.fromhex(row["iccid"])) == row["iccid"]
    throughput = document["throughput"]
    assert isinstance(throughput, dict) and throughput["provisionings"] == DEVICES


@pytest.fixture(scope="module")
def pool_run(tmp_path_factory: pytest.TempPathFactory) -> Outputs:
    return _campaign(tmp_path_factory.mktemp("pool"), "pool", *FAULTY, "--workers", "2")


def test_a_faulty_campaign_on_the_process_pool(pool_run: Outputs) -> None:
    document, rows = pool_run
    _check(document, rows)
    outcomes = document["outcomes"]
    assert isinstance(outcomes, dict)
    # Seed 11: some devices ride out the faults, others do not.
    assert outcomes["provisioned"] > 0 and outcomes["provisioned"] < DEVICES
    executor = document["executor"]
    assert isinstance(executor, dict)
    assert executor["batches"] == 4 and executor["workers"] == 2
    assert executor["worker_processes"] == 2


def test_the_same_campaign_on_a_dask_local_cluster_ends_every_device_alike(
    tmp_path: Path, pool_run: Outputs
) -> None:
    pytest.importorskip("distributed", reason="dask[distributed] is not installed")
    document, rows = _campaign(tmp_path, "dask", *FAULTY, "--dask", "local",
                               "--batch-size", "7")
    _check(document, rows)
    executor = document["executor"]
    assert isinstance(executor, dict) and executor["name"].startswith("dask LocalCluster")
    assert [{k: r[k] for k in STABLE} for r in rows] == [
        {k: r[k] for k in STABLE} for r in pool_run[1]]


def test_bad_campaign_arguments_give_one_line(capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    for argv in (["--devices", "0"], ["--devices", "5", "--loss-rate", "2"],
                 ["--devices", "5", "--bearer", "pigeon"]):
        with pytest.raises(SystemExit) as outcome:
            main(["campaign", *argv, "--output", str(tmp_path)])
        assert outcome.value.code == 2
        assert capsys.readouterr().err.count("\n") == 1
    assert main(["campaign", "--devices", "2", "--loss-rate", "0.7", "--corruption-rate", "0.7",
                 "--output", str(tmp_path / "x")]) == 1
    assert "add up to more than 1" in capsys.readouterr().err


def test_a_campaign_on_a_dask_scheduler_given_by_address(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        document, rows = _campaign(tmp_path, "remote", "--devices", "4", "--seed", "2",
                                   "--dask", cluster.scheduler_address)
    executor = document["executor"]
    assert isinstance(executor, dict)
    assert executor["name"] == f"dask {cluster.scheduler_address} (1 worker)"
    assert document["outcomes"] == {"provisioned": 4, "failed cleanly": 0, "needs retry": 0,
                                    "inconsistent": 0}
    assert [row["iccid"] for row in rows] == [device_iccid(2, i) for i in range(4)]


def test_an_unreachable_scheduler_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("distributed", reason="dask[distributed] is not installed")
    monkeypatch.setattr(campaign, "DASK_CONNECT_TIMEOUT_S", 0.5)
    code = main(["campaign", "--devices", "2", "--dask", "tcp://127.0.0.1:9",
                 "--output", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert err.startswith("m2mrsp: error: cannot reach the Dask scheduler at tcp://127.0.0.1:9")
