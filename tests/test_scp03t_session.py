"""The SCP03t handshake in TLV form, against PROTOCOL.md §5.9, and its failure answers."""

from __future__ import annotations

from typing import Any

import pytest

from m2mrsp.errors import ScpError, ScpErrorKind
from m2mrsp.hotpath.types import Scp03tState
from m2mrsp.protocol.scp03t import CardSession, HostSession, StaticKeys, error_tlv
from m2mrsp.rng import RandomSource

h = bytes.fromhex

# PROTOCOL.md §4.7 / §5.9 (self-generated worked example, [D] choices).
KEYS = StaticKeys(
    0x30,
    h("4a04190026ed41ed6792635cd78a605f"),
    h("65c55309c61d902bf9ff2e3b5eda5a9c"),
    h("7297c70e82651112665d3cf572569190"),
)
ISDP_AID = h("A0000005591010FFFFFFFF8900001000")
HOST_CHALLENGE = h("0001020304050607")
COMMAND_84 = h("840a30000001020304050607")
ANSWER_84 = h("842000000000000000000000300370f9d59f866db1a45ce1981836ff8763a3000001")
COMMAND_85 = h("85113383d0b862dffaac0cbbd47bdcdc4dd8b8")
MCV_AFTER_85 = h("bbd47bdcdc4dd8b8cbf32ab1e5a7c096")


class FixedChallenge(RandomSource):
    """A random source that hands out the worked example's host challenge."""

    def bytes(self, count: int) -> bytes:
        assert count == len(HOST_CHALLENGE)
        return HOST_CHALLENGE


def _pair(backend: Any) -> tuple[HostSession, CardSession]:
    host = HostSession(KEYS, ISDP_AID, backend, FixedChallenge())
    card = CardSession(KEYS, ISDP_AID, backend)
    return host, card


def test_handshake_matches_worked_example(backend: Any) -> None:
    host, card = _pair(backend)
    assert host.initialize_update() == COMMAND_84
    assert card.initialize_update(COMMAND_84) == ANSWER_84
    assert host.external_authenticate(ANSWER_84) == COMMAND_85
    assert card.external_authenticate(COMMAND_85) == h("8500")
    assert host.state == card.state == Scp03tState(MCV_AFTER_85, 0)


def test_segments_flow_after_the_handshake(backend: Any) -> None:
    host, card = _pair(backend)
    answer = card.initialize_update(host.initialize_update())
    card.external_authenticate(host.external_authenticate(answer))
    wrapped = host.wrap(bytes(range(200)) * 10, 240)
    received = b""
    for tlv, mcv in zip(wrapped.tlvs, wrapped.mcvs, strict=True):
        plain, state = card.unwrap(tlv)
        assert state.mcv == mcv
        received += plain
        assert host.open_response(state, card.answer(state, b"ok")) == b"ok"
    assert received == bytes(range(200)) * 10


def test_sequence_counter_moves_per_initialize_update(backend: Any) -> None:
    host, card = _pair(backend)
    card.initialize_update(host.initialize_update())
    second = card.initialize_update(host.initialize_update())
    assert second[-3:] == h("000002")


def test_wrong_security_level_is_refused(backend: Any) -> None:
    host, card = _pair(backend)
    card.initialize_update(COMMAND_84)
    # A correct MAC over level 13: recompute it the way the host would.
    from m2mrsp.crypto import scp03

    keys = scp03.SessionKeys.derive(KEYS.enc, KEYS.mac, HOST_CHALLENGE, h("f9d59f866db1a45c"))
    cryptogram = scp03.host_cryptogram(keys.s_mac, HOST_CHALLENGE, h("f9d59f866db1a45c"))
    message = h("851113") + cryptogram
    command = message + scp03.external_authenticate_mac(keys.s_mac, message)[:8]
    with pytest.raises(ScpError) as err:
        card.external_authenticate(command)
    assert err.value.kind is ScpErrorKind.SECURITY_LEVEL
    assert not card.open


def test_wrong_host_cryptogram_is_refused(backend: Any) -> None:
    _, card = _pair(backend)
    card.initialize_update(COMMAND_84)
    forged = bytearray(COMMAND_85)
    forged[3] ^= 1
    with pytest.raises(ScpError) as err:
        card.external_authenticate(bytes(forged))
    assert err.value.kind is ScpErrorKind.MAC_MISMATCH


def test_segment_outside_a_session_is_refused(backend: Any) -> None:
    _, card = _pair(backend)
    with pytest.raises(ScpError) as err:
        card.unwrap(h("8628") + bytes(40))
    assert err.value.kind is ScpErrorKind.BAD_STATE


def test_host_rejects_a_forged_card_cryptogram(backend: Any) -> None:
    host, _ = _pair(backend)
    host.initialize_update()
    forged = bytearray(ANSWER_84)
    forged[-5] ^= 1
    with pytest.raises(ScpError) as err:
        host.external_authenticate(bytes(forged))
    assert err.value.kind is ScpErrorKind.CRYPTOGRAM_MISMATCH


def test_host_turns_an_error_answer_into_a_card_error(backend: Any) -> None:
    host, _ = _pair(backend)
    host.initialize_update()
    with pytest.raises(ScpError) as err:
        host.external_authenticate(error_tlv(0x84, 0x6982))
    assert err.value.kind is ScpErrorKind.CARD_ERROR
    assert error_tlv(0x86, 0x6982) == h("9f06026982")
