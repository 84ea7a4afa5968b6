#!/bin/sh
# quarantine.sh - itip-quarantine against the real queues: the private Postfix of the
# end-to-end tests (t/lib/postfix.sh), then the unpacked Sendmail (t/lib/sendmail.sh).
#
# itip-milter (default actions: would-fail = quarantine) holds two calendar messages and
# one with a hostile subject; a clean invitation passes; two messages are held by Postfix
# itself (header_checks HOLD: one calendar message tagged "pass", one plain one).  Checks:
# list (table and --json) shows ours and never the foreign ones; --rule, --sender and
# --since filter; show prints the envelope, the findings and the decoded calendar lines, and
# control characters only escaped; recheck says "still held" with the same configuration and
# "would pass" with one that disables the rule; release delivers to the sink; delete removes
# from the queue; unknown, malformed and foreign ids exit 2 and are left alone.  Then a large
# hold queue (QUAR_BULK messages, default 10000, held by a second private Postfix without the
# milter): list shows them all, delete of 3 ids removes those alone, each held message read at
# most once per command and a command on ids reading only those (postcat runs counted through a
# wrapper; the times printed as TAP comments, never asserted).  The same against Sendmail's
# quarantine (list, show, recheck, release, delete, a foreign quarantined message).  Needs
# root, the postfix package and (for the last part) the unpacked Sendmail; skips loudly
# without them.  TAP output.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/t/lib/tap.sh"
. "$top_srcdir/t/lib/postfix.sh"
. "$top_srcdir/t/lib/sendmail.sh"
. "$top_srcdir/t/lib/sink.sh"
MILTER="$top_builddir/itip-milter"
QUAR="$top_builddir/itip-quarantine"
PY="${PYTHON3:-python3}"
S="$top_srcdir/samples"
SEND="$top_srcdir/t/lib/smtpsend.py"

pf_require postfix postconf postqueue postcat postsuper smtp-sink
[ -x "$QUAR" ] || skip_all "$QUAR was not built"

T=$(mktemp -d /tmp/itq.XXXXXX)
chmod 755 "$T"
trap 'pf_stop "$T/pf"; sm_stop "$T/sm" 2>/dev/null; bg_cleanup; rm -rf "$T"' EXIT
SMTPD=$(free_port)
SINK=$(free_port)
MPORT=$(free_port)
LOG="$T/milter.log"
QERR="$T/quar.err"             # every stderr of itip-quarantine, checked for sanitizer reports
: >"$QERR"

skip() { n=$((n + 1)); echo "ok $n # SKIP $*"; }
held_json() { postqueue -c "$T/pf/etc" -j 2>/dev/null; }
in_hold() { held_json | grep -q "\"queue_name\": \"hold\", \"queue_id\": \"$1\""; }
in_queue() { held_json | grep -q "\"queue_id\": \"$1\""; }
qid_of() { awk -v f="$1" '$1 == f { print $NF }' "$2"; }
# message files derived from the samples
derive() { # derive SRC DST SUBJECT MSGID
    sed -e "s/^Subject: .*/Subject: $3/" -e "s/^Message-ID: .*/Message-ID: <$4>/" "$1" >"$2"
}

printf 'legacy_cdo_domains = [ "legacy.example" ];\n' >"$T/m.conf"
printf 'legacy_cdo_domains = [ "legacy.example" ];\nrules = { mime-method-param-mismatch = { enabled = false; }; };\n' >"$T/off.conf"

# ================================ Postfix ================================
pq() { "$QUAR" -c "$T/m.conf" --postfix-dir "$T/pf/etc" "$@" 2>>"$QERR"; }
pq_err() { # pq_err FILE ARGS...: stderr into FILE as well
    _f=$1
    shift
    "$QUAR" -c "$T/m.conf" --postfix-dir "$T/pf/etc" "$@" 2>"$_f"
    _rc=$?
    cat "$_f" >>"$QERR"
    return $_rc
}

