"""ES5 to the ISD-R: malformed scripts and APDUs, ISD-P creation, enabling, policy, deletion.

Every bad command is answered with a status word (PROTOCOL.md §3.3, §4.4, §7.1, [D] choices
named in docs/FAULTS.md) and changes nothing on the card; the SM-SR's records follow. Status
words are checked on the bytes of the response script.
"""

from __future__ import annotations

from typing import Any

import pytest

from m2mrsp.entities.euicc import (
    POL1_DELETE_NOT_ALLOWED,
    POL1_DELETE_ON_DISABLE,
    POL1_DISABLE_NOT_ALLOWED,
    Euicc,
    LifeCycle,
)
from m2mrsp.errors import Es3Error, ProvisioningError
from m2mrsp.protocol import apdu, dgi, es3, es5
from m2mrsp.protocol.apdu import CommandApdu
from m2mrsp.provisioning import World
from m2mrsp.tlv import encode_tlv
from tests.faults_support import (
    OTHER_ICCID,
    SMALL_ICCID,
    assert_consistent,
    make_world,
    run,
    small_profile,
    with_pol1,
)

h = bytes.fromhex
ISD_P_1 = apdu.isdp_aid(0x10)
ISD_P_2 = apdu.isdp_aid(0x11)
WRONG_DATA_ANSWER = h("AB07 800101 23026A80")  # one executed command, R-APDU 6A80


def _snapshot(euicc: Euicc) -> object:
    return (
        {aid: (p.state, p.profile is not None, p.keys is not None, p.reserved_memory)
         for aid, p in euicc.isd_ps.items()},
        euicc.free_memory,
        len(euicc._pending_notifications),  # noqa: SLF001
        euicc._personalization_target,  # noqa: SLF001
    )


def _send(euicc: Euicc, target: bytes, items: list[bytes]) -> list[tuple[int, bytes]]:
    answer = euicc.handle_es5(es5.frame(target, es5.build_command_script(items)))
    return es5.parse_response_script(answer)


def _isdr(euicc: Euicc, *commands: bytes) -> list[int]:
    """Status words the ISD-R answers to one script of ``commands``."""
    items = _send(euicc, apdu.ISD_R_AID, [es5.command_item(c) for c in commands])
    assert all(tag == es5.R_APDU for tag, _ in items)
    return [apdu.split_response(rapdu)[1] for _, rapdu in items]


def _refused(world: World, command: bytes, sw: int) -> None:
    """``command`` alone is answered ``sw`` and leaves the card as it was."""
    before = _snapshot(world.euicc)
    assert _isdr(world.euicc, command) == [sw]
    assert _snapshot(world.euicc) == before
    assert_consistent(world.euicc, world.smsr, world.eid)


def _two_profiles(backend: Any, pol1: int = 0) -> World:
    """Profile 1 (with ``pol1``) enabled in ISD-P 1, profile 2 disabled in ISD-P 2."""
    world = make_world(backend)
    run(world, with_pol1(small_profile(), pol1) if pol1 else small_profile())
    run(world, small_profile(OTHER_ICCID), iccid=OTHER_ICCID, enable=False)
    assert world.euicc.isd_ps[ISD_P_1].state is LifeCycle.ENABLED
    assert world.euicc.isd_ps[ISD_P_2].state is LifeCycle.DISABLED
    return world


# -- malformed ES5 messages -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        b"",
        h("4F"),
        h("4F10") + apdu.ISD_R_AID[:8],  # target AID cut short
        h("AA00"),  # no target AID
        h("4F10") + apdu.ISD_R_AID + h("AB00"),  # a response script sent as a command
        h("4F10") + apdu.ISD_R_AID + h("AA03 2101 00"),  # an item of unknown tag
        h("4F10") + apdu.ISD_R_AID + h("AA80"),  # indefinite length
        h("4F10") + apdu.ISD_R_AID + h("AA84 7FFFFFFF 22"),  # two gigabytes declared
        h("4F10") + apdu.ISD_R_AID + h("AA02 2205"),  # item longer than the script
        h("4F10") + apdu.ISD_R_AID + h("AA00 00"),  # bytes after the script
        h("4F10") + apdu.ISD_R_AID + h("AA05 22 8100 0000"),  # non-minimal length
    ],
)
def test_malformed_es5_message_is_answered_6a80(backend: Any, message: bytes) -> None:
    world = make_world(backend)
    before = _snapshot(world.euicc)
    assert world.euicc.handle_es5(message) == WRONG_DATA_ANSWER
    assert _snapshot(world.euicc) == before


