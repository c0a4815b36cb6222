"""Key establishment under attack: certificates, ephemeral keys, signatures, receipts.

Each test runs the real phases (tests/faults_support.py) with one ES8 input made bad and checks
the status word the card answered (PROTOCOL.md §4.4, [D] table of keyest.py), that the SM-DP's
error management deleted the ISD-P, and that the card and the EIS agree (docs/FAULTS.md).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from m2mrsp.crypto import ecc
from m2mrsp.entities.euicc import LifeCycle
from m2mrsp.entities.pki import Party, Pki, issue
from m2mrsp.errors import ProvisioningError
from m2mrsp.protocol import apdu, certs, dgi, es5, keyest
from m2mrsp.provisioning import Options, World, set_up
from m2mrsp.rng import RandomSource
from tests.faults_support import (
    Es8Tap,
    assert_consistent,
    flip,
    make_world,
    run,
    small_profile,
)

# ES8 message numbers of key establishment (tests/test_faults_campaign.py lists them all).
APDU_2, APDU_2_ANSWER, APDU_3, APDU_3_ANSWER = 1, 3, 4, 5


def _fail(world: World, tap: Es8Tap | None = None, match: str = "") -> ProvisioningError:
    """Run the phases; they must fail, and leave neither an ISD-P nor a record behind."""
    tap = tap or Es8Tap()
    tap.attach(world.smdp)
    with pytest.raises(ProvisioningError, match=match) as info:
        run(world, small_profile())
    assert world.euicc.isd_ps == {}
    assert world.smsr.eis(world.eid).profiles == {}
    assert_consistent(world.euicc, world.smsr, world.eid)
    world.tap = tap  # type: ignore[attr-defined]
    return info.value


def _last_sw(world: World) -> int:
    """The status word of the last R-APDU the card answered on ES8."""
    answers = [data for direction, data in world.tap.messages  # type: ignore[attr-defined]
               if direction == "in"]
    return apdu.split_response(answers[-1])[1]


def _with_credentials(world: World, key: ec.EllipticCurvePrivateKey, certificate: bytes) -> None:
    world.smdp._credentials = dataclasses.replace(  # noqa: SLF001 - swapping the SM-DP's keys
        world.smdp._credentials, private_key=key, certificate=certificate
    )


def _other_pki() -> Pki:
    return Pki.create(RandomSource(99, "another CI"))


# -- CERT.DP.ECDSA (APDU 2) ---------------------------------------------------------------------


def test_certificate_from_another_ci_is_refused(backend: Any) -> None:
    world = make_world(backend)
    other = _other_pki()
    _with_credentials(world, other.sm_dp.private_key, other.sm_dp.certificate_bytes)
    _fail(world, match="6982")
    assert _last_sw(world) == apdu.SW_SECURITY_STATUS_NOT_SATISFIED


def test_certificate_naming_our_ci_but_signed_by_another_is_refused(backend: Any) -> None:
    world = make_world(backend)
    impostor = Party(_other_pki().ci.private_key, ecc.P256)
    genuine = certs.parse_certificate(world.pki.sm_dp.certificate_bytes)
    # The impostor copies every field, C9 and 42 included, and signs with its own key.
    forged = certs.sign_certificate(genuine.body, impostor.private_key)
    _with_credentials(world, world.pki.sm_dp.private_key, forged.encoded)
    _fail(world, match="6982")


def test_sm_sr_certificate_instead_of_sm_dp_is_refused(backend: Any) -> None:
    world = make_world(backend)
    _with_credentials(world, world.pki.sm_sr.private_key, world.pki.sm_sr.certificate_bytes)
    _fail(world, match="6985")
    assert _last_sw(world) == apdu.SW_CONDITIONS_NOT_SATISFIED


def test_certificate_without_type_is_refused(backend: Any) -> None:
    world = make_world(backend)
    ci = Party(world.pki.ci.private_key, ecc.P256)
    key = world.pki.sm_dp.private_key
    untyped = issue(ci, key.public_key(), ecc.P256, RandomSource(3),
                    key_usage=certs.KEY_USAGE_SIGNATURE)
    _with_credentials(world, key, untyped.encoded)
    _fail(world, match="6985")


def test_certificate_with_a_bad_signature_is_refused(backend: Any) -> None:
    world = make_world(backend)
    certificate = flip(world.pki.sm_dp.certificate_bytes, -8 * 5)  # inside 5F37
    _with_credentials(world, world.pki.sm_dp.private_key, certificate)
    _fail(world, match="6982")


def test_certificate_on_an_unknown_curve_is_refused(backend: Any) -> None:
    world = make_world(backend)
    certificate = world.pki.sm_dp.certificate_bytes
    reference = bytes((certs.TAG_KEY_PARAMETER_REFERENCE, 1, ecc.P256.key_parameter_reference))
    assert certificate.count(reference) == 1
    unknown = certificate.replace(reference, reference[:2] + b"\x05")
    _with_credentials(world, world.pki.sm_dp.private_key, unknown)
    _fail(world, match="6A80")
    assert _last_sw(world) == apdu.SW_WRONG_DATA


@pytest.mark.parametrize("length", [0, 1, 20, 100])
def test_truncated_certificate_is_malformed(backend: Any, length: int) -> None:
    world = make_world(backend)
    _with_credentials(world, world.pki.sm_dp.private_key,
                      world.pki.sm_dp.certificate_bytes[:length])
    _fail(world, match="6A80")


# -- the ephemeral key and the signature (APDU 3) -----------------------------------------------


def _point_fields(point: bytes, reference: int = 0x00) -> bytes:
    return (certs.encode_public_key_fields(point, ecc.P256)[:-1] + bytes((reference,))
            if reference else certs.encode_public_key_fields(point, ecc.P256))


def _send_ephemeral(monkeypatch: pytest.MonkeyPatch, fields: bytes) -> None:
    """Make the (certified, honestly signing) SM-DP put ``fields`` into DGI 7F49."""
    monkeypatch.setattr(keyest, "encode_ephemeral_key", lambda key, curve: fields)


def _p256_point() -> bytes:
    key = ecc.generate_private_key(ecc.P256, RandomSource(4))
    return ecc.encode_point(key.public_key())


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("off the curve", lambda p: _point_fields(p[:-1] + bytes((p[-1] ^ 1,)))),
        ("point at infinity", lambda p: _point_fields(b"\x00")),
        ("all-zero coordinates", lambda p: _point_fields(b"\x04" + bytes(64))),
        ("compressed", lambda p: _point_fields(b"\x02" + p[1:33])),
        ("too short", lambda p: _point_fields(p[:-1])),
        ("x beyond the field", lambda p: _point_fields(b"\x04" + b"\xff" * 64)),
        ("brainpool point as P-256", lambda p: _point_fields(ecc.encode_point(
            ecc.generate_private_key(ecc.BRAINPOOL_P256R1, RandomSource(4)).public_key()))),
        ("other curve than the ECASD's", lambda p: _point_fields(p, reference=0x03)),
        ("unknown curve reference", lambda p: _point_fields(p, reference=0x05)),
    ],
)
def test_invalid_ephemeral_key_is_refused(
    backend: Any, monkeypatch: pytest.MonkeyPatch, name: str, fields: Any
) -> None:
    world = make_world(backend)
    _send_ephemeral(monkeypatch, fields(_p256_point()))
    _fail(world, match="6A80")
    assert _last_sw(world) == apdu.SW_WRONG_DATA, name


def test_a_flipped_bit_in_the_key_agreement_signature_is_refused(backend: Any) -> None:
    world = make_world(backend)
    tap = Es8Tap(APDU_3, lambda data: flip(data, 8 * len(data) - 1))
    _fail(world, tap, match="6982")


def test_key_agreement_signed_by_another_key_is_refused(
    backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(backend)
    other = _other_pki().sm_dp.private_key
    original = keyest.ecc.sign
    monkeypatch.setattr(keyest.ecc, "sign", lambda key, message: original(other, message))
    _fail(world, match="6982")


def test_key_agreement_replayed_from_another_session_is_refused(backend: Any) -> None:
    first = make_world(backend)
    record = Es8Tap()
    record.attach(first.smdp)
    run(first, small_profile())
    old_apdu_3 = record.messages[APDU_3][1]
    # Same PKI and EID, but the card draws another challenge RC.
    world = set_up(Options(backend=backend.NAME, seed=6), pki=first.pki)
    _fail(world, Es8Tap(APDU_3, lambda data: old_apdu_3), match="6982")


def test_key_agreement_without_certificate_is_refused(backend: Any) -> None:
    world = make_world(backend)
    world.smdp.create_isdp(world.eid, "89000123456789012341", 2000)
    aid = next(iter(world.euicc.isd_ps))
    personalize = apdu.build_install_for_personalization(aid).to_bytes()
    crt = keyest.DEFAULT_CRT.encode()
    fields = certs.encode_public_key_fields(_p256_point(), ecc.P256)
    command = keyest.build_key_agreement_command(crt, fields, bytes(64)).to_bytes()
    answer = world.euicc.handle_es5(es5.frame(apdu.ISD_R_AID, es5.build_command_script(
        [es5.command_item(personalize), es5.command_item(command)])))
    rapdus = [r for _, r in es5.parse_response_script(answer)]
    assert [apdu.split_response(r)[1] for r in rapdus] == [apdu.SW_OK,
                                                          apdu.SW_CONDITIONS_NOT_SATISFIED]
    assert world.euicc.isd_ps[aid].state is LifeCycle.SELECTABLE
    assert not world.euicc.ecasd.pending
    assert_consistent(world.euicc, world.smsr, world.eid)


def test_key_establishment_on_an_isd_p_that_has_keys_is_refused(backend: Any) -> None:
    world = make_world(backend)
    result = run(world, small_profile(), enable=False)
    personalize = apdu.build_install_for_personalization(result.isdp_aid).to_bytes()
    certificate = keyest.build_certificate_command(world.pki.sm_dp.certificate_bytes).to_bytes()
    answer = world.euicc.handle_es5(es5.frame(apdu.ISD_R_AID, es5.build_command_script(
        [es5.command_item(personalize), es5.command_item(certificate)])))
    rapdus = [r for _, r in es5.parse_response_script(answer)]
    assert [apdu.split_response(r)[1] for r in rapdus] == [apdu.SW_OK,
                                                          apdu.SW_CONDITIONS_NOT_SATISFIED]
    assert world.euicc.isd_ps[result.isdp_aid].state is LifeCycle.DISABLED
    assert_consistent(world.euicc, world.smsr, world.eid)


def test_a_tampered_challenge_breaks_the_signature(backend: Any) -> None:
    world = make_world(backend)
    tap = Es8Tap(APDU_2_ANSWER, lambda data: flip(data, 20))
    _fail(world, tap, match="6982")


# -- the receipt ----------------------------------------------------------------------------------


def test_receipt_mismatch_deletes_the_personalized_isdp(backend: Any) -> None:
    world = make_world(backend)
    world.euicc.kdf = "sp800-56c"  # the card derives other keys than the SM-DP
    seen: list[tuple[LifeCycle, bool]] = []
    original = world.smdp.delete_isdp

    def deleting(eid: bytes, iccid: str) -> None:
        (isd_p,) = world.euicc.isd_ps.values()
        seen.append((isd_p.state, isd_p.keys is not None))
        original(eid, iccid)

    world.smdp.delete_isdp = deleting  # type: ignore[method-assign]
    err = _fail(world, match="receipt does not match")
    assert "key establishment failed" in str(err)
    # The card had installed its (wrong) key set; error management removed it with the ISD-P.
    assert seen == [(LifeCycle.PERSONALIZED, True)]


@pytest.mark.parametrize("bit", [8 * 2, 8 * 20, 8 * 36 - 1])  # DR, receipt first and last
def test_tampered_receipt_or_derivation_random_is_a_mismatch(backend: Any, bit: int) -> None:
    world = make_world(backend)
    _fail(world, Es8Tap(APDU_3_ANSWER, lambda data: flip(data, bit)),
          match="receipt does not match")


def test_receipt_of_the_wrong_size_is_malformed(backend: Any) -> None:
    world = make_world(backend)
    _fail(world, Es8Tap(APDU_3_ANSWER, lambda data: data[:-3] + data[-2:]), match="malformed")


def test_ecasd_certificate_not_signed_by_the_eum_stops_before_creating(backend: Any) -> None:
    world = make_world(backend)
    other = _other_pki()
    world.smsr.eis(world.eid).ecasd_certificate = other.ecasd.certificate_bytes
    with pytest.raises(ProvisioningError, match="ISD-P creation failed"):
        run(world, small_profile())
    assert world.euicc.isd_ps == {} and world.smsr.eis(world.eid).profiles == {}
    assert_consistent(world.euicc, world.smsr, world.eid)


def test_signed_data_is_the_two_dgis_and_the_challenge() -> None:
    # PROTOCOL.md §4.5: 3A02 L <A6> ‖ 7F49 L <B0 F0> ‖ 00 85 L <RC>.
    challenge = bytes(range(16))
    crt_dgi = dgi.encode_dgi(keyest.DGI_KEY_AGREEMENT_CRT, keyest.DEFAULT_CRT.encode())
    key_dgi = dgi.encode_dgi(keyest.DGI_EPHEMERAL_KEY, b"\xb0\x00")
    assert keyest.signed_data(crt_dgi, key_dgi, challenge) == (
        crt_dgi + key_dgi + bytes.fromhex("008510") + challenge
    )
