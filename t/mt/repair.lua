-- repair.lua - the repair action over the milter protocol (run by t/repair.sh, -D expect=...):
--   made      7bit REPLY without the critical-change stamp and without method=: the body is
--             replaced (exactly the expected bytes, whole or in small chunks), X-ITIP-Repaired
--             and X-ITIP-Result: repair are inserted, a forged X-ITIP-Repaired is deleted;
--             a base64 part is replaced too; a REPLY whose DTSTAMP is floating cannot be
--             repaired: the fallback (quarantine) applies and the body is left alone; a
--             top-level text/calendar without method=: its Content-Type header is changed
--             (folds and leading space as received), the body is not
--   toolarge  the body passes max_calendar_parts x max_calendar_part_size: no repair, fallback
--   dryrun    dry_run: tagged with dry-run=repair, body untouched
local t = dofile(srcdir .. "/t/mt/lib.lua")
local STAMP = "X-MICROSOFT-CDO-ATTENDEE-CRITICAL-CHANGE:20260601T100000Z"
local UID7 = "repair-7bit@legacy.example"
local RULES = "mime-method-param-missing, reply-attendee-critical-change-missing"

local function splice_after(s, needle, text)
    local _, j = s:find(needle, 1, true)
    if j == nil then t.fail("test message lacks " .. needle) end
    return s:sub(1, j) .. text .. s:sub(j + 1)
end

-- Sends MSG (from t.load) with BODY; returns the connection and the reply to eom.
local function send(msg, body, qid, chunk, headers)
    local conn = t.connect()
    t.start(conn, msg, qid, headers)
    t.body(conn, body, chunk)
    if mt.eom(conn) ~= nil then t.fail("eom failed") end
    return conn, mt.getreply(conn)
end

