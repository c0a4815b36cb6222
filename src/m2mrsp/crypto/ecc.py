"""Elliptic-curve primitives on ``cryptography``: key pairs, ECDH (ECKA), ECDSA plain r‖s.

SGP.02 needs NIST P-256 and brainpoolP256r1 (PROTOCOL.md §1.8). Public points travel
uncompressed (``04 ‖ X ‖ Y``); signatures are the plain 64-byte ``r ‖ s`` of BSI TR-03111
§5.2.2, not DER; the ECDH shared secret is the x-coordinate (TR-03111 ECKA).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from m2mrsp.errors import KeyEstablishmentError
from m2mrsp.rng import RandomSource


@dataclass(frozen=True)
class Curve:
    """A supported curve: CLI name, GP key parameter reference (tag ``F0``), sizes."""

    name: str
    key_parameter_reference: int
    order: int
    size: int

    def ec_curve(self) -> ec.EllipticCurve:
        return _EC_CURVES[self.name]()


_EC_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "p256": ec.SECP256R1,
    "brainpoolp256r1": ec.BrainpoolP256R1,
}

P256 = Curve(
    "p256", 0x00, 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551, 32
)
BRAINPOOL_P256R1 = Curve(
    "brainpoolp256r1",
    0x03,
    0xA9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7,
    32,
)
CURVES: dict[str, Curve] = {curve.name: curve for curve in (P256, BRAINPOOL_P256R1)}
CURVES_BY_REFERENCE: dict[int, Curve] = {c.key_parameter_reference: c for c in CURVES.values()}


def curve_by_name(name: str) -> Curve:
    """The curve called ``name`` (case-insensitive); ``ValueError`` lists the choices."""
    try:
        return CURVES[name.lower()]
    except KeyError:
        raise ValueError(
            f"unsupported curve {name!r}; choose one of {', '.join(CURVES)}"
        ) from None


def generate_private_key(curve: Curve, rng: RandomSource) -> ec.EllipticCurvePrivateKey:
    """A fresh key pair; from ``rng`` when it is seeded, else from OpenSSL's generator."""
    if not rng.seeded:
        return ec.generate_private_key(curve.ec_curve())
    scalar = rng.below(curve.order - 1) + 1
    return ec.derive_private_key(scalar, curve.ec_curve())


def private_key_from_scalar(curve: Curve, scalar: bytes) -> ec.EllipticCurvePrivateKey:
    """The private key with the given big-endian scalar (test vectors)."""
    return ec.derive_private_key(int.from_bytes(scalar, "big"), curve.ec_curve())


def encode_point(key: ec.EllipticCurvePublicKey) -> bytes:
    """The uncompressed point ``04 ‖ X ‖ Y``."""
    numbers = key.public_numbers()
    size = (key.curve.key_size + 7) // 8
    return b"\x04" + numbers.x.to_bytes(size, "big") + numbers.y.to_bytes(size, "big")


def decode_point(curve: Curve, point: bytes) -> ec.EllipticCurvePublicKey:
    """Load an uncompressed point, validating that it lies on ``curve``.

    Raises:
        KeyEstablishmentError: not ``04 ‖ X ‖ Y`` of the right size, the point at infinity,
            or not on the curve (an invalid-curve attack is stopped here).
    """
    if len(point) != 1 + 2 * curve.size or point[0] != 0x04:
        raise KeyEstablishmentError(
            f"public key is not an uncompressed {curve.name} point ({len(point)} bytes)"
        )
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(curve.ec_curve(), point)
    except ValueError as err:
        raise KeyEstablishmentError(f"public key is not on {curve.name}: {err}") from None


def ecdh(private_key: ec.EllipticCurvePrivateKey, peer: ec.EllipticCurvePublicKey) -> bytes:
    """ECKA shared secret: the x-coordinate of ``d × Q`` (BSI TR-03111)."""
    return private_key.exchange(ec.ECDH(), peer)


def sign(private_key: ec.EllipticCurvePrivateKey, message: bytes) -> bytes:
    """ECDSA with SHA-256, returned as plain ``r ‖ s``.

    The nonce is derived as RFC 6979 prescribes, so a seeded run signs the same bytes every
    time (and no weak random generator can leak the key through a nonce).
    """
    der = private_key.sign(message, _DETERMINISTIC_ECDSA)
    r, s = decode_dss_signature(der)
    size = (private_key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


_DETERMINISTIC_ECDSA = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)


def verify(public_key: ec.EllipticCurvePublicKey, signature: bytes, message: bytes) -> bool:
    """True when the plain ``r ‖ s`` signature over ``message`` verifies."""
    size = (public_key.curve.key_size + 7) // 8
    if len(signature) != 2 * size:
        return False
    r = int.from_bytes(signature[:size], "big")
    s = int.from_bytes(signature[size:], "big")
    try:
        public_key.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True
