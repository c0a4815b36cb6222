"""GP SCP03 (Amd D) against real-card traces and the PROTOCOL.md §5.9 worked example.

Provenance: the §9.2 and §9.3 vectors are real-card traces from pySim
``tests/unittests/test_globalplatform.py`` (osmocom/pysim @ 597f1e0), re-derived byte for byte
in PROTOCOL.md §9.2-9.3 [V]. The §5.9 vectors are self-generated in PROTOCOL.md from the §4.7
keys: regression vectors for this simulator's choices, not evidence of conformance.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st

from m2mrsp.crypto.cmac import aes_cmac
from m2mrsp.crypto.scp03 import (
    DERIVE_S_ENC,
    LEVEL_C_DECRYPTION,
    SECURITY_LEVELS,
    SGP02_SECURITY_LEVEL,
    ZERO_MCV,
    ApduChannel,
    InitializeUpdateResponse,
    SessionKeys,
    card_challenge,
    card_cryptogram,
    command_icv,
    external_authenticate_mac,
    host_cryptogram,
    initialize_update_command,
    key_check_value,
    pad,
    response_icv,
    scp03_kdf,
    unpad,
    verify_card_cryptogram,
)
from m2mrsp.errors import ScpError, ScpErrorKind

h = bytes.fromhex

# PROTOCOL.md §9.2: static key set (KVN 30) and the SD (ISD-R) of the pySim traces.
KEY_ENC = h("000102030405060708090a0b0c0d0e0f")
KEY_MAC = h("101112131415161718191a1b1c1d1e1f")
KEY_DEK = h("202122232425262728292a2b2c2d2e2f")
ISD_R_AID = h("A0000005591010FFFFFFFF8900000100")
KVN = 0x30


@dataclass(frozen=True)
class Handshake:
    """One §9.2 trace: the bytes on the wire and the values derived from them."""

    level: int
    init_update: str
    init_response: str
    s_enc: str
    s_mac: str
    s_rmac: str
    host_cryptogram: str
    ext_auth: str


HANDSHAKES = [
    Handshake(
        0x11,
        "8050300008b13e5f938fc108c400",
        "000000000000000000003003703eb51047495b249f66c484c1d2ef1948000002",
        "c4e87149f2114da66bb015a567d751f9",
        "8b2635556e987a6b84f43d9ffc197d3f",
        "3f6b2ce3b3abd9a99bd4453afa54cc7b",
        "7d5f5826a993ebc8",
        "84821100107d5f5826a993ebc89eea24957fa0b3ce",
    ),
    Handshake(
        0x03,
        "80503000088e1552d0513c60f300",
        "0000000000000000000030037030760cd2c47c1dd395065fe5ead8a9d7000001",
        "ee54985e150155e021725489f717d645",
        "59b76ddff91dba0515a9644de3a48863",
        "5942bf778c5942f17037da8278f9330d",
        "fd4721a14d9b0700",
        "8482030010fd4721a14d9b07003c451d2f8ae6bb21",
    ),
    Handshake(
        0x33,
        "8050300008fdf38259a1e0de4400",
        "000000000000000000003003703b1aca81e821f219081cdc01c26b372d000003",
        "bc5689f3a0b783a9ed6da1c5c6bc1f99",
        "0415f56cbb9e488bb171b2b66081f004",
        "1ee185123244e047bc9d68b914bd1fbe",
        "8c36f96bcc00724a",
        "84823300108c36f96bcc00724a4e13ad591d7da3f0",
    ),
]
CASE_33 = HANDSHAKES[2]
MCV_AFTER_EXT_AUTH_33 = "4e13ad591d7da3f0520c9b22e18d4b6a"

# PROTOCOL.md §9.3: (counter, plain C-APDU, wrapped C-APDU) after the case-33 handshake.
WRAPPED_33 = [
    (
        1,
        "80E2910006BF3E035C015A00",
        "84e2910018267a85dfe4a98fca6fb0527e0dfecce4914e40401433c87f00",
    ),
    (2, "80F22002", "84f2200208ac6a59024bed84cc"),
    (3, "80ca006600", "84ca006608409912ad8fb7aed000"),
    (
        4,
        "80F220020a4f0212345c054f9f70c5",
        "84f22002185f3dafc3ac14c381536a488bf44e06d056df9d74dbd21e5a",
    ),
    (5, "80f28002024f0000", "84f280021865165105be3373347d0424d4400af2ac393f569ec779389e00"),
]
ICV_1 = "2130ff8bbb48c9be46f5b4fd6945003d"
RESPONSE_1 = "f3ba2b1013aa6224f5e1c138d71805c569e5439b47576260b75fc021b25097cb2e68f8a0144975b99000"
RESPONSE_1_PLAIN = "bf3e125a1089882119900000000000000000000005"


def _host_challenge(trace: Handshake) -> bytes:
    return h(trace.init_update)[5:13]


def _session(trace: Handshake) -> tuple[SessionKeys, bytes, bytes]:
    response = InitializeUpdateResponse.parse(h(trace.init_response))
    host = _host_challenge(trace)
    keys = SessionKeys.derive(KEY_ENC, KEY_MAC, host, response.card_challenge)
    return keys, host, response.card_challenge


def _open_pair(trace: Handshake = CASE_33) -> tuple[ApduChannel, ApduChannel]:
    """A host channel and a card channel after the trace's EXTERNAL AUTHENTICATE."""
    keys, host, card = _session(trace)
    cryptogram = host_cryptogram(keys.s_mac, host, card)
    host_side, card_side = ApduChannel(keys), ApduChannel(keys)
    card_side.accept_external_authenticate(
        host_side.external_authenticate(trace.level, cryptogram), cryptogram
    )
    return host_side, card_side


