-- disconnect.lua - the MTA goes away mid-message (no abort, no close handshake); the milter
-- keeps serving new connections.
local t = dofile(srcdir .. "/t/mt/lib.lua")
t.run(function()
    local conn = t.connect()
    local msg = t.load(t.path("samples/cancel-method-mismatch.eml"))
    t.start(conn, msg, "MT-DISC1")
    t.body(conn, msg.body:sub(1, 100))
    mt.disconnect(conn, false)

    local conn2 = t.connect("198.51.100.7")
    t.start(conn2, t.load(t.path("samples/request-clean.eml")), "MT-DISC2")
    mt.disconnect(conn2, false)

    local conn3 = t.connect()
    local r = t.send(conn3, "samples/request-clean.eml", { qid = "MT-DISC3" })
    t.check(r == SMFIR_CONTINUE and t.starts(t.header(conn3, "X-ITIP-Result"), "pass "),
            "after two dropped connections the milter still serves")
    mt.disconnect(conn3)
end)
