#!/usr/bin/python3
# hostile-records.py: hostile Kafka messages for the collector's tests
# (tests/integ/collector-hostile.sh), written with Debian's python3-msgpack,
# independently of our codec: each one is what a broken or malicious agent
# could send, and each must be refused with a named reason.
#
#   hostile-records.py hostile DIR HOST SEQ
#   hostile-records.py odd DIR HOST
#   hostile-records.py split DIR HOST SEQ OTHER
#
# hostile: HOST is a host the collector already knows (the messages are
# keyed by it, so their rejects count under it); SEQ is the highest
# sequence number it has sent.  Writes DIR/NNN.msg (one message each) and
# DIR/manifest.tsv, one line per message: "FILE<TAB>KEY<TAB>REASON<TAB>WHAT",
# REASON being the reject reason the collector must count ("-" for a
# message that is not refused on its own: the first part of a split
# record).  KEY "-" means a message without a key.
#
# odd: valid records of a new host HOST (sequence 1, 2, ...) whose strings
# are what a hostile container controls: invalid UTF-8, terminal escapes and
# other control characters in names, labels, process names and package
# names.  They are accepted; the API must still answer valid JSON and the
# query tool must not print the escapes.  Same files, REASON "-".
#
# split: a valid container record of HOST with sequence SEQ, over 512 KiB,
# split as schema/README.md says (DIR/part0.msg, DIR/part1.msg), and a
# small valid record of host OTHER, sequence 1 (DIR/other.msg): parts of
# one host's record with another host's record between them, as hosts
# sharing a partition make them.
import os
import random
import struct
import sys

import msgpack

mode, out, host = sys.argv[1], sys.argv[2], sys.argv[3]
seq = int(sys.argv[4]) if mode in ("hostile", "split") else 0
os.makedirs(out, exist_ok=True)
manifest = []
rnd = random.Random(6)


def emit(data, reason, what, key=None):
    name = "%03d.msg" % len(manifest)
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
    manifest.append((name, key if key is not None else host, reason, what))


def pack(o):
    return msgpack.packb(o, use_bin_type=True)


def env(body, kind="container", h=None, s=None, v=1, **extra):
    e = {"v": v, "h": host if h is None else h, "s": seq if s is None else s,
         "t": 1700000000000000000, "k": kind, "b": body}
    e.update(extra)
    return e


def ctr(**extra):
    b = {"rt": "docker", "id": "hostile", "state": "running"}
    b.update(extra)
    return b


def hostile():
    # Not msgpack at all, or not what it claims.
    emit(b"this is not msgpack, it is text from a confused producer\n",
         "malformed", "plain text (a fixint followed by trailing bytes)")
    emit(b"\xc1" + bytes(rnd.getrandbits(8) for _ in range(2048)),
         "malformed", "random bytes after the never-used byte 0xc1")
    emit(pack(env(ctr()))[:-7], "malformed", "a valid record cut short")
    emit(pack(env(ctr())) + b"\x00", "malformed", "a valid record with a trailing byte")
    # Length headers that lie: 100 MiB claimed, a few bytes present.
    emit(b"\x86\xa1v\x01\xa1h\xdb" + struct.pack(">I", 100 << 20) + b"host",
         "malformed", "str32 header claiming a 100 MiB host id")
    emit(b"\x86\xa1v\x01\xa1b\xdd" + struct.pack(">I", 0xffffffff) + b"\x01\x02",
         "malformed", "array32 header claiming 4 294 967 295 entries")
    emit(b"\x87\xa1v\x01\xa1p\x92\x00\x02\xa1x\xc6" + struct.pack(">I", 100 << 20)
         + b"chunk", "malformed", "bin32 part chunk claiming 100 MiB")
    emit(b"\xdf" + struct.pack(">I", 0x7fffffff) + b"\xa1v\x01",
         "malformed", "map32 header claiming 2^31 pairs")
    # Shapes and types.
    emit(pack([1, host, seq, 0, "container", {}]), "not_map", "envelope is an array")
    emit(pack(env(["not", "a", "map"])), "not_map", "body is an array")
    nest = "leaf"
    for _ in range(200):
        nest = [nest]
    emit(pack(env(ctr(labels={"a": "b"}, cmd=nest))), "too_deep",
         "200 nested arrays in a body")
    emit(pack(env(ctr(), s=str(seq + 1))), "wrong_type", "sequence as a string")
    emit(pack(env(ctr(procs=[{"pid": "1234"}]))), "wrong_type",
         "a process's pid as a string")
    emit(pack(env(ctr(risk={"priv": "yes"}))), "wrong_type", "privileged as a string")
    emit(pack(env(ctr(name=None))), "wrong_type", "nil where a string is expected")
    emit(pack(env(ctr(labels={1: "x"}))), "wrong_type", "a label map with an integer key")
    e = env(ctr())
    del e["h"]
    emit(pack(e), "missing_key", "no host id")
    emit(pack(env({"rt": "docker", "state": "running"})), "missing_key",
         "container without an id")
    emit(pack(env(ctr(name="n" * 300))), "string_too_long", "a 300-byte name")
    emit(pack(env(ctr(risk={"capadd": ["CAP_X"] * 300}))), "array_too_long",
         "300 capabilities added")
    emit(pack(env(ctr(), kind="rootkit")), "unknown_kind", "kind 'rootkit'")
    emit(pack(env(ctr(), v=2)), "newer_major", "schema major 2")
    emit(pack(env(ctr(), v=99, kind="future", b2="x")), "newer_major",
         "schema major 99 with unknown keys")
    emit(pack(env(ctr(state="zombie"))), "bad_value", "state 'zombie'")
    emit(pack(env(ctr(name="evil\x00name"))), "bad_value", "a NUL byte in a name")
    emit(pack(env(ctr(), s=(1 << 64) - 1)), "bad_value", "sequence 2^64-1")
    emit(pack(env(ctr(procs=[{"pid": 7, "sha256": "not-hex"}]))), "bad_value",
         "sha256 that is not hex")
    # The collector's own checks: a forged host id, a sequence far ahead.
    emit(pack(env(ctr(), h="victim-host")), "key_mismatch",
         "host id 'victim-host' in a message keyed by another host")
    emit(pack(env(ctr(), s=seq + (1 << 40))), "seq_jump",
         "sequence 2^40 ahead of the host's highest")
    # Split records: parts that cannot be right.
    whole = pack(env(ctr(name="split")))
    half = len(whole) // 2


    def part(i, n, chunk, s=seq + 100, kind="container", h=None):
        return pack({"v": 1, "h": host if h is None else h, "s": s,
                     "t": 1700000000000000000, "k": kind, "p": [i, n],
                     "x": chunk})


    emit(part(3, 2, whole[:half]), "bad_part", "part index 3 of 2")
    emit(part(0, 1, whole), "bad_part", "a record 'split' in one part")
    emit(part(0, 1000, whole[:half]), "bad_part", "1000 parts (over 256)")
    emit(part(0, 2, b""), "bad_part", "an empty chunk")
    emit(part(0, 3, whole[:half], s=seq + 101), "-",
         "first part of a record of three (held)")
    emit(part(1, 4, whole[half:], s=seq + 101), "bad_part",
         "second part of the same record claiming four parts")
    emit(part(0, 2, whole[:half], s=seq + 102), "-",
         "first part of a truncated record (held)")
    emit(part(1, 2, whole[half:-9], s=seq + 102), "malformed",
         "last part: the joined record is truncated")
    forged = pack(env(ctr(), h="victim-host", s=seq + 103))
    emit(part(0, 2, forged[:40], s=seq + 103), "-", "first part (held)")
    emit(part(1, 2, forged[40:], s=seq + 103), "bad_part",
         "last part: the joined record's host id differs from its parts'")
    emit(part(0, 2, whole[:half], s=seq + 104, kind="nonsense"), "unknown_kind",
         "a part of an unknown kind")
    emit(part(0, 2, whole[:half], s=seq + 105)[:-3], "malformed", "a part cut short")
    emit(part(0, 2, whole[:half], s=seq + 106), "-",
         "first part of a record whose second never comes (held)")
    # Bigger than any message may be.
    emit(pack(env(ctr(), pad=b"\x00" * (600 * 1024))), "too_large",
         "a 600 KiB message (over 516 KiB)")
    # No key at all: counted, but under no host.
    emit(pack(env(ctr(), h="no-key-host")), "key_mismatch",
         "a record sent without a message key", key="-")