# ---------------------------------------------------------------- KDF and handshake (§9.2)


def test_kdf_field_order_over_two_blocks() -> None:
    """Blocks are CMAC(K, 11×00 ‖ const ‖ 00 ‖ L ‖ i ‖ context), i from 01 (GP Amd D §4.1.5)."""
    context = h("0001020304050607") + h("08090a0b0c0d0e0f")
    fixed = bytes(11) + bytes([DERIVE_S_ENC]) + b"\x00" + (256).to_bytes(2, "big")
    expected = aes_cmac(KEY_ENC, fixed + b"\x01" + context) + aes_cmac(
        KEY_ENC, fixed + b"\x02" + context
    )
    assert scp03_kdf(KEY_ENC, DERIVE_S_ENC, context, 256) == expected
    # L is part of the input, so a shorter output is not a prefix of the longer one.
    assert scp03_kdf(KEY_ENC, DERIVE_S_ENC, context, 128) != expected[:16]


@pytest.mark.parametrize(
    ("constant", "bits"), [(256, 64), (-1, 64), (4, 0), (4, 12), (4, 256 * 128)]
)
def test_kdf_rejects_bad_parameters(constant: int, bits: int) -> None:
    """A constant that is not a byte or a length that is not whole bytes is a ValueError."""
    with pytest.raises(ValueError):
        scp03_kdf(KEY_ENC, constant, b"", bits)


def test_key_check_values() -> None:
    """KCV = AES(key, 16 × 01)[0:3] for the three static keys of §9.2."""
    assert key_check_value(KEY_ENC).hex() == "c35280"
    assert key_check_value(KEY_MAC).hex() == "013808"
    assert key_check_value(KEY_DEK).hex() == "840de5"


@pytest.mark.parametrize("trace", HANDSHAKES, ids=lambda t: f"{t.level:02x}")
def test_handshake_traces(trace: Handshake) -> None:
    """Every derived value of a real-card handshake, from INITIALIZE UPDATE to EXT AUTH."""
    host = _host_challenge(trace)
    assert initialize_update_command(KVN, host).hex() == trace.init_update
    response = InitializeUpdateResponse.parse(h(trace.init_response))
    assert (response.kvn, response.i_parameter) == (KVN, 0x70)
    assert response.encode().hex() == trace.init_response
    assert response.sequence_counter is not None
    assert card_challenge(KEY_ENC, response.sequence_counter, ISD_R_AID) == response.card_challenge

    keys = SessionKeys.derive(KEY_ENC, KEY_MAC, host, response.card_challenge)
    assert (keys.s_enc.hex(), keys.s_mac.hex(), keys.s_rmac.hex()) == (
        trace.s_enc,
        trace.s_mac,
        trace.s_rmac,
    )
    cryptogram = card_cryptogram(keys.s_mac, host, response.card_challenge)
    assert cryptogram == response.card_cryptogram
    verify_card_cryptogram(keys, host, response.card_challenge, response.card_cryptogram)
    assert host_cryptogram(keys.s_mac, host, response.card_challenge).hex() == trace.host_cryptogram

    channel = ApduChannel(keys)
    assert channel.external_authenticate(trace.level, h(trace.host_cryptogram)).hex() == (
        trace.ext_auth
    )
    assert (channel.security_level, channel.counter) == (trace.level, 0)
    assert channel.mcv[:8].hex() == trace.ext_auth[-16:]
    card = ApduChannel(keys)
    assert card.accept_external_authenticate(h(trace.ext_auth), h(trace.host_cryptogram)) == (
        trace.level
    )
    assert card.mcv == channel.mcv


