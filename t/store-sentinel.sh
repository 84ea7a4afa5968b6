#!/bin/sh
# store-sentinel.sh - the shared store behind Redis Sentinel, through a failover, end to end.
#
# On loopback, each on a free port with a private configuration and no persistence: a
# redis-server master, a second one as its replica, and three redis-sentinel processes
# watching the master under the name "itip" (quorum 2).  One itip-milter with
#   state = { backend = "redis"; sentinels = [ three ]; master = "itip"; }
# behind a private Postfix (t/lib/postfix.sh), an smtp-sink as next hop.  KB Q202105 as in
# t/state-postfix.sh: an organizer's REQUEST is recorded; the attendee's REPLY from a clock
# five minutes slow is flagged reply-dtstamp-not-after-request only when the store holds the
# REQUEST.
#   1. the milter asks the sentinels for the master; a REQUEST is recorded there and
#      replicated (WAIT);
#   2. the master is killed (SIGKILL, by its pid): in the gap before the sentinels promote the
#      replica, mail is delivered and X-ITIP-Result says the stateful rules were skipped.  So
#      that a slow machine cannot close the gap before the test has sent into it, the
#      sentinels run with a down-after-milliseconds of ten minutes until then;
#   3. then it is lowered to $DOWN_MS (SENTINEL SET, failover-timeout $FAILOVER_MS): the
#      sentinels promote the replica, and the stateful rules work again within
#      DOWN_MS + FAILOVER_MS + 5 s: the REPLY to the REQUEST recorded before the failover is
#      flagged (the record was read from the new master), and a new REQUEST is written there;
#   4. the old master comes back (empty, as a master): the sentinels turn it into a replica
#      of the new master, and the milter keeps using the new one.
# Every process is started here and stopped by its pid at exit; the temporary directories
# (the Redis ones on /dev/shm where it exists) are removed (KEEP=1 keeps them).  Needs root,
# postfix, redis-server, redis-sentinel (Debian package redis-sentinel) and redis-cli; skips
# loudly without them.  TAP output.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/t/lib/tap.sh"
. "$top_srcdir/t/lib/postfix.sh"
. "$top_srcdir/t/lib/sink.sh"
MILTER="$top_builddir/itip-milter"
PY="${PYTHON3:-python3}"
SEND="$top_srcdir/t/lib/smtpsend.py"

pf_require postfix postconf smtp-sink
command -v redis-server >/dev/null 2>&1 || skip_all "redis-server not installed (Debian package redis-server)"
command -v redis-sentinel >/dev/null 2>&1 || skip_all "redis-sentinel not installed (Debian package redis-sentinel)"
command -v redis-cli >/dev/null 2>&1 || skip_all "redis-cli not installed (Debian package redis-tools)"

HOLD_MS=600000          # sentinel down-after-milliseconds until the gap has been tested
DOWN_MS=2000            # ... and after
FAILOVER_MS=8000        # sentinel failover-timeout
BOUND=$(((DOWN_MS + FAILOVER_MS) / 1000 + 5))   # seconds from then to working rules
FINDING=reply-dtstamp-not-after-request
T=$(mktemp -d /tmp/itss.XXXXXX)
chmod 755 "$T"
# the Redis processes' directories on tmpfs where there is one: a sentinel fsyncs its
# configuration file at each step of a failover, which a busy disk can stall for seconds
R=$(mktemp -d /dev/shm/itss.XXXXXX 2>/dev/null) || R=$(mktemp -d "$T/redis.XXXXXX")
trap 'pf_stop "$T/pf"; bg_cleanup; [ -n "${KEEP:-}" ] || rm -rf "$T" "$R"' EXIT

now() { "$PY" -c 'import time; print("%.1f" % time.time())'; }
since() { "$PY" -c 'import sys, time; print("%.1f" % (time.time() - float(sys.argv[1])))' "$1"; }
cli() { _p=$1; shift; redis-cli -h 127.0.0.1 -p "$_p" "$@" 2>/dev/null; }
listening() { "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$1" 2>/dev/null; }

