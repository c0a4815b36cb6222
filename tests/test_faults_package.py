"""Hostile profile packages, downloaded for real (docs/FAULTS.md, PROTOCOL.md §6.3-6.4, §8).

The small default profile's PEs are ``header, mf(1), pukCodes(2), pinCodes(3), usim(4),
pinCodes(5), akaParameter(6), securityDomain(7), end(8)``. Each test downloads a broken variant
through SCP03t in 200-byte segments and checks the EUICCResponse the card answered (status,
identification, offset; §6.4), that the SM-DP had the ISD-P deleted, that a profile enabled
before stays enabled, and that the card and the EIS agree.
"""

from __future__ import annotations

from typing import Any

import pytest

from m2mrsp.entities.euicc import LifeCycle
from m2mrsp.errors import ProfileRefusedError, ProvisioningError
from m2mrsp.protocol import apdu
from m2mrsp.provisioning import World
from m2mrsp.saip.interpreter import MAX_PENDING_BYTES
from m2mrsp.saip.pe import PEHeader, Status
from m2mrsp.saip.response import EUICCResponse, PEStatus
from m2mrsp.tlv import encode_length, encode_tlv, read_header
from tests.faults_support import (
    OTHER_ICCID,
    assert_consistent,
    make_world,
    pes_of,
    run,
    small_profile,
    with_header_field,
)

HEADER, MF, PUK, PIN_MF, USIM, PIN_ADF, AKA, SD, END = range(9)
FIRST = apdu.isdp_aid(0x10)


def _pes() -> list[bytes]:
    pes = pes_of(small_profile(OTHER_ICCID))
    assert len(pes) == 9
    return pes


def _offset(pes: list[bytes], index: int) -> int:
    return sum(len(pe) for pe in pes[:index])


def _installed_world(backend: Any) -> World:
    """A card whose first profile is installed and enabled."""
    world = make_world(backend, segment_size=200)
    run(world, small_profile())
    return world


def _refused(
    backend: Any, package: bytes, match: str | None = None, **kwargs: Any
) -> ProvisioningError:
    """Download ``package`` after an enabled profile; it must fail and leave that one alone."""
    world = _installed_world(backend)
    before = world.euicc.isd_ps[FIRST].profile
    with pytest.raises(ProvisioningError, match=match) as info:
        run(world, package, iccid=OTHER_ICCID, **kwargs)
    assert list(world.euicc.isd_ps) == [FIRST]
    assert world.euicc.isd_ps[FIRST].state is LifeCycle.ENABLED
    assert world.euicc.isd_ps[FIRST].profile is before
    assert list(world.smsr.eis(world.eid).profiles) == [FIRST]
    assert_consistent(world.euicc, world.smsr, world.eid)
    return info.value


def _response(err: ProvisioningError) -> EUICCResponse:
    cause = err.__cause__
    assert isinstance(cause, ProfileRefusedError), err
    assert isinstance(cause.response, EUICCResponse)
    return cause.response


def _aborted(status: int, identification: int | None, offset: int | None) -> EUICCResponse:
    return EUICCResponse((PEStatus(status, identification, None, offset),), aborted=True)


# -- order and presence ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "identification", "index"),
    [
        ([HEADER, USIM, MF, PUK, PIN_MF, PIN_ADF, AKA, SD, END], 4, 1),  # usim before mf
        ([HEADER, SD, MF, PUK, PIN_MF, USIM, PIN_ADF, AKA, END], 7, 1),  # SD before the files
        ([HEADER, MF, PUK, PIN_MF, USIM, PIN_ADF, SD, AKA, END], None, None),  # fine: AKA later
        ([HEADER, AKA, MF, PUK, PIN_MF, USIM, PIN_ADF, SD, END], 6, 1),  # aka before usim
        ([HEADER, PIN_MF, MF, PUK, USIM, PIN_ADF, AKA, SD, END], 3, 1),  # PIN before directory
        ([MF, HEADER, PUK, PIN_MF, USIM, PIN_ADF, AKA, SD, END], 1, 0),  # header not first
    ],
)
def test_pe_order_violations(
    backend: Any, order: list[int], identification: int | None, index: int | None
) -> None:
    pes = _pes()
    package = b"".join(pes[i] for i in order)
    if identification is None:
        world = make_world(backend, segment_size=200)
        assert run(world, package, iccid=OTHER_ICCID).isdp_state == "ENABLED"
        return
    placed = [pes[i] for i in order]
    expected = _aborted(Status.INVALID_REQUEST_FORMAT, identification, _offset(placed, index))
    assert _response(_refused(backend, package)) == expected


