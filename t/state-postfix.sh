#!/bin/sh
# state-postfix.sh - the stateful rules end to end through a real Postfix: KB Q202105.
#
# An organizer's REQUEST goes out through Postfix and itip-milter (delivered, recorded in the
# store); the attendee's REPLY comes back from a server whose clock is five minutes slow (its
# DTSTAMP and Date five minutes before the REQUEST's DTSTAMP) and is flagged
# reply-dtstamp-not-after-request in the delivered copy (degrade: tagged).  The messages are
# made here with the current time, since the milter uses the real clock.
#   1. one milter with an LMDB store;
#   2. two milter processes sharing one redis-server started here on loopback with a private
#      configuration: the REQUEST through milter A, the REPLY through milter B;
#   3. store failures: an LMDB path that cannot be a directory, and the redis-server stopped
#      under a running milter - mail is delivered, X-ITIP-Result says the stateful rules were
#      skipped, and the milter logs one line about the store, not one per message; with the
#      redis-server back, the milters use it again.
# Also: reloads (same state settings keep the store, new ones open another, a corrupt LMDB
# file is moved aside and logged), and what is recorded (a quarantined REQUEST is not, the
# same under dry_run is).
# One private Postfix (t/lib/postfix.sh) with one smtpd port per milter (smtpd_milters set
# per service in master.cf), an smtp-sink as next hop.  Needs root and the postfix package;
# part 2 and the redis half of part 3 need redis-server (skipped, saying so, without it).
# TAP output; KEEP=1 keeps the temporary directory (logs, queue, delivered copies).
# shellcheck disable=SC2154  # lmdb_port, ra_pid ...: set by bg_start and start_milter (eval)
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/t/lib/tap.sh"
. "$top_srcdir/t/lib/postfix.sh"
. "$top_srcdir/t/lib/sink.sh"
MILTER="$top_builddir/itip-milter"
PY="${PYTHON3:-python3}"
SEND="$top_srcdir/t/lib/smtpsend.py"

pf_require postfix postconf smtp-sink
REDIS=$(command -v redis-server 2>/dev/null || true)

T=$(mktemp -d /tmp/its.XXXXXX)
chmod 755 "$T"
trap 'pf_stop "$T/pf"; bg_cleanup; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
SINK=$(free_port)
FINDING=reply-dtstamp-not-after-request

skip() { n=$((n + 1)); echo "ok $n # SKIP $*"; }

# gen TAG: $T/TAG-request.eml (DTSTAMP and Date now) and $T/TAG-reply.eml (the attendee's
# Accept from a clock five minutes slow: DTSTAMP and Date now - 300 s); a UID of their own.
gen() {
    "$PY" - "$T" "$1" 300 <<'PYEOF'
import sys, time
out, tag, skew = sys.argv[1], sys.argv[2], int(sys.argv[3])
now = int(time.time())
def stamp(t): return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t))
def date(t): return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(t))
uid = "q202105-%s-%d@example.com" % (tag, now)
start = now - now % 3600 + 7 * 86400
common = ("DTSTART:%s\r\nDTEND:%s\r\nSEQUENCE:0\r\nSUMMARY:Budget review\r\n"
          % (stamp(start), stamp(start + 3600)))
def message(frm, to, subject, msgid, t, method, body):
    cal = ("BEGIN:VCALENDAR\r\nPRODID:-//itip-milter//tests//EN\r\nVERSION:2.0\r\n"
           "METHOD:%s\r\nBEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:%s\r\n%s%sEND:VEVENT\r\n"
           "END:VCALENDAR\r\n" % (method, uid, stamp(t), common, body))
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/calendar; charset=utf-8; method=%s\r\n"
            "Content-Transfer-Encoding: 7bit\r\n\r\n%s"
            % (frm, to, subject, date(t), msgid, method, cal))
olivia = "Olivia Organizer <olivia@example.com>"
arthur = "Arthur Attendee <arthur@partner.example>"
with open("%s/%s-request.eml" % (out, tag), "w", newline="") as f:
    f.write(message(olivia, arthur, "Invitation: Budget review",
                    "%s-request@example.com" % tag, now, "REQUEST",
                    "ORGANIZER;CN=Olivia Organizer:mailto:olivia@example.com\r\n"
                    "ATTENDEE;CN=Arthur Attendee;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;"
                    "RSVP=TRUE:mailto:arthur@partner.example\r\n"))
