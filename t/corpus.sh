#!/bin/sh
# corpus.sh - itip-check over every file of the shared corpus of real calendar mail
# ($top_srcdir/../shared/corpus, or $ITIP_CORPUS).  Fails on any crash or read error, any
# output that is not exactly one JSON object, any would-fail finding that t/corpus-expected.tsv
# does not list with a reason, and any listed would-fail that no longer occurs (so the list
# stays a reviewed decision, not a stale excuse).  TAP output.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
CORPUS="${ITIP_CORPUS:-$top_srcdir/../shared/corpus}"
PY="${PYTHON3:-python3}"
if [ ! -d "$CORPUS" ]; then
    echo "1..0 # SKIP corpus directory $CORPUS is absent: the real-mail test did not run"
    exit 0
fi
if ! command -v "$PY" >/dev/null 2>&1; then
    echo "1..0 # SKIP python3 is needed to validate JSON and is not installed"; exit 0
fi
exec "$PY" - "$top_builddir/itip-check" "$CORPUS" "$top_srcdir/t/corpus-expected.tsv" <<'PYEOF'
import json, os, subprocess, sys

check, corpus, expected_file = sys.argv[1:4]
expected = {}
for no, line in enumerate(open(expected_file, encoding="utf-8"), 1):
    line = line.rstrip("\n")
    if not line or line.startswith("#"):
        continue
    parts = line.split("\t")
    if len(parts) != 3 or not parts[2].strip():
        print("Bail out! %s:%d: want PATH<TAB>RULE<TAB>REASON" % (expected_file, no))
        sys.exit(1)
    expected[(parts[0], parts[1])] = parts[2]

files = []
for root, dirs, names in os.walk(corpus):
    dirs.sort()
    for name in sorted(names):
        if name in ("MANIFEST.tsv", "README.md"):
            continue
        files.append(os.path.relpath(os.path.join(root, name), corpus))

n = failed = 0
def ok(cond, name, diag=()):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name))
    if not cond:
        failed += 1
        for d in diag:
            print("# " + d)

seen = set()
for rel in files:
    p = subprocess.run([check, "--json", "--now", "20260601T120000Z", os.path.join(corpus, rel)],
                       capture_output=True)
    out = p.stdout.decode("utf-8", "replace").splitlines()
    if p.returncode not in (0, 1) or len(out) != 1:
        ok(False, "%s: runs (exit %d, %d output lines)" % (rel, p.returncode, len(out)),
           p.stderr.decode("utf-8", "replace").splitlines()[:5])
        continue
    try:
        obj = json.loads(out[0])
    except ValueError as e:
        ok(False, "%s: output is JSON" % rel, [str(e), out[0][:200]])
        continue
    wf = sorted({f["rule"] for f in obj["findings"] if f["severity"] == "would-fail"})
    unlisted = [r for r in wf if (rel, r) not in expected]
    seen.update((rel, r) for r in wf)
    ok(not unlisted, "%s: %s" % (rel, "would-fail " + ", ".join(wf) if wf else obj["verdict"]),
       ["unexpected would-fail %s: %s" % (r, next(f["detail"] for f in obj["findings"]
                                                   if f["rule"] == r)) for r in unlisted])

for key, reason in sorted(expected.items()):
    ok(key in seen, "expected would-fail still occurs: %s %s (%s)" % (key[0], key[1], reason))

print("1..%d" % n)
sys.exit(1 if failed else 0)
PYEOF
