-- plain.lua - mail without a calendar part passes unchanged: SMFIS_SKIP after the first
-- body chunk, continue at end of message, no header added, changed or deleted.
local t = dofile(srcdir .. "/t/mt/lib.lua")
t.run(function()
    local conn = t.connect()
    local msg = t.load(t.path("samples/plain.eml"))
    t.start(conn, msg, "MT-PLAIN1")
    local body = msg.body .. string.rep("more plain text that cannot matter\r\n", 200)
    local r = t.body(conn, body, 512)
    t.check(r == SMFIR_SKIP, "plain text: the body callback answers SKIP")
    t.check(mt.eom(conn) == nil and mt.getreply(conn) == SMFIR_CONTINUE, "plain text: continue")
    t.check(not mt.eom_check(conn, MT_HDRINSERT) and not mt.eom_check(conn, MT_HDRADD) and
            not mt.eom_check(conn, MT_HDRCHANGE) and not mt.eom_check(conn, MT_HDRDELETE),
            "plain text: no header added, changed or deleted")
    t.check(not mt.eom_check(conn, MT_QUARANTINE), "plain text: no quarantine")
    mt.disconnect(conn)
end)
