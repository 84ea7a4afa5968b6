#!/usr/bin/env python3
"""gen.py - builds the TNEF test messages of t/rules/<id>/ (run from anywhere; rewrites them).

Each message is a multipart/mixed mail: a text/plain part and a winmail.dat part
(application/ms-tnef, base64) holding a TNEF stream written here after MS-OXTNEF 2.1.3:
signature 0x223E9F78, a legacy key, then attributes (level, id, length, data, checksum =
sum of the data bytes mod 65536): attTnefVersion, attOemCodepage, attMessageClass (the legacy
class spelling, as Outlook writes it), attDateStart/attDateEnd (DTR), and attMAPIProps
holding the MAPI properties the rules read (MS-OXCDATA types; named properties of
PSETID_Meeting and PSETID_Appointment as in MS-OXPROPS).  Damage (truncation, a wrong
checksum) is applied to the finished stream.  Also writes t/tnef/response-no-critical-change.eml
for t/postfix.sh.  Usage: python3 t/tnef/gen.py [--seeds DIR]
(--seeds: also write the bare streams there, for the fuzz corpus).
"""
import base64
import datetime
import os
import struct
import sys

TOP = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

PSETID_MEETING = bytes.fromhex("90DAD86E0B451B1098DA00AA003F1305")
PSETID_APPOINTMENT = bytes.fromhex("0220060000000000C000000000000046")
GOID_ID = bytes.fromhex("040000008200E00074C5B7101A82E008")

PT_LONG, PT_BOOLEAN, PT_STRING8, PT_UNICODE, PT_SYSTIME, PT_BINARY = 3, 0xB, 0x1E, 0x1F, 0x40, 0x102


def filetime(dt):
    return int((dt - datetime.datetime(1601, 1, 1)).total_seconds()) * 10**7


def attr(level, aid, data):
    return struct.pack("<BII", level, aid, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)


def pad4(b):
    return b + b"\0" * ((4 - len(b) % 4) % 4)


def value(ptype, v):
    if ptype == PT_LONG:
        return struct.pack("<i", v)
    if ptype == PT_BOOLEAN:
        return struct.pack("<I", 1 if v else 0)
    if ptype == PT_SYSTIME:
        return struct.pack("<Q", v)
    if ptype == PT_STRING8:
        b = v.encode("ascii") + b"\0"
    elif ptype == PT_UNICODE:
        b = v.encode("utf-16-le") + b"\0\0"
    else:
        b = v
    return struct.pack("<II", 1, len(b)) + pad4(b)


def prop(ptype, pid, v, guid=None, lid=None):
    """A property: PID for a tagged one, or GUID and LID for a named one (id 0x8000+)."""
    head = struct.pack("<HH", ptype, pid)
    if guid is not None:
        head += guid + struct.pack("<II", 0, lid)
    return head + value(ptype, v)


def goid(uid_data=b"itip-milter test meeting 0001", instance=b"\0\0\0\0"):
    created = struct.pack("<Q", filetime(datetime.datetime(2026, 5, 20, 9, 15)))
    return GOID_ID + instance + created + b"\0" * 8 + struct.pack("<I", len(uid_data)) + uid_data


def dtr(dt):
    return struct.pack("<7H", dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second,
                       (dt.weekday() + 1) % 7)


def stream(msg_class, props, start=datetime.datetime(2026, 6, 10, 9),
           end=datetime.datetime(2026, 6, 10, 10)):
    out = struct.pack("<IH", 0x223E9F78, 0x1234)
    out += attr(1, 0x00089006, b"\0\0\1\0")                    # attTnefVersion
    out += attr(1, 0x00069007, struct.pack("<II", 1252, 0))    # attOemCodepage
    out += attr(1, 0x00078008, msg_class.encode("ascii") + b"\0")  # attMessageClass
    if start is not None:
        out += attr(1, 0x00030006, dtr(start))                  # attDateStart
        out += attr(1, 0x00030007, dtr(end))                    # attDateEnd
    body = struct.pack("<I", len(props)) + b"".join(props)
    out += attr(1, 0x00069003, body)                            # attMAPIProps
    return out


