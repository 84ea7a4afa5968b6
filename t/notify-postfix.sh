#!/bin/sh
# notify-postfix.sh - notices through a real Postfix (issue 17).  The milter holds a KB 938650
# reply (legacy_cdo_domains) and sends notices with the private Postfix's own sendmail(1)
# (notify.sendmail = "sendmail -C DIR"), which delivers them to the smtp-sink.  XCLIENT
# (smtpd_authorized_xclient_hosts) lets the test be an authenticated client (LOGIN=) or an
# outside one (ADDR=) on loopback.  Checks:
#   - authenticated sender: one notice to the originator and one to the postmaster, both at
#     the sink with the null envelope sender, both MIME (Python's email parser), with the rule,
#     the remedy and the queue id, Auto-Submitted, and no text/calendar part; the postmaster's
#     carries the release command;
#   - unauthenticated outside client: only the postmaster's notice;
#   - null sender: no notice at all (the log says why);
#   - notify.rate_limit 2: the third held message of one originator gets no originator notice,
#     and the log says so;
#   - a sendmail that takes 6 s: the SMTP answer does not wait for it, the notice still comes.
# Needs root and the postfix package; TAP output.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/t/lib/tap.sh"
. "$top_srcdir/t/lib/postfix.sh"
. "$top_srcdir/t/lib/sink.sh"
MILTER="$top_builddir/itip-milter"
PY="${PYTHON3:-python3}"
KB="$top_srcdir/t/rules/reply-attendee-critical-change-missing/pos-would-fail-legacy-organizer.eml"

pf_require postfix postconf postqueue sendmail smtp-sink

T=$(mktemp -d /tmp/itn.XXXXXX)
chmod 755 "$T"
trap 'pf_stop "$T/pf"; bg_cleanup; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
SMTPD=$(free_port)
SINK=$(free_port)
MPORT=$(free_port)
CONF="$T/m.conf"
LOG="$T/milter.log"
SENDMAIL=$(command -v sendmail || echo /usr/sbin/sendmail)

# send FROM LOGIN|ADDR:IP|- ID: the KB 938650 reply with Message-ID <ID>, after XCLIENT
# LOGIN=... (authenticated) or ADDR=... (another client address); prints "CODE MS QID"
send() {
    sed "s/^Message-ID: .*/Message-ID: <$3>/" "$KB" >"$T/msg.eml"
    "$PY" - 127.0.0.1 "$SMTPD" "$1" "$2" "$T/msg.eml" <<'PYEOF'
import re, smtplib, sys, time
host, port, sender, who, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
data = re.sub(rb"(?<!\r)\n", b"\r\n", open(path, "rb").read())
s = smtplib.SMTP(host, port, local_hostname="client.example", timeout=60)
s.ehlo()
if who != "-":
    kind, _, value = who.partition(":")
    code, text = s.docmd("XCLIENT", ("LOGIN=" if kind == "LOGIN" else "ADDR=") + value)
    if code != 220:
        print("xclient %d %s" % (code, text)); sys.exit(1)
    s.ehlo()
t0 = time.monotonic()
s.mail(sender)
s.rcpt("larry@legacy.example.org")
code, text = s.data(data)
ms = (time.monotonic() - t0) * 1000
print("%d %.0f %s" % (code, ms, text.decode().split()[-1]))
s.quit()
PYEOF
}
notices_to() { # notices_to ADDR: the sink files holding a notice addressed to ADDR
    grep -l "^X-ITIP-Notice: " -r "$T/sink" 2>/dev/null | xargs -r grep -l "^To: $1$" 2>/dev/null
}
count_to() { notices_to "$1" | wc -l; }
mime_ok() { # mime_ok FILE QID: a MIME notice with the rule, the remedy and QID, no text/calendar
    "$PY" - "$1" "$2" <<'PYEOF'
import email, email.policy, sys
raw = open(sys.argv[1], "rb").read()
# smtp-sink -d writes the envelope as X- lines before the message
msg = email.message_from_bytes(raw, policy=email.policy.default)
assert msg.get("Auto-Submitted") == "auto-generated", "Auto-Submitted"
assert msg.get_content_type() == "multipart/mixed", msg.get_content_type()
parts = [p for p in msg.walk() if not p.is_multipart()]
types = [p.get_content_type() for p in parts]
assert "text/calendar" not in types and all(t == "text/plain" for t in types), types
body = parts[0].get_content()
assert "reply-attendee-critical-change-missing" in body, "rule"
assert "What to do:" in body and "KB 938650" in body, "remedy"
assert sys.argv[2] in body, "queue id"
for line in raw.split(b"\n"):
    assert len(line) <= 998
PYEOF
}
null_envelope() { grep -q "^X-Mail-Args: <>" "$1"; }   # smtp-sink -d: the MAIL FROM argument