bg_start MPID "$MILTER" -f -c "$T/m.conf" -p "inet:$MPORT@127.0.0.1" 2>>"$LOG"
wait_for 10 sh -c "grep -q 'starting: socket' '$LOG'"
pf_setup "$T/pf" "$SMTPD" "$SINK" "inet:127.0.0.1:$MPORT"
printf '/^Subject: Held by the postmaster/ HOLD\n' >"$T/pf/etc/header_checks"
postconf -c "$T/pf/etc" -e "header_checks = regexp:$T/pf/etc/header_checks"
touch -d '-1 min' "$T/pf/etc/main.cf"
sink_start "$T/sink" "$SINK"
pf_start "$T/pf"; ok $? "private Postfix started with itip-milter and a header_checks HOLD rule"
wait_for 10 "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])))' "$SMTPD"

derive "$S/cancel-method-mismatch.eml" "$T/evil.eml" \
    '=?utf-8?q?Evil=1B=5B31m_red=07?= and =?utf-8?q?=E2=80=AEtxt.exe?=' evil.1@example.com
derive "$S/request-clean.eml" "$T/foreign-cal.eml" "Held by the postmaster (calendar)" foreign-cal.1@example.com
derive "$S/plain.eml" "$T/foreign-plain.eml" "Held by the postmaster (plain)" foreign-plain.1@example.com
"$PY" "$SEND" 127.0.0.1 "$SMTPD" alice@example.net rcpt@example.com "$S/cancel-method-mismatch.eml" \
    "$S/request-clean.eml" "$T/evil.eml" "$T/foreign-cal.eml" "$T/foreign-plain.eml" >"$T/sent" 2>&1
"$PY" "$SEND" 127.0.0.1 "$SMTPD" bob@example.net rcpt@example.com \
    "$S/reply-legacy-no-critical-change.eml" >>"$T/sent" 2>&1
sed 's/^/# /' "$T/sent"
[ "$(awk '$2 == 250' "$T/sent" | wc -l)" -eq 6 ]; ok $? "six messages accepted (250)"
A=$(qid_of "$S/cancel-method-mismatch.eml" "$T/sent")
B=$(qid_of "$S/reply-legacy-no-critical-change.eml" "$T/sent")
E=$(qid_of "$T/evil.eml" "$T/sent")
F=$(qid_of "$T/foreign-cal.eml" "$T/sent")
G=$(qid_of "$T/foreign-plain.eml" "$T/sent")
pf_wait_idle "$T/pf" && in_hold "$A" && in_hold "$B" && in_hold "$E" && in_hold "$F" && in_hold "$G"
ok $? "five messages in the hold queue: ours $A $B $E, foreign $F $G"

# ---- list ----
pq list >"$T/list"; rc=$?
sed 's/^/# /' "$T/list"
[ $rc -eq 0 ] && head -1 "$T/list" | grep -q "^QUEUE ID *ARRIVAL *SENDER *SUBJECT *RULES$" &&
    [ "$(wc -l <"$T/list")" -eq 4 ]
ok $? "list: a table with a header and three rows"
grep -q "^$A .* alice@example.net  *Canceled: Quarterly planning .*would-fail: mime-method-param-mismatch$" "$T/list" &&
    grep -q "^$B .* bob@example.net .*Accepted: Budget review .*would-fail: reply-attendee-critical-change-missing$" "$T/list"