def meeting_props(klass=None, with_goid=True, goid_value=None, att_cc=None, seq=0,
                  start=datetime.datetime(2026, 6, 10, 9), end=datetime.datetime(2026, 6, 10, 10),
                  clip_end=None):
    p = []
    if klass is not None:
        p.append(prop(PT_UNICODE, 0x001A, klass))               # PR_MESSAGE_CLASS
    p.append(prop(PT_UNICODE, 0x0037, "Quarterly planning"))    # PR_SUBJECT
    if with_goid:
        g = goid_value if goid_value is not None else goid()
        p.append(prop(PT_BINARY, 0x8000, g, PSETID_MEETING, 0x0003))   # PidLidGlobalObjectId
        p.append(prop(PT_BINARY, 0x8001, g, PSETID_MEETING, 0x0023))   # ...CleanGlobalObjectId
    p.append(prop(PT_SYSTIME, 0x8002, filetime(datetime.datetime(2026, 5, 20, 9, 15)),
                  PSETID_MEETING, 0x001A))                      # PidLidOwnerCriticalChange
    if att_cc is not None:
        p.append(prop(PT_SYSTIME, 0x8003, att_cc, PSETID_MEETING, 0x0001))  # ...AttendeeCC
    if seq is not None:
        p.append(prop(PT_LONG, 0x8004, seq, PSETID_APPOINTMENT, 0x8201))  # ...Sequence
    p.append(prop(PT_SYSTIME, 0x8005, filetime(start), PSETID_APPOINTMENT, 0x820D))
    p.append(prop(PT_SYSTIME, 0x8006, filetime(end), PSETID_APPOINTMENT, 0x820E))
    p.append(prop(PT_SYSTIME, 0x8007, filetime(start), PSETID_APPOINTMENT, 0x8235))
    p.append(prop(PT_SYSTIME, 0x8008, filetime(clip_end or end), PSETID_APPOINTMENT, 0x8236))
    return p


def message(name, to, subject, tnef, filename="winmail.dat", ctype="application/ms-tnef"):
    b = "=_tnef_" + name
    enc = base64.encodebytes(tnef).decode("ascii")
    return ("From: Bob Attendee <bob@example.net>\r\n"
            "To: %s\r\n"
            "Subject: %s\r\n"
            "Date: Mon, 01 Jun 2026 11:30:05 +0000\r\n"
            "Message-ID: <%s@example.net>\r\n"
            "MIME-Version: 1.0\r\n"
            "X-MS-TNEF-Correlator: <%s@example.net>\r\n"
            "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n"
            "--%s\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n"
            "Generated by t/tnef/gen.py (itip-milter test data).\r\n\r\n"
            "--%s\r\n"
            "Content-Type: %s; name=\"%s\"\r\n"
            "Content-Transfer-Encoding: base64\r\n"
            "Content-Disposition: attachment; filename=\"%s\"\r\n\r\n"
            "%s\r\n--%s--\r\n" % (to, subject, name, name, b, b, b, ctype, filename, filename,
                                  enc.replace("\n", "\r\n").rstrip("\r\n"), b))


LEGACY = "Larry Legacy <larry@legacy.example.org>"
ORG = "Olga Organizer <olga@example.com>"
NOTNEF = "Nora <nora@notnef.example.org>"
CC_OK = filetime(datetime.datetime(2026, 6, 1, 11, 30))
REQ, RESP = "IPM.Microsoft Schedule.MtgReq", "IPM.Microsoft Schedule.MtgRespP"


def req(**kw):
    return stream(REQ, meeting_props(**kw))


def resp(**kw):
    kw.setdefault("att_cc", CC_OK)
    return stream(RESP, meeting_props(**kw))


def bad_checksum(s):
    return s[:-1] + bytes([s[-1] ^ 0x5A])


def note(props=None):
    return stream("IPM.Microsoft Mail.Note", props or [prop(PT_UNICODE, 0x0037, "Lunch?")],
                  start=None)