with open("%s/%s-reply.eml" % (out, tag), "w", newline="") as f:
    f.write(message(arthur, olivia, "Accepted: Budget review",
                    "%s-reply@partner.example" % tag, now - skew, "REPLY",
                    "X-MICROSOFT-CDO-ATTENDEE-CRITICAL-CHANGE:%s\r\n"
                    "ORGANIZER:mailto:olivia@example.com\r\n"
                    "ATTENDEE;PARTSTAT=ACCEPTED:mailto:arthur@partner.example\r\n"
                    % stamp(now - skew)))
PYEOF
}

# start_milter NAME CONFIG-TEXT: milter NAME on a free port, log $T/NAME.log; sets
# NAME_port and NAME_pid; waits until it listens and has dealt with its store.
start_milter() {
    _port=$(free_port)
    printf '%s\n' "$2" >"$T/$1.conf"
    bg_start _pid "$MILTER" -f -c "$T/$1.conf" -p "inet:$_port@127.0.0.1" 2>>"$T/$1.log"
    eval "$1_port=$_port $1_pid=$_pid"
    wait_for 10 sh -c "grep -q 'starting: socket' '$T/$1.log' && grep -q 'state: ' '$T/$1.log'"
}

# add_smtpd MILTER-PORT: one more smtpd port whose smtpd_milters is that milter; prints it.
add_smtpd() {
    _p=$(free_port)
    postconf -c "$T/pf/etc" -M "127.0.0.1:$_p/inet=127.0.0.1:$_p inet n - n - - smtpd" &&
        postconf -c "$T/pf/etc" -P "127.0.0.1:$_p/inet/smtpd_milters=inet:127.0.0.1:$1"
    echo "$_p"
}

# send PORT FROM RCPT FILE...: every message must get 250; waits until the queue is idle.
send() {
    _port=$1
    shift
    "$PY" "$SEND" 127.0.0.1 "$_port" "$@" >"$T/sent" 2>&1
    sed 's/^/# /' "$T/sent"
    [ "$(awk '$2 != 250' "$T/sent" | wc -l)" -eq 0 ] && pf_wait_idle "$T/pf"
}
out() { send "$1" olivia@example.com arthur@partner.example "$T/$2-request.eml"; }
back() { send "$1" arthur@partner.example olivia@example.com "$T/$2-reply.eml"; }

# header FILE NAME: the values of header NAME in FILE, unfolded, one per line.
header() {
    awk -v n="$2:" 'done { next } /^$/ { done = 1; next }
        /^[ \t]/ { if (keep) v = v " " substr($0, 2); next }
        { if (keep) print v; keep = index($0, n) == 1; v = substr($0, length(n) + 2) }
        END { if (keep) print v }' "$1"
}
delivered() { sink_find "$T/sink" "$1"; }

# flagged TAG NAME: the REPLY of TAG was delivered with the Q202105 finding
flagged() {
    F=$(delivered "$1-reply@partner.example")
    [ -n "$F" ] && header "$F" X-ITIP-Finding | grep -q "^$FINDING; severity=degrade; "
    ok $? "$2: the REPLY from a clock five minutes slow is delivered with X-ITIP-Finding: $FINDING"
    [ -n "$F" ] && header "$F" X-ITIP-Result | grep -q "^tag (degrade: .*$FINDING"
    ok $? "$2: its X-ITIP-Result says tag (degrade: ... $FINDING ...)"
}
# passed TAG NAME: the REQUEST of TAG was delivered with X-ITIP-Result: pass, no state note
passed() {
    F=$(delivered "$1-request@example.com")
    [ -n "$F" ] && [ "$(header "$F" X-ITIP-Result)" = "pass method=REQUEST uid=$(
        sed -n 's/^UID://p' "$T/$1-request.eml" | tr -d '\r')" ]
    ok $? "$2: the REQUEST went out with X-ITIP-Result: pass (no state note)"
}
# skipped MESSAGE-ID NAME: that message was delivered, its X-ITIP-Result ending with a note
# that the stateful rules were skipped
skipped() {
    F=$(delivered "$1")
    [ -n "$F" ] && header "$F" X-ITIP-Result | grep -q "; .*skipped"
    ok $? "$2: delivered, X-ITIP-Result notes that the stateful rules were skipped"
}

