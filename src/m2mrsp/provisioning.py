"""One complete SGP.02 provisioning: set-up, ISD-P creation, key establishment, download, enable.

:func:`provision` builds a test PKI, an eUICC, an SM-SR and an SM-DP, wires them together and
runs the phases in order, each under a timing span. The entities only exchange bytes over the
wire; this module only starts the phases and reads the outcome.

A :class:`Fleet` is one CI, EUM, SM-DP and SM-SR serving many eUICCs: :meth:`Fleet.add_device`
registers a card whose EID and ECASD key derive from the seed and the device index (the EUM
issues its certificate), :meth:`Fleet.provision` provisions it. The single run is a fleet of
one card. As it enters each phase the driver sets ``wire.phase``, so the network model
(``Options.bearer``) books every ES3/ES5 exchange under its phase.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NoReturn, TextIO

from m2mrsp import backend as backends
from m2mrsp import tlv
from m2mrsp.crypto import ecc
from m2mrsp.crypto.kdf import DEFAULT_KDF, kdf_by_name
from m2mrsp.entities.euicc import Euicc
from m2mrsp.entities.pki import Pki
from m2mrsp.entities.smdp import (
    DEFAULT_SEGMENT_SIZE,
    DEFAULT_SEGMENTS_PER_CALL,
    Credentials,
    DownloadReport,
    SmDp,
)
from m2mrsp.entities.smsr import DEFAULT_MAX_RETRIES, Eis, SmSr
from m2mrsp.errors import M2mRspError, ProvisioningError, ScpError
from m2mrsp.hotpath.types import MAX_SEGMENT_PLAINTEXT
from m2mrsp.keylog import KeyLog
from m2mrsp.protocol.keyest import OffCardKeyAgreement
from m2mrsp.protocol.scp03t import StaticKeys
from m2mrsp.rng import RandomSource
from m2mrsp.saip.pe import decode_iccid
from m2mrsp.timing import span
from m2mrsp.transport import BEARERS, ChannelFaults, FaultRates, network_model
from m2mrsp.wire import Wire

PHASES = ("entity set-up", "ISD-P creation", "key establishment", "profile download", "enabling")
HEADER_TAG = 0xA0
HEADER_ICCID_TAG = 0x83


@dataclass(frozen=True)
class Options:
    """How to run a provisioning (the CLI's options)."""

    curve: str = "p256"
    segment_size: int = DEFAULT_SEGMENT_SIZE
    segments_per_call: int = DEFAULT_SEGMENTS_PER_CALL
    seed: int | None = None
    kdf: str = DEFAULT_KDF
    backend: str | None = None
    enable: bool = True
    keep_messages: bool = True
    bearer: str = "none"
    faults: FaultRates = FaultRates()
    max_retries: int = DEFAULT_MAX_RETRIES

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first option out of range."""
        ecc.curve_by_name(self.curve)
        kdf_by_name(self.kdf)
        if self.bearer not in BEARERS:
            raise ValueError(f"unknown bearer {self.bearer!r}; choose one of {', '.join(BEARERS)}")
        if self.max_retries < 0:
            raise ValueError(f"max retries must be 0 or more, not {self.max_retries}")
        if not 1 <= self.segment_size <= MAX_SEGMENT_PLAINTEXT:
            raise ValueError(
                f"segment size must be 1..{MAX_SEGMENT_PLAINTEXT}, not {self.segment_size}"
            )
        if self.segments_per_call < 1:
            raise ValueError("segments per call must be at least 1")


@dataclass
class Result:
    """What one provisioning did; ``wire`` holds every message when they were kept."""

    eid: str
    iccid: str
    isdp_aid: bytes
    backend: str
    curve: str
    package_bytes: int
    input_pes: int
    installed_pes: int
    download: DownloadReport
    isdp_state: str
    eis_state: str
    wire: Wire = field(repr=False)
    network_s: dict[str, float] = field(default_factory=dict)


def profile_iccid(package: bytes) -> str:
    """The ICCID of a profile package's header PE (PROTOCOL.md §8.3).

    Raises:
        TlvError: the package does not start with a well-formed header PE holding ``83``.
    """
    header = next(tlv.iter_tlvs(package), None)
    if header is None:
        raise ProvisioningError("the profile package is empty")
    if header.tag != HEADER_TAG:
        raise ProvisioningError(
            f"the package starts with tag {header.tag:02X} at offset 0, not a header PE (A0)"
        )
    fields = tlv.decode_fields(header.value(package), header.value_offset)
    if HEADER_ICCID_TAG not in fields:
        raise ProvisioningError("the profile header has no ICCID")
    return decode_iccid(fields[HEADER_ICCID_TAG])


def count_elements(package: bytes) -> int:
    """How many top-level PEs the package holds."""
    return sum(1 for _ in tlv.iter_tlvs(package))


@dataclass
class World:
    """The entities of one provisioning and the wire between them."""

    pki: Pki
    euicc: Euicc
    smsr: SmSr
    smdp: SmDp
    wire: Wire

    @property
    def eid(self) -> bytes:
        return self.pki.eid_bytes


@dataclass
class Device:
    """One eUICC of a :class:`Fleet`: its PKI view (own ECASD and EID), the card, its faults."""

    index: int | None
    pki: Pki
    euicc: Euicc
    faults: ChannelFaults | None = None

    @property
    def eid(self) -> bytes:
        return self.pki.eid_bytes


def device_rng(seed: int | None, index: int) -> RandomSource:
    """The stream a fleet's device ``index`` draws its EID, keys and faults from."""
    return RandomSource(seed, f"fleet/device {index}")


class Fleet:
    """One CI, EUM, SM-DP and SM-SR that register and provision many eUICCs, one at a time."""

    def __init__(
        self, options: Options, key_log: KeyLog | None = None, pki: Pki | None = None
    ) -> None:
        """Build the PKI (unless given), the SM-SR and the SM-DP, and the wire between them."""
        self.options = options
        self._rng = RandomSource(options.seed, "provisioning")
        self.backend = backends.get(options.backend)
        self.wire = Wire(keep=options.keep_messages)
        self.pki = make_pki(options) if pki is None else pki
        self.smsr = SmSr(options.max_retries)
        credentials = Credentials(self.pki.sm_dp.private_key, self.pki.sm_dp.certificate_bytes,
                                  self.pki.ci.public_key)
        self.smdp = SmDp(
            credentials, self.wire.link("ES3", SmDp.name, self.smsr.name, self.smsr.handle_es3),
            self.wire, self.backend, self._rng.fork("sm-dp"), kdf=options.kdf,
            segment_size=options.segment_size, segments_per_call=options.segments_per_call,
            key_log=key_log,
        )

    def add_device(self, index: int | None = None) -> Device:
        """Register an eUICC with the SM-SR (ES1) and connect its ES5 channel.

        Args:
            index: ``None`` for the PKI's own card (the single run); a number for the fleet's
                card of that index, whose EID and ECASD key come from the seed and the index.
        """
        if index is None:
            rng, pki = self._rng, self.pki
        else:
            rng = device_rng(self.options.seed, index)
            pki = self.pki.for_device(rng.fork("pki"))
        euicc = Euicc(pki.make_ecasd(rng.fork("ecasd")), self.backend, rng.fork("euicc"),
                      kdf=self.options.kdf)
        rates = self.options.faults
        faults = ChannelFaults(rates, rng.fork("es5 faults")) if rates.active else None
        eis = Eis(pki.eid_bytes, pki.ecasd.certificate_bytes, pki.eum.certificate_bytes,
                  euicc.total_memory)
        link = self.wire.link("ES5", self.smsr.name, euicc.name, euicc.handle_es5, faults)
        self.smsr.register(eis, link)
        return Device(index, pki, euicc, faults)

    def world(self, device: Device) -> World:
        """The entities that provision ``device``, its network model on the wire."""
        self.wire.start(network_model(self.options.bearer, device.pki.eid))
        return World(device.pki, device.euicc, self.smsr, self.smdp, self.wire)

    def provision(self, device: Device, package: bytes, iccid: str | None = None) -> Result:
        """Provision ``package`` into ``device`` (and enable it unless the options say not).

        Raises:
            ProvisioningError: as :func:`provision`.
            M2mRspError: ``iccid`` not given and the package has no readable header.
        """
        iccid = profile_iccid(package) if iccid is None else iccid
        return run_phases(self.world(device), package, iccid, enable=self.options.enable)

    def remove(self, device: Device) -> None:
        """Forget ``device`` (the SM-SR drops its EIS and channel)."""
        self.smsr.deregister(device.eid)


def make_pki(options: Options) -> Pki:
    """The test PKI :func:`set_up` draws for ``options`` (every role on ``options.curve``)."""
    rng = RandomSource(options.seed, "provisioning")
    curve = ecc.curve_by_name(options.curve)
    with span("PKI"):
        return Pki.create(rng.fork("pki"), ci_curve=curve, eum_curve=curve, dp_curve=curve,
                          sr_curve=curve, ecasd_curve=curve)


def set_up(options: Options, key_log: KeyLog | None = None, pki: Pki | None = None) -> World:
    """Build the entities and wire them; ``pki`` reuses a PKI from :func:`make_pki`.

    A reused PKI gives the same bytes as a fresh one for the same options (the PKI draws from
    its own stream), so fault-injection runs can share one.
    """
    fleet = Fleet(options, key_log, pki)
    return fleet.world(fleet.add_device())


# The names the benchmark stages import.
_World = World
_set_up = set_up


def provision(package: bytes, options: Options, key_log: TextIO | None = None) -> Result:
    """Provision ``package`` into a fresh eUICC and, unless disabled, enable it.

    Raises:
        ValueError: bad options.
        ProvisioningError: a phase failed; after a failure once the ISD-P exists, the SM-DP's
            error management has had it deleted (§6.1).
        M2mRspError: the package is not a profile package (no header, malformed TLV).
    """
    options.validate()
    iccid = profile_iccid(package)
    with span("entity set-up"):
        world = set_up(options, KeyLog(key_log) if key_log is not None else None)
    return run_phases(world, package, iccid, enable=options.enable)


def run_phases(
    world: World,
    package: bytes,
    iccid: str,
    *,
    enable: bool = True,
    required_memory: int | None = None,
) -> Result:
    """Run the four protocol phases of ``world`` on ``package``, each under its span.

    Args:
        iccid: the ICCID the SM-DP announces (normally the package header's).
        required_memory: RequiredMemory of CreateISDP; ``None`` reserves ``len(package)``.

    Raises:
        ProvisioningError: as :func:`provision`.
    """
    eid, smdp, wire = world.eid, world.smdp, world.wire
    memory = len(package) if required_memory is None else required_memory
    wire.phase = PHASES[1]
    with span(PHASES[1]):
        aid, agreement = _create_isdp(smdp, eid, iccid, memory)
    wire.phase = PHASES[2]
    with span(PHASES[2]):
        keys = _establish_keys(smdp, eid, aid, agreement, iccid)
    wire.phase = PHASES[3]
    with span(PHASES[3]):
        report = _download(smdp, eid, aid, keys, package, iccid)
    isd_p = world.euicc.isd_ps[aid]
    if enable:
        wire.phase = PHASES[4]
        with span(PHASES[4]):
            smdp.enable(eid, iccid)
    profile = isd_p.profile
    record = world.smsr.eis(eid).by_iccid(iccid)
    return Result(
        eid=world.pki.eid,
        iccid=iccid,
        isdp_aid=aid,
        backend=world.euicc.backend.NAME,
        curve=world.pki.ecasd.curve.name,
        package_bytes=len(package),
        input_pes=count_elements(package),
        installed_pes=len(profile.elements) if profile is not None else 0,
        download=report,
        isdp_state=isd_p.state.name,
        eis_state=record.state if record is not None else "",
        wire=world.wire,
        network_s=world.wire.network_seconds(),
    )


def _create_isdp(
    smdp: SmDp, eid: bytes, iccid: str, memory: int
) -> tuple[bytes, OffCardKeyAgreement]:
    """GetEIS, the ECASD certificate check and CreateISDP; nothing to clean up on failure."""
    try:
        eis = smdp.get_eis(eid)
        agreement = smdp.prepare_key_agreement(eid, eis)
        return smdp.create_isdp(eid, iccid, memory), agreement
    except M2mRspError as err:
        raise ProvisioningError(f"ISD-P creation failed: {err}") from err


def _establish_keys(
    smdp: SmDp, eid: bytes, aid: bytes, agreement: OffCardKeyAgreement, iccid: str
) -> StaticKeys:
    """Key establishment; on failure (a refusal, a receipt mismatch) delete the ISD-P (§6.1)."""
    try:
        return smdp.establish_keys(eid, aid, agreement)
    except M2mRspError as err:
        _error_management(smdp, eid, iccid, "key establishment failed", err)


def _download(
    smdp: SmDp, eid: bytes, aid: bytes, keys: StaticKeys, package: bytes, iccid: str
) -> DownloadReport:
    """Download, then ProfileDownloadCompleted; on failure delete the ISD-P (§6.1)."""
    try:
        report = smdp.download(eid, aid, keys, package)
        smdp.download_completed(eid, iccid, None)
    except M2mRspError as err:
        kind = f" ({err.kind.name})" if isinstance(err, ScpError) else ""
        _error_management(smdp, eid, iccid, f"profile download failed{kind}", err)
    return report


def _error_management(
    smdp: SmDp, eid: bytes, iccid: str, what: str, err: M2mRspError
) -> NoReturn:
    """SGP.02 error management: have the SM-SR delete the ISD-P, then report ``err``.

    Raises:
        ProvisioningError: always; it also names a failed deletion.
    """
    try:
        smdp.delete_isdp(eid, iccid)
    except M2mRspError as cleanup:
        raise ProvisioningError(
            f"{what}: {err}; deleting the ISD-P failed too: {cleanup}"
        ) from err
    raise ProvisioningError(f"{what}: {err}") from err
