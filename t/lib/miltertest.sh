# miltertest.sh - runs one t/mt/*.lua script with miltertest against a running itip-milter
# and turns its checks into TAP lines (sourced, not run).  Requires t/lib/tap.sh, $top_srcdir
# and $T (a temp dir: the script's output goes to $T/mt.out).
#
#   mt_tap SOCK SCRIPT EXPECT NAME [LAST]
#        miltertest (${MILTERTEST:-miltertest}) -D sock=SOCK -D srcdir=$top_srcdir
#        -D expect=EXPECT -s $top_srcdir/t/mt/SCRIPT.lua; every "ok - X" / "not ok - X" line
#        it prints becomes the test "NAME: X", any other line a "# " comment; then one more
#        test, "NAME: LAST (status S, N checks)", that passes when miltertest exited 0 after
#        at least one check.  LAST defaults to "miltertest ran to the end".

mt_tap() {
    "${MILTERTEST:-miltertest}" -D sock="$1" -D srcdir="$top_srcdir" -D expect="$3" \
        -s "$top_srcdir/t/mt/$2.lua" >"$T/mt.out" 2>&1
    _mt_rc=$?
    _mt_n=0
    while IFS= read -r _mt_line; do
        case "$_mt_line" in
        "ok - "*) ok 0 "$4: ${_mt_line#ok - }"; _mt_n=$((_mt_n + 1)) ;;
        "not ok - "*) ok 1 "$4: ${_mt_line#not ok - }"; _mt_n=$((_mt_n + 1)) ;;
        *) echo "# $_mt_line" ;;
        esac
    done <"$T/mt.out"
    [ $_mt_rc -eq 0 ] && [ $_mt_n -gt 0 ]
    ok $? "$4: ${5:-miltertest ran to the end} (status $_mt_rc, $_mt_n checks)"
}
