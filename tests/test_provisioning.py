"""Complete provisionings on real bytes: every phase, every TS.48 profile, failures and secrecy."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from m2mrsp import tlv
from m2mrsp.entities import euicc as euicc_module
from m2mrsp.errors import ProvisioningError
from m2mrsp.protocol import es3, es5
from m2mrsp.provisioning import Options, provision
from m2mrsp.wire import Message


def _run(package: bytes, backend: Any, **options: Any) -> Any:
    return provision(package, Options(backend=backend.NAME, seed=7, **options))


def test_every_ts48_profile_is_installed_and_enabled(
    ts48_profile: tuple[str, bytes], backend: Any
) -> None:
    _, package = ts48_profile
    result = _run(package, backend)
    assert result.installed_pes == result.input_pes in (28, 30)
    assert (result.isdp_state, result.eis_state) == ("ENABLED", "Enabled")
    assert result.download.segments == -(-len(package) // 1007)
    assert result.download.euicc_response is not None
    assert result.download.euicc_response.succeeded


@pytest.mark.parametrize("curve", ["p256", "brainpoolp256r1"])
def test_both_curves_and_small_segments(ts48_profile: tuple[str, bytes], curve: str) -> None:
    _, package = ts48_profile
    result = provision(package, Options(curve=curve, segment_size=240, seed=3))
    assert result.download.segments == -(-len(package) // 240)
    assert result.isdp_state == "ENABLED"


def test_the_sp800_56c_kdf_is_selectable(ts48_profile: tuple[str, bytes]) -> None:
    _, package = ts48_profile
    assert provision(package, Options(kdf="sp800-56c", seed=1)).isdp_state == "ENABLED"


def test_installed_profile_re_encodes_to_the_input(
    ts48_profile: tuple[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, package = ts48_profile
    cards: list[euicc_module.Euicc] = []
    original = euicc_module.Euicc.__init__

    def keep(self: euicc_module.Euicc, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        cards.append(self)

    monkeypatch.setattr(euicc_module.Euicc, "__init__", keep)
    result = provision(package, Options(seed=2))
    profile = cards[0].isd_ps[result.isdp_aid].profile
    assert profile is not None and profile.encode() == package
    assert profile.iccid == result.iccid


def test_seeded_runs_are_byte_identical(ts48_profile: tuple[str, bytes]) -> None:
    _, package = ts48_profile
    first, second = (provision(package, Options(seed=11)).wire for _ in range(2))
    assert [m.data for m in first.messages] == [m.data for m in second.messages]


def _tamper_segment(message: bytes, target: int, bit: int, seen: int) -> tuple[bytes, int]:
    aid, script = es5.parse_frame(message)
    body = tlv.decode_single(script, es5.COMMAND_SCRIPT)
    base = len(message) - len(body)
    out = bytearray(message)
    for item in tlv.iter_tlvs(body):
        if item.tag == 0x86:
            if seen == target:
                position = base + item.value_offset + (bit // 8) % item.length
                out[position] ^= 1 << (bit % 8)
            seen += 1
    return bytes(out), seen


@pytest.mark.parametrize(("segment", "bit"), [(0, 0), (5, 1234), (11, 8000), (12, 3)])
def test_a_flipped_bit_in_any_segment_fails_cleanly(
    ts48_profile: tuple[str, bytes], backend: Any, monkeypatch: pytest.MonkeyPatch,
    segment: int, bit: int, caplog: pytest.LogCaptureFixture,
) -> None:
    _, package = ts48_profile
    caplog.set_level("INFO", logger="m2mrsp.entities.euicc")
    segments = -(-len(package) // 1007)
    segment = min(segment, segments - 1)
    cards: list[euicc_module.Euicc] = []
    original_handle = euicc_module.Euicc.handle_es5
    state = {"seen": 0}

    def tampering_handle(self: euicc_module.Euicc, message: bytes) -> bytes:
        if self not in cards:
            cards.append(self)
        _, script = es5.parse_frame(message)
        if script != es5.PUSH:
            message, state["seen"] = _tamper_segment(message, segment, bit, state["seen"])
        return original_handle(self, message)

    monkeypatch.setattr(euicc_module.Euicc, "handle_es5", tampering_handle)
    with pytest.raises(ProvisioningError, match="6982") as err:
        provision(package, Options(backend=backend.NAME, seed=5))
    assert "CARD_ERROR" in str(err.value)
    assert "mac mismatch" in caplog.text
    card = cards[0]
    assert card.isd_ps == {}, "the failed ISD-P must be deleted"
    assert card.enabled_profile() is None


def _blobs(message: Message) -> list[bytes]:
    """The bytes an entity handled: raw ES5 bytes, or ES3 JSON and every hex field in it."""
    if message.interface != "ES3":
        return [message.data]
    blobs = [message.data]
    document = json.loads(message.data)

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str) and len(value) % 2 == 0:
            try:
                blobs.append(bytes.fromhex(value))
            except ValueError:
                pass

    walk(document)
    return blobs


def test_the_sm_sr_never_holds_profile_plaintext_or_isdp_keys(
    ts48_profile: tuple[str, bytes], backend: Any
) -> None:
    _, package = ts48_profile
    key_log = io.StringIO()
    result = provision(package, Options(backend=backend.NAME, seed=9), key_log=key_log)
    secrets = [bytes.fromhex(line.split()[2]) for line in key_log.getvalue().splitlines()
               if "KEY" in line or "_S_" in line]
    assert len(secrets) == 6
    window = 24
    chunks = {package[i : i + window] for i in range(len(package) - window)}
    chunks = {c for c in chunks if len(set(c)) > 2}  # skip runs like FF..FF or 00..00
    relayed = [blob for m in result.wire.seen_by("SM-SR") for blob in _blobs(m)]
    assert sum(len(b) for b in relayed) > len(package)
    for blob in relayed:
        for secret in secrets:
            assert secret not in blob
        assert not any(blob[i : i + window] in chunks for i in range(len(blob) - window))


def _key_log(text: str) -> dict[str, bytes]:
    entries = {}
    for line in text.splitlines():
        label, _, value = line.split()
        entries[label] = bytes.fromhex(value if len(value) % 2 == 0 else "0" + value)
    return entries


def test_trace_and_key_log_let_an_outsider_recompute_every_segment(
    ts48_profile: tuple[str, bytes],
) -> None:
    _, package = ts48_profile
    key_log, trace = io.StringIO(), io.StringIO()
    result = provision(package, Options(seed=4, segment_size=500), key_log=key_log)
    result.wire.write_trace(trace)
    keys = _key_log(key_log.getvalue())
    messages = [json.loads(line) for line in trace.getvalue().splitlines()]
    es8 = [bytes.fromhex(m["hex"]) for m in messages
           if m["interface"] == "ES8" and m["sender"] == "SM-DP"]
    ext_auth = next(m for m in es8 if m[0] == 0x85)
    mac = cmac.CMAC(algorithms.AES(keys["SCP03T_S_MAC"]))
    mac.update(bytes(16) + ext_auth[:-8])
    mcv = mac.finalize()
    assert mcv == keys["SCP03T_MCV"] and ext_auth[-8:] == mcv[:8]
    segments = [m for m in es8 if m[0] == 0x86]
    assert len(segments) == -(-len(package) // 500)
    ecb = Cipher(algorithms.AES(keys["SCP03T_S_ENC"]), modes.ECB()).encryptor()
    for number, segment in enumerate(segments, 1):
        chunk = package[(number - 1) * 500 : number * 500]
        padded = chunk + b"\x80" + bytes(15 - len(chunk) % 16)
        icv = ecb.update(number.to_bytes(16, "big"))
        cbc = Cipher(algorithms.AES(keys["SCP03T_S_ENC"]), modes.CBC(icv)).encryptor()
        cipher_text = cbc.update(padded) + cbc.finalize()
        header = b"\x86" + tlv.encode_length(len(cipher_text) + 8)
        mac = cmac.CMAC(algorithms.AES(keys["SCP03T_S_MAC"]))
        mac.update(mcv + header + cipher_text)
        mcv = mac.finalize()
        assert segment == header + cipher_text + mcv[:8]
    es3_functions = [es3.decode_request(bytes.fromhex(m["hex"]))[0] for m in messages
                     if m["interface"] == "ES3" and m["sender"] == "SM-DP"]
    assert es3_functions[:2] == ["GetEIS", "CreateISDP"]
    assert es3_functions[-2:] == ["ProfileDownloadCompleted", "EnableProfile"]


def test_a_package_without_header_is_refused(backend: Any) -> None:
    with pytest.raises(ProvisioningError, match="header"):
        provision(tlv.encode_tlv(0xB0, b"\x80\x00"), Options(backend=backend.NAME))


def test_an_eum_certificate_from_another_ci_stops_before_creation(backend: Any) -> None:
    from dataclasses import replace

    from m2mrsp.crypto import ecc
    from m2mrsp.entities.pki import Party, issue
    from m2mrsp.protocol import certs
    from m2mrsp.provisioning import make_pki, run_phases, set_up
    from m2mrsp.rng import RandomSource
    from m2mrsp.saip.builder import build_default_profile

    options = Options(backend=backend.NAME, seed=12)
    pki = make_pki(options)
    rng = RandomSource(99, "rogue")
    rogue_ci = Party(ecc.generate_private_key(ecc.P256, rng), ecc.P256)
    # The EUM's own key, certified by a CI the SM-DP does not trust.
    forged = issue(rogue_ci, pki.eum.public_key, pki.eum.curve, rng,
                   key_usage=certs.KEY_USAGE_SIGNATURE)
    world = set_up(options, pki=replace(pki, eum=replace(pki.eum, certificate=forged)))
    package = build_default_profile(target_size=0)
    with pytest.raises(ProvisioningError, match="ISD-P creation failed: certificate"):
        run_phases(world, package, "89000123456789012341")
    assert world.euicc.isd_ps == {}
    assert world.smsr.eis(world.eid).profiles == {}
