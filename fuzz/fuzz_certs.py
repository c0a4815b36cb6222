"""Fuzz target: certificates and key-agreement data, parsed and checked as the card does.

The first byte picks the surface; the rest is its input:

* 0: ``parse_certificate``, then verification with the CI key (a parsed certificate must
  re-encode to its signed data);
* 1: ``parse_key_agreement_command`` (APDU 3 data);
* 2: APDU 2 data to the card's key agreement (``handle_certificate``, through the ECASD);
* 3: APDU 3 data after a genuine APDU 2 (``handle_key_agreement``: signature, point, ECDH);
* 4: the SM-DP reading the card's answers (challenge, DR and receipt);
* 5: the SM-DP accepting an ECASD certificate from the EIS.

Only the typed errors of each surface may escape, and the ECASD keeps no pending state after a
refused command.
"""

from __future__ import annotations

from harness import instrument, main

if __name__ == "__main__":
    instrument()  # before the m2mrsp imports below, so that they are instrumented

from fixtures import pki  # noqa: E402

from m2mrsp.errors import CertificateError, KeyEstablishmentError, TlvError  # noqa: E402
from m2mrsp.protocol import certs, keyest  # noqa: E402
from m2mrsp.rng import RandomSource  # noqa: E402

MODES = 6


def _certificate(data: bytes) -> None:
    try:
        parsed = certs.parse_certificate(data)
    except (TlvError, CertificateError):
        return
    assert parsed.encoded == data and parsed.body.encode() == parsed.signed_data
    try:
        certs.verify_certificate(parsed, pki().ci.public_key,
                                 certificate_type=certs.CERTIFICATE_TYPE_SM_DP)
    except CertificateError:
        return


def _on_card(data: bytes, after_certificate: bool) -> None:
    ecasd = pki().make_ecasd(RandomSource(6, "fuzz ecasd"))
    agreement = keyest.OnCardKeyAgreement(ecasd, RandomSource(7, "fuzz agreement"))
    try:
        if after_certificate:
            genuine = keyest.build_certificate_command(pki().sm_dp.certificate_bytes).data
            agreement.handle_certificate(genuine)
            agreement.handle_key_agreement(data)
        else:
            agreement.handle_certificate(data)
            return
    except keyest.KeyAgreementError:
        assert not ecasd.pending and agreement.keys is None
        return
    assert not ecasd.pending and agreement.keys is not None


def _responses(data: bytes) -> None:
    for parse in (keyest.parse_challenge_response,
                  lambda d: keyest.parse_key_agreement_response(d, True),
                  lambda d: keyest.parse_key_agreement_response(d, False)):
        try:
            parse(data)
        except keyest.KeyAgreementError:
            pass


def _off_card(data: bytes) -> None:
    try:
        keyest.OffCardKeyAgreement(
            dp_certificate=pki().sm_dp.certificate_bytes,
            dp_private_key=pki().sm_dp.private_key, ecasd_certificate=data,
            eum_public_key=pki().eum.public_key, rng=RandomSource(8), eid=pki().eid_bytes,
        )
    except (TlvError, CertificateError, KeyEstablishmentError):
        pass


def check(data: bytes) -> None:
    if not data:
        return
    mode, rest = data[0] % MODES, data[1:]
    if mode == 0:
        _certificate(rest)
    elif mode == 1:
        try:
            keyest.parse_key_agreement_command(rest)
        except keyest.KeyAgreementError:
            pass
    elif mode in (2, 3):
        _on_card(rest, after_certificate=mode == 3)
    elif mode == 4:
        _responses(rest)
    else:
        _off_card(rest)


if __name__ == "__main__":
    main("fuzz_certs", check)