# redis NAME PORT [ARGS...]: a redis-server on 127.0.0.1:PORT, data and log in $R/NAME;
# sets NAME_pid
redis() {
    _n=$1 _port=$2
    shift 2
    mkdir -p "$R/$_n"
    bg_start _pid redis-server --port "$_port" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$R/$_n" --daemonize no --logfile "$R/$_n/log" "$@"
    eval "${_n}_pid=\$_pid"
    wait_for 10 listening "$_port"
}

# ---- Redis: master, replica, three sentinels ----
PM=$(free_port)
redis master "$PM"
ok $? "redis-server master on 127.0.0.1:$PM"
PR=$(free_port)
redis replica "$PR" --replicaof 127.0.0.1 "$PM"
wait_for 20 sh -c "redis-cli -h 127.0.0.1 -p $PR INFO replication | grep -q '^master_link_status:up'"
ok $? "redis-server replica on 127.0.0.1:$PR, its link to the master up"
SPORTS=""
SLIST=""
for i in 1 2 3; do
    _p=$(free_port)
    mkdir "$R/sentinel$i"
    # the sentinel rewrites its own configuration file: a private, writable one
    cat >"$R/sentinel$i/sentinel.conf" <<EOF
port $_p
bind 127.0.0.1
daemonize no
dir $R/sentinel$i
logfile $R/sentinel$i/log
sentinel monitor itip 127.0.0.1 $PM 2
sentinel down-after-milliseconds itip $HOLD_MS
sentinel failover-timeout itip $FAILOVER_MS
sentinel parallel-syncs itip 1
EOF
    bg_start _pid redis-sentinel "$R/sentinel$i/sentinel.conf"
    eval "sentinel${i}_pid=\$_pid"
    SPORTS="$SPORTS $_p"
    SLIST="$SLIST${SLIST:+, }\"127.0.0.1:$_p\""
done
# each sentinel has found the replica and the two other sentinels (hello messages every 2 s)
knows_all() {
    for _p in $SPORTS; do
        [ "$(cli "$_p" SENTINEL replicas itip | grep -c "^$PR\$")" -ge 1 ] || return 1
        [ "$(cli "$_p" SENTINEL sentinels itip | grep -c '^name$')" -eq 2 ] || return 1
    done
}
wait_for 30 knows_all
ok $? "three redis-sentinel processes (quorum 2) know the replica and each other"

# ---- the milter and Postfix ----
MPORT=$(free_port)
cat >"$T/milter.conf" <<EOF
state = {
  backend = "redis";
  sentinels = [ $SLIST ];
  master = "itip";
  connect_timeout = 2000;
  timeout = 2000;
};
EOF
bg_start MILTER_PID "$MILTER" -f -c "$T/milter.conf" -p "inet:$MPORT@127.0.0.1" 2>>"$T/milter.log"
wait_for 10 sh -c "grep -q 'starting: socket' '$T/milter.log' && grep -q 'state: ' '$T/milter.log'"
grep -q "state: using the redis store master itip (sentinels 127.0.0.1:[0-9]* 127.0.0.1:[0-9]* 127.0.0.1:[0-9]*) db 0\$" "$T/milter.log"
ok $? "milter with state.sentinels started; its log names the master and the sentinels"
SINK=$(free_port)
PSMTP=$(free_port)
pf_setup "$T/pf" "$PSMTP" "$SINK" "inet:127.0.0.1:$MPORT"
sink_start "$T/sink" "$SINK"
pf_start "$T/pf"
wait_for 10 listening "$PSMTP"
ok $? "private Postfix on 127.0.0.1:$PSMTP with the milter"

