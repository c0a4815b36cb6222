"""Shared helpers of the tests/test_faults_*.py files (docs/FAULTS.md).

* :func:`assert_consistent` compares what the eUICC holds with the SM-SR's EIS;
* :func:`make_world` builds the entities on a PKI shared between runs of the same options;
* :class:`Es8Tap` numbers every ES8 message the SM-DP sends or receives and rewrites one;
* :func:`wrap_raw` protects a segment with any padding, written apart from the back-ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from m2mrsp import tlv
from m2mrsp.entities import smsr as smsr_module
from m2mrsp.entities.euicc import Euicc, LifeCycle
from m2mrsp.entities.pki import Pki
from m2mrsp.entities.smdp import SmDp
from m2mrsp.entities.smsr import SmSr
from m2mrsp.hotpath.types import Scp03tState
from m2mrsp.provisioning import Options, Result, World, make_pki, run_phases, set_up
from m2mrsp.rng import RandomSource
from m2mrsp.saip.builder import build_default_profile
from m2mrsp.saip.pe import TAG_HEADER

# How each card life cycle shows in the EIS (PROTOCOL.md §7.3).
EIS_STATE = {
    LifeCycle.SELECTABLE: smsr_module.CREATED,
    LifeCycle.PERSONALIZED: smsr_module.CREATED,
    LifeCycle.DISABLED: smsr_module.DISABLED,
    LifeCycle.ENABLED: smsr_module.ENABLED,
}
SMALL_ICCID = "89000123456789012341"
OTHER_ICCID = "89000123456789012358"


def assert_consistent(euicc: Euicc, smsr: SmSr, eid: bytes, *, settled: bool = True) -> None:
    """The card's ISD-Ps and life cycles are exactly the EIS records, in matching states.

    Args:
        settled: the run is over, so also require: no ISD-P left waiting for deletion after a
            failed download, no SCP03t session or key agreement open, the ECASD holding no
            pending challenge.
    """
    eis = smsr.eis(eid)
    card = {aid: isd_p.state for aid, isd_p in euicc.isd_ps.items()}
    records = {aid: record.state for aid, record in eis.profiles.items()}
    assert set(card) == set(records), f"card {card} but EIS {records}"
    for aid, state in card.items():
        assert records[aid] == EIS_STATE[state], f"{aid.hex()}: {state.name} vs {records[aid]}"
        assert eis.profiles[aid].required_memory == euicc.isd_ps[aid].reserved_memory
    assert sum(state is LifeCycle.ENABLED for state in card.values()) <= 1
    for isd_p in euicc.isd_ps.values():
        if isd_p.state is LifeCycle.SELECTABLE:
            assert isd_p.keys is None and isd_p.session is None and isd_p.profile is None
        if isd_p.state in (LifeCycle.DISABLED, LifeCycle.ENABLED):
            assert isd_p.profile is not None and isd_p.installer is None
            assert not isd_p.download_failed
        if isd_p.download_failed:
            assert isd_p.profile is None and isd_p.installer is None and not isd_p.session_open
        if settled:
            assert not isd_p.download_failed, "a failed ISD-P was not deleted"
            assert not isd_p.session_open, "SCP03t session keys still held"
            assert isd_p.key_agreement is None or isd_p.state is LifeCycle.SELECTABLE
    if settled:
        assert not euicc.ecasd.pending


def small_profile(iccid: str = SMALL_ICCID, target_size: int = 0) -> bytes:
    """The default profile without filler (about 1.1 KB), seeded."""
    return build_default_profile(iccid=iccid, target_size=target_size, rng=RandomSource(1))


_PKIS: dict[tuple[int | None, str], Pki] = {}


def make_world(backend: Any, seed: int = 5, **options: Any) -> World:
    """Entities for ``backend`` on a PKI cached per (seed, curve)."""
    opts = Options(backend=backend.NAME, seed=seed, **options)
    key = (opts.seed, opts.curve)
    if key not in _PKIS:
        _PKIS[key] = make_pki(opts)
    return set_up(opts, pki=_PKIS[key])


def run(world: World, package: bytes, iccid: str = SMALL_ICCID, **kwargs: Any) -> Result:
    """:func:`run_phases` with the small profile's ICCID by default."""
    return run_phases(world, package, iccid, **kwargs)