# ---- Postfix, the sink, the LMDB milter ----
start_milter lmdb "state = { backend = \"lmdb\"; path = \"$T/lmdb\"; };"
ok $? "milter with state.backend = lmdb started"
grep -q "state: using the lmdb store $T/lmdb" "$T/lmdb.log"
ok $? "its log names the backend and the path"
P_LMDB=$(free_port)
pf_setup "$T/pf" "$P_LMDB" "$SINK" "inet:127.0.0.1:$lmdb_port"
: >"$T/notadir"                        # a file where the store's parent directory should be
start_milter broken "state = { backend = \"lmdb\"; path = \"$T/notadir/state\"; };"
P_BROKEN=$(add_smtpd "$broken_port")
if [ -n "$REDIS" ]; then
    RPORT=$(free_port)
    mkdir "$T/redis"
    bg_start REDIS_PID "$REDIS" --port "$RPORT" --bind 127.0.0.1 --save '' \
        --appendonly no --dir "$T/redis" --daemonize no --logfile "$T/redis/log"
    wait_for 10 "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])))' "$RPORT"
    ok $? "redis-server on 127.0.0.1:$RPORT (private configuration, no persistence)"
    # generous timeouts: a loaded CI machine (sanitizer build) must not turn into a store failure
    RCONF="state = { backend = \"redis\"; host = \"127.0.0.1\"; port = $RPORT; connect_timeout = 5000; timeout = 5000; };"
    start_milter ra "$RCONF"
    start_milter rb "$RCONF"
    grep -q "state: using the redis store 127.0.0.1:$RPORT db 0" "$T/ra.log" &&
        grep -q "state: using the redis store 127.0.0.1:$RPORT db 0" "$T/rb.log"
    ok $? "two milters with state.backend = redis, sharing it; their logs name host and port"
    P_RA=$(add_smtpd "$ra_port")
    P_RB=$(add_smtpd "$rb_port")
fi
touch -d '-1 min' "$T/pf/etc/main.cf" "$T/pf/etc/master.cf"
sink_start "$T/sink" "$SINK"
pf_start "$T/pf"; ok $? "private Postfix started, one smtpd port per milter"
for p in $P_LMDB $P_BROKEN ${P_RA:-} ${P_RB:-}; do
    wait_for 10 "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])))' "$p" ||
        echo "# smtpd port $p does not answer"
done

# ---- 1. KB Q202105 with the LMDB store ----
gen l1
out "$P_LMDB" l1; ok $? "lmdb: the REQUEST is accepted and leaves the queue"
passed l1 lmdb
back "$P_LMDB" l1; ok $? "lmdb: the REPLY is accepted and leaves the queue"
flagged l1 lmdb
[ -f "$T/lmdb/data.mdb" ]; ok $? "lmdb: the store file exists ($T/lmdb/data.mdb)"
grep -q "method=REQUEST .*state=ok" "$T/lmdb.log" && grep -q "method=REPLY .*state=ok" "$T/lmdb.log"
ok $? "lmdb: the milter's log lines say state=ok"

# reload: the same state settings keep the open store; new ones open another; a corrupt
# LMDB file is moved aside with a log line
reload() { # reload NAME CONFIG-TEXT: SIGUSR1, waits for the milter to say it reloaded
    _before=$(grep -c 'configuration reloaded' "$T/$1.log")
    printf '%s\n' "$2" >"$T/$1.conf"
    eval "kill -USR1 \$$1_pid"
    wait_for 10 sh -c "[ \$(grep -c 'configuration reloaded' '$T/$1.log') -gt $_before ]"
}
reload lmdb "state = { backend = \"lmdb\"; path = \"$T/lmdb\"; }; dry_run = false;"
[ "$(grep -c 'state: ' "$T/lmdb.log")" -eq 1 ]
ok $? "reload with the same state settings: the open store is kept (no new state line)"
mkdir "$T/lmdb2"
head -c 65536 /dev/urandom >"$T/lmdb2/data.mdb"
reload lmdb "state = { backend = \"lmdb\"; path = \"$T/lmdb2\"; };"
grep -q "reload: state settings changed: opening the store" "$T/lmdb.log" &&
    grep -q "state: using the lmdb store $T/lmdb2" "$T/lmdb.log"
ok $? "reload with a new state.path: the new store is opened and logged"
grep -q "state: .*corrupt" "$T/lmdb.log" && [ -n "$(find "$T/lmdb2" -name 'data.mdb.corrupt-*')" ]
ok $? "a corrupt LMDB file is moved aside, and the milter logs it"
gen l2
out "$P_LMDB" l2 && back "$P_LMDB" l2
flagged l2 "lmdb after the reload"

# what is recorded: a quarantined REQUEST never reached the attendee and is not recorded (its
# REPLY is not compared with it); under dry_run it is delivered, so it is recorded
gen q1
sed -i 's/method=REQUEST\r$/method=PUBLISH\r/' "$T/q1-request.eml"  # would-fail: quarantine
out "$P_LMDB" q1 && back "$P_LMDB" q1
ok $? "quarantine: the defective REQUEST and the REPLY are accepted"
[ -z "$(delivered q1-request@example.com)" ] &&
    grep -q "method=REQUEST uid=q202105-q1-.* action=quarantine .*state=ok" "$T/lmdb.log"
