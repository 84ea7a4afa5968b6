#!/bin/sh
# postfix.sh - itip-milter in front of a real Postfix, end to end.
#
# A private Postfix (t/lib/postfix.sh: config dir, queue and log under a temp dir, smtpd on
# 127.0.0.1:<free port>, no chroot, next hop an smtp-sink on loopback, smtpd_milters = the
# milter over TCP, milter_default_action = tempfail).  Checks: a would-fail message is held
# ("queue_name": "hold") with our headers in the queue file; clean invitations and replies
# are delivered with X-ITIP-Result: pass; plain mail is delivered with a byte-identical body
# and no header of ours, forged copies removed; reject and tempfail reach the SMTP client;
# no ~40 ms Nagle/delayed-ACK stall per message over TCP (TCP_NODELAY, no-op callbacks);
# a TNEF (winmail.dat) response without PidLidAttendeeCriticalChange to a legacy organizer is
# held with its finding; a unix socket made with socket_mode/socket_group under umask 077 works
# for smtpd; with the milter stopped the client gets 4xx.  Needs root and the postfix package; TAP output.
# With ITIP_VALGRIND=1 (t/postfix-valgrind.sh) the milter runs under valgrind memcheck: the
# same scenario, but the latency bounds are skipped (valgrind is ~50x slower), the milter is
# stopped with SIGTERM and given time to exit, and each valgrind log must show zero errors and
# zero definitely lost bytes.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/t/lib/tap.sh"
. "$top_srcdir/t/lib/postfix.sh"
. "$top_srcdir/t/lib/sink.sh"
MILTER="$top_builddir/itip-milter"
VG=${ITIP_VALGRIND:-0}
PY="${PYTHON3:-python3}"
S="$top_srcdir/samples"
SEND="$top_srcdir/t/lib/smtpsend.py"

pf_require postfix postconf postqueue postcat smtp-sink
if [ "$VG" = 1 ]; then
    command -v valgrind >/dev/null 2>&1 || skip_all "valgrind is not installed (Debian package valgrind)"
    ldd "$MILTER" 2>/dev/null | grep -q 'libasan\|libubsan' &&
        skip_all "sanitizer build: valgrind and AddressSanitizer do not mix (the normal build runs this)"
fi

T=$(mktemp -d /tmp/itp.XXXXXX)
chmod 755 "$T"                         # smtpd (user postfix) reaches the unix socket in here
trap 'pf_stop "$T/pf"; bg_cleanup; rm -rf "$T"' EXIT
SMTPD=$(free_port)
SINK=$(free_port)
MPORT=$(free_port)
CONF="$T/m.conf"
LOG="$T/milter.log"

