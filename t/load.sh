#!/bin/sh
# load.sh - `make check-load`: itip-milter under load and faults in front of a real Postfix.
#
# A private Postfix (t/lib/postfix.sh) with the milter over TCP, next hop an smtp-sink.
#   1. LOAD_MESSAGES (20000) messages over LOAD_SESSIONS (20) parallel SMTP sessions, one in
#      ten a calendar message (every .eml under t/rules and samples/, in turn): every message
#      Postfix accepted is delivered or held exactly once (Message-IDs counted at the sink and
#      in the hold queue); the milter's RSS and open descriptors at the end are within 10% of
#      those after the first 1000 messages (both printed).
#   2. The milter killed with SIGKILL mid-run and restarted: clients get 4xx during the gap,
#      nothing accepted is lost or doubled.
#   3. The state store failing mid-run (redis-server stopped; the LMDB file removed): mail
#      keeps flowing and the stateful rules say they were skipped.
# Bounded in time; loopback only.  Needs root, postfix and python3; TAP output.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/t/lib/tap.sh"
. "$top_srcdir/t/lib/postfix.sh"
. "$top_srcdir/t/lib/sink.sh"
MILTER="$top_builddir/itip-milter"
PY="${PYTHON3:-python3}"
GEN="$top_srcdir/t/lib/loadgen.py"
N=${LOAD_MESSAGES:-20000}
SESSIONS=${LOAD_SESSIONS:-20}
WARM=1000
[ "$N" -gt $((WARM * 2)) ] || N=$((WARM * 2))

pf_require postfix postconf postqueue smtp-sink

T=$(mktemp -d /tmp/itl.XXXXXX)
chmod 755 "$T"
REDIS_PID=""
trap 'pf_stop "$T/pf"; bg_cleanup; rm -rf "$T"' EXIT
SMTPD=$(free_port)
SINK=$(free_port)
MPORT=$(free_port)
CONF="$T/m.conf"
LOG="$T/milter.log"

find "$top_srcdir/t/rules" "$top_srcdir/samples" -name '*.eml' -type f | sort >"$T/cal.list"
echo "# $(wc -l <"$T/cal.list") calendar messages in turn, one message in ten"

start_milter() {
    : >"$LOG.start"
    bg_start MPID "$MILTER" -f -c "$CONF" -p "inet:$MPORT@127.0.0.1" 2>>"$LOG"
    wait_for 10 sh -c "grep -c 'starting: socket' '$LOG' | grep -qx '$1'"
}
# load RUN FIRST COUNT: sends, appends the per-message answers to $T/answers
load() {
    "$PY" "$GEN" 127.0.0.1 "$SMTPD" "$SESSIONS" "$3" "$1" "$T/cal.list" "$T/out.$1" "$2" |
        sed 's/^/# /'
    cat "$T/out.$1" >>"$T/answers"
}
# waits (bounded) until Postfix has delivered or held everything
idle() {
    wait_for "${1:-300}" sh -c "[ -z \"\$(find '$T/pf/spool/incoming' '$T/pf/spool/active' '$T/pf/spool/deferred' '$T/pf/spool/maildrop' -type f 2>/dev/null)\" ]"
}
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
# accounting RUN...: every accepted Message-ID of these runs is at the sink or in the hold
# queue exactly once; prints a summary
accounting() {
    for r in "$@"; do awk '$3 == 250 { print $2 }' "$T/out.$r"; done | sort >"$T/accepted"
    { grep -rhaoE '^Message-ID: <load-[^>]+>' "$T/sink" 2>/dev/null
      find "$T/pf/spool/hold" -type f -exec grep -haoE 'Message-ID: <load-[^>]+>' {} + 2>/dev/null
    } | sed 's/^Message-ID: <\(.*\)>$/\1/' | sort >"$T/seen"
    pat=$(printf '%s\n' "$@" | sed 's/.*/^load-&-/' | paste -sd'|')
    grep -E "$pat" "$T/seen" >"$T/seen.runs"
    dups=$(uniq -d "$T/seen.runs" | wc -l)
    lost=$(sort -u "$T/seen.runs" | comm -23 "$T/accepted" - | wc -l)
    extra=$(sort -u "$T/seen.runs" | comm -13 "$T/accepted" - | wc -l)
    echo "# runs $*: $(wc -l <"$T/accepted") accepted, $(wc -l <"$T/seen.runs") delivered or held," \
        "$lost lost, $dups doubled, $extra never accepted"
    [ "$lost" -eq 0 ] && [ "$dups" -eq 0 ] && [ "$extra" -eq 0 ]
}

printf 'legacy_cdo_domains = [ "legacy.example" ];\n' >"$CONF"
start_milter 1; ok $? "milter listening on inet:$MPORT@127.0.0.1"
pf_setup "$T/pf" "$SMTPD" "$SINK" "inet:127.0.0.1:$MPORT"
postconf -c "$T/pf/etc" "default_process_limit = 100" "smtpd_client_connection_count_limit = 0" \
    "smtpd_client_message_rate_limit = 0" "smtpd_client_connection_rate_limit = 0" \
    "milter_connect_timeout = 5s"
touch -d '-1 min' "$T/pf/etc/main.cf"
sink_start "$T/sink" "$SINK"
pf_start "$T/pf"; ok $? "private Postfix started" || sed "s/^/# /" "$T/pf/check.log" "$T/pf/start.log"
wait_for 10 "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])))' "$SMTPD"

