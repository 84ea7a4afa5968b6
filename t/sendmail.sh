#!/bin/sh
# sendmail.sh - itip-milter in front of a real Sendmail, end to end.
#
# Sendmail runs from the Debian packages that setup.sh unpacked into /opt/itip-test/sendmail
# (t/lib/sendmail.sh: m4-built configuration with INPUT_MAIL_FILTER, loopback port, private
# queue, private hostname); the next hop is an smtp-sink.  Checks: a would-fail message is
# quarantined and the quarantine reason naming the rule is in its queue file (the `q` line)
# with our headers; released with -qQ -Q it is delivered with them; a clean invitation is
# delivered with exactly "X-ITIP-Result: pass ..." (SMFIP_HDR_LEADSPC handled); plain mail
# passes with a byte-identical body, forged X-ITIP headers removed.  Skips, saying so, when
# the unpacked Sendmail is absent.  Needs root; TAP output.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/t/lib/tap.sh"
. "$top_srcdir/t/lib/sendmail.sh"
. "$top_srcdir/t/lib/sink.sh"
MILTER="$top_builddir/itip-milter"
PY="${PYTHON3:-python3}"
S="$top_srcdir/samples"
SEND="$top_srcdir/t/lib/smtpsend.py"
PATH="$PATH:/usr/sbin"

[ "$(id -u)" -eq 0 ] || skip_all "needs root to run a private Sendmail"
why=$(sm_available) || skip_all "$why"
command -v smtp-sink >/dev/null 2>&1 || skip_all "smtp-sink not found (Debian package postfix)"
command -v "$PY" >/dev/null 2>&1 || skip_all "python3 is not installed"
[ -x "$MILTER" ] || skip_all "$MILTER was not built"

sm_init
[ "$SM_WAIT" -gt 15 ] &&
    echo "# unshare --uts is not allowed here and the hostname is unqualified: Sendmail sleeps 60 s per start"
T=$(mktemp -d /tmp/its.XXXXXX)
chmod 755 "$T"
trap 'sm_stop "$T"; bg_cleanup; rm -rf "$T"' EXIT
SMTPD=$(free_port)
SINK=$(free_port)
LOG="$T/milter.log"

send() { "$PY" "$SEND" 127.0.0.1 "$SMTPD" sender@example.net - "$@"; }   # RCPT TO: the To:/Cc: addresses
delivered() { sink_find "$T/sink" "$1"; }
# delivered or quarantined: no queue file of a message in transit (qf) is left
sm_idle() { wait_for $((SM_WAIT + 20)) sh -c "[ -z \"\$(find '$T/mqueue' -name 'qf*')\" ]"; }

printf 'legacy_cdo_domains = [ "legacy.example" ];\n' >"$T/m.conf"
bg_start MPID "$MILTER" -f -c "$T/m.conf" -p "unix:$T/milter.sock" 2>"$LOG"
wait_for 10 grep -q "starting" "$LOG"; ok $? "milter listening on unix:$T/milter.sock"
sink_start "$T/sink" "$SINK" "$SM_SINK_ADDR"
sm_setup "$T" "$SMTPD" "$SINK" "unix:$T/milter.sock"
grep -q "^Xitip, S=unix:$T/milter.sock, F=T" "$T/sendmail.cf"
ok $? "sendmail.cf built by m4 with INPUT_MAIL_FILTER(itip)"
sm_start "$T"
wait_for "$SM_WAIT" "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])))' "$SMTPD"
ok $? "private Sendmail listening on 127.0.0.1:$SMTPD"

send "$S/cancel-method-mismatch.eml" "$S/request-clean.eml" "$S/plain.eml" \
    "$top_srcdir/t/milter/plain-forged.eml" >"$T/sent" 2>&1
sed 's/^/# /' "$T/sent"
[ "$(awk '$2 == 250' "$T/sent" | wc -l)" -eq 4 ]; ok $? "all four messages accepted (250)"
sm_idle && [ "$(sink_count "$T/sink")" -eq 3 ]
ok $? "three messages reached the next hop, none waits in the queue"

QF=$(grep -l "^qitip-milter: " "$T"/mqueue/hf* "$T"/mqueue/qf* 2>/dev/null | head -1)
[ -n "$QF" ] && case "$QF" in */hf*) true ;; *) false ;; esac
ok $? "the would-fail message is quarantined (an hf queue file)"
grep -qx "qitip-milter: would-fail: mime-method-param-mismatch method=CANCEL uid=quarterly-planning-2026-06@example.com" "$QF" 2>/dev/null
ok $? "the quarantine reason naming the rule is the queue file's q line"
grep -q "^H??X-ITIP-Result: quarantine (would-fail: mime-method-param-mismatch)$" "$QF" 2>/dev/null &&
    grep -q "^H??X-ITIP-Finding: mime-method-param-mismatch; severity=would-fail; " "$QF"
ok $? "the queue file holds X-ITIP-Result and X-ITIP-Finding"
[ -z "$(delivered cancel-mismatch.1@example.com)" ]; ok $? "the quarantined message was not delivered"
grep -q "qid=$(basename "$QF" | cut -c3-) .*method=CANCEL .*action=quarantine" "$LOG"
ok $? "the milter log line carries Sendmail's queue id"

F=$(delivered request-clean.1@example.com)
[ -n "$F" ] && grep -qx "X-ITIP-Result: pass method=REQUEST uid=quarterly-planning-2026-06@example.com" "$F"
ok $? "clean REQUEST delivered with exactly 'X-ITIP-Result: pass method=REQUEST ...' (LEADSPC)"
F=$(delivered plain.1@example.com)
sed '1,/^$/d' "$S/plain.eml" >"$T/plain.body"
[ -n "$F" ] && sink_body "$F" | cmp -s - "$T/plain.body" && ! grep -qi "^X-ITIP-" "$F"
ok $? "plain mail delivered with a byte-identical body and no X-ITIP header"
F=$(delivered plain-forged.1@example.org)
[ -n "$F" ] && ! grep -qi "^X-ITIP-" "$F"; ok $? "forged X-ITIP headers removed"

# release: -qQ -Q drops the quarantine, a queue run delivers it with our headers
N0=$(sink_count "$T/sink")
sm_run "$T" -qQ -Q >/dev/null 2>&1 && sm_run "$T" -q >/dev/null 2>&1
sm_idle && [ "$(sink_count "$T/sink")" -eq $((N0 + 1)) ] && [ -z "$(ls "$T/mqueue")" ]
ok $? "released with sendmail -qQ -Q and a queue run: delivered, queue empty"
F=$(delivered cancel-mismatch.1@example.com)
[ -n "$F" ] && grep -q "^X-ITIP-Result: quarantine (would-fail: mime-method-param-mismatch)$" "$F"
ok $? "the released message carries its X-ITIP headers"
bg_stop "$MPID"
! grep -q "ERROR: .*Sanitizer\|runtime error:" "$LOG"
ok $? "no AddressSanitizer / UBSan report in the milter's output (sanitizer builds)"

done_testing
