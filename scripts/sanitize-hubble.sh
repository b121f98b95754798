#!/usr/bin/env bash
# The compiled Hubble reader (src/trustmap/observe/formats/_hubblescan.c) built with AddressSanitizer and
# UndefinedBehaviorSanitizer, and its randomised tests (tests/observe/test_hubble_native.py: hypothesis captures,
# edge cases, samples, gzip, small blocks) run against that build. CI runs this (`make sanitize`, called by
# .ci/run); about a minute.
#
# The Python running the tests is not built with ASan, so the ASan runtime must be the first library loaded:
# LD_PRELOAD of gcc's libasan (and libubsan). Leak detection is off (detect_leaks=0): the interpreter keeps
# objects alive until exit by design, and those reports say nothing about the reader. PYTHONMALLOC=malloc sends
# Python's own allocations through ASan's malloc too, so an overrun into a neighbouring Python object is caught.
# Any report aborts the run (halt_on_error, no recovery for UBSan): a failing exit status, not a log line.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
CC=${CC:-gcc}

work=$(mktemp -d "${TMPDIR:-/tmp}/trustmap-sanitize.XXXXXX")
trap 'rm -rf "$work"' EXIT
# A copy of the package with the sanitized extension in it, imported first through PYTHONPATH.
cp -r src/trustmap "$work/trustmap"
find "$work/trustmap" \( -name '_hubblescan*.so' -o -name __pycache__ \) -prune -exec rm -rf {} +
suffix=$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
include=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
extension="$work/trustmap/observe/formats/_hubblescan$suffix"
"$CC" -shared -fPIC -std=c99 -O1 -g -fno-omit-frame-pointer \
  -fsanitize=address,undefined -fno-sanitize-recover=all \
  -I"$include" src/trustmap/observe/formats/_hubblescan.c -o "$extension"
nm -D "$extension" | grep -q __asan_init || { echo "sanitize: $extension is not instrumented" >&2; exit 1; }

for lib in libasan.so libubsan.so; do  # gcc prints the bare name when it has no such runtime
  [[ "$("$CC" -print-file-name=$lib)" == /* ]] || { echo "sanitize: $CC has no $lib (install gcc's sanitizer runtimes)" >&2; exit 1; }
done
runtime="$("$CC" -print-file-name=libasan.so):$("$CC" -print-file-name=libubsan.so)"
export LD_PRELOAD="$runtime${LD_PRELOAD:+:$LD_PRELOAD}"
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export PYTHONMALLOC=malloc PYTHONPATH="$work${PYTHONPATH:+:$PYTHONPATH}" CI=true
# The tests must exercise this build, not the installed one.
"$PY" -c '
import sys
from trustmap.observe.formats import _hubblescan, hubble_native
assert _hubblescan.__file__ == sys.argv[1], _hubblescan.__file__
assert hubble_native.AVAILABLE
' "$extension"
echo "sanitize: running tests/observe/test_hubble_native.py against $extension"
"$PY" -m pytest tests/observe/test_hubble_native.py -p no:cacheprovider -q "$@"
