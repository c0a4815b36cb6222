"""Run modes of the entity-level fuzz targets (fuzz_codec, fuzz_card, fuzz_certs, fuzz_ppi).

* ``python fuzz_X.py [libFuzzer options] CORPUS...``: atheris, coverage-guided.
* ``python fuzz_X.py --replay PATH... [--mutations N] [--seed S]``: plain Python, no atheris:
  every file (directories are walked) and N seeded byte-level mutations of each go through the
  target. A failure prints the input's origin, saves it as ``crash-<target>-<sha1>`` and exits 1.

A target's ``check(data)`` raises only on a bug: an exception other than the typed errors the
surface may raise, a divergence between the back-ends, or a broken invariant.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

Check = Callable[[bytes], None]


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to four edits: bit flip, truncation, byte insertion, chunk duplication or removal."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        where = rng.randrange(len(out) + 1)
        action = rng.randrange(5)
        if action == 0 and out:
            out[min(where, len(out) - 1)] ^= 1 << rng.randrange(8)
        elif action == 1:
            del out[where:]
        elif action == 2:
            out[where:where] = bytes((rng.randrange(256),))
        elif action == 3 and out:
            start = rng.randrange(len(out))
            out[where:where] = out[start : start + rng.randint(1, 64)]
        elif out:
            del out[where : where + rng.randint(1, 64)]
    return bytes(out)


def _files(paths: list[str]) -> Iterator[Path]:
    for name in paths:
        path = Path(name)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            yield path


def replay(name: str, check: Check, paths: list[str], mutations: int, seed: int) -> int:
    """Run ``check`` over the corpus and its mutations; the number of inputs, or exit 1."""
    rng = random.Random(seed)
    count = 0
    for path in _files(paths):
        original = path.read_bytes()
        inputs = [original] + [mutate(original, rng) for _ in range(mutations)]
        for index, data in enumerate(inputs):
            try:
                check(data)
            except Exception:  # noqa: BLE001 - any escape is the finding
                digest = hashlib.sha1(data).hexdigest()
                crash = Path(f"crash-{name}-{digest}")
                crash.write_bytes(data)
                origin = "itself" if index == 0 else f"mutation {index}"
                print(f"{name}: {path} ({origin}) failed; input saved as {crash}",
                      file=sys.stderr)
                traceback.print_exc()
                sys.exit(1)
            count += 1
    return count


def main(name: str, check: Check) -> None:
    """Dispatch on ``--replay``; otherwise hand the command line to atheris."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--replay", nargs="+", default=None)
    parser.add_argument("--mutations", type=int, default=20)
    parser.add_argument("--seed", type=int, default=20261203)
    args, rest = parser.parse_known_args()
    if args.replay is not None:
        count = replay(name, check, args.replay, args.mutations, args.seed)
        if count == 0:
            sys.exit(f"{name}: no input found in {' '.join(args.replay)}")
        print(f"{name}: {count} inputs replayed clean")
        return
    import atheris

    atheris.Setup([sys.argv[0], *rest], check)
    atheris.Fuzz()


def instrument() -> None:
    """Import the m2mrsp modules under atheris's coverage instrumentation (fuzzing mode only)."""
    if "--replay" in sys.argv:
        return
    try:
        import atheris
    except ImportError:
        return
    with atheris.instrument_imports(include=["m2mrsp"]):
        import m2mrsp.entities.euicc  # noqa: F401
        import m2mrsp.protocol.es3  # noqa: F401
        import m2mrsp.saip.interpreter  # noqa: F401
