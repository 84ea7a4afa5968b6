#!/bin/sh
# debian-package.sh - the Debian package, installed into this machine and purged again.
#
#   top_srcdir=DIR sh t/debian-package.sh PATH/itip-milter_VERSION_ARCH.deb
#   (or ITIP_DEB=PATH; ./setup.sh test builds the package in build/deb/ and runs this)
#
# lintian on the .deb (every remaining tag overridden in debian/); apt-get install of the
# .deb; the files, the conffile, the system user and group (the postfix user a member),
# the permissions of the state directory and the conffile; the unit enabled but nothing
# started where systemd does not run; then the daemon started by hand as the installed unit
# would start it (User=, Group=, RuntimeDirectory=, RuntimeDirectoryMode=, UMask=,
# ExecStartPre=, ExecStart= read from the unit), with the socket and the pidfile of the
# packaged /etc/itip-milter.conf, in front of a private Postfix (t/lib/postfix.sh, no
# chroot, smtpd_milters = the packaged unix socket): a KB 938650 REPLY (no
# X-MICROSOFT-CDO-ATTENDEE-CRITICAL-CHANGE, organizer on legacy_cdo_domains) is held in the
# hold queue with its X-ITIP-Result, the corrected REPLY is delivered and recorded in the
# LMDB store under /var/lib/itip-milter; the daemon stopped by its pid; apt-get purge, and
# nothing left: files, directories, the user, the group, systemd's enable links.
# Needs root and the postfix package; refuses (skips) when the package, the user or the
# group already exist on this machine, since it would remove them.  TAP output.
set -u
: "${top_srcdir:?}"
. "$top_srcdir/t/lib/tap.sh"
. "$top_srcdir/t/lib/postfix.sh"
. "$top_srcdir/t/lib/sink.sh"
DEB=${1:-${ITIP_DEB:-}}
PY="${PYTHON3:-python3}"
SEND="$top_srcdir/t/lib/smtpsend.py"
KB="$top_srcdir/t/rules/reply-attendee-critical-change-missing"
UNIT=/lib/systemd/system/itip-milter.service
CONF=/etc/itip-milter.conf
APT="apt-get -y -qq -o DPkg::Lock::Timeout=300"
export DEBIAN_FRONTEND=noninteractive

