"""The wires between entities: every message that crosses ES3, ES5 or ES8, in order.

Entities never call each other's methods directly: each holds a :class:`Link`, a function from
request bytes to response bytes that a :class:`Wire` connects to the peer's handler. The wire
records each crossing, which gives ``--trace`` its content and lets tests check what an entity
(the SM-SR above all) has seen. ES8 is logical (its bytes ride inside ES3 and ES5); its
messages are recorded by the SM-DP when it sends them and when their answers come back.

The wire also knows the current phase (the provisioning driver sets :attr:`Wire.phase` as it
enters each one) and, when given a :class:`~m2mrsp.transport.NetworkModel`, books the modelled
network time of every ES3 and ES5 exchange from its real bytes. A link may carry
:class:`~m2mrsp.transport.ChannelFaults`: a lost or corrupted packet then raises
:class:`MessageLost` after booking the sender's timeout, and the sender may :meth:`Link.resend`
the same exchange. A request is recorded as it is sent, arrived or not; an answer only once it
reached the sender.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from m2mrsp.errors import M2mRspError
from m2mrsp.timing import span

if TYPE_CHECKING:
    from m2mrsp.transport import ChannelFaults, NetworkModel

Handler = Callable[[bytes], bytes]


class MessageLost(M2mRspError):
    """A packet of an exchange did not arrive intact; the sender timed out waiting.

    Attributes:
        fault: ``"lost"`` or ``"corrupted"`` (discarded by the receiver's integrity check).
        direction: ``"request"`` or ``"response"``.
    """

    def __init__(self, interface: str, fault: str, direction: str) -> None:
        self.fault = fault
        self.direction = direction
        super().__init__(f"{interface} {direction} {fault}: no answer before the timeout")


@dataclass(frozen=True, slots=True)
class Message:
    """One crossing: which interface, who sent it to whom, and the bytes."""

    interface: str
    sender: str
    receiver: str
    data: bytes

    def to_json(self, sequence: int) -> str:
        return json.dumps(
            {
                "seq": sequence,
                "interface": self.interface,
                "sender": self.sender,
                "receiver": self.receiver,
                "hex": self.data.hex(),
            }
        )


class Wire:
    """Records messages; ``keep=False`` only counts them (for long benchmark runs).

    Attributes:
        phase: the provisioning phase the next exchanges belong to.
        network: prices ES3/ES5 exchanges per phase; ``None`` models no network time.
        phases: ``(phase, interface, request, response)`` of every booked exchange, in the
            order they were booked, when messages are kept (tests recompute the network time
            from it).
    """

    def __init__(self, keep: bool = True, network: NetworkModel | None = None) -> None:
        self.keep = keep
        self.messages: list[Message] = []
        self.byte_counts: dict[str, int] = {}
        self.phase = ""
        self.network = network
        self.exchanges: list[tuple[str, str, bytes, bytes]] = []

    def start(self, network: NetworkModel | None) -> None:
        """Begin another provisioning on this wire: new byte counts and network model."""
        self.byte_counts = {}
        self.phase = ""
        self.network = network

    def record(self, interface: str, sender: str, receiver: str, data: bytes) -> None:
        self.byte_counts[interface] = self.byte_counts.get(interface, 0) + len(data)
        if self.keep:
            self.messages.append(Message(interface, sender, receiver, data))

    def book(self, interface: str, request: bytes, response: bytes) -> None:
        """Add the modelled time of one completed exchange to the current phase."""
        if self.keep:
            self.exchanges.append((self.phase, interface, request, response))
        if self.network is not None:
            self.network.book(self.phase, interface, request, response)

    def book_timeout(self, interface: str) -> None:
        """Add the time a sender waits before giving an exchange up for lost."""
        if self.network is not None:
            self.network.book_timeout(self.phase, interface)

    def network_seconds(self) -> dict[str, float]:
        """Modelled network seconds per phase (empty without a network model)."""
        return dict(self.network.seconds_by_phase) if self.network is not None else {}

    def link(
        self,
        interface: str,
        sender: str,
        receiver: str,
        handler: Handler,
        faults: ChannelFaults | None = None,
    ) -> Link:
        """A request/response channel from ``sender`` to ``receiver``'s ``handler``."""
        return Link(self, interface, sender, receiver, handler, faults)

    def seen_by(self, party: str) -> Iterable[Message]:
        """Every recorded message that ``party`` sent or received."""
        return (m for m in self.messages if party in (m.sender, m.receiver))

    def write_trace(self, out: TextIO) -> None:
        """JSON lines, one per message, in order."""
        for sequence, message in enumerate(self.messages):
            out.write(message.to_json(sequence) + "\n")


class Link:
    """Send bytes over one interface and get the peer's answer, both recorded.

    With ``faults``, every exchange gets a number (as an SCP80 counter would) and the
    receiving end keeps the answer of the last one it executed: :meth:`resend` repeats an
    exchange under its number, and the card re-sends the kept answer instead of executing the
    script twice.
    """

    def __init__(
        self,
        wire: Wire,
        interface: str,
        sender: str,
        receiver: str,
        handler: Handler,
        faults: ChannelFaults | None = None,
    ) -> None:
        self._wire = wire
        self._handler = handler
        self.interface = interface
        self.sender = sender
        self.receiver = receiver
        self.faults = faults
        self._number = 0
        self._executed: tuple[int, bytes] | None = None

    def __call__(self, request: bytes) -> bytes:
        """A new exchange.

        Raises:
            MessageLost: with faults, the request or its answer did not arrive intact.
        """
        self._number += 1
        return self._exchange(request)

    def resend(self, request: bytes) -> bytes:
        """Repeat the last exchange (same number) after a :class:`MessageLost`.

        Raises:
            MessageLost: as :meth:`__call__`.
        """
        return self._exchange(request)

    def _exchange(self, request: bytes) -> bytes:
        wire, faults = self._wire, self.faults
        wire.record(self.interface, self.sender, self.receiver, request)
        if faults is not None:
            self._check_arrival(faults, request, "request")
        if self._executed is not None and self._executed[0] == self._number:
            response = self._executed[1]
        else:
            with span(f"{self.receiver} ({self.interface})"):
                response = self._handler(request)
            if faults is not None:
                self._executed = (self._number, response)
        if faults is not None:
            self._check_arrival(faults, response, "response")
        wire.record(self.interface, self.receiver, self.sender, response)
        wire.book(self.interface, request, response)
        return response

    def _check_arrival(self, faults: ChannelFaults, packet: bytes, direction: str) -> None:
        fault = faults.transmit(packet)
        if fault is not None:
            self._wire.book_timeout(self.interface)
            raise MessageLost(self.interface, fault, direction)
