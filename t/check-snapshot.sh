#!/bin/sh
# check-snapshot.sh - the engine's whole observable output in one file, to show that a change
# that should not change behaviour does not.
#
#   t/check-snapshot.sh ITIP-CHECK [OUT]          writes the snapshot (standard output if no OUT)
#   t/check-snapshot.sh --compare OLD NEW         snapshots two itip-check binaries, diffs them;
#                                                 exit 0 when byte-identical, 1 with the diff
#
# For every message and calendar file under t/ (*.eml, *.ics, *.mbox, Maildir folders),
# samples/ and ../shared/corpus/ (or $ITIP_CORPUS; left out, saying so, where absent) it runs
#   ITIP-CHECK --json --now 20260601T120000Z FILE
# and writes "== FILE (exit N)" followed by the output, standard error included.  The files
# come in a fixed order (LC_ALL=C sort) and are named relative to the source tree, so two
# snapshots from two builds (say, main before and after a refactoring) compare with cmp.
# itip-check --list-rules --json is part of the snapshot too.
set -u
here=$(cd "$(dirname "$0")/.." && pwd)

snapshot() { # snapshot ITIP-CHECK
    check=$1
    corpus=${ITIP_CORPUS:-../shared/corpus}   # relative to the source tree, or absolute
    [ -x "$check" ] || { echo "check-snapshot.sh: $check is not executable" >&2; return 2; }
    echo "== itip-check --list-rules --json"
    "$check" --list-rules --json 2>&1
    {
        (cd "$here" && find t samples -type f \( -name '*.eml' -o -name '*.ics' -o -name '*.mbox' \))
        (cd "$here" && find t samples -type d -name cur -exec dirname {} \;)
        if (cd "$here" && [ -d "$corpus" ]); then
            (cd "$here" && find "$corpus" -type f ! -name MANIFEST.tsv ! -name README.md)
        else
            echo "check-snapshot.sh: $corpus is absent: the corpus is not in this snapshot" >&2
        fi
    } | LC_ALL=C sort | while IFS= read -r f; do
        out=$(cd "$here" && "$check" --json --now 20260601T120000Z "$f" 2>&1)
        rc=$?
        printf '== %s (exit %d)\n%s\n' "$f" "$rc" "$out"
    done
}

case "${1:-}" in
--compare)
    [ $# -eq 3 ] || { echo "usage: $0 --compare OLD-ITIP-CHECK NEW-ITIP-CHECK" >&2; exit 2; }
    old=$(mktemp) new=$(mktemp)
    trap 'rm -f "$old" "$new"' EXIT
    snapshot "$2" >"$old" || exit 2
    snapshot "$3" >"$new" || exit 2
    n=$(grep -c '^== ' "$new")
    if cmp -s "$old" "$new"; then
        echo "check-snapshot.sh: identical output over $n files"
        exit 0
    fi
    diff -u "$old" "$new" | head -200
    echo "check-snapshot.sh: the output differs (see above)" >&2
    exit 1
    ;;
""|-h|--help)
    echo "usage: $0 ITIP-CHECK [OUT] | --compare OLD-ITIP-CHECK NEW-ITIP-CHECK" >&2
    exit 2
    ;;
*)
    if [ $# -ge 2 ]; then snapshot "$1" >"$2"; else snapshot "$1"; fi
    ;;
esac
