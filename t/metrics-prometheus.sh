#!/bin/sh
# metrics-prometheus.sh - itip-milter's metrics listener scraped by a real Prometheus.
#
# The milter runs with `metrics = "127.0.0.1:<free port>"` in front of a private Postfix
# (t/lib/postfix.sh); Debian's prometheus runs from its binary with its own configuration
# (scrape_interval 1s, one job for the milter), its TSDB in the temp dir and its web
# listener on another free loopback port.  Messages go through Postfix: plain ones, clean
# calendar ones, one with a would-fail finding (held), one whose repair is made and one whose
# repair cannot be made; the store of the stateful rules is a Redis on a port nobody listens
# on, so that every calendar message is a store failure.  Prometheus's HTTP API (/api/v1/query) must then report what was
# sent: messages == N, calendar messages == the ones itip-check finds a calendar part in,
# the findings per rule and severity exactly as itip-check reports them, the actions as the
# X-ITIP-Result headers of the delivered and held messages say, the repairs and the store
# failures as the milter's log lines, histogram count == N.  Also checked directly: the exposition passes promtool's
# parser and lint, other paths answer 404 and POST 405, a bad address is refused at load
# with FILE:LINE, a port in use stops the start, a reload bumps the generation and moves the
# listener (or keeps it and says so when the new port is taken).  Needs root, postfix and
# prometheus; skips loudly without them.  Every process stopped by pid; bounded waits.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/t/lib/tap.sh"
. "$top_srcdir/t/lib/postfix.sh"
. "$top_srcdir/t/lib/sink.sh"
MILTER="$top_builddir/itip-milter"
CHECK="$top_builddir/itip-check"
PY="${PYTHON3:-python3}"
S="$top_srcdir/samples"
R="$top_srcdir/t/repair"
SEND="$top_srcdir/t/lib/smtpsend.py"

pf_require postfix postconf postqueue postcat smtp-sink
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 ||
    skip_all "prometheus is not installed (Debian package prometheus: prometheus, promtool)"
[ -x "$CHECK" ] || skip_all "$CHECK was not built"

# the interpreter itself, not a version manager's shim (it starts many times below)
PY=$("$PY" -c 'import sys; print(sys.executable)') || skip_all "python3 does not run"
T=$(mktemp -d /tmp/itm.XXXXXX)
chmod 755 "$T"
trap 'pf_stop "$T/pf"; bg_cleanup; rm -rf "$T"' EXIT
SMTPD=$(free_port)
SINK=$(free_port)
MPORT=$(free_port)
HPORT=$(free_port)
PPORT=$(free_port)
DEAD=$(free_port)                      # nobody listens: the store is unavailable
CONF="$T/m.conf"
LOG="$T/milter.log"
RULES='legacy_cdo_domains = [ "legacy.example" ];
rules = {
  reply-attendee-critical-change-missing = { action = "repair"; };
  reply-attendee-critical-change-invalid = { action = "repair"; };
  mime-method-param-missing = { action = "repair"; };
};'
BASE="$RULES
state = { backend = \"redis\"; host = \"127.0.0.1\"; port = $DEAD; connect_timeout = 200; };"

# http GET|POST URL: "STATUS CONTENT-TYPE" on the first line, then the body
cat >"$T/httpget.py" <<'PYEOF'
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[2], method=sys.argv[1],
                             data=b"x" if sys.argv[1] == "POST" else None)
try:
    r = urllib.request.urlopen(req, timeout=5)
    status, ctype, body = r.status, r.headers.get("Content-Type"), r.read()
except urllib.error.HTTPError as e:
    status, ctype, body = e.code, e.headers.get("Content-Type"), e.read()
except OSError as e:
    print("000 %s" % e)
    sys.exit(1)
sys.stdout.write("%d %s\n" % (status, ctype))
sys.stdout.flush()
sys.stdout.buffer.write(body)
PYEOF
http() { "$PY" "$T/httpget.py" "$@"; }
wait_secs() { # wait_secs SECS CMD...: CMD until it succeeds, at most SECS of wall time
    _ws_end=$(($(date +%s) + $1))
    shift
    until "$@"; do
        [ "$(date +%s)" -lt "$_ws_end" ] || return 1
        sleep 0.5
    done
}
status_of() { http "$@" 2>/dev/null | head -1 | cut -d' ' -f1; }

