"""Scenario #3 key establishment (PROTOCOL.md §4): the §4.7 vector and both ends for real."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from m2mrsp.crypto import ecc
from m2mrsp.crypto.cmac import aes_cmac
from m2mrsp.entities.ecasd import Ecasd
from m2mrsp.entities.pki import Pki, issue
from m2mrsp.errors import TlvError
from m2mrsp.protocol import apdu, certs, dgi, keyest
from m2mrsp.protocol.keyest import KeyAgreementError, KeyAgreementFailure
from m2mrsp.rng import RandomSource
from m2mrsp.timing import Recorder

# PROTOCOL.md §4.7, self-generated with the §4.5-4.6 [D] choices; keys from RFC 5903 §8.1.
V_ESK = bytes.fromhex("C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433")
V_EPK = bytes.fromhex(
    "04DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180"
    "5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3")
V_SK_ECASD = bytes.fromhex("C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53")
V_PK_ECASD = bytes.fromhex(
    "04D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63"
    "56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB")
V_CRT = bytes.fromhex("a6159002030a95015c8001888101108201018301309100")
V_RC = bytes.fromhex("00112233445566778899aabbccddeeff")
V_SIGNED = bytes.fromhex(
    "3a0217a6159002030a95015c8001888101108201018301309100"
    "7f4946b04104dad0b65394221cf9b051e1feca5787d098dfe637fc90b9ef945d0c3772581180"
    "5271a0461cdb8252d61f1c456fa3e59ab1f45b33accf5f58389e0577b8990bb3f00100"
    "008510" "00112233445566778899aabbccddeeff")
V_SHS = bytes.fromhex("d6840f6b42f6edafd13116e0e12565202fef8e9ece7dce03812464d04b9442de")
V_DR = bytes.fromhex("101112131415161718191a1b1c1d1e1f")
V_SHARED_INFO = bytes.fromhex("5c8810101112131415161718191a1b1c1d1e1f")
V_KEY_DATA = bytes.fromhex(
    "2686e7bd1e1c109c947219c2f176d1a6" "4a04190026ed41ed6792635cd78a605f"
    "65c55309c61d902bf9ff2e3b5eda5a9c" "7297c70e82651112665d3cf572569190")
V_RECEIPT_INPUT = bytes.fromhex(
    "a6159002030a95015c80018881011082010183013091008510101112131415161718191a1b1c1d1e1f")
V_RECEIPT = bytes.fromhex("c78b7caa070bf3b4957be0a48eeab2eb")
V_ANSWER = bytes.fromhex(
    "8510101112131415161718191a1b1c1d1e1f8610c78b7caa070bf3b4957be0a48eeab2eb9000")


class FixedRandom(RandomSource):
    """A RandomSource handing out given byte strings in order (to replay the §4.7 RC and DR)."""

    def __init__(self, *values: bytes) -> None:
        super().__init__(seed=0, label="fixed")
        self._values = list(values)

    def bytes(self, count: int) -> bytes:
        value = self._values.pop(0)
        assert len(value) == count
        return value


def _vector_keys() -> tuple[ec.EllipticCurvePrivateKey, ec.EllipticCurvePrivateKey]:
    return (ecc.private_key_from_scalar(ecc.P256, V_ESK),
            ecc.private_key_from_scalar(ecc.P256, V_SK_ECASD))


def test_vector_keys_match_their_points() -> None:
    esk, sk = _vector_keys()
    assert ecc.encode_point(esk.public_key()) == V_EPK
    assert ecc.encode_point(sk.public_key()) == V_PK_ECASD


def test_vector_crt_and_signed_data() -> None:
    assert keyest.DEFAULT_CRT.encode() == V_CRT
    assert keyest.parse_crt(V_CRT) == keyest.DEFAULT_CRT
    esk, _ = _vector_keys()
    key_fields = keyest.encode_ephemeral_key(esk.public_key(), ecc.P256)
    crt_dgi = dgi.encode_dgi(keyest.DGI_KEY_AGREEMENT_CRT, V_CRT)
    key_dgi = dgi.encode_dgi(keyest.DGI_EPHEMERAL_KEY, key_fields)
    assert keyest.signed_data(crt_dgi, key_dgi, V_RC) == V_SIGNED


def test_vector_shared_secret_and_derivation() -> None:
    esk, sk = _vector_keys()
    assert ecc.ecdh(esk, sk.public_key()) == V_SHS == ecc.ecdh(sk, esk.public_key())
    crt = keyest.DEFAULT_CRT
    assert keyest.shared_info(crt, V_DR) == V_SHARED_INFO
    key_data = keyest.derive_key_data(V_SHS, V_SHARED_INFO)
    assert key_data == V_KEY_DATA
    receipt_key, keys = keyest.split_key_data(key_data, crt)
    assert receipt_key.hex() == "2686e7bd1e1c109c947219c2f176d1a6"
    assert (keys.key_version, keys.key_ids) == (0x30, (1, 2, 3))
    assert keys.enc.hex() == "4a04190026ed41ed6792635cd78a605f"
    assert keys.mac.hex() == "65c55309c61d902bf9ff2e3b5eda5a9c"
    assert keys.dek.hex() == "7297c70e82651112665d3cf572569190"
    assert keyest.receipt_input(V_CRT, V_DR) == V_RECEIPT_INPUT
    assert keyest.compute_receipt(receipt_key, V_CRT, V_DR) == V_RECEIPT
    assert aes_cmac(receipt_key, V_RECEIPT_INPUT) == V_RECEIPT
    answer = keyest.encode_key_agreement_response(V_DR, V_RECEIPT)
    assert apdu.encode_response(answer, apdu.SW_OK) == V_ANSWER
    assert keyest.parse_key_agreement_response(answer, with_dr=True) == (V_DR, V_RECEIPT)


def test_kdf_choice_is_honoured() -> None:
    other = keyest.derive_key_data(V_SHS, V_SHARED_INFO, kdf="sp800-56c")
    assert len(other) == 64 and other != V_KEY_DATA
    with pytest.raises(ValueError):
        keyest.derive_key_data(V_SHS, V_SHARED_INFO, kdf="hkdf")


def _vector_pki() -> tuple[Pki, certs.Certificate]:
    """A PKI whose ECASD certificate carries the §4.7 static key SK.ECASD.ECKA = r."""
    pki = Pki.create(RandomSource(47, "vector"))
    _, sk = _vector_keys()
    cert = issue(pki.eum, sk.public_key(), ecc.P256, RandomSource(47, "vector-cert"),
                 key_usage=certs.KEY_USAGE_KEY_AGREEMENT, subject_identifier=pki.eid_bytes)
    return pki, cert


def test_vector_through_the_card_side() -> None:
    pki, cert = _vector_pki()
    _, sk = _vector_keys()
    ecasd = Ecasd(private_key=sk, certificate=cert.encoded, ci_public_key=pki.ci.public_key,
                  eid=pki.eid_bytes, rng=FixedRandom(V_RC))
    card = keyest.OnCardKeyAgreement(ecasd, FixedRandom(V_DR))
    apdu2 = keyest.build_certificate_command(pki.sm_dp.certificate_bytes)
    assert card.handle_store_data(apdu2) == b"\x85\x10" + V_RC
    esk, _ = _vector_keys()
    key_fields = keyest.encode_ephemeral_key(esk.public_key(), ecc.P256)
    signature = ecc.sign(pki.sm_dp.private_key, V_SIGNED)
    apdu3 = keyest.build_key_agreement_command(V_CRT, key_fields, signature)
    assert apdu3.to_bytes()[:5].hex() == "80e28901a6"
    assert apdu3.data == V_SIGNED[:-19] + b"\x5f\x37\x40" + signature
    answer = card.handle_store_data(apdu3)
    assert apdu.encode_response(answer, apdu.SW_OK) == V_ANSWER
    assert card.keys is not None and card.keys.enc.hex() == "4a04190026ed41ed6792635cd78a605f"


def test_vector_through_the_off_card_side(monkeypatch: pytest.MonkeyPatch) -> None:
    pki, cert = _vector_pki()
    esk, _ = _vector_keys()
    monkeypatch.setattr(ecc, "generate_private_key", lambda curve, rng: esk)
    sm_dp = keyest.OffCardKeyAgreement(
        dp_certificate=pki.sm_dp.certificate_bytes, dp_private_key=pki.sm_dp.private_key,
        ecasd_certificate=cert.encoded, eum_public_key=pki.eum.public_key,
        rng=RandomSource(1), eid=pki.eid_bytes)
    apdu3 = sm_dp.key_agreement_command(b"\x85\x10" + V_RC)
    signature = dgi.decode_dgis(apdu3.data)[2][1]
    assert apdu3.data[:-67] == V_SIGNED[:-19]
    assert ecc.verify(pki.sm_dp.public_key, signature, V_SIGNED)
    keys = sm_dp.finish(V_ANSWER[:-2])
    assert (keys.enc + keys.mac + keys.dek) == V_KEY_DATA[16:]


# --- the CRT ----------------------------------------------------------------------------------


def test_crt_round_trip_with_options() -> None:
    crt = keyest.KeyAgreementCrt(scenario_parameter=0x0E, key_access=0x01,
                                 sequence_counter=b"\x00\x01", host_id=b"HOST", sdin=b"\x01\x02")
    encoded = crt.encode()
    assert encoded.hex() == (
        "a624" "9002030e" "95015c" "960101" "800188" "810110" "820101" "830130" "91020001"
        "45020102" "8404484f5354")
    assert keyest.parse_crt(encoded) == crt
    no_counter = keyest.KeyAgreementCrt(sequence_counter=None)
    assert keyest.parse_crt(no_counter.encode()) == no_counter


@pytest.mark.parametrize(
    ("hex_crt", "offset"),
    [
        (V_CRT.hex().replace("9002030a", "9002040a"), 2),  # scenario 04
        ("a6099002030a9901009100", 6),  # unknown tag 99 (before anything is found missing)
        ("a60b9002030a95015c91009100", 11),  # repeated 91
        ("a6049002030a", 0),  # 95, 80, 81, 82 and 83 missing
        ("a715" + V_CRT.hex()[4:], 0),  # not A6
        (V_CRT.hex() + "00", 0),  # bytes after the CRT
        ("a616" + V_CRT.hex()[4:-4] + "910100", 21),  # 91 of length 1
        ("a616900203" + "0a95025c00" + V_CRT.hex()[18:], 6),  # 95 of two bytes
    ],
)
def test_crt_parse_errors(hex_crt: str, offset: int) -> None:
    with pytest.raises(KeyAgreementError) as err:
        keyest.parse_crt(bytes.fromhex(hex_crt))
    assert (err.value.kind, err.value.offset) == (KeyAgreementFailure.MALFORMED, offset)


def test_crt_tlv_errors_keep_their_offsets() -> None:
    with pytest.raises(TlvError) as err:
        keyest.parse_crt(bytes.fromhex("a603900203"))  # 90 claims 2 bytes, 1 follows
    assert err.value.offset == 3
    with pytest.raises(TlvError) as err:
        keyest.parse_crt(bytes.fromhex("a605900203"))  # A6 claims 5 bytes, 3 follow
    assert err.value.offset == 1


@pytest.mark.parametrize(
    "crt",
    [
        keyest.KeyAgreementCrt(scenario_parameter=0x0B),  # unknown bit 01
        keyest.KeyAgreementCrt(scenario_parameter=0x0E),  # bit 04 without SDIN/HostID
        keyest.KeyAgreementCrt(host_id=b"H"),  # HostID without bit 04
        keyest.KeyAgreementCrt(scenario_parameter=0x0E, sdin=b"\x01"),  # SDIN needs a SIN
        keyest.KeyAgreementCrt(key_length=0x20),
        keyest.KeyAgreementCrt(key_usage=0x40),
    ],
)
def test_unsupported_crts(crt: keyest.KeyAgreementCrt) -> None:
    with pytest.raises(KeyAgreementError) as err:
        keyest.check_supported(crt)
    assert err.value.kind is KeyAgreementFailure.UNSUPPORTED


def test_shared_info_with_host_id_and_sdin() -> None:
    crt = keyest.KeyAgreementCrt(scenario_parameter=0x0E, host_id=b"\xaa\xbb", sdin=b"\xcc")
    assert keyest.shared_info(crt, V_DR, sin=b"\x01\x02").hex() == (
        "5c8810" + V_DR.hex() + "02aabb" + "020102" + "01cc")
    no_dr = keyest.KeyAgreementCrt(scenario_parameter=0x08)
    assert keyest.shared_info(no_dr, None).hex() == "5c8810"


# --- commands and responses ---------------------------------------------------------------------


def test_certificate_command_bytes_and_njiwa_lengths() -> None:
    pki = Pki.create(RandomSource(3))
    cert = pki.sm_dp.certificate_bytes
    command = keyest.build_certificate_command(cert)
    assert command.to_bytes()[:4].hex() == "80e20900"
    assert command.data == b"\x3a\x01" + bytes([len(cert)]) + cert
    assert keyest.parse_certificate_command(command.data) == cert
    njiwa = b"\x3a\x01\x81" + bytes([len(cert)]) + cert
    assert keyest.parse_certificate_command(njiwa) == cert
    with pytest.raises(KeyAgreementError) as err:
        keyest.parse_certificate_command(b"\x3a\x02\x01\x00")
    assert (err.value.kind, err.value.offset) == (KeyAgreementFailure.MALFORMED, 0)


def test_challenge_and_receipt_responses() -> None:
    assert keyest.encode_challenge_response(V_RC) == b"\x85\x10" + V_RC
    assert keyest.parse_challenge_response(b"\x85\x10" + V_RC) == V_RC
    assert keyest.encode_key_agreement_response(None, V_RECEIPT) == b"\x86\x10" + V_RECEIPT
    assert keyest.parse_key_agreement_response(b"\x86\x10" + V_RECEIPT, False) == (None,
                                                                                     V_RECEIPT)
    for bad, offset in [(b"\x85\x0f" + V_RC[:15], 0), (b"\x86\x10" + V_RC, 0),
                        (b"\x85\x10" + V_RC + b"\x00", 19), (b"\x85\x11" + V_RC, 1)]:
        with pytest.raises(KeyAgreementError) as err:
            keyest.parse_challenge_response(bad)
        assert err.value.offset == offset
    with pytest.raises(KeyAgreementError):
        keyest.parse_key_agreement_response(b"\x86\x10" + V_RECEIPT, True)


def test_receipt_comparison() -> None:
    assert keyest.receipts_equal(V_RECEIPT, bytes(V_RECEIPT))
    assert not keyest.receipts_equal(V_RECEIPT, V_RECEIPT[:-1] + b"\x00")
    assert not keyest.receipts_equal(V_RECEIPT, V_RECEIPT[:8])


# --- both ends, for real ------------------------------------------------------------------------

CURVE_MATRIX = [
    (ecc.P256, ecc.P256, ecc.P256),
    (ecc.BRAINPOOL_P256R1, ecc.BRAINPOOL_P256R1, ecc.BRAINPOOL_P256R1),
    (ecc.P256, ecc.BRAINPOOL_P256R1, ecc.P256),
    (ecc.BRAINPOOL_P256R1, ecc.P256, ecc.BRAINPOOL_P256R1),
    (ecc.P256, ecc.P256, ecc.BRAINPOOL_P256R1),
]


class Scenario:
    """One SM-DP and one card (ECASD + ISD-P side) from a fresh PKI."""

    def __init__(self, pki: Pki, *, seed: int = 11, kdf: str = "x963", card_kdf: str = "x963",
                 crt: keyest.KeyAgreementCrt = keyest.DEFAULT_CRT,
                 dp_certificate: bytes | None = None) -> None:
        self.pki = pki
        self.ecasd = pki.make_ecasd(RandomSource(seed, "ecasd"))
        self.card = keyest.OnCardKeyAgreement(self.ecasd, RandomSource(seed, "isdp"),
                                              kdf=card_kdf)
        self.sm_dp = keyest.OffCardKeyAgreement(
            dp_certificate=dp_certificate or pki.sm_dp.certificate_bytes,
            dp_private_key=pki.sm_dp.private_key,
            ecasd_certificate=pki.ecasd.certificate_bytes,
            eum_public_key=pki.eum.public_key,
            rng=RandomSource(seed, "sm-dp"), eid=pki.eid_bytes, crt=crt, kdf=kdf)

    def challenge(self) -> bytes:
        wire = self.sm_dp.certificate_command().to_bytes()
        return self.card.handle_store_data(apdu.parse_command(wire))

    def apdu3(self) -> apdu.CommandApdu:
        return self.sm_dp.key_agreement_command(self.challenge())

    def run(self) -> keyest.IsdpKeys:
        answer = self.card.handle_store_data(apdu.parse_command(self.apdu3().to_bytes()))
        return self.sm_dp.finish(answer)


@pytest.mark.parametrize(("ci", "ecasd", "dp"), CURVE_MATRIX,
                         ids=lambda c: c.name)
def test_full_scenario_on_every_curve_mix(ci: ecc.Curve, ecasd: ecc.Curve, dp: ecc.Curve) -> None:
    pki = Pki.create(RandomSource(5), ci_curve=ci, eum_curve=ci, ecasd_curve=ecasd, dp_curve=dp)
    scenario = Scenario(pki)
    recorder = Recorder()
    with recorder.active():
        keys = scenario.run()
    assert scenario.card.keys == keys
    assert (keys.key_version, keys.key_ids) == (0x30, (1, 2, 3))
    assert len({keys.enc, keys.mac, keys.dek}) == 3
    names = {path[-1] for path in recorder.totals()}
    assert {"verify certificate", "random challenge", "generate ephemeral key", "sign",
            "verify signature", "shared secret", "kdf", "receipt"} <= names


def test_apdu3_layout_on_the_wire() -> None:
    scenario = Scenario(Pki.create(RandomSource(6), ecasd_curve=ecc.BRAINPOOL_P256R1))
    command = scenario.apdu3()
    wire = command.to_bytes()
    assert wire[:4].hex() == "80e28901" and wire[4] == len(command.data) == 166
    items = dgi.decode_dgis(command.data)
    assert [tag for tag, _ in items] == [0x3A02, 0x7F49, 0x5F37]
    assert items[0][1] == V_CRT
    assert items[1][1][:3] == b"\xb0\x41\x04" and items[1][1][-3:] == b"\xf0\x01\x03"
    assert len(items[2][1]) == 64


def test_kdf_names_on_both_sides() -> None:
    pki = Pki.create(RandomSource(8))
    keys = Scenario(pki, kdf="sp800-56c", card_kdf="sp800-56c").run()
    assert keys == Scenario(pki, kdf="sp800-56c", card_kdf="sp800-56c").run()
    assert keys != Scenario(pki).run()
    with pytest.raises(KeyAgreementError) as err:
        Scenario(pki, kdf="x963", card_kdf="sp800-56c").run()
    assert err.value.kind is KeyAgreementFailure.RECEIPT_MISMATCH


def test_host_id_and_no_derivation_random() -> None:
    pki = Pki.create(RandomSource(9))
    with_host = keyest.KeyAgreementCrt(scenario_parameter=0x0E, host_id=b"SM-DP-1")
    scenario = Scenario(pki, crt=with_host)
    assert scenario.run() == scenario.card.keys
    without_dr = keyest.KeyAgreementCrt(scenario_parameter=keyest.PARAMETER_CERTIFICATE_VERIFIED)
    scenario = Scenario(pki, crt=without_dr)
    command = scenario.apdu3()
    answer = scenario.card.handle_key_agreement(command.data)
    assert answer[:2] == b"\x86\x10" and len(answer) == 18
    assert scenario.sm_dp.finish(answer) == scenario.card.keys


# --- rejections ---------------------------------------------------------------------------------

PKI = Pki.create(RandomSource(21))


def _refused(call: object, kind: KeyAgreementFailure) -> KeyAgreementError:
    with pytest.raises(KeyAgreementError) as err:
        call()  # type: ignore[operator]
    assert err.value.kind is kind
    return err.value


def test_certificate_signed_by_another_ci() -> None:
    other = Pki.create(RandomSource(22))
    scenario = Scenario(PKI, dp_certificate=other.sm_dp.certificate_bytes)
    err = _refused(scenario.challenge, KeyAgreementFailure.BAD_CERTIFICATE)
    assert err.sw == 0x6982
    # Same C9 as the real CI, signed by another key.
    body = certs.parse_certificate(PKI.sm_dp.certificate_bytes).body
    forged = certs.sign_certificate(body, other.ci.private_key).encoded
    scenario = Scenario(PKI, dp_certificate=forged)
    _refused(scenario.challenge, KeyAgreementFailure.BAD_CERTIFICATE)
    _refused(lambda: scenario.card.handle_key_agreement(b""), KeyAgreementFailure.WRONG_ORDER)


def test_sm_sr_certificate_where_sm_dp_expected() -> None:
    scenario = Scenario(PKI, dp_certificate=PKI.sm_sr.certificate_bytes)
    err = _refused(scenario.challenge, KeyAgreementFailure.WRONG_CERTIFICATE_TYPE)
    assert err.sw == 0x6985


def test_bad_certificate_signature() -> None:
    raw = bytearray(PKI.sm_dp.certificate_bytes)
    raw[-5] ^= 0x40
    scenario = Scenario(PKI, dp_certificate=bytes(raw))
    _refused(scenario.challenge, KeyAgreementFailure.BAD_CERTIFICATE)


def test_unknown_curve_reference_in_the_certificate() -> None:
    raw = PKI.sm_dp.certificate_bytes
    index = raw.index(b"\xf0\x01\x00")
    patched = raw[:index] + b"\xf0\x01\x07" + raw[index + 3:]
    scenario = Scenario(PKI, dp_certificate=patched)
    err = _refused(scenario.challenge, KeyAgreementFailure.MALFORMED)
    assert err.offset == 3 + index and err.sw == 0x6A80  # after the 3A01 L header


def _signed_apdu3(scenario: Scenario, key_fields: bytes) -> bytes:
    """APDU 3 data over arbitrary 7F49 content, validly signed by the SM-DP."""
    challenge = keyest.parse_challenge_response(scenario.challenge())
    crt_dgi = dgi.encode_dgi(keyest.DGI_KEY_AGREEMENT_CRT, V_CRT)
    key_dgi = dgi.encode_dgi(keyest.DGI_EPHEMERAL_KEY, key_fields)
    signature = ecc.sign(PKI.sm_dp.private_key, keyest.signed_data(crt_dgi, key_dgi, challenge))
    return keyest.build_key_agreement_command(V_CRT, key_fields, signature).data


@pytest.mark.parametrize(
    ("point", "reference"),
    [
        (V_EPK[:-1] + bytes([V_EPK[-1] ^ 1]), 0x00),  # not on P-256
        (V_EPK[:-1], 0x00),  # one byte short
        (b"\x02" + V_EPK[1:33], 0x00),  # compressed form
        (V_EPK, 0x03),  # a P-256 point declared as brainpool
        (ecc.encode_point(ecc.generate_private_key(ecc.BRAINPOOL_P256R1,
                                                   RandomSource(2)).public_key()), 0x03),
    ],
)
def test_bad_ephemeral_points(point: bytes, reference: int) -> None:
    scenario = Scenario(PKI)
    fields = b"\xb0" + bytes([len(point)]) + point + b"\xf0\x01" + bytes([reference])
    data = _signed_apdu3(scenario, fields)
    err = _refused(lambda: scenario.card.handle_key_agreement(data),
                   KeyAgreementFailure.BAD_POINT)
    assert err.offset == 29 and err.sw == 0x6A80  # B0 after DGI 3A02 (26) and 7F49 L (3)
    assert scenario.card.keys is None


def test_unknown_curve_reference_in_the_ephemeral_key() -> None:
    scenario = Scenario(PKI)
    data = _signed_apdu3(scenario, b"\xb0\x41" + V_EPK + b"\xf0\x01\x05")
    err = _refused(lambda: scenario.card.handle_key_agreement(data),
                   KeyAgreementFailure.BAD_POINT)
    assert err.offset == 29 + 67


def test_bad_key_agreement_signature_then_order_resets() -> None:
    scenario = Scenario(PKI)
    data = bytearray(scenario.apdu3().data)
    data[-1] ^= 0x01
    err = _refused(lambda: scenario.card.handle_key_agreement(bytes(data)),
                   KeyAgreementFailure.BAD_SIGNATURE)
    assert err.sw == 0x6982
    _refused(lambda: scenario.card.handle_key_agreement(bytes(data)),
             KeyAgreementFailure.WRONG_ORDER)


def test_malformed_certificate_command_cancels_the_previous_one() -> None:
    scenario = Scenario(PKI)
    data = scenario.apdu3().data
    err = _refused(lambda: scenario.card.handle_certificate(b"\x3a\x01\x02\x7f"),
                   KeyAgreementFailure.MALFORMED)
    assert err.offset == 2
    _refused(lambda: scenario.card.handle_key_agreement(data), KeyAgreementFailure.WRONG_ORDER)


def test_signature_bound_to_the_challenge() -> None:
    scenario = Scenario(PKI)
    stale = scenario.apdu3().data
    scenario.challenge()  # a new RC replaces the one APDU 3 was signed over
    _refused(lambda: scenario.card.handle_key_agreement(stale), KeyAgreementFailure.BAD_SIGNATURE)


def test_receipt_mismatch() -> None:
    scenario = Scenario(PKI)
    answer = bytearray(scenario.card.handle_key_agreement(scenario.apdu3().data))
    answer[-1] ^= 0x80
    _refused(lambda: scenario.sm_dp.finish(bytes(answer)), KeyAgreementFailure.RECEIPT_MISMATCH)
    _refused(lambda: scenario.sm_dp.finish(bytes(answer)), KeyAgreementFailure.WRONG_ORDER)


def test_apdu3_before_the_certificate() -> None:
    scenario = Scenario(PKI)
    other = Scenario(PKI)
    data = other.apdu3().data
    err = _refused(lambda: scenario.card.handle_key_agreement(data),
                   KeyAgreementFailure.WRONG_ORDER)
    assert err.sw == 0x6985


def test_off_card_order_and_responses() -> None:
    scenario = Scenario(PKI)
    _refused(lambda: scenario.sm_dp.finish(b"\x86\x10" + bytes(16)),
             KeyAgreementFailure.WRONG_ORDER)
    _refused(lambda: scenario.sm_dp.key_agreement_command(b"\x85\x01\x00"),
             KeyAgreementFailure.MALFORMED)
    scenario.apdu3()
    _refused(lambda: scenario.sm_dp.key_agreement_command(b"\x85\x10" + bytes(16)),
             KeyAgreementFailure.WRONG_ORDER)


def test_card_refuses_after_keys_and_odd_p1p2() -> None:
    scenario = Scenario(PKI)
    scenario.run()
    _refused(scenario.challenge, KeyAgreementFailure.WRONG_ORDER)
    odd = apdu.build_store_data(b"", 0x88, 0x00)
    _refused(lambda: scenario.card.handle_store_data(odd), KeyAgreementFailure.MALFORMED)


def test_off_card_checks_the_ecasd_certificate() -> None:
    other = Pki.create(RandomSource(23))
    kwargs = dict(dp_certificate=PKI.sm_dp.certificate_bytes,
                  dp_private_key=PKI.sm_dp.private_key, rng=RandomSource(1))
    cases = [
        (other.ecasd.certificate_bytes, PKI.eum.public_key, None,
         certs.CertificateFailure.WRONG_ISSUER),
        (PKI.ecasd.certificate_bytes, PKI.eum.public_key, other.eid_bytes,
         certs.CertificateFailure.WRONG_SUBJECT),
        (PKI.sm_dp.certificate_bytes, PKI.ci.public_key, None,
         certs.CertificateFailure.WRONG_KEY_USAGE),
        (PKI.ecasd.certificate_bytes, other.eum.public_key, None,
         certs.CertificateFailure.WRONG_ISSUER),
    ]
    for certificate, eum_key, eid, kind in cases:
        with pytest.raises(certs.CertificateCheckError) as err:
            keyest.OffCardKeyAgreement(ecasd_certificate=certificate, eum_public_key=eum_key,
                                       eid=eid, **kwargs)  # type: ignore[arg-type]
        assert err.value.kind is kind
    with pytest.raises(KeyAgreementError):
        keyest.OffCardKeyAgreement(ecasd_certificate=PKI.ecasd.certificate_bytes,
                                   eum_public_key=PKI.eum.public_key,
                                   crt=keyest.KeyAgreementCrt(scenario_parameter=0x01),
                                   **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mutate", "offset"),
    [
        (lambda d: d[26:99] + d[:26] + d[99:], 0),  # 7F49 first
        (lambda d: d[:99], 99),  # no signature
        (lambda d: d[:-1], 101),  # 5F37 runs past the end (its length byte)
        (lambda d: d + b"\x3a\x05\x00", 166),  # a fourth DGI
        (lambda d: d[:3] + b"\xa6\x16" + d[5:], 4),  # A6 length past its DGI
        (lambda d: d[:99] + b"\x5f\x37\x00", 99),  # empty signature
    ],
)
def test_malformed_apdu3(mutate: object, offset: int) -> None:
    scenario = Scenario(PKI)
    data = mutate(scenario.apdu3().data)  # type: ignore[operator]
    err = _refused(lambda: scenario.card.handle_key_agreement(data),
                   KeyAgreementFailure.MALFORMED)
    assert err.offset == offset


def test_ecasd_keeps_its_key_and_checks_it() -> None:
    ecasd = PKI.make_ecasd(RandomSource(1))
    assert ecasd.eid == PKI.eid_bytes and ecasd.certificate == PKI.ecasd.certificate_bytes
    assert not any("private" in name for name in dir(ecasd) if not name.startswith("_"))
    with pytest.raises(ValueError):
        Ecasd(private_key=PKI.sm_dp.private_key, certificate=PKI.ecasd.certificate_bytes,
              ci_public_key=PKI.ci.public_key, eid=PKI.eid_bytes, rng=RandomSource(1))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 165), st.integers(1, 255), st.integers(0, 3))
def test_mutated_apdu3_raise_only_key_agreement_errors(index: int, flip: int, cut: int) -> None:
    scenario = Scenario(PKI, seed=31)
    data = bytearray(scenario.apdu3().data)
    data[index] ^= flip
    mutated = bytes(data[: len(data) - cut])
    try:
        answer = scenario.card.handle_key_agreement(mutated)
    except KeyAgreementError as err:
        assert err.offset is None or 0 <= err.offset <= len(mutated)
        return
    # Only a change the signature does not cover (none here) could be accepted.
    pytest.fail(f"mutated APDU 3 accepted: {answer.hex()}")
