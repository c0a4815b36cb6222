"""SCP03t on ES8 under attack, end to end on both back-ends (docs/FAULTS.md, PROTOCOL.md §5).

The small default profile travels in six 200-byte segments, four per SendData. ES8 message
numbers: 6/7 the ``84`` command and answer, 8/9 ``85``, 10-13 segments 1-4 and 14-17 their
answers, 18-19 segments 5-6 and 20-21 theirs. A card refusal is the error TLV ``9F 0x 02 SW``
(§5.5 [D]); the SM-DP then has the ISD-P deleted, and the card and EIS must agree.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest

from m2mrsp.crypto import scp03
from m2mrsp.entities.euicc import LifeCycle
from m2mrsp.errors import ProvisioningError, ScpError, ScpErrorKind
from m2mrsp.hotpath.types import Scp03tState
from m2mrsp.keylog import KeyLog
from m2mrsp.protocol import apdu, es3, es5
from m2mrsp.protocol.scp03t import CardSession, StaticKeys, error_tlv
from m2mrsp.provisioning import World
from tests.faults_support import (
    Es8Tap,
    assert_consistent,
    flip,
    make_world,
    run,
    small_profile,
    wrap_raw,
)

SEGMENT_SIZE = 200
COMMAND_84, ANSWER_84, COMMAND_85 = 6, 7, 8
FIRST_BATCH = 10
FIRST_ANSWER = 14
LAST_ANSWER = 21


def _world(backend: Any) -> tuple[World, io.StringIO]:
    world = make_world(backend, segment_size=SEGMENT_SIZE)
    log = io.StringIO()
    world.smdp._key_log = KeyLog(log)  # noqa: SLF001 - read the keys the SM-DP holds
    return world, log


def _secrets(log: io.StringIO) -> dict[str, bytes]:
    entries = {}
    for line in log.getvalue().splitlines():
        label, _, value = line.split()
        entries[label] = bytes.fromhex(value.zfill(len(value) + len(value) % 2))
    return entries


def _fail(world: World, tap: Es8Tap, match: str) -> list[bytes]:
    """Run; it must fail with ``match``; no ISD-P left. Returns the card's ES8 answers."""
    tap.attach(world.smdp)
    with pytest.raises(ProvisioningError, match=match):
        run(world, small_profile())
    assert world.euicc.isd_ps == {} and world.smsr.eis(world.eid).profiles == {}
    assert_consistent(world.euicc, world.smsr, world.eid)
    return [data for direction, data in tap.messages if direction == "in"]


def _batch(change: Callable[[list[bytes]], list[bytes]]) -> Callable[[list[bytes]], list[bytes]]:
    """Rewrite the first batch of segments only."""
    def rewrite(items: list[bytes]) -> list[bytes]:
        if items and items[0][:1] == b"\x86" and not rewrite.done:  # type: ignore[attr-defined]
            rewrite.done = True  # type: ignore[attr-defined]
            return change(items)
        return items
    rewrite.done = False  # type: ignore[attr-defined]
    return rewrite


SECURITY = error_tlv(0x86, 0x6982)


# -- segments -------------------------------------------------------------------------------------


def test_wrong_c_mac(backend: Any) -> None:
    world, _ = _world(backend)
    tap = Es8Tap(FIRST_BATCH + 1, lambda data: flip(data, 8 * len(data) - 1))
    answers = _fail(world, tap, "6982")
    # Three APDU answers, 84, 85, then segment 1 acknowledged and segment 2 refused.
    assert answers[-1] == SECURITY and len(answers) == 7


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("replayed", lambda s: [s[0], s[0], s[1], s[2]]),
        ("reordered", lambda s: [s[1], s[0], s[2], s[3]]),
        ("missing", lambda s: [s[0], s[2], s[3]]),
        ("from the last batch", lambda s: [s[0], s[3]]),
    ],
)
def test_replayed_reordered_or_missing_segments(backend: Any, name: str, change: Any) -> None:
    world, _ = _world(backend)
    tap = Es8Tap(batch_rewrite=_batch(change))
    answers = _fail(world, tap, "6982")
    assert answers[-1] == SECURITY, name


