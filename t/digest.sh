#!/bin/sh
# digest.sh - itip-quarantine digest and expire against the private Postfix of the end-to-end
# tests (t/lib/postfix.sh) with itip-milter holding the messages.
#
# Four calendar messages are held, sent two seconds apart (so their arrival times differ): O1
# (mime-method-param-mismatch, alice@example.net), O2 (reply-attendee-critical-change-missing,
# bob@example.org), O3 (hostile: Subject and From with <script>, quotes, & and RFC 2047 encoded
# HTML; sender carol@evil.example) and Y (dave@example.net).  A postmaster's HOLD holds a fifth
# message that is not ours.  The clock of the tool is set with ITIP_QUARANTINE_NOW, so the ages
# are exact:
#   digest (text, --json, --html): every held id of ours and never the foreign one, the overdue
#     ones (O1, O2) first and marked, grouped by rule and by sender domain, each finding with
#     its rule's remedy (as itip-check --list-rules --json says), the exact release and delete
#     command lines (and the printed delete line, run, deletes nothing else), --since narrowing
#     all but the overdue; the HTML parses with a strict XML parser, carries both SVG charts,
#     no script, no src/href/event attribute, no remote URL, and the hostile strings come back
#     intact as text and attribute values (never as markup); headless chromium renders it to
#     a screenshot with no network request (its net log names no URL but the page's);
#   digest --mail: the mail reaches the sink with a null envelope sender, Auto-Submitted, and
#     parses as multipart/alternative (text/plain and text/html, UTF-8);
#   expire: release (O1 reaches the sink), return (O2's sender gets a MIME notice from the
#     null sender with the rule and the remedy; O2 leaves the queue), keep (the default: O3
#     stays, listed as overdue, a warning): each acting on the aged message alone, younger ones
#     and the foreign one untouched; --dry-run changes nothing; a message from the null sender
#     is never returned (kept, with a warning).
# Needs root, postfix, python3 and chromium; skips loudly without them.  TAP output.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/t/lib/tap.sh"
. "$top_srcdir/t/lib/postfix.sh"
. "$top_srcdir/t/lib/sink.sh"
MILTER="$top_builddir/itip-milter"
QUAR="$top_builddir/itip-quarantine"
CHECK="$top_builddir/itip-check"
PY="${PYTHON3:-python3}"
S="$top_srcdir/samples"
SEND="$top_srcdir/t/lib/smtpsend.py"

pf_require postfix postconf postqueue postcat postsuper smtp-sink sendmail
[ -x "$QUAR" ] || skip_all "$QUAR was not built"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || skip_all "chromium is not installed (setup.sh installs it: apt-get install chromium)"

T=$(mktemp -d /tmp/itd.XXXXXX)
chmod 755 "$T"
trap 'pf_stop "$T/pf"; bg_cleanup; [ -n "${DIGEST_KEEP:-}" ] || rm -rf "$T"' EXIT
SMTPD=$(free_port)
SINK=$(free_port)
MPORT=$(free_port)
LOG="$T/milter.log"
QERR="$T/quar.err"             # every stderr of itip-quarantine, checked for sanitizer reports
: >"$QERR"

held_json() { postqueue -c "$T/pf/etc" -j 2>/dev/null; }
in_hold() { held_json | grep -q "\"queue_name\": \"hold\", \"queue_id\": \"$1\""; }
in_queue() { held_json | grep -q "\"queue_id\": \"$1\""; }
qid_of() { awk -v f="$1" '$1 == f { print $NF }' "$2"; }
send() { # send SENDER FILE: one message, its queue id appended to $T/sent
    "$PY" "$SEND" 127.0.0.1 "$SMTPD" "$1" rcpt@example.com "$2" >>"$T/sent" 2>&1
}