ok $? "quarantine: the defective REQUEST is held, not delivered"
F=$(delivered q1-reply@partner.example)
[ -n "$F" ] && ! header "$F" X-ITIP-Finding | grep -q "^$FINDING"
ok $? "quarantine: the held REQUEST was not recorded, its REPLY is not flagged"
reload lmdb "state = { backend = \"lmdb\"; path = \"$T/lmdb2\"; }; dry_run = true;"
gen d1
sed -i 's/method=REQUEST\r$/method=PUBLISH\r/' "$T/d1-request.eml"
out "$P_LMDB" d1 && back "$P_LMDB" d1
F=$(delivered d1-request@example.com)
[ -n "$F" ] && header "$F" X-ITIP-Result | grep -q "dry-run=quarantine"
ok $? "dry_run: the defective REQUEST is delivered (dry-run=quarantine)"
flagged d1 "dry_run"

# ---- 2. two milters sharing one redis ----
if [ -n "$REDIS" ]; then
    gen r1
    out "$P_RA" r1; ok $? "redis: the REQUEST is accepted through milter A"
    passed r1 redis
    back "$P_RB" r1; ok $? "redis: the REPLY is accepted through milter B"
    flagged r1 "redis, milter B"
    grep -q "method=REPLY .*rules=[^ ]*$FINDING" "$T/rb.log" &&
        ! grep -q "method=REPLY" "$T/ra.log"
    ok $? "redis: milter B flagged the REPLY, milter A never saw it"
else
    skip "redis-server not installed (Debian package redis-server): two milters sharing redis"
fi

# ---- 3. store failures: mail flows, X-ITIP-Result says so, one log line ----
grep -q "state: cannot open the lmdb store $T/notadir/state: .*stateful rules are skipped" \
    "$T/broken.log"
ok $? "unusable lmdb path: the milter starts anyway and logs why it runs without state"
gen b1
out "$P_BROKEN" b1 && back "$P_BROKEN" b1
ok $? "unusable lmdb path: both messages accepted"
skipped b1-request@example.com "unusable lmdb path, REQUEST"
skipped b1-reply@partner.example "unusable lmdb path, REPLY"
[ "$(grep -c 'state: ' "$T/broken.log")" -eq 1 ] &&
    [ "$(grep -c 'method=RE.*state=skipped' "$T/broken.log")" -eq 2 ]
ok $? "unusable lmdb path: one log line about the store; state=skipped on each message's line"
if [ -n "$REDIS" ]; then
    bg_stop "$REDIS_PID"
    gen r2
    out "$P_RA" r2 && back "$P_RB" r2
    ok $? "redis-server stopped: both messages are still accepted and delivered"
    skipped r2-request@example.com "redis stopped, REQUEST through milter A"
    skipped r2-reply@partner.example "redis stopped, REPLY through milter B"
    F=$(delivered r2-reply@partner.example)
    [ -n "$F" ] && ! header "$F" X-ITIP-Finding | grep -q "^$FINDING"
    ok $? "redis stopped: no stateful finding on the REPLY"
    gen r3
    back "$P_RB" r3
    [ "$(grep -c 'state: the redis store .* fails: ' "$T/rb.log")" -eq 1 ] &&
        [ "$(grep -c 'method=REPLY .*state=skipped' "$T/rb.log")" -eq 2 ]
    ok $? "redis stopped: milter B logs the failure once for two messages, state=skipped on each"
    bg_start REDIS_PID "$REDIS" --port "$RPORT" --bind 127.0.0.1 --save '' \
        --appendonly no --dir "$T/redis" --daemonize no --logfile "$T/redis/log"
    wait_for 10 "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])))' "$RPORT"
    sleep 1.2                   # past the backend's 1 s of failing fast after a refused connect
    gen r4
    out "$P_RA" r4 && back "$P_RB" r4
    flagged r4 "redis-server restarted"
    [ "$(grep -c "state: the redis store [^ ]* db 0 works again$" "$T/rb.log")" -eq 1 ]
    ok $? "redis-server restarted: milter B logs once that the store works again"
else
    skip "redis-server not installed (Debian package redis-server): redis stopped under the milter"
fi

! grep -q "ERROR: .*Sanitizer\|runtime error:" "$T"/*.log
ok $? "no AddressSanitizer / UBSan report in the milters' output (sanitizer builds)"
done_testing
