#!/usr/bin/env python3
"""generate.py - writes the hostile MIME shapes of t/hostile/ (run it from anywhere; the
files are committed, so that make check, the differential test t/mime-diff.sh and the fuzz
seeds use them without Python).

Every message carries one text/calendar part that a mail client shows: a CANCEL labelled
method=REQUEST (mime-method-param-mismatch, would-fail), hidden behind a shape that MIME
parsers disagree on or that a filter with fixed buffers gets wrong: long and odd boundaries,
transport padding, boundaries inside quoted strings, RFC 2231 continuations, a missing final
boundary, CR-only and LF-only line ends, nested message/rfc822, and so on.  A filter that
misses the part lets a broken calendar through unseen.  t/mime-diff.sh checks that our walker
finds what Python's email package finds; t/hostile.sh that each message gets its would-fail.
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))

CAL = """BEGIN:VCALENDAR
PRODID:-//Example Corp//Hostile Shapes 1.0//EN
VERSION:2.0
METHOD:CANCEL
BEGIN:VEVENT
UID:hostile-{name}@example.com
DTSTAMP:20260601T104500Z
DTSTART:20260610T080000Z
DTEND:20260610T090000Z
SUMMARY:Quarterly planning
ORGANIZER;CN=Alice Organizer:mailto:alice@example.com
ATTENDEE;CN=Bob Attendee;PARTSTAT=NEEDS-ACTION:mailto:bob@example.net
SEQUENCE:1
STATUS:CANCELLED
END:VEVENT
END:VCALENDAR
"""

HEAD = """From: Alice Organizer <alice@example.com>
To: Bob Attendee <bob@example.net>
Subject: Canceled: Quarterly planning ({name})
Date: Mon, 01 Jun 2026 10:45:03 +0000
Message-ID: <hostile-{name}@example.com>
MIME-Version: 1.0
"""

CALPART = """Content-Type: text/calendar; charset=UTF-8; method=REQUEST
Content-Transfer-Encoding: 7bit

"""


def cal(name):
    return CAL.format(name=name)


def head(name):
    return HEAD.format(name=name)


def alternative(name, ctype_param, open_line, close_line, sep_extra="", cal_pad=""):
    """multipart/alternative with a text part and the calendar part; SEP_EXTRA after every
    boundary line, CAL_PAD after the one that opens the calendar part only."""
    return (head(name) + "Content-Type: multipart/alternative; " + ctype_param + "\n\n"
            + "preamble\n" + open_line + sep_extra + "\n"
            + "Content-Type: text/plain; charset=UTF-8\n\nThe meeting has been cancelled.\n\n"
            + open_line + sep_extra + cal_pad + "\n" + CALPART + cal(name) + "\n"
            + (close_line + sep_extra + "\n" if close_line else ""))


def shapes():
    b = "=_b_" + "x" * 246                       # 250 bytes: more than the 200 once honoured
    yield "boundary-250", alternative("boundary-250", 'boundary="%s"' % b, "--" + b,
                                      "--" + b + "--")
    b = "=_b_" + "y" * 3000                      # far beyond RFC 2046's 70
    yield "boundary-3000", alternative("boundary-3000", 'boundary="%s"' % b, "--" + b,
                                       "--" + b + "--")
    yield "padding-600", alternative("padding-600", 'boundary="pad"', "--pad", "--pad--",
                                     " \t" * 300)
    yield "padding-20k", alternative("padding-20k", 'boundary="pad"', "--pad", "--pad--",
                                     cal_pad=" " * 20000)
    yield "padding-70k", alternative("padding-70k", 'boundary="pad"', "--pad", "--pad--",
                                     cal_pad=" " * 70000)
    yield "boundary-quoted-specials", alternative(
        "boundary-quoted-specials", 'boundary="a;b=c (d) \\"e\\""', '--a;b=c (d) "e"',
        '--a;b=c (d) "e"--')
    yield "boundary-unquoted", alternative("boundary-unquoted", "boundary=simple_b0und",
                                           "--simple_b0und", "--simple_b0und--")
    yield "boundary-rfc2231", alternative(
        "boundary-rfc2231", 'boundary*0="part-one-";\n boundary*1="part-two"',
        "--part-one-part-two", "--part-one-part-two--")
    yield "boundary-folded-param", alternative(
        "boundary-folded-param", '\n\tcharset="us-ascii";\n\tboundary=\n\t"folded-b"',
        "--folded-b", "--folded-b--")
    yield "boundary-comment", alternative("boundary-comment",
                                          '(a comment) boundary="cb" (another)', "--cb",
                                          "--cb--")
    yield "final-boundary-missing", alternative("final-boundary-missing", 'boundary="nf"',
                                                "--nf", None)
    yield "boundary-trailing-blank-close", alternative(
        "boundary-trailing-blank-close", 'boundary="tb"', "--tb", "--tb--", " ")
    yield "boundary-prefix-nested", (
        head("boundary-prefix-nested") + 'Content-Type: multipart/mixed; boundary="b"\n\n'
        + "--b\nContent-Type: multipart/alternative; boundary=\"b1\"\n\n"
        + "--b1\nContent-Type: text/plain\n\nhello\n"
        + "--b1\n" + CALPART + cal("boundary-prefix-nested") + "\n--b1--\n--b--\n")
    yield "upper-case-type", (
        head("upper-case-type") + 'Content-Type: MULTIPART/ALTERNATIVE; BOUNDARY="UC"\n\n'
        + "--UC\nContent-Type: TEXT/PLAIN\n\nhello\n--UC\n"
        + CALPART.replace("text/calendar", "TEXT/CALENDAR") + cal("upper-case-type")
        + "\n--UC--\n")
    yield "nested-rfc822", (
        head("nested-rfc822") + 'Content-Type: multipart/mixed; boundary="outer"\n\n'
        + "--outer\nContent-Type: text/plain\n\nforwarded below\n"
        + "--outer\nContent-Type: message/rfc822\n\n"
        + head("nested-inner") + 'Content-Type: multipart/alternative; boundary="inner"\n\n'
        + "--inner\nContent-Type: text/plain\n\nhello\n--inner\n" + CALPART
        + cal("nested-rfc822") + "\n--inner--\n\n--outer--\n")
    yield "calendar-by-name", alternative(
        "calendar-by-name", 'boundary="nm"', "--nm", "--nm--").replace(
        "Content-Type: text/calendar; charset=UTF-8; method=REQUEST",
        'Content-Type: application/octet-stream; name="invite.ics"; method=REQUEST')
    yield "preamble-fake-boundary", (
        head("preamble-fake-boundary") + 'Content-Type: multipart/alternative; boundary="fk"\n\n'
        + "--fk-not-yet\n--fkx\n --fk\n--fk\nContent-Type: text/plain\n\nhello\n--fk\n"
        + CALPART + cal("preamble-fake-boundary") + "\n--fk--\n")
    yield "base64-short-lines", (
        alternative("base64-short-lines", 'boundary="b64"', "--b64", "--b64--"))
    yield "digest-default-type", (
        head("digest-default-type") + 'Content-Type: multipart/digest; boundary="dg"\n\n'
        + "--dg\n\n" + head("digest-inner") + 'Content-Type: multipart/alternative; '
        + 'boundary="di"\n\n--di\n' + CALPART + cal("digest-default-type") + "\n--di--\n\n"
        + "--dg--\n")


def nul_hides_request():
    """A clean REPLY, a NUL byte, and a broken REQUEST in one calendar part: libical reads a C
    string, so a filter that hands it the part as is sees only the clean REPLY."""
    reply = """BEGIN:VCALENDAR
