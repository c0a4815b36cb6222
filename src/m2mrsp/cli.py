"""Command line: ``m2mrsp run`` provisions a profile and prints what each step cost.

Every failure the user can cause (a missing file, a file that is not a profile package, a bad
option) ends with one line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from m2mrsp import __version__, argtypes, bench, campaign_report
from m2mrsp.crypto.ecc import CURVES
from m2mrsp.crypto.kdf import DEFAULT_KDF, KDFS
from m2mrsp.entities.euicc import DEFAULT_TOTAL_MEMORY
from m2mrsp.entities.smdp import DEFAULT_SEGMENTS_PER_CALL
from m2mrsp.errors import M2mRspError, TlvError
from m2mrsp.hotpath.types import MAX_SEGMENT_PLAINTEXT
from m2mrsp.provisioning import Options, count_elements, provision
from m2mrsp.report import network_lines, summary_lines, timing_tree, to_document
from m2mrsp.rng import RandomSource
from m2mrsp.timing import Recorder
from m2mrsp.transport import BEARERS, default_segment_size, default_segments_per_call

EXIT_FAILURE = 1
EXIT_USAGE = 2
# Larger than any eUICC here (512 KiB): the SM-SR refuses such a profile with a clear message,
# and neither reading a file (/dev/zero) nor growing the default profile can run away.
MAX_PROFILE_BYTES = 16 * 1024 * 1024


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")








def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="m2mrsp", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"m2mrsp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = commands.add_parser("run", help="provision one profile and print the timing tree")
    run.add_argument("--profile", type=Path, help="a SAIP profile package (DER); default: "
                     "the embedded default profile")
    run.add_argument("--profile-size", type=argtypes.bounded_int(1, DEFAULT_TOTAL_MEMORY),
                     help="grow the default profile to about this many bytes (the simulated "
                     "eUICC holds 512 KiB)")
    run.add_argument("--curve", choices=sorted(CURVES), default="p256")
    run.add_argument("--segment-size", type=argtypes.segment_size, default=None,
                     help=f"plaintext bytes per SCP03t segment (1..{MAX_SEGMENT_PLAINTEXT}; "
                          "default: 79 for sms, else 1007)")
    run.add_argument("--segments-per-call", type=argtypes.positive, default=None,
                     help="SCP03t segments per ES3 SendData (default: 1 for sms, else 4)")
    run.add_argument("--bearer", choices=BEARERS, default="none",
                     help="model the network time of ES3/ES5 over this bearer (default none)")
    run.add_argument("--kdf", choices=sorted(KDFS), default=DEFAULT_KDF,
                     help="key-establishment KDF (SGP.02 uses x963)")
    run.add_argument("--backend", choices=["python", "native"], default=None,
                     help="hot-path back-end (default: as M2MRSP_NATIVE selects)")
    run.add_argument("--seed", type=int, help="deterministic keys and randoms")
    run.add_argument("--no-enable", action="store_true", help="stop after the download")
    run.add_argument("--json", action="store_true", help="print a JSON document instead")
    run.add_argument("--trace", type=Path, help="write every ES3/ES5/ES8 message as JSON lines")
    run.add_argument("--key-log", type=Path, help="write the session secrets (lab use only)")
    commands.add_parser("info", help="print the back-end and build details")
    bench.add_parser(commands)
    campaign_report.add_parser(commands)
    return parser


def _read_profile(args: argparse.Namespace) -> bytes:
    if args.profile is None:
        from m2mrsp.saip.builder import build_default_profile

        rng = None if args.seed is None else RandomSource(args.seed, "default profile")
        return build_default_profile(target_size=args.profile_size, rng=rng)
    if args.profile_size is not None:
        raise ValueError("--profile-size only applies to the default profile")
    path: Path = args.profile
    try:
        with path.open("rb") as handle:
            package = handle.read(MAX_PROFILE_BYTES + 1)
    except OSError as err:
        raise ValueError(f"cannot read {path}: {err.strerror or err}") from None
    if len(package) > MAX_PROFILE_BYTES:
        raise ValueError(f"{path} is larger than {MAX_PROFILE_BYTES} bytes")
    try:
        count_elements(package)
    except TlvError as err:
        raise ValueError(f"{path} is not a SAIP profile package: {err}") from None
    return package


@contextlib.contextmanager
def _optional_output(path: Path | None) -> Iterator[TextIO | None]:
    if path is None:
        yield None
        return
    try:
        handle = path.open("w", encoding="utf-8")
    except OSError as err:
        raise ValueError(f"cannot write {path}: {err.strerror or err}") from None
    with handle:
        yield handle


def _run(args: argparse.Namespace, out: TextIO) -> None:
    from m2mrsp import backend

    package = _read_profile(args)
    segment_size = args.segment_size or default_segment_size(args.bearer)
    options = Options(
        curve=args.curve, segment_size=segment_size,
        segments_per_call=args.segments_per_call or default_segments_per_call(
            args.bearer, DEFAULT_SEGMENTS_PER_CALL),
        seed=args.seed, kdf=args.kdf, backend=args.backend, enable=not args.no_enable,
        bearer=args.bearer,
    )
    if args.trace is not None and args.trace == args.key_log:
        raise ValueError("--trace and --key-log must name different files")
    recorder = Recorder()
    # Both files are opened before the run, so an unwritable path costs no provisioning.
    with _optional_output(args.key_log) as key_log, _optional_output(args.trace) as trace:
        with recorder.active():
            result = provision(package, options, key_log=key_log)
        if trace is not None:
            result.wire.write_trace(trace)
    totals = recorder.totals()
    if args.json:
        json.dump(to_document(result, totals, segment_size, args.bearer), out, indent=2)
        out.write("\n")
        return
    info = backend.build_info()
    out.write(f"m2mrsp {__version__}: back-end {result.backend} on {info['openssl']}, "
              f"curve {result.curve}\n")
    lines = [*summary_lines(result, segment_size), "", *timing_tree(totals), "",
             *network_lines(result, totals, args.bearer)]
    for line in lines:
        out.write(line + "\n")


def _info(out: TextIO) -> None:
    from m2mrsp import backend

    for key, value in backend.build_info().items():
        out.write(f"{key}: {value}\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``m2mrsp`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "info":
            _info(sys.stdout)
        elif args.command == "bench":
            bench.run_command(args, sys.stdout)
        elif args.command == "campaign":
            campaign_report.run_command(args, sys.stdout)
        else:
            _run(args, sys.stdout)
    except (M2mRspError, ValueError) as err:
        sys.stderr.write(f"m2mrsp: error: {err}\n")
        return EXIT_FAILURE
    except BrokenPipeError:
        # The reader (``| head``) left: stop quietly, and keep Python from failing again when
        # it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE
    except OSError as err:
        sys.stderr.write(f"m2mrsp: error: {err.strerror or err}\n")
        return EXIT_FAILURE
    return 0