printf 'legacy_cdo_domains = [ "legacy.example" ];\nquarantine = {\n  digest_overdue = 100000;\n};\n' >"$T/m.conf"
q() { "$QUAR" -c "$T/m.conf" --postfix-dir "$T/pf/etc" "$@" 2>>"$QERR"; }

bg_start MPID "$MILTER" -f -c "$T/m.conf" -p "inet:$MPORT@127.0.0.1" 2>>"$LOG"
wait_for 10 sh -c "grep -q 'starting: socket' '$LOG'"
pf_setup "$T/pf" "$SMTPD" "$SINK" "inet:127.0.0.1:$MPORT"
printf '/^Subject: Held by the postmaster/ HOLD\n' >"$T/pf/etc/header_checks"
postconf -c "$T/pf/etc" -e "header_checks = regexp:$T/pf/etc/header_checks"
touch -d '-1 min' "$T/pf/etc/main.cf"
sink_start "$T/sink" "$SINK"
pf_start "$T/pf"; ok $? "private Postfix started with itip-milter"
wait_for 10 "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])))' "$SMTPD"

# the messages: O3 with a hostile Subject and From, Y a second copy of O1's kind
"$PY" - "$S/cancel-method-mismatch.eml" "$T" "$S/request-clean.eml" <<'PYEOF'
import re, sys
src, t = sys.argv[1], sys.argv[2]
m = open(src, encoding="utf-8").read()
def derive(subject, frm, msgid):
    x = re.sub(r"(?m)^Subject: .*$", lambda _: "Subject: " + subject, m, count=1)
    x = re.sub(r"(?m)^From: .*$", lambda _: "From: " + frm, x, count=1)
    return re.sub(r"(?m)^Message-ID: .*$", lambda _: "Message-ID: <%s>" % msgid, x, count=1)
open(t + "/hostile.eml", "w").write(derive(
    "<script>alert(\"s\")</script> & 'q' =?utf-8?q?=3Cimg_src=3Dx_onerror=3Dalert=281=29=3E?=",
    "=?utf-8?q?=3Cscript=3Eevil()=3C/script=3E?= \"A&B 'C' <b>\" <carol@evil.example>",
    "hostile.1@evil.example"))
open(t + "/young.eml", "w").write(derive("Canceled: young one", "Dave <dave@example.net>",
                                         "young.1@example.net"))
m = open(sys.argv[3], encoding="utf-8").read()           # a clean invitation: itip-milter passes it
open(t + "/foreign.eml", "w").write(derive("Held by the postmaster", "Erin <erin@example.net>",
                                           "foreign.1@example.net"))
PYEOF
: >"$T/sent"
send alice@example.net "$S/cancel-method-mismatch.eml"
send erin@example.net "$T/foreign.eml"
sleep 2
send bob@example.org "$S/reply-legacy-no-critical-change.eml"
sleep 2
send carol@evil.example "$T/hostile.eml"
sleep 2
send dave@example.net "$T/young.eml"
sed 's/^/# /' "$T/sent"
O1=$(qid_of "$S/cancel-method-mismatch.eml" "$T/sent")
O2=$(qid_of "$S/reply-legacy-no-critical-change.eml" "$T/sent")
O3=$(qid_of "$T/hostile.eml" "$T/sent")
Y=$(qid_of "$T/young.eml" "$T/sent")
F=$(qid_of "$T/foreign.eml" "$T/sent")
pf_wait_idle "$T/pf" && in_hold "$O1" && in_hold "$O2" && in_hold "$O3" && in_hold "$Y" && in_hold "$F"
ok $? "five messages held: ours $O1 $O2 $O3 $Y, the postmaster's $F"

# arrival times as the tool reads them
q --json list >"$T/list.json"
at() { sed -n "s/^{\"queue_id\":\"$1\".*\"arrival_time\":\([0-9]*\),.*/\1/p" "$T/list.json"; }
A1=$(at "$O1"); A2=$(at "$O2"); A3=$(at "$O3"); A4=$(at "$Y")
echo "# arrivals: $A1 $A2 $A3 $A4"
[ -n "$A1" ] && [ -n "$A4" ] && [ "$A1" -lt "$A2" ] && [ "$A2" -lt "$A3" ] && [ "$A3" -lt "$A4" ]
ok $? "arrival times strictly increasing"