# gen TAG: $T/TAG-request.eml (DTSTAMP and Date now) and $T/TAG-reply.eml (the attendee's
# Accept, DTSTAMP and Date 300 s earlier: a clock five minutes slow); a UID of their own.
gen() {
    "$PY" - "$T" "$1" <<'PYEOF'
import sys, time
out, tag = sys.argv[1], sys.argv[2]
now = int(time.time())
stamp = lambda t: time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t))
rfc = lambda t: time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(t))
uid = "sentinel-%s-%d@example.com" % (tag, now)
start = now - now % 3600 + 3 * 86400
def write(name, frm, to, subj, msgid, t, method, props):
    cal = "\r\n".join(["BEGIN:VCALENDAR", "PRODID:-//itip-milter//sentinel test//EN",
                       "VERSION:2.0", "METHOD:" + method, "BEGIN:VEVENT", "UID:" + uid,
                       "DTSTAMP:" + stamp(t), "DTSTART:" + stamp(start),
                       "DTEND:" + stamp(start + 1800), "SEQUENCE:0",
                       "SUMMARY:Failover drill"] + props + ["END:VEVENT", "END:VCALENDAR", ""])
    head = ["From: " + frm, "To: " + to, "Subject: " + subj, "Date: " + rfc(t),
            "Message-ID: <%s>" % msgid, "MIME-Version: 1.0",
            "Content-Type: text/calendar; charset=utf-8; method=" + method,
            "Content-Transfer-Encoding: 7bit", "", ""]
    with open("%s/%s-%s.eml" % (out, tag, name), "w", newline="") as f:
        f.write("\r\n".join(head) + cal)
write("request", "Olivia Organizer <olivia@example.com>", "arthur@partner.example",
      "Invitation: Failover drill", "%s-request@example.com" % tag, now, "REQUEST",
      ["ORGANIZER;CN=Olivia Organizer:mailto:olivia@example.com",
       "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:"
       "mailto:arthur@partner.example"])
write("reply", "arthur@partner.example", "Olivia Organizer <olivia@example.com>",
      "Accepted: Failover drill", "%s-reply@partner.example" % tag, now - 300, "REPLY",
      ["ORGANIZER:mailto:olivia@example.com",
       "ATTENDEE;PARTSTAT=ACCEPTED:mailto:arthur@partner.example"])
PYEOF
}

# smtp FROM RCPT FILE: 250 for the message (the milter ran); send: then the queue is idle
smtp() {
    "$PY" "$SEND" 127.0.0.1 "$PSMTP" "$@" >"$T/sent" 2>&1
    sed 's/^/# /' "$T/sent"
    [ "$(awk '$2 != 250' "$T/sent" | wc -l)" -eq 0 ]
}
send() { smtp "$@" && pf_wait_idle "$T/pf"; }
out() { send olivia@example.com arthur@partner.example "$T/$1-request.eml"; }
back() { send arthur@partner.example olivia@example.com "$T/$1-reply.eml"; }
header() {  # header FILE NAME: the values of header NAME, unfolded, one a line
    awk -v n="$2:" 'done { next } /^$/ { done = 1; next }
        /^[ \t]/ { if (keep) v = v " " substr($0, 2); next }
        { if (keep) print v; keep = index($0, n) == 1; v = substr($0, length(n) + 2) }
        END { if (keep) print v }' "$1"
}
result() { _f=$(sink_find "$T/sink" "$1"); [ -n "$_f" ] && header "$_f" X-ITIP-Result; }
is_flagged() { result "$1-reply@partner.example" | grep -q "^tag (degrade: .*$FINDING"; }
is_skipped() { result "$1" | grep -q "; .*skipped"; }
key_on() {  # key_on PORT TAG: the store's key of TAG's meeting is on the server at PORT
    [ -n "$(cli "$1" --scan --pattern "itip:*sentinel-$2-*")" ]
}

# ---- 1. before the failover ----
gen f1
out f1
ok $? "the REQUEST is accepted and delivered"
[ "$(result f1-request@example.com)" = "pass method=REQUEST uid=$(sed -n 's/^UID://p' "$T/f1-request.eml" | tr -d '\r')" ]
ok $? "... with X-ITIP-Result: pass (no state note)"
grep -q "method=REQUEST .*state=ok" "$T/milter.log"
ok $? "... and the milter's log line says state=ok"
key_on "$PM" f1
ok $? "the REQUEST is recorded on the master the sentinels named (127.0.0.1:$PM)"
[ "$(cli "$PM" WAIT 1 5000)" = 1 ] && key_on "$PR" f1
ok $? "... and replicated to the replica (WAIT 1: acknowledged; the key is on 127.0.0.1:$PR)"

# ---- 2. the master dies: the gap ----
kill -KILL "$master_pid"
wait "$master_pid" 2>/dev/null
gen g1
smtp olivia@example.com arthur@partner.example "$T/g1-request.eml" &&
    smtp arthur@partner.example olivia@example.com "$T/g1-reply.eml"