def test_mcv_after_external_authenticate_case_33() -> None:
    """The full EXT AUTH C-MAC (the MCV) of case 33, from the zero MCV over header ‖ cryptogram."""
    keys, _, _ = _session(CASE_33)
    message = h(CASE_33.ext_auth)[:-8]
    assert external_authenticate_mac(keys.s_mac, message).hex() == MCV_AFTER_EXT_AUTH_33
    assert aes_cmac(keys.s_mac, ZERO_MCV + message).hex() == MCV_AFTER_EXT_AUTH_33
    host, _ = _open_pair()
    assert host.mcv.hex() == MCV_AFTER_EXT_AUTH_33


def test_card_cryptogram_mismatch() -> None:
    """A card holding other static keys is caught at INITIALIZE UPDATE time."""
    keys, host, card = _session(CASE_33)
    with pytest.raises(ScpError) as err:
        verify_card_cryptogram(keys, host, card, bytes(8))
    assert err.value.kind is ScpErrorKind.CRYPTOGRAM_MISMATCH


# ---------------------------------------------------------------- APDU wrapping (§9.3)


def _aes_block(key: bytes, block: bytes) -> bytes:
    """One AES-ECB block straight from cryptography (an independent check of the ICV rules)."""
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return encryptor.update(block) + encryptor.finalize()


def test_wrapping_after_case_33() -> None:
    """The five §9.3 commands: C-ENC, C-MAC, counter on data-less commands, MCV chain."""
    keys, _, _ = _session(CASE_33)
    host, card = _open_pair()
    assert command_icv(keys.s_enc, 1).hex() == ICV_1
    assert command_icv(keys.s_enc, 1) == _aes_block(keys.s_enc, bytes(15) + b"\x01")
    for counter, plain, wrapped in WRAPPED_33:
        assert host.wrap_command(h(plain)).hex() == wrapped
        assert host.counter == counter
        lc = h(wrapped)[4]
        assert host.mcv[:8] == h(wrapped)[5 + lc - 8 : 5 + lc]
        assert card.unwrap_command(h(wrapped)) == h(plain)
        assert (card.counter, card.mcv) == (counter, host.mcv)


def test_response_to_first_command() -> None:
    """R-MAC over MCV ‖ cipher text ‖ 9000, R-ICV = AES(S-ENC, 80 00…01), then the plaintext."""
    keys, _, _ = _session(CASE_33)
    host, card = _open_pair()
    host.wrap_command(h(WRAPPED_33[0][1]))
    card.unwrap_command(h(WRAPPED_33[0][2]))
    response = h(RESPONSE_1)
    r_mac = aes_cmac(keys.s_rmac, host.mcv + response[:32] + response[-2:])[:8]
    assert r_mac == response[32:40]
    r_icv = response_icv(keys.s_enc, 1)
    assert r_icv == _aes_block(keys.s_enc, b"\x80" + bytes(14) + b"\x01")
    assert host.unwrap_response(response) == (h(RESPONSE_1_PLAIN), 0x9000)
    assert card.wrap_response(h(RESPONSE_1_PLAIN), 0x9000) == response


# ---------------------------------------------------------------- §5.9 worked example


