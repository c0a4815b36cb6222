"""The test PKI and EIDs (PROTOCOL.md §1.5, §4.2)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from m2mrsp.crypto import ecc
from m2mrsp.entities import pki as pki_module
from m2mrsp.entities.pki import Pki
from m2mrsp.protocol import certs
from m2mrsp.rng import RandomSource

# pySim tests/unittests/test_euicc.py, as listed in PROTOCOL.md §1.5.
VALID_EIDS = [
    "89049032123451234512345678901235",
    "89086030202200000022000023022943",
    "89044045116727494800000004479366",
]
INVALID_EID = "89049032123451234512345678901234"


@pytest.mark.parametrize("eid", VALID_EIDS)
def test_pysim_valid_eids(eid: str) -> None:
    assert pki_module.is_valid_eid(eid)
    assert pki_module.eid_check_digits(eid[:30]) == eid[30:]
    assert pki_module.eid_from_bytes(pki_module.eid_to_bytes(eid)) == eid


def test_pysim_invalid_eid() -> None:
    assert not pki_module.is_valid_eid(INVALID_EID)
    with pytest.raises(ValueError):
        pki_module.eid_to_bytes(INVALID_EID)


def test_check_digits_00_and_01_are_refused() -> None:
    # Find a prefix whose check digits are 97 or 98: the same number with 00 or 01 also gives
    # remainder 1 mod 97, and must still be refused (PROTOCOL.md §1.5).
    for n in range(1000):
        prefix = f"8904903212345{n:017d}"
        check = pki_module.eid_check_digits(prefix)
        if check in ("97", "98"):
            low = prefix + f"{int(check) - 97:02d}"
            assert int(low) % 97 == 1
            assert not pki_module.is_valid_eid(low)
            assert pki_module.is_valid_eid(prefix + check)
            return
    pytest.fail("no prefix with check digits 97/98 found")


@pytest.mark.parametrize(
    "bad",
    ["8904903212345123451234567890123", "8904903212345123451234567890123x",
     "８9049032123451234512345678901235", ""],  # noqa: RUF001 (a non-ASCII digit on purpose)
)
def test_malformed_eid_strings(bad: str) -> None:
    assert not pki_module.is_valid_eid(bad)


def test_eid_argument_checks() -> None:
    with pytest.raises(ValueError):
        pki_module.eid_check_digits("123")
    with pytest.raises(ValueError):
        pki_module.make_eid(RandomSource(1), prefix="1234567890123")
    with pytest.raises(ValueError):
        pki_module.eid_from_bytes(bytes.fromhex(VALID_EIDS[0])[:15])


@given(st.integers(0, 2**32))
def test_generated_eids_are_valid(seed: int) -> None:
    eid = pki_module.make_eid(RandomSource(seed))
    assert eid.startswith(pki_module.DEFAULT_EID_PREFIX) and pki_module.is_valid_eid(eid)


CURVES = [ecc.P256, ecc.BRAINPOOL_P256R1]


@pytest.mark.parametrize("ci_curve", CURVES, ids=lambda c: c.name)
@pytest.mark.parametrize("other_curve", CURVES, ids=lambda c: c.name)
def test_chain_verifies_on_every_curve(ci_curve: ecc.Curve, other_curve: ecc.Curve) -> None:
    pki = Pki.create(RandomSource(4), ci_curve=ci_curve, eum_curve=other_curve,
                     dp_curve=other_curve, sr_curve=ci_curve, ecasd_curve=other_curve,
                     image_number=b"\x01\x02\x03")
    ci_key, ci_id = pki.ci.public_key, pki.ci.key_identifier
    eum = certs.parse_certificate(pki.eum.certificate_bytes)
    certs.verify_certificate(eum, ci_key, issuer_key_identifier=ci_id,
                             key_usage=certs.KEY_USAGE_SIGNATURE)
    assert eum.body.certificate_type is None and eum.body.curve == other_curve
    for party, kind, curve in ((pki.sm_dp, certs.CERTIFICATE_TYPE_SM_DP, other_curve),
                               (pki.sm_sr, certs.CERTIFICATE_TYPE_SM_SR, ci_curve)):
        cert = certs.parse_certificate(party.certificate_bytes)
        certs.verify_certificate(cert, ci_key, issuer_key_identifier=ci_id, certificate_type=kind,
                                 key_usage=certs.KEY_USAGE_SIGNATURE,
                                 subject_identifier=party.key_identifier)
        assert cert.body.curve == curve and cert.body.public_key == party.public_key
        assert cert.body.ca_identifier == ci_id
    ecasd = certs.parse_certificate(pki.ecasd.certificate_bytes)
    certs.verify_certificate(ecasd, pki.eum.public_key,
                             issuer_key_identifier=pki.eum.key_identifier,
                             key_usage=certs.KEY_USAGE_KEY_AGREEMENT,
                             subject_identifier=pki.eid_bytes)
    assert ecasd.body.image_number == b"\x01\x02\x03" and ecasd.body.curve == other_curve
    assert ecasd.body.certificate_type is None
    with pytest.raises(certs.CertificateCheckError):
        certs.verify_certificate(ecasd, ci_key)  # the ECASD is signed by the EUM, not the CI


def test_ci_is_a_bare_key() -> None:
    pki = Pki.create(RandomSource(4))
    assert pki.ci.certificate is None
    with pytest.raises(ValueError):
        pki.ci.certificate_bytes  # noqa: B018


def test_seeded_pkis_repeat_and_differ() -> None:
    first = Pki.create(RandomSource(12))
    again = Pki.create(RandomSource(12))
    assert first.eid == again.eid
    assert first.ecasd.public_key == again.ecasd.public_key
    assert first.sm_dp.public_key == again.sm_dp.public_key
    shared = RandomSource(12)
    one, two = Pki.create(shared), Pki.create(shared)
    assert one.eid != two.eid and one.ci.public_key != two.ci.public_key


def test_given_eid_is_used_and_checked() -> None:
    pki = Pki.create(RandomSource(3), eid=VALID_EIDS[1])
    assert pki.eid == VALID_EIDS[1] and pki.eid_bytes == bytes.fromhex(VALID_EIDS[1])
    with pytest.raises(ValueError):
        Pki.create(RandomSource(3), eid=INVALID_EID)


def test_make_ecasd() -> None:
    pki = Pki.create(RandomSource(3), ecasd_curve=ecc.BRAINPOOL_P256R1)
    ecasd = pki.make_ecasd(RandomSource(1))
    assert ecasd.eid == pki.eid_bytes and ecasd.curve == ecc.BRAINPOOL_P256R1
    assert ecasd.certificate == pki.ecasd.certificate_bytes
