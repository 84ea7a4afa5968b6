#!/bin/sh
# layers.sh - the include lines of milter/ and include/ point down the layer order.  TAP output.
#
# The layer order is LAYERS just below: one folder a line with its rank.  A file in
# milter/<L>/ or include/<L>/ may include
#   "ac-config.h"       (the generated config header) anywhere,
#   "X/name.h"          a public header include/X/name.h of its own layer or of a lower rank,
#   "name.h"            (milter/<L>/ only) a private header of its own folder milter/<L>/.
# check_tree ROOT prints FILE:LINE: message (FILE relative to ROOT) for every include
# "X/name" of a higher rank (upward), of another folder of the same rank (sideways), of a
# private header of another folder or of nothing at all; every include "name" that is not in
# the file's own folder (and every one in a public header: they name their layer); every
# folder of milter/ or include/ that is not in LAYERS (folder lines read DIR/: message); and
# every pair of folders that include each other.  It returns 1 when it printed anything.
# Tests: (a) the tree at $top_srcdir is clean; (b) check_tree finds each kind of violation
# in a synthetic tree and passes a clean one; (c) the README's Layout section lists every
# layer as a line "    milter/<layer>/ ..." in the order of LAYERS.
set -u
LAYERS='
base        0
mime        1
store       1
rules       2
engine      3
repair      4
daemon      5
quarantine  5
check       5
'
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
. "$top_srcdir/t/lib/tap.sh"
order=$(echo "$LAYERS" | awk 'NF == 2 { printf "%s%s:%s", sep, $1, $2; sep = " " }')
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT PIPE TERM

check_tree() (
    cd "$1" || exit 2
    for d in milter/*/ include/*/; do [ -d "$d" ] && echo "D ${d%/}"; done > "$tmp/inventory"
    for f in milter/*/* include/*/*; do [ -f "$f" ] && echo "F $f"; done >> "$tmp/inventory"
    set --
    for f in milter/*/*.[ch] include/*/*.h include/*/*.def; do [ -f "$f" ] && set -- "$@" "$f"; done
    awk -v order="$order" '
        function bad(msg) { print FILENAME ":" FNR ": " msg; nbad++ }
        BEGIN { n = split(order, o, " "); for (i = 1; i <= n; i++) { split(o[i], p, ":"); rank[p[1]] = p[2] } }
        FILENAME == "-" && $1 == "F" { exists[$2] = 1; next }
        FILENAME == "-" && $1 == "D" {
            split($2, p, "/")
            if (!(p[2] in rank)) { print $2 "/: folder " p[2] " is not in the layer order (LAYERS in t/layers.sh)"; nbad++ }
            next
        }
        !/^[ \t]*#[ \t]*include[ \t]*"/ { next }
        {
            t = $0; sub(/^[^"]*"/, "", t); sub(/".*/, "", t)
            split(FILENAME, p, "/"); top = p[1]; L = p[2]
            if (t == "ac-config.h") next
            if (index(t, "/") == 0) {
                if (top == "include")
                    bad("public header includes \"" t "\" without a layer: write \"" L "/" t "\" (never a private header)")
                else if (!(("milter/" L "/" t) in exists))
                    bad("includes \"" t "\", which is not a file of milter/" L "/ (another folder'"'"'s header is \"layer/name\")")
                next
            }
            X = substr(t, 1, index(t, "/") - 1)
            if (!(X in rank)) { bad("includes \"" t "\": " X " is not a layer"); next }
            if (!(("include/" t) in exists)) {
                if (("milter/" t) in exists) bad("includes \"" t "\", a private header of milter/" X "/ (only include/" X "/ is public)")
                else bad("includes \"" t "\", which is neither in include/ nor in milter/")
            }
            if (X == L || !(L in rank)) next
            if (rank[X] + 0 > rank[L] + 0) bad("includes from layer " X " above its own layer " L)
            else if (rank[X] == rank[L]) bad("includes sideways from layer " X " (same rank as " L ")")
            if (!((L, X) in edge)) edge[L, X] = FILENAME ":" FNR
        }
        END {
            for (k in edge) {
                split(k, p, SUBSEP)
                if (p[1] < p[2] && ((p[2], p[1]) in edge)) {
                    print edge[k] ": folders " p[1] " and " p[2] " include each other (also " edge[p[2], p[1]] ")"; nbad++
                }
            }
            exit nbad > 0
        }' - "$@" < "$tmp/inventory"
)

# mk FILE LINE... writes the lines to FILE, making its folder.
mk() { f=$1; shift; mkdir -p "${f%/*}"; printf '%s\n' "$@" > "$f"; }

# (a) the real tree
out=$(check_tree "$top_srcdir"); ok $? "the include lines of $top_srcdir follow the layer order"
[ -z "$out" ] || echo "$out" | sed 's/^/# /'