@pytest.mark.parametrize(
    "padded",
    [
        bytes(range(15)) + b"\x01",  # no 80 marker
        bytes(range(16)),  # no padding at all
        bytes(range(14)) + b"\x80\x01",  # 80 followed by a non-zero byte
        bytes(range(16)) + b"\x80" + bytes(15),  # valid padding but the data ends early
        b"\x80" + bytes(31),  # padding longer than a block
    ],
)
def test_bad_padding_under_a_valid_mac(backend: Any, padded: bytes) -> None:
    world, log = _world(backend)

    def forge(items: list[bytes]) -> list[bytes]:
        keys = _secrets(log)
        state = Scp03tState(keys["SCP03T_MCV"], int.from_bytes(keys["SCP03T_COUNTER"], "big"))
        forged, _ = wrap_raw(keys["SCP03T_S_ENC"], keys["SCP03T_S_MAC"], state, padded)
        return [forged]

    tap = Es8Tap(batch_rewrite=_batch(forge))
    if padded.endswith(b"\x80" + bytes(15)) and len(padded) == 32:
        # Correct padding: the card takes the 16 bytes as the start of the package, which is
        # no profile header, and answers an R-MAC'd EUICCResponse (no security error); the
        # SM-DP, which did not send that segment, finds the R-MAC wrong for its own.
        answers = _fail(world, tap, "MAC_MISMATCH")
        assert answers[-1][:1] == b"\x86" and len(answers[-1]) > 10
        return
    answers = _fail(world, tap, "6982")
    assert answers[-1] == SECURITY


def test_segment_after_a_finished_download(backend: Any) -> None:
    world, _ = _world(backend)
    tap = Es8Tap()
    tap.attach(world.smdp)
    result = run(world, small_profile())
    last_segment = [data for direction, data in tap.messages if direction == "out"][-1]
    answer = _send_data(world, result.isdp_aid, last_segment)
    assert answer == [error_tlv(0x86, apdu.SW_CONDITIONS_NOT_SATISFIED)]
    isd_p = world.euicc.isd_ps[result.isdp_aid]
    assert isd_p.state is LifeCycle.ENABLED and isd_p.profile is not None
    assert not isd_p.session_open
    assert_consistent(world.euicc, world.smsr, world.eid)


def test_segment_after_a_failed_download(backend: Any) -> None:
    world, _ = _world(backend)
    late: list[list[bytes]] = []
    tap = Es8Tap(FIRST_BATCH + 1, lambda data: flip(data, 8 * len(data) - 1))
    original = world.smdp.delete_isdp

    def delete_after_a_late_segment(eid: bytes, iccid: str) -> None:
        (aid,) = world.euicc.isd_ps
        segments = [data for direction, data in tap.messages if direction == "out"]
        late.append(_send_data(world, aid, segments[-1]))
        assert world.euicc.isd_ps[aid].download_failed
        original(eid, iccid)

    world.smdp.delete_isdp = delete_after_a_late_segment  # type: ignore[method-assign]
    _fail(world, tap, "6982")
    assert late == [[error_tlv(0x86, apdu.SW_CONDITIONS_NOT_SATISFIED)]]


def _send_data(world: World, aid: bytes, item: bytes) -> list[bytes]:
    request = es3.encode_request("SendData", 99, Eid=world.eid.hex(), SdAid=aid.hex(),
                                 Data=item.hex())
    response = es3.decode_response(world.smsr.handle_es3(request))
    script = es3.hex_field(response, "EuiccResponseData")
    return [raw for _, raw in es5.parse_response_script(script)]


# -- the handshake --------------------------------------------------------------------------------


def _forge_85(log: io.StringIO, messages: list[tuple[str, bytes]], level: int,
              cryptogram_change: int = 0) -> bytes:
    """An ``85`` with another security level (or cryptogram) and a valid C-MAC."""
    keys = _secrets(log)
    host_challenge = messages[COMMAND_84][1][4:12]
    card_challenge = messages[ANSWER_84][1][15:23]
    session = scp03.SessionKeys.derive(keys["ISDP_KEY_ENC"], keys["ISDP_KEY_MAC"],
                                       host_challenge, card_challenge)
    cryptogram = bytearray(scp03.host_cryptogram(session.s_mac, host_challenge, card_challenge))
    cryptogram[0] ^= cryptogram_change
    message = bytes((0x85, 0x11, level)) + bytes(cryptogram)
    return message + scp03.external_authenticate_mac(session.s_mac, message)[:8]


@pytest.mark.parametrize("level", [0x00, 0x01, 0x03, 0x13, 0x31, 0x37, 0xFF])
def test_wrong_security_level(backend: Any, level: int) -> None:
    world, log = _world(backend)
    tap = Es8Tap(COMMAND_85)
    tap.rewrite = lambda data: _forge_85(log, tap.messages, level)
    answers = _fail(world, tap, "6982")
    assert answers[-1] == error_tlv(0x85, 0x6982)


def test_a_valid_forged_85_is_accepted(backend: Any) -> None:
    # The forger above is right: with level 33 the card opens the session.
    world, log = _world(backend)
    tap = Es8Tap(COMMAND_85)
    tap.rewrite = lambda data: _forge_85(log, tap.messages, 0x33)
    tap.attach(world.smdp)
    assert run(world, small_profile()).isdp_state == "ENABLED"
    assert tap.hit