def test_worked_example_5_9() -> None:
    """The pure-SCP03 parts of PROTOCOL.md §5.9 (self-generated from the §4.7 keys, [D])."""
    key_enc = h("4a04190026ed41ed6792635cd78a605f")
    key_mac = h("65c55309c61d902bf9ff2e3b5eda5a9c")
    isd_p_aid = h("A0000005591010FFFFFFFF8900001000")
    host = h("0001020304050607")
    challenge = card_challenge(key_enc, 1, isd_p_aid)
    assert challenge.hex() == "f9d59f866db1a45c"

    keys = SessionKeys.derive(key_enc, key_mac, host, challenge)
    assert keys.s_enc.hex() == "bee8ea6a721ce0a884e74551d4a521e9"
    assert keys.s_mac.hex() == "801ebe19b0c23e31f36396f2eda36307"
    assert keys.s_rmac.hex() == "22da8dd9bc12b29078b8368af0a23775"

    body = h("842000000000000000000000300370f9d59f866db1a45ce1981836ff8763a3000001")[2:]
    response = InitializeUpdateResponse.parse(body)
    assert (response.card_challenge, response.sequence_counter) == (challenge, 1)
    assert card_cryptogram(keys.s_mac, host, challenge).hex() == "e1981836ff8763a3"
    assert response.card_cryptogram.hex() == "e1981836ff8763a3"
    cryptogram = host_cryptogram(keys.s_mac, host, challenge)
    assert cryptogram.hex() == "83d0b862dffaac0c"

    ext_auth_tlv_head = h("8511") + bytes([SGP02_SECURITY_LEVEL]) + cryptogram
    full = external_authenticate_mac(keys.s_mac, ext_auth_tlv_head)
    assert full[:8].hex() == "bbd47bdcdc4dd8b8"
    assert full.hex() == "bbd47bdcdc4dd8b8cbf32ab1e5a7c096"
    assert command_icv(keys.s_enc, 1).hex() == "ad093c304ae48792b4f8be718cab52ea"
    assert response_icv(keys.s_enc, 1).hex() == "07177119ed73807f3f37831155a57ea7"


# ---------------------------------------------------------------- failures


def _scp_error(kind: ScpErrorKind, offset: int | None, call: object, *args: object) -> None:
    """Assert ``call(*args)`` raises ScpError of ``kind`` (at ``offset`` unless None)."""
    assert callable(call)
    with pytest.raises(ScpError) as err:
        call(*args)
    assert err.value.kind is kind
    if offset is not None:
        assert err.value.offset == offset


def _protect_raw(channel: ApduChannel, keys: SessionKeys, header: bytes, blocks: bytes) -> bytes:
    """A command whose data field is ``blocks`` CBC-encrypted as is (no padding added) and
    correctly MACed, so only the padding rule can reject it."""
    icv = command_icv(keys.s_enc, channel.counter + 1)
    encryptor = Cipher(algorithms.AES(keys.s_enc), modes.CBC(icv)).encryptor()
    cipher_text = encryptor.update(blocks) + encryptor.finalize()
    head = header + bytes([len(cipher_text) + 8])
    return head + cipher_text + aes_cmac(keys.s_mac, channel.mcv + head + cipher_text)[:8]


def test_no_secure_messaging_before_external_authenticate() -> None:
    """Every wrap/unwrap call before EXTERNAL AUTHENTICATE is BAD_STATE."""
    keys, _, _ = _session(CASE_33)
    channel = ApduChannel(keys)
    assert channel.security_level is None
    _scp_error(ScpErrorKind.BAD_STATE, None, channel.wrap_command, h("80F22002"))
    _scp_error(
        ScpErrorKind.BAD_STATE, None, channel.unwrap_command, h("84f2200208ac6a59024bed84cc")
    )
    _scp_error(ScpErrorKind.BAD_STATE, None, channel.wrap_response, b"", 0x9000)
    _scp_error(ScpErrorKind.BAD_STATE, None, channel.unwrap_response, h("9000"))


@pytest.mark.parametrize("level", [0x00, 0x02, 0x10, 0x31, 0x37])
def test_undefined_security_level_is_refused(level: int) -> None:
    """Only 01, 03, 11, 13 and 33 open a session (C-MAC always on, R-ENC only with C-DEC)."""
    keys, host, card = _session(CASE_33)
    cryptogram = host_cryptogram(keys.s_mac, host, card)
    _scp_error(
        ScpErrorKind.SECURITY_LEVEL, 2, ApduChannel(keys).external_authenticate, level, cryptogram
    )
    message = bytes([0x84, 0x82, level, 0x00, 0x10]) + cryptogram
    apdu = message + external_authenticate_mac(keys.s_mac, message)[:8]
    card_side = ApduChannel(keys)
    _scp_error(
        ScpErrorKind.SECURITY_LEVEL, 2, card_side.accept_external_authenticate, apdu, cryptogram
    )
    assert card_side.security_level is None