send() { "$PY" "$SEND" 127.0.0.1 "$SMTPD" sender@example.net - "$@"; }   # RCPT TO: the To:/Cc: addresses
code_of() { awk -v f="$1" '$1 == f { print $2 }' "$T/sent"; }
qid_of() { awk -v f="$1" '$1 == f { print $NF }' "$T/sent"; }
delivered() { sink_find "$T/sink" "$1"; }
held_once() { # held_once QID: QID is in the hold queue exactly once (postqueue -j)
    pf_queue_json "$T/pf" >"$T/queue.json"
    "$PY" - "$T/queue.json" "$1" <<'PYEOF'
import json, sys
entries = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
held = [e for e in entries if e["queue_id"] == sys.argv[2]]
sys.exit(0 if len(held) == 1 and held[0]["queue_name"] == "hold" else 1)
PYEOF
}
median_ms() { awk '{ print $3 }' "$1" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
VGN=0
start_milter() { # start_milter SOCKET: -f in the background, waits until it listens
    if [ "$VG" = 1 ]; then
        VGN=$((VGN + 1))
        bg_start MPID valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite \
            --error-exitcode=99 --num-callers=30 --log-file="$T/valgrind.$VGN.log" \
            "$MILTER" -f -c "$CONF" -p "$1" 2>>"$LOG"
        wait_for 60 sh -c "grep -q 'starting: socket $1' '$LOG'"
        return
    fi
    bg_start MPID "$MILTER" -f -c "$CONF" -p "$1" 2>>"$LOG"
    wait_for 10 sh -c "grep -q 'starting: socket $1' '$LOG'"
}
stop_milter() { # SIGTERM; under valgrind: wait for the exit and check its log
    [ "$VG" = 1 ] || { bg_stop "$MPID"; return; }
    kill -TERM "$MPID" 2>/dev/null
    wait_for 120 sh -c "! kill -0 $MPID 2>/dev/null"
    ok $? "milter under valgrind exited on SIGTERM (run $VGN)"
    wait "$MPID" 2>/dev/null
    vrc=$?
    vlog="$T/valgrind.$VGN.log"
    grep -q "ERROR SUMMARY: 0 errors" "$vlog" && [ "$vrc" -ne 99 ]
    ok $? "valgrind run $VGN: ERROR SUMMARY: 0 errors (exit $vrc)"
    ! grep -q "definitely lost: [1-9]" "$vlog" && grep -q "HEAP SUMMARY" "$vlog"
    ok $? "valgrind run $VGN: no definite leak (leak check ran)"
    grep "ERROR SUMMARY\|definitely lost:\|indirectly lost:\|possibly lost:\|in use at exit:" "$vlog" |
        sed 's/^==[0-9]*== */# /'
    grep -q "ERROR SUMMARY: 0 errors" "$vlog" || sed 's/^/# /' "$vlog" | head -150
}
reload() { # reload CONFIG-TEXT
    before=$(grep -c "configuration reloaded" "$LOG")
    printf '%s\n' "$1" >"$CONF"
    kill -USR1 "$MPID"
    wait_for 10 sh -c "[ \$(grep -c 'configuration reloaded' '$LOG') -gt $before ]"
}

printf 'legacy_cdo_domains = [ "legacy.example" ];\n' >"$CONF"
start_milter "inet:$MPORT@127.0.0.1"; ok $? "milter listening on inet:$MPORT@127.0.0.1"
pf_setup "$T/pf" "$SMTPD" "$SINK" "inet:127.0.0.1:$MPORT"
sink_start "$T/sink" "$SINK"
pf_start "$T/pf"; ok $? "private Postfix started (smtpd 127.0.0.1:$SMTPD, smtpd_milters = inet:127.0.0.1:$MPORT)"
wait_for 20 "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])))' "$SMTPD"

# ---- default actions ----
send "$S/cancel-method-mismatch.eml" "$S/request-clean.eml" "$S/reply-accept-clean.eml" \
    "$S/plain.eml" "$top_srcdir/t/milter/plain-forged.eml" >"$T/sent" 2>&1
sed 's/^/# /' "$T/sent"
[ "$(awk '$2 == 250' "$T/sent" | wc -l)" -eq 5 ]; ok $? "all five messages accepted (250)"
pf_wait_idle "$T/pf" && [ "$(sink_count "$T/sink")" -eq 4 ]
ok $? "four messages reached the next hop, none waits in the queue"

HOLD=$(qid_of "$S/cancel-method-mismatch.eml")
held_once "$HOLD"
ok $? "would-fail message $HOLD is in the hold queue (postqueue -j: \"queue_name\": \"hold\")"
postcat -c "$T/pf/etc" -hq "$HOLD" >"$T/held" 2>/dev/null
head -1 "$T/held" | grep -q "^X-ITIP-Result: quarantine (would-fail: mime-method-param-mismatch)$"
ok $? "held message: X-ITIP-Result: quarantine (...) is its first header"
grep -q "^X-ITIP-Finding: mime-method-param-mismatch; severity=would-fail; " "$T/held"
ok $? "held message: X-ITIP-Finding header"
grep -q "$HOLD: milter-hold: END-OF-MESSAGE .*milter triggers HOLD action" "$T/pf/maillog"
ok $? "Postfix logged the HOLD"
[ -z "$(delivered cancel-mismatch.1@example.com)" ]; ok $? "the held message was not delivered"

F=$(delivered request-clean.1@example.com)
[ -n "$F" ] && grep -q "^X-ITIP-Result: pass method=REQUEST uid=quarterly-planning-2026-06@example.com$" "$F"
ok $? "clean REQUEST delivered with X-ITIP-Result: pass method=REQUEST"
[ -n "$F" ] && ! grep -q "^X-ITIP-Finding" "$F"; ok $? "clean REQUEST: no X-ITIP-Finding"
F=$(delivered reply-accept-clean.1@example.net)
[ -n "$F" ] && grep -q "^X-ITIP-Result: pass method=REPLY " "$F"
ok $? "clean base64 REPLY delivered with X-ITIP-Result: pass method=REPLY"
F=$(delivered plain.1@example.com)
sed '1,/^$/d' "$S/plain.eml" >"$T/plain.body"
[ -n "$F" ] && sink_body "$F" | cmp -s - "$T/plain.body"
ok $? "plain mail delivered with a byte-identical body"
[ -n "$F" ] && ! grep -qi "^X-ITIP-" "$F"; ok $? "plain mail: no X-ITIP header"
F=$(delivered plain-forged.1@example.org)
[ -n "$F" ] && ! grep -qi "^X-ITIP-" "$F" && grep -q "^Subject: Totally checked$" "$F"
ok $? "forged X-ITIP-Result and X-ITIP-Finding removed from plain mail"
grep -q "qid=$HOLD client=127.0.0.1 from=<sender@example.net> method=CANCEL .*action=quarantine" "$LOG"
ok $? "milter log line carries Postfix's queue id"

# ---- hostile MIME: a calendar part behind a long boundary or transport padding is held ----
H="$top_srcdir/t/hostile"
send "$H/boundary-250.eml" "$H/padding-600.eml" "$H/padding-70k.eml" >"$T/sent.hostile" 2>&1
sed 's/^/# /' "$T/sent.hostile"
pf_wait_idle "$T/pf"
for f in boundary-250 padding-600 padding-70k; do
    q=$(awk -v f="$H/$f.eml" '$1 == f { print $NF }' "$T/sent.hostile")
    held_once "$q"; ok $? "hostile $f.eml ($q): held, not passed unseen"
done
q=$(awk -v f="$H/padding-70k.eml" '$1 == f { print $NF }' "$T/sent.hostile")
postcat -c "$T/pf/etc" -hq "$q" 2>/dev/null | grep -q "^X-ITIP-Finding: mime-structure-unparsed; severity=would-fail; "
ok $? "padding past what the walker follows: X-ITIP-Finding: mime-structure-unparsed"

# ---- TNEF (issue 15): a winmail.dat response without PidLidAttendeeCriticalChange to an
# organizer on legacy_cdo_domains is held with its finding (t/tnef/gen.py made the message) ----
TN="$top_srcdir/t/tnef/response-no-critical-change.eml"
send "$TN" >"$T/sent.tnef" 2>&1
sed 's/^/# /' "$T/sent.tnef"
pf_wait_idle "$T/pf"
q=$(awk -v f="$TN" '$1 == f { print $NF }' "$T/sent.tnef")
held_once "$q"; ok $? "TNEF response without PidLidAttendeeCriticalChange ($q): held"
postcat -c "$T/pf/etc" -hq "$q" 2>/dev/null |      # unfolded: the detail makes it long
    awk '/^[ \t]/ { sub(/^[ \t]+/, " "); printf "%s", $0; next } { printf "\n%s", $0 }' |
    grep -q "^X-ITIP-Finding: reply-attendee-critical-change-missing; severity=would-fail; TNEF "
ok $? "TNEF response: X-ITIP-Finding: reply-attendee-critical-change-missing; severity=would-fail"
[ -z "$(delivered tnef.response-no-critical-change@example.net)" ]; ok $? "the TNEF response was not delivered"

# ---- 100,000 headers: answered once and in time (no round trip per header) ----
"$PY" - "$T/many.eml" <<'PYEOF'
import sys
with open(sys.argv[1], "w", newline="") as f:
    f.write("From: a@example.com\r\nTo: rcpt@example.com\r\nSubject: many headers\r\n"
            "Message-ID: <many-headers.1@example.com>\r\n")
    for i in range(100000):
        f.write("X-H: %d\r\n" % i)
    f.write("\r\nbody\r\n")
PYEOF
before=$(sink_count "$T/sink")
send "$T/many.eml" >"$T/sent.many" 2>&1
sed 's/^/# /' "$T/sent.many"
[ "$(awk '$2 == 250' "$T/sent.many" | wc -l)" -eq 1 ]; ok $? "100,000 headers: accepted once (250)"
pf_wait_idle "$T/pf"
q=$(awk '$2 == 250 { print $NF }' "$T/sent.many")
[ "$(sink_count "$T/sink")" -eq "$before" ] && held_once "$q"
ok $? "100,000 headers ($q): held exactly once (past max_header_size: mime-limit-exceeded, would-fail), not delivered"
[ "$(grep -c "qid=$q .*rules=mime-limit-exceeded action=quarantine" "$LOG")" -eq 1 ]
ok $? "100,000 headers: one milter log line, the limit named"
grep "qid=$q " "$LOG" | sed 's/^/# milter: /'

# ---- latency over TCP: no Nagle / delayed-ACK stall (~40 ms) per message ----
set --
i=0
while [ $i -lt 20 ]; do set -- "$@" "$S/request-clean.eml"; i=$((i + 1)); done
send "$@" >"$T/lat.cal"
i=0; set --
while [ $i -lt 20 ]; do set -- "$@" "$S/plain.eml"; i=$((i + 1)); done
send "$@" >"$T/lat.plain"
MC=$(median_ms "$T/lat.cal"); MP=$(median_ms "$T/lat.plain")
echo "# median MAIL..250 per message over TCP: calendar $MC ms, plain $MP ms"
if [ "$VG" = 1 ]; then
    echo "ok $((n + 1)) # SKIP latency bound not checked under valgrind"; n=$((n + 1))
    echo "ok $((n + 1)) # SKIP latency bound not checked under valgrind"; n=$((n + 1))
else
    awk -v m="$MC" 'BEGIN { exit !(m < 30) }'
    ok $? "calendar mail (header insert + reply at eom): median $MC ms < 30 ms (TCP_NODELAY)"
    awk -v m="$MP" 'BEGIN { exit !(m < 30) }'
    ok $? "plain mail: median $MP ms < 30 ms (no lone macro packets)"
fi
! grep -q "TCP_NODELAY not set" "$LOG"; ok $? "no TCP_NODELAY warning in the milter log"

# ---- reject and tempfail reach the SMTP client ----
reload 'actions = { would-fail = "reject"; };'
send "$S/cancel-method-mismatch.eml" >"$T/sent"
grep -q " 550 .*5.7.1 calendar message refused by itip-milter (would-fail): mime-method-param-mismatch" "$T/sent"
ok $? "actions.would-fail = reject: the client gets 550 5.7.1 naming the rule"
reload 'actions = { would-fail = "tempfail"; };'
send "$S/cancel-method-mismatch.eml" >"$T/sent"
grep -q " 451 .*4.7.1 calendar message deferred by itip-milter" "$T/sent"
ok $? "actions.would-fail = tempfail: the client gets 451 4.7.1"

# ---- a unix socket with deliberate mode and group, milter under umask 077 ----
stop_milter
printf 'socket_mode = "0660";\nsocket_group = "postfix";\n' >"$CONF"
old_umask=$(umask)
umask 077
start_milter "unix:$T/milter.sock"
umask "$old_umask"
[ "$(stat -c '%a %G' "$T/milter.sock" 2>/dev/null)" = "660 postfix" ]
ok $? "unix socket created 0660, group postfix, despite umask 077"
postconf -c "$T/pf/etc" -e "smtpd_milters = unix:$T/milter.sock"
touch -d '-1 min' "$T/pf/etc/main.cf"
postfix -c "$T/pf/etc" reload >/dev/null 2>&1
sleep 1
N0=$(sink_count "$T/sink")
send "$S/request-clean.eml" >"$T/sent"
[ "$(code_of "$S/request-clean.eml")" = 250 ] && pf_wait_idle "$T/pf" &&
    [ "$(sink_count "$T/sink")" -eq $((N0 + 1)) ]
ok $? "smtpd (user postfix) talks to the milter over the unix socket"

# ---- milter down: milter_default_action = tempfail ----
stop_milter
send "$S/request-clean.eml" >"$T/sent"
C=$(code_of "$S/request-clean.eml")
case "$C" in 4*) true ;; *) false ;; esac; ok $? "milter stopped: the client gets a 4xx ($C)"
! grep -q "ERROR: .*Sanitizer\|runtime error:" "$LOG"
ok $? "no AddressSanitizer / UBSan report in the milter's output (sanitizer builds)"

done_testing
