#!/bin/sh
# state.sh - itip-check --state DIR (an LMDB store: a REQUEST and its REPLY checked offline, in
# argument order) and mailbox input (mbox and Maildir: one JSON object per message with "file"
# and "position", the summary, progress only on a terminal).  TAP output.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/t/lib/tap.sh"
CHECK="$top_builddir/itip-check"
D="$top_srcdir/t/state"
NOW=20260601T120000Z
PY="${PYTHON3:-python3}"
C12B=reply-dtstamp-not-after-request

command -v "$PY" >/dev/null 2>&1 || skip_all "python3 is needed to read the JSON output"
T=$(mktemp -d /tmp/itip-state-test.XXXXXX)
trap 'rm -rf "$T"' EXIT

run() { # run ARGS...: rc, stdout in $T/out, stderr in $T/err
    "$CHECK" "$@" >"$T/out" 2>"$T/err"; rc=$?
}
# json_check PYTHON-EXPRESSION: true when it holds for o = the list of JSON objects in $T/out
json_check() {
    "$PY" - "$T/out" "$1" <<'PYEOF'
import json, sys
o = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rules = lambda x: {f["rule"] for f in x["findings"]}
ok = eval(sys.argv[2])
if not ok:
    sys.stderr.write("# %s\n" % [(x.get("position"), sorted(rules(x))) for x in o])
sys.exit(0 if ok else 1)
PYEOF
}

# ---- --state DIR: REQUEST then REPLY, offline ----
run --json --now $NOW "$D/request.eml" "$D/reply.eml"
[ $rc -eq 0 ] && json_check "len(o) == 2 and not any('$C12B' in rules(x) for x in o)"
ok $? "without --state no stateful finding (exit $rc)"

run --json --now $NOW --state "$T/st" "$D/request.eml" "$D/reply.eml"
[ $rc -eq 1 ] && json_check "'$C12B' not in rules(o[0]) and '$C12B' in rules(o[1])"
ok $? "--state: the REPLY five minutes older than its REQUEST is flagged (exit $rc)"
[ -s "$T/st/data.mdb" ]; ok $? "--state DIR holds the LMDB file"
grep -q 'runs about\|keeps time' "$T/out"; [ $? -ne 0 ]
ok $? "no skew phrase before the sender has an estimate"

run --json --now $NOW --state "$T/st" "$D/reply.eml"
[ $rc -eq 1 ] && json_check "'$C12B' in rules(o[0])"
ok $? "the store persists between runs: the REPLY alone is still flagged"

run --json --now $NOW --state "$T/st2" "$D/reply.eml" "$D/request.eml"
[ $rc -eq 0 ] && json_check "not any('$C12B' in rules(x) for x in o)"
ok $? "argument order matters: REPLY before REQUEST is not flagged"

run --now $NOW --state "$T/st3" "$D/request.eml" "$D/reply.eml"
[ $rc -eq 1 ] && grep -q "^  degrade    $C12B" "$T/out" && grep -q "KB Q202105" "$T/out"
ok $? "text mode shows the finding and its reason"

: > "$T/afile"
run --state "$T/afile" "$D/request.eml"
[ $rc -eq 2 ] && grep -q "^itip-check: --state $T/afile: " "$T/err"
ok $? "--state on a plain file: exit 2 with a message"

# ---- mbox ----
run --json --now $NOW --state "$T/mb" "$D/q202105.mbox"
[ $rc -eq 1 ] && json_check "len(o) == 3 and [x['position'] for x in o] == [1, 2, 3] and \
all(x['file'] == '$D/q202105.mbox' for x in o) and \
[x['calendar_parts'] for x in o] == [1, 0, 1] and '$C12B' in rules(o[2])"
ok $? "mbox: three messages with file and position; the quoted >From lines split nothing"
grep -q "^summary: 3 messages, 2 with calendar parts$" "$T/err" && \
    grep -q "^  $C12B  *1$" "$T/err"
ok $? "mbox --json: the summary (messages, calendar messages, findings per rule) on stderr"
grep -q "^summary" "$T/out"; [ $? -ne 0 ]; ok $? "and nothing but JSON on stdout"
! grep -q "$(printf '\r')" "$T/err"; ok $? "no progress when stderr is not a terminal"

run --now $NOW "$D/q202105.mbox"
[ $rc -eq 0 ] && grep -q "^$D/q202105.mbox#2: pass, 0 calendar parts" "$T/out" && \
    grep -q "^summary: 3 messages, 2 with calendar parts$" "$T/out"
ok $? "mbox in text mode: FILE#N names, the summary on stdout, no state: exit 0"

# ---- Maildir ----
run --json --now $NOW --state "$T/md" "$D/maildir"
[ $rc -eq 1 ] && json_check "[x['position'] for x in o] == [1, 2, 3] and \
all(x['file'] == '$D/maildir' for x in o) and \
[x['message'] for x in o] == ['cur/1780313405.M1P100.test', 'cur/1780313420.M2P100.test', \
'new/1780313500.M3P100.test'] and '$C12B' in rules(o[2])"
ok $? "Maildir: cur/ and new/ in file-name order, positions, the REPLY flagged"
grep -q "^summary: 3 messages, 2 with calendar parts$" "$T/err"; ok $? "Maildir: the summary"

mkdir "$T/notmaildir"
run "$T/notmaildir"
[ $rc -eq 2 ] && grep -q "not a Maildir" "$T/err"; ok $? "a directory without cur/ or new/: exit 2"

# a mailbox and plain files in one run: the summary counts them all
run --json --now $NOW "$D/request.eml" "$D/q202105.mbox"
[ $rc -eq 0 ] && json_check "len(o) == 4 and 'position' not in o[0] and o[1]['position'] == 1" \
    && grep -q "^summary: 4 messages, 3 with calendar parts$" "$T/err"
ok $? "plain file then mbox: no position for the plain file, summary over both"

# ---- progress on a terminal ----
"$PY" - "$D/q202105.mbox" "$T/big.mbox" <<'PYEOF'
import sys
one = open(sys.argv[1]).read()
open(sys.argv[2], "w").write(one * 150)     # 450 messages
PYEOF
run --json --now $NOW "$T/big.mbox"
json_check "len(o) == 450 and o[-1]['position'] == 450"; ok $? "450 messages in a larger mbox"
if command -v script >/dev/null 2>&1; then
    # script(1) gives the command a terminal; its stdout goes to a file
    script -qec "'$CHECK' --json --now $NOW '$T/big.mbox' >'$T/tty.out'" /dev/null \
        >"$T/tty.err" 2>&1 </dev/null
    grep -q "itip-check: $T/big.mbox: 200 messages" "$T/tty.err" && \
        grep -q "itip-check: $T/big.mbox: 450 messages" "$T/tty.err"
    ok $? "progress on stderr when it is a terminal"
    [ "$(wc -l <"$T/tty.out")" -eq 450 ]; ok $? "and stdout still holds one object per message"
else
    echo "# script(1) missing: progress on a terminal not tested"
fi

done_testing