ok $? "list: id, sender, subject and deciding rules of each held message"
! grep -q "^$F \|^$G " "$T/list"; ok $? "list: the messages held by Postfix itself are absent"
pq --json list >"$T/list.json"; rc=$?
"$PY" - "$T/list.json" "$A" "$B" "$E" <<'PYEOF'
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
by = {o["queue_id"]: o for o in objs}
a = by[sys.argv[2]]
assert sorted(by) == sorted(sys.argv[2:5]), by.keys()
assert a["mta"] == "postfix" and a["queue"] == "hold" and a["sender"] == "alice@example.net"
assert a["recipients"] == ["rcpt@example.com"] and a["subject"] == "Canceled: Quarterly planning"
assert a["result"].startswith("quarantine (would-fail: mime-method-param-mismatch)")
assert a["findings"][0]["rule"] == "mime-method-param-mismatch"
assert a["findings"][0]["severity"] == "would-fail"
assert isinstance(a["arrival_time"], int) and a["arrival"].endswith("Z")
assert by[sys.argv[3]]["findings"][0]["rule"] == "reply-attendee-critical-change-missing"
assert "\x1b" in by[sys.argv[4]]["subject"]      # JSON carries it, escaped by the encoder
PYEOF
[ $? -eq 0 ] && [ $rc -eq 0 ]; ok $? "list --json: one object per held message, envelope, result and findings"
! grep -q "$(printf '\033')" "$T/list" "$T/list.json" && grep -q 'Evil\\x1b\[31m red\\x07 and \\u{202E}txt.exe' "$T/list"
ok $? "list: control and bidi characters of a subject are escaped, never written raw"

# ---- filters ----
pq list --rule mime-method-param-mismatch >"$T/f1"
grep -q "^$A " "$T/f1" && grep -q "^$E " "$T/f1" && ! grep -q "^$B " "$T/f1"
ok $? "--rule mime-method-param-mismatch: $A and $E, not $B"
pq list --rule reply-attendee-critical-change-missing --json >"$T/f2"
[ "$(wc -l <"$T/f2")" -eq 1 ] && grep -q "\"queue_id\":\"$B\"" "$T/f2"
ok $? "--rule reply-attendee-critical-change-missing --json: only $B"
pq list --rule no-such-rule >/dev/null; [ $? -eq 2 ]; ok $? "--rule with an unknown rule id: exit 2"
pq list --sender BOB@Example.NET >"$T/f3"
grep -q "^$B " "$T/f3" && [ "$(wc -l <"$T/f3")" -eq 2 ]
ok $? "--sender (case-insensitive): only bob's message"
pq list --since 1h >"$T/f4" && [ "$(wc -l <"$T/f4")" -eq 4 ] &&
    pq list --since "$(date -d '+1 day' +%Y-%m-%d)" >"$T/f5" && grep -q "^no message held by itip-milter matches$" "$T/f5"
ok $? "--since 1h lists all three, --since tomorrow none"
pq list --since yesterday-ish >/dev/null; [ $? -eq 2 ]; ok $? "--since with a malformed time: exit 2"

# ---- show ----
pq show "$A" >"$T/showA"; rc=$?
sed 's/^/# /' "$T/showA"
[ $rc -eq 0 ] && grep -q "^Queue ID: *$A (postfix hold queue)$" "$T/showA" &&
    grep -q "^Arrival: *20[0-9][0-9]-" "$T/showA" && grep -q "^Sender: *alice@example.net$" "$T/showA" &&
    grep -q "^Recipients: *rcpt@example.com$" "$T/showA" &&
    grep -q "^Subject: *Canceled: Quarterly planning$" "$T/showA"
ok $? "show: queue id, arrival, sender, recipients, subject"
grep -q "^  mime-method-param-mismatch; severity=would-fail; Content-Type method=REQUEST but the body says METHOD:CANCEL" "$T/showA"
ok $? "show: every X-ITIP-Finding"
grep -q "part  Content-Type: text/calendar; method=REQUEST; charset=utf-8$" "$T/showA" &&
    grep -q "^ *[0-9][0-9]*  METHOD:CANCEL$" "$T/showA"
ok $? "show: the offending lines (the part's method= and the METHOD line)"
grep -q "^    what to do: The sending application must set method= to the same value as the body's METHOD" "$T/showA"
ok $? "show: each finding's remedy (what to do)"
pq show "$B" >"$T/showB"
grep -q "(no X-MICROSOFT-CDO-ATTENDEE-CRITICAL-CHANGE line in VEVENT)" "$T/showB" &&
    grep -q "^ *[0-9][0-9]*  ATTENDEE;CN=Arthur Attendee;PARTSTAT=ACCEPTED:mailto:arthur@example.net$" "$T/showB"
