# sendmail.sh - a private Sendmail on loopback, run from the packages unpacked by setup.sh
# (Debian's sendmail-bin conflicts with postfix, so it is never installed).  Sourced.
#
#   SM_ROOT                              where setup.sh unpacked sendmail-bin/-base/-cf
#   sm_setup DIR SMTP_PORT SINK_PORT MILTER_SOCKET
#        builds DIR/sendmail.cf with m4 from the unpacked sendmail-cf: OSTYPE(linux),
#        daemon on 127.0.0.1:SMTP_PORT, smart host the smtp-sink on $SM_SINK_ADDR:SINK_PORT
#        (not 127.0.0.1: where the hostname resolves to 127.0.0.1, Sendmail counts that
#        address as itself and would deliver locally instead of relaying), queue
#        DIR/mqueue, no aliases, no DNS (service switch: files), and
#        INPUT_MAIL_FILTER(`itip', `S=MILTER_SOCKET, F=T, T=S:30s;R:30s;E:5m')
#   sm_init                              decides how to run it (sets SM_NS, SM_WAIT): with an
#        unqualified hostname Sendmail sleeps 60 s at every start, so it runs in its own UTS
#        namespace (unshare --uts) under a private qualified hostname; where that is not
#        allowed (an unprivileged container) it runs as is and the waits grow to 90 s
#   sm_run DIR ARGS...                   runs the (non-setgid copy of the) binary with that
#        configuration
#   sm_start DIR                         sm_run -bD (foreground daemon) in the background;
#                                        waits for its pidfile (bounded)
#   sm_stop DIR                          SIGTERM to the pid in the pidfile, bounded wait
# Requires t/lib/tap.sh.
SM_ROOT=${SM_ROOT:-/opt/itip-test/sendmail}
SM_HOST=mx.itip-test.invalid
SM_SINK_ADDR=127.0.0.2

sm_available() { # prints why not, returns 1, when this machine cannot run the private Sendmail
    if [ ! -x "$SM_ROOT/usr/libexec/sendmail/sendmail" ] || [ ! -f "$SM_ROOT/usr/share/sendmail/cf/m4/cf.m4" ]; then
        echo "no unpacked Sendmail in $SM_ROOT (./setup.sh test unpacks it)"
        return 1
    fi
    command -v m4 >/dev/null 2>&1 || { echo "m4 is not installed"; return 1; }
    return 0
}

sm_init() {
    SM_NS=0
    SM_WAIT=15
    if unshare --uts true 2>/dev/null; then
        SM_NS=1
    else
        case "$(hostname)" in
        *.*) ;;
        *) SM_WAIT=90 ;;
        esac
    fi
}

sm_setup() {
    _d=$1
    mkdir -p "$_d/mqueue"
    chmod 700 "$_d/mqueue"
    printf 'hosts files\naliases files\n' >"$_d/service.switch"
    cp "$SM_ROOT/usr/libexec/sendmail/sendmail" "$_d/sendmail"    # the copy is not setgid
    cat >"$_d/sendmail.mc" <<SMEOF
divert(0)dnl
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`$SM_HOST')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`QUEUE_DIR', \`$_d/mqueue')dnl
define(\`confPID_FILE', \`$_d/sendmail.pid')dnl
define(\`STATUS_FILE', \`$_d/statistics')dnl
define(\`ALIAS_FILE', \`')dnl
define(\`confSERVICE_SWITCH_FILE', \`$_d/service.switch')dnl
define(\`confDONT_BLAME_SENDMAIL', \`GroupWritableDirPathSafe,TrustStickyBit')dnl
define(\`SMART_HOST', \`[$SM_SINK_ADDR]')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $3')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h $3')dnl
FEATURE(\`no_default_msa')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`accept_unresolvable_domains')dnl
DAEMON_OPTIONS(\`Port=$2, Addr=127.0.0.1, Name=MTA')dnl
INPUT_MAIL_FILTER(\`itip', \`S=$4, F=T, T=S:30s;R:30s;E:5m')dnl
MAILER(\`smtp')dnl
SMEOF
    m4 -D_CF_DIR_="$SM_ROOT/usr/share/sendmail/cf/" "$SM_ROOT/usr/share/sendmail/cf/m4/cf.m4" \
        "$_d/sendmail.mc" >"$_d/sendmail.cf"
}

sm_run() {
    _d=$1
    shift
    if [ "${SM_NS:-0}" -eq 1 ]; then
        unshare --uts sh -c 'hostname "$0" && exec "$@"' "$SM_HOST" \
            "$_d/sendmail" -C "$_d/sendmail.cf" "$@"
    else
        "$_d/sendmail" -C "$_d/sendmail.cf" "$@"
    fi
}

sm_start() {
    sm_run "$1" -bD >"$1/sendmail.out" 2>&1 &
    wait_for "${SM_WAIT:-15}" sh -c "[ -s '$1/sendmail.pid' ]"
}

sm_stop() {
    [ -s "$1/sendmail.pid" ] || return 0
    _pid=$(head -1 "$1/sendmail.pid")
    kill -TERM "$_pid" 2>/dev/null
    wait_for 10 sh -c "! kill -0 $_pid 2>/dev/null"
    rm -f "$1/sendmail.pid"
}
