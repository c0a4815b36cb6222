"""A test PKI for SGP.02 (PROTOCOL.md §1.1, §1.5, §2.3 of SGP.02 as digested in §4.2).

CI → EUM → ECASD and CI → SM-DP / SM-SR, every key and signature real. Simulation choices:

* Every certificate, the EUM's included, uses the GP Amd E TLV format of §4.2. Real EUM and
  CI certificates are X.509 (SGP.02 §2.3.2); the card never parses them, and the SM-DP only
  needs the EUM public key and identifier, so the test PKI does not build X.509.
* ``42`` (CA identifier) and ``C9`` (authority key identifier) hold the signer's key identifier
  and ``5F20`` the subject's (:func:`~m2mrsp.protocol.certs.key_identifier`), except for the
  ECASD, whose ``5F20`` is the EID ([A], PROTOCOL.md §4.2).
* Key usage ``0080`` for the ECASD, ``8200`` [D] for everyone else; ``C8`` only on SM-DP
  (``01``) and SM-SR (``02``) certificates.
* Validity :data:`EFFECTIVE_DATE` .. :data:`EXPIRY_DATE` (the card checks no dates).

Each role's curve is chosen separately (P-256 or brainpoolP256r1). With a seeded
:class:`~m2mrsp.rng.RandomSource` the keys, serials and EID repeat from run to run; ECDSA
signatures do not, because ``cryptography`` draws their nonces itself.
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives.asymmetric import ec

from m2mrsp.crypto import ecc
from m2mrsp.entities.ecasd import Ecasd
from m2mrsp.protocol import certs
from m2mrsp.rng import RandomSource

EFFECTIVE_DATE: Final = datetime.date(2025, 1, 1)
EXPIRY_DATE: Final = datetime.date(2045, 12, 31)
SERIAL_NUMBER_LENGTH: Final = 8

# --- EID (SGP.02 §2.2.2, check digits SGP.29 §10 / ISO 7064 MOD 97-10; PROTOCOL.md §1.5) -----
EID_DIGITS: Final = 32
EID_LENGTH: Final = 16
EID_MAJOR_INDUSTRY: Final = "89"
EID_INDIVIDUAL_DIGITS: Final = 17
_MOD: Final = 97
_CHECK_MIN: Final = 2
_CHECK_MAX: Final = 98
# Example prefix for generated EIDs: country 049, issuer 032, version 12345 (PROTOCOL.md §1.5).
DEFAULT_EID_PREFIX: Final = "89049032" + "12345"


def eid_check_digits(first_30: str) -> str:
    """The two check digits completing a 30-digit EID prefix (98 - (prefix‖00 mod 97)).

    Raises:
        ValueError: not 30 decimal digits.
    """
    if len(first_30) != EID_DIGITS - 2 or not first_30.isdigit():
        raise ValueError("an EID prefix is 30 decimal digits")
    return f"{_CHECK_MAX - int(first_30 + '00') % _MOD:02d}"


def is_valid_eid(eid: str) -> bool:
    """True for 32 digits whose value mod 97 is 1 and whose check digits are 02..98."""
    if len(eid) != EID_DIGITS or not eid.isdigit() or not eid.isascii():
        return False
    return int(eid) % _MOD == 1 and _CHECK_MIN <= int(eid[-2:]) <= _CHECK_MAX


def make_eid(rng: RandomSource, prefix: str = DEFAULT_EID_PREFIX) -> str:
    """A valid EID: ``prefix`` (13 digits from ``89``), random individual number, check digits.

    Raises:
        ValueError: ``prefix`` is not 13 digits starting with ``89``.
    """
    if len(prefix) != 13 or not prefix.isdigit() or not prefix.startswith(EID_MAJOR_INDUSTRY):
        raise ValueError("an EID prefix is 13 digits starting with 89")
    individual = f"{rng.below(10**EID_INDIVIDUAL_DIGITS):0{EID_INDIVIDUAL_DIGITS}d}"
    body = prefix + individual
    return body + eid_check_digits(body)


def eid_to_bytes(eid: str) -> bytes:
    """The 16-byte BCD form (GET DATA ``5A``).

    Raises:
        ValueError: not a valid EID.
    """
    if not is_valid_eid(eid):
        raise ValueError(f"invalid EID {eid!r}")
    return bytes.fromhex(eid)


def eid_from_bytes(raw: bytes) -> str:
    """The 32-digit EID of its 16-byte BCD form.

    Raises:
        ValueError: not 16 bytes of BCD digits forming a valid EID.
    """
    eid = raw.hex()
    if len(raw) != EID_LENGTH or not is_valid_eid(eid):
        raise ValueError(f"invalid EID bytes {eid}")
    return eid


# --- parties ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    """One PKI role: its key pair and, except for the CI, its certificate."""

    private_key: ec.EllipticCurvePrivateKey
    curve: ecc.Curve
    certificate: certs.Certificate | None = None

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.private_key.public_key()

    @property
    def key_identifier(self) -> bytes:
        return certs.key_identifier(self.public_key)

    @property
    def certificate_bytes(self) -> bytes:
        """The ``7F21`` bytes; the CI has none (it is the trust anchor, a bare key)."""
        if self.certificate is None:
            raise ValueError("this party has no certificate")
        return self.certificate.encoded


def issue(
    signer: Party,
    subject_key: ec.EllipticCurvePublicKey,
    subject_curve: ecc.Curve,
    rng: RandomSource,
    *,
    key_usage: int,
    subject_identifier: bytes | None = None,
    certificate_type: int | None = None,
    image_number: bytes | None = None,
) -> certs.Certificate:
    """A certificate for ``subject_key`` signed by ``signer`` with the module's conventions."""
    body = certs.CertificateBody(
        serial_number=rng.bytes(SERIAL_NUMBER_LENGTH),
        ca_identifier=signer.key_identifier,
        subject_identifier=subject_identifier or certs.key_identifier(subject_key),
        key_usage=key_usage,
        expiry_date=EXPIRY_DATE,
        authority_key_identifier=signer.key_identifier,
        public_key=subject_key,
        curve=subject_curve,
        effective_date=EFFECTIVE_DATE,
        image_number=image_number,
        certificate_type=certificate_type,
    )
    return certs.sign_certificate(body, signer.private_key)


