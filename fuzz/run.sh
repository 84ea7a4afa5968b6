#!/bin/sh
# run.sh - runs each libFuzzer harness for a bounded time on its seeds (`make fuzz-run`).
#
#   fuzz/run.sh SRCDIR BUILDDIR [SECONDS] [HARNESS...]
# The harnesses must have been built (make fuzz: BUILDDIR/fuzz/fuzz_*).  Seeds are gathered
# fresh by fuzz/seeds.sh into BUILDDIR/fuzz/seeds/<harness>; what the fuzzer finds new goes to
# BUILDDIR/fuzz/corpus/<harness> (kept between runs, never in the source tree).  Each harness
# runs SECONDS (default 60) on one worker.  A crash, leak, sanitizer report or timeout is
# saved by libFuzzer under BUILDDIR/fuzz/crashes/<harness>/ and copied to
# SRCDIR/t/fuzz-regress/<harness>/ (where that is writable) so that it becomes a regression
# file that `make check` replays (t/fuzz-regress.sh); commit it with the fix.
# Prints one line per harness and a closing "fuzz: N harnesses, N clean, N crashed".
# Exit status: 0 when every harness ran clean, 1 otherwise, 2 on usage or a missing harness.
set -u
SRC=${1:?usage: run.sh SRCDIR BUILDDIR [SECONDS] [HARNESS...]}
BLD=${2:?usage: run.sh SRCDIR BUILDDIR [SECONDS] [HARNESS...]}
SECS=${3:-60}
shift 2
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- fuzz_mime fuzz_ical fuzz_config fuzz_restrict fuzz_tnef
F="$BLD/fuzz"

sh "$SRC/fuzz/seeds.sh" "$SRC" "$F/seeds" || exit 2
clean=0; crashed=0
for h in "$@"; do
    [ -x "$F/$h" ] || { echo "run.sh: $F/$h not built (make fuzz)" >&2; exit 2; }
    case $h in
    fuzz_mime) maxlen=65536 ;;
    fuzz_ical|fuzz_restrict) maxlen=32768 ;;
    fuzz_tnef) maxlen=16384 ;;
    *) maxlen=4096 ;;
    esac
    dict=
    [ -f "$SRC/fuzz/$h.dict" ] && dict="-dict=$SRC/fuzz/$h.dict"
    [ "$h" = fuzz_restrict ] && dict="-dict=$SRC/fuzz/fuzz_ical.dict"   # iCalendar too
    mkdir -p "$F/corpus/$h" "$F/crashes/$h"
    rm -f "$F/crashes/$h"/*
    log="$F/$h.log"
    # shellcheck disable=SC2086
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
    LSAN_OPTIONS=suppressions="$SRC/fuzz/lsan.supp":print_suppressions=0 "$F/$h" -max_total_time="$SECS" \
        -max_len=$maxlen -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 $dict \
        -artifact_prefix="$F/crashes/$h/" "$F/corpus/$h" "$F/seeds/$h" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    if [ $rc -eq 0 ]; then
        clean=$((clean + 1))
        echo "fuzz: $h: clean, ${runs:-?} inputs in $SECS s (${cov:-cov: ?})"
        continue
    fi
    crashed=$((crashed + 1))
    echo "fuzz: $h: FAILED (exit $rc), log $log:"
    grep -m1 -A25 'ERROR\|runtime error\|fuzz: \|deadly signal\|timeout' "$log" | sed 's/^/    /'
    for a in "$F/crashes/$h"/*; do
        [ -f "$a" ] || continue
        dst="$SRC/t/fuzz-regress/$h"
        if mkdir -p "$dst" 2>/dev/null && cp "$a" "$dst/" 2>/dev/null; then
            echo "fuzz: $h: saved $dst/$(basename "$a") (commit it with the fix)"
        else
            echo "fuzz: $h: crash input $a (copy it to t/fuzz-regress/$h/)"
        fi
    done
done
echo "fuzz: $# harnesses, $clean clean, $crashed crashed (${SECS} s each)"
[ $crashed -eq 0 ]
