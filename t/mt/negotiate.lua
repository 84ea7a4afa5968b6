-- negotiate.lua - what itip-milter asks of the MTA: header and quarantine actions, SKIP and
-- HDR_LEADSPC; no stage switched off (no-op callbacks spare Postfix's lone macro packets);
-- body replacement (the repair action), taken when offered.  And a health probe: a connection that closes before negotiating.
local t = dofile(srcdir .. "/t/mt/lib.lua")
t.run(function()
    local probe = mt.connect(sock, 40, 0.25)
    t.check(probe ~= nil, "probe: connect")
    mt.disconnect(probe, false)

    local conn = t.connect()
    t.check(mt.test_action(conn, SMFIF_ADDHDRS), "asks for SMFIF_ADDHDRS")
    t.check(mt.test_action(conn, SMFIF_CHGHDRS), "asks for SMFIF_CHGHDRS")
    t.check(mt.test_action(conn, SMFIF_QUARANTINE), "asks for SMFIF_QUARANTINE")
    t.check(mt.test_action(conn, SMFIF_CHGBODY), "asks for SMFIF_CHGBODY (the repair action)")
    t.check(not mt.test_action(conn, SMFIF_ADDRCPT) and not mt.test_action(conn, SMFIF_DELRCPT),
            "does not ask to change recipients")
    t.check(mt.test_option(conn, SMFIP_SKIP), "asks for SMFIP_SKIP")
    t.check(mt.test_option(conn, SMFIP_HDR_LEADSPC), "asks for SMFIP_HDR_LEADSPC")
    t.check(not mt.test_option(conn, SMFIP_NOHELO) and not mt.test_option(conn, SMFIP_NOMAIL)
            and not mt.test_option(conn, SMFIP_NORCPT) and not mt.test_option(conn, SMFIP_NODATA),
            "no stage switched off (no lone macro packets from Postfix)")
    t.check(mt.getreply(conn) == SMFIR_CONTINUE, "helo: continue")
    mt.disconnect(conn)
end)
