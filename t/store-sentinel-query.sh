#!/bin/sh
# store-sentinel-query.sh - the Redis backend of the store through Redis Sentinel, at the C
# level: t/test_store --sentinel starts a redis-server master, its replica and a
# redis-sentinel on loopback (private configurations, passwords on both sides, no
# persistence) and checks how the store asks the sentinels, follows a failover and refuses a
# server that is no longer a master.  Skips loudly without redis-server or redis-sentinel.
. "$top_srcdir/t/lib/tap.sh"
command -v redis-server >/dev/null 2>&1 || skip_all "redis-server not installed (Debian package redis-server)"
command -v redis-sentinel >/dev/null 2>&1 || skip_all "redis-sentinel not installed (Debian package redis-sentinel)"
exec "$top_builddir/t/test_store" --sentinel
