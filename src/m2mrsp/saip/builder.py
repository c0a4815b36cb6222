"""The project's own SAIP profile: a small USIM/Milenage profile built PE by PE with DER.

PE sequence (PROTOCOL.md §8.5, "minimal sensible full profile"): ``header`` (v2.3, usim +
milenage mandatory) → ``mf`` (EF.ICCID, EF.DIR, EF.ARR) → ``pukCodes`` → ``pinCodes`` (MF) →
``usim`` (ADF.USIM with EF.IMSI, EF.ARR, EF.UST, EF.SPN, EF.EST, EF.ACC, EF.AD, EF.ECC) →
``pinCodes`` (ADF.USIM) → ``akaParameter`` (Milenage, K and OPc from the RandomSource) →
``genericFileManagement`` filler PEs (only to reach ``target_size``) → ``securityDomain``
(MNO-SD, an AES SCP80 key set from the RandomSource) → ``end``.

Size: by default the package grows to ``DEFAULT_PROFILE_SIZE`` (12 KiB, about the size of the
TS.48 profiles, which are 11768-12257 bytes) with filler transparent EFs under the MF, so that
download timings compare with TS.48. ``target_size`` picks another size; the result is the
largest size not above it that the filler can reach (at most a few dozen bytes short, usually
exact); a target below the bare profile gives the bare profile (``target_size=0``).

File contents are plausible values for a test card, not an operator's: the UST announces no
optional service, PINs and PUKs are fixed test values (``DEFAULT_*``). Every PE decodes with
the PEDefinitions v3.3.1 module (checked by the tests with asn1tools).
"""

from __future__ import annotations

from m2mrsp.rng import RandomSource
from m2mrsp.saip.pe import (
    ALGORITHM_MILENAGE,
    SERVICE_TAGS,
    TAG_AKA_PARAMETER,
    TAG_END,
    TAG_GENERIC_FILE_MANAGEMENT,
    TAG_HEADER,
    TAG_MF,
    TAG_PIN_CODES,
    TAG_PUK_CODES,
    TAG_SECURITY_DOMAIN,
    TAG_USIM,
    PEHeader,
    context_tag,
    encode_iccid,
    encode_oid,
    encode_uint,
    swap_nibbles,
)
from m2mrsp.tlv import encode_tlv

DEFAULT_ICCID = "89000123456789012341"  # the PROTOCOL.md §8.3 example
DEFAULT_IMSI = "001010123456789"  # test PLMN 001-01
DEFAULT_PROFILE_SIZE = 12 * 1024
PROFILE_VERSION = (2, 3)
PROFILE_TYPE = "m2mrsp default profile"
MANDATORY_SERVICES = ("usim", "milenage")
MF_TEMPLATE = "2.23.143.1.2.1"
USIM_TEMPLATE = "2.23.143.1.2.4"

USIM_AID = bytes.fromhex("A0000000871002FFFFFFFF8906190000")
USIM_TEMPORARY_FID = bytes.fromhex("7FD0")
MNO_SD_LOAD_PACKAGE_AID = bytes.fromhex("A0000001515350")
MNO_SD_CLASS_AID = bytes.fromhex("A000000151535041")
MNO_SD_INSTANCE_AID = bytes.fromhex("A000000151000000")  # PROTOCOL.md §1.4
MNO_SD_PRIVILEGES = bytes.fromhex("82DC00")
MNO_SD_LIFE_CYCLE = 0x0F
MNO_SD_INSTALL_PARAMETERS = bytes.fromhex("81028000")  # SCP80, i=00 (PROTOCOL.md §8.4)
MNO_SD_KVN = 0x01  # SCP80 key set (PROTOCOL.md §1.7)
KEY_TYPE_AES = 0x88
KEY_USAGES = ((0x01, 0x18), (0x02, 0x14), (0x03, 0x48))  # (key id, usage): KIc, KID, DEK
MILENAGE_OPTIONS = 0x00

DEFAULT_PIN1 = b"0000\xff\xff\xff\xff"
DEFAULT_PIN2 = b"0000\xff\xff\xff\xff"
DEFAULT_ADM1 = b"88888888"
DEFAULT_PUK1 = b"11111111"
DEFAULT_PUK2 = b"22222222"
PIN_ATTRIBUTES_PIN = 0x06
PIN_ATTRIBUTES_ADM = 0x03
ADM_ATTEMPTS = 0xAA
PIN1, PIN2, ADM1 = 0x01, 0x81, 0x0A