def odd():
    esc = "\x1b]0;owned\x07\x1b[2J\x1b[31m"
    bad = b"\xff\xfe\xc0\xaf-not-utf8"
    recs = [
        ("host", {"hn": "odd" + esc, "agent": "1.0\r\n" + esc}),
        ("image", {"key": "img-odd", "os": "debian", "osv": "12",
                   "pkgs": [{"eco": "dpkg", "name": "pkg" + esc,
                             "ver": "1.0", "sname": bad}]}),
        ("container", {"rt": "docker", "id": "ctr-odd-1",
                       "name": bad, "state": "running", "ikey": "img-odd",
                       "img": "img" + esc,
                       "labels": {"k" + esc: "v" + esc, "plain": bad,
                                  "com.example.team": "blue",
                                  "when": "2026-\x1b[2J-06T00:00:00Z"},
                       "procs": [{"pid": 4242, "comm": esc + "sh",
                                  "exe": b"/bin/\xff\x01",
                                  "args": ["sh", "-c", esc]}]}),
        ("container", {"rt": "docker", "id": "ctr-odd-2",
                       "name": "tab\tnew\nline" + esc, "state": "running"}),
    ]
    for i, (kind, b) in enumerate(recs):
        # bytes as msgpack str (not bin): invalid UTF-8 where text goes.
        emit(msgpack.packb({"v": 1, "h": host, "s": i + 1,
                            "t": 1700000000000000000, "k": kind, "b": b},
                           use_bin_type=False), "-", "odd " + kind)


def split(other):
    labels = {"label-%03d" % i: "v" * 3000 for i in range(200)}
    whole = pack(env(ctr(id="ctr-split", labels=labels)))
    part_max = 512 * 1024
    assert part_max < len(whole) <= 2 * part_max
    for i in range(2):
        data = pack({"v": 1, "h": host, "s": seq, "t": 1700000000000000000,
                     "k": "container", "p": [i, 2],
                     "x": whole[i * part_max:(i + 1) * part_max]})
        with open(os.path.join(out, "part%d.msg" % i), "wb") as f:
            f.write(data)
    with open(os.path.join(out, "other.msg"), "wb") as f:
        f.write(pack(env(ctr(id="ctr-other"), h=other, s=1)))


if mode == "hostile":
    hostile()
elif mode == "split":
    split(sys.argv[5])
else:
    odd()

with open(os.path.join(out, "manifest.tsv"), "w") as f:
    for m in manifest:
        f.write("\t".join(m) + "\n")
