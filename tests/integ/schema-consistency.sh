#!/bin/bash
# schema-consistency.sh: the spec's three forms agree.  For every struct of
# the wire format, the keys, their order, msgpack types, required flags,
# bounds, value checks (non-empty, SHA-256, closed sets) and one-line meanings
# are the same in schema/fields.c (dumped by schema-samples --fields), in the
# tables of schema/README.md, and in schema/*.schema.json.  The checker then
# proves it can fail: copies of the README and a schema with one row dropped,
# one bound changed and one closed-set value added must each be caught.
set -u
. "${top_srcdir:?}/tests/lib/tap.sh"

PY=/usr/bin/python3
SAMPLES=${top_builddir:?}/tests/unit/schema-samples
TMP=$(mktemp -d /tmp/tm-schema-XXXXXX) || tap_bail "mktemp failed"
cleanup() { rm -rf "$TMP"; }
tap_at_done cleanup
trap cleanup EXIT

tap_check "schema-samples dumps the field tables" \
    sh -c '"$1" --fields > "$2"' sh "$SAMPLES" "$TMP/fields.tsv" ||
    tap_bail "no field tables"

cat > "$TMP/check.py" <<'PYEOF'
import json, os, re, sys

tsv, sdir, readme = sys.argv[1], sys.argv[2], sys.argv[3]
KINDS = ["host", "heartbeat", "event", "container", "image", "drift"]
I64MAX = 2**63 - 1

# fields.c, as dumped
C = {}
for line in open(tsv):
    st, key, typ, req, mx, emx, chk, oneof, sub, doc = line.rstrip("\n").split("\t")
    C.setdefault(st, []).append(dict(key=key, type=typ, req=req == "required",
        max=int(mx), emax=int(emx), check=chk,
        oneof=None if oneof == "-" else oneof.split(","),
        sub=None if sub == "-" else sub, doc=doc))