[ -n "$DEB" ] || skip_all "no .deb given (argument or ITIP_DEB; ./setup.sh test builds one)"
[ -f "$DEB" ] || skip_all "$DEB does not exist (the package build failed or did not run)"
[ "$(id -u)" -eq 0 ] || skip_all "needs root to install the package"
case $DEB in /*) ;; *) DEB="$(pwd)/$DEB" ;; esac
dpkg-query -W -f='${Status}' itip-milter 2>/dev/null | grep -q 'installed\|config-files' &&
    skip_all "the itip-milter package is already on this machine: this test would purge it"
getent passwd itip-milter >/dev/null && skip_all "a user itip-milter already exists: this test would remove it"
getent group itip-milter >/dev/null && skip_all "a group itip-milter already exists: this test would remove it"
for c in postfix postconf postqueue postcat smtp-sink; do
    command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] ||
        skip_all "$c not found (Debian package postfix)"
done
PATH="$PATH:/usr/sbin"
command -v "$PY" >/dev/null 2>&1 || skip_all "python3 is not installed"
getent passwd postfix >/dev/null || skip_all "no postfix user (Debian package postfix)"

T=$(mktemp -d /tmp/itd.XXXXXX)
chmod 755 "$T"
MPID=""
purge() { $APT purge itip-milter >"$T/purge.log" 2>&1; }
cleanup() {
    pf_stop "$T/pf"
    bg_cleanup
    # a test that died half-way must not leave the package on the machine
    if dpkg-query -W -f='${Status}' itip-milter 2>/dev/null | grep -q 'installed\|config-files'; then
        echo "# cleanup: purging the itip-milter package"
        purge || sed 's/^/# /' "$T/purge.log"
    fi
    rm -rf "$T"
}
trap cleanup EXIT

# ---- lintian ----
if command -v lintian >/dev/null 2>&1; then
    # --pedantic: every tag, information and pedantic ones included; root is fine here
    lintian --pedantic -I --fail-on error,warning,info,pedantic "$DEB" >"$T/lintian.log" 2>&1
    lrc=$?
    grep -v 'running with root privileges is not recommended' "$T/lintian.log" >"$T/lintian.tags"
    [ $lrc -eq 0 ] && [ ! -s "$T/lintian.tags" ]
    ok $? "lintian --pedantic: no tag left (remaining ones are overridden in debian/)"
    sed 's/^/# lintian: /' "$T/lintian.tags"
else
    echo "# lintian is not installed (Debian package lintian): not run"
fi

# ---- install ----
$APT install --no-install-recommends "$DEB" >"$T/install.log" 2>&1
ok $? "apt-get install $(basename "$DEB")"
sed 's/^/# /' "$T/install.log" | tail -5
[ "$(dpkg-query -W -f='${Status}' itip-milter 2>/dev/null)" = "install ok installed" ]
ok $? "dpkg: itip-milter is installed"

for f in /usr/sbin/itip-milter /usr/bin/itip-check /usr/bin/itip-quarantine; do
    [ -x "$f" ] && [ "$(stat -c '%U:%G %a' "$f")" = "root:root 755" ]
    ok $? "$f: installed, root:root 0755"
done
for m in man1/itip-check.1 man5/itip-milter.conf.5 man8/itip-milter.8 man8/itip-quarantine.8; do
    [ -f "/usr/share/man/$m.gz" ]; ok $? "man page /usr/share/man/$m.gz"
done
[ -f "$UNIT" ] && grep -q '^ExecStart=/usr/sbin/itip-milter ' "$UNIT"
ok $? "systemd unit $UNIT, ExecStart= the packaged /usr/sbin/itip-milter"
[ -f /usr/share/doc/itip-milter/copyright ] && [ -f /usr/share/doc/itip-milter/README.Debian ]
ok $? "/usr/share/doc/itip-milter: copyright and README.Debian"
dpkg-query -W -f='${Conffiles}\n' itip-milter | grep -q "^ $CONF "
ok $? "$CONF is a conffile"
[ "$(stat -c '%U:%G %a' "$CONF")" = "root:root 644" ]; ok $? "$CONF: root:root 0644"
grep -q '^socket = "unix:/run/itip-milter/itip-milter.sock";' "$CONF" &&
    grep -q '^socket_group = "itip-milter";' "$CONF" && grep -q '^user = "itip-milter";' "$CONF"
ok $? "$CONF: socket under /run/itip-milter, socket_group and user itip-milter"
/usr/sbin/itip-milter -n -c "$CONF" >"$T/n.log" 2>&1
ok $? "itip-milter -n accepts the packaged $CONF"
sed 's/^/# /' "$T/n.log"

# ---- the user and the group ----
pw=$(getent passwd itip-milter)
uid=$(echo "$pw" | cut -d: -f3)
gid=$(getent group itip-milter | cut -d: -f3)
[ -n "$pw" ] && [ -n "$gid" ]; ok $? "system user and group itip-milter exist ($pw)"
[ -n "$uid" ] && [ "$uid" -lt 1000 ] && [ "$(echo "$pw" | cut -d: -f4)" = "$gid" ] &&
    [ "$(echo "$pw" | cut -d: -f6)" = /var/lib/itip-milter ] &&
    [ "$(echo "$pw" | cut -d: -f7)" = /usr/sbin/nologin ]
ok $? "itip-milter: a system uid, primary group itip-milter, home /var/lib/itip-milter, no login shell"
id -nG postfix | tr ' ' '\n' | grep -qx itip-milter
ok $? "the postfix user is in the group itip-milter (the socket's group)"
# Postfix installed after the package: dpkg's file trigger on /usr/sbin/postfix runs postinst
# "triggered", which adds the user again (the real postfix package is left alone: the trigger
# is activated by hand, as installing Postfix would)
gpasswd -d postfix itip-milter >/dev/null && dpkg-trigger --no-await /usr/sbin/postfix &&
    dpkg --triggers-only --pending >"$T/trigger.log" 2>&1 &&
    id -nG postfix | tr ' ' '\n' | grep -qx itip-milter
ok $? "postfix taken out of the group, /usr/sbin/postfix's trigger puts it back (postinst triggered)"
sed 's/^/# /' "$T/trigger.log"
[ "$(stat -c '%U:%G %a' /var/lib/itip-milter)" = "itip-milter:itip-milter 750" ]
ok $? "/var/lib/itip-milter: itip-milter:itip-milter 0750"
[ -L /etc/systemd/system/multi-user.target.wants/itip-milter.service ]
ok $? "the unit is enabled (multi-user.target.wants)"
if [ -d /run/systemd/system ]; then
    echo "# systemd runs here: postinst started the unit; stopping it for the by-hand start"
    systemctl stop itip-milter.service
else
    [ ! -e /run/itip-milter ]; ok $? "no systemd here: postinst started nothing (/run/itip-milter absent)"
fi

# ---- the daemon, started by hand as the installed unit would ----
unit_value() { sed -n "s/^$1=//p" "$UNIT" | tail -1; }
U=$(unit_value User); G=$(unit_value Group)
RD=$(unit_value RuntimeDirectory); RDM=$(unit_value RuntimeDirectoryMode)
UM=$(unit_value UMask); PRE=$(unit_value ExecStartPre); START=$(unit_value ExecStart)
echo "# unit: User=$U Group=$G RuntimeDirectory=$RD ($RDM) UMask=$UM"
echo "# unit: ExecStartPre=$PRE"
echo "# unit: ExecStart=$START"
[ -n "$U" ] && [ -n "$G" ] && [ -n "$RD" ] && [ -n "$START" ]
ok $? "the unit names User=, Group=, RuntimeDirectory= and ExecStart="
# the unit's command line $1 as User=/Group= (their groups too) under UMask=: each step an
# exec, so that the pid bg_start records is the daemon's (the command line is split on blanks,
# as systemd does for a line without quotes)
as_unit() { echo "umask ${UM:-0022}; exec setpriv --reuid='$U' --regid='$G' --init-groups $1"; }
install -d -o "$U" -g "$G" -m "${RDM:-0755}" "/run/$RD"
[ "$(stat -c '%U:%G %a' "/run/$RD")" = "itip-milter:itip-milter 750" ]
ok $? "socket directory /run/$RD: itip-milter:itip-milter 0750 (RuntimeDirectoryMode)"
# the KB 938650 organizer's domain runs Exchange 2003: the postmaster's one change
grep '^legacy_cdo_domains' "$KB/test.conf" >>"$CONF"
[ -z "$PRE" ] || sh -c "$(as_unit "$PRE")" >"$T/pre.log" 2>&1
ok $? "ExecStartPre (itip-milter -n) accepts the edited $CONF"
sed 's/^/# /' "$T/pre.log"
bg_start MPID sh -c "$(as_unit "$START")" 2>"$T/milter.log"
SOCK=/run/itip-milter/itip-milter.sock
wait_for 10 sh -c "grep -q 'starting: socket unix:$SOCK' '$T/milter.log' && [ -S $SOCK ]"
ok $? "itip-milter started from the unit's ExecStart (pid $MPID), listening on $SOCK"
[ "$(awk '/^Uid:/ { print $2 }' "/proc/$MPID/status" 2>/dev/null)" = "$uid" ]
ok $? "the daemon runs as the user itip-milter (uid $uid)"
[ "$(stat -c '%U:%G %a' $SOCK)" = "itip-milter:itip-milter 660" ]
ok $? "the socket: itip-milter:itip-milter 0660 (socket_mode, socket_group)"
[ "$(tr -d ' \n' </run/itip-milter/itip-milter.pid 2>/dev/null)" = "$MPID" ]
ok $? "the pidfile /run/itip-milter/itip-milter.pid holds its pid"
wait_for 10 grep -q "state: using the lmdb store /var/lib/itip-milter/state" "$T/milter.log"
ok $? "the daemon opened the LMDB store under /var/lib/itip-milter"

# ---- a KB 938650 reply through a private Postfix to the packaged socket ----
SMTPD=$(free_port)
SINK=$(free_port)
pf_setup "$T/pf" "$SMTPD" "$SINK" "unix:$SOCK"
sink_start "$T/sink" "$SINK"
pf_start "$T/pf"; ok $? "private Postfix started (smtpd 127.0.0.1:$SMTPD, smtpd_milters = unix:$SOCK)"
wait_for 20 "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])))' "$SMTPD"
"$PY" "$SEND" 127.0.0.1 "$SMTPD" bob@example.net larry@legacy.example.org \
    "$KB/pos-would-fail-legacy-organizer.eml" "$KB/neg-legacy-organizer-with-critical-change.eml" \
    >"$T/sent" 2>&1
sed 's/^/# /' "$T/sent"
[ "$(awk '$2 == 250' "$T/sent" | wc -l)" -eq 2 ]
ok $? "both replies accepted by Postfix (250): smtpd (user postfix) could use the socket"
pf_wait_idle "$T/pf"
HOLD=$(awk '/pos-would-fail/ { print $NF }' "$T/sent")
pf_queue_json "$T/pf" >"$T/queue.json"
"$PY" - "$T/queue.json" "$HOLD" <<'PYEOF'
import json, sys
entries = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
held = [e for e in entries if e["queue_id"] == sys.argv[2]]
sys.exit(0 if len(held) == 1 and held[0]["queue_name"] == "hold" else 1)
PYEOF
ok $? "the KB 938650 reply ($HOLD) is in the hold queue"
postcat -c "$T/pf/etc" -hq "$HOLD" >"$T/held" 2>/dev/null
head -1 "$T/held" | grep -q '^X-ITIP-Result: quarantine (would-fail: reply-attendee-critical-change-missing)'
ok $? "held reply: X-ITIP-Result: quarantine (would-fail: reply-attendee-critical-change-missing)"
sed -n '1,2s/^/# /p' "$T/held"
grep -q "qid=$HOLD .*method=REPLY .*rules=reply-attendee-critical-change-missing action=quarantine" "$T/milter.log"
ok $? "the milter's log line for $HOLD: method=REPLY, the rule, action=quarantine"
grep "qid=$HOLD " "$T/milter.log" | sed 's/^/# milter: /'
GOOD=$(sink_find "$T/sink" reply-attendee-critical-change-missing.neg-legacy-organizer-with-critical-change@example.net)
[ -n "$GOOD" ] && grep -q '^X-ITIP-Result: pass method=REPLY' "$GOOD"
ok $? "the reply with X-MICROSOFT-CDO-ATTENDEE-CRITICAL-CHANGE was delivered with X-ITIP-Result: pass"
GQ=$(awk '/neg-legacy/ { print $NF }' "$T/sent")
grep -q "qid=$GQ .*method=REPLY .*action=pass .*state=ok" "$T/milter.log" &&
    [ "$(stat -c %U /var/lib/itip-milter/state/data.mdb 2>/dev/null)" = itip-milter ]
ok $? "the store works as the user: state=ok for $GQ, /var/lib/itip-milter/state/data.mdb owned by itip-milter"
grep "qid=$GQ " "$T/milter.log" | sed 's/^/# milter: /'

# ---- stop by pid ----
kill -TERM "$MPID"
wait_for 15 sh -c "! kill -0 $MPID 2>/dev/null"
ok $? "the daemon exited on SIGTERM to its pid $MPID"
wait "$MPID" 2>/dev/null
[ ! -e $SOCK ] && [ ! -e /run/itip-milter/itip-milter.pid ]
ok $? "it removed its socket and pidfile (its own directory)"
pf_stop "$T/pf"

# ---- purge: nothing left behind ----
purge; ok $? "apt-get purge itip-milter"
grep -v 'Reading database' "$T/purge.log" | tail -3 | sed 's/^/# /'
! dpkg-query -W -f='${Status}' itip-milter 2>/dev/null | grep -q 'installed\|config-files'
ok $? "dpkg: itip-milter is gone, no config-files state"
! getent passwd itip-milter >/dev/null; ok $? "the user itip-milter is gone"
! getent group itip-milter >/dev/null; ok $? "the group itip-milter is gone"
! id -nG postfix | tr ' ' '\n' | grep -qx itip-milter; ok $? "the postfix user is in no group itip-milter"
left=$(find /etc /lib /usr /var /run /opt /srv -xdev -path /usr/local -prune -o \( -name '*itip-milter*' -o -name 'itip-check*' \
    -o -name 'itip-quarantine*' -o -uid "$uid" -o -gid "$gid" \) -print 2>/dev/null)
[ -z "$left" ]; ok $? "no file, directory or enable link left (itip-* names, uid $uid, gid $gid)"
[ -z "$left" ] || echo "$left" | sed 's/^/# left: /' | head -20
for p in "$CONF" /var/lib/itip-milter /run/itip-milter "$UNIT" \
    /etc/systemd/system/multi-user.target.wants/itip-milter.service; do
    [ ! -e "$p" ] || echo "# left: $p"
done
done_testing