# TS 102 221 file descriptor bytes and Fcp tags (PEDefinitions "Fcp").
FD_TRANSPARENT = bytes.fromhex("4121")
FD_LINEAR_FIXED = 0x42
MF_PIN_STATUS = bytes.fromhex("900140830101830181")
ADF_PIN_STATUS = bytes.fromhex("900140830181830101")
RECORD_LENGTH = 0x20
ARR_RECORDS = (
    "8001019000800102A40683010A950108",  # 1: read always, update ADM1
    "8001039000",  # 2: read and update always
    "800101A406830101950108800102A40683010A950108",  # 3: read PIN1, update ADM1
)
FILLER_FIRST_FID = 0x2F50
FILLER_MAX_FILE = 0xFFFF


def build_default_profile(
    *,
    iccid: str = DEFAULT_ICCID,
    imsi: str = DEFAULT_IMSI,
    target_size: int | None = None,
    rng: RandomSource | None = None,
) -> bytes:
    """The default profile package (DER PEs back to back), see the module docstring.

    Args:
        iccid: 18 to 20 digits, written to the header and (nibble-swapped) to EF.ICCID.
        imsi: 6 to 15 digits, written to EF.IMSI.
        target_size: size to grow the package to; ``None`` means ``DEFAULT_PROFILE_SIZE``.
        rng: source of K, OPc, the MNO-SD keys and the filler; the OS's when ``None``.

    Raises:
        ProfileError: bad-values for an ICCID that is not 18-20 digits.
        ValueError: an IMSI that is not 6-15 digits.
    """
    source = rng if rng is not None else RandomSource()
    head = [
        _header(iccid),
        _mf(1, iccid),
        _puk_codes(2),
        _pin_codes(3, [_pin(PIN1, DEFAULT_PIN1, PIN1, PIN_ATTRIBUTES_PIN),
                       _pin(ADM1, DEFAULT_ADM1, None, PIN_ATTRIBUTES_ADM, ADM_ATTEMPTS)]),
        _usim(4, imsi),
        _pin_codes(5, [_pin(PIN2, DEFAULT_PIN2, PIN2, PIN_ATTRIBUTES_PIN)]),
        _aka_parameter(6, source.bytes(16), source.bytes(16)),
    ]
    identification = 7
    tail_size = len(_security_domain(0, bytes(16 * len(KEY_USAGES)))) + len(_end(0))
    budget = (DEFAULT_PROFILE_SIZE if target_size is None else target_size) - tail_size
    filler = _filler(budget - sum(map(len, head)), identification, source)
    identification += len(filler)
    tail = [
        _security_domain(identification, source.bytes(16 * len(KEY_USAGES))),
        _end(identification + 1),
    ]
    return b"".join(head + filler + tail)


def encode_imsi(imsi: str) -> bytes:
    """EF.IMSI content (TS 31.102 §4.2.2): length, parity nibble + digits, swapped BCD."""
    if not imsi.isdigit() or not 6 <= len(imsi) <= 15:
        raise ValueError(f"IMSI {imsi!r} is not 6 to 15 digits")
    nibbles = ("9" if len(imsi) % 2 else "1") + imsi
    nibbles += "F" * (len(nibbles) % 2)
    body = swap_nibbles(bytes.fromhex(nibbles))
    return bytes([len(body)]) + body


def _pe(tag: int, identification: int, *members: bytes) -> bytes:
    return encode_tlv(tag, PEHeader(True, identification).encode() + b"".join(members))


def _header(iccid: str) -> bytes:
    services = b"".join(encode_tlv(SERVICE_TAGS[name], b"") for name in MANDATORY_SERVICES)
    templates = b"".join(encode_tlv(0x06, encode_oid(oid)) for oid in (MF_TEMPLATE, USIM_TEMPLATE))
    return encode_tlv(TAG_HEADER, b"".join((
        encode_tlv(0x80, encode_uint(PROFILE_VERSION[0])),
        encode_tlv(0x81, encode_uint(PROFILE_VERSION[1])),
        encode_tlv(0x82, PROFILE_TYPE.encode()),
        encode_tlv(0x83, encode_iccid(iccid)),
        encode_tlv(0xA5, services),
        encode_tlv(0xA6, templates),
    )))