ok $? "show: a missing property is named, the VEVENT shown decoded from quoted-printable"
pq show "$E" >"$T/showE"
! grep -q "$(printf '\033')" "$T/showE" && grep -q '^Subject: *Evil\\x1b\[31m red\\x07' "$T/showE"
ok $? "show: control characters escaped"

# ---- recheck ----
pq recheck "$A" >"$T/rc1"; rc=$?
[ $rc -eq 1 ] && grep -q "^$A: would still be held (action quarantine, would-fail: mime-method-param-mismatch)$" "$T/rc1"
ok $? "recheck with the same configuration: would still be held (exit 1)"
"$QUAR" -c "$T/off.conf" --postfix-dir "$T/pf/etc" recheck "$A" >"$T/rc2" 2>>"$QERR"; rc=$?
[ $rc -eq 0 ] && grep -q "^$A: would now pass" "$T/rc2"
ok $? "recheck with the rule disabled: would now pass (exit 0)"
"$QUAR" -c "$T/off.conf" --postfix-dir "$T/pf/etc" --json recheck "$A" "$B" >"$T/rc3" 2>>"$QERR"; rc=$?
[ $rc -eq 1 ] && grep -q "^{\"queue_id\":\"$A\",\"held\":false," "$T/rc3" &&
    grep -q "^{\"queue_id\":\"$B\",\"held\":true,.*\"rule\":\"reply-attendee-critical-change-missing\"" "$T/rc3"
ok $? "recheck --json: one object per message, held true/false"

# ---- unknown, malformed and foreign ids ----
pq_err "$T/e1" show NOSUCHID0 >/dev/null; rc=$?
[ $rc -eq 2 ] && grep -q "NOSUCHID0: no such message held by itip-milter" "$T/e1"
ok $? "unknown id: exit 2 and a clear message"
pq_err "$T/e2" release 'x;rm' >/dev/null; rc=$?
[ $rc -eq 2 ] && grep -q "not a queue id" "$T/e2"; ok $? "malformed id: exit 2"
pq_err "$T/e3" release "$F" >/dev/null; rc=$?
[ $rc -eq 2 ] && grep -q "$F: held, but not by itip-milter" "$T/e3" && in_hold "$F"
ok $? "a message held by something else: exit 2, left in the hold queue"
pq delete "$G" >/dev/null 2>&1; [ $? -eq 2 ] && in_hold "$G"; ok $? "delete refuses a foreign held message"

# ---- release and delete ----
N0=$(sink_count "$T/sink")
pq release "$A" >"$T/rel"; rc=$?
[ $rc -eq 0 ] && grep -q "^$A: released$" "$T/rel"; ok $? "release: exit 0"
wait_for 20 sh -c "[ -n \"\$(grep -rl '^Message-ID: <cancel-mismatch.1@example.com>' '$T/sink')\" ]"
F1=$(sink_find "$T/sink" cancel-mismatch.1@example.com)
[ -n "$F1" ] && grep -q "^X-ITIP-Result: quarantine (would-fail: mime-method-param-mismatch)$" "$F1"
ok $? "the released message reached the sink with its X-ITIP headers"
pq list >"$T/list2"; ! grep -q "^$A " "$T/list2"; ok $? "the released message is no longer listed"
pq delete "$B" "$E" >"$T/del"; rc=$?
[ $rc -eq 0 ] && grep -q "^$B: deleted$" "$T/del" && ! in_queue "$B" && ! in_queue "$E"
ok $? "delete of two ids: both gone from the queue"
[ -z "$(sink_find "$T/sink" reply-legacy.1@example.net)" ] && [ "$(sink_count "$T/sink")" -eq $((N0 + 1)) ]
ok $? "the deleted messages were not delivered"
pq list >"$T/list3"; grep -q "^no message held by itip-milter$" "$T/list3" && in_hold "$F" && in_hold "$G"
ok $? "nothing of ours left; the foreign held messages untouched"
pf_stop "$T/pf"
bg_stop "$MPID"

