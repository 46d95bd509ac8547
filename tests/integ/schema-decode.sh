#!/bin/bash
# schema-decode.sh: tallyman-decode prints what is really in a stream.  Its
# JSON is compared with an independent decoding of the same bytes (Debian's
# python3-msgpack): kcat-style streams with and without newline separators,
# split records joined with --reassemble, --validate, a spool segment of
# common/zframe frames, a torn segment, damaged and truncated streams, and
# the rejection reasons --validate prints.
set -u
. "${top_srcdir:?}/tests/lib/tap.sh"

PY=/usr/bin/python3
SAMPLES=${top_builddir:?}/tests/unit/schema-samples
DECODE=${top_builddir}/schema/tallyman-decode
if ! "$PY" -c 'import msgpack' 2>/dev/null; then
	[ "${CI:-}" = true ] && tap_bail "python3-msgpack missing (scripts/install-deps.sh)"
	tap_skip_all "python3-msgpack missing (scripts/install-deps.sh installs it)"
fi
TMP=$(mktemp -d /tmp/tm-schema-XXXXXX) || tap_bail "mktemp failed"
cleanup() { rm -rf "$TMP"; }
tap_at_done cleanup
trap cleanup EXIT

# ref.py MODE FILE: the independent view.
#   decode  every msgpack message in FILE (newline bytes between messages
#           skipped), as JSON lines in tallyman-decode's JSON form
#   reasm   the same, with split records joined
#   norm    JSON lines from FILE, keys sorted (to compare)
#   make    write FILE: two hand-made bad records (v = 2; a pid as a string)
cat > "$TMP/ref.py" <<'PYEOF'
import base64, json, sys
import msgpack

