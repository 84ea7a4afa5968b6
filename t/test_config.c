/*
 * test_config.c - the configuration loader: defaults, every setting type, and the exact
 * "FILE:LINE: message" text of each kind of error.
 */
#include "ac-config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/config.h"
#include "tap.h"

static char path[256];

static void write_conf(const char *text)
{
    FILE *fp = fopen(path, "w");

    if (fp == NULL) {
        perror(path);
        exit(1);
    }
    fputs(text, fp);
    fclose(fp);
}

/* Loads TEXT; returns the snapshot (or NULL) and leaves the error in err. */
static itip_config *load(const char *text, char *err, size_t len)
{
    write_conf(text);
    return itip_config_load(path, err, len);
}

static void expect_error(const char *text, int line, const char *message)
{
    char err[1024], want[1024];
    itip_config *cfg = load(text, err, sizeof err);

    snprintf(want, sizeof want, "%s:%d: %s", path, line, message);
    ok(cfg == NULL, "rejected: %s", message);
    is_str(err, want, "error text: %s", message);
    itip_config_free(cfg);
}

static void test_defaults(void)
{
    itip_config *cfg = itip_config_default();

    is_int(cfg->clock_skew_tolerance, 300, "clock_skew_tolerance defaults to 300");
    is_int(cfg->date_header_skew, 900, "date_header_skew defaults to 900");
    is_int(cfg->limits.max_calendar_part_size, 1024 * 1024, "max_calendar_part_size 1 MiB");
    is_int(cfg->n_legacy_cdo_domains, 0, "legacy_cdo_domains empty");
    ok(cfg->rules[ITIP_R_ICAL_METHOD_MISSING].enabled, "rules enabled by default");
    is_int(cfg->rules[ITIP_R_ICAL_METHOD_MISSING].severity, ITIP_SEV_NONE,
           "no severity override by default");
    ok(!itip_config_is_legacy_domain(cfg, "example.com"), "no legacy domain by default");
    itip_config_free(cfg);
}

