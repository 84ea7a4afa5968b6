# sink.sh - the next hop of the end-to-end tests and the demo: Postfix's smtp-sink writing
# one file per delivered message (sourced, not run).  Requires t/lib/tap.sh.
#
#   sink_start DIR PORT [ADDR]  smtp-sink on ADDR:PORT (default 127.0.0.1) dumping into DIR
#                            (pid in SINK_PID); it refuses to run as root: it runs as postfix
#   sink_count DIR           number of messages received so far
#   sink_find DIR MSGID      the file holding the message with this Message-ID, or nothing
#   sink_body FILE           the message body as delivered: smtp-sink ends every dump with
#                            one extra newline, checked and dropped here
# shellcheck disable=SC2034  # set by bg_start (eval)
SINK_PID=""

sink_start() {
    mkdir -p "$1"
    chown postfix "$1"
    bg_start SINK_PID smtp-sink -u postfix -d "$1/%Y%m%d%H/%M." "${3:-127.0.0.1}:$2" 100
}

sink_count() { find "$1" -type f | wc -l; }

sink_find() { grep -rl "^Message-ID: <$2>" "$1" 2>/dev/null | head -1; }

sink_body() {
    [ "$(tail -c 2 "$1" | od -An -c | tr -d ' ')" = '\n\n' ] || return 1
    sed '1,/^$/d' "$1" | head -c -1
}
