#!/bin/sh
# postfix-valgrind.sh - t/postfix.sh with the milter under valgrind memcheck.
#
# The whole Postfix end-to-end scenario (held, delivered, rejected, deferred messages, a
# reload, both socket kinds) with itip-milter run by valgrind --leak-check=full; every
# valgrind log must report zero errors and zero definitely lost bytes.  Latency bounds are
# skipped.  Skips (loudly) in the sanitizer build, where valgrind cannot run the ASan binary,
# and where valgrind is not installed.  TAP output.
: "${top_srcdir:?}"
ITIP_VALGRIND=1
export ITIP_VALGRIND
exec sh "$top_srcdir/t/postfix.sh"