# promq EXPR: the instant vector, one line per series: "name{k="v",...} value", sorted
cat >"$T/promq.py" <<'PYEOF'
import json, sys, urllib.parse, urllib.request
url = "http://127.0.0.1:%s/api/v1/query?" % sys.argv[1] + urllib.parse.urlencode({"query": sys.argv[2]})
d = json.load(urllib.request.urlopen(url, timeout=5))
if d.get("status") != "success":
    sys.exit("query failed: %s" % d)
lines = []
for s in d["data"]["result"]:
    m = dict(s["metric"])
    name = m.pop("__name__", "")
    for k in ("job", "instance"):
        m.pop(k, None)
    labels = ",".join('%s="%s"' % (k, m[k]) for k in sorted(m))
    v = s["value"][1]
    v = str(int(float(v))) if float(v) == int(float(v)) else v
    lines.append("%s{%s} %s" % (name, labels, v))
print("\n".join(sorted(lines)))
PYEOF
promq() { "$PY" "$T/promq.py" "$PPORT" "$1" 2>/dev/null; }
promv() { promq "$1" | awk 'NR == 1 { print $NF }'; }       # the value of a one-series query
promis() { [ "$(promv "$1")" = "$2" ]; }                     # promis EXPR VALUE
val() { awk -v k="$1" '$1 == k { print $2 }' "$T/prom.all"; } # a series of the last promq all

# ---- the setting at load ----
printf '%s\n\nmetrics = "localhost:9188";\n' "$RULES" >"$CONF"
"$MILTER" -n -c "$CONF" >"$T/n.out" 2>&1
rc=$?
sed 's/^/# /' "$T/n.out"
[ "$rc" -eq 78 ] && grep -q "^$CONF:8: metrics 'localhost:9188': 'localhost' is not a numeric IPv4 address" "$T/n.out"
ok $? "a name instead of a numeric address: exit 78 with FILE:LINE"
printf 'metrics = "127.0.0.1:0";\n' >"$CONF"
"$MILTER" -n -c "$CONF" 2>"$T/n.out"; rc=$?
[ "$rc" -eq 78 ] && grep -q "^$CONF:1: metrics '127.0.0.1:0': port '0'" "$T/n.out"
ok $? "port 0: exit 78 with FILE:LINE"

# ---- the milter with metrics ----
printf '%s\nmetrics = "127.0.0.1:%s";\n' "$BASE" "$HPORT" >"$CONF"
bg_start MPID "$MILTER" -f -c "$CONF" -p "inet:$MPORT@127.0.0.1" 2>>"$LOG"
wait_for 10 grep -q "metrics: serving http://127.0.0.1:$HPORT/metrics" "$LOG"
ok $? "milter started with its metrics listener on 127.0.0.1:$HPORT"

http GET "http://127.0.0.1:$HPORT/metrics" >"$T/m0" 2>&1
head -1 "$T/m0" | grep -q "^200 text/plain; version=0.0.4"
ok $? "GET /metrics: 200, Content-Type text/plain; version=0.0.4 ($(head -1 "$T/m0"))"
sed 1d "$T/m0" >"$T/m0.txt"
promtool check metrics <"$T/m0.txt" >"$T/lint" 2>&1
ok $? "promtool check metrics: the exposition parses and passes the lint"
sed 's/^/# /' "$T/lint"
"$PY" - "$T/m0.txt" <<'PYEOF'
import re, sys
# the text format by hand: HELP and TYPE before the samples of each family, names with our
# prefix, label values quoted and escaped, histogram buckets non-decreasing up to +Inf == count
help_, type_, seen = {}, {}, []
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*\})? (\S+)$')
buckets, count = [], None
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("# HELP "):
        help_[line.split()[2]] = 1
    elif line.startswith("# TYPE "):
        type_[line.split()[2]] = line.split()[3]
    else:
        m = sample.match(line)
        if not m:
            sys.exit("bad sample line: %r" % line)
        name = m.group(1)
        fam = re.sub(r"_(bucket|sum|count)$", "", name) if name not in type_ else name
        if fam not in type_ or fam not in help_ or not name.startswith("itip_milter_"):
            sys.exit("no HELP/TYPE or prefix for %s" % name)
        float(m.group(3))
        if name.endswith("_bucket"):
            buckets.append(float(m.group(3)))
        if name == "itip_milter_message_duration_seconds_count":
            count = float(m.group(3))
