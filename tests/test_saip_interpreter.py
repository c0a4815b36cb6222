"""The PPI on the real TS.48 profiles: install, segmentation, the model (PROTOCOL.md §6, §8)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from m2mrsp.errors import ProfileError
from m2mrsp.hotpath import bertlv_py
from m2mrsp.hotpath.types import TlvTable
from m2mrsp.saip.interpreter import ProfileInstaller
from m2mrsp.saip.pe import Status
from m2mrsp.saip.response import EUICCResponse, PEStatus
from m2mrsp.tlv import iter_tlvs

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
ASN1_MODULE = SHARED / "asn1" / "PE_Definitions-3.3.1.asn"
SEGMENT_SIZES = [1, 7, 240, 1007, None]

# PROTOCOL.md §8.6 [V]: (offset, tag, total length, identification) of
# TS48V2-SAIP2-3-NOBERTLV-UNIQUE.der; every PE but the header is mandated.
WALK_V2_3 = [
    (0, 0xA0, 160, None), (160, 0xB0, 763, 4), (923, 0xA3, 42, 5), (965, 0xA2, 78, 2),
    (1043, 0xB2, 544, 7), (1587, 0xA2, 36, 3), (1623, 0xA1, 794, 23), (2417, 0xB3, 1184, 8),
    (3601, 0xB4, 2607, 9), (6208, 0xA2, 36, 10), (6244, 0xA4, 55, 11), (6299, 0xB8, 143, 12),
    (6442, 0xBC, 312, 13), (6754, 0xBD, 62, 14), (6816, 0xB9, 1841, 15), (8657, 0xBA, 1524, 16),
    (10181, 0xA2, 36, 17), (10217, 0xA5, 113, 18), (10330, 0xB5, 473, 19),
    (10803, 0xB6, 100, 20), (10903, 0xA2, 36, 21), (10939, 0xA4, 55, 22),
    (10994, 0xA1, 240, 24), (11234, 0xA1, 433, 25), (11667, 0xA6, 361, 26),
    (12028, 0xA7, 36, 27), (12064, 0xA7, 58, 28), (12122, 0xA7, 58, 29), (12180, 0xA7, 62, 30),
    (12242, 0xAA, 9, 31),
]


def install(data: bytes, segment: int | None = None) -> tuple[ProfileInstaller, list[bool]]:
    """Feed ``data`` in ``segment``-byte pieces (whole when None); the feed results."""
    installer = ProfileInstaller(scan_tlv=bertlv_py.scan_tlv)
    step = segment or len(data)
    results = [installer.feed(data[i : i + step]) for i in range(0, len(data), step)]
    return installer, results


def snapshot(installer: ProfileInstaller) -> dict[str, Any]:
    """Everything a run installed, comparable between runs."""
    profile = installer.profile
    return {
        "elements": [(e.tag, e.identification, e.mandated, e.offset, e.raw)
                     for e in profile.elements],
        "files": {p: (f.directory, f.descriptor, f.size, f.content())
                  for p, f in profile.files.items()},
        "pins": {k: (p.value, p.max_attempts, p.retries_left) for k, p in profile.pins.items()},
        "puks": {k: p.value for k, p in profile.puks.items()},
        "aka": [(a.context, a.algorithm, a.key, a.opc) for a in profile.aka],
        "sd": profile.security_domains,
        "rfm": profile.rfm,
        "response": installer.response(),
    }


def test_ts48_installs_and_reencodes(ts48_profile: tuple[str, bytes]) -> None:
    name, data = ts48_profile
    installer, results = install(data)
    assert results == [True]
    assert installer.finished and not installer.aborted
    profile = installer.profile
    expected = 30 if "SAIP2-3" in name else 28
    assert len(profile.elements) == expected == len(list(iter_tlvs(data)))
    assert profile.encode() == data
    for element, item in zip(profile.elements, iter_tlvs(data), strict=True):
        assert (element.offset, element.tag, element.raw) == (item.offset, item.tag,
                                                              data[item.offset : item.end])
        assert element.encode() == element.raw
    end = profile.elements[-1]
    assert installer.response() == EUICCResponse((PEStatus(Status.OK, end.identification),)
                                                 ).encode()
    assert not profile.unknown


def shared_profile(name: str) -> bytes:
    path = SHARED / "profiles" / f"{name}.der"
    if not path.is_file():
        pytest.skip(f"TS.48 profile not found at {path} (the shared/ folder)")
    return path.read_bytes()


def test_opt_usim_needs_its_usim() -> None:
    data = shared_profile("TS48V2-SAIP2-3-NOBERTLV-UNIQUE")
    usim_start, usim_length = 2417, 1184  # §8.6: usim (id 8) is followed by opt-usim (id 9)
    without_usim = data[:usim_start] + data[usim_start + usim_length :]
    installer = ProfileInstaller()
    with pytest.raises(ProfileError) as info:
        installer.feed(without_usim)
    err = info.value
    assert (err.status, err.identification, err.offset) == (Status.INVALID_REQUEST_FORMAT, 9,
                                                            usim_start)
    assert installer.response() == bytes.fromhex("3010A00C 300A 800105 810109 83020971 8100")


def test_ts48_walk_table_v2_3() -> None:
    data = shared_profile("TS48V2-SAIP2-3-NOBERTLV-UNIQUE")
    installer, _ = install(data)
    walk = [(e.offset, e.tag, len(e.raw), e.identification) for e in installer.profile.elements]
    assert walk == WALK_V2_3
    assert [e.mandated for e in installer.profile.elements] == [False] + [True] * 29
    assert [e.name for e in installer.profile.elements][:4] == [
        "header", "mf", "pukCodes", "pinCodes"]
    assert len(data) == 12251
    assert installer.response() == bytes.fromhex("300AA008300680010081011F")


@pytest.mark.parametrize("segment", SEGMENT_SIZES[:-1])
def test_ts48_segment_sizes_give_identical_results(
    ts48_profile: tuple[str, bytes], segment: int
) -> None:
    _, data = ts48_profile
    whole, _ = install(data)
    installer, results = install(data, segment)
    assert snapshot(installer) == snapshot(whole)
    assert results[-1] is True and not any(results[:-1])  # True only once end is complete


def test_ts48_model(ts48_profile: tuple[str, bytes]) -> None:
    name, data = ts48_profile
    profile = install(data)[0].profile
    assert profile.major_version == 2
    assert profile.minor_version == (3 if "SAIP2-3" in name else 1)
    assert profile.profile_type == "GSMA Generic eUICC Test Profile"
    assert profile.pol1 == 0
    assert {"usim", "isim", "csim", "usim-test-algorithm"} <= profile.mandatory_services
    assert profile.mandatory_templates[0] == "2.23.143.1.2.1"
    assert len(profile.iccid) == 19 and profile.iccid.startswith("894944999999999")
    # EF.ICCID holds the header ICCID nibble-swapped (PROTOCOL.md §1.6)
    iccid_bytes = bytes.fromhex(profile.iccid + "F")
    swapped = bytes(((b & 0x0F) << 4) | (b >> 4) for b in iccid_bytes)
    assert profile.files["3F00/2FE2"].content() == swapped
    assert profile.imsi() == "001010123456063"
    assert profile.naa_directories == {
        "usim": ["3F00/7FD0"], "csim": ["3F00/7FC0"], "isim": ["3F00/7FB0"]}
    assert profile.files["3F00/7FD0"].directory
    assert profile.files["3F00/7F10/5F3A"].directory  # DF.PHONEBOOK inside the telecom PE
    pin1 = profile.pins[("3F00", 0x01)]
    assert (pin1.value, pin1.unblocking_reference, pin1.max_attempts, pin1.retries_left) == (
        b"0000\xff\xff\xff\xff", 1, 3, 3)
    assert set(profile.puks) == {0x01, 0x81}
    assert profile.puks[0x81].value == b"22222222"
    assert [(a.context, a.algorithm) for a in profile.aka] == [
        ("3F00/7FD0", 3), ("3F00/7FB0", 3)]
    assert profile.aka[0].key == bytes(range(16))
    (sd,) = profile.security_domains
    assert sd.instance.instance_aid == bytes.fromhex("A000000151000000")
    assert sd.instance.privileges == bytes.fromhex("82DC00")
    assert [(k.key_id, k.version, k.usage) for k in sd.keys] == [
        (1, 1, 0x18), (2, 1, 0x14), (3, 1, 0x48), (1, 2, 0x18), (2, 2, 0x14), (3, 2, 0x48)]
    assert [r.tars for r in profile.rfm] == [
        (bytes.fromhex("B00120"),), (bytes.fromhex("B00140"),), (bytes.fromhex("B00141"),),
        (bytes.fromhex("B00142"),)]
    # secrets stay out of repr, so logging the model never prints them
    assert "key=" not in repr(profile.aka[0]) and "opc=" not in repr(profile.aka[0])
    assert "value=" not in repr(pin1) and "components=" not in repr(sd.keys[0])


def _asn1() -> Any:
    asn1tools = pytest.importorskip("asn1tools", reason="asn1tools (test dependency) missing")
    if not ASN1_MODULE.is_file():
        pytest.skip(f"ASN.1 module not found at {ASN1_MODULE} (the shared/ folder)")
    return asn1tools.compile_files(str(ASN1_MODULE), "der")


def test_ts48_model_agrees_with_asn1_compiler(ts48_profile: tuple[str, bytes]) -> None:
    """Independent oracle: asn1tools decodes the same PEs; credentials must agree."""
    _, data = ts48_profile
    spec = _asn1()
    profile = install(data)[0].profile
    pins, puks, aka, sd_keys = [], [], [], []
    for item in iter_tlvs(data):
        kind, value = spec.decode("ProfileElement", data[item.offset : item.end])
        if kind == "pinCodes" and value["pinCodes"][0] == "pinconfig":
            pins += [(p["keyReference"], p["pinValue"], p.get("pinAttributes", 7),
                      p.get("maxNumOfAttemps-retryNumLeft", 51)) for p in value["pinCodes"][1]]
        elif kind == "pukCodes":
            puks += [(p["keyReference"], p["pukValue"]) for p in value["pukCodes"]]
        elif kind == "akaParameter":
            algo = value["algoConfiguration"][1]
            aka.append((algo["algorithmID"], algo["key"], algo["opc"]))
        elif kind == "securityDomain":
            sd_keys += [(k["keyIdentifier"][0], k["keyVersionNumber"][0],
                         k["keyComponents"][0]["keyData"]) for k in value["keyList"]]
        elif kind == "header":
            assert profile.iccid == value["iccid"].hex().upper().rstrip("F")
            assert profile.mandatory_services == frozenset(value["eUICC-Mandatory-services"])
    assert [(p.key_reference, p.value, p.attributes, p.max_attempts * 16 + p.retries_left)
            for p in profile.pins.values()] == pins
    assert [(p.key_reference, p.value) for p in profile.puks.values()] == puks
    assert [(a.algorithm, a.key, a.opc) for a in profile.aka] == aka
    assert [(k.key_id, k.version, k.components[0][1])
            for sd in profile.security_domains for k in sd.keys] == sd_keys


def test_scan_tlv_is_called_once_per_pe(ts48_profile: tuple[str, bytes]) -> None:
    _, data = ts48_profile
    calls: list[int] = []

    def spy(buf: bytes) -> TlvTable:
        calls.append(len(buf))
        return bertlv_py.scan_tlv(buf)

    installer = ProfileInstaller(scan_tlv=spy)
    assert installer.feed(data)
    assert calls == [len(e.raw) for e in installer.profile.elements]


def test_truncated_package_never_finishes(ts48_profile: tuple[str, bytes]) -> None:
    _, data = ts48_profile
    for cut in (1, 2, 159, 160, 161, len(data) // 2, len(data) - 9, len(data) - 1):
        installer, results = install(data[:cut], 1007)
        assert not any(results)
        assert not installer.finished and not installer.aborted


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=1, max_value=12300), max_size=12))
def test_random_cut_points_give_identical_results(cuts: list[int]) -> None:
    data = shared_profile("TS48V2-SAIP2-3-NOBERTLV-UNIQUE")
    points = sorted({c for c in cuts if c < len(data)} | {0, len(data)})
    installer = ProfileInstaller()
    results = [installer.feed(data[a:b]) for a, b in itertools.pairwise(points)]
    assert results[-1] and not any(results[:-1])
    assert installer.profile.encode() == data
    assert snapshot(installer) == snapshot(install(data)[0])
