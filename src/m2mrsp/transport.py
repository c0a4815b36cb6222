"""Modelled network time of ES3 and ES5, computed from the real bytes of each message.

Nothing here waits: every figure is arithmetic on message sizes and bearer parameters, added to
a virtual clock. Each exchange (a request and its answer) is priced by the model of its
interface:

* **ES3** (SM-DP <-> SM-SR, SOAP over HTTPS in SGP.02): one round trip plus both messages at the
  link's bandwidth, each with a fixed HTTP/SOAP envelope (our ES3 bodies are JSON, smaller
  than the XML they stand for).
* **ES5 over SMS** (SCP80, ETSI TS 102 225, PROTOCOL.md §2.3): the script becomes a secured
  command packet (header, AES padding, 8-byte cryptographic checksum) cut into concatenated SMS of
  140 bytes of user data; the answer comes back as a proof-of-receipt packet in MO SMS. Each
  direction costs one delivery delay plus a gap for every further SMS of the same packet.
* **ES5 over HTTPS** (SCP81: PSK-TLS + GP Amd B RAM over HTTP, PROTOCOL.md §2.4): opening an admin
  session costs an SMS push plus the TCP and PSK-TLS handshakes; each script then costs one
  HTTP round trip, its bytes being the real script plus the real HTTP headers and the TLS record
  overhead of AES-128-CBC with HMAC-SHA256. A session opens on the first ES5 exchange and again
  after every SMS push (the card re-attaches after a REFRESH); it is not closed in between.

The default parameters are stated in each dataclass; they describe a plausible cellular IoT
link, not a measured one, and every one can be overridden. ``timeout_s`` is how long a sender
waits for an answer before it gives an exchange up for lost (and may retry it).

:class:`ChannelFaults` loses or corrupts ES5 packets at seeded rates (fault scenarios at scale).
A corrupted packet is caught by a real integrity check: the packet sealed with an 8-byte
AES-CMAC (what SCP80's cryptographic checksum or a TLS record MAC does), one bit of the sealed
bytes flipped, the CMAC checked again at the receiving end. Intact packets are not sealed,
since their check could only pass (the SMS model's sizes count the checksum all the same).
"""

from __future__ import annotations

import hmac
import math
import random
from dataclasses import dataclass, field
from typing import Final, Protocol

from m2mrsp.crypto.cmac import CmacKey
from m2mrsp.protocol import es5
from m2mrsp.rng import RandomSource

AES_BLOCK = 16


