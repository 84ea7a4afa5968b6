#!/usr/bin/env python3
"""smtpsend.py - a small SMTP client for the end-to-end tests (no swaks needed).

usage: smtpsend.py HOST PORT FROM RCPT FILE...

RCPT "-" takes each message's To: and Cc: addresses as its envelope recipients, as a mail
client would (a calendar message's envelope then matches its ORGANIZER or ATTENDEEs).

Sends each FILE (line ends made CRLF) as one message over a single SMTP session (reconnecting after a dropped
connection) and prints one line per file: "FILE CODE MS TEXT", CODE being the server's final
answer (250, or the 4xx/5xx that refused it at MAIL, RCPT or DATA), MS the time from MAIL FROM
to that answer.  Exit status 0 unless the server could not be reached at all.
"""
import re
import smtplib
import sys
import time


def header_rcpts(data):
    """The addresses of the To: and Cc: headers of a message (bytes), in order."""
    import email.parser
    import email.utils
    head = email.parser.BytesHeaderParser().parsebytes(data)
    fields = head.get_all("To", []) + head.get_all("Cc", [])
    return [a for _, a in email.utils.getaddresses([str(f) for f in fields]) if "@" in a]


def send_one(session, sender, rcpt, data):
    """Returns (code, text) of the final answer for one message."""
    rcpts = header_rcpts(data) if rcpt == "-" else [rcpt]
    if not rcpts:
        rcpts = ["rcpt@example.com"]
    code, text = session.mail(sender)
    if code != 250:
        session.rset()
        return code, text
    for r in rcpts:
        code, text = session.rcpt(r)
        if code not in (250, 251):
            session.rset()
            return code, text
    code, text = session.data(data)
    if code != 250:
        session.rset()
    return code, text


def main(argv):
    if len(argv) < 6:
        sys.stderr.write(__doc__)
        return 2
    host, port, sender, rcpt = argv[1], int(argv[2]), argv[3], argv[4]
    session = None
    for path in argv[5:]:
        with open(path, "rb") as f:
            data = re.sub(rb"(?<!\r)\n", b"\r\n", f.read())   # SMTP wants CRLF
        for attempt in (1, 2):
            try:
                if session is None:
                    session = smtplib.SMTP(host, port, local_hostname="client.example",
                                           timeout=60)
                    session.ehlo()
                start = time.monotonic()
                code, text = send_one(session, sender, rcpt, data)
                break
            except smtplib.SMTPServerDisconnected as e:
                session = None
                code, text, start = 421, str(e).encode(), time.monotonic()
            except smtplib.SMTPResponseException as e:
                session = None
                code, text, start = e.smtp_code, e.smtp_error, time.monotonic()
                break
            except OSError as e:
                sys.stderr.write("smtpsend: %s:%d: %s\n" % (host, port, e))
                return 1
        ms = (time.monotonic() - start) * 1000.0
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        print("%s %d %.1f %s" % (path, code, ms, " ".join(text.split())), flush=True)
    if session is not None:
        try:
            session.quit()
        except smtplib.SMTPException:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
