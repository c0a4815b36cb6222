"""The command line: the main job's output, its JSON and files, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from m2mrsp.cli import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_run_on_the_default_profile_prints_every_phase(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "run", "--seed", "1")
    assert (code, err) == (0, "")
    for phase in ("entity set-up", "ISD-P creation", "key establishment", "profile download",
                  "enabling"):
        assert f"\n{phase} " in out
    for operation in ("segment wrap", "segment unwrap", "PE installation", "shared secret",
                      "kdf", "receipt", "SCP03t handshake"):
        assert operation in out
    assert "final state: ISD-P ENABLED, SM-SR EIS Enabled" in out


def test_json_reports_the_header_iccid_and_one_pe_per_input_pe(
    capsys: pytest.CaptureFixture[str], ts48_profile: tuple[str, bytes], tmp_path: Path
) -> None:
    name, package = ts48_profile
    path = tmp_path / f"{name}.der"
    path.write_bytes(package)
    code, out, _ = _run(capsys, "run", "--profile", str(path), "--json", "--seed", "2")
    document = json.loads(out)
    assert code == 0
    assert document["installed_pes"] == document["input_pes"] in (28, 30)
    assert document["iccid"].startswith("89")
    assert document["package_bytes"] == len(package)
    assert document["es8_bytes"] > len(package)
    assert [p["name"] for p in document["phases"]] == [
        "entity set-up", "ISD-P creation", "key establishment", "profile download", "enabling"]
    assert document["states"] == {"isdp": "ENABLED", "eis": "Enabled"}


def test_trace_and_key_log_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    trace, keys = tmp_path / "trace.jsonl", tmp_path / "keys.txt"
    code, _, _ = _run(capsys, "run", "--seed", "3", "--trace", str(trace), "--key-log",
                      str(keys))
    assert code == 0
    lines = [json.loads(line) for line in trace.read_text().splitlines()]
    assert {line["interface"] for line in lines} == {"ES3", "ES5", "ES8"}
    assert [line["seq"] for line in lines] == list(range(len(lines)))
    assert "SCP03T_S_ENC" in keys.read_text()


def test_an_unreadable_file_gives_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "run", "--profile", "/nonexistent/p.der")
    assert code == 1
    assert err == "m2mrsp: error: cannot read /nonexistent/p.der: No such file or directory\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--curve", "secp192r1"], "invalid choice: 'secp192r1'"),
        (["run", "--segment-size", "1008"], "must be 1..1007"),
        (["run", "--segment-size", "x"], "invalid"),
        (["bogus"], "invalid choice"),
    ],
)
def test_usage_errors_give_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as outcome:
        main(argv)
    err = capsys.readouterr().err
    assert outcome.value.code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\xa0\x85\x01", "malformed TLV at offset 1"),
        (b"\xb0\x03\x80\x01\x00", "not a header PE"),
        (b"hello, this is not a profile", "offset"),
    ],
)
def test_a_file_that_is_not_a_profile_gives_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.der"
    path.write_bytes(content)
    code, _, err = _run(capsys, "run", "--profile", str(path))
    assert code == 1
    assert message in err
    assert err.count("\n") == 1


def test_a_seeded_default_run_is_byte_identical(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    traces = [tmp_path / f"trace{i}.jsonl" for i in range(2)]
    for trace in traces:
        assert _run(capsys, "run", "--seed", "7", "--trace", str(trace))[0] == 0
    assert traces[0].read_bytes() == traces[1].read_bytes()


def test_a_truncated_profile_names_the_offset(
    capsys: pytest.CaptureFixture[str], ts48_profile: tuple[str, bytes], tmp_path: Path
) -> None:
    _, package = ts48_profile
    path = tmp_path / "cut.der"
    path.write_bytes(package[:5000])
    code, _, err = _run(capsys, "run", "--profile", str(path))
    assert code == 1
    assert "is not a SAIP profile package: malformed TLV at offset" in err
    assert err.count("\n") == 1


def test_trace_and_key_log_must_differ(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    same = str(tmp_path / "same.txt")
    code, _, err = _run(capsys, "run", "--trace", same, "--key-log", same)
    assert (code, err) == (1, "m2mrsp: error: --trace and --key-log must name different files\n")


def test_write_errors_and_closed_pipes_give_no_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    full = subprocess.run([sys.executable, "-m", "m2mrsp", "run", "--trace", "/dev/full"],
                          capture_output=True, text=True, timeout=120)
    assert full.returncode == 1
    assert full.stderr == "m2mrsp: error: No space left on device\n"
    piped = subprocess.run(f"{sys.executable} -m m2mrsp info | head -1", shell=True,
                           capture_output=True, text=True, timeout=120)
    assert "Traceback" not in piped.stderr
    bad_setting = subprocess.run([sys.executable, "-m", "m2mrsp", "info"], capture_output=True,
                                 text=True, timeout=120, env={"M2MRSP_NATIVE": "garbage",
                                                              "PATH": "/usr/bin:/bin"})
    assert bad_setting.returncode == 1
    assert bad_setting.stderr == (
        "m2mrsp: error: M2MRSP_NATIVE must be unset, 0 or 1, not 'garbage'\n"
    )
