#!/bin/sh
# repair.sh - the repair action end to end: over the milter protocol (miltertest,
# t/mt/repair.lua) and through a real Postfix (t/lib/postfix.sh, smtp-sink next hop).
#
# miltertest: the body replaced with exactly the expected bytes, X-ITIP-Repaired, a forged one
# removed, the fallback when the repair cannot be made or the body is too large to keep,
# dry_run.  Postfix: a base64, a quoted-printable and a 7bit REPLY without the critical-change
# stamp (to a legacy_cdo_domains organizer, so would-fail) pass a milter configured with
# action = "repair"; each is delivered, checked again with itip-check no longer has the
# finding, and differs from what was sent only inside the calendar part and in the added
# headers (Received, X-ITIP-*).  A REQUEST that is a top-level text/calendar without
# method= gets the parameter in its Content-Type header (smfi_chgheader), its body delivered
# byte for byte.  Parts that need root, Postfix or miltertest skip loudly.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/t/lib/tap.sh"
. "$top_srcdir/t/lib/postfix.sh"
. "$top_srcdir/t/lib/sink.sh"
. "$top_srcdir/t/lib/miltertest.sh"
MILTER="$top_builddir/itip-milter"
CHECK="$top_builddir/itip-check"
PY="${PYTHON3:-python3}"
R="$top_srcdir/t/repair"

command -v "$PY" >/dev/null 2>&1 || skip_all "python3 is not installed"
[ -x "$MILTER" ] && [ -x "$CHECK" ] || skip_all "itip-milter / itip-check were not built"
command -v miltertest >/dev/null 2>&1 ||
    skip_all "miltertest is not installed (Debian package miltertest)"
pf_require postfix postconf postqueue smtp-sink

T=$(mktemp -d /tmp/itr.XXXXXX)        # short: unix socket paths must fit 108 bytes
chmod 755 "$T"
trap 'pf_stop "$T/pf"; bg_cleanup; rm -rf "$T"' EXIT
CONF="$T/m.conf"
LOG="$T/milter.log"
REPAIR='legacy_cdo_domains = [ "legacy.example" ];
rules = {
  reply-attendee-critical-change-missing = { action = "repair"; };
  reply-attendee-critical-change-invalid = { action = "repair"; };
  mime-method-param-missing = { action = "repair"; };
};'

reload() { # reload CONFIG-TEXT: install it, SIGUSR1, wait until the milter says so
    before=$(grep -c "configuration reloaded" "$LOG")
    printf '%s\n' "$1" >"$CONF"
    kill -USR1 "$MPID"
    wait_for 10 sh -c "[ \$(grep -c 'configuration reloaded' '$LOG') -gt $before ]"
}

mt_run() { # mt_run EXPECT: t/mt/repair.lua; its checks become TAP lines
    mt_tap "unix:$T/s" repair "$1" "miltertest $1" "ran to the end"
}

# ---- the milter protocol ----
printf '%s\n' "$REPAIR" >"$CONF"
bg_start MPID "$MILTER" -f -c "$CONF" -p "unix:$T/s" 2>"$LOG"
wait_for 10 sh -c "grep -q 'starting: socket' '$LOG'"; ok $? "milter started (unix socket)"
mt_run made
grep -q "qid=MT-REP-1 repair made: reply-attendee-critical-change-missing part=0: " "$LOG"
ok $? "log: the repair made, with rule and part"
grep -q "qid=MT-REP-FLOAT repair not made: reply-attendee-critical-change-missing part=0: .*DTSTAMP" \
    "$LOG"
ok $? "log: the repair not made, with the reason"
grep -q "qid=MT-REP-1 .*action=repair" "$LOG"; ok $? "log line: action=repair"
reload "$REPAIR
max_calendar_parts = 1;
max_calendar_part_size = 8192;"
ok $? "reload: repair limit 8 KiB"
mt_run toolarge
grep -q "qid=MT-REP-BIG repair not made: the body is larger than" "$LOG"
ok $? "log: the body was too large to keep"
reload "$REPAIR
dry_run = true;"
ok $? "reload: dry_run"
mt_run dryrun
bg_stop "$MPID"