@pytest.mark.parametrize(
    ("command", "sw"),
    [
        (h("80E600"), apdu.SW_WRONG_LENGTH),  # shorter than the header
        (h("80E60C00 05 0000"), apdu.SW_WRONG_LENGTH),  # Lc larger than the data
        (h("80E60C00 00 0000"), apdu.SW_WRONG_LENGTH),  # extended length
        (h("00E60C00 00"), apdu.SW_CLA_NOT_SUPPORTED),
        (h("84E20800 00"), apdu.SW_CLA_NOT_SUPPORTED),  # secure messaging is not spoken here
        (h("81E48000"), apdu.SW_CLA_NOT_SUPPORTED),  # logical channel 1
        (h("80CA0042 00"), apdu.SW_INS_NOT_SUPPORTED),  # GET DATA
        (h("80F24002 00"), apdu.SW_INS_NOT_SUPPORTED),  # GET STATUS
        (h("80E60200 01 00"), apdu.SW_INCORRECT_P1_P2),  # INSTALL for load
        (h("80E60C01 01 00"), apdu.SW_INCORRECT_P1_P2),  # INSTALL P2 01
        (h("80E60C00 03 100000"), apdu.SW_WRONG_DATA),  # LV running past the data
        (h("80E62000 06 000000000000"), apdu.SW_WRONG_DATA),  # for personalization, no AID
        (h("80E62000 07 000000000000 00"), apdu.SW_WRONG_DATA),  # bytes after the token
        (apdu.build_install_for_personalization(apdu.isdp_aid(0x30)).to_bytes(),
         apdu.SW_REFERENCED_DATA_NOT_FOUND),  # personalization of an unknown ISD-P
    ],
)
def test_malformed_apdus(backend: Any, command: bytes, sw: int) -> None:
    _refused(make_world(backend), command, sw)


def test_a_script_stops_at_the_first_refused_command(backend: Any) -> None:
    world = make_world(backend)
    create = apdu.build_create_isdp(ISD_P_1, 100).to_bytes()
    assert _isdr(world.euicc, h("80CA0042"), create) == [apdu.SW_INS_NOT_SUPPORTED]
    assert world.euicc.isd_ps == {}


# -- ISD-P creation (ES5.CreateISDP) --------------------------------------------------------------


def _install_data(**changes: bytes) -> bytes:
    fields = {
        "load_file_aid": apdu.ISDP_LOAD_FILE_AID, "module_aid": apdu.ISDP_MODULE_AID,
        "application_aid": ISD_P_1, "privileges": apdu.ISDP_PRIVILEGES,
        "parameters": apdu.isdp_install_parameters(100), "token": b"",
    }
    fields.update(changes)
    return apdu.InstallData(**fields).encode()


def _create(data: bytes) -> bytes:
    return CommandApdu(0x80, apdu.INS_INSTALL, 0x0C, 0x00, data).to_bytes()


@pytest.mark.parametrize(
    ("data", "sw"),
    [
        (_install_data(application_aid=apdu.ISD_R_AID), apdu.SW_CONDITIONS_NOT_SATISFIED),
        (_install_data(application_aid=ISD_P_1[:-1]), apdu.SW_CONDITIONS_NOT_SATISFIED),
        (_install_data(application_aid=apdu.gsma_aid(0x10000)), apdu.SW_CONDITIONS_NOT_SATISFIED),
        (_install_data(load_file_aid=apdu.ISDP_MODULE_AID), apdu.SW_WRONG_DATA),
        (_install_data(module_aid=apdu.ISDP_LOAD_FILE_AID), apdu.SW_WRONG_DATA),
        (_install_data(parameters=b""), apdu.SW_WRONG_DATA),  # no C9
        (_install_data(parameters=h("C900")), apdu.SW_WRONG_DATA),  # no supported SCP
        (_install_data(parameters=h("C90481020370 EF0383010A")), apdu.SW_WRONG_DATA),  # 1 byte
        (_install_data(parameters=h("C90481020370 C90481020370")), apdu.SW_WRONG_DATA),
        (_install_data(parameters=h("C90481020370 EF06 8384FFFFFFFF")), apdu.SW_WRONG_DATA),
        (_install_data(parameters=apdu.isdp_install_parameters(600 * 1024)),
         apdu.SW_NOT_ENOUGH_MEMORY),
    ],
)
def test_bad_create_isdp(backend: Any, data: bytes, sw: int) -> None:
    _refused(make_world(backend), _create(data), sw)