# (b) the checker itself, on a clean synthetic tree and on one with each kind of violation
c="$tmp/clean"
mk "$c/include/base/a.h"        '/* a */'
mk "$c/include/base/a.def"      '/* a table */'
mk "$c/milter/base/a.c"         '#include "ac-config.h"' '#include "base/a.h"' '#include "a_impl.h"' '#include "base/a.def"'
mk "$c/milter/base/a_impl.h"    '#include "base/a.h"'
mk "$c/include/mime/m.h"        '#include "base/a.h"'
mk "$c/milter/mime/m.c"         '#include "mime/m.h"' '#  include <stdio.h>'
mk "$c/include/store/s.h"       '#include "base/a.h"   /* a comment */'
mk "$c/milter/store/s.c"        '#include "store/s.h"' '#include "s_impl.h"'
mk "$c/milter/store/s_impl.h"   '#include "store/s.h"'
mk "$c/include/engine/e.h"      '#include "mime/m.h"' '#include "store/s.h"'
mk "$c/milter/engine/e.c"       '#include "engine/e.h"' '#include "base/a.h"'
mk "$c/milter/daemon/d.c"       '#include "engine/e.h"'
out=$(check_tree "$c"); st=$?
[ $st -eq 0 ] && [ -z "$out" ]; ok $? "self-test: a clean synthetic tree passes"
[ -z "$out" ] || echo "$out" | sed 's/^/# /'

b="$tmp/bad"
cp -R "$c" "$b"
mk "$b/milter/base/a.c"         '#include "ac-config.h"' '#include "base/a.h"' '#include "engine/e.h"' '#include "base/nope.h"'
mk "$b/milter/mime/m.c"         '#include "mime/m.h"' '#include "store/s.h"'
mk "$b/milter/store/s.c"        '#include "store/s.h"' '#include "mime/m.h"'
mk "$b/milter/engine/e.c"       '#include "engine/e.h"' '#include "base/a.h"' '#include "store/s_impl.h"' '#include "s_impl.h"'
mk "$b/include/mime/m.h"        '#include "m_impl.h"'
mk "$b/milter/extra/x.c"        '#include "base/a.h"'
out=$(check_tree "$b"); st=$?
[ $st -ne 0 ]; ok $? "self-test: a synthetic tree with violations fails"
has() { echo "$out" | grep -q "$1"; ok $? "self-test: reports $2"; }
has '^milter/base/a\.c:3: .*layer engine above'      'an upward include (milter/base/a.c:3:)'
has '^milter/mime/m\.c:2: .*sideways from layer store' 'a sideways include (milter/mime/m.c:2:)'
has '^milter/engine/e\.c:3: .*private header of milter/store/' 'a private header of another folder (milter/engine/e.c:3:)'
has '^milter/engine/e\.c:4: .*not a file of milter/engine/' 'an include "name" not in its own folder (milter/engine/e.c:4:)'
has '^include/mime/m\.h:1: .*without a layer'         'a public header including "name" (include/mime/m.h:1:)'
has '^milter/base/a\.c:4: .*neither in include/ nor'  'an include of a missing file (milter/base/a.c:4:)'
has '^milter/extra/: folder extra is not in'          'a folder not in the layer order (milter/extra/:)'
has '^milter/mime/m\.c:2: folders mime and store include each other (also milter/store/s\.c:2)' \
    'two folders that include each other, once (milter/mime/m.c:2: and milter/store/s.c:2)'
[ "$(echo "$out" | grep -c 'folders mime and store')" -eq 1 ]; ok $? "self-test: a mutual include is reported once, not per direction"
# 10 lines: the 8 above, the sideways include back (milter/store/s.c:2), and base<->engine
# (a.c:3 goes up to engine, which rightly includes base: a mutual include too)
[ "$(echo "$out" | grep -c .)" -eq 10 ]; ok $? "self-test: nothing else is reported (10 lines)"
[ $st -ne 0 ] && [ "$(echo "$out" | grep -c .)" -eq 10 ] || echo "$out" | sed 's/^/# /'

# (c) the README's Layout section: one line "    milter/<layer>/ ..." per layer, in the order of LAYERS
want=$(echo "$LAYERS" | awk 'NF == 2 { print $1 }')
got=$(awk '{ l[NR] = $0 }
    END {
        for (i = 1; i < NR; i++) if (l[i] ~ /^Layout[ \t]*$/ && l[i + 1] ~ /^---+[ \t]*$/) break
        for (i += 2; i <= NR && !(l[i] != "" && l[i + 1] ~ /^---+[ \t]*$/); i++)
            if (l[i] ~ /^[ \t]*milter\/[A-Za-z0-9_-]+\//) { s = l[i]; sub(/^[ \t]*milter\//, "", s); sub(/\/.*/, "", s); print s }
    }' "$top_srcdir/README")
[ "$got" = "$want" ]; ok $? "README's Layout section lists milter/<layer>/ for every layer, in the layer order"
if [ "$got" != "$want" ]; then
    for l in $want; do echo "$got" | grep -qx "$l" || echo "# missing in README Layout: milter/$l/"; done
    for l in $got; do echo "$want" | grep -qx "$l" || echo "# README Layout lists milter/$l/, which is not in LAYERS"; done
    echo "$got" | awk -v want="$(echo $want)" 'BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) pos[w[i]] = i }
        !($0 in pos) { next }
        seen[$0]++ { print "# README Layout lists milter/" $0 "/ twice"; next }
        last != "" && pos[$0] < pos[last] { print "# misordered in README Layout: milter/" $0 "/ comes after milter/" last "/"; next }
        { last = $0 }'
    echo "# README order: $(echo $got)"
    echo "# layer order:  $(echo $want)"
fi
done_testing