# ---- through Postfix ----
SMTPD=$(free_port)
SINK=$(free_port)
MPORT=$(free_port)
printf '%s\n' "$REPAIR" >"$CONF"
bg_start MPID "$MILTER" -f -c "$CONF" -p "inet:$MPORT@127.0.0.1" 2>>"$LOG"
wait_for 10 sh -c "grep -q 'starting: socket inet:$MPORT' '$LOG'"
ok $? "milter listening on inet:$MPORT@127.0.0.1"
pf_setup "$T/pf" "$SMTPD" "$SINK" "inet:127.0.0.1:$MPORT"
sink_start "$T/sink" "$SINK"
pf_start "$T/pf"; ok $? "private Postfix started"
wait_for 20 "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])))' \
    "$SMTPD"

MSGS="b64-nested-crlf.eml qp-lf.eml 7bit-crlf.eml"
set --
for m in $MSGS; do set -- "$@" "$R/$m"; done
"$PY" "$top_srcdir/t/lib/smtpsend.py" 127.0.0.1 "$SMTPD" anton@example.net olga@legacy.example \
    "$@" >"$T/sent" 2>&1
sed 's/^/# /' "$T/sent"
[ "$(awk '$2 == 250' "$T/sent" | wc -l)" -eq 3 ]; ok $? "three REPLYs accepted (250)"
pf_wait_idle "$T/pf" && [ "$(sink_count "$T/sink")" -eq 3 ]
ok $? "all three delivered, none held"

printf '%s\n' "$REPAIR" >"$T/check.conf"
for m in $MSGS; do
    id=$(tr -d '\r' <"$R/$m" | sed -n 's/^Message-ID: <\(.*\)>$/\1/p')
    F=$(sink_find "$T/sink" "$id")
    [ -n "$F" ]; ok $? "$m: delivered"
    [ -n "$F" ] || continue
    "$CHECK" -c "$T/check.conf" --json "$F" >"$T/check.json"
    "$PY" - "$T/check.json" <<'PYEOF'
import json, sys
d = json.loads(open(sys.argv[1]).read())
sys.exit(0 if d["calendar_parts"] == 1 and not d["findings"] else 1)
PYEOF
    ok $? "$m: itip-check on the delivered message: no finding left"
    "$PY" - "$R/$m" "$F" >"$T/cmp.out" 2>&1 <<'PYEOF'
import re, sys

def split(path):
    data = open(path, "rb").read().replace(b"\r\n", b"\n")
    head, _, body = data.partition(b"\n\n")
    fields = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b"\n" + line
        else:
            fields.append(line)
    return fields, body

of, ob = split(sys.argv[1])
df, db = split(sys.argv[2])
db = db[:-1] if db.endswith(b"\n\n") else db          # smtp-sink's extra newline
added = re.compile(rb"^(Received|X-Client-[A-Za-z]+|X-Helo-Args|X-Mail-Args|X-Rcpt-Args"
                   rb"|X-ITIP-[A-Za-z]+):", re.I)
ours = [re.sub(rb"\n\t", b" ", f) for f in df if re.match(rb"^X-ITIP-", f)]
if [f for f in df if not added.match(f)] != of:
    sys.exit("headers differ beyond Received, smtp-sink's and X-ITIP-*")
if not any(f.startswith(b"X-ITIP-Result: repair (would-fail: ") for f in ours):
    sys.exit("no X-ITIP-Result: repair")
if not any(f.startswith(b"X-ITIP-Repaired: ") and
           b"reply-attendee-critical-change-missing part=0: " in f for f in ours):
    sys.exit("no X-ITIP-Repaired naming the change")
# the calendar part: from its Content-Type line to the boundary after its body
start = ob.index(b"Content-Type: text/calendar")
end = ob.index(b"\n--", ob.index(b"\n\n", start))
pre = 0
while pre < min(len(ob), len(db)) and ob[pre] == db[pre]:
    pre += 1
suf = 0
while suf < min(len(ob), len(db)) - pre and ob[-1 - suf] == db[-1 - suf]:
    suf += 1
if pre < start or len(ob) - suf > end or ob == db:
    sys.exit("body differs outside the calendar part (%d..%d vs %d..%d)"
             % (pre, len(ob) - suf, start, end))
PYEOF
    what="X-ITIP-Result: repair, X-ITIP-Repaired; differs from what was sent only in the"
    ok $? "$m: $what calendar part and the added headers"
    sed 's/^/# /' "$T/cmp.out"
done
grep -q "repair made: mime-method-param-missing part=0: Content-Type method=REPLY added" "$LOG"
ok $? "qp and 7bit: the method= parameter was added too"

