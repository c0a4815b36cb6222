"""Lost and corrupted ES5 packets: the link, the SM-SR's retries, outcomes and consistency.

Every scenario runs real provisionings on a :class:`~m2mrsp.provisioning.Fleet`; where a test
needs one packet to go missing at a chosen moment, it scripts the fault draws of that link
(``None`` = arrived, ``"lost"``); elsewhere the seeded :class:`ChannelFaults` decide.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from m2mrsp.consistency import (
    FAILED_CLEANLY,
    NEEDS_RETRY,
    PROVISIONED,
    check_consistency,
    outcome,
)
from m2mrsp.entities import smsr as smsr_module
from m2mrsp.entities.euicc import LifeCycle
from m2mrsp.errors import ProvisioningError
from m2mrsp.protocol import apdu, es5
from m2mrsp.provisioning import Device, Fleet, Options
from m2mrsp.rng import RandomSource
from m2mrsp.saip.builder import build_default_profile
from m2mrsp.transport import (
    CORRUPTED,
    LOST,
    ChannelFaults,
    Es3Model,
    FaultRates,
    HttpsBearer,
    NetworkModel,
    SmsBearer,
)
from m2mrsp.wire import MessageLost, Wire

ICCID = "89000123456789012341"


@pytest.fixture(scope="module")
def package() -> bytes:
    return build_default_profile(iccid=ICCID, target_size=0, rng=RandomSource(1))


class Scripted(ChannelFaults):
    """Fault draws read from a script (then: every packet arrives); counts like the real one."""

    def __init__(self, script: list[str | None]) -> None:
        super().__init__(FaultRates(loss=0.5), RandomSource(0))
        self._script: Iterator[str | None] = iter(script)

    def transmit(self, packet: bytes) -> str | None:
        fault = next(self._script, None)
        if fault == LOST:
            self.lost += 1
        return fault


def _fleet(**options: object) -> Fleet:
    return Fleet(Options(seed=21, keep_messages=False, **options))  # type: ignore[arg-type]


def _scripted_device(fleet: Fleet, script: list[str | None]) -> tuple[Device, Scripted]:
    device = fleet.add_device(0)
    faults = Scripted(script)
    fleet.smsr._es5[device.eid].faults = faults  # type: ignore[attr-defined]  # noqa: SLF001
    return device, faults


def _end(fleet: Fleet, device: Device, succeeded: bool) -> str:
    eis = fleet.smsr.eis(device.eid)
    assert check_consistency(device.euicc, eis) == []
    return outcome(device.euicc, eis, ICCID, succeeded)


def test_a_lost_answer_is_resent_from_the_cards_memory_not_executed_twice() -> None:
    calls: list[bytes] = []

    def card(request: bytes) -> bytes:
        calls.append(request)
        return b"answer %d" % len(calls)

    wire = Wire()
    faults = Scripted([None, LOST, None, None, None, None])
    link = wire.link("ES5", "SM-SR", "eUICC", card, faults)
    with pytest.raises(MessageLost, match="response lost"):
        link(b"script 1")
    assert link.resend(b"script 1") == b"answer 1"  # kept answer, same exchange number
    assert link(b"script 1") == b"answer 2"  # a new exchange with the same bytes runs again
    assert calls == [b"script 1", b"script 1"]
    # The request went out three times; only the two answers that arrived are recorded.
    assert [m.data for m in wire.messages] == [b"script 1", b"script 1", b"answer 1",
                                               b"script 1", b"answer 2"]


def test_a_lost_request_is_executed_on_the_retry() -> None:
    calls: list[bytes] = []
    link = Wire().link("ES5", "SM-SR", "eUICC", lambda r: calls.append(r) or b"ok",
                       Scripted([LOST, None, None]))
    with pytest.raises(MessageLost, match="request lost"):
        link(b"x")
    assert link.resend(b"x") == b"ok" and calls == [b"x"]


def test_corruption_is_caught_by_the_integrity_check() -> None:
    faults = ChannelFaults(FaultRates(corruption=1.0), RandomSource(3))
    assert [faults.transmit(bytes(40)) for _ in range(50)] == [CORRUPTED] * 50
    assert (faults.corrupted, faults.lost) == (50, 0)
    clean = ChannelFaults(FaultRates(), RandomSource(3))
    assert clean.transmit(bytes(40)) is None


def test_seeded_draws_repeat_and_follow_the_rates() -> None:
    def draws(seed: int) -> list[str | None]:
        faults = ChannelFaults(FaultRates(loss=0.2, corruption=0.1), RandomSource(seed))
        return [faults.transmit(bytes(n % 300 + 1)) for n in range(4000)]

    first = draws(5)
    assert first == draws(5) and first != draws(6)
    assert 0.17 < first.count(LOST) / 4000 < 0.23
    assert 0.08 < first.count(CORRUPTED) / 4000 < 0.12


@pytest.mark.parametrize(("loss", "corruption"), [(-0.1, 0.0), (0.7, 0.4), (0.0, 1.5)])
def test_bad_rates_are_refused(loss: float, corruption: float) -> None:
    with pytest.raises(ValueError, match="rate"):
        FaultRates(loss, corruption)


def test_a_dead_channel_ends_needing_retry_with_every_timeout_booked(package: bytes) -> None:
    fleet = _fleet(bearer="https", max_retries=2, faults=FaultRates(loss=1.0))
    device = fleet.add_device(0)
    with pytest.raises(ProvisioningError, match="ISD-P creation failed"):
        fleet.provision(device, package, ICCID)
    # INSTALL and the clean-up DELETE: 3 attempts each, all lost, each a 10 s timeout.
    assert fleet.smsr.retransmissions == 4 and fleet.smsr.unreachable == 2
    assert device.faults is not None and device.faults.lost == 6
    network = fleet.wire.network_seconds()["ISD-P creation"]
    assert network == pytest.approx(6 * HttpsBearer.timeout_s + 2 * 0.020, rel=1e-3)
    (record,) = fleet.smsr.eis(device.eid).profiles.values()
    assert (record.state, record.pending) == (smsr_module.IN_CREATION, smsr_module.PENDING_DELETE)
    assert device.euicc.isd_ps == {}  # never reached the card: still consistent
    assert _end(fleet, device, False) == NEEDS_RETRY


def test_a_lost_answer_to_install_is_recovered_by_a_retry(package: bytes) -> None:
    fleet = _fleet()
    device, faults = _scripted_device(fleet, [None, LOST])
    fleet.provision(device, package, ICCID)
    assert fleet.smsr.retransmissions == 1 and faults.lost == 1
    assert len(device.euicc.isd_ps) == 1  # INSTALL ran once
    assert _end(fleet, device, True) == PROVISIONED


def test_losing_the_card_mid_download_fails_cleanly(package: bytes) -> None:
    # Exchanges: INSTALL, 2 key establishment, 84, 85, then the segment batches. The first
    # segment batch is lost (request) twice with one retry allowed; the DELETE arrives.
    fleet = _fleet(max_retries=1)
    device, _ = _scripted_device(fleet, [None] * 10 + [LOST, LOST])
    with pytest.raises(ProvisioningError, match="profile download failed"):
        fleet.provision(device, package, ICCID)
    assert device.euicc.isd_ps == {} and fleet.smsr.eis(device.eid).profiles == {}
    assert _end(fleet, device, False) == FAILED_CLEANLY


def test_losing_the_card_while_enabling_leaves_an_enabling_to_confirm(package: bytes) -> None:
    fleet = _fleet(max_retries=0)
    # Two draws per exchange: INSTALL, 2 key establishment, 84, 85, one SendData with both
    # segments of the small profile, ENABLE; then the push arrives and its answer is lost.
    device, _ = _scripted_device(fleet, [None] * 14 + [None, LOST])
    with pytest.raises(ProvisioningError, match="enabling"):
        fleet.provision(device, package, ICCID)
    (isd_p,) = device.euicc.isd_ps.values()
    record = fleet.smsr.eis(device.eid).by_iccid(ICCID)
    assert record is not None and record.pending == smsr_module.PENDING_ENABLE
    assert (isd_p.state, record.state) == (LifeCycle.ENABLED, smsr_module.DISABLED)
    assert _end(fleet, device, False) == NEEDS_RETRY


def test_the_check_finds_a_card_that_disagrees_with_its_eis(package: bytes) -> None:
    fleet = _fleet()
    device = fleet.add_device(0)
    fleet.provision(device, package, ICCID)
    eis = fleet.smsr.eis(device.eid)
    (record,) = eis.profiles.values()
    record.state = smsr_module.DISABLED
    assert check_consistency(device.euicc, eis) == [
        f"ISD-P {record.aid.hex().upper()} is ENABLED on the card, Disabled in the EIS"]
    record.pending = smsr_module.PENDING_DELETE  # pending deletion, yet enabled on the card
    assert "pending deletion is enabled" in check_consistency(device.euicc, eis)[0]
    eis.profiles.clear()
    assert "not in the EIS" in check_consistency(device.euicc, eis)[0]
    assert outcome(device.euicc, eis, ICCID, True) == "inconsistent"


def test_seeded_faults_over_many_devices_never_leave_one_inconsistent(package: bytes) -> None:
    fleet = _fleet(bearer="sms", max_retries=1, segments_per_call=1, segment_size=400,
                   faults=FaultRates(loss=0.04, corruption=0.04))
    ends: list[str] = []
    for index in range(40):
        device = fleet.add_device(index)
        try:
            fleet.provision(device, package, ICCID)
            succeeded = True
        except ProvisioningError:
            succeeded = False
        ends.append(_end(fleet, device, succeeded))
        fleet.remove(device)
    assert set(ends) == {PROVISIONED, FAILED_CLEANLY, NEEDS_RETRY}
    assert fleet.smsr.retransmissions > 0


def test_timeouts_are_booked_per_bearer_and_reopen_an_https_session() -> None:
    sms = NetworkModel(Es3Model(), SmsBearer(timeout_s=45.0))
    assert sms.book_timeout("enabling", "ES5") == 45.0
    assert sms.book_timeout("enabling", "ES8") == 0.0
    assert sms.seconds_by_phase == {"enabling": 45.0} and sms.total_s == 45.0
    bearer = HttpsBearer(rtt_s=0.1, push_delay_s=1.0, timeout_s=7.0)
    https = NetworkModel(Es3Model(), bearer)
    request = es5.frame(apdu.ISD_R_AID, bytes(20))
    opening = https.book("x", "ES5", request, bytes(10))
    steady = https.book("x", "ES5", request, bytes(10))
    assert opening == pytest.approx(steady + 1.0 + 3 * 0.1)
    assert https.book_timeout("x", "ES5") == 7.0
    # After a timeout the admin session is gone: the next exchange opens it again.
    assert https.book("x", "ES5", request, bytes(10)) == pytest.approx(opening)
