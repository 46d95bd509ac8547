#!/bin/bash
# schema-jsonschema.sh: the real encoder's output, converted to JSON, is valid
# against schema/*.schema.json by an independent validator (Debian's
# python3-jsonschema, draft 2020-12): every kind with every field set and with
# only the required ones, and a part of a split record.  A strict pass (no key
# outside the schema) proves the encoder writes nothing undocumented, and
# broken samples prove the schemas do reject.
set -u
. "${top_srcdir:?}/tests/lib/tap.sh"

PY=/usr/bin/python3
SAMPLES=${top_builddir:?}/tests/unit/schema-samples
if ! "$PY" -c 'import jsonschema' 2>/dev/null; then
	[ "${CI:-}" = true ] && tap_bail "python3-jsonschema missing (scripts/install-deps.sh)"
	tap_skip_all "python3-jsonschema missing (scripts/install-deps.sh installs it)"
fi
TMP=$(mktemp -d /tmp/tm-schema-XXXXXX) || tap_bail "mktemp failed"
cleanup() { rm -rf "$TMP"; }
tap_at_done cleanup
trap cleanup EXIT

tap_check "schema-samples writes the encoder's JSON samples" \
    "$SAMPLES" --json "$TMP" || tap_bail "no samples"
n=$(ls "$TMP"/*.json | wc -l)
tap_is "$n" 13 "13 samples: 6 kinds full and minimal, and one part"

while IFS=$'\t' read -r verdict name detail; do
	if [ "$verdict" = ok ]; then
		tap_ok "$name"
	else
		tap_fail "$name" "$detail"
	fi
done < <("$PY" - "$top_srcdir/schema" "$TMP" <<'PYEOF' 2>&1 || echo "not ok	python checker ran to the end	exit status $?"
import copy, glob, json, os, sys
import jsonschema

sdir, tmp = sys.argv[1], sys.argv[2]
kinds = ["host", "heartbeat", "event", "container", "image", "drift"]
schemas = {}
for name in ["envelope"] + kinds:
    with open(os.path.join(sdir, name + ".schema.json")) as f:
        schemas[name] = json.load(f)
V = jsonschema.Draft202012Validator

def say(ok, name, detail=""):
    print("%s\t%s\t%s" % ("ok" if ok else "not ok", name, detail.replace("\n", " ")))

for name, s in schemas.items():
    try:
        V.check_schema(s)
        say(True, "%s.schema.json is a valid draft 2020-12 schema" % name)
    except jsonschema.SchemaError as e:
        say(False, "%s.schema.json is a valid draft 2020-12 schema" % name, e.message)

def strict(s):
    """Every object with properties gets additionalProperties: false."""
    s = copy.deepcopy(s)
    def walk(o):
        if isinstance(o, dict):
            if "properties" in o and "additionalProperties" not in o:
                o["additionalProperties"] = False
            for k, v in o.items():
                if k not in ("if", "then"):   # conditions, not shapes
                    walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(s)
    return s

def validator(store_schemas):
    store = {s["$id"]: s for s in store_schemas.values()}
    env = store_schemas["envelope"]
    res = jsonschema.RefResolver(base_uri=env["$id"], referrer=env, store=store)
    return V(env, resolver=res), res

loose, res_loose = validator(schemas)
strict_schemas = {k: strict(v) for k, v in schemas.items()}
tight, res_tight = validator(strict_schemas)

def errors(v, doc):
    return "; ".join("%s: %s" % ("/".join(map(str, e.absolute_path)), e.message)
                     for e in v.iter_errors(doc))[:400]

samples = sorted(glob.glob(os.path.join(tmp, "*.json")))
for path in samples:
    name = os.path.basename(path)[:-5]
    with open(path) as f:
        doc = json.load(f)
    e = errors(loose, doc)
    say(not e, "sample %s is valid against envelope.schema.json" % name, e)
    e = errors(tight, doc)
    say(not e, "sample %s has no key outside the schemas (strict)" % name, e)
    if "b" in doc:
        kind = doc["k"]
        e = errors(V(schemas[kind]), doc["b"])
        say(not e, "sample %s body is valid against %s.schema.json" % (name, kind), e)

def load(name):
    with open(os.path.join(tmp, name + ".json")) as f:
        return json.load(f)

def must_fail(name, doc):
    e = errors(loose, doc)
    say(bool(e), "schemas reject " + name, "" if e else "accepted")

d = load("container-full"); del d["b"]["id"]
must_fail("a container without its required id", d)
d = load("container-full"); d["b"]["procs"][0]["sha256"] = "ABC"
must_fail("a process sha256 that is not 64 lowercase hex digits", d)
d = load("container-full"); d["b"]["state"] = "zombie"
must_fail("a container state outside the closed set", d)
d = load("container-full"); d["b"]["risk"]["priv"] = 1
must_fail("a risk flag that is not a boolean", d)
d = load("host-min"); d["b"]["hn"] = "x" * 257
must_fail("a host name over 256 bytes", d)
d = load("heartbeat-min"); d["b"]["up"] = -1
must_fail("a negative unsigned counter", d)
d = load("drift-full"); d["b"]["files"][0]["chg"] = "renamed"
must_fail("a drift change outside the closed set", d)
d = load("event-min"); d["v"] = 2
must_fail("a newer major version", d)
d = load("event-min"); d["k"] = "hostess"
must_fail("an unknown kind", d)
d = load("part"); d["b"] = {}
must_fail("a part that also carries a body", d)
d = load("part"); d["p"] = [3, 300]
must_fail("a part count over 256", d)
d = load("image-full"); d["b"]["pkgs"][0]["ver"] = ""
must_fail("an empty package version", d)
for where in ["envelope", "body", "process"]:
    d = load("container-full")
    {"envelope": d, "body": d["b"], "process": d["b"]["procs"][0]}[where]["zz"] = 1
    e = errors(tight, d)
    say(bool(e), "the strict pass catches an undocumented key in the " + where,
        "" if e else "accepted")
PYEOF
)
tap_done