def test_card_refuses_bad_external_authenticate() -> None:
    """Short, foreign, MAC-tampered or wrong-cryptogram EXT AUTH commands leave no session."""
    keys, _, _ = _session(CASE_33)
    good, cryptogram = h(CASE_33.ext_auth), h(CASE_33.host_cryptogram)
    card = ApduChannel(keys)
    _scp_error(
        ScpErrorKind.BAD_LENGTH, 20, card.accept_external_authenticate, good[:-1], cryptogram
    )
    _scp_error(
        ScpErrorKind.WRONG_TAG,
        0,
        card.accept_external_authenticate,
        good[:1] + b"\x84" + good[2:],
        cryptogram,
    )
    _scp_error(
        ScpErrorKind.MAC_MISMATCH,
        13,
        card.accept_external_authenticate,
        good[:-1] + bytes([good[-1] ^ 1]),
        cryptogram,
    )
    _scp_error(
        ScpErrorKind.CRYPTOGRAM_MISMATCH, 5, card.accept_external_authenticate, good, bytes(8)
    )
    assert (card.security_level, card.mcv) == (None, ZERO_MCV)


def test_tampered_command_mac_leaves_state() -> None:
    """A flipped MAC bit is MAC_MISMATCH at the first MAC byte; the genuine command still works."""
    _, card = _open_pair()
    wrapped = h(WRAPPED_33[0][2])
    tampered = bytearray(wrapped)
    tampered[-2] ^= 0x01
    _scp_error(ScpErrorKind.MAC_MISMATCH, 5 + 16, card.unwrap_command, bytes(tampered))
    assert (card.counter, card.mcv.hex()) == (0, MCV_AFTER_EXT_AUTH_33)
    assert card.unwrap_command(wrapped) == h(WRAPPED_33[0][1])


def test_tampered_cipher_text_is_caught_by_the_mac() -> None:
    """Changing cipher text is reported as a MAC failure, before anything is decrypted."""
    _, card = _open_pair()
    tampered = bytearray(h(WRAPPED_33[0][2]))
    tampered[6] ^= 0x80
    _scp_error(ScpErrorKind.MAC_MISMATCH, 21, card.unwrap_command, bytes(tampered))


def test_card_refuses_unprotected_and_malformed_commands() -> None:
    """No SM bit, no room for a MAC, or a data field that is not whole blocks."""
    keys, _, _ = _session(CASE_33)
    _, card = _open_pair()
    _scp_error(ScpErrorKind.SECURITY_LEVEL, 0, card.unwrap_command, h("80F22002"))
    _scp_error(ScpErrorKind.BAD_LENGTH, 4, card.unwrap_command, h("84f2200204aabbccdd"))
    partial = h("84f2200210") + bytes(16)  # 8 bytes of "cipher text" and 8 of MAC
    _scp_error(ScpErrorKind.BAD_LENGTH, 4, card.unwrap_command, partial)
    no_pad = _protect_raw(card, keys, h("84E29100"), bytes(range(16)))
    _scp_error(ScpErrorKind.BAD_PADDING, 5, card.unwrap_command, no_pad)
    assert card.counter == 0


@pytest.mark.parametrize(
    ("apdu", "offset"),
    [
        ("", 0),
        ("80", 1),
        ("80CA00", 3),
        ("80CA0000050102", 4),
        ("80CA000000aabb", 4),
        ("80CA0000020102000000", 4),
    ],
)
def test_malformed_plain_apdu(apdu: str, offset: int) -> None:
    """Too short, Lc disagreeing with the body, or an extended-length Lc: BAD_LENGTH."""
    host, _ = _open_pair()
    _scp_error(ScpErrorKind.BAD_LENGTH, offset, host.wrap_command, h(apdu))
    assert host.counter == 0


@pytest.mark.parametrize(("trace", "fits"), [(CASE_33, 239), (HANDSHAKES[0], 247)])
def test_largest_short_apdu(trace: Handshake, fits: int) -> None:
    """Protected data plus MAC must fit Lc ≤ 255 (239 plain bytes with C-DEC, 247 without)."""
    host, card = _open_pair(trace)
    plain = h("80E20000") + bytes([fits]) + bytes(fits)
    assert card.unwrap_command(host.wrap_command(plain)) == plain
    too_long = h("80E20000") + bytes([fits + 1]) + bytes(fits + 1)
    _scp_error(ScpErrorKind.BAD_LENGTH, 4, host.wrap_command, too_long)
    assert host.counter == 1


