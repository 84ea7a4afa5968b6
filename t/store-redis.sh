#!/bin/sh
# store-redis.sh - the Redis backend of the store against redis-server instances that
# t/test_store --redis starts itself on loopback (TCP, TCP with a password, a unix socket),
# each with a private configuration and no persistence.  Skips loudly without redis-server.
. "$top_srcdir/t/lib/tap.sh"
command -v redis-server >/dev/null 2>&1 || skip_all "redis-server not installed"
exec "$top_builddir/t/test_store" --redis