# ---- a large hold queue: each held message read at most once per command ----
# A second private Postfix without the milter: the messages carry the X-ITIP-Result the milter
# would have added, and a header_checks rule puts them on hold as cleanup queues them (the
# quickest real way into the hold queue: no milter round trip, no queue manager).  A few held
# by the postmaster's rule instead (X-ITIP-Result: pass) must never be listed.  Every postcat
# run of itip-quarantine goes through a wrapper first in PATH that logs the queue ids it was
# given.  Times are printed, never asserted (shared, noisy machines).
BULK=${QUAR_BULK:-10000}       # held messages of ours
FOREIGN=5                      # and held by the postmaster
BPORT=$(free_port)
ms() { date +%s%N | cut -c1-13; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1000 }'; }
pf_setup "$T/bulk" "$BPORT" "$SINK" ""
printf '/^X-ITIP-Result: quarantine/ HOLD\n/^Subject: Held by the postmaster/ HOLD\n' \
    >"$T/bulk/etc/header_checks"
postconf -c "$T/bulk/etc" -e "header_checks = regexp:$T/bulk/etc/header_checks" "in_flow_delay = 0"
touch -d '-1 min' "$T/bulk/etc/main.cf"
mkdir -p "$T/bin"
REAL_POSTCAT=$(command -v postcat)
cat >"$T/bin/postcat" <<WRAPEOF
#!/bin/sh
# one line per run: "run" and the queue ids given (options and the -c directory left out)
{
    printf run
    for a; do case \$a in -*|/*) ;; *) printf ' %s' "\$a" ;; esac; done
    echo
} >>"$T/postcat.calls"
exec "$REAL_POSTCAT" "\$@"
WRAPEOF
chmod 755 "$T/bin/postcat"
bq() { PATH="$T/bin:$PATH" "$QUAR" -c "$T/m.conf" --postfix-dir "$T/bulk/etc" "$@" 2>>"$QERR"; }
calls() { : >"$T/postcat.calls"; }
runs() { wc -l <"$T/postcat.calls" | tr -d ' '; }
reads() { tr ' ' '\n' <"$T/postcat.calls" | grep -cv '^run$'; }
reread() { tr ' ' '\n' <"$T/postcat.calls" | grep -v '^run$' | sort | uniq -d | wc -l | tr -d ' '; }
hold_count() { find "$T/bulk/spool/hold" -type f | wc -l | tr -d ' '; }
pf_start "$T/bulk"
wait_for 10 "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])))' \
    "$BPORT"
t0=$(ms)
"$PY" - 127.0.0.1 "$BPORT" "$BULK" "$FOREIGN" 8 >"$T/bulk.sent" 2>&1 <<'PYEOF'
import smtplib, sys, threading
host, port, n, foreign, sessions = sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:6])
RULE = "mime-method-param-mismatch"
sent = [0] * sessions

def message(i):
    if i >= n:
        head = "X-ITIP-Result: pass\r\nSubject: Held by the postmaster %d\r\n" % i
    else:
        head = ("X-ITIP-Result: quarantine (would-fail: %s)\r\n"
                "X-ITIP-Finding: %s; severity=would-fail; Content-Type method=REQUEST but the "
                "body says METHOD:CANCEL\r\nSubject: Bulk held %d\r\n" % (RULE, RULE, i))
    return (head + "From: Bulk <bulk%d@example.net>\r\nTo: rcpt@example.com\r\n"
            "Message-ID: <bulk.%d@example.net>\r\nDate: Mon, 01 Jun 2026 12:00:00 +0000\r\n"
            "\r\nheld body %d\r\n" % (i, i, i))

def run(k):
    s = smtplib.SMTP(host, port, timeout=60)
    for i in range(k, n + foreign, sessions):
        s.sendmail("bulk%d@example.net" % i if i else "", ["rcpt@example.com"], message(i))
        sent[k] += 1
    s.quit()

threads = [threading.Thread(target=run, args=(k,)) for k in range(sessions)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(sum(sent))
PYEOF
wait_for 60 sh -c "[ \$(find '$T/bulk/spool/hold' -type f | wc -l) -ge $((BULK + FOREIGN)) ]"
t1=$(ms)
echo "# $(tail -1 "$T/bulk.sent") messages sent and held in $(secs "$t0" "$t1") s"
[ "$(hold_count)" -eq $((BULK + FOREIGN)) ]
ok $? "large hold queue: $BULK messages held as itip-milter would have, $FOREIGN by the postmaster"

calls
t0=$(ms)
bq list >"$T/blist"; rc=$?
t1=$(ms)
echo "# list of $BULK held messages: $(secs "$t0" "$t1") s," \
    "$(runs) postcat runs, $(reads) messages read"
[ $rc -eq 0 ] && [ "$(grep -c ' Bulk held [0-9]* ' "$T/blist")" -eq "$BULK" ] &&
    [ "$(wc -l <"$T/blist")" -eq $((BULK + 1)) ] && ! grep -q "Held by the postmaster" "$T/blist"
ok $? "list: all $BULK of ours, none of the foreign ones"
MAXRUNS=$(((BULK + FOREIGN) / 500 + 2))
[ "$(reads)" -le $((BULK + FOREIGN)) ] && [ "$(reread)" -eq 0 ] && [ "$(runs)" -le $MAXRUNS ]
ok $? "list: each held message read once, in $MAXRUNS postcat runs at most"
bq --json list --rule mime-method-param-mismatch >"$T/blist.json"
[ "$(grep -c '"result":"quarantine (would-fail: mime-method-param-mismatch)"' "$T/blist.json")" \
    -eq "$BULK" ]
ok $? "list --json --rule: all $BULK"

bq list --sender '<>' >"$T/bnull"
NS=$(awk 'NR == 2 { print $1 }' "$T/bnull")
[ "$(wc -l <"$T/bnull")" -eq 2 ] && grep -q "^$NS .* <>  *Bulk held 0 " "$T/bnull" &&
    bq show "$NS" | grep -q "^Sender: *<>$"
ok $? "the null sender (MAILER-DAEMON to postqueue): --sender '<>' lists it, show says <>"

D1=$(awk 'NR > 1 && $4 != "<>" { print $1 }' "$T/blist" | sed -n 1p)
D2=$(awk 'NR > 1 && $4 != "<>" { print $1 }' "$T/blist" | sed -n 2p)
D3=$(awk 'NR > 1 && $4 != "<>" { print $1 }' "$T/blist" | sed -n 3p)
K=$(awk 'NR > 1 && $4 != "<>" { print $1 }' "$T/blist" | sed -n 4p)
calls
t0=$(ms)
bq delete "$D1" "$D2" "$D3" >"$T/bdel"; rc=$?
t1=$(ms)
echo "# delete of 3 ids among $BULK: $(secs "$t0" "$t1") s," \
    "$(runs) postcat runs, $(reads) messages read"
[ $rc -eq 0 ] && [ "$(grep -c ': deleted$' "$T/bdel")" -eq 3 ]
ok $? "delete of 3 ids: exit 0, three deleted"
[ "$(runs)" -le 3 ] && [ "$(reads)" -eq 3 ] && [ "$(reread)" -eq 0 ] &&
    grep -q " $D1$" "$T/postcat.calls" && grep -q " $D2$" "$T/postcat.calls" &&
    grep -q " $D3$" "$T/postcat.calls"
ok $? "delete: only the 3 messages named were read, each once"
calls
(TZ=JST-9; export TZ; bq show "$K") >"$T/bshow"; rc=$?
[ $rc -eq 0 ] && grep -q "^Queue ID: *$K (postfix hold queue)$" "$T/bshow" &&
    grep -q "^Sender: *bulk[0-9]*@example.net$" "$T/bshow" && [ "$(runs)" -eq 1 ] &&
    [ "$(reads)" -eq 1 ]
ok $? "show of one id: one postcat run, that message alone"
AT=$(sed -n "s/^{\"queue_id\":\"$K\".*\"arrival_time\":\([0-9]*\),.*/\1/p" "$T/blist.json")
AS=$(date -d "$(sed -n 's/^Arrival: *//p' "$T/bshow")" +%s)
echo "# arrival of $K: $AT (postqueue -j), $AS (show, from postcat)"
[ -n "$AT" ] && [ "$AT" = "$AS" ]
ok $? "show: the arrival read from postcat equals postqueue's, whatever the local time zone"
FID=$(grep -rlaF "Subject: Held by the postmaster" "$T/bulk/spool/hold" | head -1)
FID=${FID##*/}
calls
bq delete "$FID" >/dev/null; rc=$?
[ $rc -eq 2 ] && [ "$(runs)" -eq 1 ] && [ "$(reads)" -eq 1 ] && [ -n "$FID" ] &&
    grep -q " $FID$" "$T/postcat.calls" && [ -n "$(find "$T/bulk/spool/hold" -name "$FID")" ]
ok $? "a foreign id: refused after reading that message alone, left in the hold queue"
bq list >"$T/blist2"
[ "$(wc -l <"$T/blist2")" -eq $((BULK - 2)) ] && ! grep -q "^$D1 \|^$D2 \|^$D3 " "$T/blist2" &&
    grep -q "^$K " "$T/blist2" && [ "$(hold_count)" -eq $((BULK + FOREIGN - 3)) ]
ok $? "after the delete: those 3 are gone; the other $((BULK - 3)) and the foreign ones remain"
pf_stop "$T/bulk"

# ================================ Sendmail ================================
why=$(sm_available)
if [ -n "$why" ]; then
    for i in 1 2 3 4 5 6 7 8 9; do skip "Sendmail: $why"; done
else
    sm_init
    D="$T/sm"
    mkdir -p "$D"
    chmod 755 "$D"
    SMTPD=$(free_port)
    SINK2=$(free_port)
    # itip-quarantine runs sendmail (release): in the same private hostname as the daemon
    sq() {
        if [ "$SM_NS" -eq 1 ]; then
            unshare --uts sh -c 'hostname "$0" && exec "$@"' "$SM_HOST" "$QUAR" -c "$T/m.conf" \
                --sendmail-queue "$D/mqueue" --sendmail-config "$D/sendmail.cf" \
                --sendmail-program "$D/sendmail" "$@" 2>>"$QERR"
        else
            "$QUAR" -c "$T/m.conf" --sendmail-queue "$D/mqueue" --sendmail-config "$D/sendmail.cf" \
                --sendmail-program "$D/sendmail" "$@" 2>>"$QERR"
        fi
    }
    bg_start MPID "$MILTER" -f -c "$T/m.conf" -p "unix:$D/milter.sock" 2>>"$D/milter.log"
    wait_for 10 grep -q "starting" "$D/milter.log"
    sink_start "$T/sink2" "$SINK2" "$SM_SINK_ADDR"
    sm_setup "$D" "$SMTPD" "$SINK2" "unix:$D/milter.sock"
    sm_start "$D"
    wait_for "$SM_WAIT" "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])))' "$SMTPD"
    ok $? "Sendmail: private Sendmail with itip-milter listening"
    "$PY" "$SEND" 127.0.0.1 "$SMTPD" alice@example.net rcpt@example.com "$S/cancel-method-mismatch.eml" \
        "$S/reply-legacy-no-critical-change.eml" "$S/request-clean.eml" >"$T/sent2" 2>&1
    sed 's/^/# /' "$T/sent2"
    wait_for $((SM_WAIT + 20)) sh -c "[ -z \"\$(find '$D/mqueue' -name 'qf*')\" ]"
    # a foreign quarantined message: queued from the command line (no milter), then -Q
    sm_run "$D" -odq -f carol@example.net rcpt@example.com <"$S/plain.eml"
    FQF=$(find "$D/mqueue" -name 'qf*' | head -1)
    FID=${FQF##*/qf}
    sm_run "$D" -qI"$FID" -Q"held by the postmaster" >/dev/null 2>&1
    SA=$(grep -l "^H??Message-ID: <cancel-mismatch.1@example.com>" "$D"/mqueue/hf* | head -1)
    SB=$(grep -l "^H??Message-ID: <reply-legacy.1@example.net>" "$D"/mqueue/hf* | head -1)
    SA=${SA##*/hf}
    SB=${SB##*/hf}
    [ -n "$SA" ] && [ -n "$SB" ] && [ -n "$FID" ] && [ -f "$D/mqueue/hf$FID" ]
    ok $? "Sendmail: two messages quarantined by itip-milter ($SA $SB), one by the postmaster ($FID)"
    sq list >"$T/slist"; rc=$?
    sed 's/^/# /' "$T/slist"
    [ $rc -eq 0 ] && [ "$(wc -l <"$T/slist")" -eq 3 ] && grep -q "^$SA .*alice@example.net .*would-fail: mime-method-param-mismatch$" "$T/slist" &&
        grep -q "^$SB " "$T/slist" && ! grep -q "^$FID " "$T/slist"
    ok $? "Sendmail: list shows ours, not the foreign quarantined message"
    sq --json list --rule reply-attendee-critical-change-missing >"$T/slist.json"
    [ "$(wc -l <"$T/slist.json")" -eq 1 ] &&
        grep -q "^{\"queue_id\":\"$SB\",\"mta\":\"sendmail\",\"queue\":\"quarantine\",.*\"reason\":\"itip-milter: would-fail: reply-attendee-critical-change-missing" "$T/slist.json"
    ok $? "Sendmail: list --json --rule: the message with its quarantine reason"
    sq show "$SA" >"$T/sshow"; rc=$?
    [ $rc -eq 0 ] && grep -q "^Queue ID: *$SA (sendmail quarantine queue)$" "$T/sshow" &&
        grep -q "^Reason: *itip-milter: would-fail: mime-method-param-mismatch" "$T/sshow" &&
        grep -q "^  mime-method-param-mismatch; severity=would-fail;" "$T/sshow" &&
        grep -q "^ *[0-9][0-9]*  METHOD:CANCEL$" "$T/sshow"
    ok $? "Sendmail: show (reason, findings, the METHOD line from the df file)"
    sq recheck "$SA" >/dev/null; r1=$?
    "$QUAR" -c "$T/off.conf" --sendmail-queue "$D/mqueue" recheck "$SA" >/dev/null 2>>"$QERR"; r2=$?
    [ $r1 -eq 1 ] && [ $r2 -eq 0 ]; ok $? "Sendmail: recheck still held (1), with the rule disabled would pass (0)"
    sq release "$SA" >/dev/null; rc=$?
    wait_for $((SM_WAIT + 20)) sh -c "[ -n \"\$(grep -rl '^Message-ID: <cancel-mismatch.1@example.com>' '$T/sink2')\" ]"
    F2=$(sink_find "$T/sink2" cancel-mismatch.1@example.com)
    [ $rc -eq 0 ] && [ -n "$F2" ] && [ ! -f "$D/mqueue/hf$SA" ] && [ ! -f "$D/mqueue/df$SA" ]
    ok $? "Sendmail: release (sendmail -qQ -Q, then a queue run) delivers it to the sink"
    sq delete "$SB" >/dev/null; rc=$?
    [ $rc -eq 0 ] && [ ! -f "$D/mqueue/hf$SB" ] && [ ! -f "$D/mqueue/df$SB" ]
    ok $? "Sendmail: delete removes its queue files"
    sq delete "$FID" >/dev/null 2>&1; r1=$?
    sq show NOSUCHID0 >/dev/null 2>&1; r2=$?
    [ $r1 -eq 2 ] && [ $r2 -eq 2 ] && [ -f "$D/mqueue/hf$FID" ]
    ok $? "Sendmail: foreign and unknown ids exit 2; the foreign message is untouched"
    sm_stop "$D"
    bg_stop "$MPID"
fi

! grep -q "ERROR: .*Sanitizer\|runtime error:" "$QERR"
ok $? "no AddressSanitizer / UBSan report from itip-quarantine (sanitizer builds)"
done_testing