local function made()
    local msg = t.load(t.path("t/repair/7bit-crlf.eml"))
    local want = splice_after(msg.body, "DTSTAMP:20260601T100000Z\r\n", STAMP .. "\r\n")
    want = splice_after(want, "charset=us-ascii", "; method=REPLY")
    for _, chunk in ipairs({ false, 37 }) do
        local what = chunk and "7bit, body in 37-byte chunks" or "7bit, body in one piece"
        local conn, r = send(msg, msg.body, "MT-REP-" .. (chunk or 1), chunk or nil,
                             { { "X-ITIP-Repaired", "forged" } })
        t.check(r == SMFIR_CONTINUE and not mt.eom_check(conn, MT_QUARANTINE),
                what .. ": continue, no quarantine")
        t.check(mt.eom_check(conn, MT_BODYCHANGE, want),
                what .. ": body replaced by the original with the stamp and method= added")
        t.check(t.header(conn, "X-ITIP-Result") ==
                "repair (would-fail: " .. RULES .. ") method=REPLY uid=" .. UID7,
                what .. ": X-ITIP-Result: repair (...)")
        t.check(t.header(conn, "X-ITIP-Repaired") ==
                "mime-method-param-missing part=0: Content-Type method=REPLY added; " ..
                "reply-attendee-critical-change-missing part=0: " .. STAMP .. " added",
                what .. ": X-ITIP-Repaired names both changes")
        t.check(mt.eom_check(conn, MT_HDRDELETE, "X-ITIP-Repaired"),
                what .. ": the forged X-ITIP-Repaired is deleted")
        mt.disconnect(conn)
    end

    -- (miltertest reads each reply into a 1 KiB stack buffer and aborts on a longer body:
    -- the bigger messages go through Postfix in t/repair.sh instead)
    local b64 = t.load(t.path("t/repair/b64-oneline-sentinel.eml"))
    local conn, r = send(b64, b64.body, "MT-REP-B64")
    t.check(r == SMFIR_CONTINUE and mt.eom_check(conn, MT_BODYCHANGE) and
            t.starts(t.header(conn, "X-ITIP-Result"),
                     "repair (would-fail: reply-attendee-critical-change-invalid)"),
            "base64 with a 4501 sentinel stamp: body replaced, X-ITIP-Result: repair")
    mt.disconnect(conn)

    local top = t.load(t.path("t/repair/top-level-request.eml"))
    conn, r = send(top, top.body, "MT-REP-TOP")
    local lead = mt.test_option(conn, SMFIP_HDR_LEADSPC) and " " or ""
    t.check(r == SMFIR_CONTINUE and not mt.eom_check(conn, MT_QUARANTINE) and
            not mt.eom_check(conn, MT_BODYCHANGE),
            "top-level calendar: continue, body untouched")
    t.check(mt.eom_check(conn, MT_HDRCHANGE, "Content-Type"),
            "top-level calendar: Content-Type changed")
    -- the value as the milter received it: under LEADSPC miltertest puts a space before what
    -- t.start sends, which already starts with one
    t.check(mt.eom_check(conn, MT_HDRCHANGE, "Content-Type",
                         lead .. lead .. 'text/calendar;\n\tcharset="utf-8"; method=REQUEST'),
            "top-level calendar: Content-Type gains method=REQUEST, fold kept")
    t.check(t.header(conn, "X-ITIP-Repaired") ==
            "mime-method-param-missing part=0: Content-Type method=REQUEST added",
            "top-level calendar: X-ITIP-Repaired names the change")
    mt.disconnect(conn)

    local fl = t.load(t.path("t/repair/floating-dtstamp.eml"))
    conn, r = send(fl, fl.body, "MT-REP-FLOAT")
    t.check(r == SMFIR_CONTINUE and mt.eom_check(conn, MT_QUARANTINE) and
            not mt.eom_check(conn, MT_BODYCHANGE) and
            not mt.eom_check(conn, MT_HDRINSERT, "X-ITIP-Repaired"),
            "floating DTSTAMP: not repairable, the fallback quarantines, body untouched")
    t.check(t.starts(t.header(conn, "X-ITIP-Result"),
                     "quarantine (would-fail: reply-attendee-critical-change-missing)"),
            "floating DTSTAMP: X-ITIP-Result: quarantine (...)")
    local res = (t.header(conn, "X-ITIP-Result") or ""):gsub("\n\t", " ")
    t.check(res:find("; repair not made: ", 1, true) ~= nil,
            "floating DTSTAMP: X-ITIP-Result says why the repair was not made")
    mt.disconnect(conn)
end

local function toolarge()
    local msg = t.load(t.path("t/repair/7bit-crlf.eml"))
    local body = string.rep(string.rep("x", 78) .. "\r\n", 400) .. msg.body   -- a preamble
    local conn, r = send(msg, body, "MT-REP-BIG", 4096)
    t.check(r == SMFIR_CONTINUE and not mt.eom_check(conn, MT_BODYCHANGE) and
            mt.eom_check(conn, MT_QUARANTINE),
            "body over the repair limit: not repaired, the fallback quarantines")
    mt.disconnect(conn)
end

local function dryrun()
    local msg = t.load(t.path("t/repair/7bit-crlf.eml"))
    local conn, r = send(msg, msg.body, "MT-REP-DRY")
    t.check(r == SMFIR_CONTINUE and not mt.eom_check(conn, MT_BODYCHANGE) and
            not mt.eom_check(conn, MT_QUARANTINE), "dry_run: body untouched, no quarantine")
    t.check(t.header(conn, "X-ITIP-Result") ==
            "tag (would-fail: " .. RULES .. ") method=REPLY uid=" .. UID7 .. " dry-run=repair",
            "dry_run: X-ITIP-Result says dry-run=repair")
    mt.disconnect(conn)
end

t.run(function()
    local cases = { made = made, toolarge = toolarge, dryrun = dryrun }
    if cases[expect] == nil then t.fail("unknown expectation " .. tostring(expect)) end
    cases[expect]()
end)
