"""The Profile Package Interpreter (PPI) of the simulated ISD-P (PROTOCOL.md §6.2-6.4, §8).

:class:`ProfileInstaller` takes the decrypted ``86`` segment plaintexts in order, cuts the byte
stream back into PEs, walks every TLV of each PE with the injected ``scan_tlv`` (so the native
back-end accelerates the walk), checks the interoperable-format rules and installs the PE into
an :class:`~m2mrsp.saip.model.InstalledProfile`.

Simulation decisions ([D]: no clause text was available, PROTOCOL.md §0), each a named constant:

* ``SUPPORTED_SERVICES``: the services the simulated eUICC offers;
* ``SUPPORTED_MAJOR_VERSIONS``: header major versions accepted (others: status 31);
* ``STATUS_UNSUPPORTED_SERVICE`` / ``STATUS_UNSUPPORTED_TEMPLATE``: what an unsupported
  eUICC-Mandatory-service or GFSTE/templateID reports;
* ``STATUS_ORDER`` / ``STATUS_DUPLICATE_ID``: ordering violations and reused identifications;
* ``MAX_PENDING_BYTES``: how much of an unfinished PE the card buffers (then not-enough-memory);
* the EUICCResponse content of §6.4 [D] (see :meth:`ProfileInstaller.response`).

Known shortcomings: template default files are not created (only what a PE states); PIN and
AKA "context" is the directory of the latest file-system template PE; extension additions in
PE bodies are rejected (see :mod:`m2mrsp.saip.schema`). After an abort ``profile`` keeps what
was installed so far; the ISD-P is expected to discard it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from m2mrsp.errors import ProfileError, TlvError, TlvErrorKind
from m2mrsp.hotpath import bertlv_py
from m2mrsp.hotpath.types import TlvTable
from m2mrsp.saip import schema
from m2mrsp.saip.filesystem import NAA_NAMES, TCA_TEMPLATE_ARC, TEMPLATES, FileSystem, path_of
from m2mrsp.saip.model import (
    MF_PATH,
    AkaParameters,
    Application,
    ApplicationInstance,
    CdmaParameters,
    InstalledElement,
    InstalledProfile,
    Pin,
    Puk,
    RfmInstance,
    SdKey,
    SecurityDomain,
)
from m2mrsp.saip.pe import (
    ALGORITHM_MILENAGE,
    ALGORITHM_TEST,
    ALGORITHM_TUAK,
    MAX_UINT8,
    SERVICE_NAMES,
    TAG_AKA_PARAMETER,
    TAG_APPLICATION,
    TAG_CDMA_PARAMETER,
    TAG_CSIM,
    TAG_END,
    TAG_GENERIC_FILE_MANAGEMENT,
    TAG_HEADER,
    TAG_NON_STANDARD,
    TAG_PIN_CODES,
    TAG_PUK_CODES,
    TAG_RFM,
    TAG_SECURITY_DOMAIN,
    PEHeader,
    Status,
    decode_iccid,
    decode_uint,
    is_known_pe,
    oid_within,
    pe_name,
    peek_pe_header,
)
from m2mrsp.saip.response import EUICCResponse, PEStatus
from m2mrsp.tlv import read_header

logger = logging.getLogger(__name__)

SUPPORTED_SERVICES: frozenset[str] = frozenset(
    {
        "usim", "isim", "csim", "milenage", "tuak128", "tuak256", "cave", "usim-test-algorithm",
        "gba-usim", "gba-isim", "mbms", "eap", "javacard", "multiple-usim", "multiple-isim",
        "multiple-csim", "ber-tlv", "dfLink", "cat-tp", "get-identity", "profile-a-x25519",
        "profile-b-p256", "suciCalculatorApi",
    }
)  # [D] everything the six TS.48 profiles require, plus the common NAA features
SUPPORTED_MAJOR_VERSIONS = frozenset({2, 3})  # [D]
SUPPORTED_TEMPLATE_ARCS: tuple[str, ...] = (TCA_TEMPLATE_ARC,)  # [D] all TCA templates
STATUS_UNSUPPORTED_SERVICE = Status.FEATURE_NOT_SUPPORTED  # [D]
STATUS_UNSUPPORTED_TEMPLATE = Status.TEMPLATE_NOT_SUPPORTED  # [D]
STATUS_ORDER = Status.INVALID_REQUEST_FORMAT  # [D]
STATUS_DUPLICATE_ID = Status.BAD_VALUES  # [D]
STATUS_WARNING = Status.PE_NOT_SUPPORTED  # an unknown non-mandated PE is kept and reported
MAX_PENDING_BYTES = 1 << 20  # [D]

GLOBAL_PIN_REFERENCES = frozenset({*range(1, 9), *range(10, 15)})
LOCAL_PIN_REFERENCES = frozenset({*range(0x81, 0x89), *range(0x8A, 0x8F)})
PUK_REFERENCES = frozenset({*range(1, 9), *range(0x81, 0x89)})
DEFAULT_PIN_ATTRIBUTES = 7
DEFAULT_PIN_ATTEMPTS = 0x33
DEFAULT_PUK_ATTEMPTS = 0xAA
DEFAULT_LIFE_CYCLE = 0x07
_INCOMPLETE = frozenset(
    {TlvErrorKind.TRUNCATED_TAG, TlvErrorKind.TRUNCATED_LENGTH, TlvErrorKind.VALUE_PAST_END}
)
_PE_CLASS_MASK = 0xE0  # a ProfileElement tag is context-specific and constructed: A0..BF
_SCHEMAS: dict[int, schema.Seq] = {
    TAG_GENERIC_FILE_MANAGEMENT: schema.GENERIC_FILE_MANAGEMENT,
    TAG_PIN_CODES: schema.PIN_CODES,
    TAG_PUK_CODES: schema.PUK_CODES,
    TAG_AKA_PARAMETER: schema.AKA_PARAMETER,
    TAG_CDMA_PARAMETER: schema.CDMA_PARAMETER,
    TAG_SECURITY_DOMAIN: schema.SECURITY_DOMAIN,
    TAG_RFM: schema.RFM,
    TAG_APPLICATION: schema.APPLICATION,
    TAG_NON_STANDARD: schema.NON_STANDARD,
    TAG_END: schema.END,
}


def _order(message: str) -> ProfileError:
    return ProfileError(message, STATUS_ORDER)


def _bad(message: str) -> ProfileError:
    return ProfileError(message, Status.BAD_VALUES)


class ProfileInstaller:
    """Installs one profile package, fed segment by segment (PROTOCOL.md §6.3).

    Attributes:
        finished: ``end`` was installed and no fatal error happened.
        aborted: a fatal error stopped the installation; further input is refused.
        profile: what has been installed.
    """

    def __init__(
        self,
        scan_tlv: Callable[[bytes], TlvTable] = bertlv_py.scan_tlv,
        supported_services: frozenset[str] = SUPPORTED_SERVICES,
        supported_template_arcs: tuple[str, ...] = SUPPORTED_TEMPLATE_ARCS,
    ) -> None:
        self._scan = scan_tlv
        self._services = supported_services
        self._template_arcs = supported_template_arcs
        self.profile = InstalledProfile()
        self.finished = False
        self.aborted = False
        self._fs = FileSystem(self.profile, supported_template_arcs)
        self._buffer = bytearray()
        self._position = 0  # package offset of self._buffer[0]
        self._identifications: set[int] = set()
        self._warnings: list[PEStatus] = []
        self._error: ProfileError | None = None
        self._end_identification: int | None = None
        self._handlers: dict[int, Callable[[int, dict[str, Any]], None]] = {
            TAG_GENERIC_FILE_MANAGEMENT: self._file_management,
            TAG_PIN_CODES: self._pin_codes,
            TAG_PUK_CODES: self._puk_codes,
            TAG_AKA_PARAMETER: self._aka_parameter,
            TAG_CDMA_PARAMETER: self._cdma_parameter,
            TAG_SECURITY_DOMAIN: self._security_domain,
            TAG_RFM: self._rfm,
            TAG_APPLICATION: self._application,
            TAG_END: self._end,
        }

    def feed(self, plaintext: bytes) -> bool:
        """Append decrypted segment bytes and install every PE they complete.

        Returns:
            True once ``end`` has been processed.

        Raises:
            ProfileError: a fatal error (status per §6.4, the PE identification when known, the
                PE offset in the package); every later call raises it again.
        """
        if self._error is not None:
            raise ProfileError(f"installation aborted: {self._error}", self._error.status,
                               self._error.identification, self._error.offset)
        self._buffer += plaintext
        try:
            while self._buffer and not self.finished:
                length = self._complete_length()
                if length is None:
                    break
                pe = bytes(self._buffer[:length])
                offset = self._position
                del self._buffer[:length]
                self._position += length
                self._install(pe, offset)
            if self.finished and self._buffer:
                raise ProfileError("bytes after the end PE", STATUS_ORDER, None, self._position)
        except ProfileError as err:
            self._abort(err)
            raise
        return self.finished

    def response(self) -> bytes:
        """The EUICCResponse DER of §6.4 ([D] rule).

        One PEStatus per warning, then a final ``ok`` with the identification of ``end``; after
        a fatal error the warnings, the error status and ``profileInstallationAborted``.

        Raises:
            ProfileError: invalid-request-format when neither ``end`` nor an error happened yet.
        """
        statuses = list(self._warnings)
        if self._error is not None:
            err = self._error
            statuses.append(PEStatus(err.status, err.identification, None, err.offset))
            return EUICCResponse(tuple(statuses), aborted=True).encode()
        if not self.finished:
            raise ProfileError("no EUICCResponse before end or an error", STATUS_ORDER)
        statuses.append(PEStatus(Status.OK, self._end_identification))
        return EUICCResponse(tuple(statuses)).encode()

    def abort(self, err: ProfileError) -> None:
        """Stop the installation for a reason found outside the PPI (e.g. reserved memory).

        ``response()`` then reports ``err`` (status, identification, offset) with
        ``profileInstallationAborted``; nothing changes if the installation already aborted.
        """
        if self._error is None:
            self._abort(err)

    def _abort(self, err: ProfileError) -> None:
        logger.info("profile installation aborted: status %d, PE %s at offset %s",
                    err.status, err.identification, err.offset)
        self._error = err
        self.aborted = True
        self.finished = False
        self._buffer.clear()

    def _complete_length(self) -> int | None:
        """Length of the complete PE TLV at the head of the buffer, or None if unfinished."""
        if self._buffer[0] & _PE_CLASS_MASK != TAG_HEADER:
            raise ProfileError(f"{self._buffer[0]:02X} cannot start a ProfileElement",
                               Status.INVALID_REQUEST_FORMAT, None, self._position)
        try:
            _, value_offset, length = read_header(self._buffer, 0, len(self._buffer))
        except TlvError as err:
            if err.kind not in _INCOMPLETE:
                raise ProfileError(f"malformed PE header at offset {self._position + err.offset}",
                                   Status.INVALID_REQUEST_FORMAT, None, self._position) from err
            if len(self._buffer) > MAX_PENDING_BYTES:
                raise ProfileError(f"PE larger than {MAX_PENDING_BYTES} bytes",
                                   Status.NOT_ENOUGH_MEMORY, None, self._position) from err
            return None
        return value_offset + length

    def _install(self, pe: bytes, offset: int) -> None:
        tag = read_header(pe, 0, len(pe))[0]  # the caller cut pe as one complete TLV
        header = peek_pe_header(pe)
        identification = header.identification if header else None
        try:
            tree = self._walk(pe, offset)
            logger.debug("PE %s id %s at offset %d, %d bytes", pe_name(tag), identification,
                         offset, len(pe))
            self._check_sequence(tag, header)
            self._dispatch(tree, tag, header)
        except ProfileError as err:
            if err.offset is not None:
                raise
            raise ProfileError(f"{pe_name(tag)}: {err}", err.status, identification,
                               offset) from err
        mandated = bool(header and header.mandated)
        element = InstalledElement(tag, pe_name(tag), identification, mandated, offset, pe,
                                   tree.table)
        self.profile.elements.append(element)
        if not is_known_pe(tag) or tag == TAG_NON_STANDARD:
            self.profile.unknown.append(element)

    def _walk(self, pe: bytes, offset: int) -> schema.TlvTree:
        try:
            table = self._scan(pe)
        except TlvError as err:
            raise _format(f"malformed TLV at offset {offset + err.offset}: {err}") from err
        tree = schema.TlvTree(pe, table, offset)
        if tree.top != [0]:
            raise _format("the TLV walk did not give one PE")
        return tree

    def _check_sequence(self, tag: int, header: PEHeader | None) -> None:
        """Header first and once, end last, identifications unique (§6.3)."""
        if tag == TAG_HEADER:
            if self.profile.elements:
                raise _order("header repeated or not first")
            return
        if not self.profile.elements:
            raise _order("the first PE must be header")
        if header is None:
            return
        if header.identification in self._identifications:
            raise ProfileError(f"identification {header.identification} reused",
                               STATUS_DUPLICATE_ID)
        self._identifications.add(header.identification)

    def _dispatch(self, tree: schema.TlvTree, tag: int, header: PEHeader | None) -> None:
        if tag == TAG_HEADER:
            self._header(tree)
        elif tag in TEMPLATES:
            self._fs.check_order(tag)
            body = TEMPLATES[tag].body.decode(tree, 0)
            self._fs.install_template(tag, body["header"]["identification"], body)
        elif tag in _SCHEMAS:
            fields = _SCHEMAS[tag].decode(tree, 0)
            handler = self._handlers.get(tag)
            if handler is None:  # nonStandard: validated, but its content means nothing here
                self._unsupported(tag, header, tree.base)
            else:
                handler(fields["header"]["identification"], fields)
        else:
            self._unsupported(tag, header, tree.base)

    def _unsupported(self, tag: int, header: PEHeader | None, offset: int) -> None:
        identification = header.identification if header else None
        if header is not None and header.mandated:
            raise ProfileError(f"mandated PE {pe_name(tag)} not supported",
                               Status.PE_NOT_SUPPORTED)
        logger.info("PE %s (id %s) not supported, kept", pe_name(tag), identification)
        self._warnings.append(PEStatus(STATUS_WARNING, identification, None, offset))

    def _header(self, tree: schema.TlvTree) -> None:
        kids = tree.kids[0]
        if kids and tree.tags[kids[0]] == 0x80:
            major = decode_uint(tree.value(kids[0]), MAX_UINT8, "major-version")
            if major not in SUPPORTED_MAJOR_VERSIONS:
                raise ProfileError(f"profile version {major} not supported",
                                   Status.UNSUPPORTED_PROFILE_VERSION)
        fields = schema.PROFILE_HEADER.decode(tree, 0)
        services = {_service_name(n) for n in fields["eUICC-Mandatory-services"]}
        missing = sorted(services - self._services)
        if missing:
            raise ProfileError(f"mandatory services {missing} not supported",
                               STATUS_UNSUPPORTED_SERVICE)
        templates = tuple(fields["eUICC-Mandatory-GFSTEList"])
        for oid in templates:
            if not any(oid_within(oid, arc) for arc in self._template_arcs):
                raise ProfileError(f"template {oid} not supported", STATUS_UNSUPPORTED_TEMPLATE)
        pol = fields.get("pol", b"\x00")
        if len(pol) != 1:
            raise _bad(f"POL1 of {len(pol)} bytes")
        profile = self.profile
        profile.iccid = decode_iccid(fields["iccid"])
        profile.major_version = fields["major-version"]
        profile.minor_version = fields["minor-version"]
        profile.profile_type = fields.get("profileType")
        profile.pol1 = pol[0]
        profile.mandatory_services = frozenset(services)
        profile.mandatory_templates = templates

    def _file_management(self, identification: int, fields: dict[str, Any]) -> None:
        self._fs.run_file_management(identification, fields["fileManagementCMD"])

    def _pin_codes(self, identification: int, fields: dict[str, Any]) -> None:
        context = self._fs.context
        if context is None:
            raise _order("pinCodes before any directory")
        kind, value = fields["pinCodes"]
        if kind == "filePath":
            self.profile.pin_links[context] = _shared_directory(self.profile, value)
            return
        allowed = GLOBAL_PIN_REFERENCES if context == MF_PATH else LOCAL_PIN_REFERENCES
        for item in value:
            reference = item["keyReference"]
            unblocking = item.get("unblockingPINReference")
            if reference not in allowed or (context, reference) in self.profile.pins:
                raise _bad(f"PIN key reference {reference:02X} not allowed in {context}")
            if unblocking is not None and unblocking not in self.profile.puks:
                raise _bad(f"PIN {reference:02X} refers to undefined PUK {unblocking:02X}")
            attempts = item.get("maxNumOfAttemps-retryNumLeft", DEFAULT_PIN_ATTEMPTS)
            self.profile.pins[(context, reference)] = Pin(
                context, reference, item["pinValue"], unblocking,
                item.get("pinAttributes", DEFAULT_PIN_ATTRIBUTES), attempts >> 4, attempts & 0x0F,
            )

    def _puk_codes(self, identification: int, fields: dict[str, Any]) -> None:
        if MF_PATH not in self.profile.files:
            raise _order("pukCodes before the MF")
        if self.profile.puks:
            raise _order("a second pukCodes PE")
        for item in fields["pukCodes"]:
            reference = item["keyReference"]
            if reference not in PUK_REFERENCES or reference in self.profile.puks:
                raise _bad(f"PUK key reference {reference:02X} invalid or repeated")
            attempts = item.get("maxNumOfAttemps-retryNumLeft", DEFAULT_PUK_ATTEMPTS)
            self.profile.puks[reference] = Puk(reference, item["pukValue"], attempts >> 4,
                                               attempts & 0x0F)

    def _aka_parameter(self, identification: int, fields: dict[str, Any]) -> None:
        if not any(self._fs.seen(tag) for tag in NAA_NAMES if tag != TAG_CSIM):
            raise _order("akaParameter before any USIM/ISIM")
        kind, config = fields["algoConfiguration"]
        context = self._fs.context or MF_PATH
        if kind == "mappingParameter":
            aka = AkaParameters(identification, context, None, config["mappingOptions"], b"",
                                b"", config["mappingSource"], fields.get("sqnOptions"))
        else:
            self._check_algorithm(config)
            aka = AkaParameters(identification, context, config["algorithmID"],
                                config["algorithmOptions"], config["key"], config["opc"], None,
                                fields.get("sqnOptions"))
        self.profile.aka.append(aka)

    def _check_algorithm(self, config: dict[str, Any]) -> None:
        algorithm, key, opc = config["algorithmID"], config["key"], config["opc"]
        if algorithm == ALGORITHM_MILENAGE:
            service, valid = "milenage", len(key) == 16 and len(opc) == 16
        elif algorithm == ALGORITHM_TUAK:
            service = "tuak256" if len(key) == 32 else "tuak128"
            valid = len(key) in (16, 32) and len(opc) == 32
        elif algorithm == ALGORITHM_TEST:
            service, valid = "usim-test-algorithm", len(key) == 16
        else:
            raise ProfileError(f"algorithm {algorithm} not supported", STATUS_UNSUPPORTED_SERVICE)
        if service not in self._services:
            raise ProfileError(f"algorithm {service} not supported", STATUS_UNSUPPORTED_SERVICE)
        if not valid:
            raise _bad(f"{service} key of {len(key)} bytes or OPc of {len(opc)} bytes")

    def _cdma_parameter(self, identification: int, fields: dict[str, Any]) -> None:
        if not self._fs.seen(TAG_CSIM):
            raise _order("cdmaParameter before csim")
        if "cave" not in self._services:
            raise ProfileError("CAVE not supported", STATUS_UNSUPPORTED_SERVICE)
        others = {k: v for k, v in fields.items() if k not in ("header", "authenticationKey")}
        self.profile.cdma.append(CdmaParameters(identification, self._fs.context or MF_PATH,
                                                fields["authenticationKey"], others))

    def _security_domain(self, identification: int, fields: dict[str, Any]) -> None:
        if MF_PATH not in self.profile.files:
            raise _order("securityDomain before the file system")
        keys = tuple(_sd_key(item) for item in fields.get("keyList", []))
        self.profile.security_domains.append(SecurityDomain(
            identification, _instance(fields["instance"]), keys,
            tuple(fields.get("sdPersoData", [])),
        ))

    def _application(self, identification: int, fields: dict[str, Any]) -> None:
        if not self.profile.security_domains:
            raise _order("application before any securityDomain")
        block = fields.get("loadBlock")
        instances = tuple(_instance(item) for item in fields.get("instanceList", []))
        self.profile.applications.append(Application(
            identification, block["loadPackageAID"] if block else None,
            len(block["loadBlockObject"]) if block else 0, instances,
        ))

    def _rfm(self, identification: int, fields: dict[str, Any]) -> None:
        if not self.profile.security_domains:
            raise _order("rfm before any securityDomain")
        adf = fields.get("adfRFMAccess")
        self.profile.rfm.append(RfmInstance(
            identification, fields["instanceAID"], tuple(fields.get("tarList", [])),
            fields["minimumSecurityLevel"][0], adf["adfAID"] if adf else None,
        ))

    def _end(self, identification: int, fields: dict[str, Any]) -> None:
        self._end_identification = identification
        self.finished = True
        logger.info("profile %s installed, %d warnings", self.profile.iccid, len(self._warnings))


def _format(message: str) -> ProfileError:
    return ProfileError(message, Status.INVALID_REQUEST_FORMAT)


def _service_name(number: int) -> str:
    return SERVICE_NAMES[number] if number < len(SERVICE_NAMES) else f"service-{number}"


def _shared_directory(profile: InstalledProfile, file_path: bytes) -> str:
    path = path_of(file_path)
    entry = profile.files.get(path)
    if entry is None or not entry.directory:
        raise _bad(f"pinCodes filePath {path} is not a directory")
    return path


def _instance(fields: dict[str, Any]) -> ApplicationInstance:
    life_cycle = fields.get("lifeCycleState", bytes([DEFAULT_LIFE_CYCLE]))[0]
    return ApplicationInstance(
        fields["applicationLoadPackageAID"], fields["classAID"], fields["instanceAID"],
        fields["applicationPrivileges"], life_cycle, fields["applicationSpecificParametersC9"],
    )


def _sd_key(fields: dict[str, Any]) -> SdKey:
    components = tuple(
        (int.from_bytes(c["keyType"], "big"), c["keyData"]) for c in fields["keyComponents"]
    )
    return SdKey(
        int.from_bytes(fields["keyUsageQualifier"], "big"), fields["keyIdentifier"][0],
        fields["keyVersionNumber"][0], fields.get("keyAccess", b"\x00")[0], components,
    )
