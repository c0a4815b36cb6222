"""ES3 requests to the SM-SR and ES3 answers to the SM-DP, malformed or refused (docs/FAULTS.md).

The SM-SR answers every bad request with ``FunctionExecutionStatus`` ``Failed`` and a message
(PROTOCOL.md §2.1), sends nothing on ES5 unless the request was valid, and its EIS stays as it
was. The SM-DP turns every bad answer into a typed error.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from m2mrsp.errors import Es3Error, M2mRspError, ProvisioningError
from m2mrsp.protocol import apdu, es3
from m2mrsp.provisioning import World
from m2mrsp.tlv import encode_length
from tests.faults_support import SMALL_ICCID, assert_consistent, make_world, run, small_profile


def _eis_state(world: World) -> object:
    eis = world.smsr.eis(world.eid)
    return {aid: (r.iccid, r.state, r.required_memory) for aid, r in eis.profiles.items()}


def _failed(world: World, request: bytes, message: str) -> None:
    before = _eis_state(world)
    es5_before = sum(m.interface == "ES5" for m in world.wire.messages)
    response = world.smsr.handle_es3(request)
    document = json.loads(response)
    status = document["FunctionExecutionStatus"]
    assert status["Status"] == es3.FAILED
    assert message in status["StatusCodeData"]["Message"]
    assert _eis_state(world) == before
    assert sum(m.interface == "ES5" for m in world.wire.messages) == es5_before
    assert_consistent(world.euicc, world.smsr, world.eid)


def _request(function: str, **fields: Any) -> bytes:
    document = {"Function": function, "FunctionCallIdentifier": "1", **fields}
    return json.dumps(document).encode()


@pytest.fixture
def world(backend: Any) -> World:
    world = make_world(backend)
    run(world, small_profile())
    return world


@pytest.mark.parametrize(
    ("request_bytes", "message"),
    [
        (b"", "not JSON"),
        (b"\xff\xfe{}", "not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"Function": "CreateISDP", "RequiredMemory": NaN}', "not a JSON number"),
        (b"[" * 100_000, "nested too deeply"),
        (b'{"Function": "FormatCard"}', "unknown ES3 function"),
        (b'{"Function": ["GetEIS"]}', "unknown ES3 function"),
        (_request("DisableProfile", Eid="00"), "not supported"),
        (_request("GetEIS"), "Eid is missing"),
        (_request("GetEIS", Eid=89), "Eid is not a string"),
        (_request("GetEIS", Eid="8904X"), "Eid is not hex"),
        (_request("GetEIS", Eid="89049032"), "unknown EID"),
    ],
)
def test_malformed_requests(world: World, request_bytes: bytes, message: str) -> None:
    _failed(world, request_bytes, message)


def _eid(world: World) -> str:
    return world.eid.hex()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"RequiredMemory": 100}, "Iccid is missing"),
        ({"Iccid": 8900012, "RequiredMemory": 100}, "Iccid is not a string"),
        ({"Iccid": "", "RequiredMemory": 100}, "empty ICCID"),
        ({"Iccid": SMALL_ICCID, "RequiredMemory": 100}, "already on this eUICC"),
        ({"Iccid": "89000123456789012358"}, "RequiredMemory is missing"),
        ({"Iccid": "89000123456789012358", "RequiredMemory": "100"}, "not an integer"),
        ({"Iccid": "89000123456789012358", "RequiredMemory": 100.0}, "not an integer"),
        ({"Iccid": "89000123456789012358", "RequiredMemory": True}, "not an integer"),
        ({"Iccid": "89000123456789012358", "RequiredMemory": -1}, "outside"),
        ({"Iccid": "89000123456789012358", "RequiredMemory": 1 << 32}, "outside"),
        ({"Iccid": "89000123456789012358", "RequiredMemory": 10**30}, "outside"),
        ({"Iccid": "89000123456789012358", "RequiredMemory": 1 << 20}, "not enough memory"),
        ({"Iccid": "89000123456789012358", "RequiredMemory": 100, "MnoId": 1}, "MnoId"),
    ],
)
def test_bad_create_isdp(world: World, fields: dict[str, Any], message: str) -> None:
    _failed(world, _request("CreateISDP", Eid=_eid(world), **fields), message)


@pytest.mark.parametrize(
    ("function", "fields", "message"),
    [
        ("SendData", {"Data": "0"}, "Data is not hex"),
        ("SendData", {"Data": None}, "Data is missing"),
        ("SendData", {"Data": "8400", "SdAid": 16}, "SdAid is not a string"),
        ("SendData", {"Data": "8400", "SdAid": "A000000559"}, "no ISD-P"),
        ("ProfileDownloadCompleted", {"Iccid": "89000123456789012358"}, "no profile"),
        ("ProfileDownloadCompleted", {"Iccid": SMALL_ICCID}, "not waiting"),
        ("ProfileDownloadCompleted", {"Iccid": SMALL_ICCID, "SubscriptionAddress": "x"},
         "not an object"),
        ("ProfileDownloadCompleted", {"Iccid": SMALL_ICCID, "Pol2": 3}, "Pol2"),
        ("EnableProfile", {"Iccid": SMALL_ICCID}, "not disabled"),
        ("EnableProfile", {}, "Iccid is missing"),
        ("DeleteISDP", {"Iccid": SMALL_ICCID}, "enabled profile cannot be deleted"),
        ("DeleteISDP", {"Iccid": "89000123456789012358"}, "no profile"),
    ],
)
def test_bad_profile_requests(
    world: World, function: str, fields: dict[str, Any], message: str
) -> None:
    _failed(world, _request(function, Eid=_eid(world), **fields), message)


def test_an_unreadable_card_answer_leaves_no_record(backend: Any) -> None:
    world = make_world(backend)
    world.smsr._es5[world.eid] = lambda message: b"\xab\x01"  # noqa: SLF001 - a broken card
    request = es3.encode_request("CreateISDP", 1, Eid=_eid(world), Iccid=SMALL_ICCID,
                                 RequiredMemory=100)
    with pytest.raises(Es3Error, match="malformed TLV"):
        es3.decode_response(world.smsr.handle_es3(request))
    assert world.smsr.eis(world.eid).profiles == {}


# -- the SM-DP's side -----------------------------------------------------------------------------


def _answering(world: World, answers: dict[str, bytes]) -> None:
    """Make the SM-SR answer the functions in ``answers`` with the given bytes."""
    real = world.smsr.handle_es3

    def fake(request: bytes) -> bytes:
        function, _ = es3.decode_request(request)
        return answers.get(function) or real(request)

    world.smdp._es3 = fake  # noqa: SLF001 - a misbehaving SM-SR


def _ok(**fields: Any) -> bytes:
    return es3.encode_response(es3.EXECUTED_SUCCESS, **fields)


@pytest.mark.parametrize(
    ("function", "answer", "phase"),
    [
        ("GetEIS", b"<soap/>", "ISD-P creation"),
        ("GetEIS", b'{"FunctionExecutionStatus": {"Status": "Failed", "StatusCodeData": 7}}',
         "ISD-P creation"),
        ("GetEIS", b'{"FunctionExecutionStatus": "ok"}', "ISD-P creation"),
        ("GetEIS", _ok(), "ISD-P creation"),
        ("GetEIS", _ok(Eis=[]), "ISD-P creation"),
        ("GetEIS", _ok(Eis={"EcasdCertificate": 12}), "ISD-P creation"),
        ("GetEIS", _ok(Eis={"EcasdCertificate": "7F21"}), "ISD-P creation"),
        ("CreateISDP", _ok(IsdPAid=apdu.ISD_R_AID.hex()), "ISD-P creation"),
        ("CreateISDP", _ok(IsdPAid="zz"), "ISD-P creation"),
        ("SendData", _ok(), "key establishment"),
        ("SendData", _ok(EuiccResponseData="AB00"), "key establishment"),
        ("SendData", _ok(EuiccResponseData="AB0680010223029000"), "key establishment"),
    ],
)
def test_bad_answers_to_the_sm_dp(
    backend: Any, function: str, answer: bytes, phase: str
) -> None:
    world = make_world(backend)
    _answering(world, {function: answer})
    with pytest.raises(ProvisioningError, match=phase) as info:
        run(world, small_profile())
    assert isinstance(info.value.__cause__, M2mRspError)
    if function == "SendData":  # the SM-SR created the ISD-P; error management removed it
        assert world.euicc.isd_ps == {}
    assert_consistent(world.euicc, world.smsr, world.eid)


def test_too_many_answers_are_refused(backend: Any) -> None:
    world = make_world(backend)
    real = world.smsr.handle_es3

    def doubling(request: bytes) -> bytes:
        function, fields = es3.decode_request(request)
        document = json.loads(real(request))
        if function == "SendData" and fields.get("SdAid"):
            data = bytes.fromhex(document["EuiccResponseData"])
            items = data[5:]  # after AB L 80 01 n
            count = data[4] * 2
            body = b"\x80\x01" + bytes((count,)) + items * 2
            document["EuiccResponseData"] = (b"\xab" + encode_length(len(body)) + body).hex()
        return json.dumps(document).encode()

    world.smdp._es3 = doubling  # noqa: SLF001
    with pytest.raises(ProvisioningError, match="answers to"):
        run(world, small_profile())
    assert world.euicc.isd_ps == {}
    assert_consistent(world.euicc, world.smsr, world.eid)

