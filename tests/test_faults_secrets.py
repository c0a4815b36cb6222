"""Secrets stay secret (docs/FAULTS.md): constant-time checks, nothing in the logs, SM-SR blind.

* Every comparison of a MAC, cryptogram or receipt goes through ``hmac.compare_digest`` (Python)
  or ``CRYPTO_memcmp`` (native): an AST audit of the sources finds no ``==``/``!=`` on them.
* A full ``m2mrsp run --key-log`` and failing provisionings, logged at DEBUG, leave none of the
  key-log secrets, ECDH shared secrets, KeyData or profile secrets (K, OPc, MNO-SD keys) in the
  log records, in any encoding, nor on stdout/stderr, and no 16-byte window of the profile
  plain text either.
* The SM-SR never holds any of them, nor any window of the profile package.
"""

from __future__ import annotations

import ast
import io
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from m2mrsp import cli
from m2mrsp.crypto import ecc
from m2mrsp.entities.euicc import Euicc
from m2mrsp.errors import ProvisioningError
from m2mrsp.keylog import KeyLog
from m2mrsp.protocol import keyest
from m2mrsp.provisioning import World
from m2mrsp.wire import Message
from tests.faults_support import Es8Tap, flip, make_world, run, small_profile

SOURCES = Path(__file__).resolve().parents[1] / "src" / "m2mrsp"
NATIVE = Path(__file__).resolve().parents[1] / "native"
SECRET_NAME = re.compile(r"mac|cryptogram|receipt", re.IGNORECASE)
# Where a secret comparison must be constant time (module -> how many compare_digest calls).
CONSTANT_TIME = {
    "hotpath/scp03t_py.py": 2,  # C-MAC, R-MAC
    "protocol/scp03t.py": 3,  # card challenge, 85 C-MAC, host cryptogram
    "crypto/scp03.py": 5,  # card and host cryptograms, EXTERNAL AUTHENTICATE, C-MAC, R-MAC
    "protocol/keyest.py": 1,  # receipt
}


def _length_like(node: ast.expr) -> bool:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id in ("len", "bool")
    if isinstance(node, ast.Attribute):
        return node.attr in ("length", "kind", "tag", "status")
    return isinstance(node, ast.Constant) and not isinstance(node.value, bytes)


def test_no_secret_is_compared_with_equality() -> None:
    offenders = []
    for path in sorted(SOURCES.rglob("*.py")):
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.Compare) or not any(
                isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops
            ):
                continue
            operands = [node.left, *node.comparators]
            if any(_length_like(o) for o in operands):
                continue
            text = ast.get_source_segment(source, node) or ""
            if SECRET_NAME.search(text):
                offenders.append(f"{path.relative_to(SOURCES)}:{node.lineno}: {text}")
    assert offenders == []


def test_secret_comparisons_are_constant_time() -> None:
    for module, count in CONSTANT_TIME.items():
        assert (SOURCES / module).read_text().count("hmac.compare_digest(") >= count, module
    native = (NATIVE / "scp03t.c").read_text() if (NATIVE / "scp03t.c").exists() else ""
    if native:
        assert "CRYPTO_memcmp(" in native
        assert re.search(r"(?<!CRYPTO_)\bmemcmp\(", native) is None


# -- logs -----------------------------------------------------------------------------------------


def _key_log_secrets(text: str) -> list[bytes]:
    """Keys, session keys and the chaining value from a key log (challenges are public)."""
    secrets = []
    for line in text.splitlines():
        label, _, value = line.split()
        if "KEY" in label or label.startswith("SCP03T_S_") or label == "SCP03T_MCV":
            secrets.append(bytes.fromhex(value))
    return secrets


def _encodings(secret: bytes) -> list[str]:
    return [secret.hex(), secret.hex().upper(), repr(secret)[2:-1], secret.decode("latin-1"),
            " ".join(f"{b:02x}" for b in secret), " ".join(f"{b:02X}" for b in secret)]