def _fcp(
    *,
    descriptor: bytes | None = None,
    fid: bytes | None = None,
    df_name: bytes | None = None,
    arr: bytes,
    size: int | None = None,
    pin_status: bytes | None = None,
) -> bytes:
    """An Fcp value, members in PEDefinitions order (82, 83, 84, 8B, 80, C6)."""
    members = (
        (0x82, descriptor), (0x83, fid), (0x84, df_name), (0x8B, arr),
        (0x80, None if size is None else size.to_bytes((size.bit_length() + 7) // 8, "big")),
        (0xC6, pin_status),
    )
    return b"".join(encode_tlv(tag, value) for tag, value in members if value is not None)


def _file(number: int, fcp: bytes, *contents: bytes) -> bytes:
    """A template ``File`` member ``[number]``: descriptor, then fillFileContent values."""
    body = encode_tlv(0xA1, fcp) + b"".join(encode_tlv(0x83, c) for c in contents)
    return encode_tlv(context_tag(number), body)


def _ef(number: int, fid: str, arr: bytes, content: bytes) -> bytes:
    fcp = _fcp(descriptor=FD_TRANSPARENT, fid=bytes.fromhex(fid), arr=arr, size=len(content))
    return _file(number, fcp, content)


def _records(number: int, fid: str, arr: bytes, records: list[bytes]) -> bytes:
    descriptor = bytes([FD_LINEAR_FIXED, 0x21]) + RECORD_LENGTH.to_bytes(2, "big")
    padded = [r.ljust(RECORD_LENGTH, b"\xff") for r in records]
    fcp = _fcp(descriptor=descriptor, fid=bytes.fromhex(fid), arr=arr, size=len(b"".join(padded)))
    return _file(number, fcp, b"".join(padded))


def _mf(identification: int, iccid: str) -> bytes:
    arr = bytes.fromhex("2F0601")
    dir_record = encode_tlv(0x61, encode_tlv(0x4F, USIM_AID) + encode_tlv(0x50, b"USIM"))
    return _pe(
        TAG_MF, identification,
        encode_tlv(0x81, encode_oid(MF_TEMPLATE)),
        _file(2, _fcp(arr=arr, pin_status=MF_PIN_STATUS)),
        _ef(4, "2FE2", arr, swap_nibbles(encode_iccid(iccid))),
        _records(5, "2F00", arr, [dir_record]),
        _records(6, "2F06", arr, [bytes.fromhex(r) for r in ARR_RECORDS]),
    )


def _usim(identification: int, imsi: str) -> bytes:
    arr_adm, arr_pin = bytes.fromhex("6F0601"), bytes.fromhex("6F0603")  # ARR records 1, 3
    access_class = (1 << int(imsi[-1])).to_bytes(2, "big")
    spn = (b"\x01" + b"m2mrsp").ljust(17, b"\xff")
    adf = _fcp(fid=USIM_TEMPORARY_FID, df_name=USIM_AID, arr=bytes.fromhex("2F0601"),
               pin_status=ADF_PIN_STATUS)
    emergency = [bytes.fromhex("11F2FF00"), bytes.fromhex("19F1FF00")]  # 112, 911
    return _pe(
        TAG_USIM, identification,
        encode_tlv(0x81, encode_oid(USIM_TEMPLATE)),
        _file(2, adf),
        _ef(3, "6F07", arr_pin, encode_imsi(imsi)),
        _records(4, "6F06", arr_adm, [bytes.fromhex(r) for r in ARR_RECORDS]),
        _ef(8, "6F38", arr_pin, bytes(8)),
        _ef(13, "6F46", arr_adm, spn),
        _ef(14, "6F56", arr_pin, b"\x00"),
        _ef(18, "6F78", arr_adm, access_class),
        _ef(21, "6FAD", arr_adm, bytes.fromhex("00000002")),
        _records(22, "6FB7", arr_adm, emergency),
    )


def _pin(reference: int, value: bytes, puk: int | None, attributes: int,
         attempts: int | None = None) -> bytes:
    """A PINConfiguration; DEFAULT values (attempts 0x33) are left out, as DER requires."""
    members = [encode_tlv(0x80, encode_uint(reference)), encode_tlv(0x81, value)]
    if puk is not None:
        members.append(encode_tlv(0x82, encode_uint(puk)))
    members.append(encode_tlv(0x83, encode_uint(attributes)))
    if attempts is not None:
        members.append(encode_tlv(0x84, encode_uint(attempts)))
    return encode_tlv(0x30, b"".join(members))


def _pin_codes(identification: int, pins: list[bytes]) -> bytes:
    return _pe(TAG_PIN_CODES, identification, encode_tlv(0xA1, encode_tlv(0xA0, b"".join(pins))))


def _puk_codes(identification: int) -> bytes:
    puks = b"".join(
        encode_tlv(0x30, encode_tlv(0x80, encode_uint(ref)) + encode_tlv(0x81, value))
        for ref, value in ((PIN1, DEFAULT_PUK1), (PIN2, DEFAULT_PUK2))
    )
    return _pe(TAG_PUK_CODES, identification, encode_tlv(0xA1, puks))


def _aka_parameter(identification: int, key: bytes, opc: bytes) -> bytes:
    algo = b"".join((
        encode_tlv(0x80, encode_uint(ALGORITHM_MILENAGE)),
        encode_tlv(0x81, bytes([MILENAGE_OPTIONS])),
        encode_tlv(0x82, key),
        encode_tlv(0x83, opc),
    ))
    return _pe(TAG_AKA_PARAMETER, identification, encode_tlv(0xA1, encode_tlv(0xA1, algo)))


def _security_domain(identification: int, key_material: bytes) -> bytes:
    instance = b"".join((
        encode_tlv(0x4F, MNO_SD_LOAD_PACKAGE_AID),
        encode_tlv(0x4F, MNO_SD_CLASS_AID),
        encode_tlv(0x4F, MNO_SD_INSTANCE_AID),
        encode_tlv(0x82, MNO_SD_PRIVILEGES),
        encode_tlv(0x83, bytes([MNO_SD_LIFE_CYCLE])),
        encode_tlv(0xC9, MNO_SD_INSTALL_PARAMETERS),
    ))
    keys = b""
    for index, (key_id, usage) in enumerate(KEY_USAGES):
        component = encode_tlv(0x80, bytes([KEY_TYPE_AES]))
        component += encode_tlv(0x86, key_material[16 * index : 16 * index + 16])
        keys += encode_tlv(0x30, b"".join((
            encode_tlv(0x95, bytes([usage])),
            encode_tlv(0x82, bytes([key_id])),
            encode_tlv(0x83, bytes([MNO_SD_KVN])),
            encode_tlv(0x30, encode_tlv(0x30, component)),
        )))
    return _pe(TAG_SECURITY_DOMAIN, identification, encode_tlv(0xA1, instance),
               encode_tlv(0xA2, keys))


def _end(identification: int) -> bytes:
    return _pe(TAG_END, identification)


def _filler_pe(identification: int, fid: int, content: bytes) -> bytes:
    """A genericFileManagement creating one transparent EF under the MF, filled."""
    fcp = _fcp(descriptor=FD_TRANSPARENT, fid=fid.to_bytes(2, "big"),
               arr=bytes.fromhex("2F0602"), size=max(len(content), 1))
    command = encode_tlv(0x80, b"") + encode_tlv(0x62, fcp) + encode_tlv(0x81, content)
    return _pe(TAG_GENERIC_FILE_MANAGEMENT, identification,
               encode_tlv(0xA1, encode_tlv(0x30, command)))


def _filler(budget: int, identification: int, rng: RandomSource) -> list[bytes]:
    """Filler PEs whose total size is as close to ``budget`` as possible without passing it."""
    pes: list[bytes] = []
    fid = FILLER_FIRST_FID
    while budget >= len(_filler_pe(identification, fid, b"\x00")):
        overhead = len(_filler_pe(identification, fid, b""))
        size = min(FILLER_MAX_FILE, budget - overhead)
        if size < budget - overhead <= size + overhead:
            size -= overhead  # leave room for one more filler PE rather than a short gap
        while len(_filler_pe(identification, fid, bytes(size))) > budget:
            size -= 1
        pe = _filler_pe(identification, fid, rng.bytes(size))
        pes.append(pe)
        budget -= len(pe)
        identification += 1
        fid += 1
    return pes