cat >"$T/slow-sendmail" <<EOF
#!/bin/sh
sleep 6
exec $SENDMAIL "\$@"
EOF
chmod 755 "$T/slow-sendmail"
conf() { # conf SENDMAIL-COMMAND
    cat >"$CONF" <<EOF
legacy_cdo_domains = [ "legacy.example.org" ];
notify = {
  postmaster = "postmaster@example.org";
  local_networks = [ "10.99.0.0/16" ];
  rate_limit = 2;
  sendmail = "$1 -C $T/pf/etc";
};
EOF
}
conf "$SENDMAIL"
bg_start MPID "$MILTER" -f -c "$CONF" -p "inet:$MPORT@127.0.0.1" 2>>"$LOG"
wait_for 10 sh -c "grep -q 'starting: socket' '$LOG'"; ok $? "milter listening, notices configured"
pf_setup "$T/pf" "$SMTPD" "$SINK" "inet:127.0.0.1:$MPORT"
postconf -c "$T/pf/etc" "smtpd_authorized_xclient_hosts = 127.0.0.0/8" "mynetworks = 127.0.0.0/8 203.0.113.0/24"
touch -d '-1 min' "$T/pf/etc/main.cf"
sink_start "$T/sink" "$SINK"
pf_start "$T/pf"; ok $? "private Postfix started (XCLIENT from loopback)"
wait_for 20 "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])))' "$SMTPD"

# ---- an authenticated sender: the originator and the postmaster ----
R=$(send bob@example.net LOGIN:bob n1@example.test); echo "# $R"
Q1=${R##* }
[ "${R%% *}" = 250 ]; ok $? "authenticated KB 938650 reply accepted (held)"
wait_for 30 sh -c "[ \$(grep -l '^X-ITIP-Notice: ' -r '$T/sink' 2>/dev/null | wc -l) -ge 2 ]"
[ "$(count_to bob@example.net)" -eq 1 ] && [ "$(count_to postmaster@example.org)" -eq 1 ]
ok $? "one notice to the originator and one to the postmaster"
F=$(notices_to bob@example.net | head -1); P=$(notices_to postmaster@example.org | head -1)
mime_ok "$F" "$Q1"; ok $? "originator notice: MIME, rule, remedy, queue id $Q1, no text/calendar"
mime_ok "$P" "$Q1"; ok $? "postmaster notice: MIME, rule, remedy, queue id $Q1, no text/calendar"
grep -q "itip-quarantine release $Q1" "$P" && ! grep -q "itip-quarantine release" "$F"
ok $? "the postmaster's notice has the release command, the originator's not"
null_envelope "$F" && null_envelope "$P"; ok $? "both sent with the null envelope sender"

# ---- an outside client that did not authenticate: the postmaster only ----
R=$(send bob@example.net ADDR:203.0.113.9 n2@example.test); echo "# $R"
Q2=${R##* }
wait_for 30 sh -c "[ \$(grep -l '^X-ITIP-Notice: .*qid=$Q2' -r '$T/sink' 2>/dev/null | wc -l) -ge 1 ]"
sleep 2
[ "$(grep -l "^X-ITIP-Notice: .*qid=$Q2" -r "$T/sink" | wc -l)" -eq 1 ] &&
    grep -l "^X-ITIP-Notice: .*qid=$Q2" -r "$T/sink" | xargs grep -q "^To: postmaster@example.org$"
ok $? "unauthenticated outside client: only the postmaster's notice"
grep -q "qid=$Q2 no notice to the originator <bob@example.net>: it did not authenticate" "$LOG"
ok $? "the log says why the originator was not told"

# ---- a null sender: nothing ----
R=$(send "" LOGIN:bob n3@example.test); echo "# $R"
Q3=${R##* }
wait_for 10 grep -q "qid=$Q3 no notice: null sender" "$LOG"; ok $? "null sender: no notice (logged)"
sleep 2
! grep -rq "^X-ITIP-Notice: .*qid=$Q3" "$T/sink"; ok $? "null sender: no notice reached the sink"

# ---- the rate limit: 2 per originator and hour ----
for i in 1 2 3; do
    R=$(send carol@example.net LOGIN:carol r$i@example.test); echo "# $R"
done
wait_for 30 sh -c "[ \$(grep -l '^To: carol@example.net' -r '$T/sink' 2>/dev/null | wc -l) -ge 2 ]"
sleep 3
[ "$(count_to carol@example.net)" -eq 2 ]; ok $? "rate_limit 2: two originator notices for three held messages"
grep -q "notice to <carol@example.net> not sent: notify.rate_limit (2 per hour) reached" "$LOG"
ok $? "the third is not sent and the log says so"

# ---- a slow sendmail never holds up the SMTP answer ----
conf "$T/slow-sendmail"
before=$(grep -c "configuration reloaded" "$LOG")
kill -USR1 "$MPID"
wait_for 10 sh -c "[ \$(grep -c 'configuration reloaded' '$LOG') -gt $before ]"
R=$(send dave@example.net LOGIN:dave s1@example.test); echo "# $R"
MS=$(echo "$R" | awk '{ print $2 }')
[ "${R%% *}" = 250 ] && [ "$MS" -lt 3000 ]; ok $? "with a sendmail that takes 6 s the SMTP answer came in ${MS} ms"
wait_for 40 sh -c "[ \$(grep -l '^To: dave@example.net' -r '$T/sink' 2>/dev/null | wc -l) -ge 1 ]"
ok $? "and the notice still arrives"

bg_stop "$MPID"
! grep -q "ERROR: .*Sanitizer\|runtime error:" "$LOG"; ok $? "no sanitizer report in the milter's output"
done_testing
