"""The crypto operations of a provisioning (on ``cryptography``, shared by both back-ends)."""

from typing import Any, ClassVar

from . import _data

MESSAGE_BYTES = 200
KEY = bytes(range(16))


class Ecc:
    """Key generation, ECDH and ECDSA per curve, and the cost floor they add up to."""

    params: ClassVar[list[list[Any]]] = [["p256", "brainpoolp256r1"]]
    param_names: ClassVar[list[str]] = ["curve"]

    def setup(self, curve: str) -> None:
        ecc = _data.module("crypto.ecc")
        rng = _data.attribute("rng", "RandomSource")(_data.SEED, f"asv/{curve}")
        self.ecc = ecc
        self.curve = ecc.curve_by_name(curve)
        self.rng = rng.fork("keygen")
        self.key = ecc.generate_private_key(self.curve, rng.fork("a"))
        self.peer = ecc.generate_private_key(self.curve, rng.fork("b")).public_key()
        self.message = _data.payload(MESSAGE_BYTES)
        self.signature = ecc.sign(self.key, self.message)

    def time_generate_key(self, curve: str) -> None:
        self.ecc.generate_private_key(self.curve, self.rng)

    def time_ecdh(self, curve: str) -> None:
        self.ecc.ecdh(self.key, self.peer)

    def time_sign(self, curve: str) -> None:
        self.ecc.sign(self.key, self.message)

    def time_verify(self, curve: str) -> None:
        self.ecc.verify(self.key.public_key(), self.signature, self.message)


class CostFloor:
    """All the public-key work of one provisioning (m2mrsp.bench.CostFloor)."""

    params: ClassVar[list[list[Any]]] = [["p256", "brainpoolp256r1"]]
    param_names: ClassVar[list[str]] = ["curve"]

    def setup(self, curve: str) -> None:
        self.floor = _data.attribute("bench", "CostFloor")(curve, _data.SEED)

    def time_cost_floor(self, curve: str) -> None:
        self.floor.measure()


class Symmetric:
    """AES-CMAC and the two KDFs."""

    def setup(self) -> None:
        self.cmac = _data.module("crypto.cmac")
        self.kdf = _data.module("crypto.kdf")
        self.scp03 = _data.module("crypto.scp03")
        self.key = self.cmac.CmacKey(KEY)

    def time_cmac_16_bytes(self) -> None:
        self.cmac.aes_cmac(KEY, bytes(16))

    def time_cmac_1024_bytes_keyed_template(self) -> None:
        self.key.mac(bytes(1024))

    def time_scp03_kdf(self) -> None:
        self.scp03.scp03_kdf(KEY, self.scp03.DERIVE_S_ENC, bytes(16), 128)

    def time_x963_kdf(self) -> None:
        self.kdf.x963_kdf(KEY * 2, bytes(19), 64)
