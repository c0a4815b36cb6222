"""Fault injection over every ES8 message of a complete provisioning (docs/FAULTS.md, campaign).

The reference run provisions the small default profile (about 1.1 KB, 200-byte segments: 22
ES8 messages, about 15 000 bits) with a fixed seed. Each trial repeats that run with one
message rewritten as it crosses, in either direction: one bit flipped, or the message cut
short. Every trial must end in a :class:`ProvisioningError` (nothing else may escape) and leave
the eUICC and the EIS in agreement with nothing of the profile left; the only exceptions are
the two fields SCP03t does not authenticate and nobody uses, listed in ``UNAUTHENTICATED``.

The default run flips a seeded sample of ``SAMPLE_BITS`` bits per back-end and truncates every
message at every length. ``M2MRSP_FAULTS_FULL=1`` flips every bit instead (about a minute per
back-end on a 2-core machine; see docs/FAULTS.md).
"""

from __future__ import annotations

import os
import random
from typing import Any

import pytest

from m2mrsp.entities.euicc import LifeCycle
from m2mrsp.errors import ProvisioningError
from m2mrsp.provisioning import World
from tests.faults_support import Es8Tap, assert_consistent, flip, make_world, run, small_profile

SEGMENT_SIZE = 200
SAMPLE_BITS = 3000
SAMPLE_SEED = 20260502
FULL = os.environ.get("M2MRSP_FAULTS_FULL") == "1"
# Fields no check covers, by (first byte of the message, direction, byte range):
# the key-identifier byte of the 84 command (PROTOCOL.md §5.5 U2: sent 00, any value accepted)
# and the key diversification data of the card's 84 answer (SCP03 does not authenticate it,
# and ISD-P keys from key establishment are not diversified).
UNAUTHENTICATED = {
    ("out", 0x84): range(3, 4),
    ("in", 0x84): range(2, 12),
}


def _reference(backend: Any) -> list[tuple[str, bytes]]:
    world = make_world(backend, segment_size=SEGMENT_SIZE)
    tap = Es8Tap()
    tap.attach(world.smdp)
    run(world, small_profile())
    return tap.messages


@pytest.fixture(scope="module")
def references() -> dict[str, list[tuple[str, bytes]]]:
    return {}


def _messages(backend: Any, references: dict[str, list[tuple[str, bytes]]]) -> list[
    tuple[str, bytes]
]:
    if backend.NAME not in references:
        references[backend.NAME] = _reference(backend)
    return references[backend.NAME]


def _trial(backend: Any, index: int, rewrite: Any) -> tuple[World, ProvisioningError | None]:
    world = make_world(backend, segment_size=SEGMENT_SIZE)
    tap = Es8Tap(target=index, rewrite=rewrite)
    tap.attach(world.smdp)
    try:
        run(world, small_profile())
    except ProvisioningError as err:
        assert tap.hit
        return world, err
    assert tap.hit
    return world, None


def _check_rejected(world: World, error: ProvisioningError | None, what: str) -> None:
    assert error is not None, f"{what} was accepted"
    assert world.euicc.isd_ps == {}, f"{what}: ISD-P left on the card"
    assert world.smsr.eis(world.eid).profiles == {}, f"{what}: EIS record left"
    assert_consistent(world.euicc, world.smsr, world.eid)


def _unauthenticated(message: tuple[str, bytes], byte: int) -> bool:
    direction, data = message
    return byte in UNAUTHENTICATED.get((direction, data[0]), range(0))


def test_the_reference_run_has_every_kind_of_es8_message(
    backend: Any, references: dict[str, list[tuple[str, bytes]]]
) -> None:
    messages = _messages(backend, references)
    firsts = [(direction, data[0]) for direction, data in messages]
    # 22 = C-APDU items (INSTALL, STORE DATA x2); R-APDU answers; 84/85/86 both ways.
    assert firsts[:6] == [("out", 0x22), ("out", 0x22), ("in", 0x00), ("in", 0x85),
                          ("out", 0x22), ("in", 0x85)]
    assert [f for f in firsts if f[1] in (0x84, 0x85, 0x86)].count(("out", 0x86)) == 6
    assert sum(len(data) for _, data in messages) * 8 > SAMPLE_BITS


def test_bit_flips_in_es8_messages_are_rejected(
    backend: Any, references: dict[str, list[tuple[str, bytes]]]
) -> None:
    messages = _messages(backend, references)
    bits = [(i, bit) for i, (_, data) in enumerate(messages) for bit in range(8 * len(data))]
    if not FULL:
        bits = random.Random(SAMPLE_SEED).sample(bits, SAMPLE_BITS)
    accepted = 0
    for index, bit in bits:
        world, error = _trial(backend, index, lambda data, bit=bit: flip(data, bit))
        what = f"bit {bit} of ES8 message {index} ({messages[index][0]})"
        if _unauthenticated(messages[index], bit // 8):
            assert error is None, f"{what}: {error}"
            (isd_p,) = world.euicc.isd_ps.values()
            assert isd_p.state is LifeCycle.ENABLED
            assert_consistent(world.euicc, world.smsr, world.eid)
            accepted += 1
        else:
            _check_rejected(world, error, what)
    assert accepted < len(bits) // 100


def test_truncated_es8_messages_are_rejected(
    backend: Any, references: dict[str, list[tuple[str, bytes]]]
) -> None:
    messages = _messages(backend, references)
    for index, (direction, data) in enumerate(messages):
        for length in range(len(data)):
            world, error = _trial(backend, index, lambda d, n=length: d[:n])
            _check_rejected(world, error, f"ES8 message {index} ({direction}) cut to {length}")
