"""File-system PEs: the template table and how template and genericFileManagement PEs create
files in the installed profile (PROTOCOL.md §6.3, §8.4-8.5).

A template PE (``mf``, ``usim``, ``opt-usim`` ...) lists ``File`` members ``[2]..[n]``. Member
``[2]`` of a template with a directory is that DF/ADF; a later member whose descriptor shows a
DF (PIN status template, DF name, or a DF file descriptor byte) opens a sub-directory of it for
the members after it (DF.TELECOM's DF.GRAPHICS, DF.PHONEBOOK ...). Templates without a
directory (``opt-*``) add files to their parent's directory. The template contents themselves
(default files and sizes of TCA templates) are not modelled: only what the PE states is
created.

Errors are ProfileError without identification or offset (the interpreter adds them):
invalid-request-format (5) for ordering, bad-values (3) for contents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from m2mrsp.errors import ProfileError
from m2mrsp.saip.model import MF_PATH, FileEntry, InstalledProfile
from m2mrsp.saip.pe import (
    TAG_CD,
    TAG_CSIM,
    TAG_DF_5GPROSE,
    TAG_DF_5GS,
    TAG_DF_SAIP,
    TAG_DF_SNPN,
    TAG_EAP,
    TAG_GSM_ACCESS,
    TAG_IOT,
    TAG_ISIM,
    TAG_MF,
    TAG_OPT_CSIM,
    TAG_OPT_IOT,
    TAG_OPT_ISIM,
    TAG_OPT_USIM,
    TAG_PHONEBOOK,
    TAG_TELECOM,
    TAG_USIM,
    Status,
    oid_within,
    pe_name,
)
from m2mrsp.saip.schema import TemplateBody

TCA_TEMPLATE_ARC = "2.23.143.1.2"
_DIRECTORY_MEMBER = 2
_DF_DESCRIPTOR_BITS = 0x38  # TS 102 221 file descriptor byte: b6-b4 = 111 and b3-b1 = 000


@dataclass(frozen=True)
class TemplateSpec:
    """What the PPI knows of one template PE type (from PEDefinitions v3.3.1).

    Attributes:
        last: number of the last ``File`` member.
        mandatory: numbers of the members that are not OPTIONAL.
        directory: member ``[2]`` is the template's own DF/ADF.
        parent: tag of the PE that must precede it (``TAG_MF``: the MF must exist), ``None``
            for a file-system root (``mf``, ``iot``).
        template_arc: the templateID arc used by the TS.48 profiles, when known; a templateID
            must lie under it (version sub-arcs allowed).
    """

    last: int
    mandatory: frozenset[int]
    directory: bool
    parent: int | None
    template_arc: str | None

    @property
    def body(self) -> TemplateBody:
        return TemplateBody(self.last, self.mandatory)


def _spec(last: int, mandatory: set[int], directory: bool, parent: int | None,
          template: int | None = None) -> TemplateSpec:
    arc = f"{TCA_TEMPLATE_ARC}.{template}" if template is not None else None
    return TemplateSpec(last, frozenset(mandatory), directory, parent, arc)


TEMPLATES: dict[int, TemplateSpec] = {
    TAG_MF: _spec(7, {2, 4, 5, 6}, True, None, 1),
    TAG_CD: _spec(4, {2}, True, TAG_MF),
    TAG_TELECOM: _spec(47, {2}, True, TAG_MF, 3),
    TAG_USIM: _spec(25, {2, 3, 4, 8, 13, 14, 18, 22}, True, TAG_MF, 4),
    TAG_OPT_USIM: _spec(87, set(), False, TAG_USIM, 5),
    TAG_ISIM: _spec(8, {2, 3, 4, 5, 6, 8}, True, TAG_MF, 8),
    TAG_OPT_ISIM: _spec(15, set(), False, TAG_ISIM, 9),
    TAG_PHONEBOOK: _spec(19, {2}, True, TAG_USIM),
    TAG_GSM_ACCESS: _spec(6, {2}, True, TAG_USIM, 7),
    TAG_CSIM: _spec(36, set(range(2, 37)), True, TAG_MF, 10),
    TAG_OPT_CSIM: _spec(68, set(), False, TAG_CSIM, 11),
    TAG_EAP: _spec(9, {2, 4}, True, TAG_MF),
    TAG_DF_5GS: _spec(21, {2}, True, TAG_USIM, 13),
    TAG_DF_SAIP: _spec(3, {2}, True, TAG_USIM, 14),
    TAG_DF_SNPN: _spec(3, {2}, True, TAG_USIM),
    TAG_DF_5GPROSE: _spec(8, {2}, True, TAG_USIM),
    TAG_IOT: _spec(23, {9, 18}, False, None),
    TAG_OPT_IOT: _spec(27, set(), False, TAG_IOT),
}

NAA_NAMES = {TAG_USIM: "usim", TAG_ISIM: "isim", TAG_CSIM: "csim", TAG_IOT: "iot"}

# TS 102 221 FIDs of the MF template files, used when a descriptor does not repeat them.
_MF_FIDS = {2: "3F00", 3: "2F05", 4: "2FE2", 5: "2F00", 6: "2F06", 7: "2F08"}
DEFAULT_FIDS: dict[tuple[int, int], str] = {
    **{(TAG_MF, n): fid for n, fid in _MF_FIDS.items()},
    **{(TAG_IOT, n): fid for n, fid in _MF_FIDS.items()},
}


def _order(message: str) -> ProfileError:
    return ProfileError(message, Status.INVALID_REQUEST_FORMAT)


def _bad(message: str) -> ProfileError:
    return ProfileError(message, Status.BAD_VALUES)


def _is_directory(fcp: dict[str, Any]) -> bool:
    descriptor: bytes = fcp.get("fileDescriptor", b"")
    df_byte = bool(descriptor) and descriptor[0] & 0x3F == _DF_DESCRIPTOR_BITS
    return df_byte or "pinStatusTemplateDO" in fcp or "dfName" in fcp


class FileSystem:
    """Creates the files of template and genericFileManagement PEs in an InstalledProfile."""

    def __init__(self, profile: InstalledProfile, template_arcs: tuple[str, ...]) -> None:
        self._profile = profile
        self._template_arcs = template_arcs
        self._homes: dict[int, str] = {}  # template PE tag -> directory of its latest PE
        self.context: str | None = None  # directory pinCodes / akaParameter apply to

    def seen(self, tag: int) -> bool:
        """True once a template PE with this tag has been installed."""
        return tag in self._homes

    def check_order(self, tag: int) -> None:
        """The template's parent rule (§8.5).

        Raises:
            ProfileError: invalid-request-format when the parent is missing, or a second root.
        """
        parent = TEMPLATES[tag].parent
        if parent is None:
            if MF_PATH in self._profile.files or TAG_IOT in self._homes:
                raise _order(f"{pe_name(tag)} after the file system root was created")
        elif parent == TAG_MF:
            if MF_PATH not in self._profile.files:
                raise _order(f"{pe_name(tag)} before the MF")
        elif parent not in self._homes:
            raise _order(f"{pe_name(tag)} before {pe_name(parent)}")

    def install_template(self, tag: int, identification: int, body: dict[str, Any]) -> None:
        """Create the files of a decoded template PE (``TemplateBody`` output).

        Raises:
            ProfileError: template-not-supported for a foreign templateID, bad-values for a
                file created twice or filled wrongly.
        """
        spec = TEMPLATES[tag]
        self._check_template_id(spec, body["templateID"])
        base = MF_PATH if spec.parent in (None, TAG_MF) else self._homes[spec.parent]
        home: str | None = None
        current = base
        for number, items in body["files"]:
            fcp, fills, create = _split_file(items)
            fid = fcp["fileID"].hex().upper() if fcp and "fileID" in fcp else None
            name = fid or DEFAULT_FIDS.get((tag, number))
            name = name or f"{pe_name(tag)}#{identification}.{number}"
            opens_home = spec.directory and number == _DIRECTORY_MEMBER
            directory = opens_home or name == MF_PATH or (fcp is not None and _is_directory(fcp))
            if name == MF_PATH:
                path = MF_PATH
            elif directory:
                path = f"{home or base}/{name}"
            else:
                path = f"{current}/{name}"
            if create:
                self._fill(self._create(path, identification, directory, fcp), 0, fills)
            if directory:
                current = path
                home = path if opens_home else home
        self._finish_template(tag, home or (current if spec.parent is None else base))

    def _finish_template(self, tag: int, directory: str) -> None:
        self._homes[tag] = directory
        self.context = directory
        if tag in NAA_NAMES:
            self._profile.naa_directories.setdefault(NAA_NAMES[tag], []).append(directory)

    def _check_template_id(self, spec: TemplateSpec, template_id: str) -> None:
        own = spec.template_arc or TCA_TEMPLATE_ARC
        supported = any(oid_within(template_id, arc) for arc in self._template_arcs)
        if not oid_within(template_id, own) or not supported:
            raise ProfileError(
                f"templateID {template_id} not supported here", Status.TEMPLATE_NOT_SUPPORTED
            )

    def run_file_management(self, identification: int, commands: list[Any]) -> None:
        """Execute a genericFileManagement PE's commands (filePath, createFCP, fills).

        Raises:
            ProfileError: bad-values for a path that does not exist, a file without FID or
                created twice, a fill with no EF selected or past the file's end.
        """
        directory = MF_PATH
        target: FileEntry | None = None
        pointer = 0
        for command in commands:
            for name, value in command:
                if name == "filePath":
                    directory, target = self._select(value)
                    pointer = 0
                elif name == "createFCP":
                    target = self._create_in(directory, identification, value)
                    pointer = 0
                elif target is None or target.directory:
                    raise _bad(f"{name} with no EF selected")
                else:
                    pointer = self._fill(target, pointer, [(name, value)])

    def _select(self, file_path: bytes) -> tuple[str, FileEntry | None]:
        path = path_of(file_path)
        entry = self._profile.files.get(path)
        if path == MF_PATH and entry is None:
            return path, None  # a genericFileManagement may create the MF itself
        if entry is None:
            raise _bad(f"filePath {path} does not exist")
        if entry.directory:
            return path, None
        return path.rsplit("/", 1)[0], entry

    def _create_in(self, directory: str, identification: int, fcp: dict[str, Any]) -> FileEntry:
        if "fileID" not in fcp:
            raise _bad("createFCP without fileID")
        fid = fcp["fileID"].hex().upper()
        if fid == MF_PATH:
            return self._create(MF_PATH, identification, True, fcp)
        if directory not in self._profile.files:
            raise _order(f"file {fid} created before the MF")
        return self._create(f"{directory}/{fid}", identification, _is_directory(fcp), fcp)

    def _create(self, path: str, identification: int, directory: bool,
                fcp: dict[str, Any] | None) -> FileEntry:
        files = self._profile.files
        if path in files:
            raise _bad(f"file {path} created twice")
        size = fcp.get("efFileSize") if fcp else None
        info = fcp.get("proprietaryEFInfo", {}) if fcp else {}
        if "fillPattern" in info and "repeatPattern" in info:
            raise _bad(f"file {path} has both fillPattern and repeatPattern")
        if directory and size is not None:
            raise _bad(f"directory {path} with efFileSize")
        entry = FileEntry(path, identification, directory, fcp["raw"] if fcp else None, size)
        files[path] = entry
        return entry

    @staticmethod
    def _fill(entry: FileEntry, pointer: int, fills: list[tuple[str, Any]]) -> int:
        for name, value in fills:
            if entry.directory:
                raise _bad(f"{name} on directory {entry.path}")
            if name == "fillFileOffset":
                pointer += value
            else:
                entry.fills.append((pointer, value))
                pointer += len(value)
            if entry.size is not None and pointer > entry.size:
                raise _bad(f"fill up to {pointer} past the {entry.size} bytes of {entry.path}")
        return pointer


def path_of(file_path: bytes) -> str:
    """Model path of a SAIP ``filePath``, FIDs after the MF (``7FD06F07`` -> ``3F00/7FD0/6F07``).

    Raises:
        ProfileError: bad-values for an odd length.
    """
    if len(file_path) % 2:
        raise _bad(f"filePath {file_path.hex().upper()} of odd length")
    return MF_PATH + "".join(f"/{file_path[i:i + 2].hex().upper()}"
                             for i in range(0, len(file_path), 2))


def _split_file(items: list[tuple[str, Any]]) -> tuple[dict[str, Any] | None, list[Any], bool]:
    """(descriptor, fill commands, create?) of a ``File`` value."""
    names = [name for name, _ in items]
    if "doNotCreate" in names:
        if len(items) != 1:
            raise _bad("doNotCreate together with file content")
        return None, [], False
    if "fileDescriptor" in names[1:]:
        raise _order("fileDescriptor after fill commands or repeated")
    if names and names[0] == "fileDescriptor":
        return items[0][1], items[1:], True
    return None, items, True