static void test_valid(void)
{
    char err[1024];
    itip_config *cfg;

    cfg = load("clock_skew_tolerance = 120;\n", err, sizeof err);
    ok(cfg != NULL, "a file with one setting is valid");
    if (cfg) {
        is_int(cfg->clock_skew_tolerance, 120, "the setting is read");
        is_int(cfg->limits.max_mime_depth, 32, "others keep their default");
        is_str(cfg->file, path, "the snapshot remembers its file");
    }
    itip_config_free(cfg);

    cfg = load("legacy_cdo_domains = [ \"Legacy.Example\", \"old.example.net\" ];\n"
               "rules = {\n"
               "  reply-partstat-unmappable = { severity = \"info\"; };\n"
               "  ical-method-missing = { enabled = false; };\n"
               "};\n"
               "max_calendar_part_size = 2097152;\n", err, sizeof err);
    ok(cfg != NULL, "lists, rules and limits load");
    if (cfg == NULL) {
        diag("%s", err);
        return;
    }
    ok(itip_config_is_legacy_domain(cfg, "legacy.example"), "domains compare case-insensitively");
    ok(itip_config_is_legacy_domain(cfg, "OLD.example.net"), "second domain listed");
    ok(!itip_config_is_legacy_domain(cfg, "example.org"), "unlisted domain is not legacy");
    is_int(cfg->rules[ITIP_R_REPLY_PARTSTAT_UNMAPPABLE].severity, ITIP_SEV_INFO,
           "rule severity override read");
    ok(!cfg->rules[ITIP_R_ICAL_METHOD_MISSING].enabled, "rule disabled");
    is_int(cfg->limits.max_calendar_part_size, 2097152, "limit read");
    itip_config_free(cfg);

    cfg = load("legacy_cdo_domains = ( \"*\" );\n", err, sizeof err);
    ok(cfg != NULL && itip_config_is_legacy_domain(cfg, "anything.example"),
       "\"*\" makes every domain legacy (list syntax accepted)");
    itip_config_free(cfg);

    cfg = load("actions = { would-fail = \"reject\"; info = \"tag\"; };\n"
               "rules = { ical-parse-errors = { action = \"tempfail\"; }; };\n"
               "socket = \"inet:8899@127.0.0.1\";\nsocket_mode = \"0600\";\n"
               "dry_run = true;\nheader_prefix = \"X-Cal\";\n", err, sizeof err);
    ok(cfg != NULL, "milter settings load");
    if (cfg != NULL) {
        is_int(cfg->actions[ITIP_SEV_WOULD_FAIL], ITIP_ACT_REJECT, "actions.would-fail read");
        is_int(cfg->actions[ITIP_SEV_DEGRADE], ITIP_ACT_TAG, "actions.degrade keeps its default");
        is_int(itip_config_action(cfg, ITIP_R_ICAL_PARSE_ERRORS, ITIP_SEV_WOULD_FAIL),
               ITIP_ACT_TEMPFAIL, "a rule's own action wins over its severity's");
        is_int(itip_config_action(cfg, ITIP_R_ICAL_METHOD_MISSING, ITIP_SEV_INFO), ITIP_ACT_TAG,
               "other rules follow their severity's action");
        is_str(cfg->socket, "inet:8899@127.0.0.1", "socket read");
        is_int(cfg->socket_mode, 0600, "socket_mode is octal");
        ok(cfg->dry_run, "dry_run read");
        is_str(cfg->header_prefix, "X-Cal", "header_prefix read");
    }
    itip_config_free(cfg);
    cfg = itip_config_default();
    is_int(cfg->actions[ITIP_SEV_WOULD_FAIL], ITIP_ACT_QUARANTINE, "would-fail defaults to quarantine");
    is_int(cfg->actions[ITIP_SEV_DEGRADE], ITIP_ACT_TAG, "degrade defaults to tag");
    is_int(cfg->actions[ITIP_SEV_INFO], ITIP_ACT_LOG, "info defaults to log");
    is_int(cfg->on_internal_error, ITIP_ACT_LOG, "internal errors default to accept and log");
    is_str(cfg->header_prefix, "X-ITIP", "header_prefix defaults to X-ITIP");
    is_int(cfg->socket_mode, 0660, "socket_mode defaults to 0660");
    is_str(cfg->state.backend, "none", "state.backend defaults to none");
    is_str(cfg->state.path, "/var/lib/itip-milter/state", "state.path default");
    is_int(cfg->state.ttl, 2592000, "state.ttl defaults to 30 days");
    itip_config_free(cfg);

    cfg = load("state = {\n  backend = \"redis\";\n  host = \"10.0.0.5\";\n  port = 6380;\n"
               "  password = \"s3cret\";\n  database = 2;\n  timeout = 250;\n  ttl = 3600;\n};\n"
               "rules = { reply-sequence-stale = { action = \"repair\"; }; };\n", err, sizeof err);
    ok(cfg != NULL, "state group loads");
    if (cfg != NULL) {
        is_str(cfg->state.backend, "redis", "state.backend read");
        is_str(cfg->state.host, "10.0.0.5", "state.host read");
        is_int(cfg->state.port, 6380, "state.port read");
        is_str(cfg->state.password, "s3cret", "state.password read");
        is_int(cfg->state.database, 2, "state.database read");
        is_int(cfg->state.timeout, 250, "state.timeout read");
        is_int(cfg->state.connect_timeout, 500, "state.connect_timeout keeps its default");
        is_int(cfg->state.ttl, 3600, "state.ttl read");
        is_int(itip_config_action(cfg, ITIP_R_REPLY_SEQUENCE_STALE, ITIP_SEV_DEGRADE),
               ITIP_ACT_REPAIR, "action \"repair\" is read");
    }
    itip_config_free(cfg);

    cfg = load("state = {\n  backend = \"redis\";\n  sentinels = [ \"10.0.0.1:26379\", "
               "\"[2001:db8::2]:26380\" ];\n  master = \"itip\";\n"
               "  sentinel_password = \"s-pw\";\n  password = \"m-pw\";\n};\n", err, sizeof err);
    ok(cfg != NULL, "state group with sentinels loads (%s)", err);
    if (cfg != NULL) {
        is_int((long)cfg->state.n_sentinels, 2, "state.sentinels: two entries");
        is_str(cfg->state.sentinels[0], "10.0.0.1:26379", "state.sentinels[0] read");
        is_str(cfg->state.sentinels[1], "[2001:db8::2]:26380", "state.sentinels[1] read");
        is_str(cfg->state.master, "itip", "state.master read");
        is_str(cfg->state.sentinel_password, "s-pw", "state.sentinel_password read");
        is_str(cfg->state.password, "m-pw", "state.password (the master's) read beside them");
    }
    itip_config_free(cfg);
    {
        char host[64];
        long port = 0;
        ok(itip_hostport_parse("[::1]:26379", host, sizeof host, &port) == 0 &&
           strcmp(host, "::1") == 0 && port == 26379, "host:port: [::1]:26379 splits");
        ok(itip_hostport_parse("sentinel-a.example:1", host, sizeof host, &port) == 0 &&
           strcmp(host, "sentinel-a.example") == 0 && port == 1, "host:port: a name");
        ok(itip_hostport_parse("::1:26379", host, sizeof host, &port) < 0,
           "host:port: a bare IPv6 address is refused");
        ok(itip_hostport_parse("h:+5", host, sizeof host, &port) < 0 &&
           itip_hostport_parse(":5", host, sizeof host, &port) < 0 &&
           itip_hostport_parse("h:65536", host, sizeof host, &port) < 0 &&
           itip_hostport_parse("h", host, sizeof host, &port) < 0,
           "host:port: no sign, no empty host, port at most 65535, a port required");
    }

    cfg = load("# only a comment\n", err, sizeof err);
    ok(cfg != NULL, "an empty file is valid");
    itip_config_free(cfg);
}