def test_aid_collision(backend: Any) -> None:
    world = make_world(backend)
    assert _isdr(world.euicc, _create(_install_data())) == [apdu.SW_OK]
    before = _snapshot(world.euicc)
    assert _isdr(world.euicc, _create(_install_data())) == [apdu.SW_WRONG_DATA]
    assert _snapshot(world.euicc) == before


def test_reservations_add_up_to_the_card_memory(backend: Any) -> None:
    world = make_world(backend)
    total = world.euicc.total_memory
    half = apdu.isdp_install_parameters(total // 2)
    assert _isdr(world.euicc, _create(_install_data(parameters=half))) == [apdu.SW_OK]
    second = _install_data(application_aid=ISD_P_2, parameters=half)
    third = _install_data(application_aid=apdu.isdp_aid(0x12),
                          parameters=apdu.isdp_install_parameters(1))
    assert _isdr(world.euicc, _create(second)) == [apdu.SW_OK]
    assert world.euicc.free_memory == 0
    assert _isdr(world.euicc, _create(third)) == [apdu.SW_NOT_ENOUGH_MEMORY]


def test_the_isd_r_checks_memory_even_when_the_eis_is_wrong(backend: Any) -> None:
    world = make_world(backend)
    world.smsr.eis(world.eid).total_memory = 10 * world.euicc.total_memory
    with pytest.raises(ProvisioningError, match="6A84"):
        run(world, small_profile(), required_memory=world.euicc.total_memory + 1)
    assert world.euicc.isd_ps == {} and world.smsr.eis(world.eid).profiles == {}


def test_the_sm_sr_checks_memory_before_sending(backend: Any) -> None:
    world = make_world(backend)
    with pytest.raises(ProvisioningError, match="not enough memory"):
        run(world, small_profile(), required_memory=world.euicc.total_memory + 1)
    assert world.euicc.isd_ps == {} and world.smsr.eis(world.eid).profiles == {}
    assert [m for m in world.wire.messages if m.interface == "ES5"] == []


# -- ISD-R STORE DATA: enable, confirm ------------------------------------------------------------


def _enable(aid: bytes) -> bytes:
    return apdu.build_enable_profile(aid).to_bytes()


def _store(data: bytes, p1: int = 0x88, p2: int = 0x00) -> bytes:
    return apdu.build_store_data(data, p1, p2).to_bytes()


def test_enable_a_profile_that_does_not_exist(backend: Any) -> None:
    world = _two_profiles(backend)
    _refused(world, _enable(apdu.isdp_aid(0x30)), apdu.SW_REFERENCED_DATA_NOT_FOUND)
    _refused(world, _enable(b"\x01\x02"), apdu.SW_REFERENCED_DATA_NOT_FOUND)


def test_enable_a_profile_that_is_not_installed(backend: Any) -> None:
    world = make_world(backend)
    world.smdp.create_isdp(world.eid, SMALL_ICCID, 2000)  # SELECTABLE, no keys, no profile
    _refused(world, _enable(ISD_P_1), apdu.SW_CONDITIONS_NOT_SATISFIED)


def test_enable_the_enabled_profile(backend: Any) -> None:
    world = _two_profiles(backend)
    _refused(world, _enable(ISD_P_1), apdu.SW_CONDITIONS_NOT_SATISFIED)


def test_enable_through_es3_of_a_profile_not_downloaded(backend: Any) -> None:
    world = make_world(backend)
    world.smdp.create_isdp(world.eid, SMALL_ICCID, 2000)
    with pytest.raises(ProvisioningError, match="not disabled"):
        world.smdp.enable(world.eid, SMALL_ICCID)
    with pytest.raises(ProvisioningError, match="no profile"):
        world.smdp.enable(world.eid, OTHER_ICCID)
    assert_consistent(world.euicc, world.smsr, world.eid)


def test_pol1_forbids_disabling_the_enabled_profile(backend: Any) -> None:
    world = _two_profiles(backend, POL1_DISABLE_NOT_ALLOWED)
    assert world.euicc.isd_ps[ISD_P_1].pol1 == POL1_DISABLE_NOT_ALLOWED
    _refused(world, _enable(ISD_P_2), apdu.SW_POL1_FORBIDS)
    with pytest.raises(ProvisioningError, match="69E1"):
        world.smdp.enable(world.eid, OTHER_ICCID)
    assert world.euicc.enabled_profile() is world.euicc.isd_ps[ISD_P_1]
    assert_consistent(world.euicc, world.smsr, world.eid)


def test_pol1_delete_on_disable_removes_the_record_too(backend: Any) -> None:
    world = _two_profiles(backend, POL1_DELETE_ON_DISABLE)
    world.smdp.enable(world.eid, OTHER_ICCID)
    assert list(world.euicc.isd_ps) == [ISD_P_2]
    assert list(world.smsr.eis(world.eid).profiles) == [ISD_P_2]
    assert_consistent(world.euicc, world.smsr, world.eid)


def test_pol1_forbids_deleting(backend: Any) -> None:
    world = _two_profiles(backend)
    run(world, with_pol1(small_profile("89000123456789012366"), POL1_DELETE_NOT_ALLOWED),
        iccid="89000123456789012366", enable=False)
    aid = apdu.isdp_aid(0x12)
    _refused(world, apdu.build_delete(aid).to_bytes(), apdu.SW_CONDITIONS_NOT_SATISFIED)
    with pytest.raises(Es3Error, match="6985"):
        world.smdp.delete_isdp(world.eid, "89000123456789012366")
    assert aid in world.smsr.eis(world.eid).profiles
    assert_consistent(world.euicc, world.smsr, world.eid)


@pytest.mark.parametrize(
    ("command", "sw"),
    [
        (_store(dgi.encode_dgi(0x3A09, b"")), apdu.SW_REFERENCED_DATA_NOT_FOUND),  # unknown DGI
        (_store(dgi.encode_dgi(0x3A04, encode_tlv(0x4F, ISD_P_1))),
         apdu.SW_FUNCTION_NOT_SUPPORTED),  # DisableProfile is not modelled
        (_store(dgi.encode_dgi(0x3A03, encode_tlv(0x4E, ISD_P_1))), apdu.SW_WRONG_DATA),
        (_store(dgi.encode_dgi(0x3A03, encode_tlv(0x4F, ISD_P_2)) * 2), apdu.SW_WRONG_DATA),
        (_store(h("3A03 05 4F10")), apdu.SW_WRONG_DATA),  # DGI runs past the data
        (_store(h("3A")), apdu.SW_WRONG_DATA),  # truncated DGI tag
        (_store(b""), apdu.SW_WRONG_DATA),  # no DGI at all
        (_store(dgi.encode_dgi(0x3A03, encode_tlv(0x4F, ISD_P_2)), p1=0x08),
         apdu.SW_INCORRECT_P1_P2),  # not the last block
        (_store(dgi.encode_dgi(0x3A03, encode_tlv(0x4F, ISD_P_2)), p2=0x01),
         apdu.SW_INCORRECT_P1_P2),
        (_store(encode_tlv(0x4F, ISD_P_2), p1=0x90), apdu.SW_INCORRECT_P1_P2),  # BER-TLV
        (_store(dgi.encode_dgi(0x3A08, encode_tlv(0x4E, b"\x00\x07")), p1=0x89),
         apdu.SW_REFERENCED_DATA_NOT_FOUND),  # no such notification
        (_store(dgi.encode_dgi(0x3A08, encode_tlv(0x4E, b"\x00\x00\x01")), p1=0x89),
         apdu.SW_WRONG_DATA),
    ],
)
def test_bad_isd_r_store_data(backend: Any, command: bytes, sw: int) -> None:
    _refused(_two_profiles(backend), command, sw)


# -- DELETE -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "sw"),
    [
        (apdu.build_delete(ISD_P_1).to_bytes(), apdu.SW_CONDITIONS_NOT_SATISFIED),  # enabled
        (apdu.build_delete(apdu.isdp_aid(0x30)).to_bytes(), apdu.SW_REFERENCED_DATA_NOT_FOUND),
        (h("80E4 8880 12 4F10") + ISD_P_2, apdu.SW_INCORRECT_P1_P2),
        (h("80E4 0040 12 4F10") + ISD_P_2, apdu.SW_INCORRECT_P1_P2),  # Njiwa's P2
        (h("80E4 0080 12 4E10") + ISD_P_2, apdu.SW_WRONG_DATA),
        (h("80E4 0080 00"), apdu.SW_WRONG_DATA),  # Le only: no AID to delete
    ],
)
def test_bad_delete(backend: Any, command: bytes, sw: int) -> None:
    _refused(_two_profiles(backend), command, sw)


