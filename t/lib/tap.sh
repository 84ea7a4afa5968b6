# tap.sh - shell helpers for the TAP tests of itip-milter (sourced, not run).
#
#   ok STATUS NAME       prints "ok N - NAME" when STATUS is 0, else "not ok N - NAME"
#   skip_all REASON      prints "1..0 # SKIP REASON" and exits 0: loud, never a silent pass
#   done_testing         prints the plan; exit status 0 only when every test passed
#   wait_for SECS CMD..  runs CMD until it succeeds, at most SECS seconds (0.1 s steps);
#                        returns CMD's last status - every wait in the tests is bounded
#   free_port            prints a TCP port on 127.0.0.1 nobody listens on (python3)
#   bg_start VAR CMD..   starts CMD in the background, stores its pid in VAR and in
#                        $BG_PIDS so that bg_cleanup (in the EXIT trap) can end it
#   bg_stop PID          SIGTERM, then SIGKILL after 10 s; waits for it
n=0
failed=0
BG_PIDS=""

ok() {
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2"
        failed=$((failed + 1))
    fi
}

skip_all() {
    echo "1..0 # SKIP $*"
    exit 0
}

done_testing() {
    echo "1..$n"
    [ "$failed" -eq 0 ]
}

wait_for() {
    _wf_tries=$(($1 * 10))
    shift
    while :; do
        "$@" && return 0
        _wf_tries=$((_wf_tries - 1))
        [ "$_wf_tries" -gt 0 ] || { "$@"; return $?; }
        sleep 0.1
    done
}

free_port() {
    "${PYTHON3:-python3}" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

bg_start() {
    _bg_var=$1
    shift
    "$@" &
    eval "$_bg_var=\$!"
    BG_PIDS="$BG_PIDS $!"
}

bg_stop() {
    kill -TERM "$1" 2>/dev/null || return 0
    _bs_tries=100
    while kill -0 "$1" 2>/dev/null && [ $_bs_tries -gt 0 ]; do
        sleep 0.1
        _bs_tries=$((_bs_tries - 1))
    done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}

bg_cleanup() {
    for _p in $BG_PIDS; do
        bg_stop "$_p"
    done
}