# the clock: O1 and O2 held longer than digest_overdue (100000 s), O3 and Y not
NOW=$((A2 + 100001))
export ITIP_QUARANTINE_NOW=$NOW
PREFIX="itip-quarantine -c $T/m.conf --postfix-dir $T/pf/etc"

# ---- text ----
q digest >"$T/d.txt"; rc=$?
sed 's/^/# /' "$T/d.txt"
[ $rc -eq 0 ] && grep -q "^4 messages held by itip-milter, 2 overdue (held longer than 1d 3h)$" "$T/d.txt"
ok $? "digest: counts of held and overdue messages"
for id in "$O1" "$O2" "$O3" "$Y"; do grep -q "^  $id  held " "$T/d.txt" || echo "# $id missing"; done
[ "$(grep -c '^  [0-9A-F]*  held ' "$T/d.txt")" -eq 4 ] && ! grep -q "$F" "$T/d.txt"
ok $? "digest: every held message of ours once, never the postmaster's"
awk '/^== /{ s = $0 } /^  [0-9A-F]+  held /{ print s "|" $1 "|" ($NF == "OVERDUE") }' "$T/d.txt" >"$T/order"
sed 's/^/# /' "$T/order"
[ "$(sed -n 1p "$T/order")" = "== OVERDUE: held longer than 1d 3h (2) ==|$O1|1" ] &&
    [ "$(sed -n 2p "$T/order")" = "== OVERDUE: held longer than 1d 3h (2) ==|$O2|1" ] &&
    [ "$(sed -n 3p "$T/order")" = "== Rule mime-method-param-mismatch (2) ==|$O3|0" ] &&
    [ "$(sed -n 4p "$T/order")" = "== Rule mime-method-param-mismatch (2) ==|$Y|0" ]
ok $? "digest: the overdue first, oldest first, marked; the others grouped by rule"
grep -q "^      3  mime-method-param-mismatch$" "$T/d.txt" &&
    grep -q "^      1  reply-attendee-critical-change-missing$" "$T/d.txt" &&
    grep -q "^      2  example.net$" "$T/d.txt" && grep -q "^      1  example.org$" "$T/d.txt" &&
    grep -q "^      1  evil.example$" "$T/d.txt" &&
    grep -q "^  example.net: $O1 $Y$" "$T/d.txt"
ok $? "digest: held messages per rule and per sender domain"
grep -q "^    Release:     $PREFIX release $O2$" "$T/d.txt" &&
    grep -q "^    Delete:      $PREFIX delete $Y$" "$T/d.txt"
ok $? "digest: the exact release and delete command lines"
"$CHECK" --list-rules --json >"$T/rules.json" 2>/dev/null
"$PY" - "$T/d.txt" "$T/rules.json" <<'PYEOF'
import json, sys
rem = {}
for l in open(sys.argv[2]):
    o = json.loads(l)
    rem[o["rule"]] = o["remedy"]
lines = open(sys.argv[1]).read().split("\n")
n = 0
for i, l in enumerate(lines):
    if l.startswith("    Finding:     "):
        rule = l[17:].split(" ")[0]
        assert lines[i + 1] == "      Remedy:    " + rem[rule], (rule, lines[i + 1])
        n += 1
assert n >= 4, n
PYEOF
ok $? "digest: every finding followed by its rule's remedy (as itip-check --list-rules says)"
! grep -q "$(printf '\033')" "$T/d.txt" &&
    grep -q "^    Subject:     <script>alert(\"s\")</script> & 'q' <img src=x onerror=alert(1)>$" "$T/d.txt"