# (rule directory, file name, To:, subject, TNEF bytes[, filename, content type])
CASES = [
    ("tnef-corrupt", "pos-would-fail-truncated-response.eml", LEGACY, "Accepted: Quarterly planning",
     resp(att_cc=CC_OK)[:-40]),
    ("tnef-corrupt", "pos-would-fail-bad-checksum-request.eml", ORG, "Quarterly planning",
     bad_checksum(req())),
    ("tnef-corrupt", "neg-valid-request.eml", ORG, "Quarterly planning", req()),
    ("tnef-corrupt", "neg-truncated-note.eml", ORG, "Lunch?", note()[:-7]),
    ("tnef-corrupt", "neg-winmail-dat-octet-stream.eml", ORG, "Quarterly planning", req(),
     "WINMAIL.DAT", "application/octet-stream"),
    ("tnef-to-non-tnef-domain", "pos-would-fail-request-to-non-tnef-domain.eml", NOTNEF,
     "Quarterly planning", req()),
    ("tnef-to-non-tnef-domain", "pos-would-fail-response-winmail-dat-octet-stream.eml", NOTNEF,
     "Accepted: Quarterly planning", resp(klass="IPM.Schedule.Meeting.Resp.Pos"),
     "winmail.dat", "application/octet-stream"),
    ("tnef-to-non-tnef-domain", "neg-request-to-tnef-domain.eml", ORG, "Quarterly planning",
     req()),
    ("tnef-to-non-tnef-domain", "pos-info-request-to-unknown-domain.eml",
     "Uma <uma@unknown.example>", "Quarterly planning", req()),
    ("tnef-to-non-tnef-domain", "neg-note-to-non-tnef-domain.eml", NOTNEF, "Lunch?", note()),
    ("reply-attendee-critical-change-missing", "pos-would-fail-tnef-response-legacy-organizer.eml",
     LEGACY, "Accepted: Quarterly planning", stream(RESP, meeting_props(att_cc=None))),
    ("reply-attendee-critical-change-missing", "pos-info-tnef-tentative-current-organizer.eml",
     ORG, "Tentative: Quarterly planning",
     stream(RESP, meeting_props(klass="IPM.Schedule.Meeting.Resp.Tent", att_cc=None))),
    ("reply-attendee-critical-change-missing", "neg-tnef-response-with-critical-change.eml",
     LEGACY, "Accepted: Quarterly planning", resp()),
    ("reply-attendee-critical-change-invalid", "pos-would-fail-tnef-legacy-filetime-zero.eml",
     LEGACY, "Accepted: Quarterly planning", resp(att_cc=0)),
    ("reply-attendee-critical-change-invalid", "pos-degrade-tnef-sentinel-4501.eml", ORG,
     "Accepted: Quarterly planning",
     resp(att_cc=filetime(datetime.datetime(4501, 1, 1)))),
    ("reply-attendee-critical-change-invalid", "neg-tnef-valid.eml", LEGACY,
     "Declined: Quarterly planning",
     stream("IPM.Microsoft Schedule.MtgRespN", meeting_props(att_cc=CC_OK))),
    ("vevent-missing-uid", "pos-would-fail-tnef-request-without-goid.eml", ORG,
     "Quarterly planning", req(with_goid=False)),
    ("vevent-missing-uid", "neg-tnef-request-with-goid.eml", ORG, "Quarterly planning", req()),
    ("uid-goid-prefix-malformed", "pos-degrade-tnef-goid-hex-text.eml", ORG, "Quarterly planning",
     req(goid_value=goid().hex().upper().encode("ascii"))),
    ("uid-goid-prefix-malformed", "pos-degrade-tnef-goid-size-mismatch.eml", ORG,
     "Quarterly planning", req(goid_value=goid() + b"XY")),
    ("uid-goid-prefix-malformed", "neg-tnef-valid-goid.eml", ORG, "Quarterly planning", req()),
    ("datetime-out-of-outlook-range", "pos-would-fail-tnef-start-after-4500.eml", ORG,
     "Quarterly planning", stream(REQ, meeting_props(start=datetime.datetime(4501, 3, 1, 9),
                                                     end=datetime.datetime(4501, 3, 1, 10)),
                                  start=datetime.datetime(4501, 3, 1, 9),
                                  end=datetime.datetime(4501, 3, 1, 10))),
    ("datetime-out-of-outlook-range", "pos-degrade-tnef-clip-end-after-4500.eml", ORG,
     "Quarterly planning", req(clip_end=datetime.datetime(4600, 1, 1))),
    ("datetime-out-of-outlook-range", "neg-tnef-no-end-series.eml", ORG, "Quarterly planning",
     req(clip_end=datetime.datetime(4500, 9, 1, 3, 59))),
    ("sequence-out-of-range", "pos-degrade-tnef-negative-sequence.eml", ORG, "Quarterly planning",
     req(seq=-3)),
    ("sequence-out-of-range", "neg-tnef-sequence-zero.eml", ORG, "Quarterly planning", req(seq=0)),
]

CONF = {
    "tnef-corrupt": None,
    "tnef-to-non-tnef-domain": "# the domain notnef.example.org cannot read TNEF (winmail.dat),\n"
                               "# example.com can\n"
                               "non_tnef_domains = [ \"notnef.example.org\" ];\n"
                               "tnef_domains = [ \"example.com\" ];\n",
}


def main():
    seeds = None
    if len(sys.argv) == 3 and sys.argv[1] == "--seeds":
        seeds = sys.argv[2]
        os.makedirs(seeds, exist_ok=True)
    for case in CASES:
        rule, name, to, subject, tnef = case[:5]
        extra = case[5:]
        d = os.path.join(TOP, "t", "rules", rule)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, name), "w", newline="") as f:
            f.write(message(rule + "." + name[:-4], to, subject, tnef, *extra))
        if seeds:
            with open(os.path.join(seeds, rule + "." + name[:-4] + ".tnef"), "wb") as f:
                f.write(tnef)
    # the Postfix test (t/postfix.sh, whose configuration lists legacy.example): a response
    # without PidLidAttendeeCriticalChange to an Exchange 2003 organizer, to be held
    with open(os.path.join(TOP, "t", "tnef", "response-no-critical-change.eml"), "w",
              newline="") as f:
        f.write(message("tnef.response-no-critical-change", "Larry <larry@legacy.example>",
                        "Accepted: Quarterly planning", stream(RESP, meeting_props(att_cc=None))))
    for rule, conf in CONF.items():
        if conf:
            with open(os.path.join(TOP, "t", "rules", rule, "test.conf"), "w") as f:
                f.write(conf)


if __name__ == "__main__":
    main()