def test_deleting_the_personalization_target_ends_personalization(backend: Any) -> None:
    world = make_world(backend)
    world.smdp.create_isdp(world.eid, SMALL_ICCID, 2000)
    personalize = apdu.build_install_for_personalization(ISD_P_1).to_bytes()
    assert _isdr(world.euicc, personalize) == [apdu.SW_OK]
    world.smdp.delete_isdp(world.eid, SMALL_ICCID)
    # The next ISD-R STORE DATA is the ISD-R's own again, not the deleted ISD-P's.
    assert _isdr(world.euicc, _enable(ISD_P_1)) == [apdu.SW_REFERENCED_DATA_NOT_FOUND]
    assert _snapshot(world.euicc)[3] is None


def test_a_refused_store_data_ends_personalization(backend: Any) -> None:
    # Regression: the ISD-R used to keep routing STORE DATA to the ISD-P after a refusal, so
    # the next EnableProfile (3A03) reached the ISD-P's key agreement instead of the ISD-R.
    world = _two_profiles(backend)
    personalize = apdu.build_install_for_personalization(ISD_P_2).to_bytes()
    garbage = apdu.build_store_data(h("3A01 03 7F2100"), 0x09, 0x00).to_bytes()
    assert _isdr(world.euicc, personalize, garbage) == [apdu.SW_OK,
                                                        apdu.SW_CONDITIONS_NOT_SATISFIED]
    assert _snapshot(world.euicc)[3] is None
    world.smdp.enable(world.eid, OTHER_ICCID)
    assert world.euicc.enabled_profile() is world.euicc.isd_ps[ISD_P_2]
    assert_consistent(world.euicc, world.smsr, world.eid)


