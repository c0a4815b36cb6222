"""The transport model's arithmetic, against hand-computed cases."""

from __future__ import annotations

import pytest

from m2mrsp.hotpath.scp03t_py import SegmentCipher
from m2mrsp.hotpath.types import Scp03tState
from m2mrsp.protocol import es5
from m2mrsp.transport import (
    Es3Model,
    HttpsBearer,
    NetworkModel,
    SmsBearer,
    http_post_headers,
    network_model,
    scp80_command_bytes,
    scp80_response_bytes,
    sms_count,
    tls_bytes,
)

AID = bytes.fromhex("A0000005591010FFFFFFFF8900001000")


def _segment_script(plaintext_bytes: int) -> bytes:
    cipher = SegmentCipher(bytes(16), bytes(16), bytes(16))
    tlv, _ = cipher.wrap_segment(Scp03tState(bytes(16), 0), bytes(plaintext_bytes))
    return es5.build_command_script([tlv])


@pytest.mark.parametrize(
    ("packet", "count"),
    [(1, 1), (137, 1), (138, 2), (132 + 134, 2), (132 + 134 + 1, 3), (1020, 8)],
)
def test_sms_count(packet: int, count: int) -> None:
    # One SMS holds 140 - 3 (UDH with the packet IEI) bytes; concatenated: 132, then 134 each.
    assert sms_count(packet) == count


def test_scp80_packet_sizes() -> None:
    # 10 clear header bytes + AES(CNTR 5, PCNTR 1, CC 8, script) padded to 16.
    assert scp80_command_bytes(bytes(92)) == 10 + 112
    assert scp80_command_bytes(bytes(98)) == 10 + 128
    # 6 clear bytes + AES(CNTR 5, PCNTR 1, status 1, CC 8, script) padded to 16.
    assert scp80_response_bytes(bytes(10)) == 6 + 32


def test_default_sms_segment_is_the_largest_fitting_one_sms() -> None:
    size = SmsBearer().default_segment_size
    assert sms_count(scp80_command_bytes(_segment_script(size))) == 1
    assert sms_count(scp80_command_bytes(_segment_script(size + 1))) == 2


def test_sms_exchange_time() -> None:
    bearer = SmsBearer(mt_delay_s=2.0, mo_delay_s=1.5, next_sms_s=0.25)
    request = es5.frame(AID, bytes(300))  # 10 + pad16(314) = 330 bytes: 3 SMS
    response = bytes(10)  # 38 bytes: 1 SMS
    exchange = bearer.exchange(request, response)
    assert exchange.messages == 4
    assert exchange.seconds == pytest.approx(2.0 + 1.5 + 0.25 * 2)


def test_tls_record_overhead() -> None:
    # 5 header + 16 IV + AES(payload + 32 MAC) padded: 100 -> 144, 16384 -> 16432.
    assert tls_bytes(100) == 5 + 16 + 144
    assert tls_bytes(16384) == 5 + 16 + 16432
    assert tls_bytes(16385) == (5 + 16 + 16432) + (5 + 16 + 48)


def test_https_exchange_opens_a_session_once_and_again_after_a_push() -> None:
    bearer = HttpsBearer(rtt_s=0.1, uplink_bps=8e3, downlink_bps=8e3, push_delay_s=1.0,
                         eid="8" * 32)
    script, answer = bytes(50), bytes(20)
    request = es5.frame(AID, script)
    first = bearer.exchange(request, answer)
    second = bearer.exchange(request, answer)
    down_bytes, up_bytes = first.request_bytes, first.response_bytes
    assert up_bytes == tls_bytes(len(http_post_headers("8" * 32, 20)) + 20)
    transfer = 8 * up_bytes / 8e3 + 8 * down_bytes / 8e3
    assert second.seconds == pytest.approx(0.1 + transfer)
    assert first.seconds == pytest.approx(1.0 + 3 * 0.1 + second.seconds)
    push = bearer.exchange(es5.frame(AID, es5.PUSH), answer)
    assert push.seconds > 1.0 + 3 * 0.1


def test_es3_exchange_time() -> None:
    model = Es3Model(rtt_s=0.01, bandwidth_bps=8e6, envelope_bytes=100)
    exchange = model.exchange(bytes(900), bytes(400))
    assert exchange.seconds == pytest.approx(0.01 + 8 * (1000 + 500) / 8e6)


def test_network_model_books_per_phase_on_a_virtual_clock() -> None:
    model = NetworkModel(Es3Model(rtt_s=0.5, bandwidth_bps=1e12, envelope_bytes=0), SmsBearer())
    assert model.book("ISD-P creation", "ES3", b"{}", b"{}") == pytest.approx(0.5)
    assert model.book("ISD-P creation", "ES8", b"x", b"y") == 0.0
    model.book("enabling", "ES3", b"{}", b"{}")
    assert model.seconds_by_phase == pytest.approx({"ISD-P creation": 0.5, "enabling": 0.5})
    assert model.clock_s == pytest.approx(1.0)


def test_unknown_bearer_is_refused() -> None:
    assert network_model("none") is None
    with pytest.raises(ValueError, match="bearer"):
        network_model("carrier-pigeon")