# the calendar part is the message: its Content-Type is a message header
TOP="$R/top-level-request.eml"
"$PY" "$top_srcdir/t/lib/smtpsend.py" 127.0.0.1 "$SMTPD" olga@example.org anton@example.net \
    "$TOP" >"$T/sent" 2>&1
sed 's/^/# /' "$T/sent"
pf_wait_idle "$T/pf" && [ "$(sink_count "$T/sink")" -eq 4 ]
ok $? "top-level REQUEST without method=: accepted and delivered"
F=$(sink_find "$T/sink" "repair-top-request@example.org")
"$CHECK" -c "$T/check.conf" --json "$F" >"$T/check.json" 2>&1
"$PY" - "$T/check.json" <<'PYEOF'
import json, sys
d = json.loads(open(sys.argv[1]).read())
sys.exit(0 if d["calendar_parts"] == 1 and
         not [x for x in d["findings"] if x["rule"] == "mime-method-param-missing"] else 1)
PYEOF
ok $? "top level: itip-check on the delivered message: no mime-method-param-missing"
"$PY" - "$TOP" "$F" >"$T/cmp.out" 2>&1 <<'PYEOF'
import re, sys
o = open(sys.argv[1], "rb").read().replace(b"\r\n", b"\n")
d = open(sys.argv[2], "rb").read().replace(b"\r\n", b"\n")
oh, _, ob = o.partition(b"\n\n")
dh, _, db = d.partition(b"\n\n")
db = db[:-1] if db.endswith(b"\n\n") else db          # smtp-sink's extra newline
if db != ob:
    sys.exit("the body differs")
want = b'Content-Type: text/calendar;\n\tcharset="utf-8"; method=REQUEST\n'
if want not in dh + b"\n":
    sys.exit("no %r in the delivered header:\n%s" % (want, dh.decode(errors="replace")))
if len(re.findall(rb"(?im)^content-type:", dh)) != 1:
    sys.exit("not exactly one Content-Type header")
if not re.search(rb"(?m)^X-ITIP-Repaired: mime-method-param-missing part=0: "
                 rb"Content-Type method=REQUEST added$", re.sub(rb"\n[ \t]+", b" ", dh)):
    sys.exit("no X-ITIP-Repaired naming the change")
PYEOF
ok $? "top level: Content-Type keeps its text and fold, gains method=REQUEST; body byte-identical"
sed 's/^/# /' "$T/cmp.out"

# signed content is never rewritten: with a tag fallback the signed messages are delivered,
# their bodies byte-identical, and X-ITIP-Result says why the repair was not made
reload "$REPAIR
actions = { would-fail = \"tag\"; };"
ok $? "reload: fallback tag"
"$PY" "$top_srcdir/t/lib/smtpsend.py" 127.0.0.1 "$SMTPD" anton@example.net olga@legacy.example \
    "$R/signed-smime.eml" "$R/signed-pgp.eml" "$R/dkim-signed.eml" >"$T/sent" 2>&1
sed 's/^/# /' "$T/sent"
pf_wait_idle "$T/pf" && [ "$(sink_count "$T/sink")" -eq 7 ]
ok $? "signed messages: accepted and delivered"
for m in signed-smime signed-pgp dkim-signed; do
    id=$(tr -d '\r' <"$R/$m.eml" | sed -n 's/^Message-ID: <\(.*\)>$/\1/p')
    F=$(sink_find "$T/sink" "$id")
    tr -d '\r' <"$R/$m.eml" | sed '1,/^$/d' >"$T/sent.body"
    [ -n "$F" ] && sink_body "$F" | tr -d '\r' | cmp -s - "$T/sent.body"
    ok $? "$m: delivered with a byte-identical body"
    [ -n "$F" ] && sed '/^$/q' "$F" | sed -e ':a' -e 'N;$!ba' -e 's/\n\t/ /g' |
        grep -q "^X-ITIP-Result: tag (would-fail: reply-attendee-critical-change-missing) .*; repair not made: .*\(signed\|DKIM\)"
    ok $? "$m: X-ITIP-Result: tag, and why the repair was not made"
done

bg_stop "$MPID"
! grep -q "ERROR: .*Sanitizer\|runtime error:" "$LOG"
ok $? "no AddressSanitizer / UBSan report in the milter's output (sanitizer builds)"
done_testing