# ---- 1. load, memory and descriptors ----
load warm 1 $WARM
idle; ok $? "the first $WARM messages were delivered or held (queue drained)"
RSS1=$(rss "$MPID"); FD1=$(fds "$MPID")
echo "# milter after $WARM messages: RSS $RSS1 kB, $FD1 open descriptors"
load main $((WARM + 1)) $((N - WARM))
idle; ok $? "all $N messages were delivered or held (queue drained)"
RSS2=$(rss "$MPID"); FD2=$(fds "$MPID")
echo "# milter after $N messages: RSS $RSS2 kB, $FD2 open descriptors"
accepted=$(awk '$3 == 250' "$T/out.warm" "$T/out.main" | wc -l)
[ "$accepted" -ge $((N * 99 / 100)) ]
ok $? "Postfix accepted $accepted of $N messages under load (at least 99%)"
accounting warm main; ok $? "every accepted message was delivered or held exactly once"
[ $((RSS2 * 10)) -le $((RSS1 * 11)) ] && [ $((RSS2 * 10)) -ge $((RSS1 * 9)) ]
ok $? "milter RSS within 10% of the value after $WARM messages ($RSS1 -> $RSS2 kB)"
[ $((FD2 * 10)) -le $((FD1 * 11)) ] && [ $((FD2 * 10)) -ge $((FD1 * 9)) ]
ok $? "milter descriptors within 10% of the value after $WARM messages ($FD1 -> $FD2)"
grep -q 'ERROR\|AddressSanitizer\|runtime error' "$LOG" && { ok 1 "no sanitizer report in the milter log"; sed 's/^/# /' "$LOG" | head -20; } ||
    ok 0 "no sanitizer report in the milter log"

# ---- 2. SIGKILL mid-run, restart ----
base=$(sink_count "$T/sink")
( load kill 100001 3000 ) &
LOADPID=$!
wait_for 120 sh -c "[ \$(find '$T/sink' -type f | wc -l) -ge $((base + 600)) ]"
kill -KILL "$MPID"; wait "$MPID" 2>/dev/null
echo "# milter killed with SIGKILL after $(($(sink_count "$T/sink") - base)) deliveries of this run"
sleep 3
start_milter 2; ok $? "milter restarted"
wait "$LOADPID"
idle; ok $? "queue drained after the restart"
tempfails=$(awk '$3 >= 400 && $3 < 500' "$T/out.kill" | wc -l)
[ "$tempfails" -gt 0 ]; ok $? "clients got 4xx while the milter was down ($tempfails messages)"
[ "$(awk '$3 >= 500' "$T/out.kill" | wc -l)" -eq 0 ]; ok $? "no 5xx while the milter was down"
tail -50 "$T/out.kill" | awk '$3 == 250' | grep -q .; ok $? "messages are accepted again after the restart"
accounting kill; ok $? "nothing accepted around the kill was lost or doubled"

# ---- 3. the state store failing mid-run ----
# fail_midway RUN ACTION: restarts the milter with $CONF, runs 2000 messages and does ACTION
# (a shell command) once 300 of them reached the sink; then checks the accounting and that
# calendar messages after the failure say the stateful rules were skipped.
fail_midway() {
    bg_stop "$MPID"
    starts=$(($(grep -c 'starting: socket' "$LOG") + 1))
    start_milter "$starts"; ok $? "$1: milter started with the store"
    base=$(sink_count "$T/sink")
    ( load "$1" "$2" 2000 ) &
    LOADPID=$!
    wait_for 120 sh -c "[ \$(find '$T/sink' -type f | wc -l) -ge $((base + 300)) ]"
    sh -c "$3"
    echo "# $1: store broken after $(($(sink_count "$T/sink") - base)) deliveries of this run"
    wait "$LOADPID"
    idle; ok $? "$1: queue drained"
    [ "$(awk '$3 == 250' "$T/out.$1" | wc -l)" -ge 1980 ]
    ok $? "$1: mail kept flowing ($(awk '$3 == 250' "$T/out.$1" | wc -l) of 2000 accepted)"
    accounting "$1"; ok $? "$1: every accepted message was delivered or held exactly once"
    grep -rlaE "^Message-ID: <load-$1-" "$T/sink" | xargs grep -la 'stateful rules skipped' >"$T/skipped.$1"
    [ -s "$T/skipped.$1" ]
    ok $? "$1: calendar messages after the failure say the stateful rules were skipped ($(wc -l <"$T/skipped.$1"))"
}

if command -v redis-server >/dev/null 2>&1; then
    RPORT=$(free_port)
    bg_start REDIS_PID redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$T" --daemonize no --loglevel warning
    wait_for 10 "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])))' "$RPORT"
    printf 'legacy_cdo_domains = [ "legacy.example" ];\nstate = { backend = "redis"; port = %s; };\n' \
        "$RPORT" >"$CONF"
    fail_midway redis 200001 "kill -TERM $REDIS_PID"
else
    echo "# SKIP the Redis part: redis-server is not installed (Debian package redis-server)"
fi
mkdir -p "$T/state"
printf 'legacy_cdo_domains = [ "legacy.example" ];\nstate = { backend = "lmdb"; path = "%s"; };\n' \
    "$T/state" >"$CONF"
fail_midway lmdb 300001 "rm -rf '$T/state'"

done_testing