ok $? "digest: the hostile subject decoded, as plain text"

# --since narrows all but the overdue
q digest --since 27h >"$T/d27"; q digest --since 28h >"$T/d28"
grep -q "^  $O1  held " "$T/d27" && grep -q "^  $O2  held " "$T/d27" && ! grep -q "^  $O3 " "$T/d27" &&
    ! grep -q "^  $Y " "$T/d27" && [ "$(grep -c '^  [0-9A-F]*  held ' "$T/d28")" -eq 4 ]
ok $? "digest --since: younger arrivals left out, the overdue always in"

# ---- JSON ----
q --json digest >"$T/d.json"; rc=$?
"$PY" - "$T/d.json" "$O1" "$O2" "$O3" "$Y" "$PREFIX" "$NOW" "$A1" <<'PYEOF'
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
ids = [o["queue_id"] for o in objs]
assert ids == sys.argv[2:6], ids
assert [o["overdue"] for o in objs] == [True, True, False, False]
o = objs[0]
assert o["age"] == int(sys.argv[7]) - int(sys.argv[8]) and o["sender"] == "alice@example.net"
assert o["sender_domain"] == "example.net" and o["recipients"] == ["rcpt@example.com"]
assert o["rules"] == ["mime-method-param-mismatch"]
assert o["findings"][0]["rule"] == "mime-method-param-mismatch" and o["findings"][0]["remedy"]
assert o["release_command"] == sys.argv[6] + " release " + ids[0]
assert o["delete_command"] == sys.argv[6] + " delete " + ids[0]
assert objs[1]["rules"] == ["reply-attendee-critical-change-missing"]
assert "KB 938650" in objs[1]["findings"][0]["remedy"]
assert objs[2]["subject"].startswith("<script>") and "<script>" in objs[2]["from"]
PYEOF
[ $? -eq 0 ] && [ $rc -eq 0 ]; ok $? "digest --json: one object per message, overdue first, age, rules, remedies, commands"

# the printed delete command line deletes that message and nothing else (then Y is sent again)
DEL=$(sed -n "s/^    Delete:      \(.*delete $Y\)$/\1/p" "$T/d.txt")
PATH="$top_builddir:$PATH" sh -c "$DEL" >"$T/del.out" 2>>"$QERR"; rc=$?
[ $rc -eq 0 ] && grep -q "^$Y: deleted$" "$T/del.out" && ! in_queue "$Y" && in_hold "$O1" &&
    in_hold "$O2" && in_hold "$O3" && in_hold "$F"
ok $? "the digest's delete line, run by a shell, deletes $Y alone"
sleep 1
: >"$T/sent"
send dave@example.net "$T/young.eml"
Y=$(qid_of "$T/young.eml" "$T/sent")
pf_wait_idle "$T/pf" && in_hold "$Y"; ok $? "the young message held again ($Y)"
A4=$(q --json list | sed -n "s/^{\"queue_id\":\"$Y\".*\"arrival_time\":\([0-9]*\),.*/\1/p")

# ---- HTML ----
q digest --html >"$T/d.html"; rc=$?
"$PY" - "$T/d.html" "$O1" "$O2" "$O3" "$Y" <<'PYEOF'
import re, sys
import xml.etree.ElementTree as ET
raw = open(sys.argv[1], encoding="utf-8").read()
assert raw.startswith("<!DOCTYPE html>\n")
root = ET.fromstring(raw[len("<!DOCTYPE html>\n"):])        # strict: any unclosed tag fails
assert root.tag == "html"
els = list(root.iter())
tags = {e.tag for e in els}
assert not tags & {"script", "img", "iframe", "object", "embed", "link", "base", "form",
                   "video", "audio", "image", "use", "foreignObject"}, tags
for e in els:
    for a in e.attrib:
        assert a not in ("src", "href", "xlink:href", "action", "srcset") and \
            not a.startswith("on"), (e.tag, a)
