"""The SM-SR: holds the EIS, owns the only channel to the card (ES5), relays ES8 blindly.

It answers ES3 requests from the SM-DP (PROTOCOL.md §2.1) and turns them into ES5 scripts for
the ISD-R (§2.2, §3, §7). ES8 data from the SM-DP arrives as ready-made script items; the SM-SR
wraps them in a script addressed to the target security domain without reading them, and hands
the card's response script back unread: it never holds profile plain text or ISD-P keys.

When an ES5 packet is lost (:class:`~m2mrsp.wire.MessageLost`), the SM-SR sends the exchange
again, up to ``max_retries`` times (the card answers a repeated exchange from memory, see
:class:`~m2mrsp.wire.Link`). If the card stays silent the ES3 call fails with
:class:`Es5Unreachable`. Where the card's state is then unknown (it may have executed the lost
command), the EIS record stays, marked with what the SM-SR still owes the card in
``ProfileRecord.pending``: :data:`PENDING_DELETE` (an ISD-P to delete) or
:data:`PENDING_ENABLE` (an enabling whose outcome is not known yet).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from m2mrsp.errors import CardError, Es3Error, M2mRspError
from m2mrsp.protocol import apdu, es3, es5
from m2mrsp.protocol.notification import Notification
from m2mrsp.timing import span
from m2mrsp.wire import MessageLost

_log = logging.getLogger(__name__)

# EIS profile states as the SM-SR sees them (PROTOCOL.md §7.3).
IN_CREATION = "In-Creation"
CREATED = "Created"
DISABLED = "Disabled"
ENABLED = "Enabled"
DEFAULT_MAX_RETRIES = 3
PENDING_DELETE = "delete"
PENDING_ENABLE = "enable"


class Es5Unreachable(M2mRspError):
    """The eUICC did not answer an ES5 exchange, however often it was sent."""


@dataclass
class ProfileRecord:
    """One profile in the EIS."""

    iccid: str
    aid: bytes
    state: str
    mno_id: str = ""
    required_memory: int = 0
    pol2: str = ""
    subscription_address: dict[str, str] = field(default_factory=dict)
    pending: str = ""


@dataclass
class Eis:
    """The eUICC Information Set the EUM registers over ES1."""

    eid: bytes
    ecasd_certificate: bytes
    eum_certificate: bytes
    total_memory: int
    platform_version: str = "4.2"
    profiles: dict[bytes, ProfileRecord] = field(default_factory=dict)
    notifications_seen: list[int] = field(default_factory=list)

    @property
    def free_memory(self) -> int:
        return self.total_memory - sum(p.required_memory for p in self.profiles.values())

    def by_iccid(self, iccid: str) -> ProfileRecord | None:
        return next((p for p in self.profiles.values() if p.iccid == iccid), None)

    def to_fields(self) -> dict[str, Any]:
        return {
            "Eid": self.eid.hex().upper(),
            "EcasdCertificate": self.ecasd_certificate.hex().upper(),
            "EumCertificate": self.eum_certificate.hex().upper(),
            "PlatformVersion": self.platform_version,
            "RemainingMemory": self.free_memory,
            "Profiles": [
                {"Iccid": p.iccid, "IsdPAid": p.aid.hex().upper(), "State": p.state}
                for p in self.profiles.values()
            ],
        }


class SmSr:
    """SM-SR with its EIS store; ``register`` gives it the ES5 channel to each eUICC.

    Attributes:
        max_retries: how often a lost ES5 exchange is sent again.
        retransmissions: how many ES5 exchanges were sent again, all cards together.
        unreachable: how many ES5 exchanges were given up (:class:`Es5Unreachable`).
    """

    name = "SM-SR"

    def __init__(self, max_retries: int = DEFAULT_MAX_RETRIES) -> None:
        if max_retries < 0:
            raise ValueError(f"max retries must be 0 or more, not {max_retries}")
        self.max_retries = max_retries
        self.retransmissions = 0
        self.unreachable = 0
        self._eis: dict[bytes, Eis] = {}
        self._es5: dict[bytes, Callable[[bytes], bytes]] = {}
        self._handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "GetEIS": self._get_eis,
            "CreateISDP": self._create_isdp,
            "SendData": self._send_data,
            "ProfileDownloadCompleted": self._download_completed,
            "EnableProfile": self._enable_profile,
            "DeleteISDP": self._delete_isdp,
        }

    def register(self, eis: Eis, es5_link: Callable[[bytes], bytes]) -> None:
        """ES1: the EUM registers an eUICC; ``es5_link`` reaches its ISD-R."""
        self._eis[eis.eid] = eis
        self._es5[eis.eid] = es5_link

    def deregister(self, eid: bytes) -> None:
        """Forget an eUICC's EIS and channel (a campaign keeps no card once it is checked)."""
        self._eis.pop(eid, None)
        self._es5.pop(eid, None)

    def eis(self, eid: bytes) -> Eis:
        """The EIS of ``eid`` (for reports and tests; the SM-DP uses ES3.GetEIS)."""
        return self._eis[eid]

    # -- ES3 ----------------------------------------------------------------------------------

    def handle_es3(self, request: bytes) -> bytes:
        """Serve one ES3 request; failures become a ``Failed`` response, never an exception."""
        try:
            function, fields = es3.decode_request(request)
            handler = self._handlers.get(function)
            if handler is None:
                raise Es3Error(f"ES3 function {function} not supported by this SM-SR")
            with span(f"SM-SR {function}"):
                answer = handler(fields)
        except M2mRspError as err:
            _log.info("ES3 request failed: %s", err)
            return es3.encode_response(es3.FAILED, str(err))
        return es3.encode_response(es3.EXECUTED_SUCCESS, **answer)

    def _lookup(self, fields: dict[str, Any]) -> Eis:
        eid = es3.hex_field(fields, "Eid")
        if eid not in self._eis:
            raise Es3Error(f"unknown EID {eid.hex().upper()}")
        return self._eis[eid]

    @staticmethod
    def _record(eis: Eis, fields: dict[str, Any]) -> ProfileRecord:
        iccid = es3.text_field(fields, "Iccid")
        record = eis.by_iccid(iccid)
        if record is None:
            raise Es3Error(f"no profile {iccid} on this eUICC")
        return record

    def _get_eis(self, fields: dict[str, Any]) -> dict[str, Any]:
        return {"Eis": self._lookup(fields).to_fields()}

    def _create_isdp(self, fields: dict[str, Any]) -> dict[str, Any]:
        """ES3.CreateISDP: EIS checks, then INSTALL; the record goes if the card refused it."""
        eis = self._lookup(fields)
        iccid = es3.text_field(fields, "Iccid")
        memory = es3.int_field(fields, "RequiredMemory", 0, apdu.RESERVED_MEMORY_MAX)
        mno_id = es3.text_field(fields, "MnoId") if "MnoId" in fields else ""
        if not iccid:
            raise Es3Error("empty ICCID")
        if eis.by_iccid(iccid) is not None:
            raise Es3Error(f"ICCID {iccid} already on this eUICC")
        if memory > eis.free_memory:
            raise Es3Error(f"not enough memory: {memory} asked, {eis.free_memory} free")
        aid = self._allocate_aid(eis)
        record = ProfileRecord(iccid, aid, IN_CREATION, mno_id, memory)
        eis.profiles[aid] = record
        command = apdu.build_create_isdp(aid, memory).to_bytes()
        try:
            response = self._run_apdus(eis, apdu.ISD_R_AID, [command])
        except CardError:
            del eis.profiles[aid]
            raise
        except M2mRspError:
            # The card's answer is unreadable or never came: it may have created the ISD-P, so
            # delete it (an unknown AID is refused, which is fine) before forgetting the record,
            # or keep the record for a later deletion when the card cannot be reached.
            if self._try_delete(eis, aid):
                del eis.profiles[aid]
            else:
                record.pending = PENDING_DELETE
            raise
        record.state = CREATED
        return {"IsdPAid": aid.hex().upper(), "EuiccResponseData": response.hex().upper()}

    def _try_delete(self, eis: Eis, aid: bytes) -> bool:
        """DELETE ``aid``; False only when the card could not be reached."""
        try:
            self._run_apdus(eis, apdu.ISD_R_AID, [apdu.build_delete(aid).to_bytes()])
        except Es5Unreachable as err:
            _log.info("clean-up DELETE of %s: %s", aid.hex().upper(), err)
            return False
        except M2mRspError as err:
            _log.info("clean-up DELETE of %s: %s", aid.hex().upper(), err)
        return True

    @staticmethod
    def _allocate_aid(eis: Eis) -> bytes:
        """[D] first free TAR from 000010 (PROTOCOL.md §1.4)."""
        for tar in range(apdu.ISDP_TAR_MIN, apdu.ISDP_TAR_MAX + 1):
            aid = apdu.isdp_aid(tar)
            if aid not in eis.profiles:
                return aid
        raise Es3Error("no free ISD-P TAR")

    def _send_data(self, fields: dict[str, Any]) -> dict[str, Any]:
        eis = self._lookup(fields)
        target = es3.hex_field(fields, "SdAid") if "SdAid" in fields else apdu.ISD_R_AID
        if target != apdu.ISD_R_AID and target not in eis.profiles:
            raise Es3Error(f"no ISD-P {target.hex().upper()} on this eUICC")
        script = es5.build_command_script([es3.hex_field(fields, "Data")])
        response = self._send(eis, es5.frame(target, script))
        return {"EuiccResponseData": response.hex().upper()}

    def _download_completed(self, fields: dict[str, Any]) -> dict[str, Any]:
        eis = self._lookup(fields)
        record = self._record(eis, fields)
        pol2 = es3.text_field(fields, "Pol2") if "Pol2" in fields else ""
        address = es3.object_field(fields, "SubscriptionAddress")
        if record.state != CREATED:
            raise Es3Error(f"profile {record.iccid} is not waiting for completion")
        record.state = DISABLED
        record.pol2 = pol2
        record.subscription_address = dict(address)
        return {}

    def _enable_profile(self, fields: dict[str, Any]) -> dict[str, Any]:
        eis = self._lookup(fields)
        record = self._record(eis, fields)
        if record.state != DISABLED:
            raise Es3Error(f"profile {record.iccid} is not disabled on this eUICC")
        enable = apdu.build_enable_profile(record.aid).to_bytes()
        try:
            response = self._run_apdus(eis, apdu.ISD_R_AID, [enable])
            notification, deleted = self._collect_notification(eis)
        except Es5Unreachable:
            record.pending = PENDING_ENABLE
            raise
        if notification.enabled_aid != record.aid:
            raise Es3Error("the eUICC reported another profile enabled")
        for other in eis.profiles.values():
            if other.state == ENABLED:
                other.state = DISABLED
        record.state = ENABLED
        for aid in deleted:
            if aid != record.aid:
                eis.profiles.pop(aid, None)
        return {"EuiccResponseData": response.hex().upper()}

    def _collect_notification(self, eis: Eis) -> tuple[Notification, list[bytes]]:
        """Push the card, take its notification and confirm it (PROTOCOL.md §7.6, §7.2).

        Returns:
            the notification and the AIDs the card deleted on confirming it (POL1 "delete on
            disable").
        """
        answer = self._send(eis, es5.frame(apdu.ISD_R_AID, es5.PUSH))
        notification = Notification.decode(answer)
        eis.notifications_seen.append(notification.sequence_number)
        confirmation = apdu.build_notification_confirmation(notification.sequence_number)
        script = self._run_apdus(eis, apdu.ISD_R_AID, [confirmation.to_bytes()])
        (_, rapdu), = es5.parse_response_script(script)
        return notification, apdu.parse_deleted_aids(apdu.split_response(rapdu)[0])

    def _delete_isdp(self, fields: dict[str, Any]) -> dict[str, Any]:
        eis = self._lookup(fields)
        record = self._record(eis, fields)
        if record.state == ENABLED:
            raise Es3Error("the enabled profile cannot be deleted")
        delete = apdu.build_delete(record.aid).to_bytes()
        try:
            response = self._run_apdus(eis, apdu.ISD_R_AID, [delete])
        except Es5Unreachable:
            record.pending = PENDING_DELETE
            raise
        del eis.profiles[record.aid]
        return {"EuiccResponseData": response.hex().upper()}

    # -- ES5 ----------------------------------------------------------------------------------

    def _send(self, eis: Eis, message: bytes) -> bytes:
        """One ES5 exchange, sent again up to ``max_retries`` times while packets get lost.

        Raises:
            Es5Unreachable: no answer came back, however often it was sent.
        """
        link = self._es5[eis.eid]
        attempt = link
        for tries in range(self.max_retries + 1):
            if tries:
                self.retransmissions += 1
            try:
                return attempt(message)
            except MessageLost as err:
                _log.info("ES5 attempt %d: %s", tries + 1, err)
            attempt = getattr(link, "resend", link)
        self.unreachable += 1
        raise Es5Unreachable(f"no answer from the eUICC after {self.max_retries + 1} attempts")

    def _run_apdus(self, eis: Eis, target: bytes, commands: list[bytes]) -> bytes:
        """Send C-APDUs in one script; raise :class:`CardError` unless every one answers 9000."""
        script = es5.build_command_script([es5.command_item(c) for c in commands])
        response = self._send(eis, es5.frame(target, script))
        items = es5.parse_response_script(response)
        for _, rapdu in items:
            _, sw = apdu.split_response(rapdu)
            if sw != apdu.SW_OK:
                raise CardError(sw)
        if len(items) != len(commands):
            raise CardError(apdu.SW_WRONG_DATA, "the card executed fewer commands than sent")
        return response
