#!/usr/bin/env bash
# Memory-safety check of the native back-end (issue #3):
#   1. the C units compile warning-free as strict C99 (-Wall -Wextra -Wpedantic -Werror);
#   2. m2mrsp._native is rebuilt with AddressSanitizer + UndefinedBehaviorSanitizer into a
#      scratch copy of src/ (the installed build is left alone);
#   3. the native tests, then a bounded replay of the fuzz targets, run against that build with
#      M2MRSP_NATIVE=1; any sanitizer report aborts the run.
# Usage: scripts/sanitize.sh [extra pytest args]
#   PYTHON overrides .venv/bin/python; FUZZ_REPLAY sets the replayed inputs per target (3000).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
CC=${CC:-gcc}
SANITIZERS="-fsanitize=address,undefined"

echo "== strict C99 compile of native/*.c"
for unit in native/*.c; do
    "$CC" -std=c99 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -Inative "$unit"
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r src "$work/src"
rm -f "$work"/src/m2mrsp/_native*.so

echo "== ASan+UBSan build of m2mrsp._native"
build_log="$work/build.log"
"$PY" - "$work" "$SANITIZERS" <<'PYEOF' > "$build_log" 2>&1 || { cat "$build_log"; exit 1; }
import glob, shutil, sys
sys.path.insert(0, "native")
from build_native import make_builder

work, sanitizers = sys.argv[1], sys.argv[2]
cflags = [sanitizers, "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-O1", "-g"]
builder = make_builder(cflags, [sanitizers], absolute_sources=True)
built = builder.compile(tmpdir=f"{work}/build")
shutil.copy(built, f"{work}/src/m2mrsp/")
PYEOF

export LD_PRELOAD="$("$CC" -print-file-name=libasan.so) $("$CC" -print-file-name=libubsan.so)"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export PYTHONPATH="$work/src"
export M2MRSP_NATIVE=1
# Every Python buffer on the plain heap, so ASan sees the bounds of bytes and cffi objects.
export PYTHONMALLOC=malloc

"$PY" -c "import m2mrsp._native as n; print('== using', n.__file__)" | grep -F "$work"

echo "== native tests under the sanitizers"
"$PY" -m pytest -p no:cacheprovider -q tests/test_scp03t.py tests/test_bertlv.py \
    tests/test_differential.py tests/test_backend.py "$@"

echo "== fuzz targets replayed under the sanitizers"
"$PY" fuzz/fuzz_scan.py --replay "${FUZZ_REPLAY:-3000}"
"$PY" fuzz/fuzz_unwrap.py --replay "${FUZZ_REPLAY:-3000}"
echo "== sanitizer run clean"