def test_response_failures() -> None:
    """R-MAC mismatch, no room for the R-MAC, missing SW, partial cipher block."""
    keys, _, _ = _session(CASE_33)
    host, _ = _open_pair()
    host.wrap_command(h(WRAPPED_33[0][1]))
    response = bytearray(h(RESPONSE_1))
    response[-3] ^= 0x01
    _scp_error(ScpErrorKind.MAC_MISMATCH, 32, host.unwrap_response, bytes(response))
    _scp_error(ScpErrorKind.BAD_LENGTH, 0, host.unwrap_response, h("90"))
    _scp_error(ScpErrorKind.BAD_LENGTH, 0, host.unwrap_response, h("01020304059000"))
    data = bytes(8)
    r_mac = aes_cmac(keys.s_rmac, host.mcv + data + h("9000"))[:8]
    _scp_error(ScpErrorKind.BAD_LENGTH, 0, host.unwrap_response, data + r_mac + h("9000"))


def test_error_status_is_neither_macced_nor_checked() -> None:
    """A 6A82 answer carries no R-MAC: the card sends it bare and the host passes it through."""
    host, card = _open_pair()
    card.unwrap_command(host.wrap_command(h("80ca006600")))
    assert card.wrap_response(b"", 0x6A82) == h("6A82")
    assert host.unwrap_response(h("6A82")) == (b"", 0x6A82)


def test_warning_status_is_protected() -> None:
    """A 63xx warning is R-MACed like 9000 (GP Amd D), and an empty body is not encrypted."""
    host, card = _open_pair()
    card.unwrap_command(host.wrap_command(h("80F22002")))
    answer = card.wrap_response(b"", 0x6310)
    assert len(answer) == 8 + 2 and answer.endswith(h("6310"))
    assert host.unwrap_response(answer) == (b"", 0x6310)


@pytest.mark.parametrize(
    ("body", "kind", "offset"),
    [
        ("00" * 28, ScpErrorKind.BAD_LENGTH, 28),
        ("00" * 10 + "300270" + "00" * 19, ScpErrorKind.SECURITY_LEVEL, 11),
        ("00" * 10 + "300371" + "00" * 19, ScpErrorKind.SECURITY_LEVEL, 12),
        ("00" * 10 + "300370" + "00" * 16, ScpErrorKind.BAD_LENGTH, 29),
        ("00" * 10 + "300360" + "00" * 19, ScpErrorKind.BAD_LENGTH, 29),
    ],
)
def test_initialize_update_response_errors(body: str, kind: ScpErrorKind, offset: int) -> None:
    """Short body, other SCP, S16 mode, counter present/absent against the i parameter."""
    _scp_error(kind, offset, InitializeUpdateResponse.parse, h(body))


def test_initialize_update_response_without_counter() -> None:
    """With i b5 = 0 (random card challenge) the body is 29 bytes and has no counter."""
    body = h("0102030405060708090a30036011111111111111112222222222222222")
    response = InitializeUpdateResponse.parse(body)
    assert response.sequence_counter is None
    assert response.key_diversification_data == body[:10]
    assert response.encode() == body


@pytest.mark.parametrize("length", range(34))
def test_padding(length: int) -> None:
    """ISO 9797-1 method 2 always adds 1-16 bytes and strips back exactly."""
    data = bytes([0xA5]) * length
    padded = pad(data)
    assert len(padded) % 16 == 0 and 1 <= len(padded) - length <= 16
    assert padded[length] == 0x80 and not any(padded[length + 1 :])
    assert unpad(padded) == data


@pytest.mark.parametrize("padded", ["", "00" * 16, "0102", "80" + "00" * 16, "8001"])
def test_bad_padding(padded: str) -> None:
    """No 80 marker, or more than 15 zeros after it, is BAD_PADDING at the given offset."""
    _scp_error(ScpErrorKind.BAD_PADDING, 7, unpad, h(padded), 7)