# -- the ISD-P's own ES5 surface ------------------------------------------------------------------


def test_isd_p_answers_c_apdus_with_6d00(backend: Any) -> None:
    world = _two_profiles(backend)
    items = _send(world.euicc, ISD_P_2, [es5.command_item(h("80CA004200"))])
    assert items == [(es5.R_APDU, h("6D00"))]


def test_unknown_target_aid(backend: Any) -> None:
    world = make_world(backend)
    items = _send(world.euicc, apdu.isdp_aid(0x40), [h("840A300000") + bytes(7),
                                                      es5.command_item(h("80CA0042"))])
    assert items == [(0x9F04, h("9F04026A88"))]
    assert _send(world.euicc, apdu.ECASD_AID, [es5.command_item(h("80CA0042"))]) == [
        (es5.R_APDU, h("6A88"))
    ]


def test_scp03t_tlvs_to_the_isd_r_are_refused(backend: Any) -> None:
    world = make_world(backend)
    assert _send(world.euicc, apdu.ISD_R_AID, [h("840A30000001020304050607")]) == [
        (es5.R_APDU, h("6A80"))
    ]


def test_scp03t_to_an_isd_p_without_keys(backend: Any) -> None:
    world = make_world(backend)
    world.smdp.create_isdp(world.eid, SMALL_ICCID, 2000)
    assert _send(world.euicc, ISD_P_1, [h("840A30000001020304050607")]) == [
        (0x9F04, h("9F04026985"))
    ]


def test_es3_send_data_to_an_unknown_isd_p_never_reaches_the_card(backend: Any) -> None:
    world = make_world(backend)
    request = es3.encode_request("SendData", 1, Eid=world.eid.hex(), SdAid=ISD_P_1.hex(),
                                 Data="8400")
    with pytest.raises(Es3Error, match="no ISD-P"):
        es3.decode_response(world.smsr.handle_es3(request))
    assert world.wire.messages == []