assert not re.search(r"https?:|//[a-z]|url\(|@import", raw, re.I), "a remote reference"
svgs = {e.get("id"): e for e in root.iter("svg")}
assert set(svgs) == {"chart-rules", "chart-days"}, svgs
rules = [t.text for t in svgs["chart-rules"].iter("text") if not t.text.isdigit()]
assert rules == ["mime-method-param-mismatch", "reply-attendee-critical-change-missing"], rules
counts = [t.text for t in svgs["chart-rules"].iter("text") if t.text.isdigit()]
assert counts == ["3", "1"], counts
assert len(list(svgs["chart-rules"].iter("rect"))) == 2
assert sum(1 for r in svgs["chart-days"].iter("rect") if int(r.get("height")) > 0) >= 1
body = "".join(root.itertext())
for qid in sys.argv[2:6]:
    assert root.find(".//div[@id='msg-%s']" % qid) is not None, qid
subj = "<script>alert(\"s\")</script> & 'q' <img src=x onerror=alert(1)>"
frm = "<script>evil()</script> \"A&B 'C' <b>\" <carol@evil.example>"
cells = {th.text: th for th in root.iter("th")}
tds = [td for td in root.iter("td") if td.get("title") is not None]
assert any(td.get("title") == subj and td.text == subj for td in tds), "subject"
assert any(td.get("title") == frm and td.text == frm for td in tds), "from"
assert "&lt;script&gt;" in raw and "<script" not in raw and "&quot;A&amp;B &#39;C&#39;" in raw
over = [d.get("id") for d in root.iter("div") if "overdue" in (d.get("class") or "").split()]
assert over == ["msg-" + sys.argv[2], "msg-" + sys.argv[3]], over
nf = sum(1 for th in root.iter("th") if th.text == "Finding")
assert nf >= 4 and body.count("Remedy: ") == nf, nf
PYEOF
[ $? -eq 0 ] && [ $rc -eq 0 ]
ok $? "digest --html: strict XML parse, both SVG charts, every id, overdue marked, nothing active or remote, hostile strings escaped"

# chromium: renders it, no network request.  chromium itself phones home (component updater,
# account check): those requests have no initiating origin ("not an origin"); a request of the
# page names the page's origin.  A control page with one remote image shows the check sees it.
chrome() { # chrome HTML NETLOG SHOT
    mkdir -p "$T/chrome"
    timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
        --user-data-dir="$T/chrome" --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync --disable-default-apps \
        --host-resolver-rules="MAP * ~NOTFOUND" --log-net-log="$2" \
        --screenshot="$3" --window-size=1200,900 "file://$1" >>"$T/chrome.out" 2>&1
}
page_requests() { # page_requests NETLOG: the URLs the page asked for, one a line
    "$PY" - "$1" <<'PYEOF'
import json, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
try:
    log = json.loads(text)
except ValueError:                       # chromium may leave the closing brackets off
    log = json.loads(text.rstrip().rstrip(",") + "]}")
types = {v: k for k, v in log["constants"]["logEventTypes"].items()}
starts = [e["params"] for e in log["events"]
          if types.get(e["type"]) == "URL_REQUEST_START_JOB" and "url" in (e.get("params") or {})]
page = [p["url"] for p in starts if p.get("initiator") != "not an origin"]
sys.stderr.write("# net log: %d events, %d requests of chromium itself, %d of the page\n"
                 % (len(log["events"]), len(starts) - len(page), len(page)))
assert log["events"]
print("\n".join(page))
PYEOF
}
chrome "$T/d.html" "$T/net.json" "$T/shot.png"; rc=$?
[ $rc -eq 0 ] && [ -s "$T/shot.png" ] && [ "$(head -c 8 "$T/shot.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ]
ok $? "chromium (headless) renders the digest to a PNG screenshot (exit $rc)"
printf '<!DOCTYPE html>\n<html><body><img src="http://remote.invalid/x.png"/></body></html>\n' >"$T/ctl.html"
chrome "$T/ctl.html" "$T/ctl.json" "$T/ctl.png"
page_requests "$T/ctl.json" >"$T/ctl.req" 2>&1 && grep -q "^http://remote.invalid/x.png$" "$T/ctl.req" &&
    page_requests "$T/net.json" >"$T/net.req" 2>&1 && ! grep -v "^# " "$T/net.req" | grep -q .
