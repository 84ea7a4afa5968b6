#!/bin/sh
# fuzz-regress.sh - replays what the fuzzers found, and the seeds, through the harnesses.
#
# t/fuzz_replay_<harness> is fuzz/fuzz_<harness>.c linked with fuzz/replay.c instead of
# libFuzzer, built by the normal compiler (and under ASan + UBSan in the sanitizer build).
# Each file under t/fuzz-regress/fuzz_<harness>/ (an input that once crashed, leaked or broke
# an invariant) is replayed on its own, one test each; then all seeds of that harness from
# t/ and samples/ in one run.  A harness aborts on a broken invariant (for fuzz_mime: chunked
# and one-shot feeding must agree; for fuzz_restrict: our restriction check and libical's
# must agree), so a regression fails here.  TAP output.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/t/lib/tap.sh"
R="$top_srcdir/t/fuzz-regress"
# leaks inside libraries we cannot fix (sanitizer build), each with its upstream reference
LSAN_OPTIONS=suppressions="$top_srcdir/fuzz/lsan.supp":print_suppressions=0
export LSAN_OPTIONS

for h in mime ical config restrict tnef; do
    bin="$top_builddir/t/fuzz_replay_$h"
    [ -x "$bin" ] || skip_all "$bin was not built"
done

replay() { # replay HARNESS FILE...: runs the replay program, its output in $T
    _h=$1; shift
    "$top_builddir/t/fuzz_replay_$_h" "$@" >"$T" 2>&1
    _rc=$?
    [ $_rc -eq 0 ] && [ "$(grep -c '^replayed ' "$T")" -eq $# ] && return 0
    sed 's/^/# /' "$T" | tail -30
    return 1
}

T=$(mktemp /tmp/itip-fuzzreg.XXXXXX)
trap 'rm -f "$T"' EXIT
for h in mime ical config restrict tnef; do
    nreg=0
    for f in "$R/fuzz_$h"/*; do
        [ -f "$f" ] || continue
        nreg=$((nreg + 1))
        replay "$h" "$f"; ok $? "fuzz_$h: regression $(basename "$f") replays cleanly"
    done
    echo "# fuzz_$h: $nreg regression file(s)"
    case $h in
    mime) seeds=$(find "$top_srcdir/t" "$top_srcdir/samples" -name '*.eml' -type f | sort) ;;
    ical|restrict) seeds=$(find "$top_srcdir/t" -name '*.ics' -type f | sort) ;;
    config) seeds=$(find "$top_srcdir/t" "$top_srcdir/samples" "$top_srcdir/etc" -name '*.conf' -type f | sort) ;;
    tnef) seeds=$(find "$top_srcdir/t" -name '*.tnef' -type f | sort) ;;
    esac
    # shellcheck disable=SC2086
    set -- $seeds
    [ $# -gt 0 ]; ok $? "fuzz_$h: seeds found ($#)"
    replay "$h" "$@"; ok $? "fuzz_$h: all $# seeds replay cleanly"
done
done_testing
