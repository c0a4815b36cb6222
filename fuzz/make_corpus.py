"""Write the seed corpora of the entity-level fuzz targets from real runs (git-ignored output).

Usage: ``python fuzz/make_corpus.py [OUT]`` (default ``fuzz/corpus``): one folder per target,
one file per seed named by its SHA-1. Sources: every message of seeded provisionings of the
default profile (small and full size) and of the TS.48 profiles in ``../shared/profiles`` when
present; segments, certificates and key-agreement commands valid for the fixed card of
``fixtures.py``. Everything is deterministic: the same tree gives the same files.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from fixtures import backends, card, pki

from m2mrsp import tlv
from m2mrsp.protocol import es5, keyest
from m2mrsp.provisioning import Options, provision
from m2mrsp.rng import RandomSource
from m2mrsp.saip.builder import build_default_profile
from m2mrsp.saip.response import EUICCResponse, PEStatus, Status

HERE = Path(__file__).resolve().parent
PROFILES = HERE.parents[1] / "shared" / "profiles"


def _packages() -> list[bytes]:
    packages = [build_default_profile(target_size=0, rng=RandomSource(1)),
                build_default_profile(rng=RandomSource(1))]
    if PROFILES.is_dir():
        packages += [path.read_bytes() for path in sorted(PROFILES.glob("*.der"))]
    return packages


def _write(out: Path, target: str, seeds: list[bytes]) -> int:
    folder = out / target
    folder.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        (folder / hashlib.sha1(seed).hexdigest()).write_bytes(seed)
    return len(set(seeds))


def _wire_seeds(packages: list[bytes]) -> dict[str, list[bytes]]:
    """Seeds for fuzz_codec and fuzz_card mode 0 from the messages of real provisionings."""
    codec: list[bytes] = []
    card_seeds: list[bytes] = []
    for package in packages[:3]:
        wire = provision(package, Options(seed=1, segment_size=500)).wire
        for message in wire.messages:
            data = message.data
            if message.interface == "ES3":
                codec.append(b"\x04" + data)
            elif message.interface == "ES5":
                codec.append(b"\x03" + data)
                if message.receiver == "eUICC":
                    card_seeds.append(b"\x00" + data)
                    _, script = es5.parse_frame(data)
                    for tag, value in es5.parse_command_script(script):
                        if tag == es5.C_APDU:
                            codec += [b"\x02" + value, b"\x01" + value[5:]]
            elif message.interface == "ES8" and len(data) < 600:
                codec.append(b"\x00" + data)
    return {"fuzz_codec": codec, "fuzz_card": card_seeds}


def _card_seeds(packages: list[bytes]) -> list[bytes]:
    seeds = []
    python = backends()[0]
    for package in packages:
        _, host = card(python)
        seeds.append(b"\x01" + b"".join(host.wrap(package[:4000], 200).tlvs))
        seeds.append(b"\x02\x31" + package)  # 197-byte segments
        seeds.append(b"\x03\xfb\x00\x40\x00" + package)  # 1005-byte segments, one bit flipped
    return seeds


def _key_agreement_seeds() -> list[bytes]:
    parties = pki()
    certificates = [parties.sm_dp.certificate_bytes, parties.sm_sr.certificate_bytes,
                    parties.eum.certificate_bytes, parties.ecasd.certificate_bytes]
    ecasd = parties.make_ecasd(RandomSource(6, "fuzz ecasd"))
    on_card = keyest.OnCardKeyAgreement(ecasd, RandomSource(7, "fuzz agreement"))
    challenge = on_card.handle_certificate(
        keyest.build_certificate_command(parties.sm_dp.certificate_bytes).data)
    off_card = keyest.OffCardKeyAgreement(
        dp_certificate=parties.sm_dp.certificate_bytes,
        dp_private_key=parties.sm_dp.private_key,
        ecasd_certificate=parties.ecasd.certificate_bytes,
        eum_public_key=parties.eum.public_key, rng=RandomSource(8), eid=parties.eid_bytes,
    )
    apdu_3 = off_card.key_agreement_command(challenge).data
    receipt = on_card.handle_key_agreement(apdu_3)
    seeds = [b"\x00" + c for c in certificates]
    seeds += [b"\x02" + keyest.build_certificate_command(c).data for c in certificates]
    seeds += [b"\x01" + apdu_3, b"\x03" + apdu_3, b"\x04" + challenge, b"\x04" + receipt,
              b"\x05" + parties.ecasd.certificate_bytes]
    return seeds


def main(out: Path) -> None:
    packages = _packages()
    wire = _wire_seeds(packages)
    responses = [EUICCResponse((PEStatus(Status.OK, 8),)).encode(),
                 EUICCResponse((PEStatus(Status.BAD_VALUES, 3, 1, 120),), aborted=True).encode()]
    counts = {
        "fuzz_codec": _write(out, "fuzz_codec", wire["fuzz_codec"] + [
            b"\x00" + pe for pe in (tlv.encode_tlv(0xA0, b"\x80\x01\x02"),)
        ] + [b"\x05" + r for r in responses]),
        "fuzz_card": _write(out, "fuzz_card", wire["fuzz_card"] + _card_seeds(packages)),
        "fuzz_certs": _write(out, "fuzz_certs", _key_agreement_seeds()),
        "fuzz_ppi": _write(out, "fuzz_ppi", [b"\xfa" + p for p in packages]
                           + [b"\x00" + packages[0], b"\x31" + packages[1]]),
    }
    for target, count in counts.items():
        print(f"{out / target}: {count} seeds")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "corpus")
