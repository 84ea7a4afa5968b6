#!/bin/sh
# itip-check.sh - the itip-check command: exit codes, error messages, JSON shape, standard
# input, and the rule each sample message must raise.  TAP output.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
CHECK="$top_builddir/itip-check"
S="$top_srcdir/samples"
NOW=20260601T120000Z
PY="${PYTHON3:-python3}"
T=$(mktemp -d /tmp/itip-check-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
n=0; failed=0

ok() { # ok COND-EXIT-STATUS NAME
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
run() { # run ARGS...: sets rc, output in $T/out and $T/err
    "$CHECK" "$@" >"$T/out" 2>"$T/err"; rc=$?
}
has_rule() { # has_rule RULE [SEVERITY]: the JSON in $T/out has such a finding
    "$PY" - "$T/out" "$1" "${2:-}" <<'PYEOF'
import json, sys
rule, sev = sys.argv[2], sys.argv[3]
for line in open(sys.argv[1]):
    for f in json.loads(line)["findings"]:
        if f["rule"] == rule and (not sev or f["severity"] == sev):
            sys.exit(0)
sys.exit(1)
PYEOF
}

if ! command -v "$PY" >/dev/null 2>&1; then
    echo "1..0 # SKIP python3 is needed to validate JSON and is not installed"; exit 0
fi

# usage and error exits
run; [ $rc -eq 2 ] && grep -q "no input file" "$T/err"; ok $? "no file: exit 2 with a message"
run --bogus x; [ $rc -eq 2 ]; ok $? "unknown option: exit 2"
run --now 2026-06-01 "$S/plain.eml"; [ $rc -eq 2 ] && grep -q "YYYYMMDDTHHMMSSZ" "$T/err"; ok $? "bad --now: exit 2"
run /nonexistent/file.eml; [ $rc -eq 2 ] && grep -q "/nonexistent/file.eml: No such file" "$T/err"; ok $? "unreadable file: exit 2 naming it"
printf 'clock_skew_tolerance = 1;\nbogus = 2;\n' > "$T/bad.conf"
run -c "$T/bad.conf" "$S/plain.eml"; [ $rc -eq 2 ] && grep -qx "itip-check: $T/bad.conf:2: unknown setting 'bogus'" "$T/err"; ok $? "bad configuration: exit 2 with FILE:LINE"
run -c /nonexistent.conf "$S/plain.eml"; [ $rc -eq 2 ]; ok $? "missing configuration: exit 2"
run -h; [ $rc -eq 0 ] && grep -q "usage: itip-check" "$T/out"; ok $? "--help prints usage, exit 0"

# JSON shape: one object per input, one per line, fixed keys and types
run --json --now $NOW -c "$S/demo.conf" "$S"/*.eml
[ $rc -eq 1 ]; ok $? "samples with would-fail findings: exit 1"
"$PY" - "$T/out" "$S" <<'PYEOF'
import json, sys, glob
lines = open(sys.argv[1]).read().splitlines()
files = sorted(glob.glob(sys.argv[2] + "/*.eml"))
assert len(lines) == len(files), (len(lines), len(files))
for line, name in zip(lines, files):
    o = json.loads(line)
    assert set(o) >= {"file", "verdict", "calendar_parts", "findings"}, o.keys()
    assert o["file"] == name, (o["file"], name)
    assert o["verdict"] in ("pass", "info", "degrade", "would-fail"), o["verdict"]
    assert isinstance(o["calendar_parts"], int)
    assert isinstance(o["findings"], list)
    for f in o["findings"]:
        assert set(f) >= {"rule", "severity", "method", "uid", "property", "detail"}, f.keys()
        assert f["severity"] in ("info", "degrade", "would-fail")
        assert isinstance(f["detail"], str) and f["detail"] and "\n" not in f["detail"]
    worst = max([("info", "degrade", "would-fail").index(f["severity"]) for f in o["findings"]],
                default=-1)
    assert o["verdict"] == (["info", "degrade", "would-fail"][worst] if worst >= 0 else "pass")
PYEOF
ok $? "JSON: one object per file in order, required keys and types, verdict = worst severity"

# what each sample raises
run --json --now $NOW "$S/request-clean.eml"; [ $rc -eq 0 ] && grep -q '"verdict":"pass","calendar_parts":1,"method":"REQUEST"' "$T/out"; ok $? "clean REQUEST: pass, one part, exit 0"
run --json --now $NOW "$S/reply-accept-clean.eml"; [ $rc -eq 0 ] && grep -q '"verdict":"pass","calendar_parts":1,"method":"REPLY"' "$T/out"; ok $? "clean base64 REPLY: pass, exit 0"
run --json --now $NOW "$S/plain.eml"; [ $rc -eq 0 ] && grep -q '"calendar_parts":0' "$T/out"; ok $? "plain mail: no calendar part, exit 0"
run --json --now $NOW "$S/reply-notes-broken-fold.eml"; [ $rc -eq 1 ] && has_rule ical-parse-errors would-fail; ok $? "Notes broken fold: ical-parse-errors would-fail"
run --json --now $NOW "$S/cancel-method-mismatch.eml"; [ $rc -eq 1 ] && has_rule mime-method-param-mismatch would-fail; ok $? "method=REQUEST on CANCEL: mime-method-param-mismatch"
run --json --now $NOW -c "$S/demo.conf" "$S/reply-legacy-no-critical-change.eml"; [ $rc -eq 1 ] && has_rule reply-attendee-critical-change-missing would-fail; ok $? "legacy organizer: critical-change-missing is would-fail"
run --json --now $NOW "$S/reply-legacy-no-critical-change.eml"; [ $rc -eq 0 ] && has_rule reply-attendee-critical-change-missing info; ok $? "without legacy_cdo_domains it is info, exit 0"
printf 'rules = { reply-attendee-critical-change-missing = { enabled = false; }; };\nlegacy_cdo_domains = [ "*" ];\n' > "$T/off.conf"
run --json --now $NOW -c "$T/off.conf" "$S/reply-legacy-no-critical-change.eml"; [ $rc -eq 0 ] && ! has_rule reply-attendee-critical-change-missing; ok $? "a rule disabled in the configuration does not fire"

# standard input, and a bare iCalendar file
"$CHECK" --json --now $NOW - < "$S/reply-notes-broken-fold.eml" > "$T/out" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q '"file":"-"' "$T/out" && has_rule ical-parse-errors; ok $? "- reads standard input"
sed -n '/^BEGIN:VCALENDAR/,/^END:VCALENDAR/p' "$S/reply-notes-broken-fold.eml" > "$T/bare.ics"
run --json --now $NOW "$T/bare.ics"; [ $rc -eq 1 ] && has_rule ical-parse-errors && ! has_rule mime-method-param-missing; ok $? "bare .ics: iCalendar rules, no MIME rules"

# text report
run --now $NOW "$S/cancel-method-mismatch.eml"; [ $rc -eq 1 ] && grep -q "^$S/cancel-method-mismatch.eml: would-fail" "$T/out" && grep -q "mime-method-param-mismatch" "$T/out"; ok $? "text report names the verdict and the rule"

# --list-rules: generated from the rule table, same ids as rules.def
run --list-rules; [ $rc -eq 0 ] && grep -q "^reply-attendee-critical-change-missing  *C1  *would-fail" "$T/out"; ok $? "--list-rules: id, catalogue number, severity, summary"
want=$(grep -c '^RULE(' "$top_srcdir/include/base/rules.def")
[ "$(grep -c '^[a-z]' "$T/out")" -eq "$want" ] && [ "$(grep -c '^    source: .' "$T/out")" -eq "$want" ] &&
    [ "$(grep -c '^    remedy: .' "$T/out")" -eq "$want" ]; ok $? "--list-rules lists all $want rules of rules.def, each with its source and remedy"
run --list-rules --json; [ $rc -eq 0 ] && "$PY" -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == int(sys.argv[2]), len(rows)
assert all(set(r) == {"rule", "catalogue", "severity", "summary", "source", "remedy"} for r in rows)
assert all(r["source"] and r["remedy"] for r in rows)
assert {"ical-parse-errors", "mime-limit-exceeded"} <= {r["rule"] for r in rows}' "$T/out" "$want"; ok $? "--list-rules --json: one object per rule"
run --list-rules "$S/plain.eml"; [ $rc -eq 2 ]; ok $? "--list-rules with a file: usage error"

# learned legacy organizers (issue 15): an mbox with both sides of a meeting, --state
L="$top_srcdir/t/rules/reply-attendee-critical-change-missing/pos-would-fail-learned-cdo-organizer"
for f in "$L"/0*.eml; do printf 'From audit@example Mon Jun  1 10:00:00 2026\n'; tr -d '\r' <"$f"; echo; done >"$T/both.mbox"
run --json --now 20260602T090000Z --state "$T/learn" "$T/both.mbox"
[ $rc -eq 1 ] && grep -q 'reply-attendee-critical-change-missing","severity":"would-fail".*cdo.example learned as Exchange 2003/CDO from a REQUEST on 2026-06-02' "$T/out"
ok $? "--state over an mbox: the CDO REQUEST teaches, the REPLY to that organizer is would-fail and says since when"
printf 'learn_legacy_cdo = false;\n' >"$T/nolearn.conf"
run --json --now 20260602T090000Z -c "$T/nolearn.conf" --state "$T/nolearn" "$T/both.mbox"
grep -q 'reply-attendee-critical-change-missing","severity":"info"' "$T/out" && ! grep -q "learned as Exchange 2003" "$T/out"
ok $? "learn_legacy_cdo = false: nothing learned, the REPLY stays info"
printf 'modern_domains = [ "cdo.example" ];\n' >"$T/modern.conf"
run --json --now 20260602T090000Z -c "$T/modern.conf" --state "$T/modern" "$T/both.mbox"
grep -q 'reply-attendee-critical-change-missing","severity":"info"' "$T/out"
ok $? "modern_domains wins over what a CDO REQUEST would teach"

# the envelope: --mail-from/--rcpt-to, else the delivery headers, else none (and said so)
R="$top_srcdir/t/rules/reply-not-to-organizer"
run --json --now $NOW "$R/neg-no-envelope.eml"; [ $rc -eq 0 ] && ! has_rule reply-not-to-organizer &&
    grep -q '"envelope":"none"' "$T/out" && grep -q '"note":"no envelope' "$T/out"; ok $? "no envelope: the envelope rules are skipped, and the JSON says so"
run --now $NOW "$R/neg-no-envelope.eml"; grep -q "no envelope: the envelope rules were skipped" "$T/out"; ok $? "no envelope: the text report says so"
run --json --now $NOW --rcpt-to dave@example.net --mail-from '<bob@example.net>' "$R/neg-no-envelope.eml"; [ $rc -eq 1 ] &&
    has_rule reply-not-to-organizer degrade && grep -q '"envelope":"given"' "$T/out"; ok $? "--rcpt-to someone else: reply-not-to-organizer"
run --json --now $NOW -r '<olivia@example.com>' -r dave@example.net "$R/neg-no-envelope.eml"; [ $rc -eq 0 ] && ! has_rule reply-not-to-organizer; ok $? "--rcpt-to the organizer among others: no finding"
run --json --now $NOW "$R/pos-degrade-forwarded-reply.eml"; has_rule reply-not-to-organizer && grep -q '"envelope":"headers"' "$T/out"; ok $? "Return-Path and Delivered-To stand in for the envelope"
run --json --now $NOW --rcpt-to olivia@example.com "$R/pos-degrade-forwarded-reply.eml"; ! has_rule reply-not-to-organizer; ok $? "a given envelope wins over the delivery headers"
run --now $NOW --rcpt-to nobody "$R/neg-no-envelope.eml"; [ $rc -eq 2 ] && grep -q "rcpt-to wants an address" "$T/err"; ok $? "--rcpt-to without @: usage error"
run --json --now $NOW --rcpt-to dave@example.net "$R/neg-no-envelope.eml"; "$PY" -c '
import json, sys
r = json.loads(open(sys.argv[1]).readline())
assert all(f["remedy"] for f in r["findings"]) and r["findings"]' "$T/out"; ok $? "every JSON finding carries the rule's remedy"
run --now $NOW --rcpt-to dave@example.net "$R/neg-no-envelope.eml"; grep -q "^ *what to do: The attendee" "$T/out"; ok $? "the text report gives each finding's remedy"

# JSON stays valid on bytes that are not UTF-8: they become U+FFFD, valid sequences pass
printf 'BEGIN:VCALENDAR\r\nMETHOD:PUBLISH\r\nBEGIN:VEVENT\r\nUID:a\377\342\202\254b\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260101T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n' >"$T/bad-utf8.ics"
run --json "$T/bad-utf8.ics"; "$PY" -c '
import json, sys
o = json.loads(open(sys.argv[1], encoding="utf-8").readline())
assert o["uid"] == "a\ufffd\u20acb", o["uid"]' "$T/out"
ok $? "--json: an invalid byte becomes U+FFFD, a valid sequence is kept"

echo "1..$n"
[ $failed -eq 0 ]
