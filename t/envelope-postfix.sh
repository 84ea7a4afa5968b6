#!/bin/sh
# envelope-postfix.sh - the envelope rules through a real Postfix (issue 16): Postfix passes
# MAIL FROM and RCPT TO to the milter, and the milter's verdict follows them.
#   - a REPLY to its ORGANIZER is delivered with X-ITIP-Result: pass; the same REPLY to
#     someone else is delivered tagged reply-not-to-organizer (degrade: tag);
#   - a CANCEL from a domain that is not its ORGANIZER's is delivered tagged
#     organizer-not-sender; with a trusted Authentication-Results (authserv_id) saying
#     dmarc=fail it is raised to would-fail and held; the same header from another
#     authserv-id changes nothing.
# Needs root and the postfix package; TAP output.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/t/lib/tap.sh"
. "$top_srcdir/t/lib/postfix.sh"
. "$top_srcdir/t/lib/sink.sh"
MILTER="$top_builddir/itip-milter"
PY="${PYTHON3:-python3}"
SEND="$top_srcdir/t/lib/smtpsend.py"
REPLY="$top_srcdir/t/rules/reply-not-to-organizer/neg-no-envelope.eml"
CANCEL="$top_srcdir/t/milter/forged-cancel.eml"

pf_require postfix postconf postqueue postcat smtp-sink

T=$(mktemp -d /tmp/ite.XXXXXX)
chmod 755 "$T"
trap 'pf_stop "$T/pf"; bg_cleanup; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
SMTPD=$(free_port)
SINK=$(free_port)
MPORT=$(free_port)
CONF="$T/m.conf"
LOG="$T/milter.log"

send() { # send FROM RCPT FILE: one message, its "FILE CODE MS TEXT qid" line appended to $T/sent
    "$PY" "$SEND" 127.0.0.1 "$SMTPD" "$1" "$2" "$3" >>"$T/sent" 2>&1
}
qid_of() { awk -v f="$1" '$1 == f { print $NF }' "$T/sent" | tail -1; }
held() { # held QID: in the hold queue
    pf_queue_json "$T/pf" | "$PY" -c '
import json, sys
e = [json.loads(l) for l in sys.stdin if l.strip()]
sys.exit(0 if any(x["queue_id"] == sys.argv[1] and x["queue_name"] == "hold" for x in e) else 1)' "$1"
}
with_ar() { # with_ar AUTHSERV-ID OUT: the forged CANCEL with a dmarc=fail A-R of that id on top
    { printf 'Authentication-Results: %s; spf=fail smtp.mailfrom=attacker.example;\r\n\tdmarc=fail (p=reject dis=none) header.from=attacker.example\r\n' "$1"
      cat "$CANCEL"; } >"$2"
}
msgid() { # msgid QID FILE: sed out the message in the sink that Postfix queued as QID
    sink_find "$T/sink" "$1"
}

printf 'authserv_id = "mx.example.net";\n' >"$CONF"
bg_start MPID "$MILTER" -f -c "$CONF" -p "inet:$MPORT@127.0.0.1" 2>>"$LOG"
wait_for 10 sh -c "grep -q 'starting: socket' '$LOG'"; ok $? "milter listening (authserv_id mx.example.net)"
pf_setup "$T/pf" "$SMTPD" "$SINK" "inet:127.0.0.1:$MPORT"
sink_start "$T/sink" "$SINK"
pf_start "$T/pf"; ok $? "private Postfix started"
wait_for 20 "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])))' "$SMTPD"

# Each message once, with a Message-ID of its own so the sink copies can be told apart.
mk() { # mk SRC ID OUT: SRC with its Message-ID replaced by <ID>
    sed "s/^Message-ID: .*/Message-ID: <$2>/" "$1" >"$3"
}
mk "$REPLY" env-reply-to-organizer@example.test "$T/r1.eml"
mk "$REPLY" env-reply-elsewhere@example.test "$T/r2.eml"
mk "$CANCEL" env-cancel-plain@example.test "$T/c1.eml"
with_ar mx.example.net "$T/c2src.eml"; mk "$T/c2src.eml" env-cancel-trusted@example.test "$T/c2.eml"
with_ar mx.attacker.example "$T/c3src.eml"; mk "$T/c3src.eml" env-cancel-untrusted@example.test "$T/c3.eml"

: >"$T/sent"
send bob@example.net olivia@example.com "$T/r1.eml"
send bob@example.net dave@example.net "$T/r2.eml"
send bounce@attacker.example bob@example.net "$T/c1.eml"
send bounce@attacker.example bob@example.net "$T/c2.eml"
send bounce@attacker.example bob@example.net "$T/c3.eml"
sed 's/^/# /' "$T/sent"
[ "$(awk '$2 == 250' "$T/sent" | wc -l)" -eq 5 ]; ok $? "all five messages accepted (250)"
pf_wait_idle "$T/pf"; ok $? "nothing waits in the active or deferred queue"

F=$(msgid env-reply-to-organizer@example.test)
[ -n "$F" ] && grep -q "^X-ITIP-Result: pass method=REPLY " "$F"
ok $? "REPLY with RCPT TO the ORGANIZER: delivered, X-ITIP-Result: pass"
F=$(msgid env-reply-elsewhere@example.test)
[ -n "$F" ] && grep -q "^X-ITIP-Result: tag (degrade: reply-not-to-organizer) method=REPLY" "$F" &&
    grep -q "^X-ITIP-Finding: reply-not-to-organizer; severity=degrade; " "$F"
ok $? "the same REPLY with RCPT TO someone else: delivered, tagged reply-not-to-organizer"
F=$(msgid env-cancel-plain@example.test)
[ -n "$F" ] && grep -q "^X-ITIP-Result: tag (degrade: organizer-not-sender) method=CANCEL" "$F"
ok $? "CANCEL from a domain not the ORGANIZER's: delivered, tagged organizer-not-sender"
Q=$(qid_of "$T/c2.eml")
[ -n "$Q" ] && held "$Q" && [ -z "$(msgid env-cancel-trusted@example.test)" ]
ok $? "the same CANCEL with a trusted dmarc=fail: raised to would-fail and held ($Q)"
postcat -c "$T/pf/etc" -hq "$Q" 2>/dev/null | grep -q "^X-ITIP-Finding: organizer-not-sender; severity=would-fail; "
ok $? "held CANCEL: X-ITIP-Finding organizer-not-sender, would-fail"
F=$(msgid env-cancel-untrusted@example.test)
[ -n "$F" ] && grep -q "^X-ITIP-Result: tag (degrade: organizer-not-sender) method=CANCEL" "$F"
ok $? "dmarc=fail from an untrusted authserv-id: ignored, delivered tagged (degrade)"
grep -q "from=<bounce@attacker.example> method=CANCEL .*rules=organizer-not-sender action=quarantine" "$LOG"
ok $? "the milter's log line: the envelope sender, organizer-not-sender, quarantine"
bg_stop "$MPID"
! grep -q "ERROR: .*Sanitizer\|runtime error:" "$LOG"
ok $? "no sanitizer report in the milter's output"
done_testing
