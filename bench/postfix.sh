#!/bin/sh
# postfix.sh - Postfix throughput with and without itip-milter, and the milter's memory per
# connection (part of make bench; a report, not a test: it asserts nothing).
#
#   bench/postfix.sh SRCDIR BUILDDIR [MESSAGES] [ROUNDS] [IDLE_SESSIONS]
# A private Postfix (t/lib/postfix.sh) with smtpd listeners on loopback: one without a milter,
# one with itip-milter on a unix socket, one with a second itip-milter on an inet socket, and,
# to tell the milter protocol's own cost from the engine's, two with bench/null-milter (a
# milter that does nothing) on unix sockets: one registering the same callbacks as itip-milter,
# one "lean" (no-reply for every event but end of message); the next hop is an smtp-sink that
# only counts.  For each round, each kind of traffic
# (all-plain: samples/plain.eml; all-calendar: samples/request-clean.eml) and each listener,
# smtp-source sends MESSAGES (default 1000) over 10 parallel sessions (one message each); the
# time is smtp-source's, since the milter sits in the accepting path, and the queue is drained
# and the deliveries counted (status=sent) between runs.  Each milter's CPU time per message is
# read from /proc.  The listeners are interleaved within a round, so that other load on the
# machine hits them alike; the median of ROUNDS (default 3) is reported, with each milter's
# ratio to no-milter.
# Metrics: a third itip-milter on a unix socket runs with `metrics` on, scraped once a second
# during the runs as Prometheus would; it is interleaved with the others, and its ratio to the
# same milter without metrics (unix) is reported, for throughput and for CPU per message; its
# messages_total at the end is checked against the messages sent to it.
# Then IDLE_SESSIONS (default 100) SMTP sessions are opened to the unix-milter listener and held
# after RCPT TO; the milter's RSS with and without them gives its memory per connection.
# Needs root and the postfix package.  Loopback only; every wait is bounded.
set -u
SRC=${1:?usage: postfix.sh SRCDIR BUILDDIR [MESSAGES] [ROUNDS] [IDLE_SESSIONS]}
BLD=${2:?usage: postfix.sh SRCDIR BUILDDIR [MESSAGES] [ROUNDS] [IDLE_SESSIONS]}
MSGS=${3:-1000}
ROUNDS=${4:-3}
IDLE=${5:-100}
top_srcdir=$SRC
. "$SRC/t/lib/tap.sh"
. "$SRC/t/lib/postfix.sh"
PATH="$PATH:/usr/sbin"
PY=${PYTHON3:-python3}
MILTER="$BLD/itip-milter"

[ "$(id -u)" -eq 0 ] || { echo "postfix bench: needs root (a private Postfix): skipped"; exit 0; }
for c in postfix postconf smtp-source smtp-sink "$PY"; do
    command -v "$c" >/dev/null 2>&1 || { echo "postfix bench: $c not found: skipped"; exit 0; }
done
[ -x "$MILTER" ] || { echo "postfix bench: $MILTER not built"; exit 2; }
[ -x "$BLD/bench/null-milter" ] || { echo "postfix bench: bench/null-milter not built"; exit 2; }

T=$(mktemp -d /tmp/itip-bench.XXXXXX)
chmod 755 "$T"
trap 'pf_stop "$T/pf"; bg_cleanup; rm -rf "$T"' EXIT
P0=$(free_port); P1=$(free_port); P2=$(free_port); P3=$(free_port); P4=$(free_port)
P5=$(free_port); SINK=$(free_port); MPORT=$(free_port); HPORT=$(free_port)
NULLM="$BLD/bench/null-milter"
: >"$T/m.conf"
printf 'metrics = "127.0.0.1:%s";\n' "$HPORT" >"$T/metrics.conf"

bg_start M1 "$MILTER" -f -c "$T/m.conf" -p "unix:$T/milter.sock" 2>"$T/milter1.log"
bg_start M2 "$MILTER" -f -c "$T/m.conf" -p "inet:$MPORT@127.0.0.1" 2>"$T/milter2.log"
bg_start M3 "$NULLM" "unix:$T/null.sock" 2>"$T/null.log"
bg_start M4 "$NULLM" "unix:$T/lean.sock" lean 2>"$T/lean.log"
bg_start M5 "$MILTER" -f -c "$T/metrics.conf" -p "unix:$T/metrics.sock" 2>"$T/milter5.log"
wait_for 10 sh -c "grep -q 'starting' '$T/milter1.log' && grep -q starting '$T/milter2.log' &&
                   grep -q 'metrics: serving' '$T/milter5.log'" ||
    { echo "postfix bench: the milters did not start"; exit 2; }
wait_for 10 sh -c "[ -S '$T/null.sock' ] && [ -S '$T/lean.sock' ]" ||
    { echo "postfix bench: null-milter did not start"; exit 2; }
