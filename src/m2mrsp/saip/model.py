"""The profile as the simulated ISD-P holds it once the PPI has installed it (PROTOCOL.md §8).

File contents, descriptors and application parameters stay opaque bytes: the simulation walks
and validates every TLV but does not run a UICC file system. Secrets (K, OPc, PINs, PUKs, SD
keys) are kept out of ``repr`` so that logging a profile never prints them.

Paths are FIDs in hex joined by ``/`` from ``3F00``; an ADF sits under ``3F00`` by its
temporary file ID, as SAIP ``filePath`` addresses it (``3F00/7FD0/6F07``). A template file
with no FID in its descriptor and no default known here is named ``<pe>#<id>.<member>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from m2mrsp.hotpath.types import TlvTable
from m2mrsp.tlv import encode_tlv

MF_PATH = "3F00"
EF_IMSI = "6F07"
GAP_FILL = 0xFF  # bytes no fill command wrote; a real card would apply the fill pattern


@dataclass(frozen=True, slots=True)
class InstalledElement:
    """One installed PE: where it was in the package and its DER, with its walked TLV table."""

    tag: int
    name: str
    identification: int | None
    mandated: bool
    offset: int
    raw: bytes = field(repr=False)
    table: TlvTable = field(repr=False, compare=False)

    def encode(self) -> bytes:
        """Re-encode the PE from its TLV table (tags, minimal lengths, primitive values)."""
        parents = self.table["parent"].tolist()
        children: list[list[int]] = [[] for _ in parents]
        for row, parent in enumerate(parents[1:], start=1):
            children[parent].append(row)
        return _encode_row(self.raw, self.table, children, 0)


def _encode_row(raw: bytes, table: TlvTable, children: list[list[int]], row: int) -> bytes:
    tag = int(table["tag"][row])
    if raw[int(table["header_offset"][row])] & 0x20:
        body = b"".join(_encode_row(raw, table, children, kid) for kid in children[row])
    else:
        start = int(table["value_offset"][row])
        body = raw[start : start + int(table["length"][row])]
    return encode_tlv(tag, body)


@dataclass(slots=True)
class FileEntry:
    """A file or directory created by a template PE or a genericFileManagement.

    Attributes:
        path: see the module docstring.
        identification: the PE that created it.
        directory: DF or ADF (its descriptor has a PIN status template or a DF name).
        descriptor: the raw ``Fcp`` value (``A1`` / ``62`` content), ``None`` for a template
            default.
        size: ``efFileSize`` when the descriptor gives it.
        fills: ``(offset, bytes)`` written by fillFileOffset / fillFileContent, in order.
    """

    path: str
    identification: int
    directory: bool
    descriptor: bytes | None
    size: int | None
    fills: list[tuple[int, bytes]] = field(default_factory=list, repr=False)

    def content(self) -> bytes:
        """The written bytes placed at their offsets, gaps as ``FF``, up to the last one."""
        extent = max((offset + len(data) for offset, data in self.fills), default=0)
        out = bytearray([GAP_FILL]) * extent
        for offset, data in self.fills:
            out[offset : offset + len(data)] = data
        return bytes(out)


@dataclass(frozen=True, slots=True)
class Pin:
    """A PIN or ADM key defined by pinCodes in the directory ``context``."""

    context: str
    key_reference: int
    value: bytes = field(repr=False)
    unblocking_reference: int | None
    attributes: int
    max_attempts: int
    retries_left: int


@dataclass(frozen=True, slots=True)
class Puk:
    """A PUK defined by pukCodes."""

    key_reference: int
    value: bytes = field(repr=False)
    max_attempts: int
    retries_left: int


@dataclass(frozen=True, slots=True)
class AkaParameters:
    """NAA authentication parameters (akaParameter) for the NAA directory ``context``.

    ``algorithm`` is 1 Milenage, 2 TUAK, 3 USIM test algorithm, or ``None`` when the PE maps
    the parameters of another NAA (``mapping_source`` is then that NAA's AID).
    """

    identification: int
    context: str
    algorithm: int | None
    algorithm_options: bytes
    key: bytes = field(repr=False)
    opc: bytes = field(repr=False)
    mapping_source: bytes | None = None
    sqn_options: bytes | None = None


@dataclass(frozen=True, slots=True)
class CdmaParameters:
    """CSIM/CAVE parameters (cdmaParameter); only the A-key is kept apart, the rest raw."""

    identification: int
    context: str
    authentication_key: bytes = field(repr=False)
    others: dict[str, bytes] = field(repr=False, default_factory=dict)


@dataclass(frozen=True, slots=True)
class ApplicationInstance:
    """A GlobalPlatform application instance (SD instance or application instance)."""

    load_package_aid: bytes
    class_aid: bytes
    instance_aid: bytes
    privileges: bytes
    life_cycle_state: int
    install_parameters: bytes  # the C9 value, opaque


@dataclass(frozen=True, slots=True)
class SdKey:
    """One key of a security domain key list (usage, id, version, components)."""

    usage: int
    key_id: int
    version: int
    access: int
    components: tuple[tuple[int, bytes], ...] = field(repr=False)  # (key type, key data)


@dataclass(frozen=True, slots=True)
class SecurityDomain:
    """A securityDomain PE (the MNO-SD and any supplementary SD)."""

    identification: int
    instance: ApplicationInstance
    keys: tuple[SdKey, ...]
    perso_data: tuple[bytes, ...] = field(repr=False)


@dataclass(frozen=True, slots=True)
class Application:
    """An application PE: an optional load block (size only) and its instances."""

    identification: int
    load_package_aid: bytes | None
    load_block_size: int
    instances: tuple[ApplicationInstance, ...]


@dataclass(frozen=True, slots=True)
class RfmInstance:
    """An rfm PE: a Remote File Management instance, its TARs and access domains."""

    identification: int
    instance_aid: bytes
    tars: tuple[bytes, ...]
    minimum_security_level: int
    adf_aid: bytes | None


@dataclass(slots=True)
class InstalledProfile:
    """Everything the PPI installed, in package order where order matters."""

    iccid: str = ""
    major_version: int = 0
    minor_version: int = 0
    profile_type: str | None = None
    pol1: int = 0
    mandatory_services: frozenset[str] = frozenset()
    mandatory_templates: tuple[str, ...] = ()
    elements: list[InstalledElement] = field(default_factory=list)
    files: dict[str, FileEntry] = field(default_factory=dict)
    naa_directories: dict[str, list[str]] = field(default_factory=dict)
    pins: dict[tuple[str, int], Pin] = field(default_factory=dict)
    pin_links: dict[str, str] = field(default_factory=dict)
    puks: dict[int, Puk] = field(default_factory=dict)
    aka: list[AkaParameters] = field(default_factory=list)
    cdma: list[CdmaParameters] = field(default_factory=list)
    security_domains: list[SecurityDomain] = field(default_factory=list)
    applications: list[Application] = field(default_factory=list)
    rfm: list[RfmInstance] = field(default_factory=list)
    unknown: list[InstalledElement] = field(default_factory=list)

    def encode(self) -> bytes:
        """The package again: every installed PE re-encoded from its TLV table, in order."""
        return b"".join(element.encode() for element in self.elements)

    def element(self, identification: int) -> InstalledElement:
        """The installed PE with this identification.

        Raises:
            LookupError: no such PE.
        """
        for element in self.elements:
            if element.identification == identification:
                return element
        raise LookupError(f"no PE with identification {identification}")

    def imsi(self) -> str | None:
        """The IMSI in EF.IMSI of the first USIM (TS 31.102 coding), if written."""
        usims = self.naa_directories.get("usim", [])
        entry = self.files.get(f"{usims[0]}/{EF_IMSI}") if usims else None
        content = entry.content() if entry else b""
        if len(content) < 2 or not 1 <= content[0] <= len(content) - 1:
            return None
        digits = "".join(f"{b & 0x0F:X}{b >> 4:X}" for b in content[1 : 1 + content[0]])
        digits = digits[1:].rstrip("F")  # first nibble is the parity indicator
        return digits if digits.isdigit() else None
