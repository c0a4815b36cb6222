"""Back-end selection: the three ``M2MRSP_NATIVE`` states, the exposed attributes, build info."""

from __future__ import annotations

import gc
import importlib.util
import json
import os
import subprocess
import sys
import threading
from typing import Any

import pytest

from m2mrsp import backend as selection
from m2mrsp.errors import NativeUnavailableError
from m2mrsp.hotpath.types import Scp03tState

BUILT = importlib.util.find_spec("m2mrsp._native") is not None
needs_native = pytest.mark.skipif(not selection.HAS_NATIVE, reason=str(selection.NATIVE_ERROR))

REPORT = """
import json, sys
from m2mrsp import backend as b
try:
    b.get("native")
    native = "ok"
except b.NativeUnavailableError as err:
    native = str(err)
print(json.dumps({"backend": b.BACKEND, "has": b.HAS_NATIVE, "error": b.NATIVE_ERROR,
                  "get_native": native, "loaded": "m2mrsp._native" in sys.modules}))
"""
# Makes the compiled module unimportable, as if the build had been skipped.
HIDE_NATIVE = """
import importlib.abc, sys
class _Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "m2mrsp._native":
            raise ModuleNotFoundError("No module named 'm2mrsp._native'", name=name)
        return None
sys.meta_path.insert(0, _Hide())
"""


def run_python(code: str, setting: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != selection.ENV_VAR}
    if setting is not None:
        env[selection.ENV_VAR] = setting
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )


def report(setting: str | None, prelude: str = "") -> dict[str, Any]:
    done = run_python(prelude + REPORT, setting)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_attributes_are_consistent() -> None:
    assert selection.HAS_NATIVE is (selection.NATIVE_ERROR is None)
    assert selection.BACKEND in selection.NAMES
    assert selection.BACKEND == selection.active().NAME == selection.get().NAME
    assert selection.get("python").NAME == "python"
    assert selection.available() == (["python", "native"] if selection.HAS_NATIVE else ["python"])
    with pytest.raises(ValueError, match="unknown back-end"):
        selection.get("rust")


def test_unset_uses_native_when_built() -> None:
    seen = report(None)
    assert seen["backend"] == ("native" if BUILT else "python")
    assert seen["has"] is BUILT and (seen["error"] is None) is BUILT
    assert (seen["get_native"] == "ok") is BUILT


def test_zero_forces_pure_and_never_loads_native() -> None:
    seen = report("0")
    assert seen == {
        "backend": "python", "has": False, "error": "disabled by M2MRSP_NATIVE=0",
        "get_native": "native back-end not available: disabled by M2MRSP_NATIVE=0",
        "loaded": False,
    }


def test_one_requires_native() -> None:
    if BUILT:
        assert report("1")["backend"] == "native"
    done = run_python(HIDE_NATIVE + REPORT, "1")
    assert done.returncode != 0
    assert "NativeUnavailableError: M2MRSP_NATIVE=1 but m2mrsp._native is not built" in done.stderr


@pytest.mark.parametrize("setting", ["yes", "2", "true", "native"])
def test_other_values_are_refused_loudly(setting: str) -> None:
    done = run_python(REPORT, setting)
    assert done.returncode != 0
    assert f"M2MRSP_NATIVE must be unset, 0 or 1, not {setting!r}" in done.stderr


def test_fallback_says_once_why() -> None:
    prelude = "import logging; logging.basicConfig(level=logging.INFO)\n" + HIDE_NATIVE
    done = run_python(prelude + REPORT + "b.get('python'); b.active()\n", "")
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["backend"] == "python" and seen["has"] is False
    assert "m2mrsp._native is not built" in seen["error"]
    assert done.stderr.count("hot path on the Python twin") == 1


def test_a_drifted_build_is_refused() -> None:
    if not BUILT:
        pytest.skip("m2mrsp._native is not built")
    prelude = "import m2mrsp.hotpath.types as t; t.MAX_SEGMENT_TLV = 1021\n"
    seen = report(None, prelude)
    assert seen["backend"] == "python"
    assert "does not match the Python contract" in seen["error"]


def test_build_info_describes_the_build() -> None:
    info = selection.build_info()
    assert info["backend"] == selection.BACKEND
    assert info["cryptography_openssl"].startswith("OpenSSL")
    assert all(isinstance(value, str) and value for value in info.values())
    if selection.HAS_NATIVE:
        assert info["native"] == "built and loaded"
        assert info["native_openssl_compiled"].startswith("OpenSSL 3")
        assert info["native_openssl_runtime"].startswith("OpenSSL 3")
        assert "-march" not in info["native_cflags"]
    else:
        assert info["native"].startswith("not available: ")
        assert info["native_compiler"] == "n/a"
    active_openssl = info["native_openssl_runtime" if selection.BACKEND == "native"
                          else "cryptography_openssl"]
    assert info["openssl"] == active_openssl


@needs_native
def test_both_back_ends_side_by_side() -> None:
    python, native = selection.get("python"), selection.get("native")
    assert (python.NAME, native.NAME) == ("python", "native")
    keys = (bytes(range(16)), bytes(range(16, 32)), bytes(range(32, 48)))
    state = Scp03tState(bytes(16), 0)
    wrapped = [b.SegmentCipher(*keys).wrap_all(state, bytes(3000), 1007) for b in (python, native)]
    assert wrapped[0] == wrapped[1]
    profile = b"".join(wrapped[0].tlvs)
    assert python.scan_tlv(profile).tobytes() == native.scan_tlv(profile).tobytes()


@needs_native
def test_native_ciphers_are_released() -> None:
    native = selection.get("native")
    for _ in range(500):
        native.SegmentCipher(bytes(16), bytes(16), bytes(16)).wrap_segment(
            Scp03tState(bytes(16), 0), b"x"
        )
    gc.collect()
    with pytest.raises(ValueError, match="S-MAC must be 16 bytes"):
        native.SegmentCipher(bytes(16), bytes(17), bytes(16))


@needs_native
def test_one_native_cipher_shared_by_threads() -> None:
    keys = (bytes(range(16)), bytes(range(16, 32)), bytes(range(32, 48)))
    shared = selection.get("native").SegmentCipher(*keys)
    reference = selection.get("python").SegmentCipher(*keys)
    jobs = [(Scp03tState(bytes([n]) * 16, n), bytes([n]) * (n * 3)) for n in range(64)]
    expected = [reference.wrap_segment(state, data) for state, data in jobs]
    results: list[list[Any]] = [[], []]

    def work(slot: int) -> None:
        for _ in range(5):
            results[slot] += [shared.wrap_segment(state, data) for state, data in jobs]

    threads = [threading.Thread(target=work, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results[0] == results[1] == expected * 5


def test_native_unavailable_error_names_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selection, "_NATIVE", None)
    monkeypatch.setattr(selection, "NATIVE_ERROR", "m2mrsp._native is not built (test)")
    with pytest.raises(NativeUnavailableError, match=r"not built \(test\)"):
        selection.get("native")
