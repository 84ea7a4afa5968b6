#!/usr/bin/env python3
"""loadgen.py - parallel SMTP load for the load test (t/load.sh).

usage: loadgen.py HOST PORT SESSIONS COUNT RUN LIST OUT [FIRST]

Sends COUNT messages, numbered FIRST (default 1) on, over SESSIONS parallel SMTP sessions.
Every tenth message (number % 10 == 0) is a calendar message taken in turn from the files named
in LIST (one path per line); the others are plain text of varied size.  Each message gets the
Message-ID <load-RUN-NUMBER@itip-test.invalid> (an existing Message-ID header is replaced), so
that the test can count where each one went.  A session sends up to 100 messages, then QUITs and
reconnects; a refused or dropped connection is retried after a short pause, the message it was
sending counted as refused.

Writes one line per message to OUT: "NUMBER MESSAGE-ID CODE" where CODE is the server's final
answer (250 when accepted; 4xx/5xx; 0 when no connection could be made).  Prints a summary on
stdout.  Exit status 0 unless a thread failed unexpectedly.
"""
import re
import smtplib
import sys
import threading
import time

PER_SESSION = 100
RETRY_PAUSE = 0.2


def load_templates(list_path):
    out = []
    with open(list_path) as f:
        for line in f:
            path = line.strip()
            if path:
                with open(path, "rb") as m:
                    out.append(re.sub(rb"(?<!\r)\n", b"\r\n", m.read()))
    if not out:
        raise SystemExit("loadgen: no calendar messages in %s" % list_path)
    return out


def with_msgid(data, msgid):
    head, sep, body = data.partition(b"\r\n\r\n")
    lines = re.split(rb"\r\n(?![ \t])", head)
    lines = [l for l in lines if not l.lower().startswith(b"message-id:")]
    lines.insert(0, b"Message-ID: <" + msgid + b">")
    return b"\r\n".join(lines) + sep + body


def plain(num, msgid):
    words = b"The quarterly figures are attached below for review. " * (1 + num % 40)
    body = b"\r\n".join(words[i:i + 72] for i in range(0, len(words), 72))
    return (b"Message-ID: <" + msgid + b">\r\n"
            b"From: Load Sender <load@example.net>\r\n"
            b"To: rcpt@example.com\r\n"
            b"Subject: load message " + str(num).encode() + b"\r\n"
            b"Date: Mon, 01 Jun 2026 12:00:00 +0000\r\n"
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: text/plain; charset=us-ascii\r\n\r\n" + body + b"\r\n")


class Generator:
    def __init__(self, host, port, count, run, templates, first):
        self.host, self.port, self.run = host, port, run
        self.templates = templates
        self.next = first
        self.last = first + count - 1
        self.lock = threading.Lock()
        self.results = []

    def take(self):
        with self.lock:
            if self.next > self.last:
                return None
            n = self.next
            self.next += 1
            return n

    def message(self, num):
        msgid = ("load-%s-%d@itip-test.invalid" % (self.run, num)).encode()
        if num % 10 == 0:
            data = with_msgid(self.templates[(num // 10) % len(self.templates)], msgid)
        else:
            data = plain(num, msgid)
        return msgid.decode(), data

    def send(self, session, data):
        code, _ = session.mail("load@example.net")
        if code != 250:
            session.rset()
            return code
        code, _ = session.rcpt("rcpt@example.com")
        if code not in (250, 251):
            session.rset()
            return code
        code, _ = session.data(data)
        if code != 250:
            session.rset()
        return code

    def worker(self):
        session, sent = None, 0
        while True:
            num = self.take()
            if num is None:
                break
            msgid, data = self.message(num)
            code = 0
            try:
                if session is None:
                    session = smtplib.SMTP(self.host, self.port, local_hostname="load.example",
                                           timeout=60)
                    session.ehlo()
                    sent = 0
                code = self.send(session, data)
                sent += 1
                if sent >= PER_SESSION:
                    session.quit()
                    session = None
            except smtplib.SMTPResponseException as e:
                code, session = e.smtp_code, None
                time.sleep(RETRY_PAUSE)
            except (smtplib.SMTPException, OSError):
                code, session = 0 if code == 0 else code, None
                time.sleep(RETRY_PAUSE)
            with self.lock:
                self.results.append((num, msgid, code))
        if session is not None:
            try:
                session.quit()
            except (smtplib.SMTPException, OSError):
                pass


def main(argv):
    if len(argv) < 8:
        sys.stderr.write(__doc__)
        return 2
    host, port, sessions, count = argv[1], int(argv[2]), int(argv[3]), int(argv[4])
    run, list_path, out_path = argv[5], argv[6], argv[7]
    first = int(argv[8]) if len(argv) > 8 else 1
    gen = Generator(host, port, count, run, load_templates(list_path), first)
    threads = [threading.Thread(target=gen.worker) for _ in range(sessions)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.monotonic() - start
    with open(out_path, "w") as out:
        for num, msgid, code in sorted(gen.results):
            out.write("%d %s %d\n" % (num, msgid, code))
    codes = {}
    for _, _, code in gen.results:
        codes[code] = codes.get(code, 0) + 1
    print("loadgen: %d messages in %.1f s (%.0f/s); answers %s" %
          (len(gen.results), secs, len(gen.results) / secs if secs else 0,
           " ".join("%s:%d" % kv for kv in sorted(codes.items()))))
    return 0 if len(gen.results) == count else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