rc=$?
sed 's/^#*/# /' "$T/net.req"
ok $rc "chromium: the digest page makes no network request (a control page's remote image is seen)"

# ---- --mail ----
N0=$(sink_count "$T/sink")
"$QUAR" -c "$T/m.conf" --postfix-dir "$T/pf/etc" digest --mail postmaster@example.com >"$T/mail.out" 2>"$T/mail.err"; rc=$?
sed 's/^/# /' "$T/mail.err"; cat "$T/mail.err" >>"$QERR"
[ $rc -eq 0 ] && grep -q "^digest of 4 held messages mailed to postmaster@example.com$" "$T/mail.out"
ok $? "digest --mail: exit 0"
wait_for 30 sh -c "grep -rlq '^Subject: itip-quarantine digest: 4 held, 2 overdue' '$T/sink'"
MF=$(grep -rl '^Subject: itip-quarantine digest: 4 held, 2 overdue' "$T/sink" | head -1)
[ -n "$MF" ] && sed -n '1,/^$/p' "$MF" | sed 's/^/# /'
"$PY" - "${MF:-/nonexistent}" "$O1" "$O3" <<'PYEOF'
import email, email.policy, re, sys
raw = open(sys.argv[1], "rb").read()
head = raw.split(b"\n\n", 1)[0].decode()
assert re.search(r"(?m)^X-Mail-Args: ?(FROM:)?<>", head), "null envelope sender"
m = email.message_from_bytes(raw, policy=email.policy.default)
assert m["Auto-Submitted"] == "auto-generated" and m["To"] == "postmaster@example.com"
assert m["MIME-Version"] == "1.0"
assert m.get_content_type() == "multipart/alternative"
parts = list(m.iter_parts())
assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
assert all(p.get_content_charset() == "utf-8" for p in parts)
text, html = parts[0].get_content(), parts[1].get_content()
assert sys.argv[2] in text and "OVERDUE" in text and "<script>alert" in text
assert "chart-rules" in html and "&lt;script&gt;" in html and "<script" not in html
PYEOF
ok $? "digest --mail: at the sink, null sender, Auto-Submitted, multipart/alternative text+HTML in UTF-8"
[ "$(sink_count "$T/sink")" -eq $((N0 + 1)) ] && in_hold "$O1" && in_hold "$Y"
ok $? "digest --mail: one mail; the held messages untouched"

# ---- expire ----
# max_hold_age 200000 s; the clock just past O1's, then O2's, then O3's limit
exp_conf() { printf 'legacy_cdo_domains = [ "legacy.example" ];\nquarantine = {\n  max_hold_age = 200000;\n  digest_overdue = 100000;\n%s};\n' "$1" >"$T/e.conf"; }
exp_line() { printf '  on_max_hold_age = "%s";\n' "$1"; }
e() { "$QUAR" -c "$T/e.conf" --postfix-dir "$T/pf/etc" "$@" 2>>"$T/e.err"; }
exp_conf "$(exp_line release)"
: >"$T/e.err"
ITIP_QUARANTINE_NOW=$((A1 + 200001)) e expire --dry-run >"$T/e0"; rc=$?
sed 's/^/# /' "$T/e0"
[ $rc -eq 0 ] && [ "$(cat "$T/e0")" = "$O1: held 2d 7h (longer than 2d 7h): would release" ] &&
    in_hold "$O1" && in_hold "$O2" && in_hold "$O3" && in_hold "$Y"