def test_missing_header(backend: Any) -> None:
    pes = _pes()
    response = _response(_refused(backend, b"".join(pes[1:])))
    assert response == _aborted(Status.INVALID_REQUEST_FORMAT, 1, 0)


def test_duplicate_header(backend: Any) -> None:
    pes = _pes()
    package = b"".join([pes[HEADER], *pes])
    response = _response(_refused(backend, package))
    assert response == _aborted(Status.INVALID_REQUEST_FORMAT, None, len(pes[HEADER]))


def test_missing_end(backend: Any) -> None:
    _refused(backend, b"".join(_pes()[:END]), "stopped before the end of the package")


def test_duplicate_end(backend: Any) -> None:
    pes = _pes()
    response = _response(_refused(backend, b"".join(pes + [pes[END]])))
    assert response.aborted
    assert response.statuses[-1].status == Status.INVALID_REQUEST_FORMAT
    assert response.statuses[-1].offset == _offset(pes, END + 1)


@pytest.mark.parametrize("major", ["00", "01", "04", "00FF"])  # DER INTEGERs
def test_unsupported_major_version(backend: Any, major: str) -> None:
    package = with_header_field(small_profile(OTHER_ICCID), 0x80, bytes.fromhex(major), 0x81)
    response = _response(_refused(backend, package))
    assert response == _aborted(Status.UNSUPPORTED_PROFILE_VERSION, None, 0)


def test_unsupported_major_version_in_a_ts48_profile(
    backend: Any, ts48_profile: tuple[str, bytes]
) -> None:
    _, package = ts48_profile
    world = make_world(backend)
    broken = with_header_field(package, 0x80, b"\x07", 0x81)
    iccid = "89000123456789012374"
    with pytest.raises(ProvisioningError) as info:
        run(world, broken, iccid=iccid)
    assert _response(info.value) == _aborted(Status.UNSUPPORTED_PROFILE_VERSION, None, 0)
    assert world.euicc.isd_ps == {}
    assert_consistent(world.euicc, world.smsr, world.eid)


def test_unknown_mandated_pe(backend: Any) -> None:
    pes = _pes()
    unknown = encode_tlv(0xBF30, PEHeader(True, 99).encode() + encode_tlv(0x81, b"\x01"))
    package = b"".join(pes[:SD] + [unknown] + pes[SD:])
    response = _response(_refused(backend, package))
    assert response == _aborted(Status.PE_NOT_SUPPORTED, 99, _offset(pes, SD))


def test_unknown_optional_pe_is_installed_with_a_warning(backend: Any) -> None:
    pes = _pes()
    unknown = encode_tlv(0xBF30, PEHeader(False, 99).encode() + encode_tlv(0x81, b"\x01"))
    world = _installed_world(backend)
    result = run(world, b"".join(pes[:SD] + [unknown] + pes[SD:]), iccid=OTHER_ICCID,
                 enable=False)
    assert result.download.euicc_response == EUICCResponse((
        PEStatus(Status.PE_NOT_SUPPORTED, 99, None, _offset(pes, SD)), PEStatus(Status.OK, 8),
    ))
    assert result.isdp_state == "DISABLED"
    assert_consistent(world.euicc, world.smsr, world.eid)


