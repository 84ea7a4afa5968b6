-- envelope.lua - the envelope decides (issue 16), under a configuration that trusts the
-- authserv-id mx.example.net: the same REPLY passes to its organizer and is flagged to
-- someone else; a CANCEL whose ORGANIZER is not the sender's is degrade (tag), raised to
-- would-fail (quarantine) by a trusted dmarc=fail, and left at degrade by the same header
-- from another authserv-id.
local t = dofile(srcdir .. "/t/mt/lib.lua")
local R = "t/rules/"

local function result(conn) return t.header(conn, "X-ITIP-Result") or "(none)" end

local function has_finding(conn, rule, sev)
    local n = 0
    while true do
        local v = t.header(conn, "X-ITIP-Finding", n)
        if v == nil then return false end
        if t.starts(v, rule .. "; severity=" .. sev .. ";") then return true end
        n = n + 1
    end
end

t.run(function()
    local conn = t.connect()
    local reply = R .. "reply-not-to-organizer/neg-no-envelope.eml"

    local r = t.send(conn, reply, { qid = "MT-ENV1", from = "<bob@example.net>",
                                    rcpts = { "<olivia@example.com>" } })
    t.check(r == SMFIR_CONTINUE and not has_finding(conn, "reply-not-to-organizer", "degrade"),
            "a REPLY to its ORGANIZER: no reply-not-to-organizer (" .. result(conn) .. ")")

    r = t.send(conn, reply, { qid = "MT-ENV2", from = "<bob@example.net>",
                              rcpts = { "<dave@example.net>", "<erin@example.net>" } })
    t.check(r == SMFIR_CONTINUE and has_finding(conn, "reply-not-to-organizer", "degrade"),
            "the same REPLY to someone else: reply-not-to-organizer, degrade")
    t.check(t.starts(result(conn), "tag (degrade: reply-not-to-organizer)"),
            "X-ITIP-Result: tag (degrade: reply-not-to-organizer) (" .. result(conn) .. ")")

    local cancel = "t/milter/forged-cancel.eml"
    r = t.send(conn, cancel, { qid = "MT-ENV3", from = "<bounce@attacker.example>",
                               rcpts = { "<bob@example.net>" } })
    t.check(r == SMFIR_CONTINUE and has_finding(conn, "organizer-not-sender", "degrade") and
            t.starts(result(conn), "tag (degrade: organizer-not-sender)"),
            "a CANCEL from another domain than its ORGANIZER's: degrade, tagged")

    r = t.send(conn, cancel, { qid = "MT-ENV4", from = "<bounce@attacker.example>",
                               rcpts = { "<bob@example.net>" },
                               headers = { { "Authentication-Results",
                                             "mx.example.net; dmarc=fail (p=reject) header.from=attacker.example" } } })
    t.check(r == SMFIR_CONTINUE and mt.eom_check(conn, MT_QUARANTINE) and
            has_finding(conn, "organizer-not-sender", "would-fail"),
            "the same CANCEL with a trusted dmarc=fail: raised to would-fail, quarantined")

    r = t.send(conn, cancel, { qid = "MT-ENV5", from = "<bounce@attacker.example>",
                               rcpts = { "<bob@example.net>" },
                               headers = { { "Authentication-Results",
                                             "mx.attacker.example; dmarc=fail header.from=attacker.example" } } })
    t.check(r == SMFIR_CONTINUE and not mt.eom_check(conn, MT_QUARANTINE) and
            has_finding(conn, "organizer-not-sender", "degrade") and
            not has_finding(conn, "organizer-not-sender", "would-fail"),
            "dmarc=fail from an untrusted authserv-id: ignored, still degrade")

    r = t.send(conn, cancel, { qid = "MT-ENV6", from = "<olivia@example.com>",
                               rcpts = { "<bob@example.net>" } })
    t.check(r == SMFIR_CONTINUE and not has_finding(conn, "organizer-not-sender", "degrade"),
            "the envelope sender is the ORGANIZER's domain: no organizer-not-sender")
    mt.disconnect(conn)
end)
