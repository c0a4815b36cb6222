"""AES-CMAC against RFC 4493 / NIST SP 800-38B and the CAVP files in cryptography_vectors."""

from __future__ import annotations

from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from m2mrsp.crypto.cmac import CmacKey, aes_cmac

# RFC 4493 §4 (= NIST SP 800-38B Appendix D.1, AES-128); PROTOCOL.md §9.1.
RFC4493_KEY = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
RFC4493_MESSAGE = bytes.fromhex(
    "6bc1bee22e409f96e93d7e117393172a"
    "ae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52ef"
    "f69f2445df4f9b17ad2b417be66c3710"
)
RFC4493_EXAMPLES = [
    (0, "bb1d6929e95937287fa37d129b756746"),
    (16, "070a16b46b4d4144f79bdd9dd04a287c"),
    (40, "dfa66747de9ae63030ca32611497c827"),
    (64, "51f0bebf7e3b9d92fc49741779363cfe"),
]


@pytest.mark.parametrize(("length", "expected"), RFC4493_EXAMPLES)
def test_rfc4493_examples(length: int, expected: str) -> None:
    """aes_cmac reproduces the four RFC 4493 examples (empty, one block, partial, four blocks)."""
    assert aes_cmac(RFC4493_KEY, RFC4493_MESSAGE[:length]).hex() == expected


@pytest.mark.parametrize(("length", "expected"), RFC4493_EXAMPLES)
def test_cmac_key_matches_rfc4493_in_any_split(length: int, expected: str) -> None:
    """A reused CmacKey gives the RFC answer whether the message comes whole or in parts."""
    key = CmacKey(RFC4493_KEY)
    message = RFC4493_MESSAGE[:length]
    assert key.mac(message).hex() == expected
    assert key.mac(message[:7], message[7:], b"").hex() == expected
    # The keyed template is copied, never consumed: asking again gives the same MAC.
    assert key.mac(message).hex() == expected


def test_scenario3_receipt_regression() -> None:
    """PROTOCOL.md §4.7 receipt: CMAC(receiptKey, A6 CRT ‖ 85 10 DR) (self-generated, [D])."""
    receipt_key = bytes.fromhex("2686e7bd1e1c109c947219c2f176d1a6")
    receipt_input = bytes.fromhex(
        "a6159002030a95015c80018881011082010183013091008510101112131415161718191a1b1c1d1e1f"
    )
    assert aes_cmac(receipt_key, receipt_input).hex() == "c78b7caa070bf3b4957be0a48eeab2eb"


@pytest.mark.parametrize("size", [0, 8, 15, 17, 33])
def test_wrong_key_size_is_rejected(size: int) -> None:
    """Keys that are not 16, 24 or 32 bytes raise ValueError in both entry points."""
    with pytest.raises(ValueError, match="AES key"):
        aes_cmac(bytes(size), b"")
    with pytest.raises(ValueError, match="AES key"):
        CmacKey(bytes(size))


def _cavp_cmac_cases(filename: str) -> list[tuple[bytes, bytes, bytes]]:
    """``(key, message, tag)`` triples of a NIST SP 800-38B file in cryptography_vectors."""
    vectors = pytest.importorskip(
        "cryptography_vectors", reason="cryptography_vectors (test extra) is not installed"
    )
    text = (resources.files(vectors) / "CMAC" / filename).read_text()
    cases: list[tuple[bytes, bytes, bytes]] = []
    fields: dict[str, bytes] = {}
    for line in text.splitlines():
        name, _, value = line.partition("=")
        if name.strip() in ("KEY", "MESSAGE", "OUTPUT"):
            fields[name.strip()] = bytes.fromhex(value.strip())
        if "OUTPUT" in fields:
            cases.append((fields["KEY"], fields["MESSAGE"], fields["OUTPUT"]))
            fields = {}
    return cases


@pytest.mark.parametrize(
    "filename", ["nist-800-38b-aes128.txt", "nist-800-38b-aes192.txt", "nist-800-38b-aes256.txt"]
)
def test_nist_800_38b_files(filename: str) -> None:
    """Every AES case of the NIST SP 800-38B files (as shipped by cryptography_vectors)."""
    cases = _cavp_cmac_cases(filename)
    assert len(cases) == 4
    for key, message, tag in cases:
        assert aes_cmac(key, message) == tag
        assert CmacKey(key).mac(message) == tag


@given(
    key=st.binary(min_size=16, max_size=16),
    parts=st.lists(st.binary(max_size=40), max_size=5),
)
def test_parts_equal_whole(key: bytes, parts: list[bytes]) -> None:
    """CmacKey.mac over parts equals aes_cmac over their concatenation."""
    assert CmacKey(key).mac(*parts) == aes_cmac(key, b"".join(parts))