def test_malformed_tlv_inside_a_pe(backend: Any) -> None:
    pes = _pes()
    usim = bytearray(pes[USIM])
    _, value_offset, _ = read_header(usim, 0, len(usim))
    usim[value_offset + 1] = 0x80  # the PEHeader's length made indefinite
    package = b"".join(pes[:USIM] + [bytes(usim)] + pes[USIM + 1 :])
    response = _response(_refused(backend, package))
    assert response == _aborted(Status.INVALID_REQUEST_FORMAT, None, _offset(pes, USIM))


# -- PEs past the end of the package, memory ------------------------------------------------------


@pytest.mark.parametrize("cut", [1, 5, 40])
def test_pe_spanning_past_the_end_of_the_package(backend: Any, cut: int) -> None:
    package = small_profile(OTHER_ICCID)
    _refused(backend, package[:-cut], "stopped before the end of the package")


@pytest.mark.parametrize("declared", [1 << 20, (1 << 30) + 5, (1 << 32) - 1])
def test_pe_declaring_gigabytes(backend: Any, declared: int) -> None:
    pes = _pes()
    huge = b"\xa8" + encode_length(declared) + pes[SD][3:]  # an application PE claiming more
    package = b"".join(pes[:SD] + [huge])
    _refused(backend, package, "stopped before the end of the package")
    # With only the package's size reserved, the card stops at the memory limit instead.
    err = _refused(backend, package + bytes(300), required_memory=len(package) + 100)
    assert _response(err).statuses[-1].status == Status.NOT_ENOUGH_MEMORY


def test_pe_larger_than_the_card_buffers(backend: Any) -> None:
    pes = _pes()
    huge = b"\xa8\x84" + (1 << 30).to_bytes(4, "big")
    package = b"".join(pes[:SD]) + huge + bytes(MAX_PENDING_BYTES)
    world = make_world(backend, segments_per_call=64)
    world.euicc.total_memory = world.smsr.eis(world.eid).total_memory = 4 * MAX_PENDING_BYTES
    with pytest.raises(ProvisioningError) as info:
        run(world, package, iccid=OTHER_ICCID)
    response = _response(info.value)
    assert response == _aborted(Status.NOT_ENOUGH_MEMORY, None, _offset(pes, SD))
    assert world.euicc.isd_ps == {}
    assert_consistent(world.euicc, world.smsr, world.eid)


@pytest.mark.parametrize("short_by", [1, 500])
def test_package_larger_than_the_reserved_memory(backend: Any, short_by: int) -> None:
    package = small_profile(OTHER_ICCID)
    err = _refused(backend, package, required_memory=len(package) - short_by)
    response = _response(err)
    assert response.aborted
    assert response.statuses[-1].status == Status.NOT_ENOUGH_MEMORY


def test_no_reservation_is_bounded_by_the_free_memory(backend: Any) -> None:
    world = _installed_world(backend)
    package = small_profile(OTHER_ICCID)
    first_size = len(small_profile())
    world.euicc.total_memory = first_size + len(package) - 1
    world.smsr.eis(world.eid).total_memory = world.euicc.total_memory
    with pytest.raises(ProvisioningError) as info:
        run(world, package, iccid=OTHER_ICCID, required_memory=0)
    assert _response(info.value).statuses[-1].status == Status.NOT_ENOUGH_MEMORY
    assert list(world.euicc.isd_ps) == [FIRST]
    assert_consistent(world.euicc, world.smsr, world.eid)
    # One more byte of memory and the same download fits.
    world.euicc.total_memory += 1
    world.smsr.eis(world.eid).total_memory += 1
    assert run(world, package, iccid=OTHER_ICCID, required_memory=0,
               enable=False).isdp_state == "DISABLED"


def test_empty_package_fails_and_is_cleaned_up(backend: Any) -> None:
    # provision() refuses an empty package before anything exists (tests/test_faults_cli.py);
    # run_phases goes on: no segment, so no EUICCResponse, so error management.
    world = make_world(backend)
    with pytest.raises(ProvisioningError, match="stopped before the end of the package"):
        run(world, b"")
    assert world.euicc.isd_ps == {}
    assert_consistent(world.euicc, world.smsr, world.eid)
