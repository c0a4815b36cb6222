"""The eUICC's ECASD: keeps SK.ECASD.ECKA to itself and does the card's ECC (PROTOCOL.md §1.2, §4).

It holds ``SK.ECASD.ECKA`` (no accessor: the key never leaves the object), ``CERT.ECASD.ECKA``,
``PK.CI.ECDSA`` and the EID. For scenario #3 it verifies an off-card certificate with the CI key,
keeps that certificate's public key and a fresh random challenge RC for the next command only,
then verifies the key-agreement signature over DGI 3A02 ‖ DGI 7F49 ‖ DGI 0085(RC) and computes
ShS = ECDH(SK.ECASD.ECKA, ePK) after validating the point. PK and RC are forgotten after that
command, whether it succeeded or not.
"""

from __future__ import annotations

from typing import Final

from cryptography.hazmat.primitives.asymmetric import ec

from m2mrsp.crypto import ecc
from m2mrsp.errors import KeyEstablishmentError
from m2mrsp.protocol import certs, dgi
from m2mrsp.protocol.keyest import (
    CHALLENGE_LENGTH,
    DGI_CHALLENGE,
    KeyAgreementCommand,
    KeyAgreementError,
    KeyAgreementFailure,
)
from m2mrsp.rng import RandomSource
from m2mrsp.timing import span

_CERTIFICATE_FAILURES: Final = {
    certs.CertificateFailure.WRONG_TYPE: KeyAgreementFailure.WRONG_CERTIFICATE_TYPE,
}


class Ecasd:
    """The ECASD of one eUICC."""

    def __init__(
        self,
        *,
        private_key: ec.EllipticCurvePrivateKey,
        certificate: bytes,
        ci_public_key: ec.EllipticCurvePublicKey,
        eid: bytes,
        rng: RandomSource,
    ) -> None:
        """Load the ECASD's secrets.

        Raises:
            TlvError, CertificateError: ``certificate`` is malformed.
            ValueError: the certificate's key is not the public half of ``private_key``.
        """
        parsed = certs.parse_certificate(certificate)
        if parsed.body.public_key != private_key.public_key():
            raise ValueError("CERT.ECASD.ECKA does not hold the public half of SK.ECASD.ECKA")
        self._private_key = private_key
        self._certificate = certificate
        self._curve = parsed.body.curve
        self._ci_key = ci_public_key
        self._ci_key_identifier = certs.key_identifier(ci_public_key)
        self._eid = eid
        self._rng = rng
        self._peer_key: ec.EllipticCurvePublicKey | None = None
        self._challenge: bytes | None = None

    @property
    def eid(self) -> bytes:
        return self._eid

    @property
    def certificate(self) -> bytes:
        """``CERT.ECASD.ECKA`` as stored (GP Amd E ``7F21``)."""
        return self._certificate

    @property
    def curve(self) -> ecc.Curve:
        return self._curve

    @property
    def pending(self) -> bool:
        """True while an off-card key and a challenge wait for the key-agreement command."""
        return self._peer_key is not None or self._challenge is not None

    def verify_certificate(self, certificate: certs.Certificate, certificate_type: int) -> bytes:
        """Verify an off-card certificate with ``PK.CI.ECDSA``, keep its key, return a new RC.

        Args:
            certificate: the parsed certificate (e.g. ``CERT.DP.ECDSA``).
            certificate_type: the ``C8`` value the caller accepts (``01`` for an ISD-P).

        Raises:
            KeyAgreementError: ``WRONG_CERTIFICATE_TYPE``, or ``BAD_CERTIFICATE`` when the
                issuer identifier or the signature is not the CI's.
        """
        self.forget()
        try:
            certs.verify_certificate(
                certificate,
                self._ci_key,
                issuer_key_identifier=self._ci_key_identifier,
                certificate_type=certificate_type,
            )
        except certs.CertificateCheckError as err:
            kind = _CERTIFICATE_FAILURES.get(err.kind, KeyAgreementFailure.BAD_CERTIFICATE)
            raise KeyAgreementError(kind, str(err)) from None
        self._peer_key = certificate.body.public_key
        with span("random challenge"):
            self._challenge = self._rng.bytes(CHALLENGE_LENGTH)
        return self._challenge

    def agree(self, command: KeyAgreementCommand) -> bytes:
        """Check the key-agreement signature, validate ePK, return ShS; then forget PK and RC.

        Raises:
            KeyAgreementError: ``WRONG_ORDER`` without a verified certificate, ``BAD_SIGNATURE``,
                or ``BAD_POINT`` (other curve than the ECASD's, not on the curve, wrong size).
        """
        peer_key, challenge = self._peer_key, self._challenge
        self.forget()
        if peer_key is None or challenge is None:
            raise KeyAgreementError(KeyAgreementFailure.WRONG_ORDER, "no verified certificate")
        message = command.signed_prefix + dgi.encode_dgi(DGI_CHALLENGE, challenge)
        with span("verify signature"):
            valid = ecc.verify(peer_key, command.signature, message)
        if not valid:
            raise KeyAgreementError(KeyAgreementFailure.BAD_SIGNATURE, "with PK.DP.ECDSA")
        offset = command.ephemeral_point_offset
        if command.curve != self._curve:
            detail = f"ePK on {command.curve.name}, not {self._curve.name}"
            raise KeyAgreementError(KeyAgreementFailure.BAD_POINT, detail, offset)
        try:
            ephemeral = ecc.decode_point(self._curve, command.ephemeral_point)
        except KeyEstablishmentError as err:
            raise KeyAgreementError(KeyAgreementFailure.BAD_POINT, str(err), offset) from None
        with span("shared secret"):
            return ecc.ecdh(self._private_key, ephemeral)

    def forget(self) -> None:
        """Drop the off-card public key and the challenge kept for the next command."""
        self._peer_key = None
        self._challenge = None
