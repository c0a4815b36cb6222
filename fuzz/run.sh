#!/usr/bin/env bash
# Bounded fuzz run of both targets (FUZZ_SECONDS each, default 30): atheris when it is installed
# or installs from PyPI, else a seeded replay of 20000 inputs per target. Exit status non-zero
# when a target finds a crash or a divergence between the twins. See fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-../.venv/bin/python}
SECONDS_EACH=${FUZZ_SECONDS:-30}
PROFILES=../../shared/profiles

if ! "$PY" -c "import atheris" 2>/dev/null; then
    "$PY" -m pip install --quiet --only-binary atheris atheris \
        || echo "atheris does not install here: falling back to seeded replay"
fi

if ! "$PY" -c "import atheris" 2>/dev/null; then
    for target in fuzz_scan fuzz_unwrap; do
        "$PY" "$target.py" --replay 20000
    done
    exit 0
fi

corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
mkdir -p "$corpus/fuzz_scan" "$corpus/fuzz_unwrap"
# Seeds: the TS.48 profiles behind a depth byte of 16, and one input per unwrap mode.
for profile in "$PROFILES"/*.der; do
    [ -e "$profile" ] || continue
    { printf '\x10'; cat "$profile"; } > "$corpus/fuzz_scan/$(basename "$profile")"
done
for mode in 0 1 2 3; do
    { printf "\\x0$mode"; head -c 600 /dev/urandom; } > "$corpus/fuzz_unwrap/mode$mode"
done

status=0
for target in fuzz_scan fuzz_unwrap; do
    echo "== $target for ${SECONDS_EACH}s"
    log="$corpus/$target.log"
    if "$PY" "$target.py" -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
        -artifact_prefix="$PWD/crash-$target-" "$corpus/$target" > "$log" 2>&1; then
        grep -E '^(Done|stat::(number_of_executed_units|new_units_added|peak_rss_mb))' "$log"
    else
        grep -v -E '^#[0-9]+'$'\t''|^INFO: |^"' "$log" | tail -n 40
        status=1
    fi
done
exit "$status"
