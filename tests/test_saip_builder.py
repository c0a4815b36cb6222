"""The project's default SAIP profile: structure, size control, PPI install, ASN.1 oracle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from m2mrsp.errors import ProfileError
from m2mrsp.rng import RandomSource
from m2mrsp.saip.builder import (
    DEFAULT_ICCID,
    DEFAULT_IMSI,
    DEFAULT_PROFILE_SIZE,
    build_default_profile,
    encode_imsi,
)
from m2mrsp.saip.interpreter import ProfileInstaller
from m2mrsp.tlv import iter_tlvs

ASN1_MODULE = (Path(__file__).resolve().parents[1].parent / "shared" / "asn1"
               / "PE_Definitions-3.3.1.asn")
BARE_NAMES = ["header", "mf", "pukCodes", "pinCodes", "usim", "pinCodes", "akaParameter",
              "securityDomain", "end"]


@pytest.fixture(scope="module")
def asn1_spec() -> Any:
    asn1tools = pytest.importorskip("asn1tools", reason="asn1tools (test dependency) missing")
    if not ASN1_MODULE.is_file():
        pytest.skip(f"ASN.1 module not found at {ASN1_MODULE} (the shared/ folder)")
    return asn1tools.compile_files(str(ASN1_MODULE), "der")


def installed(data: bytes) -> ProfileInstaller:
    installer = ProfileInstaller()
    assert installer.feed(data)
    return installer


@pytest.mark.parametrize("target", [None, 0, 3000, 12251, 70000])
def test_every_pe_decodes_with_the_asn1_module(asn1_spec: Any, target: int | None) -> None:
    data = build_default_profile(rng=RandomSource(1), target_size=target)
    names = []
    for item in iter_tlvs(data):
        name, value = asn1_spec.decode("ProfileElement", data[item.offset : item.end])
        names.append(name)
        if name == "header":
            assert (value["major-version"], value["minor-version"]) == (2, 3)
            assert set(value["eUICC-Mandatory-services"]) == {"usim", "milenage"}
            assert value["iccid"] == bytes.fromhex(DEFAULT_ICCID)
        elif name == "akaParameter":
            assert value["algoConfiguration"][1]["algorithmID"] == 1
    fillers = names.count("genericFileManagement")
    assert [n for n in names if n != "genericFileManagement"] == BARE_NAMES
    assert (fillers == 0) == (target == 0)


def test_default_size_and_install() -> None:
    data = build_default_profile(rng=RandomSource(3))
    assert len(data) == DEFAULT_PROFILE_SIZE == 12288
    installer = installed(data)
    profile = installer.profile
    assert profile.encode() == data
    assert profile.iccid == DEFAULT_ICCID
    assert (profile.major_version, profile.minor_version) == (2, 3)
    assert profile.mandatory_services == {"usim", "milenage"}
    assert profile.imsi() == DEFAULT_IMSI
    # PROTOCOL.md §8.4: EF.ICCID of 89000123456789012341 is 98001032547698103214
    assert profile.files["3F00/2FE2"].content() == bytes.fromhex("98001032547698103214")
    assert profile.files["3F00/7FD0"].directory
    assert [(pin.context, pin.key_reference) for pin in profile.pins.values()] == [
        ("3F00", 0x01), ("3F00", 0x0A), ("3F00/7FD0", 0x81)]
    assert set(profile.puks) == {0x01, 0x81}
    (aka,) = profile.aka
    assert (aka.context, aka.algorithm, len(aka.key), len(aka.opc)) == ("3F00/7FD0", 1, 16, 16)
    (sd,) = profile.security_domains
    assert sd.instance.instance_aid == bytes.fromhex("A000000151000000")
    assert [(k.key_id, k.version, k.usage, k.components[0][0]) for k in sd.keys] == [
        (1, 1, 0x18, 0x88), (2, 1, 0x14, 0x88), (3, 1, 0x48, 0x88)]
    ids = [e.identification for e in profile.elements]
    assert ids == [None, *range(1, len(ids))]
    assert all(e.mandated for e in profile.elements[1:])


def test_keys_come_from_the_random_source() -> None:
    one = installed(build_default_profile(rng=RandomSource(5), target_size=0)).profile
    same = installed(build_default_profile(rng=RandomSource(5), target_size=0)).profile
    other = installed(build_default_profile(rng=RandomSource(6), target_size=0)).profile
    assert one.aka[0].key == same.aka[0].key and one.aka[0].opc == same.aka[0].opc
    assert one.aka[0].key != other.aka[0].key
    assert one.aka[0].key != one.aka[0].opc
    keys = [k.components[0][1] for k in one.security_domains[0].keys]
    assert len(set(keys)) == 3 and all(len(k) == 16 for k in keys)
    assert keys != [k.components[0][1] for k in other.security_domains[0].keys]


def test_os_randomness_by_default() -> None:
    one = installed(build_default_profile(target_size=0)).profile
    two = installed(build_default_profile(target_size=0)).profile
    assert one.aka[0].key != two.aka[0].key


def test_custom_identifiers() -> None:
    data = build_default_profile(iccid="8944000000000000017", imsi="20801123456789",
                                 rng=RandomSource(1), target_size=0)
    profile = installed(data).profile
    assert profile.iccid == "8944000000000000017"
    assert profile.imsi() == "20801123456789"
    assert profile.files["3F00/7FD0/6F78"].content() == (1 << 9).to_bytes(2, "big")


def test_encode_imsi_vectors() -> None:
    # TS.48 EF.IMSI content for 001010123456063 (odd count: parity nibble 9)
    assert encode_imsi("001010123456063") == bytes.fromhex("080910101032540636")
    assert encode_imsi("20801123456789") == bytes.fromhex("08218010214365 87F9")  # even: 1
    with pytest.raises(ValueError):
        encode_imsi("12345")


def test_bad_iccid() -> None:
    with pytest.raises(ProfileError):
        build_default_profile(iccid="123", rng=RandomSource(1))


def test_bare_profile_for_small_targets() -> None:
    bare = build_default_profile(rng=RandomSource(1), target_size=0)
    assert build_default_profile(rng=RandomSource(1), target_size=len(bare) + 10) == bare
    assert build_default_profile(rng=RandomSource(1), target_size=-5) == bare
    assert len(bare) < 1200


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1200, max_value=300_000))
def test_target_size_is_reached(target: int) -> None:
    data = build_default_profile(rng=RandomSource(2), target_size=target)
    assert target - 64 < len(data) <= target
    installer = installed(data)
    assert installer.profile.encode() == data
