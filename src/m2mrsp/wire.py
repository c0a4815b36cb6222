"""The wires between entities: every message that crosses ES3, ES5 or ES8, in order.

Entities never call each other's methods directly: each holds a :class:`Link`, a function from
request bytes to response bytes that a :class:`Wire` connects to the peer's handler. The wire
records each crossing, which gives ``--trace`` its content and lets tests check what an entity
(the SM-SR above all) has seen. ES8 is logical (its bytes ride inside ES3 and ES5); its
messages are recorded by the SM-DP when it sends them and when their answers come back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TextIO

from m2mrsp.timing import span

Handler = Callable[[bytes], bytes]


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
    """Records messages; ``keep=False`` only counts them (for long benchmark runs)."""

    def __init__(self, keep: bool = True) -> None:
        self.keep = keep
        self.messages: list[Message] = []
        self.byte_counts: dict[str, int] = {}

    def record(self, interface: str, sender: str, receiver: str, data: bytes) -> None:
        self.byte_counts[interface] = self.byte_counts.get(interface, 0) + len(data)
        if self.keep:
            self.messages.append(Message(interface, sender, receiver, data))

    def link(self, interface: str, sender: str, receiver: str, handler: Handler) -> Link:
        """A request/response channel from ``sender`` to ``receiver``'s ``handler``."""
        return Link(self, interface, sender, receiver, handler)

    def seen_by(self, party: str) -> Iterable[Message]:
        """Every recorded message that ``party`` sent or received."""
        return (m for m in self.messages if party in (m.sender, m.receiver))

    def write_trace(self, out: TextIO) -> None:
        """JSON lines, one per message, in order."""
        for sequence, message in enumerate(self.messages):
            out.write(message.to_json(sequence) + "\n")


class Link:
    """Send bytes over one interface and get the peer's answer, both recorded."""

    def __init__(
        self, wire: Wire, interface: str, sender: str, receiver: str, handler: Handler
    ) -> None:
        self._wire = wire
        self._handler = handler
        self.interface = interface
        self.sender = sender
        self.receiver = receiver

    def __call__(self, request: bytes) -> bytes:
        self._wire.record(self.interface, self.sender, self.receiver, request)
        with span(f"{self.receiver} ({self.interface})"):
            response = self._handler(request)
        self._wire.record(self.interface, self.receiver, self.sender, response)
        return response
