-- lib.lua - helpers shared by the miltertest scripts of t/milter.sh.
--
-- Globals from the command line (miltertest -D): sock (the milter's socket), srcdir (the
-- source tree's top).  Each check prints "ok - NAME" or "not ok - NAME" with mt.echo; the
-- shell numbers them into TAP.  run(fn) wraps a script in pcall so that an error is printed
-- (as a failed check) instead of miltertest exiting silently with status 1.
-- Messages are read from files, LF turned into CRLF, headers unfolded into name/value and
-- sent one by one, the body in chunks of a chosen size.

local M = {}

function M.check(cond, name)
    if cond then mt.echo("ok - " .. name) else mt.echo("not ok - " .. name) end
    return cond
end

function M.fail(msg) error(msg, 2) end

function M.run(fn)
    local okay, err = pcall(fn)
    if not okay then mt.echo("not ok - script error: " .. tostring(err)) end
end

function M.path(rel) return srcdir .. "/" .. rel end

local function read(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("a")
    f:close()
    return s
end

-- Splits a message file into { headers = {{name, value}...}, body = "..." } (CRLF body).
function M.load(path)
    local text = read(path):gsub("\r\n", "\n")
    local head, body = text:match("^(.-)\n\n(.*)$")
    if head == nil then head, body = text, "" end
    local msg = { headers = {}, body = body:gsub("\n", "\r\n") }
    for line in (head .. "\n"):gmatch("(.-)\n") do
        if line:match("^[ \t]") and #msg.headers > 0 then
            local h = msg.headers[#msg.headers]
            h[2] = h[2] .. "\n" .. line
        else
            local name, value = line:match("^([^:]+):[ \t]?(.*)$")
            if name then table.insert(msg.headers, { name, value }) end
        end
    end
    return msg
end

function M.connect(ip)
    local conn = mt.connect(sock, 40, 0.25)
    if conn == nil then M.fail("cannot connect to " .. sock) end
    if mt.conninfo(conn, "client.example", ip or "192.0.2.1") ~= nil then
        M.fail("conninfo failed")
    end
    -- explicitly: an implicit HELO inside mt.mailfrom would drop the {i} macro set for MAIL
    if mt.helo(conn, "client.example") ~= nil then M.fail("helo failed") end
    return conn
end

-- The addresses of the message's To: and Cc: headers, as "<a@b>", as a mail client would
-- give them to its MTA; { "<rcpt@example.com>" } when there are none.
local function header_rcpts(msg)
    local out = {}
    for _, h in ipairs(msg.headers) do
        local name = h[1]:lower()
        if name == "to" or name == "cc" then
            for part in (h[2] .. ","):gmatch("([^,]*),") do
                local a = part:match("<([^>]+@[^>]+)>") or part:match("([^%s<>\"]+@[^%s<>\"]+)")
                if a then table.insert(out, "<" .. a .. ">") end
            end
        end
    end
    if #out == 0 then out = { "<rcpt@example.com>" } end
    return out
end

-- Sends the envelope (FROM and the list RCPTS; by default sender@example.net and the To:/Cc:
-- addresses) and the headers (with the leading space when LEADSPC was negotiated).
function M.start(conn, msg, qid, extra_headers, from, rcpts)
    if qid then mt.macro(conn, SMFIC_MAIL, "i", qid) end
    if mt.mailfrom(conn, from or "<sender@example.net>") ~= nil then M.fail("mailfrom failed") end
    for _, r in ipairs(rcpts or header_rcpts(msg)) do
        if mt.rcptto(conn, r) ~= nil then M.fail("rcptto failed") end
    end
    local lead = mt.test_option(conn, SMFIP_HDR_LEADSPC) and " " or ""
    local all = {}
    for _, h in ipairs(extra_headers or {}) do table.insert(all, h) end
    for _, h in ipairs(msg.headers) do table.insert(all, h) end
    for _, h in ipairs(all) do
        if mt.header(conn, h[1], lead .. h[2]) ~= nil then M.fail("header failed") end
    end
    if mt.eoh(conn) ~= nil then M.fail("eoh failed") end
end

-- Sends BODY in chunks of SIZE bytes (all at once when nil); returns the last reply.
function M.body(conn, body, size)
    size = size or #body
    if size < 1 then size = 1 end
    local i = 1
    while i <= #body do
        if mt.bodystring(conn, body:sub(i, i + size - 1)) ~= nil then M.fail("body failed") end
        local r = mt.getreply(conn)
        if r == SMFIR_SKIP then return r end
        i = i + size
    end
    return mt.getreply(conn)
end

-- A whole message: start, body, eom.  Returns the reply to eom.
function M.send(conn, path, opts)
    opts = opts or {}
    local msg = M.load(M.path(path))
    M.start(conn, msg, opts.qid, opts.headers, opts.from, opts.rcpts)
    M.body(conn, msg.body, opts.chunk)
    if mt.eom(conn) ~= nil then M.fail("eom failed") end
    return mt.getreply(conn)
end

-- The newest added value of header NAME, leading space and folding removed; nil if none.
function M.header(conn, name, n)
    local v = mt.getheader(conn, name, n or 0)
    if v == nil then return nil end
    return (v:gsub("\n\t", " "):gsub("^ ", ""))
end

function M.starts(s, prefix) return s ~= nil and s:sub(1, #prefix) == prefix end

return M