def _assert_absent(secrets: list[bytes], text: str) -> None:
    assert secrets
    for secret in secrets:
        assert len(secret) >= 16
        for form in _encodings(secret):
            assert form not in text, f"secret {secret.hex()[:8]}... found in the logs"


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every ECDH shared secret and KeyData computed while the test runs."""
    seen: list[bytes] = []
    ecdh, derive = ecc.ecdh, keyest.derive_key_data

    def recording_ecdh(private_key: Any, peer: Any) -> bytes:
        seen.append(ecdh(private_key, peer))
        return seen[-1]

    def recording_derive(*args: Any, **kwargs: Any) -> bytes:
        seen.append(derive(*args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(ecc, "ecdh", recording_ecdh)
    monkeypatch.setattr(keyest, "derive_key_data", recording_derive)
    return seen


def _profile_secrets(euicc: Euicc) -> list[bytes]:
    profile = next(p.profile for p in euicc.isd_ps.values() if p.profile is not None)
    secrets = [value for aka in profile.aka for value in (aka.key, aka.opc)]
    for domain in profile.security_domains:
        secrets += [data for key in domain.keys for _, data in key.components]
    return secrets


def _log_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(
        f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records
    )


def test_a_full_cli_run_logs_no_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str],
    backend: Any, recorded: list[bytes], monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    cards: list[Euicc] = []
    original = Euicc.__init__

    def keep(self: Euicc, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        cards.append(self)

    monkeypatch.setattr(Euicc, "__init__", keep)
    key_log = tmp_path / "keys.txt"
    assert cli.main(["run", "--seed", "3", "--backend", backend.NAME, "--key-log",
                     str(key_log), "--segment-size", "300"]) == 0
    out = capsys.readouterr()
    secrets = _key_log_secrets(key_log.read_text())
    assert len(secrets) == 7  # ENC, MAC, DEK; S-ENC, S-MAC, S-RMAC; the MCV
    assert len(recorded) == 4  # two ECDH, two KeyData (SM-DP and card)
    assert len(caplog.records) > 10  # DEBUG did log something
    text = _log_text(caplog) + out.out + out.err
    _assert_absent(secrets + recorded + _profile_secrets(cards[0]), text)
    package = next(p.profile for p in cards[0].isd_ps.values() if p.profile).encode()
    windows = {package[i : i + 16] for i in range(0, len(package) - 16, 4)}
    windows = {w for w in windows if len(set(w)) > 3}  # not runs like FF..FF
    lowered = text.lower()
    assert len(windows) > 100
    assert not any(w.hex() in lowered or repr(w)[2:-1] in text for w in windows)


@pytest.mark.parametrize("where", ["receipt", "segment", "answer"])
def test_failing_runs_log_no_secret(
    backend: Any, caplog: pytest.LogCaptureFixture, recorded: list[bytes], where: str
) -> None:
    caplog.set_level(logging.DEBUG)
    world = make_world(backend, segment_size=200)
    log = io.StringIO()
    world.smdp._key_log = KeyLog(log)  # noqa: SLF001
    target = {"receipt": 5, "segment": 11, "answer": 14}[where]
    tap = Es8Tap(target, lambda data: flip(data, 8 * len(data) - 9))
    tap.attach(world.smdp)
    with pytest.raises(ProvisioningError):
        run(world, small_profile())
    _assert_absent(_key_log_secrets(log.getvalue()) + recorded, _log_text(caplog))


# -- the SM-SR ------------------------------------------------------------------------------------


def _blobs(message: Message) -> list[bytes]:
    """The bytes of a message, and for ES3 every hex string inside its JSON."""
    blobs = [message.data]
    if message.interface == "ES3":
        def walk(value: Any) -> None:
            if isinstance(value, dict):
                for item in value.values():
                    walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)
            elif isinstance(value, str) and re.fullmatch(r"(?:[0-9A-Fa-f]{2})+", value):
                blobs.append(bytes.fromhex(value))
        walk(json.loads(message.data))
    return blobs


def _sm_sr_view(world: World) -> bytes:
    return b"\x00".join(blob for m in world.wire.seen_by("SM-SR") for blob in _blobs(m))


@pytest.mark.parametrize("fail", [False, True])
def test_the_sm_sr_never_sees_keys_secrets_or_plaintext(
    backend: Any, recorded: list[bytes], fail: bool
) -> None:
    world = make_world(backend, segment_size=200)
    log = io.StringIO()
    world.smdp._key_log = KeyLog(log)  # noqa: SLF001
    package = small_profile()
    tap = Es8Tap(15 if fail else None, lambda data: flip(data, 0))
    tap.attach(world.smdp)
    if fail:
        with pytest.raises(ProvisioningError):
            run(world, package)
        profile_secrets: list[bytes] = []
    else:
        run(world, package)
        profile_secrets = _profile_secrets(world.euicc)
    view = _sm_sr_view(world)
    assert len(view) > len(package)
    for secret in _key_log_secrets(log.getvalue()) + recorded + profile_secrets:
        assert secret not in view
    window = 16
    chunks = {package[i : i + window] for i in range(len(package) - window)}
    chunks = {c for c in chunks if len(set(c)) > 3}
    assert not any(view[i : i + window] in chunks for i in range(len(view) - window))