static void test_errors(void)
{
    char err[1024], want[1024];
    itip_config *cfg;

    expect_error("clock_skew_tolerance = 300;\nno_such_setting = 1;\n", 2,
                 "unknown setting 'no_such_setting'");
    expect_error("\n\nclock_skew_tolerance = \"300\";\n", 3,
                 "setting 'clock_skew_tolerance' must be an integer");
    expect_error("max_mime_depth = 0;\n", 1,
                 "setting 'max_mime_depth' must be between 1 and 1000 (got 0)");
    expect_error("legacy_cdo_domains = \"example.com\";\n", 1,
                 "setting 'legacy_cdo_domains' must be a list of strings");
    expect_error("legacy_cdo_domains = [ 1, 2 ];\n", 1,
                 "setting 'legacy_cdo_domains' must be a list of strings");
    expect_error("legacy_cdo_domains = [ \"user@example.com\" ];\n", 1,
                 "'user@example.com' in 'legacy_cdo_domains' is not a domain name (or \"*\")");
    expect_error("rules = {\n  no-such-rule = { enabled = false; };\n};\n", 2,
                 "unknown rule 'no-such-rule' in 'rules'");
    expect_error("rules = {\n  ical-method-missing = { severity = \"fatal\"; };\n};\n", 2,
                 "rules.ical-method-missing.severity must be \"info\", \"degrade\" or "
                 "\"would-fail\"");
    expect_error("rules = {\n  ical-method-missing = {\n    enabled = 1;\n  };\n};\n", 3,
                 "rules.ical-method-missing.enabled must be true or false");
    expect_error("rules = {\n  ical-method-missing = { colour = \"red\"; };\n};\n", 2,
                 "unknown setting 'colour' in rules.ical-method-missing (known: enabled, "
                 "severity, action, notify)");
    expect_error("rules = 5;\n", 1, "setting 'rules' must be a group");
    expect_error("socket_mode = \"0999\";\n", 1,
                 "setting 'socket_mode' must be an octal mode string such as \"0660\"");
    expect_error("actions = {\n  fatal = \"log\";\n};\n", 2,
                 "unknown severity 'fatal' in 'actions' (known: info, degrade, would-fail)");
    expect_error("actions = { degrade = \"bounce\"; };\n", 1,
                 "actions.degrade must be one of \"log\", \"tag\", \"repair\", "
                 "\"quarantine\", \"tempfail\", \"reject\"");
    expect_error("rules = { ical-parse-errors = { action = 5; }; };\n", 1,
                 "rules.ical-parse-errors.action must be one of \"log\", \"tag\", "
                 "\"repair\", \"quarantine\", \"tempfail\", \"reject\"");
    expect_error("state = { backend = \"bdb\"; };\n", 1,
                 "setting 'state.backend' must be one of \"none\", \"lmdb\", \"redis\" "
                 "(got \"bdb\")");
    expect_error("state = {\n  colour = 1;\n};\n", 2, "unknown setting 'colour' in 'state'");
    expect_error("state = {\n  ttl = 1;\n};\n", 2,
                 "setting 'state.ttl' must be between 60 and 316224000 (got 1)");
    expect_error("state = 1;\n", 1, "setting 'state' must be a group");
    expect_error("state = {\n  backend = \"redis\";\n  sentinels = [ \"127.0.0.1:26379\" ];\n};\n",
                 3, "setting 'state.sentinels' needs 'state.master', the name the sentinels "
                 "know the master by");
    expect_error("state = {\n  backend = \"redis\";\n  master = \"m\";\n};\n", 3,
                 "setting 'state.master' needs 'state.sentinels' to ask for it");
    expect_error("state = {\n  backend = \"redis\";\n  sentinels = [\n    \"127.0.0.1:26379\",\n"
                 "    \"127.0.0.1\"\n  ];\n  master = \"m\";\n};\n", 3,
                 "entry 2 of 'state.sentinels', '127.0.0.1', is not \"host:port\" (a port 1 to "
                 "65535; an IPv6 address in brackets)");
    expect_error("state = {\n  backend = \"redis\";\n  sentinels = [ \"h:70000\" ];\n"
                 "  master = \"m\";\n};\n", 3,
                 "entry 1 of 'state.sentinels', 'h:70000', is not \"host:port\" (a port 1 to "
                 "65535; an IPv6 address in brackets)");
    expect_error("state = {\n  backend = \"redis\";\n  sentinels = [ ];\n  master = \"m\";\n"
                 "};\n", 3, "setting 'state.sentinels' must list 1 to 16 sentinels (got 0)");
    expect_error("state = {\n  backend = \"redis\";\n  sentinels = \"h:1\";\n};\n", 3,
                 "setting 'state.sentinels' must be a list of \"host:port\" strings");
    expect_error("state = {\n  backend = \"redis\";\n  host = \"10.0.0.5\";\n"
                 "  sentinels = [ \"h:1\" ];\n  master = \"m\";\n};\n", 3,
                 "setting 'state.host' and 'state.sentinels' exclude each other: with "
                 "sentinels the master's address comes from them");
    expect_error("state = {\n  backend = \"redis\";\n  sentinels = [ \"h:1\" ];\n"
                 "  master = \"m\";\n  socket = \"/run/redis.sock\";\n};\n", 5,
                 "setting 'state.socket' and 'state.sentinels' exclude each other: with "
                 "sentinels the master's address comes from them");
    expect_error("state = {\n  backend = \"lmdb\";\n  sentinels = [ \"h:1\" ];\n"
                 "  master = \"m\";\n};\n", 3,
                 "setting 'state.sentinels' is for state.backend \"redis\" (got \"lmdb\")");
    expect_error("state = {\n  backend = \"redis\";\n  sentinel_password = \"x\";\n};\n", 3,
                 "setting 'state.sentinel_password' needs 'state.sentinels'");
    expect_error("dry_run = \"yes\";\n", 1, "setting 'dry_run' must be true or false");
    expect_error("header_prefix = \"\";\n", 1, "setting 'header_prefix' must not be empty");
    expect_error("clock_skew_tolerance = 300\nmax_parts = ;\n", 2, "syntax error");

    cfg = itip_config_load("/nonexistent/itip.conf", err, sizeof err);
    snprintf(want, sizeof want, "/nonexistent/itip.conf: cannot read: No such file or directory");
    ok(cfg == NULL, "a missing file is an error");
    is_str(err, want, "missing file message");
}