@dataclass
class Es8Tap:
    """Numbers the SM-DP's ES8 messages (sent, then answers) and rewrites number ``target``.

    Attributes:
        messages: ``(direction, bytes as seen before rewriting)`` in order; direction is
            ``"out"`` (SM-DP to card) or ``"in"``.
        rewrite: applied to message ``target``; may also rewrite a whole batch via
            ``batch_rewrite`` (the outgoing items of one SendData, before numbering).
    """

    target: int | None = None
    rewrite: Callable[[bytes], bytes] = lambda data: data
    batch_rewrite: Callable[[list[bytes]], list[bytes]] | None = None
    messages: list[tuple[str, bytes]] = field(default_factory=list)
    hit: bool = False

    def attach(self, smdp: SmDp) -> None:
        original = smdp._send_es8

        def tapped(eid: bytes, items: list[bytes], sd_aid: bytes | None) -> list[bytes]:
            sent = [self._visit("out", item) for item in items]
            if self.batch_rewrite is not None:
                sent = self.batch_rewrite(sent)
            return [self._visit("in", answer) for answer in original(eid, sent, sd_aid)]

        smdp._send_es8 = tapped  # type: ignore[method-assign]

    def _visit(self, direction: str, data: bytes) -> bytes:
        index = len(self.messages)
        self.messages.append((direction, data))
        if index == self.target:
            self.hit = True
            return self.rewrite(data)
        return data


def flip(data: bytes, bit: int) -> bytes:
    """``data`` with bit ``bit`` (0 = most significant bit of the first byte) inverted."""
    out = bytearray(data)
    out[bit // 8] ^= 0x80 >> (bit % 8)
    return bytes(out)


def segments_of(items: list[bytes]) -> list[int]:
    """Indexes of the ``86`` TLVs in a batch of ES8 items."""
    return [i for i, item in enumerate(items) if item[:1] == b"\x86"]


def with_header_field(package: bytes, tag: int, value: bytes, before: int) -> bytes:
    """``package`` whose header PE gets ``tag``/``value`` inserted before the field ``before``
    (or replacing a field of the same tag)."""
    header = next(tlv.iter_tlvs(package))
    assert header.tag == TAG_HEADER
    body = header.value(package)
    fields = [(item.tag, item.value(body)) for item in tlv.iter_tlvs(body)]
    fields = [f for f in fields if f[0] != tag]
    index = next(i for i, (t, _) in enumerate(fields) if t == before)
    fields.insert(index, (tag, value))
    new_body = b"".join(tlv.encode_tlv(t, v) for t, v in fields)
    return tlv.encode_tlv(TAG_HEADER, new_body) + package[header.end :]


def with_pol1(package: bytes, pol1: int) -> bytes:
    """The package whose header carries ``pol 84 01 <pol1>`` (PROTOCOL.md §7.5, [D] coding)."""
    return with_header_field(package, 0x84, bytes((pol1,)), 0xA5)


def pes_of(package: bytes) -> list[bytes]:
    return [package[item.offset : item.end] for item in tlv.iter_tlvs(package)]


def wrap_raw(
    s_enc: bytes, s_mac: bytes, state: Scp03tState, padded: bytes, tag: int = 0x86
) -> tuple[bytes, Scp03tState]:
    """A command TLV over ``padded`` exactly as given (no padding added), PROTOCOL.md §5.6-5.7.

    Written on ``cryptography`` apart from both back-ends, to forge segments a correct
    SM-DP would never send (bad padding with a valid MAC).
    """
    counter = state.counter + 1
    ecb = Cipher(algorithms.AES(s_enc), modes.ECB()).encryptor()
    icv = ecb.update(counter.to_bytes(16, "big")) + ecb.finalize()
    cbc = Cipher(algorithms.AES(s_enc), modes.CBC(icv)).encryptor()
    cipher_text = cbc.update(padded) + cbc.finalize()
    header = tlv.tag_bytes(tag) + tlv.encode_length(len(cipher_text) + 8)
    mac = cmac.CMAC(algorithms.AES(s_mac))
    mac.update(state.mcv + header + cipher_text)
    full = mac.finalize()
    return header + cipher_text + full[:8], Scp03tState(full, counter)