if not buckets or buckets != sorted(buckets) or buckets[-1] != count:
    sys.exit("histogram buckets %s, count %s" % (buckets, count))
PYEOF
ok $? "exposition: every sample has HELP and TYPE, the itip_milter_ prefix, a valid label set; buckets cumulative, +Inf == count"
[ "$(status_of GET "http://127.0.0.1:$HPORT/")" = 404 ] &&
    [ "$(status_of GET "http://127.0.0.1:$HPORT/metrics/x")" = 404 ] &&
    [ "$(status_of GET "http://127.0.0.1:$HPORT/other")" = 404 ]
ok $? "other paths: 404"
[ "$(status_of POST "http://127.0.0.1:$HPORT/metrics")" = 405 ]
ok $? "POST /metrics: 405"

# a second milter whose metrics port is taken: it does not start, and says why
"$MILTER" -f -c "$CONF" -p "inet:$(free_port)@127.0.0.1" >"$T/busy.out" 2>&1
rc=$?
[ "$rc" -eq 71 ] && grep -q "metrics 127.0.0.1:$HPORT: cannot listen: Address already in use" "$T/busy.out"
ok $? "metrics port in use: the start fails (exit $rc) with the address and the reason"

# ---- Prometheus ----
mkdir -p "$T/prom"
cat >"$T/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: itip-milter
    static_configs:
      - targets: ['127.0.0.1:$HPORT']
EOF
bg_start PROMPID prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom" \
    --web.listen-address="127.0.0.1:$PPORT" --log.level=warn 2>"$T/prom.log"
ready() { [ "$(status_of GET "http://127.0.0.1:$PPORT/-/ready")" = 200 ]; }
wait_secs 60 ready
ok $? "prometheus ready on 127.0.0.1:$PPORT"
wait_secs 30 promis 'up{job="itip-milter"}' 1
ok $? "prometheus scrapes the milter: up{job=\"itip-milter\"} == 1"
[ "$(promv itip_milter_config_generation)" = 1 ]; ok $? "config_generation == 1 after start"

# ---- mail through Postfix ----
pf_setup "$T/pf" "$SMTPD" "$SINK" "inet:127.0.0.1:$MPORT"
sink_start "$T/sink" "$SINK"
pf_start "$T/pf"; ok $? "private Postfix started (smtpd_milters = inet:127.0.0.1:$MPORT)"
wait_secs 20 "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])))' "$SMTPD"
BATCH1="$S/cancel-method-mismatch.eml $S/request-clean.eml $S/reply-accept-clean.eml $S/plain.eml $top_srcdir/t/milter/plain-forged.eml"
BATCH2="$R/7bit-crlf.eml $R/floating-dtstamp.eml"
# shellcheck disable=SC2086
"$PY" "$SEND" 127.0.0.1 "$SMTPD" sender@example.net rcpt@example.com $BATCH1 >"$T/sent" 2>&1
# shellcheck disable=SC2086
"$PY" "$SEND" 127.0.0.1 "$SMTPD" anton@example.net olga@legacy.example $BATCH2 >>"$T/sent" 2>&1
SENT_AT=$(date +%s)
sed 's/^/# /' "$T/sent"
N=$(echo $BATCH1 $BATCH2 | wc -w)
[ "$(awk '$2 == 250' "$T/sent" | wc -l)" -eq "$N" ]; ok $? "all $N messages accepted (250)"
pf_wait_idle "$T/pf"; ok $? "Postfix queue idle (delivered or held)"

# what was sent, as itip-check and the MTA see it
printf '%s\n' "$RULES" >"$T/check.conf"
: >"$T/check.json"
# (with the envelope each batch was sent with: the envelope rules see what the milter saw)
for f in $BATCH1; do
    "$CHECK" -c "$T/check.conf" --json --mail-from sender@example.net --rcpt-to rcpt@example.com "$f"
done >>"$T/check.json"
for f in $BATCH2; do
    "$CHECK" -c "$T/check.conf" --json --mail-from anton@example.net --rcpt-to olga@legacy.example "$f"
done >>"$T/check.json"
M=$("$PY" -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["calendar_parts"] > 0))' "$T/check.json")
"$PY" - "$T/check.json" >"$T/want.findings" <<'PYEOF'
import collections, json, sys
c = collections.Counter()
for line in open(sys.argv[1]):
    for f in json.loads(line)["findings"]:
        c[(f["rule"], f["severity"])] += 1
for (r, s), n in sorted(c.items()):
    print('itip_milter_findings_total{rule="%s",severity="%s"} %d' % (r, s, n))
PYEOF
# the action of each message: the first word of its X-ITIP-Result (none: pass), delivered or held
for f in $(find "$T/sink" -type f); do sed -n '1,/^\r*$/p' "$f"; echo "--END--"; done >"$T/heads"
pf_queue_json "$T/pf" >"$T/queue.json"
for q in $("$PY" -c 'import json,sys; [print(json.loads(l)["queue_id"]) for l in open(sys.argv[1]) if l.strip() and json.loads(l)["queue_name"] == "hold"]' "$T/queue.json"); do
    postcat -c "$T/pf/etc" -hq "$q" 2>/dev/null; echo "--END--"
done >>"$T/heads"
awk '/^X-ITIP-Result:/ { split($2, a, /[ (;]/); w = a[1] } /^--END--$/ { print (w == "" ? "pass" : w); w = "" }' \
    "$T/heads" | sort | uniq -c | awk '{ printf "itip_milter_actions_total{action=\"%s\"} %d\n", $2, $1 }' >"$T/want.actions"
MADE=$(grep -c "repair made: " "$LOG")
REFUSED=$(grep -c "repair not made: .* part=" "$LOG")
STOREFAIL=$(grep -c " state=skipped \| state=unrecorded " "$LOG")
echo "# sent $N, $M with a calendar part; repairs made $MADE, not made $REFUSED; store unavailable for $STOREFAIL"
sed 's/^/# expected: /' "$T/want.findings" "$T/want.actions"

# Prometheus has scraped after the last message was counted (counting precedes the 250)
scraped() { [ -n "$(promq "timestamp(itip_milter_messages_total) > $SENT_AT")" ]; }
wait_secs 30 scraped
ok $? "prometheus has a scrape from after the last message"
promq '{__name__=~"itip_milter_.*"}' >"$T/prom.all"
got=$(val 'itip_milter_messages_total{}')
[ "$got" = "$N" ]; ok $? "messages_total == $N (prometheus: $got)"
got=$(val 'itip_milter_calendar_messages_total{}')
[ "$M" -ge 1 ] && [ "$got" = "$M" ]; ok $? "calendar_messages_total == $M (prometheus: $got)"
grep '^itip_milter_findings_total{' "$T/prom.all" >"$T/got.findings"
sed 's/^/# prometheus: /' "$T/got.findings"
[ -s "$T/want.findings" ] && cmp -s "$T/want.findings" "$T/got.findings"
ok $? "findings_total per rule and severity == itip-check's findings of the messages sent"
got=$(val 'itip_milter_findings_total{rule="mime-method-param-mismatch",severity="would-fail"}')
[ "${got:-0}" -ge 1 ]; ok $? "findings_total{rule=\"mime-method-param-mismatch\"} >= 1 (prometheus: ${got:-none})"
grep '^itip_milter_actions_total{' "$T/prom.all" | awk '$2 > 0' >"$T/got.actions"
sed 's/^/# prometheus: /' "$T/got.actions"
[ "$(wc -l <"$T/want.actions")" -ge 3 ] && cmp -s "$T/want.actions" "$T/got.actions"
ok $? "actions_total per action == the X-ITIP-Result of the delivered and held messages"
got=$(val 'itip_milter_message_duration_seconds_count{}')
[ "$got" = "$N" ]; ok $? "message_duration_seconds_count == $N (prometheus: $got)"
got=$(val 'itip_milter_message_duration_seconds_bucket{le="+Inf"}')
sum=$(val 'itip_milter_message_duration_seconds_sum{}')
[ "$got" = "$N" ] && awk -v s="$sum" 'BEGIN { exit !(s > 0 && s < 60) }'
ok $? "histogram: +Inf bucket == $N, 0 < sum < 60 s (sum $sum)"
got=$(promv 'histogram_quantile(0.5, itip_milter_message_duration_seconds_bucket)')
awk -v q="$got" 'BEGIN { exit !(q > 0 && q <= 10) }'; ok $? "histogram_quantile(0.5) computes: $got s"
made=$(val 'itip_milter_repairs_total{outcome="made"}')
refused=$(val 'itip_milter_repairs_total{outcome="refused"}')
[ "$MADE" -ge 1 ] && [ "$REFUSED" -ge 1 ] && [ "$made" = "$MADE" ] && [ "$refused" = "$REFUSED" ]
ok $? "repairs_total made == $MADE, refused == $REFUSED as the log says (prometheus: $made, $refused)"
[ "$(val 'itip_milter_notices_sent_total{}')" = 0 ]; ok $? "notices_sent_total == 0 (the notify group is not configured here)"
got=$(val 'itip_milter_store_failures_total{}')
[ "$STOREFAIL" -ge 1 ] && [ "$got" = "$STOREFAIL" ]
ok $? "store_failures_total == $STOREFAIL, the log's state=skipped lines (Redis on a dead port; prometheus: $got)"
[ "$(val 'itip_milter_internal_errors_total{}')" = 0 ]; ok $? "internal_errors_total == 0"
got=$(val 'itip_milter_connections_total{}')
[ "${got:-0}" -ge 2 ]; ok $? "connections_total >= 2 SMTP sessions (prometheus: ${got:-none})"
wait_secs 30 promis itip_milter_open_connections 0
ok $? "open_connections back to 0 once the sessions ended"

# ---- reloads ----
reload() { # reload CONFIG-TEXT: install it, SIGUSR1, wait until the milter says so
    before=$(grep -c "configuration reloaded" "$LOG")
    printf '%s\n' "$1" >"$CONF"
    kill -USR1 "$MPID"
    wait_for 10 sh -c "[ \$(grep -c 'configuration reloaded' '$LOG') -gt $before ]"
}
reload "$(printf '%s\nlog_level = "debug";\nmetrics = "127.0.0.1:%s";\n' "$BASE" "$HPORT")"
ok $? "reload (same metrics address)"
wait_secs 30 promis itip_milter_config_generation 2
ok $? "prometheus: config_generation == 2 after the reload"

HPORT2=$(free_port)
reload "$(printf '%s\nmetrics = "127.0.0.1:%s";\n' "$BASE" "$HPORT2")"
wait_for 10 grep -q "reload: metrics listener moved from 127.0.0.1:$HPORT to 127.0.0.1:$HPORT2" "$LOG"
ok $? "reload to another port: the log says the listener moved"
http GET "http://127.0.0.1:$HPORT2/metrics" >"$T/m2" 2>&1
head -1 "$T/m2" | grep -q "^200 " && grep -q "^itip_milter_config_generation 3$" "$T/m2" &&
    grep -q "^itip_milter_messages_total $N$" "$T/m2"
ok $? "the new port serves the same counters (messages $N, generation 3)"
[ "$(status_of GET "http://127.0.0.1:$HPORT/metrics")" = 000 ]; ok $? "the old port is closed"

reload "$(printf '%s\nmetrics = "127.0.0.1:%s";\n' "$BASE" "$PPORT")"
wait_for 10 grep -q "reload: metrics 127.0.0.1:$PPORT: cannot listen: Address already in use; the metrics stay on 127.0.0.1:$HPORT2: setting 'metrics' takes effect only after a restart" "$LOG"
ok $? "reload to a port in use: the log says it needs a restart, the listener stays"
http GET "http://127.0.0.1:$HPORT2/metrics" >"$T/m3" 2>&1
grep -q "^itip_milter_config_generation 4$" "$T/m3"; ok $? "the listener still serves (generation 4)"

reload "$BASE"
wait_for 10 grep -q "reload: metrics listener on 127.0.0.1:$HPORT2 stopped" "$LOG" &&
    [ "$(status_of GET "http://127.0.0.1:$HPORT2/metrics")" = 000 ]
ok $? "reload without 'metrics': the listener stops"

bg_stop "$PROMPID"
bg_stop "$MPID"
! grep -q "metrics listener: " "$LOG"; ok $? "no libmicrohttpd error in the milter's log"
! grep -q "ERROR: .*Sanitizer\|runtime error:" "$LOG" "$T/busy.out"
ok $? "no AddressSanitizer / UBSan report in the milter's output (sanitizer builds)"
grep "metrics" "$LOG" | sed 's/^/# log: /'
done_testing