wait_for 10 test -S "$T/metrics.sock" || { echo "postfix bench: the metrics milter did not start"; exit 2; }
chmod 666 "$T/milter.sock" "$T/null.sock" "$T/lean.sock" "$T/metrics.sock"
bg_start SINKPID smtp-sink -u postfix "127.0.0.1:$SINK" 200

pf_setup "$T/pf" "$P0" "$SINK" ""
postconf -c "$T/pf/etc" -e "default_destination_concurrency_limit = 20" \
    "smtp_destination_concurrency_limit = 20" "default_process_limit = $((IDLE + 50))"
postconf -c "$T/pf/etc" -M \
    "127.0.0.1:$P1/inet=127.0.0.1:$P1 inet n - n - - smtpd -o smtpd_milters=unix:$T/milter.sock"
postconf -c "$T/pf/etc" -M \
    "127.0.0.1:$P2/inet=127.0.0.1:$P2 inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:$MPORT"
postconf -c "$T/pf/etc" -M \
    "127.0.0.1:$P3/inet=127.0.0.1:$P3 inet n - n - - smtpd -o smtpd_milters=unix:$T/null.sock"
postconf -c "$T/pf/etc" -M \
    "127.0.0.1:$P4/inet=127.0.0.1:$P4 inet n - n - - smtpd -o smtpd_milters=unix:$T/lean.sock"
postconf -c "$T/pf/etc" -M \
    "127.0.0.1:$P5/inet=127.0.0.1:$P5 inet n - n - - smtpd -o smtpd_milters=unix:$T/metrics.sock"
touch -d '-1 min' "$T/pf/etc/main.cf" "$T/pf/etc/master.cf"
pf_start "$T/pf" || { echo "postfix bench: Postfix did not start"; cat "$T/pf/"*.log; exit 2; }
wait_for 20 "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])))' "$P2"

sent() { cat "$T/pf/maillog" 2>/dev/null | awk '/ status=sent / { n++ } END { print n + 0 }'; }
now() { date +%s.%N; }
ticks() { [ -n "$1" ] && awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
HZ=$(getconf CLK_TCK)
idle() { [ -z "$(find "$T/pf/spool/incoming" "$T/pf/spool/active" "$T/pf/spool/deferred" -type f 2>/dev/null | head -1)" ]; }

# run PORT FILE [MILTER-PID]: sends MSGS messages of FILE through the listener on PORT; prints
# "messages/s milter-CPU-ms-per-message".  The time is smtp-source's (the milter sits in the
# accepting path); the queue is then drained outside the timing, and the deliveries counted.
run() {
    before=$(sent)
    c0=$(ticks "${3:-}")
    t0=$(now)
    smtp-source -s 10 -m "$MSGS" -F "$2" -f sender@example.net -t rcpt@example.com \
        "127.0.0.1:$1" >"$T/source.log" 2>&1
    t1=$(now)
    c1=$(ticks "${3:-}")
    wait_for 300 idle
    sleep 0.5
    [ "$(sent)" -ge $((before + MSGS)) ] ||
        echo "postfix bench: only $(($(sent) - before)) of $MSGS delivered (port $1)" >&2
    awk -v n="$MSGS" -v a="$t0" -v b="$t1" -v c="$((c1 - c0))" -v hz="$HZ" \
        'BEGIN { printf "%.1f %.3f\n", n / (b - a), c * 1000 / hz / n }'
}

median() { awk '{ print $1 }' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
cpu() { awk '{ s += $2 } END { printf "%.2f", s / NR }'; }

# the scraper of the metrics milter: GET /metrics once a second while $T/scrape exists
: >"$T/scrape"
"$PY" - "$HPORT" "$T/scrape" "$T/last-scrape" <<'PYEOF' &
import os, sys, time, urllib.request
port, flag, out = sys.argv[1], sys.argv[2], sys.argv[3]
n = 0
deadline = time.time() + 7200
while os.path.exists(flag) and time.time() < deadline:
    try:
        body = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port, timeout=5).read()
        n += 1
        with open(out + ".tmp", "wb") as f:
            f.write(b"# scrapes %d\n" % n + body)
        os.rename(out + ".tmp", out)
    except OSError:
        pass
    time.sleep(1)
PYEOF
SCRAPER=$!
BG_PIDS="$BG_PIDS $SCRAPER"

# warm-up: every listener once, so that process start-up is not measured
ALL=$MSGS; MSGS=50
for p in "$P0" "$P1" "$P2" "$P3" "$P4" "$P5"; do run "$p" "$SRC/samples/plain.eml" >/dev/null; done
MSGS=$ALL

echo "Postfix throughput: $MSGS messages per run, 10 parallel SMTP sessions, median of $ROUNDS rounds"
for traffic in plain calendar; do
    case $traffic in
    plain) f="$SRC/samples/plain.eml" ;;
    calendar) f="$SRC/samples/request-clean.eml" ;;
    esac
    : >"$T/r.none"; : >"$T/r.unix"; : >"$T/r.inet"; : >"$T/r.null"; : >"$T/r.lean"; : >"$T/r.metrics"
    r=0
    while [ $r -lt "$ROUNDS" ]; do
        run "$P0" "$f" >>"$T/r.none"
        run "$P1" "$f" "$M1" >>"$T/r.unix"
        run "$P2" "$f" "$M2" >>"$T/r.inet"
        run "$P3" "$f" "$M3" >>"$T/r.null"
        run "$P4" "$f" "$M4" >>"$T/r.lean"
        run "$P5" "$f" "$M5" >>"$T/r.metrics"
        r=$((r + 1))
    done
    n0=$(median <"$T/r.none"); n1=$(median <"$T/r.unix"); n2=$(median <"$T/r.inet")
    n3=$(median <"$T/r.null"); n4=$(median <"$T/r.lean")
    n5=$(median <"$T/r.metrics")
    c1=$(cpu <"$T/r.unix"); c2=$(cpu <"$T/r.inet"); c3=$(cpu <"$T/r.null"); c4=$(cpu <"$T/r.lean")
    c5=$(cpu <"$T/r.metrics")
    awk -v t="$traffic" -v a="$n0" -v b="$n1" -v c="$n2" -v d="$n3" -v e="$n4" -v c1="$c1" \
        -v c2="$c2" -v c3="$c3" -v c4="$c4" 'BEGIN {
        printf "  %-8s no milter %6.1f msg/s | itip-milter unix %6.1f (%.2f), inet %6.1f (%.2f), inet/unix %.2f\n",
            t, a, b, b / a, c, c / a, c / b
        printf "           null-milter unix %6.1f (%.2f), lean null-milter unix %6.1f (%.2f)\n",
            d, d / a, e, e / a
        printf "           milter CPU per message: itip unix %s ms, itip inet %s ms, null %s ms, lean %s ms\n",
            c1, c2, c3, c4 }'
    awk -v a="$n0" -v b="$n1" -v m="$n5" -v c1="$c1" -v c5="$c5" 'BEGIN {
        printf "           metrics on (unix, scraped every 1 s) %6.1f msg/s (%.2f); on/off %.2f msg/s, CPU per message %s ms vs %s ms (%.2f)\n",
            m, m / a, m / b, c5, c1, (c1 > 0 ? c5 / c1 : 0) }'
    for k in none unix inet null lean metrics; do printf ' %s [%s]' "$k" "$(awk '{ printf "%s ", $1 }' "$T/r.$k")"; done |
        sed 's/^/           rounds (msg\/s):/'
    echo
