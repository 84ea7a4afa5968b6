#!/bin/sh
# docs.sh - the rule list of itip-milter.conf(5) matches include/base/rules.def (ids, catalogue
# numbers, default severities, in order), and etc/itip-milter.conf mentions every top-level
# setting of the schema, so documentation cannot drift from the code.  TAP output.
set -u
: "${top_srcdir:?}"
n=0; failed=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi; }

want=$(sed -n 's/^RULE([A-Z0-9_]*, *"\([^"]*\)", *"\([^"]*\)", *\([A-Z_]*\),.*/\1 \2 \3/p' "$top_srcdir/include/base/rules.def" |
       sed 's/ - / project /; s/WOULD_FAIL$/would-fail/; s/DEGRADE$/degrade/; s/INFO$/info/')
got=$(awk '/^\.SH / { inrules = ($2 == "RULES") } !inrules { next }
           /^\.B / { id = $2; next } id != "" && /^\(/ { sub(/^\(/, ""); split($0, a, /[,)]/);
           gsub(/ /, "", a[1]); gsub(/ /, "", a[2]); print id, a[1], a[2]; id = "" }' \
      "$top_srcdir/man/itip-milter.conf.5" | grep -v '^$' | awk 'NF == 3')
[ -n "$want" ] && [ "$want" = "$got" ]; ok $? "itip-milter.conf(5) lists every rule of rules.def with its number and severity"
[ "$want" = "$got" ] || { echo "# rules.def:"; echo "$want" | sed 's/^/#   /'; echo "# man page:"; echo "$got" | sed 's/^/#   /'; }

# every rule's entry ends with the source and the remedy of rules_about.def, word for word
python3 - "$top_srcdir" <<'PYEOF'
import re, sys
top = sys.argv[1]
ids = {}
for l in open(top + "/include/base/rules.def"):
    m = re.match(r'RULE\((\w+), *"([^"]+)"', l)
    if m:
        ids[m.group(1)] = m.group(2)
about = {}
for l in open(top + "/include/base/rules_about.def"):
    m = re.match(r'ABOUT\((\w+), "((?:[^"\\]|\\.)*)", "((?:[^"\\]|\\.)*)"\)', l.strip())
    if m:
        about[ids[m.group(1)]] = (m.group(2).replace('\\"', '"'), m.group(3).replace('\\"', '"'))
man = open(top + "/man/itip-milter.conf.5").read().split("\n")
entries, cur = {}, None
for i, l in enumerate(man):
    if l == ".SH FILES":
        break
    if l.startswith(".B ") and i > 0 and man[i - 1] == ".TP":
        cur = l[3:]
        entries[cur] = []
    elif cur is not None:
        entries[cur].append(l)
bad = [r for r in ids.values() if r not in about or r not in entries
       or "Source: " + about[r][0] + "." not in entries[r]
       or "What to do: " + about[r][1] not in entries[r]]
for r in bad:
    print("# no matching Source/What to do lines for " + r)
sys.exit(1 if bad or len(about) != len(ids) else 0)
PYEOF
ok $? "itip-milter.conf(5) gives every rule its source and remedy from rules_about.def"

for s in $(sed -n 's/^    { "\([a-z_.]*\)", T_.*/\1/p' "$top_srcdir/milter/base/config.c"); do
    leaf=${s##*.}
    case $s in
    *.*) grep -q "^# *$leaf *=" "$top_srcdir/etc/itip-milter.conf" ;;
    *) grep -q "^#*$s\b\|^# *$s\b\|^$s\b" "$top_srcdir/etc/itip-milter.conf" ;;
    esac && grep -q "^\.B $s$" "$top_srcdir/man/itip-milter.conf.5"
    ok $? "setting $s is in etc/itip-milter.conf and itip-milter.conf(5)"
done
echo "1..$n"
[ $failed -eq 0 ]
