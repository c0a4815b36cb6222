"""pytest-benchmark: the crypto operations of a provisioning, on ``cryptography``.

These run on the Python side for both back-ends (the native back-end covers the SCP03t hot
path only), so each group holds one row per curve or size; ``backend`` in ``extra_info`` says
``python``.
"""

from __future__ import annotations

from typing import Any

import pytest

from m2mrsp.crypto import ecc
from m2mrsp.crypto.cmac import CmacKey, aes_cmac
from m2mrsp.crypto.kdf import x963_kdf
from m2mrsp.crypto.scp03 import DERIVE_S_ENC, scp03_kdf
from m2mrsp.rng import RandomSource

KEY = bytes(range(16))
MESSAGE_BYTES = 200  # PERF_ANCHORS.md §6: 200-byte message
CURVES = sorted(ecc.CURVES)
SCP03_CONTEXT = bytes(range(16))  # host ‖ card challenge
SHARED_INFO = bytes(19)
KEY_DATA_BYTES = 64


def _keys(curve: str) -> tuple[Any, Any, bytes]:
    rng = RandomSource(42, f"bench/{curve}")
    return (
        ecc.generate_private_key(ecc.curve_by_name(curve), rng.fork("a")),
        ecc.generate_private_key(ecc.curve_by_name(curve), rng.fork("b")),
        rng.bytes(MESSAGE_BYTES),
    )


@pytest.mark.parametrize("size", [16, 1024])
def test_cmac_new_context(benchmark: Any, label: Any, size: int) -> None:
    label(benchmark, "AES-CMAC", "python", data_bytes=size, context="new")
    assert len(benchmark(aes_cmac, KEY, bytes(size))) == 16


@pytest.mark.parametrize("size", [16, 1024])
def test_cmac_keyed_template(benchmark: Any, label: Any, size: int) -> None:
    key = CmacKey(KEY)
    label(benchmark, "AES-CMAC", "python", data_bytes=size, context="template copy")
    assert len(benchmark(key.mac, bytes(size))) == 16


def test_scp03_kdf(benchmark: Any, label: Any) -> None:
    label(benchmark, "SCP03 KDF", "python", output_bits=128)
    assert len(benchmark(scp03_kdf, KEY, DERIVE_S_ENC, SCP03_CONTEXT, 128)) == 16


def test_x963_kdf(benchmark: Any, label: Any) -> None:
    label(benchmark, "X9.63 KDF", "python", output_bytes=KEY_DATA_BYTES)
    assert len(benchmark(x963_kdf, KEY * 2, SHARED_INFO, KEY_DATA_BYTES)) == KEY_DATA_BYTES


@pytest.mark.parametrize("curve", CURVES)
def test_ecdh(benchmark: Any, label: Any, curve: str) -> None:
    mine, peer, _ = _keys(curve)
    label(benchmark, "ECDH", "python", curve=curve)
    assert len(benchmark(ecc.ecdh, mine, peer.public_key())) == 32


@pytest.mark.parametrize("curve", CURVES)
def test_ecdsa_sign(benchmark: Any, label: Any, curve: str) -> None:
    mine, _, message = _keys(curve)
    label(benchmark, "ECDSA sign", "python", curve=curve, message_bytes=MESSAGE_BYTES)
    assert len(benchmark(ecc.sign, mine, message)) == 64


@pytest.mark.parametrize("curve", CURVES)
def test_ecdsa_verify(benchmark: Any, label: Any, curve: str) -> None:
    mine, _, message = _keys(curve)
    signature = ecc.sign(mine, message)
    label(benchmark, "ECDSA verify", "python", curve=curve, message_bytes=MESSAGE_BYTES)
    assert benchmark(ecc.verify, mine.public_key(), signature, message) is True


@pytest.mark.parametrize("curve", CURVES)
def test_key_generation(benchmark: Any, label: Any, curve: str) -> None:
    label(benchmark, "EC key generation", "python", curve=curve)
    rng = RandomSource(None)
    assert benchmark(ecc.generate_private_key, ecc.curve_by_name(curve), rng) is not None


@pytest.mark.parametrize("curve", CURVES)
def test_cost_floor(benchmark: Any, label: Any, curve: str) -> None:
    from m2mrsp.bench import CostFloor

    floor = CostFloor(curve, seed=42)
    label(benchmark, "cost floor", "python", curve=curve)
    assert sum(benchmark(floor.measure).values()) > 0
