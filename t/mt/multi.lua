-- multi.lua - several messages on one connection, each judged on its own.
local t = dofile(srcdir .. "/t/mt/lib.lua")
t.run(function()
    local conn = t.connect()
    local cases = {
        { "samples/cancel-method-mismatch.eml", "quarantine (would-fail: mime-method-param-mismatch)", true },
        { "samples/request-clean.eml", "pass method=REQUEST", false },
        { "samples/plain.eml", nil, false },
        { "samples/reply-legacy-no-critical-change.eml", "quarantine (would-fail:", true },
        { "samples/reply-accept-clean.eml", "pass method=REPLY", false },
    }
    for i, c in ipairs(cases) do
        local r = t.send(conn, c[1], { qid = "MT-MULTI" .. i })
        local h = t.header(conn, "X-ITIP-Result")
        local good = r == SMFIR_CONTINUE and mt.eom_check(conn, MT_QUARANTINE) == c[3]
        if c[2] == nil then good = good and h == nil else good = good and t.starts(h, c[2]) end
        t.check(good, "message " .. i .. " on one connection: " .. c[1])
    end
    mt.disconnect(conn)
end)
