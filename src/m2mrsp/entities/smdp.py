"""The SM-DP: prepares the profile, establishes the ISD-P keys, streams the package (ES8).

Everything it says to the card travels as ES8 bytes inside ES3 ``SendData`` calls to the SM-SR
(PROTOCOL.md §2.5): APDUs for key establishment (as ``22`` script items, [D] §2.2), SCP03t TLVs
for the download. Each phase is one method; :mod:`m2mrsp.provisioning` runs them in order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from m2mrsp.errors import CardError, Es3Error, ProfileRefusedError, ProvisioningError
from m2mrsp.hotpath.types import Backend, Scp03tState
from m2mrsp.keylog import KeyLog
from m2mrsp.protocol import apdu, certs, es3, es5
from m2mrsp.protocol.keyest import OffCardKeyAgreement
from m2mrsp.protocol.scp03t import HostSession, StaticKeys
from m2mrsp.rng import RandomSource
from m2mrsp.saip.response import EUICCResponse
from m2mrsp.timing import span
from m2mrsp.wire import Wire

_log = logging.getLogger(__name__)

DEFAULT_SEGMENT_SIZE = 1007
DEFAULT_SEGMENTS_PER_CALL = 4


@dataclass(frozen=True)
class Credentials:
    """What the SM-DP holds: its signing key and certificate, and the CI key it trusts."""

    private_key: ec.EllipticCurvePrivateKey = field(repr=False)
    certificate: bytes
    ci_public_key: ec.EllipticCurvePublicKey


@dataclass
class DownloadReport:
    """What the download phase produced, for the result report."""

    segments: int = 0
    es8_calls: int = 0
    euicc_response: EUICCResponse | None = None


class SmDp:
    """SM-DP speaking ES3 to one SM-SR through ``es3`` (request bytes -> response bytes)."""

    name = "SM-DP"

    def __init__(
        self,
        credentials: Credentials,
        es3_link: Callable[[bytes], bytes],
        wire: Wire,
        backend: Backend,
        rng: RandomSource,
        *,
        kdf: str = "x963",
        segment_size: int = DEFAULT_SEGMENT_SIZE,
        segments_per_call: int = DEFAULT_SEGMENTS_PER_CALL,
        key_log: KeyLog | None = None,
    ) -> None:
        self._credentials = credentials
        self._es3 = es3_link
        self._wire = wire
        self._backend = backend
        self._rng = rng
        self._kdf = kdf
        self.segment_size = segment_size
        self.segments_per_call = max(1, segments_per_call)
        self._key_log = key_log
        self._call_id = 0

    # -- ES3 plumbing -------------------------------------------------------------------------

    def _call(self, function: str, **fields: Any) -> dict[str, Any]:
        self._call_id += 1
        return es3.decode_response(self._es3(es3.encode_request(function, self._call_id, **fields)))

    def _send_es8(self, eid: bytes, items: list[bytes], sd_aid: bytes | None) -> list[bytes]:
        """Send ES8 items in one SendData and return the card's answers, both recorded as ES8.

        Raises:
            Es3Error: the SM-SR failed the call or answered without readable response data.
            TlvError: the card's response script is malformed.
            CardError: more answers than items.
        """
        for item in items:
            self._wire.record("ES8", self.name, "ISD-P", item)
        fields: dict[str, Any] = {
            "Eid": eid.hex().upper(), "Data": b"".join(items).hex().upper(), "MoreToDo": True,
        }
        if sd_aid is not None:
            fields["SdAid"] = sd_aid.hex().upper()
        response = es3.hex_field(self._call("SendData", **fields), "EuiccResponseData")
        answers = [raw for _, raw in es5.parse_response_script(response)]
        for answer in answers:
            self._wire.record("ES8", "ISD-P", self.name, answer)
        if len(answers) > len(items):
            raise CardError(apdu.SW_WRONG_DATA, f"{len(answers)} answers to {len(items)} items")
        return answers

    # -- ISD-P creation (PROTOCOL.md §3) ------------------------------------------------------

    def get_eis(self, eid: bytes) -> dict[str, Any]:
        """ES3.GetEIS.

        Raises:
            Es3Error: the call failed or its answer holds no EIS object.
        """
        return es3.object_field(self._call("GetEIS", Eid=eid.hex().upper()), "Eis", any_values=True)

    def create_isdp(self, eid: bytes, iccid: str, required_memory: int) -> bytes:
        """ES3.CreateISDP; returns the AID the SM-SR allocated.

        Raises:
            Es3Error: the call failed or the AID answered is not a GSMA ISD-P AID.
        """
        answer = self._call(
            "CreateISDP", Eid=eid.hex().upper(), Iccid=iccid, MnoId="MNO-1",
            RequiredMemory=required_memory, MoreToDo=True,
        )
        aid = es3.hex_field(answer, "IsdPAid")
        if apdu.isdp_tar(aid) is None:
            raise Es3Error(f"the SM-SR allocated {aid.hex().upper()}, not an ISD-P AID")
        return aid

    # -- key establishment (PROTOCOL.md §4) ---------------------------------------------------

    def prepare_key_agreement(self, eid: bytes, eis: dict[str, Any]) -> OffCardKeyAgreement:
        """Check the EIS's CERT.EUM against the CI, then CERT.ECASD.ECKA against the EUM key.

        Both come before anything is created on the card (PROTOCOL.md §3.1, §4.2).

        Raises:
            TlvError, CertificateError: a certificate is malformed or not accepted.
        """
        ecasd_certificate = es3.hex_field(eis, "EcasdCertificate")
        eum_certificate = es3.hex_field(eis, "EumCertificate")
        with span("verify EUM certificate"):
            ci_key = self._credentials.ci_public_key
            eum = certs.parse_certificate(eum_certificate)
            certs.verify_certificate(
                eum, ci_key, issuer_key_identifier=certs.key_identifier(ci_key),
                key_usage=certs.KEY_USAGE_SIGNATURE,
            )
        with span("verify ECASD certificate"):
            return OffCardKeyAgreement(
                dp_certificate=self._credentials.certificate,
                dp_private_key=self._credentials.private_key,
                ecasd_certificate=ecasd_certificate,
                eum_public_key=eum.body.public_key,
                rng=self._rng,
                eid=eid,
                kdf=self._kdf,
            )

    def establish_keys(
        self, eid: bytes, aid: bytes, agreement: OffCardKeyAgreement
    ) -> StaticKeys:
        """ES8.EstablishISDPKeySet, scenario #3, through the ISD-R (no sd-aid).

        Raises:
            CardError: a refused or missing answer.
            ProvisioningError: an INSTALL answer other than ``00``.
            KeyAgreementError: a malformed challenge or receipt, or ``RECEIPT_MISMATCH``.
            Es3Error, TlvError: the transport failed.
        """
        personalize = apdu.build_install_for_personalization(aid).to_bytes()
        certificate = agreement.certificate_command().to_bytes()
        answers = self._send_es8(eid, [es5.command_item(personalize),
                                       es5.command_item(certificate)], None)
        challenge = self._apdu_data(answers, 2)
        install_answer = apdu.split_response(answers[0])[0]
        if install_answer != apdu.INSTALL_RESPONSE:
            raise ProvisioningError(
                f"INSTALL [for personalization] answered {install_answer.hex().upper()}, not 00"
            )
        with span("key agreement data"):
            command = agreement.key_agreement_command(challenge).to_bytes()
        receipt = self._apdu_data(self._send_es8(eid, [es5.command_item(command)], None), 1)
        with span("check receipt"):
            keys = agreement.finish(receipt)
        static = StaticKeys(keys.key_version, keys.enc, keys.mac, keys.dek)
        if self._key_log is not None:
            self._key_log.static_keys(aid, static)
        return static

    @staticmethod
    def _apdu_data(answers: list[bytes], expected: int) -> bytes:
        """The data of the last R-APDU once every one of ``expected`` answered 9000."""
        data = b""
        for raw in answers:
            data, sw = apdu.split_response(raw)
            if sw != apdu.SW_OK:
                raise CardError(sw, "key establishment refused by the eUICC")
        if len(answers) != expected:
            raise CardError(apdu.SW_WRONG_DATA, "missing answers in the response script")
        return data

    # -- download and installation (PROTOCOL.md §5, §6) ---------------------------------------

    def download(self, eid: bytes, aid: bytes, keys: StaticKeys, package: bytes) -> DownloadReport:
        """SCP03t handshake, then every segment; the EUICCResponse decides success.

        The EUICCResponse must come with the answer to the last segment: an earlier one is
        only acceptable when it reports an error (the card then stops).

        Raises:
            ScpError: an error TLV from the card, a bad R-MAC or cryptogram, a malformed answer.
            ProfileError: an EUICCResponse that does not decode.
            ProfileRefusedError: the card reported an installation error.
            ProvisioningError: the card stopped early or reported success too soon.
        """
        session = HostSession(keys, aid, self._backend, self._rng)
        report = DownloadReport()
        with span("SCP03t handshake"):
            challenge = self._only(self._send_es8(eid, [session.initialize_update()], aid))
            authenticate = session.external_authenticate(challenge)
            session.check_external_authenticate(self._only(self._send_es8(
                eid, [authenticate], aid)))
        if self._key_log is not None:
            self._key_log.scp03t_session(aid, session)
        first_counter = session.state.counter
        with span("segment wrap"):
            wrapped = session.wrap(package, self.segment_size)
        report.segments = len(wrapped.tlvs)
        for start in range(0, len(wrapped.tlvs), self.segments_per_call):
            batch = wrapped.tlvs[start : start + self.segments_per_call]
            answers = self._send_es8(eid, batch, aid)
            report.es8_calls += 1
            with span("check responses"):
                for index, answer in enumerate(answers, start):
                    state = Scp03tState(wrapped.mcvs[index], first_counter + index + 1)
                    data = session.open_response(state, answer)
                    if data:
                        report.euicc_response = EUICCResponse.decode(data)
                        last = index == len(wrapped.tlvs) - 1
                        if report.euicc_response.succeeded and not last:
                            raise ProvisioningError(
                                f"the eUICC reported success after segment {index + 1} of "
                                f"{len(wrapped.tlvs)}"
                            )
            if len(answers) != len(batch) or report.euicc_response is not None:
                break
        self._check_installation(report)
        return report

    @staticmethod
    def _only(answers: list[bytes]) -> bytes:
        if len(answers) != 1:
            raise ProvisioningError(f"expected one answer, got {len(answers)}")
        return answers[0]

    @staticmethod
    def _check_installation(report: DownloadReport) -> None:
        response = report.euicc_response
        if response is None:
            raise ProvisioningError("the eUICC stopped before the end of the package")
        if not response.succeeded:
            raise ProfileRefusedError(
                f"the eUICC refused the profile: {response.describe()}", response
            )

    def download_completed(self, eid: bytes, iccid: str, imsi: str | None) -> None:
        """ES3.ProfileDownloadCompleted: the SM-SR records the profile as Disabled."""
        address = {"Imsi": imsi} if imsi else {}
        self._call("ProfileDownloadCompleted", Eid=eid.hex().upper(), Iccid=iccid,
                   ProfileType="Operational", SubscriptionAddress=address, Pol2="")

    def delete_isdp(self, eid: bytes, iccid: str) -> None:
        """ES3.DeleteISDP: the error-management step after a failed download (§6.1)."""
        self._call("DeleteISDP", Eid=eid.hex().upper(), Iccid=iccid)

    # -- enabling (PROTOCOL.md §7.1) ----------------------------------------------------------

    def enable(self, eid: bytes, iccid: str) -> None:
        """ES3.EnableProfile; the SM-SR answers once the eUICC's notification arrived."""
        try:
            self._call("EnableProfile", Eid=eid.hex().upper(), Iccid=iccid)
        except Es3Error as err:
            raise ProvisioningError(f"enabling {iccid} failed: {err}") from None
