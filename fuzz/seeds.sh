#!/bin/sh
# seeds.sh - gathers the seed corpora of the fuzz harnesses into a build directory.
#
#   fuzz/seeds.sh SRCDIR OUTDIR
# Fills OUTDIR/fuzz_mime (messages: t/**/*.eml, samples/*.eml, and the corpus's .eml files),
# OUTDIR/fuzz_ical and OUTDIR/fuzz_restrict (bare iCalendar: t/**/*.ics and the corpus's .ics
# files), OUTDIR/fuzz_tnef (TNEF streams: t/**/*.tnef and the corpus's .tnef and .dat files) and
# OUTDIR/fuzz_config (t/**/*.conf, samples/*.conf, etc/itip-milter.conf), each file named by
# its content hash so that duplicates collapse; the saved crash inputs under
# t/fuzz-regress/<harness>/ join their harness's seeds.  The corpus ($SRCDIR/../shared/corpus) is used
# where it exists and skipped, saying so, where not.  Only copies: never writes to SRCDIR.
set -eu
SRC=$1
OUT=$2
CORPUS="$SRC/../shared/corpus"

gather() { # gather HARNESS PATTERN DIR...
    h=$1; pat=$2; shift 2
    mkdir -p "$OUT/$h"
    find "$@" -type f -name "$pat" 2>/dev/null | while read -r f; do
        cp "$f" "$OUT/$h/$(sha1sum <"$f" | cut -c1-16)"
    done
}

[ -d "$CORPUS" ] || { echo "seeds.sh: $CORPUS absent: seeding from t/ and samples/ only" >&2; CORPUS=; }
gather fuzz_mime '*.eml' "$SRC/t" "$SRC/samples" ${CORPUS:+"$CORPUS"}
gather fuzz_ical '*.ics' "$SRC/t" ${CORPUS:+"$CORPUS"}
gather fuzz_restrict '*.ics' "$SRC/t" ${CORPUS:+"$CORPUS"}
gather fuzz_config '*.conf' "$SRC/t" "$SRC/samples" "$SRC/etc"
# TNEF streams: t/tnef/seeds/ (written by t/tnef/gen.py --seeds) and the corpus's tnef/
gather fuzz_tnef '*.tnef' "$SRC/t" ${CORPUS:+"$CORPUS"}
gather fuzz_tnef '*.dat' "$SRC/t" ${CORPUS:+"$CORPUS"}
for h in fuzz_mime fuzz_ical fuzz_config fuzz_restrict fuzz_tnef; do
    gather "$h" '*' "$SRC/t/fuzz-regress/$h"      # what once crashed seeds its neighbourhood
    echo "seeds.sh: $h: $(find "$OUT/$h" -type f | wc -l) seeds in $OUT/$h"
done
