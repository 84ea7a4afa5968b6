# postfix.sh - a private, throw-away Postfix on loopback for the end-to-end tests and the demo
# (sourced, not run).  Needs root (postfix start), never touches /etc/postfix or port 25.
#
#   pf_require TOOL...                         the prologue of a test that runs one: skip_all
#        unless root, each TOOL found (on PATH or in /usr/sbin), python3 ($PY) installed and
#        $MILTER built, each with its own message; adds /usr/sbin to PATH
#   pf_setup DIR SMTPD_PORT SINK_PORT MILTER   writes DIR/etc/{main,master}.cf: smtpd on
#        127.0.0.1:SMTPD_PORT without chroot, relayhost = the smtp-sink on SINK_PORT,
#        smtpd_milters = MILTER (Postfix spelling), milter_default_action = tempfail,
#        maillog_file DIR/maillog; queue and data directories under DIR
#   pf_start DIR / pf_stop DIR                 postfix -c DIR/etc start / stop (bounded)
#   pf_queue_json DIR                          postqueue -j
#   pf_wait_idle DIR                           waits until no message is in the incoming,
#                                              active or deferred queue (delivered or held)
# The next hop is t/lib/sink.sh's smtp-sink.  Every wait is bounded.  Requires t/lib/tap.sh.

pf_require() {
    [ "$(id -u)" -eq 0 ] || skip_all "needs root to start a private Postfix"
    for _c in "$@"; do
        command -v "$_c" >/dev/null 2>&1 || [ -x "/usr/sbin/$_c" ] ||
            skip_all "$_c not found (Debian package postfix)"
    done
    PATH="$PATH:/usr/sbin"
    command -v "$PY" >/dev/null 2>&1 || skip_all "python3 is not installed"
    [ -x "$MILTER" ] || skip_all "$MILTER was not built"
}

pf_setup() {
    _d=$1
    mkdir -p "$_d/etc" "$_d/spool" "$_d/data"
    chown postfix "$_d/data"
    cat >"$_d/etc/main.cf" <<PFEOF
compatibility_level = 3.6
queue_directory = $_d/spool
data_directory = $_d/data
maillog_file = $_d/maillog
maillog_file_prefixes = $_d
myhostname = mx.itip-test.invalid
mydomain = itip-test.invalid
myorigin = \$myhostname
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$3
smtpd_relay_restrictions = permit_mynetworks, reject
alias_maps =
alias_database =
biff = no
append_dot_mydomain = no
smtp_dns_support_level = disabled
smtpd_milters = $4
non_smtpd_milters =
milter_default_action = tempfail
milter_protocol = 6
PFEOF
    # the package's pristine master.cf (the live one may have been edited)
    for _m in /usr/share/postfix/master.cf.dist /etc/postfix/master.cf.proto \
        /etc/postfix/master.cf; do
        [ -f "$_m" ] && { cp "$_m" "$_d/etc/master.cf"; break; }
    done
    postconf -c "$_d/etc" -M# smtp/inet 2>/dev/null
    postconf -c "$_d/etc" -M "127.0.0.1:$2/inet=127.0.0.1:$2 inet n - n - - smtpd"
    postconf -c "$_d/etc" -F '*/*/chroot = n'
    # postfix commands pause ~2 s after a recent main.cf change: back-date it
    touch -d '-1 min' "$_d/etc/main.cf" "$_d/etc/master.cf"
}

pf_start() {
    postfix -c "$1/etc" check >"$1/check.log" 2>&1 && postfix -c "$1/etc" start >"$1/start.log" 2>&1
}

pf_stop() {
    [ -f "$1/spool/pid/master.pid" ] || return 0
    _pid=$(tr -d ' ' <"$1/spool/pid/master.pid")
    postfix -c "$1/etc" stop >/dev/null 2>&1
    [ -n "$_pid" ] && wait_for 15 sh -c "! kill -0 $_pid 2>/dev/null"
}

pf_queue_json() {
    postqueue -c "$1/etc" -j 2>/dev/null
}

pf_wait_idle() {
    wait_for 20 sh -c "[ -z \"\$(find '$1/spool/incoming' '$1/spool/active' '$1/spool/deferred' -type f 2>/dev/null)\" ]"
}
