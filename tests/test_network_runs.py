"""The transport model wired into runs: network time per phase from the real exchanges.

A run with a bearer books every ES3/ES5 exchange under the phase the driver announced; these
tests recompute that time from the recorded exchanges with a fresh model of the same bearer,
and check the CLI's and the bench's reports of it (per phase: measured, modelled, sum).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from m2mrsp import bench
from m2mrsp.cli import main
from m2mrsp.provisioning import PHASES, Options, provision
from m2mrsp.transport import SmsBearer, network_model
from m2mrsp.wire import Wire

PROTOCOL_PHASES = PHASES[1:]
SCHEMA = Path(__file__).resolve().parents[1] / "docs" / "bench-schema.json"


@pytest.fixture(scope="module")
def package() -> bytes:
    return bench.read_profile("default").package


def _recomputed(wire: Wire, bearer: str, eid: str) -> dict[str, float]:
    model = network_model(bearer, eid)
    assert model is not None
    for phase, interface, request, response in wire.exchanges:
        model.book(phase, interface, request, response)
    return model.seconds_by_phase


@pytest.mark.parametrize("bearer", ["sms", "https"])
def test_network_time_per_phase_is_the_sum_over_the_exchanges(
    package: bytes, bearer: str
) -> None:
    result = provision(package, Options(seed=4, bearer=bearer))
    assert set(result.network_s) == set(PROTOCOL_PHASES)
    assert all(result.network_s[phase] > 0 for phase in PROTOCOL_PHASES)
    assert result.network_s == pytest.approx(_recomputed(result.wire, bearer, result.eid))
    # Every ES3 and ES5 exchange was booked once: requests and answers pair up.
    booked = [i for _, i, _, _ in result.wire.exchanges]
    sent = [m.interface for m in result.wire.messages if m.interface != "ES8"]
    assert len(sent) == 2 * len(booked)
    assert {"ES3", "ES5"} == set(booked)


def test_no_bearer_means_no_network_time(package: bytes) -> None:
    result = provision(package, Options(seed=4))
    assert result.network_s == {}
    assert result.wire.exchanges  # still recorded, just not priced


def test_sms_download_is_one_exchange_per_segment_and_counts_every_sms(package: bytes) -> None:
    options = Options(seed=4, bearer="sms", segment_size=SmsBearer.default_segment_size,
                      segments_per_call=SmsBearer.segments_per_call)
    result = provision(package, options)
    bearer = SmsBearer()
    downloads = [(q, r) for phase, i, q, r in result.wire.exchanges
                 if phase == "profile download" and i == "ES5"]
    # The SCP03t handshake (84, 85) and then one exchange per segment, each in one SMS each way.
    assert len(downloads) == 2 + result.download.segments
    for request, response in downloads[2:]:
        assert bearer.exchange(request, response).messages == 2
    es5_seconds = sum(bearer.exchange(q, r).seconds for q, r in downloads)
    es3_seconds = result.network_s["profile download"] - es5_seconds
    # The rest is ES3 (SendData per segment and ProfileDownloadCompleted), 20 ms RTT each.
    assert es3_seconds == pytest.approx(0.020 * (len(downloads) + 1), rel=0.05)


def test_stages_book_the_same_network_time_as_provision(package: bytes) -> None:
    options = Options(seed=8, bearer="https")
    whole = provision(package, options)
    world = bench.Stages(package, options).run_all()
    assert world.wire.network_seconds() == pytest.approx(whole.network_s)


def _run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    assert main(["run", "--seed", "2", "--json", *argv]) == 0
    document: dict[str, object] = json.loads(capsys.readouterr().out)
    return document


def test_run_json_reports_measured_network_and_sum_per_phase(
    capsys: pytest.CaptureFixture[str],
) -> None:
    document = _run_json(capsys, "--bearer", "sms")
    assert document["bearer"] == "sms"
    assert document["segment_size"] == SmsBearer.default_segment_size
    assert document["es8_calls"] == document["segments"]
    phases = document["phases"]
    assert isinstance(phases, list)
    for phase in phases:
        assert phase["sum_ns"] == phase["ns"] + phase["network_ns"]
        assert (phase["network_ns"] > 0) == (phase["name"] != "entity set-up")
    assert document["network_ns"] == sum(p["network_ns"] for p in phases)
    plain = _run_json(capsys)
    assert plain["segment_size"] == 1007 and plain["network_ns"] == 0
    assert _run_json(capsys, "--bearer", "sms", "--segment-size", "200")["segment_size"] == 200


def test_run_text_shows_the_network_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--seed", "2", "--bearer", "https"]) == 0
    out = capsys.readouterr().out
    assert "network ms (https)" in out
    total = next(line for line in out.splitlines() if line.startswith("total") and
                 len(line.split()) == 4)
    measured, network, summed = map(float, total.split()[1:])
    assert network > 1000 and summed == pytest.approx(measured + network, abs=0.002)


def test_bench_with_a_bearer_reports_network_time(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(["bench", "--iterations", "2", "--warmup", "0", "--backend", "python",
                 "--bearer", "https", "--seed", "3", "--output", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0 and "modelled network time" in out
    document = json.loads((tmp_path / "bench.json").read_text(encoding="utf-8"))
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(document, json.loads(SCHEMA.read_text(encoding="utf-8")))
    assert document["config"]["bearer"] == "https"
    (series,) = document["cases"][0]["backends"]
    network = series["network"]
    assert [p["name"] for p in network["phases"]] == list(PROTOCOL_PHASES)
    assert all(min(p["samples"]) > 0 for p in network["phases"])
    assert network["end_to_end"]["samples"] == [
        cpu + net
        for cpu, net in zip(series["total"]["samples"], network["total"]["samples"], strict=True)
    ]
    rows = (tmp_path / "samples.csv").read_text(encoding="utf-8").splitlines()
    assert sum(",network," in row for row in rows) == 2 * (len(PROTOCOL_PHASES) + 1)
    assert sum(",end-to-end," in row for row in rows) == 2