def _ecasd(
    eum: Party, curve: ecc.Curve, rng: RandomSource, eid: bytes, image_number: bytes | None
) -> Party:
    """An ECASD key pair and the certificate the EUM issues for it (``5F20`` = the EID)."""
    key = ecc.generate_private_key(curve, rng)
    certificate = issue(eum, key.public_key(), curve, rng,
                        key_usage=certs.KEY_USAGE_KEY_AGREEMENT, subject_identifier=eid,
                        image_number=image_number)
    return Party(key, curve, certificate)


def _party(
    signer: Party, curve: ecc.Curve, rng: RandomSource, certificate_type: int | None
) -> Party:
    key = ecc.generate_private_key(curve, rng)
    certificate = issue(signer, key.public_key(), curve, rng,
                        key_usage=certs.KEY_USAGE_SIGNATURE, certificate_type=certificate_type)
    return Party(key, curve, certificate)


@dataclass(frozen=True)
class Pki:
    """CI, EUM, SM-DP, SM-SR and one eUICC's ECASD with its EID."""

    ci: Party
    eum: Party
    sm_dp: Party
    sm_sr: Party
    ecasd: Party
    eid: str

    @classmethod
    def create(
        cls,
        rng: RandomSource,
        *,
        ci_curve: ecc.Curve = ecc.P256,
        eum_curve: ecc.Curve = ecc.P256,
        dp_curve: ecc.Curve = ecc.P256,
        sr_curve: ecc.Curve = ecc.P256,
        ecasd_curve: ecc.Curve = ecc.P256,
        eid: str | None = None,
        image_number: bytes | None = None,
    ) -> Pki:
        """Draw every key from ``rng`` and issue the certificates.

        Args:
            eid: the eUICC's EID (a new one from ``rng`` when ``None``).
            image_number: optional ``45`` on the ECASD certificate.

        Raises:
            ValueError: ``eid`` is not a valid EID.
        """
        # One draw names this PKI, so two PKIs from one source differ while each role keeps
        # its own stream.
        base = rng.fork(rng.bytes(8).hex())
        chosen_eid = make_eid(base.fork("eid")) if eid is None else eid
        eid_bytes = eid_to_bytes(chosen_eid)
        ci = Party(ecc.generate_private_key(ci_curve, base.fork("ci")), ci_curve)
        eum = _party(ci, eum_curve, base.fork("eum"), None)
        ecasd = _ecasd(eum, ecasd_curve, base.fork("ecasd"), eid_bytes, image_number)
        return cls(
            ci=ci,
            eum=eum,
            sm_dp=_party(ci, dp_curve, base.fork("sm-dp"), certs.CERTIFICATE_TYPE_SM_DP),
            sm_sr=_party(ci, sr_curve, base.fork("sm-sr"), certs.CERTIFICATE_TYPE_SM_SR),
            ecasd=ecasd,
            eid=chosen_eid,
        )

    def for_device(self, rng: RandomSource, *, eid: str | None = None) -> Pki:
        """The same CI, EUM, SM-DP and SM-SR with another eUICC (a fleet's next card).

        The new card gets its own EID (from ``rng`` unless given) and ECASD key, on this
        PKI's ECASD curve, and the EUM issues its certificate.

        Raises:
            ValueError: ``eid`` is not a valid EID.
        """
        chosen_eid = make_eid(rng.fork("eid")) if eid is None else eid
        ecasd = _ecasd(self.eum, self.ecasd.curve, rng.fork("ecasd"), eid_to_bytes(chosen_eid),
                       None)
        return dataclasses.replace(self, ecasd=ecasd, eid=chosen_eid)

    @property
    def eid_bytes(self) -> bytes:
        return eid_to_bytes(self.eid)

    def make_ecasd(self, rng: RandomSource) -> Ecasd:
        """The card-side ECASD holding this PKI's ECASD key, certificate, CI key and EID."""
        return Ecasd(
            private_key=self.ecasd.private_key,
            certificate=self.ecasd.certificate_bytes,
            ci_public_key=self.ci.public_key,
            eid=self.eid_bytes,
            rng=rng,
        )
