#!/usr/bin/env bash
# Bounded run of the entity-level fuzz targets (fuzz_codec, fuzz_certs, fuzz_ppi, fuzz_card):
# write the seed corpus (fuzz/make_corpus.py, into the git-ignored fuzz/corpus), replay it with
# seeded mutations on both back-ends, then fuzz each target with atheris for FUZZ_SECONDS
# (default 12: about a minute in all). Without atheris (and no wheel from PyPI) the replay is
# the whole run. Exit status non-zero on any finding; the input is left in fuzz/crash-*.
# See fuzz/README.md ("Entity-level targets").
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-../.venv/bin/python}
SECONDS_EACH=${FUZZ_SECONDS:-12}
MUTATIONS=${FUZZ_MUTATIONS:-3}
TARGETS="fuzz_codec fuzz_certs fuzz_ppi fuzz_card"

"$PY" make_corpus.py corpus

echo "== replay of the corpus with $MUTATIONS mutations per seed"
for target in $TARGETS; do
    "$PY" "$target.py" --replay "corpus/$target" --mutations "$MUTATIONS"
done

if ! "$PY" -c "import atheris" 2>/dev/null; then
    "$PY" -m pip install --quiet --only-binary atheris atheris \
        || echo "atheris does not install here: the replay above is the whole run"
fi
if ! "$PY" -c "import atheris" 2>/dev/null; then
    exit 0
fi

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
status=0
for target in $TARGETS; do
    echo "== $target for ${SECONDS_EACH}s"
    log="$logs/$target.log"
    if "$PY" "$target.py" -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
        -artifact_prefix="$PWD/crash-$target-" "corpus/$target" > "$log" 2>&1; then
        grep -E '^(Done|stat::(number_of_executed_units|new_units_added))' "$log"
    else
        grep -v -E '^#[0-9]+'$'\t''|^INFO: |^"' "$log" | tail -n 40
        status=1
    fi
done
exit "$status"