done
grep -q "ERROR\|fatal" "$T/milter1.log" "$T/milter2.log" "$T/milter5.log" && echo "  (milter log has errors)"
rm -f "$T/scrape"
wait "$SCRAPER" 2>/dev/null
M5SENT=$((50 + 2 * ROUNDS * MSGS))
M5SEEN=$(awk '$1 == "itip_milter_messages_total" { print $2 }' "$T/last-scrape" 2>/dev/null)
echo "Metrics milter: $(sed -n 's/^# scrapes //p' "$T/last-scrape" 2>/dev/null) scrapes;" \
    "last messages_total ${M5SEEN:-?} of $M5SENT messages sent to it (the last scrape may miss the final second)"
echo

# ---- memory per connection ----
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
conns() { ss -x 2>/dev/null | grep -c "$T/milter.sock"; }
threads() { awk '/^Threads/ { print $2 }' "/proc/$1/status"; }
sleep 1
R0=$(rss "$M1"); TH0=$(threads "$M1")
"$PY" - "$P1" "$IDLE" "$T/held" <<'PYEOF' &
import socket, sys, time, os
port, n, flag = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
socks = []
def cmd(f, s, line):
    s.sendall(line.encode() + b"\r\n")
    r = f.readline()
    while r[3:4] == b"-":
        r = f.readline()
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    f = s.makefile("rb")
    f.readline()
    cmd(f, s, "EHLO bench.example"); cmd(f, s, "MAIL FROM:<s%d@example.net>" % i)
    cmd(f, s, "RCPT TO:<r@example.com>")
    socks.append((s, f))
open(flag, "w").close()
deadline = time.time() + 60
while os.path.exists(flag) and time.time() < deadline:
    time.sleep(0.2)
for s, f in socks:
    try:
        cmd(f, s, "QUIT")
    except OSError:
        pass
    s.close()
PYEOF
HOLDER=$!
wait_for 60 test -f "$T/held"
sleep 2
R1=$(rss "$M1"); TH1=$(threads "$M1"); C1=$(conns)
rm -f "$T/held"
wait "$HOLDER"
awk -v n="$IDLE" -v c="$C1" -v a="$R0" -v b="$R1" -v ta="$TH0" -v tb="$TH1" 'BEGIN {
    printf "Milter memory: RSS %d KiB idle, %d KiB with %d SMTP sessions held after RCPT TO " \
           "(%d milter socket connections, threads %d -> %d): %.1f KiB per connection\n",
           a, b, n, c, ta, tb, (b - a) / n }'