PRODID:-//Example Corp//Hostile Shapes 1.0//EN
VERSION:2.0
METHOD:REPLY
BEGIN:VEVENT
UID:hostile-nul@example.com
DTSTAMP:20260601T104500Z
DTSTART:20260610T080000Z
SEQUENCE:0
ORGANIZER:mailto:alice@example.com
ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@example.net
X-MICROSOFT-CDO-ATTENDEE-CRITICAL-CHANGE:20260601T104500Z
END:VEVENT
END:VCALENDAR
"""
    request = cal("nul-hides-request").replace("METHOD:CANCEL", "METHOD:REQUEST").replace(
        "STATUS:CANCELLED\n", "").replace("DTSTAMP:20260601T104500Z", "DTSTAMP:garbage")
    return (head("nul-hides-request") + 'Content-Type: multipart/alternative; boundary="nul"\n\n'
            + "--nul\nContent-Type: text/calendar; charset=UTF-8; method=REPLY\n\n"
            + reply + "\0" + request + "\n--nul--\n")


def line_ends(text, eol):
    return text.replace("\n", eol)


def main():
    import base64
    for name, text in shapes():
        if name == "base64-short-lines":
            body = base64.b64encode(cal(name).replace("\n", "\r\n").encode()).decode()
            wrapped = "\n".join(body[i:i + 4] for i in range(0, len(body), 4))
            text = text.replace(CALPART + cal(name), CALPART.replace("7bit", "base64")
                                + wrapped + "\n")
        write(name + ".eml", line_ends(text, "\r\n"))
    write("nul-hides-request.eml", line_ends(nul_hides_request(), "\r\n"))
    text = alternative("cr-only", 'boundary="cr"', "--cr", "--cr--")
    write("cr-only.eml", line_ends(text, "\r"))
    text = alternative("lf-only", 'boundary="lf"', "--lf", "--lf--")
    write("lf-only.eml", text)
    text = alternative("mixed-line-ends", 'boundary="mx"', "--mx", "--mx--")
    write("mixed-line-ends.eml", text.replace("--mx\n", "--mx\r").replace("\nContent-", "\r\nContent-"))


def write(name, text):
    with open(os.path.join(HERE, name), "w", encoding="utf-8", newline="") as f:
        f.write(text)


if __name__ == "__main__":
    main()