def _pad_to_block(length: int) -> int:
    """AES-CBC cipher text length of ``length`` bytes with mandatory padding."""
    return (length // AES_BLOCK + 1) * AES_BLOCK


@dataclass(frozen=True)
class Exchange:
    """The modelled cost of one request and its answer."""

    seconds: float
    request_bytes: int
    response_bytes: int
    messages: int


class InterfaceModel(Protocol):
    def exchange(self, request: bytes, response: bytes) -> Exchange: ...

    def time_out(self) -> float:
        """Record that an exchange got no answer; the seconds the sender waited."""
        ...


@dataclass(frozen=True)
class Es3Model:
    """SOAP over HTTPS between SM-DP and SM-SR (a data-centre link)."""

    rtt_s: float = 0.020
    bandwidth_bps: float = 100e6
    envelope_bytes: int = 800
    timeout_s: float = 30.0

    def time_out(self) -> float:
        """A call got no answer: the caller waited ``timeout_s`` and gave it up."""
        return self.timeout_s

    def exchange(self, request: bytes, response: bytes) -> Exchange:
        up = len(request) + self.envelope_bytes
        down = len(response) + self.envelope_bytes
        seconds = self.rtt_s + 8 * (up + down) / self.bandwidth_bps
        return Exchange(seconds, up, down, 2)


# ETSI TS 102 225 command packet: CPL(2) CHL(1) SPI(2) KIc(1) KID(1) TAR(3), then the ciphered
# part CNTR(5) PCNTR(1) CC(8) data. The answer: RPL(2) RHL(1) TAR(3), ciphered CNTR(5) PCNTR(1)
# status(1) CC(8) data.
SCP80_COMMAND_CLEAR = 2 + 1 + 2 + 1 + 1 + 3
SCP80_COMMAND_CIPHERED = 5 + 1 + 8
SCP80_RESPONSE_CLEAR = 2 + 1 + 3
SCP80_RESPONSE_CIPHERED = 5 + 1 + 1 + 8
SMS_USER_DATA = 140
# UDH length byte + packet IEI (70 or 71) with its empty IEDL; concatenation IE (00 03 ref n i).
UDH_PACKET = 1 + 2
UDH_CONCATENATION = 5


def sms_count(packet_bytes: int) -> int:
    """How many SMS one SCP80 packet needs (the packet IEI only in the first one)."""
    if packet_bytes + UDH_PACKET <= SMS_USER_DATA:
        return 1
    first = SMS_USER_DATA - UDH_PACKET - UDH_CONCATENATION
    later = SMS_USER_DATA - 1 - UDH_CONCATENATION
    return 1 + math.ceil((packet_bytes - first) / later)


def scp80_command_bytes(script: bytes) -> int:
    """Size of the secured command packet carrying ``script`` (AES ciphering, 8-byte CC)."""
    return SCP80_COMMAND_CLEAR + _pad_to_block(SCP80_COMMAND_CIPHERED + len(script))


def scp80_response_bytes(script: bytes) -> int:
    """Size of the proof-of-receipt packet carrying ``script``."""
    return SCP80_RESPONSE_CLEAR + _pad_to_block(SCP80_RESPONSE_CIPHERED + len(script))


@dataclass(frozen=True)
class SmsBearer:
    """ES5 over SMS (SCP80)."""

    name: str = "sms"
    mt_delay_s: float = 2.0
    mo_delay_s: float = 2.0
    next_sms_s: float = 0.3
    # How long the SM-SR waits for the proof of receipt before it sends the packet again.
    timeout_s: float = 30.0
    # The largest segment whose one-segment script still fits a single SMS: 79 plaintext bytes
    # pad to 80, the 86 TLV is 90 bytes, the script 92, the packet 10 + 112 = 122 (+3 UDH).
    default_segment_size: int = 79
    segments_per_call: int = 1

    def time_out(self) -> float:
        """A packet got no proof of receipt: the SM-SR waited ``timeout_s``."""
        return self.timeout_s

    def exchange(self, request: bytes, response: bytes) -> Exchange:
        _, script = es5.parse_frame(request)
        down = sms_count(scp80_command_bytes(script))
        up = sms_count(scp80_response_bytes(response))
        seconds = self.mt_delay_s + self.mo_delay_s + self.next_sms_s * (down - 1 + up - 1)
        return Exchange(seconds, down * SMS_USER_DATA, up * SMS_USER_DATA, down + up)


# TLS 1.2 record with AES-128-CBC-SHA256: header(5), explicit IV(16), MAC(32), padding.
TLS_RECORD_HEADER = 5
TLS_EXPLICIT_IV = 16
TLS_MAC = 32
TLS_MAX_RECORD = 16384
ADMIN_PROTOCOL = "globalplatform-remote-admin/1.0"


def tls_bytes(payload: int) -> int:
    """Bytes on the wire for ``payload`` bytes of application data."""
    records = max(1, math.ceil(payload / TLS_MAX_RECORD))
    total = 0
    for index in range(records):
        size = min(TLS_MAX_RECORD, payload - index * TLS_MAX_RECORD)
        total += TLS_RECORD_HEADER + TLS_EXPLICIT_IV + _pad_to_block(size + TLS_MAC)
    return total


def http_post_headers(eid: str, body_bytes: int) -> bytes:
    """The card's POST (GP Amd B), carrying the previous response script."""
    return (
        "POST /m2mrsp/ram HTTP/1.1\r\nHost: sm-sr\r\n"
        f"X-Admin-Protocol: {ADMIN_PROTOCOL}\r\n"
        f"X-Admin-From: //se-id/eid/{eid};//aa-id/aid/A000000559/1010FFFFFFFF8900000100\r\n"
        "Content-Type: application/vnd.globalplatform.card-content-mgt-response;version=1.0\r\n"
        f"X-Admin-Script-Status: ok\r\nContent-Length: {body_bytes}\r\n\r\n"
    ).encode()


def http_reply_headers(target_aid: bytes, body_bytes: int) -> bytes:
    """The SM-SR's 200 carrying the next command script."""
    aid = target_aid.hex().upper()
    return (
        f"HTTP/1.1 200 OK\r\nX-Admin-Protocol: {ADMIN_PROTOCOL}\r\n"
        "Content-Type: application/vnd.globalplatform.card-content-mgt;version=1.0\r\n"
        "X-Admin-Next-URI: /m2mrsp/ram\r\n"
        f"X-Admin-Targeted-Application: //aid/{aid[:10]}/{aid[10:]}\r\n"
        f"Content-Length: {body_bytes}\r\n\r\n"
    ).encode()


@dataclass
class HttpsBearer:
    """ES5 over HTTPS (SCP81); keeps whether an admin session is open."""

    name: str = "https"
    rtt_s: float = 0.2
    uplink_bps: float = 1e6
    downlink_bps: float = 2e6
    push_delay_s: float = 2.0
    handshake_rtts: int = 3
    timeout_s: float = 10.0
    default_segment_size: int = 1007
    eid: str = "0" * 32
    _open: bool = field(default=False, repr=False)

    def session_setup_s(self) -> float:
        """SMS push, TCP handshake (1 RTT) and PSK-TLS 1.2 handshake (2 RTT)."""
        return self.push_delay_s + self.handshake_rtts * self.rtt_s

    def time_out(self) -> float:
        """The card's POST never came: the SM-SR waited ``timeout_s``.

        The admin session is given up, so the next exchange opens a new one.
        """
        self._open = False
        return self.timeout_s

    def exchange(self, request: bytes, response: bytes) -> Exchange:
        target, script = es5.parse_frame(request)
        setup = 0.0
        if script == es5.PUSH or not self._open:
            setup, self._open = self.session_setup_s(), True
        down = tls_bytes(len(http_reply_headers(target, len(script))) + len(script))
        up = tls_bytes(len(http_post_headers(self.eid, len(response))) + len(response))
        seconds = setup + self.rtt_s + 8 * up / self.uplink_bps + 8 * down / self.downlink_bps
        return Exchange(seconds, down, up, 2)


@dataclass
class NetworkModel:
    """Prices the exchanges of one provisioning and books them per phase on a virtual clock."""

    es3: Es3Model
    es5: SmsBearer | HttpsBearer
    seconds_by_phase: dict[str, float] = field(default_factory=dict)
    clock_s: float = 0.0

    def _model(self, interface: str) -> InterfaceModel | None:
        return {"ES3": self.es3, "ES5": self.es5}.get(interface)

    def _advance(self, phase: str, seconds: float) -> float:
        self.clock_s += seconds
        self.seconds_by_phase[phase] = self.seconds_by_phase.get(phase, 0.0) + seconds
        return seconds

    def book(self, phase: str, interface: str, request: bytes, response: bytes) -> float:
        """Price one exchange, advance the clock and add it to ``phase``; returns seconds."""
        model = self._model(interface)
        if model is None:
            return 0.0
        return self._advance(phase, model.exchange(request, response).seconds)

    def book_timeout(self, phase: str, interface: str) -> float:
        """Add the sender's timeout of an exchange that got no answer; returns seconds."""
        model = self._model(interface)
        if model is None:
            return 0.0
        return self._advance(phase, model.time_out())

    @property
    def total_s(self) -> float:
        return sum(self.seconds_by_phase.values())


BEARERS = ("none", "sms", "https")
DEFAULT_SEGMENT_SIZE: Final = 1007


def default_segment_size(bearer: str) -> int:
    """Plaintext bytes per SCP03t segment when none is asked for: one SMS for ``sms``."""
    return SmsBearer.default_segment_size if bearer == "sms" else DEFAULT_SEGMENT_SIZE


def default_segments_per_call(bearer: str, otherwise: int) -> int:
    """Segments per ES3 SendData when none is asked for: one SMS per call for ``sms``."""
    return SmsBearer.segments_per_call if bearer == "sms" else otherwise


def network_model(bearer: str, eid: str = "0" * 32) -> NetworkModel | None:
    """The default model for a bearer name (``none``: no network time)."""
    if bearer == "none":
        return None
    if bearer == "sms":
        return NetworkModel(Es3Model(), SmsBearer())
    if bearer == "https":
        return NetworkModel(Es3Model(), HttpsBearer(eid=eid))
    raise ValueError(f"unknown bearer {bearer!r}; choose one of {', '.join(BEARERS)}")



# -- faults ----------------------------------------------------------------------------------------

LOST: Final = "lost"
CORRUPTED: Final = "corrupted"
INTEGRITY_MAC_BYTES: Final = 8  # SCP80's AES cryptographic checksum (TS 102 225): 8 bytes


@dataclass(frozen=True)
class FaultRates:
    """Probabilities that one packet is lost, or else arrives corrupted."""

    loss: float = 0.0
    corruption: float = 0.0

    def __post_init__(self) -> None:
        for name, value in (("loss", self.loss), ("corruption", self.corruption)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} rate must be in 0..1, not {value}")
        if self.loss + self.corruption > 1.0:
            raise ValueError("loss and corruption rates add up to more than 1")

    @property
    def active(self) -> bool:
        return self.loss > 0.0 or self.corruption > 0.0


class ChannelFaults:
    """Seeded loss and corruption of the packets of one channel (both directions).

    Attributes:
        lost, corrupted: how many packets each fault took.
    """

    def __init__(self, rates: FaultRates, rng: RandomSource) -> None:
        self.rates = rates
        self._draw = random.Random(int.from_bytes(rng.fork("draws").bytes(16), "big"))
        self._integrity = CmacKey(rng.fork("integrity key").bytes(16))
        self.lost = 0
        self.corrupted = 0

    def transmit(self, packet: bytes) -> str | None:
        """Send one packet: ``None`` if it arrived intact, else :data:`LOST` or
        :data:`CORRUPTED` (the receiver's integrity check discarded it)."""
        draw = self._draw.random()
        if draw < self.rates.loss:
            self.lost += 1
            return LOST
        if draw >= self.rates.loss + self.rates.corruption:
            return None
        sealed = packet + self._seal(packet)
        # One draw per packet, whatever its length, so the draws of later packets stay put.
        bit = int(self._draw.random() * 8 * len(sealed))
        damaged = bytearray(sealed)
        damaged[bit // 8] ^= 0x80 >> (bit % 8)
        if self._intact(bytes(damaged)):
            return None
        self.corrupted += 1
        return CORRUPTED

    def _seal(self, packet: bytes) -> bytes:
        return self._integrity.mac(packet)[:INTEGRITY_MAC_BYTES]

    def _intact(self, sealed: bytes) -> bool:
        body, mac = sealed[:-INTEGRITY_MAC_BYTES], sealed[-INTEGRITY_MAC_BYTES:]
        return len(sealed) > INTEGRITY_MAC_BYTES and hmac.compare_digest(self._seal(body), mac)