/* authserv_id and alias_domains (issue 16): forms, lookups, errors with FILE:LINE. */
static void test_envelope_settings(void)
{
    char err[1024];
    itip_config *cfg = load("authserv_id = \"mx.example.com\";\n"
                            "alias_domains = ( [ \"Example.com\", \"example.net\" ],\n"
                            "                  [ \"a.example\", \"b.example\", \"c.example\" ] );\n",
                            err, sizeof err);

    if (!ok(cfg != NULL, "authserv_id string and alias_domains sets load"))
        diag("%s", err);
    if (cfg != NULL) {
        ok(itip_config_trusts_authserv(cfg, "MX.example.com"), "authserv_id: case-insensitive");
        ok(!itip_config_trusts_authserv(cfg, "mx.attacker.example"), "another id is not trusted");
        ok(itip_config_same_domain(cfg, "example.NET", "example.com"), "one set: same");
        ok(itip_config_same_domain(cfg, "c.example", "a.example"), "three-domain set: same");
        ok(!itip_config_same_domain(cfg, "example.com", "a.example"), "two sets: not the same");
        ok(itip_config_same_domain(cfg, "x.example", "X.Example"), "equal names: same");
        ok(!itip_config_same_domain(cfg, "x.example", "y.example"), "unlisted: not the same");
    }
    itip_config_free(cfg);
    cfg = load("authserv_id = [ \"a.example\", \"b.example\" ];\n", err, sizeof err);
    ok(cfg != NULL && cfg->n_authserv_ids == 2 && itip_config_trusts_authserv(cfg, "b.example"),
       "authserv_id as a list");
    itip_config_free(cfg);
    cfg = itip_config_default();
    ok(cfg != NULL && !itip_config_trusts_authserv(cfg, "mx.example.com") &&
       !itip_config_same_domain(cfg, "a.example", "b.example"), "defaults: nothing trusted, no aliases");
    itip_config_free(cfg);
    expect_error("\nauthserv_id = \"two words\";\n", 2,
                 "'authserv_id' must be an authserv-id (one word)");
    expect_error("authserv_id = 5;\n", 1,
                 "setting 'authserv_id' must be a string or a list of strings");
    expect_error("alias_domains = [ \"example.com\" ];\n", 1,
                 "setting 'alias_domains' must be a list of lists of domain names, e.g. "
                 "( [ \"example.com\", \"example.net\" ] )");
    expect_error("alias_domains = ( [ \"example.com\" ] );\n", 1,
                 "each set in 'alias_domains' needs at least two domains");
    expect_error("alias_domains = (\n [ \"example.com\", \"u@example.net\" ] );\n", 2,
                 "'u@example.net' in 'alias_domains' is not a domain name");
}

int main(void)
{
    snprintf(path, sizeof path, "/tmp/itip-test-config.%ld.conf", (long)getpid());
    test_defaults();
    test_valid();
    test_errors();
    test_envelope_settings();
    unlink(path);
    return done_testing();
}
