"""Does an eUICC agree with its EIS at the SM-SR, and how did a device's provisioning end?

:func:`check_consistency` compares what the card holds with the SM-SR's EIS record by record
(PROTOCOL.md §7.3 maps the card's life cycles to EIS states) and lists every disagreement.
A record the SM-SR marked ``pending`` (it lost the card mid-operation, see
:mod:`m2mrsp.entities.smsr`) is held to what the SM-SR can know: an ISD-P pending deletion may
or may not still be on the card, but never enabled; an enabling pending confirmation left the
profile either disabled or enabled.

:func:`outcome` names how a device ended (:data:`OUTCOMES`):

* ``provisioned``: the run succeeded; the profile is installed (and enabled, unless enabling
  was not asked for) on the card and in the EIS, nothing left in flight;
* ``failed cleanly``: the run failed, the failure was reported, and the card and the EIS agree
  with nothing in flight (no session, challenge or failed download left behind); normally
  nothing of the profile remains, since the SM-DP had the ISD-P deleted;
* ``needs retry``: the SM-SR lost the card and still owes it an operation (an EIS record is
  ``pending``); card and EIS agree as far as the SM-SR can know, and the operation is to be
  sent again once the card can be reached;
* ``inconsistent``: any disagreement :func:`check_consistency` finds. It must never happen.
"""

from __future__ import annotations

from typing import Final

from m2mrsp.entities import smsr
from m2mrsp.entities.euicc import Euicc, IsdP, LifeCycle
from m2mrsp.entities.smsr import Eis, ProfileRecord

PROVISIONED: Final = "provisioned"
FAILED_CLEANLY: Final = "failed cleanly"
NEEDS_RETRY: Final = "needs retry"
INCONSISTENT: Final = "inconsistent"
OUTCOMES: Final = (PROVISIONED, FAILED_CLEANLY, NEEDS_RETRY, INCONSISTENT)

# How each card life cycle shows in the EIS (PROTOCOL.md §7.3).
EIS_STATE: Final = {
    LifeCycle.SELECTABLE: smsr.CREATED,
    LifeCycle.PERSONALIZED: smsr.CREATED,
    LifeCycle.DISABLED: smsr.DISABLED,
    LifeCycle.ENABLED: smsr.ENABLED,
}


def check_consistency(euicc: Euicc, eis: Eis) -> list[str]:
    """Every disagreement between ``euicc`` and ``eis`` once a run is over; empty if none."""
    problems: list[str] = []
    for aid in euicc.isd_ps.keys() - eis.profiles.keys():
        problems.append(f"ISD-P {aid.hex().upper()} on the card is not in the EIS")
    for aid, record in eis.profiles.items():
        problems += _record_problems(aid.hex().upper(), record, euicc.isd_ps.get(aid))
    enabled = [p for p in euicc.isd_ps.values() if p.state is LifeCycle.ENABLED]
    if len(enabled) > 1:
        problems.append(f"{len(enabled)} ISD-Ps enabled")
    for isd_p in euicc.isd_ps.values():
        problems += [f"ISD-P {isd_p.aid.hex().upper()}: {p}" for p in _isdp_problems(isd_p)]
    if euicc.ecasd.pending and not any(r.pending for r in eis.profiles.values()):
        problems.append("the ECASD holds a challenge after the run")
    return problems


def _record_problems(aid: str, record: ProfileRecord, isd_p: IsdP | None) -> list[str]:
    if record.pending == smsr.PENDING_DELETE:
        if isd_p is not None and isd_p.state is LifeCycle.ENABLED:
            return [f"ISD-P {aid} pending deletion is enabled on the card"]
        return []
    if isd_p is None:
        return [f"EIS record {aid} ({record.state}) has no ISD-P on the card"]
    if record.pending == smsr.PENDING_ENABLE:
        if isd_p.state not in (LifeCycle.DISABLED, LifeCycle.ENABLED):
            return [f"ISD-P {aid} pending enabling is {isd_p.state.name} on the card"]
        return []
    problems = []
    if EIS_STATE[isd_p.state] != record.state:
        problems.append(f"ISD-P {aid} is {isd_p.state.name} on the card, {record.state} in the EIS")
    if record.required_memory != isd_p.reserved_memory:
        problems.append(f"ISD-P {aid} reserves {isd_p.reserved_memory} bytes, the EIS "
                        f"{record.required_memory}")
    if isd_p.download_failed:
        problems.append(f"ISD-P {aid} holds a failed download nobody deletes")
    if isd_p.session_open:
        problems.append(f"ISD-P {aid} still holds SCP03t session keys")
    if isd_p.key_agreement is not None and isd_p.state is not LifeCycle.SELECTABLE:
        problems.append(f"ISD-P {aid} keeps a key agreement after personalization")
    return problems


def _isdp_problems(isd_p: IsdP) -> list[str]:
    """Invariants of one ISD-P's own fields, whatever the EIS says."""
    if isd_p.state is LifeCycle.SELECTABLE and (
        isd_p.keys is not None or isd_p.session is not None or isd_p.profile is not None
    ):
        return ["selectable but holds keys, a session or a profile"]
    if isd_p.state in (LifeCycle.DISABLED, LifeCycle.ENABLED) and (
        isd_p.profile is None or isd_p.installer is not None or isd_p.download_failed
    ):
        return [f"{isd_p.state.name} without a complete profile"]
    if isd_p.download_failed and (
        isd_p.profile is not None or isd_p.installer is not None or isd_p.session_open
    ):
        return ["a failed download kept a profile, an installer or session keys"]
    return []


def outcome(euicc: Euicc, eis: Eis, iccid: str, succeeded: bool, *, enabled: bool = True) -> str:
    """How the provisioning of ``iccid`` ended on this card (:data:`OUTCOMES`).

    Args:
        succeeded: the provisioning call returned (rather than raising).
        enabled: whether it was asked to enable the profile.
    """
    if check_consistency(euicc, eis):
        return INCONSISTENT
    if any(record.pending for record in eis.profiles.values()):
        return NEEDS_RETRY
    record = eis.by_iccid(iccid)
    expected = smsr.ENABLED if enabled else smsr.DISABLED
    if succeeded:
        return PROVISIONED if record is not None and record.state == expected else INCONSISTENT
    return FAILED_CLEANLY
