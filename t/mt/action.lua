-- action.lua - the would-fail sample under the action the shell configured (-D expect=...):
-- log, tag, quarantine, reject, tempfail, dryrun (reject under dry_run), prefix (header_prefix
-- "X-Cal").  The shell switches configurations with SIGUSR1 between runs.
local t = dofile(srcdir .. "/t/mt/lib.lua")
local RULE = "mime-method-param-mismatch"
local UID = "quarterly-planning-2026-06@example.com"

local function result(conn, name) return t.header(conn, name or "X-ITIP-Result") end

local expectations = {
    log = function(conn, r)
        t.check(r == SMFIR_CONTINUE, "log: continue")
        t.check(result(conn) == "log (would-fail: " .. RULE .. ") method=CANCEL uid=" .. UID,
                "log: X-ITIP-Result: log (...)")
        t.check(not mt.eom_check(conn, MT_HDRINSERT, "X-ITIP-Finding") and
                not mt.eom_check(conn, MT_QUARANTINE), "log: no finding headers, no quarantine")
    end,
    tag = function(conn, r)
        t.check(r == SMFIR_CONTINUE, "tag: continue")
        t.check(t.starts(result(conn), "tag (would-fail: " .. RULE .. ") method=CANCEL"),
                "tag: X-ITIP-Result: tag (...)")
        t.check(mt.eom_check(conn, MT_HDRINSERT, "X-ITIP-Finding") and
                not mt.eom_check(conn, MT_QUARANTINE), "tag: finding headers, no quarantine")
    end,
    quarantine = function(conn, r)
        t.check(r == SMFIR_CONTINUE and mt.eom_check(conn, MT_QUARANTINE),
                "quarantine: continue + quarantine")
    end,
    reject = function(conn, r)
        t.check(r == SMFIR_REPLYCODE, "reject: a reply code")
        t.check(mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1",
                             "calendar message refused by itip-milter (would-fail): " .. RULE),
                "reject: 550 5.7.1 naming the rule")
        t.check(not mt.eom_check(conn, MT_HDRINSERT) and not mt.eom_check(conn, MT_QUARANTINE),
                "reject: no header, no quarantine")
    end,
    tempfail = function(conn, r)
        t.check(r == SMFIR_REPLYCODE and
                mt.eom_check(conn, MT_SMTPREPLY, "451", "4.7.1",
                             "calendar message deferred by itip-milter (would-fail): " .. RULE),
                "tempfail: 451 4.7.1 naming the rule")
    end,
    dryrun = function(conn, r)
        t.check(r == SMFIR_CONTINUE and not mt.eom_check(conn, MT_QUARANTINE),
                "dry_run: reject configured, mail accepted")
        t.check(result(conn) == "tag (would-fail: " .. RULE .. ") method=CANCEL uid=" .. UID ..
                " dry-run=reject", "dry_run: tagged, the header says what would have been done")
    end,
    prefix = function(conn, r)
        t.check(r == SMFIR_CONTINUE and t.starts(result(conn, "X-Cal-Result"), "quarantine ("),
                "header_prefix X-Cal: X-Cal-Result added")
        t.check(mt.eom_check(conn, MT_HDRDELETE, "X-Cal-Result") and
                not mt.eom_check(conn, MT_HDRINSERT, "X-ITIP-Result") and
                not mt.eom_check(conn, MT_HDRDELETE, "X-ITIP-Result"),
                "header_prefix X-Cal: forged X-Cal-Result deleted, X-ITIP-* left alone")
    end,
}

t.run(function()
    local check = expectations[expect]
    if check == nil then t.fail("unknown expectation " .. tostring(expect)) end
    local conn = t.connect()
    local r = t.send(conn, "samples/cancel-method-mismatch.eml",
                     { qid = "MT-ACT-" .. expect,
                       headers = { { "X-Cal-Result", "forged" }, { "X-ITIP-Result", "other" } } })
    check(conn, r)
    mt.disconnect(conn)
end)