ok $? "master killed: a REQUEST and a REPLY sent in the gap are accepted"
names() {    # names PORT: every sentinel names 127.0.0.1:PORT as the master
    for _p in $SPORTS; do
        [ "$(cli "$_p" SENTINEL get-master-addr-by-name itip | tail -1)" = "$1" ] || return 1
    done
}
names "$PM"
ok $? "... and that was during the gap (every sentinel still names the dead master)"
pf_wait_idle "$T/pf" && is_skipped g1-request@example.com && is_skipped g1-reply@partner.example
st=$?
ok $st "... both delivered, their X-ITIP-Result noting that the stateful rules were skipped"
[ $st -eq 0 ] ||
    { result g1-request@example.com; result g1-reply@partner.example; } | sed 's/^/# result: /'
grep -q "state: the redis store master itip .* fails: redis master itip at 127.0.0.1:$PM: .*stateful rules are skipped until it works again" "$T/milter.log" &&
    [ "$(grep -c 'method=RE[A-Z]* .*state=skipped' "$T/milter.log")" -eq 2 ]
st=$?
ok $st "... the milter logs once that the store fails (naming the dead master), state=skipped on each line"
[ $st -eq 0 ] || sed 's/^/# milter: /' "$T/milter.log"

# ---- 3. the replica is promoted; the stateful rules work again ----
set_ok=0
for _p in $SPORTS; do
    [ "$(cli "$_p" SENTINEL SET itip down-after-milliseconds "$DOWN_MS")" = OK ] || set_ok=1
done
RELEASED=$(now)
ok $set_ok "SENTINEL SET itip down-after-milliseconds $DOWN_MS on the three sentinels"
promoted() { cli "$PR" ROLE | head -1 | grep -qx master && names "$PR"; }
wait_for "$BOUND" promoted
ok $? "the sentinels promote the replica (127.0.0.1:$PR is master and named by all three, $(since "$RELEASED") s later)"
# probe with the REPLY to the REQUEST recorded before the failover, once a second, until it
# is flagged or the bound is reached (a REPLY found with no record is merely not flagged)
i=0
while :; do
    i=$((i + 1))
    cp "$T/f1-reply.eml" "$T/p$i-reply.eml"
    sed -i "s/^Message-ID: <f1-reply@/Message-ID: <p$i-reply@/" "$T/p$i-reply.eml"
    back "p$i"
    is_flagged "p$i" && break
    [ "$(since "$RELEASED" | cut -d. -f1)" -lt "$BOUND" ] || break
    sleep 1
done
TOOK=$(since "$RELEASED")
is_flagged "p$i"
ok $? "within $BOUND s the stateful rules work again: the REPLY to the REQUEST recorded before the failover is flagged $FINDING ($TOOK s, $i probe(s))"
grep -q "state: the redis store master itip (.*) db 0 works again$" "$T/milter.log"
ok $? "... and the milter logs that the store works again"
gen h1
out h1 && back h1 && is_flagged h1
ok $? "a new REQUEST and its REPLY after the failover: recorded on the new master, the REPLY flagged"
key_on "$PR" h1
ok $? "... the new REQUEST's record is on 127.0.0.1:$PR"

# ---- 4. the old master comes back ----
redis master "$PM"
ok $? "the old master is started again on 127.0.0.1:$PM (empty, as a master)"
demoted() { cli "$PM" ROLE | head -1 | grep -qx slave; }
wait_for 30 demoted
ok $? "the sentinels turn it into a replica of the new master"
gen h2
out h2 && back h2 && is_flagged h2
ok $? "the milter keeps using the new master: REQUEST recorded, REPLY flagged"
[ "$(cli "$PR" WAIT 1 5000)" = 1 ] && key_on "$PR" h2 && key_on "$PM" h2
ok $? "... written on 127.0.0.1:$PR and replicated to the demoted one"

! grep -q "ERROR: .*Sanitizer\|runtime error:" "$T/milter.log"
ok $? "no AddressSanitizer / UBSan report in the milter's output (sanitizer builds)"
done_testing