ok $? "expire --dry-run: says it would release $O1 alone, changes nothing"
N0=$(sink_count "$T/sink")
ITIP_QUARANTINE_NOW=$((A1 + 200001)) e expire >"$T/e1"; rc=$?
sed 's/^/# /' "$T/e1"
[ $rc -eq 0 ] && [ "$(cat "$T/e1")" = "$O1: held 2d 7h (longer than 2d 7h): released" ]
ok $? "expire, on_max_hold_age = release: $O1 released"
wait_for 20 sh -c "[ -n \"\$(grep -rl '^Message-ID: <cancel-mismatch.1@example.com>' '$T/sink')\" ]"
[ -n "$(sink_find "$T/sink" cancel-mismatch.1@example.com)" ] && ! in_queue "$O1" &&
    in_hold "$O2" && in_hold "$O3" && in_hold "$Y" && in_hold "$F"
ok $? "release: $O1 delivered to the sink; $O2 $O3 $Y and the foreign $F still held"

exp_conf "$(exp_line return)"
N0=$(sink_count "$T/sink")
ITIP_QUARANTINE_NOW=$((A2 + 200001)) e expire >"$T/e2"; rc=$?
sed 's/^/# /' "$T/e2"
[ $rc -eq 0 ] && [ "$(cat "$T/e2")" = "$O2: held 2d 7h (longer than 2d 7h): returned to bob@example.org and deleted" ]
ok $? "expire, on_max_hold_age = return: $O2 returned"
wait_for 20 sh -c "grep -rlq '^Subject: Undelivered Mail Returned to Sender (held too long)' '$T/sink'"
RF=$(grep -rl '^Subject: Undelivered Mail Returned to Sender (held too long)' "$T/sink" | head -1)
"$PY" - "${RF:-/nonexistent}" "$O2" <<'PYEOF'
import email, email.policy, re, sys
raw = open(sys.argv[1], "rb").read()
head = raw.split(b"\n\n", 1)[0].decode()
assert re.search(r"(?m)^X-Mail-Args: ?(FROM:)?<>", head), "null envelope sender"
assert re.search(r"(?m)^X-Rcpt-Args: ?(TO:)?<bob@example.org>", head), "to the envelope sender"
m = email.message_from_bytes(raw, policy=email.policy.default)
assert m["Auto-Submitted"] == "auto-generated" and m["To"] == "bob@example.org"
assert m.get_content_type() == "multipart/mixed"
parts = list(m.iter_parts())
assert [p.get_content_type() for p in parts] == ["text/plain", "text/rfc822-headers"]
text = parts[0].get_content()
assert sys.argv[2] in text and "reply-attendee-critical-change-missing" in text
assert "KB 938650" in text and "Accepted: Budget review" in text
assert not any(p.get_content_type() == "text/calendar" for p in m.walk())
PYEOF
ok $? "return: a MIME notice to the envelope sender from the null sender, rule, remedy and queue id, no calendar"
! in_queue "$O2" && in_hold "$O3" && in_hold "$Y" && in_hold "$F" &&
    [ "$(sink_count "$T/sink")" -eq $((N0 + 1)) ]
ok $? "return: $O2 left the queue undelivered; $O3 $Y $F still held"

exp_conf ''
: >"$T/e.err"
N0=$(sink_count "$T/sink")
ITIP_QUARANTINE_NOW=$((A3 + 200001)) e expire >"$T/e3"; rc=$?
sed 's/^/# /' "$T/e3" "$T/e.err"
[ $rc -eq 0 ] && [ "$(cat "$T/e3")" = "$O3: held 2d 7h (longer than 2d 7h): kept, overdue" ] &&
    grep -q "warning: $O3 held 2d 7h, longer than quarantine.max_hold_age (2d 7h)" "$T/e.err"
