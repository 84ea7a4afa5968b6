#!/bin/sh
# demo.sh - the README's main job (./setup.sh demo): itip-milter with the sample configuration
# in front of a throw-away Postfix on loopback; every sample message is sent through it and
# what happened to each is shown (delivered with which X-ITIP headers, held, rejected).
# Everything lives under one temp dir and is torn down at exit.  Needs root and postfix.
#
#   sh t/lib/demo.sh TOP BUILDDIR     TOP: the source tree; BUILDDIR: where itip-milter is
set -u
TOP=$1
BUILD=$2
. "$TOP/t/lib/tap.sh"
. "$TOP/t/lib/postfix.sh"
. "$TOP/t/lib/sink.sh"
PATH="$PATH:/usr/sbin"
MILTER="$BUILD/itip-milter"

T=$(mktemp -d /tmp/itip-demo.XXXXXX)
chmod 755 "$T"
trap 'pf_stop "$T/pf"; bg_cleanup; rm -rf "$T"' EXIT
SMTPD=$(free_port)
SINK=$(free_port)
MPORT=$(free_port)

# the sample configuration, the demo's (legacy.example is an Exchange 2003 organizer), and one
# rule that rejects so that every outcome shows up
cat >"$T/itip-milter.conf" <<EOF
@include "$TOP/etc/itip-milter.conf"
@include "$TOP/samples/demo.conf"
rules = { mime-method-param-mismatch = { action = "reject"; }; };
EOF

echo "== itip-milter demo: sample configuration (etc/itip-milter.conf + samples/demo.conf),"
echo "   plus rules.mime-method-param-mismatch.action = reject; defaults otherwise:"
echo "   would-fail -> quarantine (Postfix: hold queue), degrade -> tag, info -> log"
"$MILTER" -n -c "$T/itip-milter.conf" || exit 1
bg_start MPID "$MILTER" -f -c "$T/itip-milter.conf" -p "inet:$MPORT@127.0.0.1" 2>"$T/milter.log"
wait_for 10 grep -q "starting" "$T/milter.log" || { cat "$T/milter.log"; exit 1; }
sink_start "$T/sink" "$SINK"
pf_setup "$T/pf" "$SMTPD" "$SINK" "inet:127.0.0.1:$MPORT"
pf_start "$T/pf" || { cat "$T/pf/check.log" "$T/pf/start.log" "$T/pf/maillog" 2>/dev/null; exit 1; }
echo "== Postfix (smtpd 127.0.0.1:$SMTPD) -> itip-milter (inet:$MPORT@127.0.0.1) -> smtp-sink (127.0.0.1:$SINK)"
wait_for 10 python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])))' "$SMTPD"

python3 "$TOP/t/lib/smtpsend.py" 127.0.0.1 "$SMTPD" demo@example.net rcpt@example.com \
    "$TOP"/samples/*.eml >"$T/sent"
pf_wait_idle "$T/pf"
pf_queue_json "$T/pf" >"$T/queue.json"

# headers of ours, as they reached the next hop or sit in the queue file
show_headers() { awk '/^$/ { exit } /^X-ITIP-/ { p = 1; print "     " $0; next } /^[ \t]/ && p { print "     " $0; next } { p = 0 }' "$1"; }

while read -r file code _ms text; do
    name=${file#"$TOP"/}
    msgid=$(sed -n 's/^Message-ID: <\(.*\)>.*/\1/p' "$file" | head -1)
    qid=${text##* }
    echo
    echo "== $name"
    echo "   SMTP answer: $code $text"
    case "$code" in
    250)
        if grep -q "\"queue_id\": \"$qid\"" "$T/queue.json" && grep "\"queue_id\": \"$qid\"" "$T/queue.json" | grep -q '"queue_name": "hold"'; then
            echo "   -> HELD in Postfix's hold queue (quarantine; postqueue -p shows $qid!), headers:"
            postcat -c "$T/pf/etc" -hq "$qid" >"$T/held" 2>/dev/null
            show_headers "$T/held"
        else
            f=$(sink_find "$T/sink" "$msgid")
            if [ -n "$f" ]; then
                if grep -q "^X-ITIP-" "$f"; then
                    echo "   -> DELIVERED with:"
                    show_headers "$f"
                else
                    echo "   -> DELIVERED untouched (no calendar part: no header)"
                fi
            else
                echo "   -> accepted, not (yet) delivered"
            fi
        fi
        ;;
    5*) echo "   -> REJECTED by the milter" ;;
    4*) echo "   -> DEFERRED (temporary failure)" ;;
    esac
done <"$T/sent"

echo
echo "== the milter's log (one line per message):"
grep "qid=" "$T/milter.log" | sed 's/^/   /'
echo
echo "== tearing down (Postfix, smtp-sink, itip-milter, $T)"
