-- forged.lua - copies of our headers on incoming mail are deleted (any case, any number),
-- so no sender can forge a verdict; on calendar mail our own header still goes on top.
local t = dofile(srcdir .. "/t/mt/lib.lua")
t.run(function()
    local conn = t.connect()
    local forged = { { "X-ITIP-Result", "pass method=REQUEST uid=forged" },
                     { "x-itip-finding", "forged one" }, { "X-ITIP-Finding", "forged two" } }
    local r = t.send(conn, "samples/cancel-method-mismatch.eml",
                     { qid = "MT-FORGED1", headers = forged })
    t.check(mt.eom_check(conn, MT_HDRDELETE, "X-ITIP-Result"), "forged X-ITIP-Result deleted")
    t.check(mt.eom_check(conn, MT_HDRDELETE, "X-ITIP-Finding"), "forged X-ITIP-Finding deleted")
    t.check(r == SMFIR_CONTINUE and mt.eom_check(conn, MT_QUARANTINE) and
            t.starts(t.header(conn, "X-ITIP-Result"), "quarantine (would-fail:"),
            "the real verdict is still added")

    r = t.send(conn, "samples/plain.eml", { qid = "MT-FORGED2",
                                            headers = { { "X-Itip-Result", "pass" } } })
    t.check(r == SMFIR_CONTINUE and mt.eom_check(conn, MT_HDRDELETE, "X-ITIP-Result") and
            not mt.eom_check(conn, MT_HDRINSERT), "plain mail: forged header deleted, none added")
    mt.disconnect(conn)
end)
