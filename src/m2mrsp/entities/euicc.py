"""The eUICC: ISD-R, ECASD and ISD-Ps, reached only through ES5 messages (bytes in, bytes out).

* The ISD-R executes the scripts addressed to it: ``INSTALL [for install]`` creates an ISD-P
  (§3.2), ``INSTALL [for personalization]`` points the following STORE DATA at an ISD-P until
  its last block (§4.3; the target persists across the scripts of one ES5 session), STORE DATA
  DGIs ``3A03``/``3A04``/``3A08`` enable, disable and confirm notifications (§7), DELETE removes
  an ISD-P. Scripts addressed to an ISD-P are forwarded to it unread (§2.5).
* An ISD-P runs key establishment with the ECASD (§4), then SCP03t and the Profile Package
  Interpreter (§5, §6). A failed download leaves nothing installed: the partly built profile
  is dropped, the session keys are forgotten, and the ISD-P waits for its deletion (§6.1).
  A finished download closes the SCP03t session too.

Strictness ([D], docs/FAULTS.md lists every case): the ISD-R accepts only class byte ``80``;
INSTALL and DELETE need P1/P2 of the GP codings SGP.02 uses; its own STORE DATA DGIs
(``3A03``, ``3A08``) come in one last block ``00``. A refused STORE DATA ends an
``INSTALL [for personalization]`` sequence, and so does deleting its target; the ECASD then
forgets the challenge it issued. An ISD-P answers C-APDUs with ``6D00``: it speaks only
SCP03t TLVs. An ISD-P created without a memory reservation may hold no more than the card has
free.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from m2mrsp.crypto.kdf import DEFAULT_KDF
from m2mrsp.entities.ecasd import Ecasd
from m2mrsp.errors import ProfileError, ScpError, ScpErrorKind, TlvError
from m2mrsp.hotpath.types import Backend
from m2mrsp.protocol import apdu, es5
from m2mrsp.protocol.keyest import KeyAgreementError, OnCardKeyAgreement
from m2mrsp.protocol.notification import PROFILE_CHANGE_SUCCEEDED, Notification
from m2mrsp.protocol.scp03t import (
    EXTERNAL_AUTHENTICATE_TAG,
    INITIALIZE_UPDATE_TAG,
    SEGMENT_TAG,
    CardSession,
    StaticKeys,
    error_status,
    error_tlv,
)
from m2mrsp.rng import RandomSource
from m2mrsp.saip.interpreter import ProfileInstaller
from m2mrsp.saip.model import InstalledProfile
from m2mrsp.saip.pe import Status
from m2mrsp.timing import span

_log = logging.getLogger(__name__)

# [D] POL1 coding (PROTOCOL.md §7.5): one byte of rules.
POL1_DISABLE_NOT_ALLOWED = 0x01
POL1_DELETE_NOT_ALLOWED = 0x02
POL1_DELETE_ON_DISABLE = 0x04
DEFAULT_TOTAL_MEMORY = 512 * 1024
# [D] the ISD-R's own STORE DATA (3A03 enable, 3A08 confirmation): one last block, number 00.
ISD_R_STORE_DATA_BLOCK = 0x00


def _no_memory() -> int:
    return 0


class LifeCycle(enum.IntEnum):
    """ISD-P life-cycle bytes (GP tag 9F70 with the SGP.02 extensions, PROTOCOL.md §3.4)."""

    SELECTABLE = 0x07
    PERSONALIZED = 0x0F
    DISABLED = 0x1F
    ENABLED = 0x3F


@dataclass
class IsdP:
    """One ISD-P: its life cycle, key set, SCP03t sessions and (once installed) its profile."""

    aid: bytes
    reserved_memory: int
    backend: Backend
    rng: RandomSource
    kdf: str = DEFAULT_KDF
    state: LifeCycle = LifeCycle.SELECTABLE
    keys: StaticKeys | None = field(default=None, repr=False)
    key_agreement: OnCardKeyAgreement | None = field(default=None, repr=False)
    session: CardSession | None = field(default=None, repr=False)
    installer: ProfileInstaller | None = field(default=None, repr=False)
    profile: InstalledProfile | None = None
    download_failed: bool = False
    received_bytes: int = 0
    card_free_memory: Callable[[], int] = field(default=_no_memory, repr=False)

    @property
    def used_memory(self) -> int:
        """What this ISD-P takes from the card: its reservation, or what it holds if more."""
        return max(self.reserved_memory, self.received_bytes)

    @property
    def session_open(self) -> bool:
        """True while SCP03t session keys are held (after ``85``, until the session ends)."""
        return self.session is not None and self.session.open

    @property
    def pol1(self) -> int:
        return self.profile.pol1 if self.profile is not None else 0

    # -- key establishment (STORE DATA forwarded by the ISD-R) -------------------------------

    def store_data(self, ecasd: Ecasd, command: apdu.CommandApdu) -> tuple[bytes, int]:
        """Key-establishment STORE DATA (PROTOCOL.md §4.4-4.5): ``(response data, SW)``."""
        if self.state is not LifeCycle.SELECTABLE:
            return b"", apdu.SW_CONDITIONS_NOT_SATISFIED
        if self.key_agreement is None:
            self.key_agreement = OnCardKeyAgreement(ecasd, self.rng, kdf=self.kdf)
        try:
            answer = self.key_agreement.handle_store_data(command)
        except KeyAgreementError as err:
            _log.info("key establishment refused: %s", err)
            return b"", err.sw
        keys = self.key_agreement.keys
        if keys is not None:
            self.key_agreement = None
            self.keys = StaticKeys(keys.key_version, keys.enc, keys.mac, keys.dek)
            self.session = CardSession(self.keys, self.aid, self.backend)
            self.state = LifeCycle.PERSONALIZED
        return answer, apdu.SW_OK

    # -- SCP03t and the profile package --------------------------------------------------------

    def scp03t(self, tag: int, command: bytes) -> tuple[bytes, bool]:
        """Process one SCP03t TLV: ``(answer TLV, whether the script may go on)``."""
        if self.session is None or self.state is not LifeCycle.PERSONALIZED or (
            self.download_failed
        ):
            return error_tlv(tag, apdu.SW_CONDITIONS_NOT_SATISFIED), False
        try:
            if tag == INITIALIZE_UPDATE_TAG:
                if self.installer is not None:
                    raise ScpError(ScpErrorKind.BAD_STATE, detail="84 during a download")
                return self.session.initialize_update(command), True
            if tag == EXTERNAL_AUTHENTICATE_TAG:
                return self.session.external_authenticate(command), True
            if tag == SEGMENT_TAG:
                return self._segment(command)
        except ScpError as err:
            return self._fail(tag, error_status(err.kind), str(err)), False
        except TlvError as err:
            return self._fail(tag, apdu.SW_WRONG_DATA, str(err)), False
        return error_tlv(tag, apdu.SW_INS_NOT_SUPPORTED), False

    def _segment(self, command: bytes) -> tuple[bytes, bool]:
        assert self.session is not None
        with span("segment unwrap"):
            plain, state = self.session.unwrap(command)
        if self.installer is None:
            self.installer = ProfileInstaller(scan_tlv=self.backend.scan_tlv)
        try:
            if len(plain) > self._room():
                raise ProfileError("profile larger than the memory reserved",
                                   Status.NOT_ENOUGH_MEMORY)
            self.received_bytes += len(plain)
            with span("PE installation"):
                finished = self.installer.feed(plain)
        except ProfileError as err:
            _log.info("profile installation aborted: %s", err)
            self.installer.abort(err)
            answer = self.session.answer(state, self.installer.response())
            self._discard_download()
            return answer, False
        if not finished:
            with span("segment answer"):
                return self.session.answer(state, b""), True
        self.profile = self.installer.profile
        answer = self.session.answer(state, self.installer.response())
        self.installer = None
        self.session.close()
        self.state = LifeCycle.DISABLED
        return answer, True

    def _room(self) -> int:
        """Bytes the download may still add: what is left of the reservation, else card-wide."""
        if self.reserved_memory:
            return self.reserved_memory - self.received_bytes
        return self.card_free_memory()

    def _fail(self, tag: int, status: int, reason: str) -> bytes:
        _log.info("SCP03t command %02X refused: %s", tag, reason)
        if tag == SEGMENT_TAG or self.installer is not None:
            self._discard_download()
        elif self.session is not None:
            self.session.close()
        return error_tlv(tag, status)

    def _discard_download(self) -> None:
        """Security or profile error: drop the partial profile and the session (§6.3 step 1)."""
        self.installer = None
        self.profile = None
        self.received_bytes = 0
        self.download_failed = True
        if self.session is not None:
            self.session.close()


class Euicc:
    """An eUICC with its ISD-R logic, one ECASD and its ISD-Ps."""

    name = "eUICC"

    def __init__(
        self,
        ecasd: Ecasd,
        backend: Backend,
        rng: RandomSource,
        total_memory: int = DEFAULT_TOTAL_MEMORY,
        kdf: str = DEFAULT_KDF,
    ) -> None:
        """``kdf`` is the key-establishment KDF this card implements (SGP.02: X9.63)."""
        self.ecasd = ecasd
        self.kdf = kdf
        self.backend = backend
        self.total_memory = total_memory
        self._rng = rng
        self.isd_ps: dict[bytes, IsdP] = {}
        self._personalization_target: bytes | None = None
        self._notification_number = 0
        self._pending_notifications: list[Notification] = []
        self._isd_ps_created = 0

    @property
    def eid(self) -> bytes:
        return self.ecasd.eid

    @property
    def free_memory(self) -> int:
        return self.total_memory - sum(p.used_memory for p in self.isd_ps.values())

    def enabled_profile(self) -> IsdP | None:
        return next((p for p in self.isd_ps.values() if p.state is LifeCycle.ENABLED), None)

    # -- ES5 entry point ----------------------------------------------------------------------

    def handle_es5(self, message: bytes) -> bytes:
        """Execute one ES5 message and return the response script (or a notification)."""
        try:
            target, script = es5.parse_frame(message)
            if script == es5.PUSH:
                return self._open_admin_session()
            items = es5.parse_command_script(script)
        except TlvError as err:
            _log.info("malformed ES5 message: %s", err)
            return es5.build_response_script([es5.response_item(
                apdu.encode_response(b"", apdu.SW_WRONG_DATA))])
        if target == apdu.ISD_R_AID:
            return es5.build_response_script(self._run_isd_r(items))
        return es5.build_response_script(self._run_isd_p(target, items))

    def _open_admin_session(self) -> bytes:
        if self._pending_notifications:
            return self._pending_notifications[0].encode()
        return es5.build_response_script([])

    def _run_isd_p(self, aid: bytes, items: list[tuple[int, bytes]]) -> list[bytes]:
        isd_p = self.isd_ps.get(aid)
        answers: list[bytes] = []
        for tag, command in items:
            if isd_p is None or tag == es5.C_APDU:
                status = apdu.SW_REFERENCED_DATA_NOT_FOUND if isd_p is None else (
                    apdu.SW_INS_NOT_SUPPORTED)
                answers.append(es5.response_item(apdu.encode_response(b"", status))
                               if tag == es5.C_APDU else error_tlv(tag, status))
                break
            answer, go_on = isd_p.scp03t(tag, command)
            answers.append(answer)
            if not go_on:
                break
        return answers

    def _run_isd_r(self, items: list[tuple[int, bytes]]) -> list[bytes]:
        answers: list[bytes] = []
        for tag, command in items:
            if tag != es5.C_APDU:
                answers.append(es5.response_item(apdu.encode_response(b"", apdu.SW_WRONG_DATA)))
                break
            data, sw = self._execute_apdu(command)
            answers.append(es5.response_item(apdu.encode_response(data, sw)))
            if sw != apdu.SW_OK:
                break
        return answers

    def _execute_apdu(self, raw: bytes) -> tuple[bytes, int]:
        try:
            command = apdu.parse_command(raw)
            if command.cla != apdu.CLA_GP:
                return b"", apdu.SW_CLA_NOT_SUPPORTED
            if command.ins == apdu.INS_INSTALL:
                return self._install(command)
            if command.ins == apdu.INS_STORE_DATA:
                data, sw = self._store_data(command)
                if sw != apdu.SW_OK:
                    self._end_personalization()
                return data, sw
            if command.ins == apdu.INS_DELETE:
                return self._delete(*apdu.parse_delete(command))
        except apdu.ApduError as err:
            _log.info("ISD-R refused an APDU: %s", err)
            return b"", err.sw
        return b"", apdu.SW_INS_NOT_SUPPORTED

    # -- ISD-R commands ------------------------------------------------------------------------

    def _install(self, command: apdu.CommandApdu) -> tuple[bytes, int]:
        if command.p2 != 0x00:
            return b"", apdu.SW_INCORRECT_P1_P2
        if command.p1 == apdu.INSTALL_FOR_INSTALL | apdu.INSTALL_MAKE_SELECTABLE:
            return self._create_isdp(apdu.parse_create_isdp(command.data))
        if command.p1 == apdu.INSTALL_FOR_PERSONALIZATION:
            aid = apdu.parse_install_for_personalization(command.data)
            if aid not in self.isd_ps:
                return b"", apdu.SW_REFERENCED_DATA_NOT_FOUND
            self._personalization_target = aid
            return apdu.INSTALL_RESPONSE, apdu.SW_OK
        return b"", apdu.SW_INCORRECT_P1_P2

    def _create_isdp(self, request: apdu.CreateIsdp) -> tuple[bytes, int]:
        """ES5.CreateISDP (§3.2-3.3): AID in range and free, memory available."""
        with span("create ISD-P"):
            if apdu.isdp_tar(request.aid) is None:
                return b"", apdu.SW_CONDITIONS_NOT_SATISFIED
            if request.aid in self.isd_ps:
                return b"", apdu.SW_WRONG_DATA
            if request.required_memory > self.free_memory:
                return b"", apdu.SW_NOT_ENOUGH_MEMORY
            self._isd_ps_created += 1
            self.isd_ps[request.aid] = IsdP(
                request.aid, request.required_memory, self.backend,
                self._rng.fork(f"isd-p {self._isd_ps_created}"), self.kdf,
                card_free_memory=lambda: max(0, self.free_memory),
            )
        return apdu.INSTALL_RESPONSE, apdu.SW_OK

    def _store_data(self, command: apdu.CommandApdu) -> tuple[bytes, int]:
        store = apdu.parse_store_data(command)
        if self._personalization_target is not None:
            isd_p = self.isd_ps.get(self._personalization_target)
            if isd_p is None:
                return b"", apdu.SW_REFERENCED_DATA_NOT_FOUND
            answer = isd_p.store_data(self.ecasd, command)
            if store.last:
                self._end_personalization()
            return answer
        if not store.last or store.block != ISD_R_STORE_DATA_BLOCK or (
            store.structure != apdu.STORE_DATA_DGI
        ):
            return b"", apdu.SW_INCORRECT_P1_P2
        request = apdu.parse_isdr_store_data(store.data)
        if request.dgi == apdu.DGI_ENABLE_PROFILE and request.aid is not None:
            return self._enable(request.aid)
        if request.dgi == apdu.DGI_NOTIFICATION_CONFIRMATION and (
            request.sequence_number is not None
        ):
            return self._confirm_notification(request.sequence_number)
        return b"", apdu.SW_FUNCTION_NOT_SUPPORTED

    def _enable(self, aid: bytes) -> tuple[bytes, int]:
        """Enable ``aid`` (§7.1): POL1 of the current profile, then swap, REFRESH, notify."""
        target = self.isd_ps.get(aid)
        if target is None:
            return b"", apdu.SW_REFERENCED_DATA_NOT_FOUND
        if target.state is not LifeCycle.DISABLED:
            return b"", apdu.SW_CONDITIONS_NOT_SATISFIED
        current = self.enabled_profile()
        if current is not None and current.pol1 & POL1_DISABLE_NOT_ALLOWED:
            return b"", apdu.SW_POL1_FORBIDS
        if current is not None:
            current.state = LifeCycle.DISABLED
        target.state = LifeCycle.ENABLED
        # The REFRESH and the device's network attach are modelled as immediate; the
        # notification then waits for the SM-SR to open the next admin session.
        self._notification_number += 1
        self._pending_notifications.append(
            Notification(self.eid, PROFILE_CHANGE_SUCCEEDED, self._notification_number, aid)
        )
        return b"", apdu.SW_OK

    def _confirm_notification(self, number: int) -> tuple[bytes, int]:
        pending = [n for n in self._pending_notifications if n.sequence_number == number]
        if not pending:
            return b"", apdu.SW_REFERENCED_DATA_NOT_FOUND
        self._pending_notifications.remove(pending[0])
        deleted = self._delete_disabled_by_policy()
        return apdu.encode_deleted_aids(deleted), apdu.SW_OK

    def _delete_disabled_by_policy(self) -> list[bytes]:
        """POL1 'delete on disable': remove such disabled profiles after the confirmation."""
        doomed = [
            aid for aid, isd_p in self.isd_ps.items()
            if isd_p.state is LifeCycle.DISABLED and isd_p.pol1 & POL1_DELETE_ON_DISABLE
        ]
        for aid in doomed:
            del self.isd_ps[aid]
        return doomed

    def _delete(self, aid: bytes, related: bool) -> tuple[bytes, int]:
        isd_p = self.isd_ps.get(aid)
        if isd_p is None:
            return b"", apdu.SW_REFERENCED_DATA_NOT_FOUND
        if isd_p.state is LifeCycle.ENABLED or isd_p.pol1 & POL1_DELETE_NOT_ALLOWED:
            return b"", apdu.SW_CONDITIONS_NOT_SATISFIED
        del self.isd_ps[aid]
        if self._personalization_target == aid:
            self._end_personalization()
        return b"", apdu.SW_OK

    def _end_personalization(self) -> None:
        """Close an INSTALL [for personalization] sequence; the ECASD forgets its challenge."""
        self._personalization_target = None
        self.ecasd.forget()