def test_wrong_host_cryptogram(backend: Any) -> None:
    world, log = _world(backend)
    tap = Es8Tap(COMMAND_85)
    tap.rewrite = lambda data: _forge_85(log, tap.messages, 0x33, cryptogram_change=0x01)
    answers = _fail(world, tap, "6982")
    assert answers[-1] == error_tlv(0x85, 0x6982)


def test_wrong_kvn_in_84(backend: Any) -> None:
    world, _ = _world(backend)
    answers = _fail(world, Es8Tap(COMMAND_84, lambda data: flip(data, 16)), "6A80")
    assert answers[-1] == error_tlv(0x84, apdu.SW_WRONG_DATA)


@pytest.mark.parametrize(
    ("byte", "kind"),
    [
        (12, "BAD_STATE"),  # KVN of the answer
        (14, "SECURITY_LEVEL"),  # i parameter
        (15, "CRYPTOGRAM_MISMATCH"),  # card challenge
        (23, "CRYPTOGRAM_MISMATCH"),  # card cryptogram
        (33, "CRYPTOGRAM_MISMATCH"),  # sequence counter: the challenge no longer matches
    ],
)
def test_forged_84_answer_is_refused_by_the_sm_dp(backend: Any, byte: int, kind: str) -> None:
    world, _ = _world(backend)
    _fail(world, Es8Tap(ANSWER_84, lambda data: flip(data, 8 * byte + 7)), kind)


def test_85_replayed_into_the_download(backend: Any) -> None:
    world, _ = _world(backend)
    tap = Es8Tap()
    tap.batch_rewrite = _batch(lambda s: [tap.messages[COMMAND_85][1], *s])
    answers = _fail(world, tap, "6985")
    assert answers[-1] == error_tlv(0x85, apdu.SW_CONDITIONS_NOT_SATISFIED)


def test_84_in_the_middle_of_a_download_discards_it(backend: Any) -> None:
    world, _ = _world(backend)
    tap = Es8Tap()
    tap.batch_rewrite = _batch(lambda s: [s[0], tap.messages[COMMAND_84][1], *s[1:]])
    answers = _fail(world, tap, "6985")
    assert answers[-1] == error_tlv(0x84, apdu.SW_CONDITIONS_NOT_SATISFIED)


# -- answers on the SM-DP side --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "change", "kind"),
    [
        (FIRST_ANSWER, lambda d: flip(d, 8 * len(d) - 1), "MAC_MISMATCH"),
        (FIRST_ANSWER + 2, lambda d: flip(d, 20), "MAC_MISMATCH"),
        (LAST_ANSWER, lambda d: flip(d, 8 * len(d) - 1), "MAC_MISMATCH"),
        (LAST_ANSWER, lambda d: flip(d, 30), "MAC_MISMATCH"),  # inside the R-ENC cipher text
        (LAST_ANSWER, lambda d: d[:-1], "BAD_LENGTH|MALFORMED"),
        (FIRST_ANSWER, lambda d: b"\x87" + d[1:], "WRONG_TAG"),
        (FIRST_ANSWER, lambda d: error_tlv(0x86, 0x6982), "CARD_ERROR"),
    ],
)
def test_r_mac_failures_on_the_sm_dp_side(
    backend: Any, index: int, change: Any, kind: str
) -> None:
    world, _ = _world(backend)
    _fail(world, Es8Tap(index, change), kind)


def test_a_failure_on_the_final_answer_removes_an_installed_profile(backend: Any) -> None:
    world, _ = _world(backend)
    states: list[LifeCycle] = []
    original = world.smdp.delete_isdp

    def deleting(eid: bytes, iccid: str) -> None:
        states.extend(isd_p.state for isd_p in world.euicc.isd_ps.values())
        original(eid, iccid)

    world.smdp.delete_isdp = deleting  # type: ignore[method-assign]
    _fail(world, Es8Tap(LAST_ANSWER, lambda d: flip(d, 8 * len(d) - 1)), "MAC_MISMATCH")
    assert states == [LifeCycle.DISABLED]  # the card had finished; error management undid it


# -- the card session alone -----------------------------------------------------------------------


def test_card_session_refuses_segments_once_closed(backend: Any) -> None:
    keys = StaticKeys(0x30, bytes(16), bytes(range(16)), bytes(16))
    card = CardSession(keys, apdu.isdp_aid(0x10), backend)
    with pytest.raises(ScpError) as info:
        card.unwrap(b"\x86\x18" + bytes(24))
    assert info.value.kind is ScpErrorKind.BAD_STATE
    with pytest.raises(ScpError) as info:
        card.external_authenticate(b"\x85\x11" + bytes(17))
    assert info.value.kind is ScpErrorKind.BAD_STATE
