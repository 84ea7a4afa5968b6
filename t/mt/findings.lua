-- findings.lua - would-fail messages under the default actions (would-fail = quarantine):
-- quarantine with a reason naming the rules, X-ITIP-Result and X-ITIP-Finding headers, every
-- header line at most 78 columns; a quoted-printable calendar part.
local t = dofile(srcdir .. "/t/mt/lib.lua")

local function lines_ok(name, raw)
    if raw == nil then return false end
    local first = true
    for line in (raw .. "\n"):gmatch("(.-)\n") do
        local width = #line + (first and #name + 1 or 0)    -- raw value keeps its leading space
        if width > 78 or (not first and line:sub(1, 1) ~= "\t") then return false end
        first = false
    end
    return true
end

t.run(function()
    local conn = t.connect()
    local r = t.send(conn, "samples/cancel-method-mismatch.eml", { qid = "MT-Q1" })
    t.check(r == SMFIR_CONTINUE, "CANCEL with method=REQUEST: continue (quarantined, not refused)")
    t.check(mt.eom_check(conn, MT_QUARANTINE), "CANCEL with method=REQUEST: quarantined")
    t.check(mt.eom_check(conn, MT_QUARANTINE,
                         "itip-milter: would-fail: mime-method-param-mismatch method=CANCEL " ..
                         "uid=quarterly-planning-2026-06@example.com"),
            "the quarantine reason names the rule")
    t.check(t.header(conn, "X-ITIP-Result") ==
            "quarantine (would-fail: mime-method-param-mismatch) method=CANCEL " ..
            "uid=quarterly-planning-2026-06@example.com", "X-ITIP-Result: quarantine (...)")
    t.check(t.starts(t.header(conn, "X-ITIP-Finding"),
                     "mime-method-param-mismatch; severity=would-fail; "),
            "X-ITIP-Finding: rule; severity=would-fail; detail")
    t.check(lines_ok("X-ITIP-Result", mt.getheader(conn, "X-ITIP-Result", 0)) and
            lines_ok("X-ITIP-Finding", mt.getheader(conn, "X-ITIP-Finding", 0)),
            "header lines at most 78 columns, folded with a tab")

    r = t.send(conn, "samples/reply-legacy-no-critical-change.eml", { qid = "MT-QP" })
    t.check(r == SMFIR_CONTINUE and mt.eom_check(conn, MT_QUARANTINE) and
            t.starts(t.header(conn, "X-ITIP-Result"),
                     "quarantine (would-fail: reply-attendee-critical-change-missing) method=REPLY"),
            "quoted-printable REPLY to a legacy organizer: quarantine")

    r = t.send(conn, "samples/reply-notes-broken-fold.eml", { qid = "MT-NOTES" })
    local n, all = 0, true
    while true do
        local v = mt.getheader(conn, "X-ITIP-Finding", n)
        if v == nil then break end
        all = all and lines_ok("X-ITIP-Finding", v)
        n = n + 1
    end
    t.check(mt.eom_check(conn, MT_QUARANTINE) and n >= 4 and all,
            "Notes broken folding: quarantine, one X-ITIP-Finding per finding (" .. n .. ")")
    t.check(t.starts(t.header(conn, "X-ITIP-Result"), "quarantine (would-fail: ical-parse-errors, "),
            "X-ITIP-Result lists the deciding rules")
    mt.disconnect(conn)
end)
