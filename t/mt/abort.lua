-- abort.lua - an aborted message leaves nothing behind: abort mid-body, then a second
-- message on the same connection; abort right after the headers, then a third.
local t = dofile(srcdir .. "/t/mt/lib.lua")
t.run(function()
    local conn = t.connect()
    local bad = t.load(t.path("samples/cancel-method-mismatch.eml"))
    t.start(conn, bad, "MT-ABORT1", { { "X-ITIP-Result", "forged" } })
    t.body(conn, bad.body:sub(1, #bad.body // 2))
    t.check(mt.abort(conn) == nil, "abort mid-body")

    local r = t.send(conn, "samples/request-clean.eml", { qid = "MT-ABORT2" })
    t.check(r == SMFIR_CONTINUE and not mt.eom_check(conn, MT_QUARANTINE) and
            not mt.eom_check(conn, MT_HDRDELETE) and
            t.header(conn, "X-ITIP-Result") ==
            "pass method=REQUEST uid=quarterly-planning-2026-06@example.com",
            "next message on the connection: pass, nothing of the aborted one")

    t.start(conn, bad, "MT-ABORT3")
    t.check(mt.abort(conn) == nil, "abort after the headers")
    r = t.send(conn, "samples/plain.eml", { qid = "MT-ABORT4" })
    t.check(r == SMFIR_CONTINUE and not mt.eom_check(conn, MT_HDRINSERT) and
            not mt.eom_check(conn, MT_QUARANTINE), "then plain mail: untouched")
    mt.disconnect(conn)
end)
