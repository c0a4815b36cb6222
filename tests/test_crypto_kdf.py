"""X9.63 KDF against NIST CAVP ansx963_2001, and the SP 800-56C one-step alternative."""

from __future__ import annotations

import hashlib
from importlib import resources

import pytest

from m2mrsp.crypto.kdf import (
    DEFAULT_KDF,
    KDFS,
    KdfFunction,
    kdf_by_name,
    sp800_56c_kdf,
    x963_kdf,
)

# PROTOCOL.md §9.4: NIST CAVP ansx963_2001, SHA-256 (the cases cryptography's test suite uses).
CAVP_Z_1 = bytes.fromhex("96c05619d56c328ab95fe84b18264b08725b85e33fd34f08")
CAVP_OUT_1 = "443024c3dae66b95e6f5670601558f71"
CAVP_Z_2 = bytes.fromhex("22518b10e70f2a3f243810ae3254139efbee04aa57c7af7d")
CAVP_INFO_2 = bytes.fromhex("75eef81aa3041e33b80971203d2c0c52")
CAVP_OUT_2 = (
    "c498af77161cc59f2962b9a713e2b215152d139766ce34a776df11866a69bf2e"
    "52a13d9c7c6fc878c50c5ea0bc7b00e0da2447cfd874f6cf92f30d0097111485"
    "500c90c3af8b487872d04685d14c8d1dc8d7fa08beb0ce0ababc11f0bd496269"
    "142d43525a78e5bc79a17f59676a5706dc54d54d4d1f0bd7e386128ec26afc21"
)
# PROTOCOL.md §9.4 counter-position check: SP 800-56C order on the first Z, no FixedInfo.
ONE_STEP_OUT_1 = "ea4959465aa61b5be409cbc08ebf9451"


def test_section_9_4_vectors() -> None:
    """Both §9.4 vectors: 16 bytes without SharedInfo, 128 bytes (4 hash blocks) with it."""
    assert x963_kdf(CAVP_Z_1, b"", 16).hex() == CAVP_OUT_1
    assert x963_kdf(CAVP_Z_2, CAVP_INFO_2, 128).hex() == CAVP_OUT_2


def test_counter_position() -> None:
    """X9.63 puts the counter after Z, SP 800-56C before it (PROTOCOL.md §4.6 step 4)."""
    counter = (1).to_bytes(4, "big")
    assert hashlib.sha256(CAVP_Z_1 + counter).hexdigest()[:32] == CAVP_OUT_1
    assert hashlib.sha256(counter + CAVP_Z_1).hexdigest()[:32] == ONE_STEP_OUT_1
    assert x963_kdf(CAVP_Z_1, b"", 16).hex() == CAVP_OUT_1
    assert sp800_56c_kdf(CAVP_Z_1, b"", 16).hex() == ONE_STEP_OUT_1


def _one_step_by_hand(z: bytes, info: bytes, length: int) -> bytes:
    blocks = (
        hashlib.sha256(i.to_bytes(4, "big") + z + info).digest()
        for i in range(1, -(-length // 32) + 1)
    )
    return b"".join(blocks)[:length]


@pytest.mark.parametrize("length", [1, 16, 32, 33, 64, 100])
def test_sp800_56c_construction(length: int) -> None:
    """One-step KDF = SHA256(counter ‖ Z ‖ FixedInfo) blocks, and never the X9.63 bytes."""
    expected = _one_step_by_hand(CAVP_Z_2, CAVP_INFO_2, length)
    assert sp800_56c_kdf(CAVP_Z_2, CAVP_INFO_2, length) == expected
    assert x963_kdf(CAVP_Z_2, CAVP_INFO_2, length) != expected


def test_scenario3_keydata_regression() -> None:
    """PROTOCOL.md §4.7 KeyData(64) from ShS and SharedInfo (self-generated regression, [D])."""
    shs = bytes.fromhex("d6840f6b42f6edafd13116e0e12565202fef8e9ece7dce03812464d04b9442de")
    shared_info = bytes.fromhex("5c8810101112131415161718191a1b1c1d1e1f")
    assert x963_kdf(shs, shared_info, 64).hex() == (
        "2686e7bd1e1c109c947219c2f176d1a6"
        "4a04190026ed41ed6792635cd78a605f"
        "65c55309c61d902bf9ff2e3b5eda5a9c"
        "7297c70e82651112665d3cf572569190"
    )


def test_registry_and_default() -> None:
    """The default is the spec's X9.63; 56C is selectable; unknown names are refused."""
    assert DEFAULT_KDF == "x963"
    assert KDFS[DEFAULT_KDF] is x963_kdf
    assert kdf_by_name("sp800-56c") is sp800_56c_kdf
    with pytest.raises(ValueError, match="x963, sp800-56c"):
        kdf_by_name("hkdf")


@pytest.mark.parametrize("kdf", [x963_kdf, sp800_56c_kdf])
@pytest.mark.parametrize("length", [0, -1])
def test_non_positive_length_is_refused(kdf: KdfFunction, length: int) -> None:
    """Asking for no key data is a ValueError, not an empty result."""
    with pytest.raises(ValueError, match="positive"):
        kdf(CAVP_Z_1, b"", length)


def _cavp_sha256_cases() -> list[tuple[bytes, bytes, int, bytes]]:
    """``(Z, SharedInfo, length, key_data)`` of the SHA-256 sections of ansx963_2001.txt."""
    vectors = pytest.importorskip(
        "cryptography_vectors", reason="cryptography_vectors (test extra) is not installed"
    )
    text = (resources.files(vectors) / "KDF" / "ansx963_2001.txt").read_text()
    cases: list[tuple[bytes, bytes, int, bytes]] = []
    section = ""
    bits = 0
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("[SHA"):
            section = line.strip("[]")
        elif line.startswith("[key data length = "):
            bits = int(line.split("=")[1].strip(" ]"))
        name, _, value = line.partition("=")
        if section == "SHA-256" and name.strip() in ("Z", "SharedInfo", "key_data"):
            fields[name.strip()] = value.strip()
        if "key_data" in fields:
            key_data = bytes.fromhex(fields["key_data"])
            assert len(key_data) * 8 == bits
            info = bytes.fromhex(fields["SharedInfo"])
            cases.append((bytes.fromhex(fields["Z"]), info, len(key_data), key_data))
            fields = {}
    return cases


def test_cavp_ansx963_2001_sha256() -> None:
    """Every SHA-256 case of NIST CAVP ansx963_2001 (from cryptography_vectors)."""
    cases = _cavp_sha256_cases()
    # Two SHA-256 sections of ten cases each: without SharedInfo (16 B) and with it (128 B).
    assert len(cases) == 20
    assert {length for _, _, length, _ in cases} == {16, 128}
    assert (CAVP_Z_1, b"", 16, bytes.fromhex(CAVP_OUT_1)) in cases
    for z, info, length, key_data in cases:
        assert x963_kdf(z, info, length) == key_data