def form(o):
    if isinstance(o, bytes):
        return {"$bin": base64.b64encode(o).decode()}
    if isinstance(o, msgpack.ExtType):
        return {"$ext": o.code, "$bin": base64.b64encode(o.data).decode()}
    if isinstance(o, dict):
        return {(k if isinstance(k, str) else json.dumps(form(k))): form(v)
                for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [form(x) for x in o]
    return o

def messages(data):
    pos = 0
    while pos < len(data):
        if data[pos] == 0x0a:
            pos += 1
            continue
        u = msgpack.Unpacker(raw=False, strict_map_key=False, max_buffer_size=0)
        u.feed(data[pos:])
        obj = u.unpack()
        pos += u.tell()
        yield obj

def dump(o):
    print(json.dumps(o, sort_keys=True, ensure_ascii=False))

mode, path = sys.argv[1], sys.argv[2]
if mode == "decode":
    for m in messages(open(path, "rb").read()):
        dump(form(m))
elif mode == "reasm":
    parts = {}
    for m in messages(open(path, "rb").read()):
        if "p" not in m:
            dump(form(m))
            continue
        key = (m["h"], m["s"])
        parts.setdefault(key, {})[m["p"][0]] = m["x"]
        if len(parts[key]) == m["p"][1]:
            whole = b"".join(parts[key][i] for i in range(m["p"][1]))
            dump(form(msgpack.unpackb(whole, raw=False)))
            del parts[key]
elif mode == "norm":
    for line in open(path, encoding="utf-8"):
        dump(json.loads(line))
elif mode == "make":
    base = {"v": 1, "h": "host-a", "s": 1, "t": 5, "k": "container",
            "b": {"rt": "docker", "id": "c1", "state": "running",
                  "procs": [{"pid": "12"}]}}
    newer = dict(base, v=2, s=2)
    with open(path, "wb") as f:
        f.write(msgpack.packb(newer) + b"\n" + msgpack.packb(base) + b"\n")
PYEOF
ref() { "$PY" "$TMP/ref.py" "$@"; }

# compare NAME GOT_JSON_LINES WANT_JSON_LINES(sorted)
compare() {
	ref norm "$2" > "$2.norm" 2>&1
	if cmp -s "$2.norm" "$3"; then
		tap_ok "$1"
	else
		tap_fail "$1" "$(diff "$2.norm" "$3" | cut -c1-300 | head -20)"
	fi
}

"$SAMPLES" --msgpack --newline > "$TMP/nl.bin" || tap_bail "no samples"
"$SAMPLES" --msgpack > "$TMP/raw.bin" || tap_bail "no samples"
"$SAMPLES" --segment > "$TMP/seg.bin" || tap_bail "no segment"
ref decode "$TMP/nl.bin" > "$TMP/want.json" || tap_bail "python decoder failed"
ref reasm "$TMP/nl.bin" > "$TMP/want-reasm.json" || tap_bail "python reassembly failed"
tap_is "$(wc -l < "$TMP/want.json")" 14 \
    "the sample stream holds 14 messages (12 records, 2 parts of a split image)"

"$DECODE" < "$TMP/nl.bin" > "$TMP/got.json"; rc=$?
tap_is "$rc" 0 "a newline-separated stream decodes with exit status 0"
compare "newline-separated stream (kcat -f '%s\\n') matches python-msgpack" \
    "$TMP/got.json" "$TMP/want.json"

"$DECODE" < "$TMP/raw.bin" > "$TMP/got-raw.json"
compare "back-to-back stream (kcat -f '%s') matches python-msgpack" \
    "$TMP/got-raw.json" "$TMP/want.json"

"$DECODE" --reassemble < "$TMP/nl.bin" > "$TMP/got-reasm.json"; rc=$?
tap_is "$rc:$(wc -l < "$TMP/got-reasm.json")" "0:13" \
    "--reassemble prints 13 records: the split image once, joined"
compare "--reassemble output matches python's own joining of the parts" \
    "$TMP/got-reasm.json" "$TMP/want-reasm.json"

"$DECODE" --validate --reassemble < "$TMP/raw.bin" > "$TMP/got-valid.json"; rc=$?
tap_is "$rc" 0 "--validate accepts every record the encoder wrote"
compare "--validate --reassemble shows each record as decoded, equal to the wire" \
    "$TMP/got-valid.json" "$TMP/want-reasm.json"

"$DECODE" < "$TMP/seg.bin" > "$TMP/got-seg.json"; rc=$?
tap_is "$rc:$(head -c 4 "$TMP/seg.bin")" "0:TMZ1" "a spool segment (TMZ1 frames) decodes"
compare "a spool segment shows the same 14 messages as the stream" \
    "$TMP/got-seg.json" "$TMP/want.json"

size=$(stat -c %s "$TMP/seg.bin")
head -c $((size - 10)) "$TMP/seg.bin" > "$TMP/torn.bin"
"$DECODE" < "$TMP/torn.bin" > "$TMP/got-torn.json"; rc=$?
tap_is "$rc" 1 "a torn segment exits with status 1"
head -n 13 "$TMP/want.json" > "$TMP/want-13.json"
head -n 13 "$TMP/got-torn.json" > "$TMP/got-torn-13.json"
compare "a torn segment still shows the 13 whole frames before the tear" \
    "$TMP/got-torn-13.json" "$TMP/want-13.json"
tap_like "$(tail -n 1 "$TMP/got-torn.json")" '^\{"error":"bad_frame","detail":"spool frame: short' \
    "the torn last frame is reported as bad_frame"

# Garbage after the third message: reported once, the rest still decoded.
third=$("$PY" -c '
import sys, msgpack
d = open(sys.argv[1], "rb").read(); pos = 0
for i in range(3):
    u = msgpack.Unpacker(max_buffer_size=0); u.feed(d[pos:]); u.unpack(); pos += u.tell() + 1
print(pos)' "$TMP/nl.bin")
{ head -c "$third" "$TMP/nl.bin"; printf '\xc1garbage\n'; tail -c +$((third + 1)) "$TMP/nl.bin"; } > "$TMP/damaged.bin"
"$DECODE" < "$TMP/damaged.bin" > "$TMP/got-damaged.json"; rc=$?
tap_is "$rc" 1 "a damaged stream exits with status 1"
tap_is "$(grep -c '"error"' "$TMP/got-damaged.json")" 1 "the damage is reported once"
tap_like "$(grep '"error"' "$TMP/got-damaged.json")" "\"malformed\".*\"offset\":$third\}" \
    "the report names malformed and the damaged byte's offset"
grep -v '"error"' "$TMP/got-damaged.json" > "$TMP/got-damaged-ok.json"
compare "every message after the damage is still decoded" \
    "$TMP/got-damaged-ok.json" "$TMP/want.json"

head -c $(( $(stat -c %s "$TMP/nl.bin") - 100 )) "$TMP/nl.bin" > "$TMP/trunc.bin"
"$DECODE" < "$TMP/trunc.bin" > "$TMP/got-trunc.json"; rc=$?
tap_like "$rc:$(tail -n 1 "$TMP/got-trunc.json")" '^1:\{"error":"malformed","detail":"truncated message at the end"' \
    "a stream cut inside its last message reports it truncated"

ref make "$TMP/bad.bin"
"$DECODE" --validate < "$TMP/bad.bin" > "$TMP/got-bad.json"; rc=$?
tap_is "$rc" 1 "--validate exits with status 1 when a record is rejected"
tap_like "$(sed -n 1p "$TMP/got-bad.json")" '^\{"rejected":"newer_major","detail":"v: major 2, we read 1","offset":0\}$' \
    "--validate names newer_major for a v = 2 record"
tap_like "$(sed -n 2p "$TMP/got-bad.json")" '^\{"rejected":"wrong_type","detail":"b.procs\[0\].pid: wrong type \(str, want uint\)","offset":[0-9]+\}$' \
    "--validate names wrong_type and the path for a pid sent as a string"

out=$("$DECODE" --help); rc=$?
tap_like "$rc:$out" '^0:Usage: tallyman-decode.*--validate.*--reassemble.*Exit status' \
    "--help documents the options and the exit status"
"$DECODE" --bogus </dev/null >/dev/null 2>&1; rc=$?
tap_is "$rc" 2 "an unknown option exits with status 2"
tap_like "$("$DECODE" --version)" '^tallyman-decode [0-9]' "--version prints the version"

tap_done
