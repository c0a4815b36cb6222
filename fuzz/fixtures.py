"""Fixed keys, a fixed PKI and a card with an open SCP03t session, for targets and corpus alike.

Everything is seeded, so ``make_corpus.py`` can produce valid segments, certificates and
key-agreement commands for exactly the card a target builds for each input.
"""

from __future__ import annotations

from functools import cache

from m2mrsp import backend as selection
from m2mrsp.entities.euicc import Euicc, IsdP, LifeCycle
from m2mrsp.entities.pki import Pki
from m2mrsp.hotpath.types import Backend
from m2mrsp.protocol import apdu, es5
from m2mrsp.protocol.scp03t import CardSession, HostSession, StaticKeys
from m2mrsp.rng import RandomSource

KEYS = StaticKeys(0x30, bytes(range(16)), bytes(range(16, 32)), bytes(range(32, 48)))
AID = apdu.isdp_aid(0x10)
RESERVED = 64 * 1024


def backends() -> list[Backend]:
    """Every back-end that loads here (python always, native when built)."""
    return [selection.get(name) for name in selection.available()]


@cache
def pki() -> Pki:
    return Pki.create(RandomSource(1, "fuzz pki"))


def card(backend: Backend) -> tuple[Euicc, HostSession]:
    """A fresh eUICC whose ISD-P ``AID`` holds ``KEYS`` and an open SCP03t session.

    Returns:
        the card and the host end of the session (its state is that of the card).
    """
    euicc = Euicc(pki().make_ecasd(RandomSource(2, "fuzz ecasd")), backend,
                  RandomSource(3, "fuzz card"))
    isd_p = IsdP(AID, RESERVED, backend, RandomSource(4, "fuzz isd-p"),
                 card_free_memory=lambda: euicc.free_memory)
    isd_p.keys = KEYS
    isd_p.session = CardSession(KEYS, AID, backend)
    isd_p.state = LifeCycle.PERSONALIZED
    euicc.isd_ps[AID] = isd_p
    host = HostSession(KEYS, AID, backend, RandomSource(5, "fuzz host"))
    answer = isd_p.scp03t(0x84, host.initialize_update())[0]
    confirmation = isd_p.scp03t(0x85, host.external_authenticate(answer))[0]
    host.check_external_authenticate(confirmation)
    return euicc, host


def to_isd_p(data: bytes) -> bytes:
    """An ES5 message carrying ``data`` as the items of a script for the ISD-P."""
    return es5.frame(AID, es5.build_command_script([data]))
