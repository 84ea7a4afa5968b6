-- clean.lua - clean invitations and replies get "X-ITIP-Result: pass method=... uid=..." on
-- top and nothing else: 7bit multipart, a top-level base64 part, the same in 7-byte chunks.
local t = dofile(srcdir .. "/t/mt/lib.lua")
local UID = "quarterly-planning-2026-06@example.com"
t.run(function()
    local conn = t.connect()
    local r = t.send(conn, "samples/request-clean.eml", { qid = "MT-CLEAN1" })
    t.check(r == SMFIR_CONTINUE, "clean REQUEST: continue")
    t.check(t.header(conn, "X-ITIP-Result") == "pass method=REQUEST uid=" .. UID,
            "clean REQUEST: X-ITIP-Result: pass method=REQUEST uid=...")
    t.check(mt.eom_check(conn, MT_HDRINSERT, "X-ITIP-Result", mt.getheader(conn, "X-ITIP-Result", 0), 0),
            "clean REQUEST: the header is inserted at index 0 (on top)")
    t.check(not mt.eom_check(conn, MT_HDRINSERT, "X-ITIP-Finding"), "clean REQUEST: no finding header")
    t.check(not mt.eom_check(conn, MT_QUARANTINE), "clean REQUEST: not quarantined")

    r = t.send(conn, "samples/reply-accept-clean.eml", { qid = "MT-CLEAN2" })
    t.check(r == SMFIR_CONTINUE and
            t.header(conn, "X-ITIP-Result") == "pass method=REPLY uid=" .. UID,
            "base64 REPLY: pass method=REPLY")

    r = t.send(conn, "samples/reply-accept-clean.eml", { qid = "MT-CLEAN3", chunk = 7 })
    t.check(r == SMFIR_CONTINUE and
            t.header(conn, "X-ITIP-Result") == "pass method=REPLY uid=" .. UID,
            "base64 REPLY in 7-byte body chunks: pass method=REPLY")
    mt.disconnect(conn)
end)
