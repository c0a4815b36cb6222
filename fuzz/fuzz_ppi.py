"""Fuzz target: the Profile Package Interpreter, fed in segments, on both back-ends' scanners.

The first byte sets the segment size (1 + 4 x byte), the rest is the package. Both back-ends
must end alike (installed, aborted with the same status, identification and offset, or waiting
for more), answer the same EUICCResponse bytes, and an installed profile must re-encode to the
package exactly.
"""

from __future__ import annotations

from harness import instrument, main

if __name__ == "__main__":
    instrument()  # before the m2mrsp imports below, so that they are instrumented

from fixtures import backends  # noqa: E402

from m2mrsp.errors import ProfileError  # noqa: E402
from m2mrsp.saip.interpreter import ProfileInstaller  # noqa: E402
from m2mrsp.saip.response import EUICCResponse  # noqa: E402


def _install(package: bytes, size: int, scan: object) -> tuple[object, ...]:
    installer = ProfileInstaller(scan_tlv=scan)  # type: ignore[arg-type]
    error = None
    for start in range(0, len(package), size):
        try:
            installer.feed(package[start : start + size])
        except ProfileError as err:
            error = (err.status, err.identification, err.offset)
            break
    try:
        response = installer.response()
    except ProfileError as err:
        assert not installer.finished and not installer.aborted
        response = bytes((err.status,))
    else:
        assert EUICCResponse.decode(response).encode() == response
    profile = None
    if installer.finished:
        profile = installer.profile.encode()
        assert profile == package, "an installed profile must re-encode to its package"
    return installer.finished, installer.aborted, error, response, profile


def check(data: bytes) -> None:
    if not data:
        return
    size, package = 1 + 4 * data[0], data[1:]
    outcomes = [_install(package, size, backend.scan_tlv) for backend in backends()]
    assert all(o == outcomes[0] for o in outcomes), "the back-ends disagree"


if __name__ == "__main__":
    main("fuzz_ppi", check)