# README tables: "<!-- fields: NAME -->" then a markdown table
R = {}
text = open(readme).read()
for m in re.finditer(r"<!-- fields: (\w+) -->\n((?:\|.*\n?)+)", text):
    rows = []
    for line in m.group(2).strip().split("\n")[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows.append(dict(key=cells[0].strip("`"), type=cells[1], req=cells[2],
                         bound=cells[3], meaning=cells[4]))
    R[m.group(1)] = rows

# JSON Schemas: the envelope, each kind's body, and their $defs
J = {}
for name in ["envelope"] + KINDS:
    s = json.load(open(os.path.join(sdir, name + ".schema.json")))
    J[name] = s
    for d, sub in s.get("$defs", {}).items():
        J[d] = sub

EXTRA = {"envelope": ["p", "x"]}    # written by split.c, not the tables
MDTYPE = dict(str="str", u64="uint", i64="int", bool="bool",
    strlist="array of str", kvlist="map of str to str", kind="str", body="map")

def md_type(f):
    if f["type"] == "struct":
        return "map: " + f["sub"]
    if f["type"] == "array":
        return "array of map: " + f["sub"]
    return MDTYPE[f["type"]]

def md_bound(f):
    t = f["type"]
    if t in ("str", "kind"):
        return "%d B" % f["max"]
    if t in ("strlist", "kvlist"):
        return "%d × %d B" % (f["max"], f["emax"])
    if t == "array":
        return "%d" % f["max"]
    return "—"

def json_expect(st, f):
    """What the JSON Schema property for f must say."""
    t = f["type"]
    if t == "str":
        if f["check"] == "oneof":
            return {"enum": f["oneof"]}
        e = {"type": "string", "maxLength": f["max"]}
        if f["check"] == "nonempty":
            e["minLength"] = 1
        if f["check"] == "sha256":
            e["pattern"] = "^[0-9a-f]{64}$"
        return e
    if t == "u64":
        if st == "envelope" and f["key"] == "v":
            return {"type": "integer", "minimum": 1, "maximum": 1}
        return {"type": "integer", "minimum": 0, "maximum": I64MAX}
    if t == "i64":
        return {"type": "integer", "minimum": -I64MAX - 1, "maximum": I64MAX}
    if t == "bool":
        return {"type": "boolean"}
    if t == "strlist":
        return {"type": "array", "maxItems": f["max"],
                "items": {"type": "string", "maxLength": f["emax"]}}
    if t == "kvlist":
        return {"type": "object", "maxProperties": f["max"],
                "propertyNames": {"maxLength": f["emax"]},
                "additionalProperties": {"type": "string", "maxLength": f["emax"]}}
    if t == "struct":
        return {"$ref": "#/$defs/" + f["sub"]}
    if t == "array":
        return {"type": "array", "maxItems": f["max"],
                "items": {"$ref": "#/$defs/" + f["sub"]}}
    if t == "kind":
        return {"enum": KINDS}
    if t == "body":
        return {"type": "object"}
    raise ValueError(t)

def check(st):
    bad = []
    cf = C.get(st)
    rf = R.get(st)
    jf = J.get(st)
    if cf is None or rf is None or jf is None:
        return ["missing in %s" % ", ".join(n for n, x in
                (("fields.c", cf), ("README", rf), ("JSON Schema", jf)) if x is None)]
    ckeys = [f["key"] for f in cf] + EXTRA.get(st, [])
    rkeys = [r["key"] for r in rf]
    jkeys = list(jf.get("properties", {}).keys())
    if ckeys != rkeys:
        bad.append("README keys %s != fields.c %s" % (rkeys, ckeys))
    if ckeys != jkeys:
        bad.append("JSON keys %s != fields.c %s" % (jkeys, ckeys))
    jreq = jf.get("required", [])
    if st == "envelope":    # in the oneOf branch of a whole record
        jreq = jf["oneOf"][0]["required"]
    creq = [f["key"] for f in cf if f["req"]]
    if sorted(jreq) != sorted(creq):
        bad.append("JSON required %s != fields.c %s" % (jreq, creq))
    rows = {r["key"]: r for r in rf}
    props = jf.get("properties", {})
    for f in cf:
        k = f["key"]
        r = rows.get(k)
        if r is not None:
            if r["type"] != md_type(f):
                bad.append("%s: README type '%s', want '%s'" % (k, r["type"], md_type(f)))
            if r["req"] != ("yes" if f["req"] else "no"):
                bad.append("%s: README required '%s'" % (k, r["req"]))
            if r["bound"] != md_bound(f):
                bad.append("%s: README bound '%s', want '%s'" % (k, r["bound"], md_bound(f)))
            if not r["meaning"].startswith(f["doc"]):
                bad.append("%s: README meaning '%s' does not start with '%s'" % (k, r["meaning"], f["doc"]))
            if f["check"] == "nonempty" and "not empty" not in r["meaning"]:
                bad.append("%s: README does not say 'not empty'" % k)
            if f["check"] == "sha256" and "64 lowercase hex digits" not in r["meaning"]:
                bad.append("%s: README does not say '64 lowercase hex digits'" % k)
            if f["check"] == "oneof":
                listed = re.findall(r"`([^`]+)`", r["meaning"].split("one of", 1)[-1])
                if listed != f["oneof"]:
                    bad.append("%s: README values %s != fields.c %s" % (k, listed, f["oneof"]))
        p = props.get(k)
        if p is not None:
            want = json_expect(st, f)
            got = {x: y for x, y in p.items() if x != "description"}
            if got != want:
                bad.append("%s: JSON %s, want %s" % (k, json.dumps(got), json.dumps(want)))
            if p.get("description") != f["doc"]:
                bad.append("%s: JSON description '%s' != '%s'" % (k, p.get("description"), f["doc"]))
    return bad

structs = list(C.keys())
extra = sorted(set(R) - set(C))
for st in structs:
    bad = check(st)
    print("%s\t%s\t%s" % ("ok" if not bad else "not ok",
        "%s: fields.c, README.md and the JSON Schema agree" % st, " | ".join(bad)))
print("%s\t%s\t%s" % ("ok" if not extra else "not ok",
    "README.md documents no struct that fields.c lacks", ", ".join(extra)))
PYEOF

report() {
	while IFS=$'\t' read -r verdict name detail; do
		if [ "$verdict" = ok ]; then
			tap_ok "$name"
		else
			tap_fail "$name" "$detail"
		fi
	done
}

S=${top_srcdir}/schema
report < <("$PY" "$TMP/check.py" "$TMP/fields.tsv" "$S" "$S/README.md" 2>&1 ||
    printf 'not ok\tchecker ran to the end\n')

# The checker can fail: each damaged copy must be caught.
mkdir -p "$TMP/bad"
cp "$S"/*.schema.json "$TMP/bad/"
damaged() {		# NAME: run the checker on $TMP/bad, expect a "not ok"
	local out
	out=$("$PY" "$TMP/check.py" "$TMP/fields.tsv" "$TMP/bad" "$TMP/bad/README.md" 2>&1)
	if grep -q '^not ok' <<<"$out"; then
		tap_ok "the checker catches $1"
	else
		tap_fail "the checker catches $1" "$out"
	fi
	cp "$S"/*.schema.json "$TMP/bad/"
	cp "$S/README.md" "$TMP/bad/README.md"
}
cp "$S/README.md" "$TMP/bad/README.md"
sed -i '/^| `pmiss` |/d' "$TMP/bad/README.md"
damaged "a README row dropped (container pmiss)"
sed -i 's/^| `comm` | str | no | 256 B |/| `comm` | str | no | 16 B |/' "$TMP/bad/README.md"
damaged "a README bound changed (process comm)"
sed -i 's/"maxLength": 4096/"maxLength": 4095/' "$TMP/bad/image.schema.json"
damaged "a JSON Schema bound changed (image)"
sed -i 's/"exited",/"exited", "dead",/' "$TMP/bad/container.schema.json"
damaged "a value added to a JSON Schema closed set (container state)"
grep -v '	sha256	' "$TMP/fields.tsv" > "$TMP/fields.tsv.new"
mv "$TMP/fields.tsv.new" "$TMP/fields.tsv"
damaged "a field missing from the tables (sha256)"

tap_done