def test_argument_checks() -> None:
    """Wrong key, challenge, counter or KVN sizes are programming errors (ValueError)."""
    with pytest.raises(ValueError, match="Key-ENC"):
        SessionKeys.derive(bytes(32), KEY_MAC, bytes(8), bytes(8))
    with pytest.raises(ValueError, match="card challenge"):
        SessionKeys.derive(KEY_ENC, KEY_MAC, bytes(8), bytes(16))
    with pytest.raises(ValueError, match="3 bytes"):
        card_challenge(KEY_ENC, 1 << 24, ISD_R_AID)
    with pytest.raises(ValueError, match="KVN"):
        initialize_update_command(256, bytes(8))
    with pytest.raises(ValueError, match="host cryptogram"):
        ApduChannel(SessionKeys(KEY_ENC, KEY_MAC, KEY_DEK)).external_authenticate(0x33, bytes(4))


def test_session_keys_repr_hides_keys() -> None:
    """Logging a SessionKeys object prints no key bytes."""
    keys, _, _ = _session(CASE_33)
    text = repr(keys)
    assert "SessionKeys" in text
    assert all(secret not in text for secret in (str(keys.s_enc), keys.s_enc.hex()))


# ---------------------------------------------------------------- properties

_CLASSES = [0x00, 0x03, 0x80, 0x82, 0x40, 0x4F, 0xC1]


@st.composite
def _plain_apdus(draw: st.DrawFn, max_data: int) -> bytes:
    """A short plain C-APDU of any case 1-4 whose class byte has no SM bit."""
    header = bytes([draw(st.sampled_from(_CLASSES))]) + draw(st.binary(min_size=3, max_size=3))
    data = draw(st.binary(max_size=max_data))
    le = draw(st.sampled_from([b"", b"\x00", b"\x10"]))
    return header + (bytes([len(data)]) + data if data else b"") + le


@given(
    level=st.sampled_from(sorted(SECURITY_LEVELS)),
    exchanges=st.lists(
        st.tuples(
            _plain_apdus(239),
            st.binary(max_size=64),
            st.sampled_from([0x9000, 0x6310, 0x6A82]),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_host_card_round_trip(level: int, exchanges: list[tuple[bytes, bytes, int]]) -> None:
    """Host wrap → card unwrap gives the plain APDU; card wrap → host unwrap gives the answer."""
    keys, host_challenge, card_chal = _session(CASE_33)
    cryptogram = host_cryptogram(keys.s_mac, host_challenge, card_chal)
    host, card = ApduChannel(keys), ApduChannel(keys)
    card.accept_external_authenticate(host.external_authenticate(level, cryptogram), cryptogram)
    for apdu, answer, sw in exchanges:
        wrapped = host.wrap_command(apdu)
        data_len = apdu[4] if len(apdu) > 5 else 0
        encrypted = level & LEVEL_C_DECRYPTION and data_len
        assert wrapped[4] == (16 * (data_len // 16 + 1) if encrypted else data_len) + 8
        assert card.unwrap_command(wrapped) == apdu
        assert (card.counter, card.mcv) == (host.counter, host.mcv)
        assert host.unwrap_response(card.wrap_response(answer, sw)) == (answer, sw)


@given(garbage=st.binary(max_size=300))
def test_card_never_crashes_on_garbage(garbage: bytes) -> None:
    """Random bytes into every card/host parser raise only ScpError."""
    keys, _, _ = _session(CASE_33)
    host, card = _open_pair()
    for call in (card.unwrap_command, host.unwrap_response, InitializeUpdateResponse.parse):
        try:
            call(garbage)
        except ScpError:
            pass
    try:
        ApduChannel(keys).accept_external_authenticate(garbage, h(CASE_33.host_cryptogram))
    except ScpError:
        pass


@given(
    ins=st.integers(0, 255),
    data=st.binary(min_size=8, max_size=247),
)
def test_forged_commands_are_rejected(ins: int, data: bytes) -> None:
    """A well-formed protected APDU with a made-up data field never passes the C-MAC check."""
    _, card = _open_pair()
    forged = bytes([0x84, ins, 0, 0, len(data)]) + data
    with pytest.raises(ScpError) as err:
        card.unwrap_command(forged)
    assert err.value.kind in (ScpErrorKind.MAC_MISMATCH, ScpErrorKind.BAD_LENGTH)
    assert card.counter == 0
