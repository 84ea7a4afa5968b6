#!/bin/sh
# setup.sh - the project's two set-up commands (see README):
#   ./setup.sh demo   install build dependencies and Postfix, build, then run itip-milter with
#                     the sample configuration in front of a throw-away loopback Postfix, send
#                     the sample messages through it and show what happened to each
#   ./setup.sh test   install build and test dependencies, build, run every test: the suite
#                     normally (-Werror), again under AddressSanitizer + UBSan, make distcheck,
#                     and the Debian package: built from the release tarball in build/deb/,
#                     installed, run and purged by t/debian-package.sh
# Must run as root on Debian 12 (apt-get).  Builds out of tree under ./build/.
# Sendmail for t/sendmail.sh is not installed (sendmail-bin conflicts with postfix): its
# packages are unpacked into $SENDMAIL_DIR.
set -eu
cd "$(dirname "$0")"
TOP=$(pwd)
MODE=${1:-}
JOBS=$(nproc 2>/dev/null || echo 2)

BUILD_PKGS="build-essential autoconf automake libtool pkg-config libmilter-dev libical-dev libconfig-dev liblmdb-dev libhiredis-dev libmicrohttpd-dev"
TEST_PKGS="python3 redis-server redis-sentinel"
# Prometheus for t/metrics-prometheus.sh (the binary is run directly, never the service)
TEST_PKGS="$TEST_PKGS prometheus"
# the milter tests: miltertest (Lua), a private Postfix, and what the unpacked Sendmail needs
TEST_PKGS="$TEST_PKGS miltertest postfix m4 libwrap0 liblockfile1 libdb5.3 libldap-2.5-0 libsasl2-2 libnsl2 libssl3"
# valgrind for t/postfix-valgrind.sh; clang and its libFuzzer runtime for make fuzz
TEST_PKGS="$TEST_PKGS valgrind clang libclang-rt-14-dev"
# the Debian package (debian/): dpkg-buildpackage, dh, lintian for t/debian-package.sh
TEST_PKGS="$TEST_PKGS dpkg-dev debhelper lintian"
# headless chromium renders the HTML digest of itip-quarantine in t/digest.sh
TEST_PKGS="$TEST_PKGS chromium"
DEMO_PKGS="python3 postfix"
SENDMAIL_DIR=/opt/itip-test/sendmail

install_packages() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup.sh: run as root (it installs Debian packages with apt-get)" >&2
        exit 2
    fi
    export DEBIAN_FRONTEND=noninteractive
    # postfix asks what kind of mail system this is: a local one, it never listens outside
    echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Sendmail next to Postfix, for t/sendmail.sh: download the Debian packages and unpack them
