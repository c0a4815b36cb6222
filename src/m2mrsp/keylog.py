"""Opt-in key log, in the spirit of SSLKEYLOGFILE: secrets an outside tool needs to check a trace.

One line per secret: ``LABEL <ISD-P AID hex> <value hex>``. With the ``--trace`` of the same
run, an independent implementation can recompute every SCP03t cryptogram, MAC and cipher text:
the static ISD-P keys, the handshake's challenges and sequence counter, the session keys, and
the MCV and counter the first ``86`` segment starts from. Never enable it outside a lab.
"""

from __future__ import annotations

from typing import TextIO

from m2mrsp.protocol.scp03t import HostSession, StaticKeys


class KeyLog:
    """Writes key-log lines to a text stream."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def write(self, label: str, aid: bytes, value: bytes | int) -> None:
        text = value.hex() if isinstance(value, bytes) else format(value, "x")
        self._out.write(f"{label} {aid.hex()} {text}\n")

    def static_keys(self, aid: bytes, keys: StaticKeys) -> None:
        """The ISD-P key set that key establishment produced (PROTOCOL.md §4.6)."""
        self.write("ISDP_KVN", aid, keys.kvn)
        self.write("ISDP_KEY_ENC", aid, keys.enc)
        self.write("ISDP_KEY_MAC", aid, keys.mac)
        self.write("ISDP_KEY_DEK", aid, keys.dek)

    def scp03t_session(self, aid: bytes, session: HostSession) -> None:
        """A freshly opened SCP03t session (PROTOCOL.md §5.2-5.6)."""
        keys, card = session.session_keys, session.card_response
        if keys is None or card is None:
            raise ValueError("the SCP03t session is not open")
        self.write("SCP03T_HOST_CHALLENGE", aid, session.host_challenge)
        self.write("SCP03T_CARD_CHALLENGE", aid, card.card_challenge)
        self.write("SCP03T_SEQUENCE_COUNTER", aid, card.sequence_counter or 0)
        self.write("SCP03T_S_ENC", aid, keys.s_enc)
        self.write("SCP03T_S_MAC", aid, keys.s_mac)
        self.write("SCP03T_S_RMAC", aid, keys.s_rmac)
        self.write("SCP03T_MCV", aid, session.state.mcv)
        self.write("SCP03T_COUNTER", aid, session.state.counter)
