#!/bin/sh
# setup.sh - the project's two set-up commands (see README):
#   ./setup.sh demo   install build dependencies, build, run the main job on the shipped samples
#   ./setup.sh test   install build and test dependencies, build, run every test: the suite
#                     normally (-Werror), again under AddressSanitizer + UBSan, and make distcheck
# Must run as root on Debian 12 (apt-get).  Builds out of tree under ./build/.
set -eu
cd "$(dirname "$0")"
TOP=$(pwd)
MODE=${1:-}
JOBS=$(nproc 2>/dev/null || echo 2)

BUILD_PKGS="build-essential autoconf automake libtool pkg-config libmilter-dev libical-dev libconfig-dev"
TEST_PKGS="python3"

install_packages() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup.sh: run as root (it installs Debian packages with apt-get)" >&2
        exit 2
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

configure_in() { # configure_in DIR [configure options...]
    dir=$1; shift
    mkdir -p "$dir"
    (cd "$dir" && "$TOP/configure" -q "$@")
}

bootstrap() {
    autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
}

# Sums the TAP results of the test-suite.log files given; a missing log (a build that never got
# to its tests) counts as one failure.
summary() {
    missing=${EXTRA_FAILURES:-0}
    for log in "$@"; do [ -f "$log" ] || missing=$((missing + 1)); done
    for log in "$@"; do [ -f "$log" ] && cat "$log"; done |
    awk -v missing="$missing" '
        /^# (PASS|XPASS):/ { p += $3 } /^# (FAIL|XFAIL|ERROR):/ { f += $3 } /^# SKIP:/ { s += $3 }
        END { printf "%d passed, %d failed, %d skipped\n", p, f + missing, s }'
}

case "$MODE" in
demo)
    # shellcheck disable=SC2086
    install_packages $BUILD_PKGS
    bootstrap
    configure_in build/normal
    make -C build/normal -j"$JOBS" >/dev/null
    echo "== itip-check on the sample messages (samples/README says what each one is) =="
    echo "== configuration: samples/demo.conf (legacy.example is an Exchange 2003 organizer) =="
    status=0
    build/normal/itip-check -c samples/demo.conf samples/*.eml || status=$?
    echo "== itip-check exit status: $status (0 clean, 1 findings of degrade or worse, 2 error) =="
    [ "$status" -le 1 ]
    ;;
test)
    # shellcheck disable=SC2086
    install_packages $BUILD_PKGS $TEST_PKGS
    bootstrap
    rc=0
    configure_in build/normal --enable-werror
    make -C build/normal -j"$JOBS"
    make -C build/normal -j"$JOBS" check || rc=1
    configure_in build/sanitize --enable-werror --enable-sanitizers
    make -C build/sanitize -j"$JOBS"
    make -C build/sanitize -j"$JOBS" check || rc=1
    for d in build/normal build/sanitize; do
        [ $rc -eq 0 ] || { echo "== failures in $d =="; grep -h -B2 -A30 '^not ok\|^# FAIL\|ERROR' "$d"/t/*.log 2>/dev/null | head -200 || true; }
    done
    distcheck=0
    make -C build/normal -j"$JOBS" distcheck >/dev/null || { echo "== make distcheck failed"; distcheck=1; rc=1; }
    echo "== normal build:    $(summary build/normal/test-suite.log)"
    echo "== sanitizer build: $(summary build/sanitize/test-suite.log)"
    echo "== make distcheck:  $([ $distcheck -eq 0 ] && echo passed || echo FAILED)"
    EXTRA_FAILURES=$distcheck summary build/normal/test-suite.log build/sanitize/test-suite.log
    exit $rc
    ;;
*)
    echo "usage: ./setup.sh demo|test" >&2
    exit 2
    ;;
esac