# into $SENDMAIL_DIR (never installed; the test runs the binary from there).
unpack_sendmail() {
    [ -x "$SENDMAIL_DIR/usr/libexec/sendmail/sendmail" ] && return 0
    dl=$(mktemp -d)
    chown _apt "$dl" 2>/dev/null || true     # apt's download sandbox user writes here
    (cd "$dl" && apt-get download -qq sendmail-bin sendmail-base sendmail-cf) || {
        rm -rf "$dl"
        return 1
    }
    mkdir -p "$SENDMAIL_DIR"
    for deb in "$dl"/*.deb; do
        dpkg -x "$deb" "$SENDMAIL_DIR"
    done
    rm -rf "$dl"
}

configure_in() { # configure_in DIR [configure options...]
    dir=$1; shift
    mkdir -p "$dir"
    (cd "$dir" && "$TOP/configure" -q "$@")
}

# The Debian package, built the way a release is: make dist in build/normal, the tarball
# unpacked in build/deb/ (the build dirs and generated files of this tree stay out of it),
# dpkg-buildpackage -us -uc -b there; the .deb files land in build/deb/.  Prints the path of
# the itip-milter .deb; the build's output is in build/deb/build.log.
build_deb() {
    rm -rf build/deb
    mkdir -p build/deb
    make -C build/normal dist-gzip >build/deb/dist.log 2>&1 || return 1
    set -- build/normal/itip-milter-*.tar.gz
    tarball=$1
    tar -xzf "$tarball" -C build/deb && rm -f "$tarball" || return 1
    (cd build/deb/itip-milter-* && dpkg-buildpackage -us -uc -b -j"$JOBS") >build/deb/build.log 2>&1 ||
        return 1
    ls "$TOP"/build/deb/itip-milter_*.deb
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

# The counts of a TAP stream in the "# PASS: n" form of test-suite.log; a stream without a
# plan (the script died) counts one failure.
tap_counts() {
    awk '/^ok / { p++ } /^not ok / { f++ } /^1\.\.0 # SKIP/ { s++ } /^1\.\.[0-9]/ { plan = 1 }
         END { if (!plan) f++; printf "# PASS: %d\n# FAIL: %d\n# SKIP: %d\n", p, f, s }' "$1"
}

case "$MODE" in
demo)
    # shellcheck disable=SC2086
    install_packages $BUILD_PKGS $DEMO_PKGS
    bootstrap
    configure_in build/normal
    make -C build/normal -j"$JOBS" >/dev/null
    echo "== the sample messages (samples/README says what each one is) through itip-milter =="
    sh t/lib/demo.sh "$TOP" "$TOP/build/normal"
    ;;
test)
    # shellcheck disable=SC2086
    install_packages $BUILD_PKGS $TEST_PKGS
    unpack_sendmail || echo "setup.sh: could not unpack Sendmail: t/sendmail.sh will skip" >&2
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
    echo "== make fuzz-run (libFuzzer harnesses, 60 s each) =="
    fuzz=0
    rm -f build/normal/fuzz.log
    if make -C build/normal fuzz >build/normal/fuzz-build.log 2>&1; then
        make -C build/normal fuzz-run FUZZ_SECONDS=60 2>&1 | tee build/normal/fuzz.log
    else
        tail -20 build/normal/fuzz-build.log
    fi
    grep '^fuzz: [0-9]* harnesses' build/normal/fuzz.log 2>/dev/null | grep -q ' 0 crashed' ||
        { fuzz=1; rc=1; }
    echo "== make check-load (20000 messages through Postfix, SIGKILL, store failure) =="
    make -C build/normal check-load 2>&1 | tee build/normal/load.tap
    tap_counts build/normal/load.tap >build/normal/load.log
    grep -q '^# FAIL: 0$' build/normal/load.log || rc=1
    distcheck=0
    make -C build/normal -j"$JOBS" distcheck >/dev/null || { echo "== make distcheck failed"; distcheck=1; rc=1; }
    echo "== the Debian package: dpkg-buildpackage in build/deb/, then t/debian-package.sh =="
    if deb=$(build_deb); then
        top_srcdir="$TOP" PYTHON3=python3 sh t/debian-package.sh "$deb" >build/deb/debian-package.tap 2>&1 ||
            true                                  # counted below from its TAP
    else
        tail -30 build/deb/dist.log build/deb/build.log 2>/dev/null || true
        printf 'not ok 1 - the package build (build/deb/build.log)\n1..1\n' >build/deb/debian-package.tap
    fi
    cat build/deb/debian-package.tap
    tap_counts build/deb/debian-package.tap >build/deb/debian-package.log
    grep -q '^# FAIL: 0$' build/deb/debian-package.log || rc=1
    echo "== normal build:    $(summary build/normal/test-suite.log)"
    echo "== sanitizer build: $(summary build/sanitize/test-suite.log)"
    echo "== check-load:      $(summary build/normal/load.log)"
    echo "== Debian package:  $(summary build/deb/debian-package.log)"
    echo "== fuzzing:         $(grep '^fuzz: [0-9]* harnesses' build/normal/fuzz.log 2>/dev/null || echo 'FAILED (see above)')"
    echo "== make distcheck:  $([ $distcheck -eq 0 ] && echo passed || echo FAILED)"
    EXTRA_FAILURES=$((distcheck + fuzz)) summary build/normal/test-suite.log build/sanitize/test-suite.log \
        build/normal/load.log build/deb/debian-package.log
    exit $rc
    ;;
*)
    echo "usage: ./setup.sh demo|test" >&2
    exit 2
    ;;
esac
