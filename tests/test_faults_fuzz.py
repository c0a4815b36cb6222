"""The entity-level fuzz targets run in the suite: generated seeds and every saved regression.

``fuzz/make_corpus.py`` writes the seeds into a temporary folder and each target replays them
(with one seeded mutation each) on both back-ends, so neither the targets nor the corpus
generator can rot. Every input in ``fuzz/regressions/<target>/`` (a crash a fuzzer or a test
once found, see fuzz/README.md) must pass its target.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

FUZZ = Path(__file__).resolve().parents[1] / "fuzz"
TARGETS = ("fuzz_codec", "fuzz_certs", "fuzz_ppi", "fuzz_card")


@pytest.fixture(scope="module")
def modules() -> Iterator[dict[str, ModuleType]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(FUZZ))
        yield {name: importlib.import_module(name)
               for name in (*TARGETS, "harness", "make_corpus")}


@pytest.fixture(scope="module")
def corpus(modules: dict[str, ModuleType], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    modules["make_corpus"].main(out)
    return out


@pytest.mark.parametrize("target", TARGETS)
def test_each_target_replays_its_seeds_clean(
    modules: dict[str, ModuleType], corpus: Path, target: str
) -> None:
    seeds = sorted((corpus / target).iterdir())
    assert len(seeds) >= 4
    count = modules["harness"].replay(target, modules[target].check, [str(corpus / target)],
                                      mutations=1, seed=1)
    assert count == 2 * len(seeds)


def _regressions() -> list[tuple[str, Path]]:
    return [(target, path) for target in TARGETS
            for path in sorted((FUZZ / "regressions" / target).glob("*"))
            if (FUZZ / "regressions" / target).is_dir()]


@pytest.mark.parametrize(("target", "path"), _regressions(), ids=lambda v: getattr(v, "name", v))
def test_saved_regressions_pass(modules: dict[str, ModuleType], target: str, path: Path) -> None:
    modules[target].check(path.read_bytes())


def test_the_mutator_edits_and_is_seeded(modules: dict[str, ModuleType]) -> None:
    mutate = modules["harness"].mutate
    data = bytes(range(64))
    first = [mutate(data, random.Random(3)) for _ in range(5)]
    assert first == [mutate(data, random.Random(3)) for _ in range(5)]
    assert any(m != data for m in first)
