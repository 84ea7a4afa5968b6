#!/bin/sh
# run.sh - the benchmark report (`make bench`): the machine, the engine's throughput, and
# Postfix throughput with and without itip-milter.  A report, not a test: nothing is asserted
# and nothing here fails on slow figures.
#
#   bench/run.sh SRCDIR BUILDDIR
# Engine figures: bench/bench_engine over the calendar messages of t/ and samples/ and the
# corpus's .eml files (calendar mail), the corpus's .ics files (bare iCalendar), and generated
# 10 MB non-calendar messages.  The cost of counting a message for the metrics:
# bench/bench_metrics (two threads on the same counters).  Postfix figures: bench/postfix.sh
# (root and Postfix needed; skipped otherwise; it includes itip-milter with metrics on and
# scraped, next to the same milter without).  BENCH_MESSAGES, BENCH_ROUNDS, BENCH_IDLE,
# BENCH_SECONDS and BENCH_METRICS_CALLS tune it.
# The report goes to stdout and to BUILDDIR/bench/results.txt; bench/RESULTS.md holds the
# figures of record, copied from such a report with the analysis of missed targets.
set -u
SRC=${1:?usage: run.sh SRCDIR BUILDDIR}
BLD=${2:?usage: run.sh SRCDIR BUILDDIR}
CORPUS="$SRC/../shared/corpus"
mkdir -p "$BLD/bench"
OUT="$BLD/bench/results.txt"

{
    echo "itip-milter benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)," \
        "$(nproc) cores, $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
        "kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "build: $(grep -m1 '^CFLAGS = ' "$BLD/Makefile" | sed 's/^CFLAGS = //')," \
        "libical $(pkg-config --modversion libical 2>/dev/null)," \
        "Postfix $(postconf -h mail_version 2>/dev/null)"
    [ -d "$CORPUS" ] || echo "(corpus $CORPUS absent: t/ and samples/ only)"
    echo
    eml=$(find "$SRC/t" "$SRC/samples" ${CORPUS:+"$CORPUS"} -name '*.eml' -type f 2>/dev/null | sort)
    ics=$(find ${CORPUS:+"$CORPUS"} -name '*.ics' -type f 2>/dev/null | sort)
    # shellcheck disable=SC2086
    "$BLD/bench/bench_engine" -t "${BENCH_SECONDS:-2}" $eml $ics
    echo
    "$BLD/bench/bench_metrics" -n "${BENCH_METRICS_CALLS:-10000000}"
    echo
    sh "$SRC/bench/postfix.sh" "$SRC" "$BLD" "${BENCH_MESSAGES:-1000}" "${BENCH_ROUNDS:-3}" \
        "${BENCH_IDLE:-100}"
} 2>&1 | tee "$OUT"
