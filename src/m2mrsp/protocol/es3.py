"""ES3 (SM-DP <-> SM-SR) function calls as bytes, PROTOCOL.md §2.1.

SGP.02 carries ES3 as SOAP web services; PROTOCOL.md §10 allows modelling them with the same
fields. This module encodes each request and response as canonical UTF-8 JSON (sorted keys, no
spaces), so what crosses ES3 is a real byte string that can be traced, counted and replayed.
Binary fields (``Data``, ``EuiccResponseData``, certificates) travel as upper-case hex, as in
the SOAP binding. Both ends read fields through :func:`hex_field`, :func:`text_field` and
:func:`int_field`, so a missing field or one of the wrong type is an :class:`Es3Error` naming it.
"""

from __future__ import annotations

import json
from typing import Any

from m2mrsp.errors import Es3Error

EXECUTED_SUCCESS = "Executed-Success"
EXECUTED_WITH_WARNING = "Executed-WithWarning"
FAILED = "Failed"
EXPIRED = "Expired"
# Njiwa's subject/reason pair for an execution error ([N]; the full code table is unconfirmed).
SUBJECT_EXECUTION = "8.4"
REASON_EXECUTION_ERROR = "4.2"
DEFAULT_VALIDITY_SECONDS = 3600

FUNCTIONS = frozenset(
    {
        "GetEIS",
        "CreateISDP",
        "SendData",
        "ProfileDownloadCompleted",
        "EnableProfile",
        "DisableProfile",
        "DeleteISDP",
        "UpdatePolicyRules",
    }
)


def _dump(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def encode_request(function: str, call_id: int, **fields: Any) -> bytes:
    """An ES3 request: the function name, its call identifier, validity and fields."""
    if function not in FUNCTIONS:
        raise ValueError(f"unknown ES3 function {function!r}")
    document = {
        "Function": function,
        "FunctionCallIdentifier": str(call_id),
        "ValidityPeriod": DEFAULT_VALIDITY_SECONDS,
        **fields,
    }
    return _dump(document)


def decode_request(data: bytes) -> tuple[str, dict[str, Any]]:
    """``(function, fields)`` of an ES3 request.

    Raises:
        Es3Error: not JSON, not an object, or an unknown function.
    """
    document = _load(data)
    function = document.pop("Function", None)
    if not isinstance(function, str) or function not in FUNCTIONS:
        raise Es3Error(f"unknown ES3 function {function!r}")
    return str(function), document


def encode_response(status: str = EXECUTED_SUCCESS, message: str = "", **fields: Any) -> bytes:
    """An ES3 response with its FunctionExecutionStatus (and StatusCodeData on failure)."""
    execution: dict[str, Any] = {"Status": status}
    if status == FAILED:
        execution["StatusCodeData"] = {
            "SubjectCode": SUBJECT_EXECUTION,
            "ReasonCode": REASON_EXECUTION_ERROR,
            "Message": message,
        }
    return _dump({"FunctionExecutionStatus": execution, **fields})


def decode_response(data: bytes) -> dict[str, Any]:
    """The fields of an ES3 response (with ``Status``); a failure raises.

    Raises:
        Es3Error: malformed, or a status other than success (the message is the card's or the
            SM-SR's explanation).
    """
    document = _load(data)
    execution = document.pop("FunctionExecutionStatus", None)
    if not isinstance(execution, dict) or "Status" not in execution:
        raise Es3Error("ES3 response without FunctionExecutionStatus")
    status = execution["Status"]
    if status not in (EXECUTED_SUCCESS, EXECUTED_WITH_WARNING):
        code_data = execution.get("StatusCodeData")
        detail = code_data.get("Message", "") if isinstance(code_data, dict) else ""
        error = Es3Error(f"ES3 call {status}: {detail}" if detail else f"ES3 call {status}")
        error.fields = document  # type: ignore[attr-defined]
        raise error
    document["Status"] = status
    return document


def _load(data: bytes) -> dict[str, Any]:
    try:
        document = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as err:
        raise Es3Error(f"ES3 message is not JSON: {err}") from None
    except RecursionError:
        raise Es3Error("ES3 message nested too deeply") from None
    if not isinstance(document, dict):
        raise Es3Error("ES3 message is not a JSON object")
    return document


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _field(fields: dict[str, Any], name: str, kind: type, what: str) -> Any:
    value = fields.get(name)
    if value is None:
        raise Es3Error(f"ES3 field {name} is missing")
    if not isinstance(value, kind) or isinstance(value, bool):
        raise Es3Error(f"ES3 field {name} is not {what}")
    return value


def text_field(fields: dict[str, Any], name: str) -> str:
    """The string field ``name``.

    Raises:
        Es3Error: missing or not a string.
    """
    value: str = _field(fields, name, str, "a string")
    return value


def hex_field(fields: dict[str, Any], name: str) -> bytes:
    """The binary field ``name``, sent as hex.

    Raises:
        Es3Error: missing, not a string, or not an even number of hex digits.
    """
    text = text_field(fields, name)
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise Es3Error(f"ES3 field {name} is not hex") from None


def int_field(fields: dict[str, Any], name: str, low: int, high: int) -> int:
    """The integer field ``name``, within ``low..high``.

    Raises:
        Es3Error: missing, not an integer (floats and booleans included), or out of range.
    """
    value: int = _field(fields, name, int, "an integer")
    if not low <= value <= high:
        raise Es3Error(f"ES3 field {name} = {value} outside {low}..{high}")
    return value


def object_field(
    fields: dict[str, Any], name: str, *, any_values: bool = False
) -> dict[str, Any]:
    """The JSON-object field ``name``; an absent one is empty.

    Args:
        any_values: accept any member values (else they must all be strings).

    Raises:
        Es3Error: present but not an object (of strings unless ``any_values``).
    """
    value = fields.get(name, {})
    if not isinstance(value, dict) or not (
        any_values or all(isinstance(v, str) for v in value.values())
    ):
        raise Es3Error(f"ES3 field {name} is not an object" + ("" if any_values else " of strings"))
    return value
