#!/bin/sh
# milter.sh - itip-milter over the milter protocol, driven by miltertest (t/mt/*.lua).
#
# Starts the daemon once (-f, a test configuration, a unix socket in a short /tmp dir),
# runs many scripts against it and switches configurations with SIGUSR1 between them:
# negotiation, clean mail, plain mail (SKIP, untouched), findings and quarantine, forged
# headers, abort, several messages per connection, dropped connections, every action,
# dry_run, header_prefix, a broken reload.  Plus what only the shell can see: -n and exit
# codes, socket mode, the stale-socket rule, the log line, daemon mode with a pidfile,
# privileges dropped to `user`, SIGHUP.  TAP output.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/t/lib/tap.sh"
. "$top_srcdir/t/lib/miltertest.sh"
MILTER="$top_builddir/itip-milter"
PY="${PYTHON3:-python3}"

command -v miltertest >/dev/null 2>&1 || skip_all "miltertest is not installed (Debian package miltertest)"
command -v "$PY" >/dev/null 2>&1 || skip_all "python3 is not installed"
[ -x "$MILTER" ] || skip_all "$MILTER was not built"

T=$(mktemp -d /tmp/itm.XXXXXX)      # short: unix socket paths must fit 108 bytes
trap 'bg_cleanup; rm -rf "$T"' EXIT
SOCK="unix:$T/s"
CONF="$T/m.conf"
LOG="$T/log"

mt_run() { # mt_run SCRIPT [EXPECT]: one miltertest script; its checks become TAP lines
    mt_tap "$SOCK" "$1" "${2:-}" "$1${2:+ ($2)}"
}

count() { grep -c "$1" "$LOG" 2>/dev/null || true; }

reload() { # reload CONFIG-TEXT: install it, SIGUSR1, wait for the milter to say it reloaded
    before=$(count "configuration reloaded\|reload failed")
    printf '%s\n' "$1" >"$CONF"
    kill -USR1 "$MPID"
    wait_for 10 sh -c "[ \$(grep -c 'configuration reloaded\|reload failed' '$LOG') -gt $before ]"
}

BASE='legacy_cdo_domains = [ "legacy.example" ];'

# ---- -n and exit codes ----
printf '%s\n' "$BASE" >"$CONF"
"$MILTER" -n -c "$CONF" >"$T/out" 2>&1; rc=$?
[ $rc -eq 0 ] && [ ! -s "$T/out" ]; ok $? "-n: a good configuration exits 0 silently"
printf 'legacy_cdo_domains = [ "a.example" ];\nbogus = 1;\n' >"$T/bad.conf"
"$MILTER" -n -c "$T/bad.conf" >"$T/out" 2>&1; rc=$?
[ $rc -eq 78 ] && grep -qx "$T/bad.conf:2: unknown setting 'bogus'" "$T/out"
ok $? "-n: unknown setting: exit 78, FILE:LINE: message"
printf 'dry_run = true;\nlog_level = "chatty";\n' >"$T/bad.conf"
"$MILTER" -n -c "$T/bad.conf" >"$T/out" 2>&1; rc=$?
[ $rc -eq 78 ] && grep -q "^$T/bad.conf:2: unknown log_level 'chatty'" "$T/out"
ok $? "-n: milter setting log_level checked with FILE:LINE"
printf '\nsocket = "inet:127.0.0.1:8899";\n' >"$T/bad.conf"
"$MILTER" -n -c "$T/bad.conf" >"$T/out" 2>&1; rc=$?
[ $rc -eq 78 ] && grep -q "^$T/bad.conf:2: .*Postfix's spelling.*inet:8899@127.0.0.1" "$T/out"
ok $? "-n: Postfix's inet:HOST:PORT spelling explained"
"$MILTER" -n -c "$CONF" -p "inet:99999@127.0.0.1" >"$T/out" 2>&1; rc=$?
[ $rc -eq 78 ] && grep -q "^-p: " "$T/out"; ok $? "-n: a bad -p socket: exit 78"
printf 'syslog_facility = "mail";\nuser = "no-such-user-itip";\n' >"$T/bad.conf"
"$MILTER" -n -c "$T/bad.conf" >"$T/out" 2>&1; rc=$?
[ $rc -eq 78 ] && grep -q "bad.conf:2: unknown user" "$T/out"; ok $? "-n: unknown user"
printf 'dry_run = tru\n' >"$T/bad.conf"
"$MILTER" -n -c "$T/bad.conf" >"$T/out" 2>&1; rc=$?
[ $rc -eq 78 ] && grep -q "^$T/bad.conf:1: " "$T/out"; ok $? "-n: syntax error: exit 78"
"$MILTER" -n -c "$T/none.conf" >"$T/out" 2>&1; rc=$?
[ $rc -eq 78 ] && grep -q "none.conf" "$T/out"; ok $? "-n: a missing -c file is an error"
"$MILTER" -x >"$T/out" 2>&1; rc=$?
[ $rc -eq 64 ] && grep -q "usage: itip-milter" "$T/out"; ok $? "unknown option: usage, exit 64"

