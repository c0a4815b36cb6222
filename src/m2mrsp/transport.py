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
link, not a measured one, and every one can be overridden.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

from m2mrsp.protocol import es5

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


@dataclass(frozen=True)
class Es3Model:
    """SOAP over HTTPS between SM-DP and SM-SR (a data-centre link)."""

    rtt_s: float = 0.020
    bandwidth_bps: float = 100e6
    envelope_bytes: int = 800

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
    # The largest segment whose one-segment script still fits a single SMS: 79 plaintext bytes
    # pad to 80, the 86 TLV is 90 bytes, the script 92, the packet 10 + 112 = 122 (+3 UDH).
    default_segment_size: int = 79

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
    default_segment_size: int = 1007
    eid: str = "0" * 32
    _open: bool = field(default=False, repr=False)

    def session_setup_s(self) -> float:
        """SMS push, TCP handshake (1 RTT) and PSK-TLS 1.2 handshake (2 RTT)."""
        return self.push_delay_s + self.handshake_rtts * self.rtt_s

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

    def book(self, phase: str, interface: str, request: bytes, response: bytes) -> float:
        """Price one exchange, advance the clock and add it to ``phase``; returns seconds."""
        model: InterfaceModel | None = {"ES3": self.es3, "ES5": self.es5}.get(interface)
        if model is None:
            return 0.0
        seconds = model.exchange(request, response).seconds
        self.clock_s += seconds
        self.seconds_by_phase[phase] = self.seconds_by_phase.get(phase, 0.0) + seconds
        return seconds


BEARERS = ("none", "sms", "https")


def network_model(bearer: str, eid: str = "0" * 32) -> NetworkModel | None:
    """The default model for a bearer name (``none``: no network time)."""
    if bearer == "none":
        return None
    if bearer == "sms":
        return NetworkModel(Es3Model(), SmsBearer())
    if bearer == "https":
        return NetworkModel(Es3Model(), HttpsBearer(eid=eid))
    raise ValueError(f"unknown bearer {bearer!r}; choose one of {', '.join(BEARERS)}")