ok $? "expire, default (keep): $O3 kept and warned about"
sleep 1
in_hold "$O3" && in_hold "$Y" && in_hold "$F" && [ "$(sink_count "$T/sink")" -eq "$N0" ]
ok $? "keep: nothing delivered, nothing removed"
ITIP_QUARANTINE_NOW=$((A3 + 200001)) "$QUAR" -c "$T/e.conf" --postfix-dir "$T/pf/etc" digest \
    >"$T/d3" 2>>"$QERR"
grep -q "^  $O3  held 2d 7h, since .*  OVERDUE$" "$T/d3" && grep -q "^  $Y  held .*  OVERDUE$" "$T/d3"
ok $? "the kept message is listed as overdue by the digest"
# the null sender is never returned to: a bounce held by the milter, then "return" on all
: >"$T/sent"
"$PY" - "$S/cancel-method-mismatch.eml" "$T/null.eml" <<'PYEOF'
import re, sys
m = open(sys.argv[1], encoding="utf-8").read()
m = re.sub(r"(?m)^Subject: .*$", "Subject: Canceled: from the null sender", m, count=1)
open(sys.argv[2], "w").write(re.sub(r"(?m)^Message-ID: .*$", "Message-ID: <null.1@example.net>", m, count=1))
PYEOF
send "" "$T/null.eml"
NS=$(qid_of "$T/null.eml" "$T/sent")
pf_wait_idle "$T/pf" && in_hold "$NS"; ok $? "a message from the null sender held ($NS)"
AN=$(q --json list | sed -n "s/^{\"queue_id\":\"$NS\".*\"arrival_time\":\([0-9]*\),.*/\1/p")
exp_conf "$(exp_line return)"
: >"$T/e.err"
N0=$(sink_count "$T/sink")
ITIP_QUARANTINE_NOW=$((AN + 200001)) e expire >"$T/e4"; rc=$?
sed 's/^/# /' "$T/e4" "$T/e.err"
[ $rc -eq 0 ] && grep -q "^itip-quarantine: $NS: null sender, never returned: kept$" "$T/e.err"
r1=$?
grep -q "^$NS: held 2d 7h (longer than 2d 7h): kept, overdue$" "$T/e4" &&
    grep -q "^$O3: .*: returned to carol@evil.example and deleted$" "$T/e4" &&
    grep -q "^$Y: .*: returned to dave@example.net and deleted$" "$T/e4"
r2=$?
[ $r1 -eq 0 ] && [ $r2 -eq 0 ]; ok $? "return: the null-sender message kept with a warning, the others returned"
wait_for 20 sh -c "[ \$(grep -rl '^Subject: Undelivered Mail Returned to Sender' '$T/sink' | wc -l) -ge 3 ]"
sleep 1
in_hold "$NS" && in_hold "$F" && ! in_queue "$O3" && ! in_queue "$Y" &&
    [ "$(sink_count "$T/sink")" -eq $((N0 + 2)) ] &&
    ! grep -rl '^Subject: Undelivered Mail Returned to Sender' "$T/sink" | xargs grep -l '^X-Rcpt-Args: <>' | grep -q .
ok $? "return: two notices sent, none to the null sender; $NS and the foreign $F still held"

printf 'quarantine = {\n  on_max_hold_age = "bounce";\n};\n' >"$T/bad.conf"
"$QUAR" -c "$T/bad.conf" --postfix-dir "$T/pf/etc" expire >/dev/null 2>"$T/bad.err"; rc=$?
[ $rc -eq 2 ] && grep -q "bad.conf:2: setting 'quarantine.on_max_hold_age' must be one of" "$T/bad.err"
ok $? "an unknown on_max_hold_age: exit 2, the error names file and line"

cat "$T/e.err" >>"$QERR"
! grep -q "ERROR: .*Sanitizer\|runtime error:" "$QERR"
ok $? "no AddressSanitizer / UBSan report from itip-quarantine (sanitizer builds)"
done_testing