# ---- start: a stale socket is replaced, a regular file is not ----
: >"$T/s"
"$MILTER" -f -c "$CONF" -p "$SOCK" >"$T/out" 2>&1; rc=$?
[ $rc -ne 0 ] && [ -f "$T/s" ] && grep -q "not a socket" "$T/out"
ok $? "a regular file at the socket path: refuses to start, file untouched"
rm -f "$T/s"
"$PY" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()' "$T/s"
[ -S "$T/s" ]; ok $? "a stale socket (nobody listens) exists before start"
bg_start MPID "$MILTER" -f -c "$CONF" -p "$SOCK" 2>"$LOG"
wait_for 10 grep -q "starting" "$LOG"
wait_for 10 "$PY" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$T/s"
ok $? "the milter replaces the stale socket and listens"
[ "$(stat -c %a "$T/s")" = 660 ]; ok $? "socket mode is socket_mode (default 0660), whatever the umask"
"$MILTER" -f -c "$CONF" -p "$SOCK" >"$T/out" 2>&1; rc=$?
[ $rc -eq 71 ] && grep -q "another process is listening" "$T/out" && [ -S "$T/s" ]
ok $? "a second instance on a live socket refuses to start (exit 71), socket kept"

# ---- the protocol, default actions ----
for s in negotiate clean plain findings forged abort multi disconnect; do
    mt_run $s
done
line="qid=MT-Q1 client=192.0.2.1 from=<sender@example.net> method=CANCEL"
line="$line uid=quarterly-planning-2026-06@example.com calendar_parts=1"
line="$line rules=mime-method-param-mismatch action=quarantine forged_removed=0 ms=[0-9.]*\$"
grep -q "$line" "$LOG"
ok $? "one key=value log line per message: qid, client, sender, METHOD, UID, rules, action, ms"
grep -q "qid=MT-FORGED1 .* forged_removed=3 " "$LOG"; ok $? "the log counts removed forged headers"
grep -q "qid=MT-PLAIN1 .*calendar_parts=0 rules=- action=pass" "$LOG"; ok $? "plain mail is logged too"
kill -0 "$MPID"; ok $? "the milter is still running after the protocol tests"

# ---- the envelope decides (issue 16): recipients, sender, trusted Authentication-Results ----
reload "$BASE
authserv_id = \"mx.example.net\";"
ok $? "SIGUSR1 reload: authserv_id = mx.example.net"
mt_run envelope
grep -q "qid=MT-ENV4 client=192.0.2.1 from=<bounce@attacker.example> method=CANCEL .*rules=organizer-not-sender action=quarantine" "$LOG"
ok $? "the log line of the forged CANCEL: organizer-not-sender, quarantined"

# ---- every action, switched by SIGUSR1 ----
for a in log tag quarantine reject tempfail; do
    reload "$BASE
actions = { would-fail = \"$a\"; };"
    ok $? "SIGUSR1 reload: actions.would-fail = $a"
    mt_run action $a
done
reload "$BASE
dry_run = true;
actions = { would-fail = \"reject\"; };"
mt_run action dryrun
reload "$BASE
rules = { mime-method-param-mismatch = { action = \"tempfail\"; }; };"
mt_run action tempfail
reload "$BASE
header_prefix = \"X-Cal\";"
mt_run action prefix

# ---- a broken reload keeps the running configuration ----
reload "$BASE
actions = { would-fail = \"reject\"; };"
reload "$BASE
actions = { would-fail = \"reject\"; };
max_parts = -5;"
ok $? "SIGUSR1 with a broken file: the milter answers"
grep -q "reload failed, keeping the current configuration: $CONF:3: " "$LOG"
ok $? "the broken file's FILE:LINE error is logged"
mt_run action reject
kill -0 "$MPID"; ok $? "the milter survived the broken reload"

# ---- SIGHUP: libmilter's signal thread turns it into an orderly stop ----
kill -HUP "$MPID"
wait_for 15 sh -c "! kill -0 $MPID 2>/dev/null"; ok $? "SIGHUP stops the milter (libmilter)"
wait_for 5 grep -q "stopped" "$LOG"; ok $? "it logs that it stopped"
! grep -q "ERROR: .*Sanitizer\|runtime error:" "$LOG"
ok $? "no AddressSanitizer / UBSan report in the milter's output (sanitizer builds)"
[ ! -e "$T/s" ]; ok $? "the unix socket is removed at exit"

# ---- daemon mode, pidfile, privileges ----
printf '%s\npidfile = "%s";\nuser = "nobody";\nsocket_mode = "0666";\n' "$BASE" "$T/pid" >"$CONF"
chmod 755 "$T"
"$MILTER" -c "$CONF" -p "$SOCK" >"$T/out" 2>&1; rc=$?
[ $rc -eq 0 ]; ok $? "daemon mode: the parent exits 0 once the child listens"
DPID=$(cat "$T/pid" 2>/dev/null || echo 0)
BG_PIDS="$BG_PIDS $DPID"
kill -0 "$DPID" 2>/dev/null; ok $? "daemon mode: the pidfile names a live process"
if [ "$(id -u)" -eq 0 ]; then
    [ "$(awk '/^Uid:/ { print $3 }' /proc/"$DPID"/status 2>/dev/null)" = "$(id -u nobody)" ] &&
        [ "$(awk '/^Gid:/ { print $3 }' /proc/"$DPID"/status 2>/dev/null)" = "$(id -g nobody)" ]
    ok $? "user = nobody: uid and gid dropped"
    [ "$(stat -c %a "$T/s")" = 666 ]; ok $? "socket_mode = 0666 applied"
fi
mt_run clean
"$MILTER" -c "$CONF" -p "$SOCK" >"$T/out" 2>&1; rc=$?
[ $rc -eq 71 ] && grep -q "another process is listening" "$T/out"
ok $? "daemon mode: a start-up failure reaches the parent's exit status and stderr"
bg_stop "$DPID"
! kill -0 "$DPID" 2>/dev/null; ok $? "SIGTERM stops the daemon"

done_testing
