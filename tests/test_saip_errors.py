"""PPI error rules on crafted packages (PROTOCOL.md §6.3, §6.4, §8.5).

Packages are built from the project's default profile (``target_size=0``: header, mf id 1,
pukCodes id 2, pinCodes id 3, usim id 4, pinCodes id 5, akaParameter id 6, securityDomain
id 7, end id 8) by reordering, dropping or editing PEs; each test checks the status, the
identification and the package offset of the PE concerned, and the EUICCResponse bytes.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from m2mrsp.errors import ProfileError
from m2mrsp.rng import RandomSource
from m2mrsp.saip.builder import build_default_profile
from m2mrsp.saip.interpreter import MAX_PENDING_BYTES, SUPPORTED_SERVICES, ProfileInstaller
from m2mrsp.saip.pe import PEHeader, Status
from m2mrsp.saip.response import EUICCResponse, PEStatus
from m2mrsp.tlv import encode_tlv, iter_tlvs

HEADER, MF, PUK, PIN_MF, USIM, PIN_ADF, AKA, SD, END = range(9)


def default_pes() -> list[bytes]:
    data = build_default_profile(rng=RandomSource(7), target_size=0)
    pes = [data[item.offset : item.end] for item in iter_tlvs(data)]
    assert len(pes) == 9
    return pes


def offset_of(pes: list[bytes], index: int) -> int:
    return sum(len(pe) for pe in pes[:index])


def fail(package: bytes, **kwargs: object) -> tuple[ProfileError, ProfileInstaller]:
    """Feed ``package`` whole; it must abort. The error and the installer."""
    installer = ProfileInstaller(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(ProfileError) as info:
        installer.feed(package)
    assert installer.aborted and not installer.finished
    return info.value, installer


def assert_error(err: ProfileError, status: int, identification: int | None,
                 offset: int | None) -> None:
    assert (err.status, err.identification, err.offset) == (status, identification, offset)


def assert_abort_response(installer: ProfileInstaller, err: ProfileError,
                          warnings: tuple[PEStatus, ...] = ()) -> None:
    expected = EUICCResponse(warnings + (PEStatus(err.status, err.identification, None,
                                                  err.offset),), aborted=True)
    assert installer.response() == expected.encode()


def with_id(pe: bytes, old: int, new: int) -> bytes:
    """The PE with its PEHeader identification changed (both one byte)."""
    before = PEHeader(True, old).encode()
    assert pe.count(before) == 1
    return pe.replace(before, PEHeader(True, new).encode())


def test_default_profile_is_clean() -> None:
    pes = default_pes()
    installer = ProfileInstaller()
    assert installer.feed(b"".join(pes))
    assert installer.response() == bytes.fromhex("300AA00830068001008101 08")


def test_first_pe_must_be_header() -> None:
    pes = default_pes()
    err, installer = fail(b"".join(pes[1:]))
    assert_error(err, Status.INVALID_REQUEST_FORMAT, 1, 0)
    # invalid-request-format for PE id 1 at offset 0, then profileInstallationAborted
    assert installer.response() == bytes.fromhex("300FA00B 3009 800105 810101 830100 8100")


def test_header_twice() -> None:
    pes = default_pes()
    err, installer = fail(b"".join(pes[:2] + [pes[HEADER]] + pes[2:]))
    assert_error(err, Status.INVALID_REQUEST_FORMAT, None, offset_of(pes, 2))
    assert_abort_response(installer, err)


def test_end_twice_is_bytes_after_end() -> None:
    pes = default_pes()
    package = b"".join(pes)
    err, installer = fail(package + pes[END])
    assert_error(err, Status.INVALID_REQUEST_FORMAT, None, len(package))
    assert_abort_response(installer, err)


@pytest.mark.parametrize("extra", [b"\x00", b"\xff\xff", b"\xaa"])
def test_bytes_after_end_in_a_later_segment(extra: bytes) -> None:
    package = b"".join(default_pes())
    installer = ProfileInstaller()
    assert installer.feed(package)
    with pytest.raises(ProfileError) as info:
        installer.feed(extra)
    assert_error(info.value, Status.INVALID_REQUEST_FORMAT, None, len(package))
    assert installer.aborted and not installer.finished
    assert_abort_response(installer, info.value)


def test_empty_segment_after_end_is_fine() -> None:
    installer = ProfileInstaller()
    assert installer.feed(b"".join(default_pes()))
    assert installer.feed(b"")
    assert installer.finished


def test_missing_end_never_finishes() -> None:
    pes = default_pes()
    installer = ProfileInstaller()
    assert not installer.feed(b"".join(pes[:-1]))
    assert not installer.finished and not installer.aborted
    with pytest.raises(ProfileError) as info:
        installer.response()
    assert info.value.status == Status.INVALID_REQUEST_FORMAT


def test_refuses_input_after_abort() -> None:
    pes = default_pes()
    installer = ProfileInstaller()
    with pytest.raises(ProfileError):
        installer.feed(b"".join(pes[1:]))
    with pytest.raises(ProfileError) as again:
        installer.feed(pes[HEADER])
    assert_error(again.value, Status.INVALID_REQUEST_FORMAT, 1, 0)


@pytest.mark.parametrize(("major", "accepted"), [(1, False), (2, True), (3, True), (4, False)])
def test_major_version(major: int, accepted: bool) -> None:
    pes = default_pes()
    pes[HEADER] = pes[HEADER].replace(bytes.fromhex("800102810103"),
                                      bytes([0x80, 1, major, 0x81, 1, 3]), 1)
    package = b"".join(pes)
    if accepted:
        installer = ProfileInstaller()
        assert installer.feed(package)
        assert installer.profile.major_version == major
        return
    err, installer = fail(package)
    assert_error(err, Status.UNSUPPORTED_PROFILE_VERSION, None, 0)
    assert installer.response() == bytes.fromhex("300CA008 3006 80011F 830100 8100")


def test_unsupported_mandatory_service() -> None:
    err, _ = fail(b"".join(default_pes()), supported_services=SUPPORTED_SERVICES - {"milenage"})
    assert_error(err, Status.FEATURE_NOT_SUPPORTED, None, 0)
    assert "milenage" in str(err)


def test_unknown_service_number_is_unsupported() -> None:
    pes = default_pes()
    # ServicesList gains member [30] (9E), which this eUICC does not know
    pes[HEADER] = _replace_tlv(pes[HEADER], bytes.fromhex("A50481008400"),
                               bytes.fromhex("A506810084009E00"))
    err, _ = fail(b"".join(pes))
    assert_error(err, Status.FEATURE_NOT_SUPPORTED, None, 0)


def test_unsupported_template() -> None:
    err, _ = fail(b"".join(default_pes()), supported_template_arcs=("1.2.3",))
    assert_error(err, Status.TEMPLATE_NOT_SUPPORTED, None, 0)


def test_foreign_template_id_in_a_pe() -> None:
    pes = default_pes()
    # the usim PE claiming the MF template 2.23.143.1.2.1
    pes[USIM] = pes[USIM].replace(bytes.fromhex("810667810F010204"),
                                  bytes.fromhex("810667810F010201"), 1)
    err, _ = fail(b"".join(pes))
    assert_error(err, Status.TEMPLATE_NOT_SUPPORTED, 4, offset_of(pes, USIM))


def test_usim_before_mf() -> None:
    pes = default_pes()
    order = [pes[HEADER], pes[USIM], pes[MF]]
    err, _ = fail(b"".join(order))
    assert_error(err, Status.INVALID_REQUEST_FORMAT, 4, len(pes[HEADER]))


def test_pin_codes_before_any_directory() -> None:
    pes = default_pes()
    err, _ = fail(pes[HEADER] + pes[PIN_MF])
    assert_error(err, Status.INVALID_REQUEST_FORMAT, 3, len(pes[HEADER]))


def test_puk_codes_before_mf() -> None:
    pes = default_pes()
    err, _ = fail(pes[HEADER] + pes[PUK])
    assert_error(err, Status.INVALID_REQUEST_FORMAT, 2, len(pes[HEADER]))


def test_pin_refers_to_undefined_puk() -> None:
    pes = default_pes()
    order = [pes[HEADER], pes[MF], pes[PIN_MF], pes[PUK]]
    err, _ = fail(b"".join(order))
    assert_error(err, Status.BAD_VALUES, 3, len(pes[HEADER]) + len(pes[MF]))


def test_local_pin_in_mf_context() -> None:
    pes = default_pes()
    order = [pes[HEADER], pes[MF], pes[PUK], pes[PIN_ADF]]  # PIN2 (81) right after the MF
    err, _ = fail(b"".join(order))
    assert_error(err, Status.BAD_VALUES, 5, offset_of(pes, PIN_MF))


def test_aka_before_usim() -> None:
    pes = default_pes()
    order = [pes[HEADER], pes[MF], pes[PUK], pes[PIN_MF], pes[AKA]]
    err, _ = fail(b"".join(order))
    assert_error(err, Status.INVALID_REQUEST_FORMAT, 6, offset_of(pes, USIM))


def test_security_domain_before_mf() -> None:
    pes = default_pes()
    err, _ = fail(pes[HEADER] + pes[SD])
    assert_error(err, Status.INVALID_REQUEST_FORMAT, 7, len(pes[HEADER]))


def test_rfm_before_security_domain() -> None:
    pes = default_pes()
    rfm = encode_tlv(0xA7, PEHeader(True, 40).encode() + bytes.fromhex(
        "4F09A00000055910100001 A00504 03B00120 810106 040100 040100"))
    package = b"".join(pes[:SD] + [rfm] + pes[SD:])
    err, _ = fail(package)
    assert_error(err, Status.INVALID_REQUEST_FORMAT, 40, offset_of(pes, SD))
    installer = ProfileInstaller()  # the same rfm after the SD installs
    assert installer.feed(b"".join(pes[:END] + [rfm] + pes[END:]))
    assert installer.profile.rfm[0].tars == (bytes.fromhex("B00120"),)


def test_identification_reused() -> None:
    pes = default_pes()
    pes[PUK] = with_id(pes[PUK], 2, 1)  # same id as the mf PE
    err, installer = fail(b"".join(pes))
    assert_error(err, Status.BAD_VALUES, 1, offset_of(pes, PUK))
    assert_abort_response(installer, err)


def test_unknown_mandated_pe_is_fatal() -> None:
    pes = default_pes()
    unknown = encode_tlv(0xBF30, PEHeader(True, 99).encode() + encode_tlv(0x81, b"\x01"))
    err, installer = fail(b"".join(pes[:SD] + [unknown] + pes[SD:]))
    assert_error(err, Status.PE_NOT_SUPPORTED, 99, offset_of(pes, SD))
    assert_abort_response(installer, err)


@pytest.mark.parametrize(
    ("tag", "body"),
    [
        (0xBF30, PEHeader(False, 99).encode() + encode_tlv(0x81, b"\x01")),
        (0xA9, PEHeader(False, 99).encode() + bytes.fromhex("81032A0304 820100")),  # nonStandard
        (0xAB, b""),  # rfu1 placeholder: no header, no identification
    ],
)
def test_unknown_optional_pe_is_kept_with_a_warning(tag: int, body: bytes) -> None:
    pes = default_pes()
    unknown = encode_tlv(tag, body)
    package = b"".join(pes[:SD] + [unknown] + pes[SD:])
    installer = ProfileInstaller()
    assert installer.feed(package)
    identification = 99 if body else None
    warning = PEStatus(Status.PE_NOT_SUPPORTED, identification, None, offset_of(pes, SD))
    assert installer.response() == EUICCResponse((warning, PEStatus(Status.OK, 8))).encode()
    (kept,) = installer.profile.unknown
    assert (kept.tag, kept.identification, kept.raw) == (tag, identification, unknown)
    assert installer.profile.encode() == package


def test_mandated_non_standard_is_fatal() -> None:
    pes = default_pes()
    pe = encode_tlv(0xA9, PEHeader(True, 99).encode() + bytes.fromhex("81032A0304820100"))
    err, _ = fail(b"".join(pes[:SD] + [pe] + pes[SD:]))
    assert_error(err, Status.PE_NOT_SUPPORTED, 99, offset_of(pes, SD))


def test_malformed_tlv_inside_a_pe() -> None:
    pes = default_pes()
    # PUK PE: A3 L A0 05 80 00 81 01 02 A1 L 30 L 80 01 01 ...: lengthen the first 30
    puk = bytearray(pes[PUK])
    index = puk.index(bytes.fromhex("30")) + 1
    puk[index] += 40  # the first PUKConfiguration now runs past its parent
    pes[PUK] = bytes(puk)
    err, _ = fail(b"".join(pes))
    assert_error(err, Status.INVALID_REQUEST_FORMAT, 2, offset_of(pes, PUK))


@pytest.mark.parametrize(
    ("pe", "status"),
    [
        # end PE with an extra member
        (encode_tlv(0xAA, PEHeader(True, 8).encode() + encode_tlv(0x81, b"")),
         Status.INVALID_REQUEST_FORMAT),
        # end PE whose header misses identification: peek finds no id
        (encode_tlv(0xAA, encode_tlv(0xA0, encode_tlv(0x80, b""))),
         Status.INVALID_REQUEST_FORMAT),
        # pukCodes whose PUK value has 7 bytes
        (encode_tlv(0xA3, PEHeader(True, 8).encode() + encode_tlv(0xA1, encode_tlv(
            0x30, encode_tlv(0x80, b"\x02") + encode_tlv(0x81, b"1234567")))),
         Status.BAD_VALUES),
    ],
)
def test_bad_pe_body(pe: bytes, status: int) -> None:
    pes = default_pes()
    package = b"".join(pes[:END]) + pe
    err, _ = fail(package)
    identification = 8 if b"\x81\x01\x08" in pe else None
    assert_error(err, status, identification, offset_of(pes, END))


def test_second_puk_codes_pe() -> None:
    pes = default_pes()
    second = with_id(pes[PUK], 2, 50)
    err, _ = fail(b"".join(pes[:PIN_MF] + [second] + pes[PIN_MF:]))
    assert_error(err, Status.INVALID_REQUEST_FORMAT, 50, offset_of(pes, PIN_MF))


@pytest.mark.parametrize(
    ("algorithm", "key", "opc", "status"),
    [
        (2, 16, 16, Status.BAD_VALUES),  # TUAK needs a 32-byte TOPc
        (1, 32, 16, Status.BAD_VALUES),  # Milenage K is 16 bytes
        (9, 16, 16, Status.FEATURE_NOT_SUPPORTED),  # unknown algorithm
    ],
)
def test_aka_parameter_values(algorithm: int, key: int, opc: int, status: int) -> None:
    pes = default_pes()
    algo = (encode_tlv(0x80, bytes([algorithm])) + encode_tlv(0x81, b"\x00")
            + encode_tlv(0x82, bytes(key)) + encode_tlv(0x83, bytes(opc)))
    pes[AKA] = encode_tlv(0xA4, PEHeader(True, 6).encode()
                          + encode_tlv(0xA1, encode_tlv(0xA1, algo)))
    err, _ = fail(b"".join(pes))
    assert_error(err, status, 6, offset_of(pes, AKA))


def test_file_created_twice() -> None:
    pes = default_pes()
    gfm_body = encode_tlv(0xA1, encode_tlv(0x30, encode_tlv(0x80, b"") + encode_tlv(
        0x62, bytes.fromhex("82024121 83022FE2 800101"))))
    gfm = encode_tlv(0xA1, PEHeader(True, 60).encode() + gfm_body)  # EF.ICCID again
    err, _ = fail(b"".join(pes[:SD] + [gfm] + pes[SD:]))
    assert_error(err, Status.BAD_VALUES, 60, offset_of(pes, SD))


def test_fill_past_file_size() -> None:
    pes = default_pes()
    command = (encode_tlv(0x80, b"") + encode_tlv(0x62, bytes.fromhex("8202412183022F60800102"))
               + encode_tlv(0x81, b"abc"))
    gfm = encode_tlv(0xA1, PEHeader(True, 60).encode() + encode_tlv(0xA1, encode_tlv(0x30,
                                                                                       command)))
    err, _ = fail(b"".join(pes[:SD] + [gfm] + pes[SD:]))
    assert_error(err, Status.BAD_VALUES, 60, offset_of(pes, SD))


def test_file_path_that_does_not_exist() -> None:
    pes = default_pes()
    command = encode_tlv(0x80, bytes.fromhex("7F10")) + encode_tlv(0x81, b"x")
    gfm = encode_tlv(0xA1, PEHeader(True, 60).encode() + encode_tlv(0xA1, encode_tlv(0x30,
                                                                                       command)))
    err, _ = fail(b"".join(pes[:SD] + [gfm] + pes[SD:]))
    assert_error(err, Status.BAD_VALUES, 60, offset_of(pes, SD))


def test_file_path_selects_and_fills_an_existing_ef() -> None:
    pes = default_pes()
    command = encode_tlv(0x80, bytes.fromhex("7FD06F07")) + encode_tlv(0x02, b"\x01") \
        + encode_tlv(0x81, b"\x99")
    gfm = encode_tlv(0xA1, PEHeader(True, 60).encode() + encode_tlv(0xA1, encode_tlv(0x30,
                                                                                       command)))
    installer = ProfileInstaller()
    assert installer.feed(b"".join(pes[:SD] + [gfm] + pes[SD:]))
    imsi = installer.profile.files["3F00/7FD0/6F07"]
    assert imsi.content()[:2] == bytes.fromhex("0899")  # byte 1 overwritten by the GFM fill


@pytest.mark.parametrize(
    ("package", "offset"),
    [
        (bytes.fromhex("3003800102"), 0),  # universal SEQUENCE cannot start a PE
        (bytes.fromhex("0400"), 0),
        (bytes.fromhex("A080"), 0),  # indefinite length
        (bytes.fromhex("A0817F"), 0),  # non-minimal length
        (bytes.fromhex("A08500000000"), 0),  # five length octets
    ],
)
def test_malformed_package_start(package: bytes, offset: int) -> None:
    err, _ = fail(package)
    assert_error(err, Status.INVALID_REQUEST_FORMAT, None, offset)


def test_pe_never_completing_exhausts_memory() -> None:
    installer = ProfileInstaller()
    assert not installer.feed(bytes.fromhex("A08401000000"))  # a 16 MiB PE
    with pytest.raises(ProfileError) as info:
        installer.feed(bytes(MAX_PENDING_BYTES))
    assert_error(info.value, Status.NOT_ENOUGH_MEMORY, None, 0)


def _replace_tlv(pe: bytes, old: bytes, new: bytes) -> bytes:
    """Replace a member of a header PE and fix the outer length (one level)."""
    assert pe.count(old) == 1
    items = list(iter_tlvs(pe))
    (outer,) = items
    body = pe[outer.value_offset : outer.end].replace(old, new)
    return encode_tlv(outer.tag, body)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_corrupted_packages_never_crash(data: st.DataObject) -> None:
    """Any byte edit gives a clean install or a typed ProfileError, never another exception."""
    package = bytearray(b"".join(default_pes()))
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        position = data.draw(st.integers(min_value=0, max_value=len(package) - 1))
        action = data.draw(st.sampled_from(["set", "delete", "insert"]))
        value = data.draw(st.integers(min_value=0, max_value=255))
        if action == "set":
            package[position] = value
        elif action == "delete":
            del package[position]
        else:
            package.insert(position, value)
    segment = data.draw(st.sampled_from([1, 7, 240, 1007, len(package)]))
    installer = ProfileInstaller()
    try:
        for start in range(0, len(package), segment):
            installer.feed(bytes(package[start : start + segment]))
    except ProfileError as err:
        assert installer.aborted
        assert err.offset is None or 0 <= err.offset <= len(package)
        assert EUICCResponse.decode(installer.response()).aborted
    else:
        if installer.finished:
            assert EUICCResponse.decode(installer.response()).statuses[-1].status == Status.OK


def test_abort_from_outside_the_ppi() -> None:
    """The ISD-P may stop the installation itself (e.g. reserved memory exceeded)."""
    pes = default_pes()
    installer = ProfileInstaller()
    assert not installer.feed(b"".join(pes[:USIM]))
    installer.abort(ProfileError("profile larger than reserved", Status.NOT_ENOUGH_MEMORY))
    assert installer.aborted and not installer.finished
    assert installer.response() == bytes.fromhex("3009A0053003800104 8100")
    installer.abort(ProfileError("second reason", Status.BAD_VALUES))  # the first one stays
    assert installer.response() == bytes.fromhex("3009A0053003800104 8100")
    with pytest.raises(ProfileError) as info:
        installer.feed(pes[USIM])
    assert info.value.status == Status.NOT_ENOUGH_MEMORY
