#!/bin/sh
# mime-diff.sh - differential test of the MIME walker against a real MIME library: for every
# message under t/ (the hostile shapes of t/hostile/ included), samples/ and the shared corpus,
# the calendar parts our walker finds (t/mimeparts) must be the ones Python's email package
# finds, in the same order and with the same media types.  TAP output.
#
# Why Python's email package: it is what a large share of mail tooling (and so of what ends up
# in front of users) parses with, it is lenient in the ways attackers lean on (any boundary
# length, any transport padding, missing final boundaries, CR-only line ends), and Debian's
# python3 is already a test dependency; GMime would need a C harness and a -dev package for
# the same answer.  A "calendar part" is decided the same way on both sides: a leaf whose
# media type is text/calendar, application/ics or text/x-vcalendar, or whose file name ends
# in .ics or .vcs.
#
# Python is asked twice, with its legacy policy (compat32) and its RFC 5322 one (default,
# which also reads comments in parameters): ours must be one of its answers, with no fewer
# calendar parts than either.  Where the two disagree on purpose the case is listed in
# t/mime-diff-expected.tsv (FILE<TAB>REASON): it must then still disagree, and where Python
# finds more, our walker must say so with a would-fail finding (mime-structure-unparsed or
# mime-limit-exceeded) - never a silent pass.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/t/lib/tap.sh"
PY="${PYTHON3:-python3}"
PARTS="$top_builddir/t/mimeparts"
CORPUS="${ITIP_CORPUS:-$top_srcdir/../shared/corpus}"
command -v "$PY" >/dev/null 2>&1 || skip_all "python3 is not installed"
[ -x "$PARTS" ] || skip_all "$PARTS was not built"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

cd "$top_srcdir" || exit 1
{
    find t samples -type f -name '*.eml'
    if [ -d "$CORPUS" ]; then
        find "$CORPUS" -type f -name '*.eml'
    else
        echo "# corpus directory $CORPUS is absent: compared on t/ and samples/ only" >&2
    fi
} | LC_ALL=C sort >"$T/files"
[ -d "$CORPUS" ] || echo "# corpus directory $CORPUS is absent: compared on t/ and samples/ only"
tr '\n' '\0' <"$T/files" | xargs -0 "$PARTS" >"$T/ours" 2>"$T/ours.err"
ok $? "the walker read every message ($(wc -l <"$T/files") files)"

cat >"$T/walk.py" <<'PYEOF'
import email, email.policy, sys

CAL_TYPES = ("text/calendar", "application/ics", "text/x-vcalendar")

def is_calendar(part):
    if part.get_content_type() in CAL_TYPES:
        return True
    name = part.get_filename() or ""
    return name.lower().endswith((".ics", ".vcs"))

def found(path, policy):
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=policy)
    parts = [p.get_content_type() for p in msg.walk() if not p.is_multipart() and is_calendar(p)]
    return ",".join(parts) if parts else "-"

for path in sys.argv[1:]:
    print("%s\t%s\t%s" % (path, found(path, email.policy.compat32),
                          found(path, email.policy.default)))
PYEOF
tr '\n' '\0' <"$T/files" | xargs -0 "$PY" "$T/walk.py" >"$T/theirs" 2>"$T/theirs.err"
ok $? "Python's email package read every message"
[ -s "$T/theirs.err" ] && sed 's/^/# python: /' "$T/theirs.err" | head -5

# FILE<TAB>ours<TAB>our rules<TAB>compat32<TAB>default: what we found, and what Python finds
# with its two policies (the legacy one and the RFC 5322 one, which also reads comments in
# parameters).  Ours must be one of Python's answers, with no fewer calendar parts than either.
awk -F'\t' 'NR == FNR { theirs[$1] = $2 "\t" $3; next } { print $1 "\t" $2 "\t" $3 "\t" theirs[$1] }' \
    "$T/theirs" "$T/ours" >"$T/joined"
count() { [ "$1" = "-" ] && echo 0 || echo "$1" | awk -F, '{ print NF }'; }
expected="$top_srcdir/t/mime-diff-expected.tsv"
same=0
while IFS="$(printf '\t')" read -r file ours rules compat modern; do
    no=$(count "$ours") nc=$(count "$compat") nm=$(count "$modern")
    agree=1
    { [ "$ours" = "$compat" ] || [ "$ours" = "$modern" ]; } && [ "$no" -ge "$nc" ] &&
        [ "$no" -ge "$nm" ] && agree=0
    listed=$(awk -F'\t' -v f="$file" '$1 == f { print $2 }' "$expected")
    if [ -z "$listed" ]; then
        if [ $agree -eq 0 ]; then
            same=$((same + 1))
        else
            ok 1 "$file: the walker finds the calendar parts Python finds"
            echo "#   ours:   $ours ($rules)"
            echo "#   Python: $compat (compat32), $modern (default policy)"
        fi
        continue
    fi
    [ $agree -ne 0 ]
    ok $? "$file: still disagrees on purpose ($listed)"
    if [ "$no" -lt "$nc" ] || [ "$no" -lt "$nm" ]; then
        case ",$rules," in
        *,mime-structure-unparsed,*|*,mime-limit-exceeded,*) ok 0 "$file: and the walker says so ($rules)" ;;
        *) ok 1 "$file: and the walker says so (found only: $rules)" ;;
        esac
    fi
done <"$T/joined"
[ "$same" -gt 0 ]; ok $? "$same messages: the same calendar parts on both sides"
# every listed case still exists
while IFS="$(printf '\t')" read -r file reason; do
    case "$file" in ''|'#'*) continue ;; esac
    grep -q "^$file	" "$T/joined"; ok $? "listed case $file exists"
done <"$expected"
done_testing
