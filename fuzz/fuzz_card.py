"""Fuzz target: the eUICC's ES5 entry point and its ISD-P's SCP03t unwrap, on both back-ends.

Each input goes to a fresh card (fixtures.card: an ISD-P with an open SCP03t session) on every
back-end. The first byte picks the use of the rest:

* 0: a raw ES5 message (target AID and script) for ``Euicc.handle_es5``;
* 1: SCP03t items for the ISD-P, after the handshake;
* 2: plain text the host wraps into valid segments (segment size from the next byte), so the
  Profile Package Interpreter behind the card sees arbitrary bytes;
* 3: as 2, then one byte of the segments flipped, or the segments cut short.

The card must answer bytes that parse as a response script, identical on both back-ends, and
stay consistent (a failed download leaves no profile, no installer and no session keys).
"""

from __future__ import annotations

import sys

from harness import instrument, main

if __name__ == "__main__":
    instrument()  # before the m2mrsp imports below, so that they are instrumented

from fixtures import AID, backends, card, to_isd_p  # noqa: E402

from m2mrsp.entities.euicc import Euicc, LifeCycle  # noqa: E402
from m2mrsp.protocol import es5  # noqa: E402

MODES = 4


def _segments(backend: object, data: bytes, size: int, damage: bytes | None) -> bytes:
    _, host = card(backend)  # type: ignore[arg-type]
    blob = bytearray(b"".join(host.wrap(data, size).tlvs)) if data else bytearray()
    if damage is not None and blob:
        where = int.from_bytes(damage[:2].ljust(2, b"\0"), "big") % len(blob)
        if damage[2:3] and damage[2] & 1:
            del blob[where:]
        else:
            blob[where] ^= 1 << (damage[2] % 8 if damage[2:3] else 0)
    return bytes(blob)


def _message(data: bytes, backend: object) -> bytes:
    mode, rest = data[0] % MODES, data[1:]
    if mode == 0:
        return rest
    if mode == 1:
        return to_isd_p(rest)
    size = 1 + (rest[0] * 4 if rest else 0)
    body = rest[1:] if mode == 2 else rest[4:]
    damage = None if mode == 2 else rest[1:4]
    return to_isd_p(_segments(backend, body, min(size, 1007), damage))


def _state(euicc: Euicc) -> tuple[object, ...]:
    isd_p = euicc.isd_ps[AID]
    if isd_p.download_failed:
        assert isd_p.profile is None and isd_p.installer is None and not isd_p.session_open
    if isd_p.state is LifeCycle.DISABLED:
        assert isd_p.profile is not None and not isd_p.session_open
    assert euicc.free_memory >= 0 and set(euicc.isd_ps) == {AID}
    profile = isd_p.profile.encode() if isd_p.profile is not None else None
    return (isd_p.state, isd_p.download_failed, isd_p.session_open, isd_p.received_bytes,
            profile)


def check(data: bytes) -> None:
    if not data:
        return
    outcomes = []
    for backend in backends():
        euicc, _ = card(backend)
        answer = euicc.handle_es5(_message(data, backend))
        es5.parse_response_script(answer)
        outcomes.append((answer, _state(euicc)))
    assert all(o == outcomes[0] for o in outcomes), "the back-ends disagree"


if __name__ == "__main__":
    sys.setrecursionlimit(10_000)
    main("fuzz_card", check)
