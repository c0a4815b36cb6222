"""Bad command lines and files: one readable line on stderr, a non-zero status, no traceback.

Usage errors (argparse) exit with 2, failures of the run itself with 1 (docs/FAULTS.md, CLI
rows). Runs that fail after the provisioning started must not leave trace or key-log writes
half-done either: both files are opened before anything runs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import m2mrsp.cli as cli_module
from m2mrsp.cli import EXIT_FAILURE, EXIT_USAGE, MAX_PROFILE_BYTES, main
from m2mrsp.saip.pe import PEHeader
from m2mrsp.tlv import encode_tlv
from tests.faults_support import pes_of, small_profile


def _fails(capsys: pytest.CaptureFixture[str], argv: list[str], status: int, text: str) -> None:
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code  # type: ignore[assignment]
    captured = capsys.readouterr()
    assert code == status, captured.err
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.endswith("\n")
    assert "Traceback" not in captured.err
    assert text in captured.err, captured.err


@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (["run", "--profile-size", "0"], "must be 1.."),
        (["run", "--profile-size", "-5"], "must be 1.."),
        (["run", "--profile-size", "abc"], "--profile-size"),
        (["run", "--profile-size", str(10**11)], "must be 1..524288"),
        (["run", "--segment-size", "0"], "must be 1..1007"),
        (["run", "--segment-size", "1008"], "must be 1..1007"),
        (["run", "--segment-size", "1e3"], "--segment-size"),
        (["run", "--segments-per-call", "0"], "at least 1"),
        (["run", "--curve", "secp384r1"], "invalid choice"),
        (["run", "--kdf", "hkdf"], "invalid choice"),
        (["run", "--backend", "gpu"], "invalid choice"),
        (["run", "--seed", "abc"], "invalid int"),
        (["run", "--bogus"], "unrecognized arguments"),
        (["run", "--profile"], "expected one argument"),
        (["fly"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_options(capsys: pytest.CaptureFixture[str], argv: list[str], text: str) -> None:
    _fails(capsys, argv, EXIT_USAGE, text)


def _file(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _no_end(package: bytes) -> bytes:
    return b"".join(pes_of(package)[:-1])


@pytest.mark.parametrize(
    ("content", "text"),
    [
        (None, "No such file"),
        (b"", "the profile package is empty"),
        (b"\x5e\x01\x02" * 50, "not a header PE"),
        (b"\xa0\x84\x7f\xff\xff\xff\x80", "malformed TLV at offset 1: value past end"),
        (b"\xa0\x80\x00\x00", "indefinite length"),
        (encode_tlv(0xA0, b"\x80\x01\x02"), "has no ICCID"),
        (encode_tlv(0xA0, b"\x83\x0a" + b"\xab" * 10), "not BCD"),
        (small_profile()[:700], "is not a SAIP profile package: malformed TLV at offset 413"),
        (_no_end(small_profile()), "stopped before the end of the package"),
        (small_profile() + encode_tlv(0xBF30, PEHeader(True, 99).encode()),
         "eUICC refused the profile"),
    ],
)
def test_bad_profile_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes | None, text: str
) -> None:
    path = str(tmp_path / "missing.der") if content is None else _file(tmp_path, "p.der",
                                                                        content)
    _fails(capsys, ["run", "--profile", path, "--seed", "1"], EXIT_FAILURE, text)


def test_a_directory_as_profile(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _fails(capsys, ["run", "--profile", str(tmp_path)], EXIT_FAILURE, "Is a directory")


def test_an_endless_file_as_profile(capsys: pytest.CaptureFixture[str]) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    _fails(capsys, ["run", "--profile", "/dev/zero"], EXIT_FAILURE,
           f"larger than {MAX_PROFILE_BYTES} bytes")


def test_profile_size_with_a_profile_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = _file(tmp_path, "p.der", small_profile())
    _fails(capsys, ["run", "--profile", path, "--profile-size", "5000"], EXIT_FAILURE,
           "--profile-size only applies")


def test_a_profile_larger_than_the_card(capsys: pytest.CaptureFixture[str]) -> None:
    # The default profile cannot be grown past the simulated card's 512 KiB.
    _fails(capsys, ["run", "--profile-size", "600000", "--seed", "1"], EXIT_USAGE,
           "must be 1..524288")


@pytest.mark.parametrize("option", ["--trace", "--key-log"])
@pytest.mark.parametrize("where", ["missing/dir/file", "."])
def test_unwritable_outputs_stop_before_the_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, option: str, where: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[bool] = []
    real = cli_module.provision
    monkeypatch.setattr(cli_module, "provision",
                        lambda *a, **k: started.append(True) or real(*a, **k))
    _fails(capsys, ["run", option, str(tmp_path / where)], EXIT_FAILURE, "cannot write")
    assert started == []


def test_the_installed_command_prints_one_line(tmp_path: Path) -> None:
    path = _file(tmp_path, "p.der", b"\x30\x03\x02\x01\x00")
    result = subprocess.run(
        [sys.executable, "-m", "m2mrsp", "run", "--profile", path],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == EXIT_FAILURE
    assert result.stdout == ""
    assert result.stderr == (
        "m2mrsp: error: the package starts with tag 30 at offset 0, not a header PE (A0)\n"
    )


def test_both_back_ends_report_the_same_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, backend: Any
) -> None:
    path = _file(tmp_path, "p.der", _no_end(small_profile()))
    _fails(capsys, ["run", "--profile", path, "--backend", backend.NAME, "--seed", "1"],
           EXIT_FAILURE, "profile download failed: the eUICC stopped before the end")
