#!/bin/bash
# version-oracle.sh: our version orders agree with the distros' own tools on
# thousands of generated pairs.
#
#   dpkg: every pair asked of `dpkg --compare-versions` (one generated shell
#         script per batch, one sh process, so no per-pair shell loop);
#   rpm:  every pair asked of rpm's own EVR comparison, rpm.vercmp() in rpm's
#         Lua, all pairs of a batch in one `rpm --eval` (a Lua file);
#   apk:  apk-tools is not packaged for Debian 12, so there is no oracle;
#         tests/unit/test-version-apk.c checks apk-tools' published vectors.
#
# Pairs come from tests/integ/version-pairs (tests/lib/version-gen.c) with a
# fixed seed (VERSION_ORACLE_SEED to change it), in four kinds: near (one
# small edit), random, long (20-60 digit runs), backport (+deb7u4 style).
# Every mismatch is a failure that lists the pair and both answers.  dpkg's
# parser also judges 1000 versions with random characters put in, against
# our valid() (see check_dpkg_validity for the rules).
set -u

. "$(dirname "$0")/../lib/harness.sh"
harness_init
# dpkg and rpm are the oracles: skip without them (bail in CI).
harness_require_cmd dpkg rpm
tmp=$TM_TMP
PAIRS="$top_builddir/tests/integ/version-pairs"
SEED="${VERSION_ORACLE_SEED:-20140407}"

if [ ! -x "$PAIRS" ]; then
	tap_bail "$PAIRS is not built"
fi

# oracle_dpkg PAIRS OUT: one line '<', '=', '>' (or E) per "A<TAB>B..." line.
oracle_dpkg() {
	{
		cat <<'EOF'
c() {
	dpkg --compare-versions "$1" lt "$2" 2>/dev/null
	case $? in
	0) echo '<' ;;
	1)	dpkg --compare-versions "$1" gt "$2" 2>/dev/null
		case $? in 0) echo '>' ;; 1) echo '=' ;; *) echo E ;; esac ;;
	*) echo E ;;
	esac
}
EOF
		# Versions hold no quote: single-quoting them is safe.
		awk -F '\t' '{ printf "c '\''%s'\'' '\''%s'\''\n", $1, $2 }' "$1"
	} >"$tmp/dpkg-oracle.sh"
	sh "$tmp/dpkg-oracle.sh" >"$2"
}

# oracle_rpm PAIRS OUT: the same with rpm.vercmp, 1000 pairs per Lua file.
oracle_rpm() {
	rm -f "$tmp"/rpm-oracle-*.lua
	awk -F '\t' -v dir="$tmp" '
		NR % 1000 == 1 {
			if (f != "") close(f)
			f = sprintf("%s/rpm-oracle-%06d.lua", dir, NR)
			print "local function w(a, b) local r = rpm.vercmp(a, b) io.write(r < 0 and \"<\" or (r > 0 and \">\" or \"=\"), \"\\n\") end" >f
		}
		{ printf "w(\"%s\", \"%s\")\n", $1, $2 >f }
	' "$1"
	: >"$2"
	for f in "$tmp"/rpm-oracle-*.lua; do
		[ -e "$f" ] || continue
		# --eval ends its output with an empty line: drop it.
		rpm --eval "%{lua: dofile(\"$f\")}" >"$tmp/rpm.out" \
		    2>"$tmp/rpm.err" || { cat "$tmp/rpm.err" >&2; return 1; }
		sed '/^$/d' "$tmp/rpm.out" >>"$2"
	done
}

# compare_with SCHEME TOOL PAIRS ORACLE-OUT LABEL: one TAP line.
compare_with() {
	scheme=$1 tool=$2 pairs=$3 out=$4 label=$5
	n=$(wc -l <"$pairs")
	m=$(wc -l <"$out")
	if [ "$n" -ne "$m" ]; then
		tap_fail "$label: $tool answered $m of $n pairs"
		return
	fi
	bad=$(paste "$pairs" "$out" | awk -F '\t' -v tool="$tool" \
	    -v list="$tmp/mismatches" '
		$3 != $4 { bad++; if (bad <= 50)
			printf "mismatch: %s %s ours=%s %s=%s\n", $1, $2, $3,
			    tool, $4 >list }
		END { print bad + 0 }')
	if [ "$bad" -eq 0 ]; then
		tap_ok "$label: $n pairs agree with $tool"
	else
		tap_fail "$label: $bad of $n pairs disagree with $tool (50 at most listed)"
		tap_diag "$(cat "$tmp/mismatches")"
		rm -f "$tmp/mismatches"
	fi
	total_pairs=$((total_pairs + n))
}

# The hand-picked pairs: the ones an operator asks about.
documented_pairs() {
	case $1 in
	dpkg) printf '%s\t%s\n' \
		1.0.1e-2+deb7u4 1.0.1e-2+deb7u5 \
		1.0.1e-2+deb7u9 1.0.1e-2+deb7u10 \
		1.0.1e-2~bpo60+1 1.0.1e-2 \
		1:1.0 2.0 \
		'1.0~~' '1.0~~a' '1.0~~a' '1.0~' '1.0~' 1.0 1.0 1.0a \
		1.0 1.0-0 1.09 1.9 2.2~rc-4 2.2-1 \
		1.000000000000000000000000000000000001 1.1 \
		99999999999999999999999999999999 100000000000000000000000000000000 \
		abc 1.0 0:abc3-0 abc3 ;;
	rpm) printf '%s\t%s\n' \
		1.1.1k-7.el8_6 1.1.1k-12.el8_9 \
		1:1.0-1 2.0-1 0:1.0 1.0 1.0 1.0-1 \
		1.0~rc1 1.0 1.0~rc1 1.0~ 1.0^git1 1.0 1.0^git1 1.0.1 \
		1.0^ 1.0 10.0001 10.1 2_0 2.0 xyz.4 8 \
		1.000000000000000000000000000000000001 1.1 \
		99999999999999999999999999999999 100000000000000000000000000000000 ;;
	esac
}

# check_scheme SCHEME TOOL ORACLE KIND:COUNT...: the documented pairs, then
# COUNT generated pairs of each KIND, asked of the tool.
check_scheme() {
	scheme=$1 tool=$2 oracle=$3
	shift 3
	total_pairs=0

	documented_pairs "$scheme" | "$PAIRS" "$scheme" - >"$tmp/$scheme-doc.pairs"
	"$oracle" "$tmp/$scheme-doc.pairs" "$tmp/$scheme-doc.out"
	compare_with "$scheme" "$tool" "$tmp/$scheme-doc.pairs" \
	    "$tmp/$scheme-doc.out" "$scheme documented pairs"

	for spec in "$@"; do
		kind=${spec%%:*} count=${spec#*:}
		p="$tmp/$scheme-$kind.pairs"
		if ! "$PAIRS" "$scheme" "$kind" "$SEED" "$count" >"$p"; then
			tap_fail "$scheme $kind: the generator failed"
			continue
		fi
		"$oracle" "$p" "$tmp/$scheme-$kind.out"
		compare_with "$scheme" "$tool" "$p" "$tmp/$scheme-$kind.out" \
		    "$scheme $kind (seed $SEED)"
	done

	# The run means something only if all three answers come up often.
	cat "$tmp/$scheme"-*.pairs | awk -F '\t' -v s="$scheme" '
		{ c[$3]++ }
		END {
			printf "%s answers: < %d, = %d, > %d\n", s, c["<"], c["="], c[">"]
			exit !(c["<"] >= 300 && c["="] >= 100 && c[">"] >= 300)
		}' >"$tmp/spread"
	if [ $? -eq 0 ]; then
		tap_ok "$scheme generated pairs cover <, = and > (at least 300/100/300)"
	else
		tap_fail "$scheme generated pairs cover <, = and >"
	fi
	tap_diag "$(cat "$tmp/spread")"
	tap_diag "$scheme: $total_pairs pairs compared with $tool"
}

# Validity against dpkg's own parser, on versions with random characters
# put in.  dpkg has three verdicts: error (exit 2), warning (compares
# anyway), clean.  Ours: an error is invalid; "invalid character" warnings
# are invalid; "does not start with digit" may be either (dpkg stops looking
# at that warning, we go on checking the characters); clean is valid, except
# a signed epoch ("+1:0"), which dpkg's strtol lets through and we do not.
check_dpkg_validity() {
	n=1000
	"$PAIRS" dpkg noisy "$SEED" "$n" >"$tmp/noisy" || {
		tap_fail "dpkg validity: the generator failed"
		return
	}
	{
		cat <<'EOF'
v() {
	e=$(dpkg --compare-versions "$1" eq "$1" 2>&1 >/dev/null)
	case $? in
	0|1)	case $e in
		*"does not start with digit"*) echo W ;;
		*"invalid character"*) echo C ;;
		"") echo OK ;;
		*) echo "?" ;;
		esac ;;
	*) echo E ;;
	esac
}
EOF
		awk -F '\t' '{ printf "v '\''%s'\''\n", $1 }' "$tmp/noisy"
	} >"$tmp/dpkg-valid.sh"
	sh "$tmp/dpkg-valid.sh" >"$tmp/noisy.out"
	if [ "$(wc -l <"$tmp/noisy.out")" -ne "$n" ]; then
		tap_fail "dpkg validity: dpkg answered $(wc -l <"$tmp/noisy.out") of $n"
		return
	fi
	bad=$(paste "$tmp/noisy" "$tmp/noisy.out" | awk -F '\t' \
	    -v list="$tmp/mismatches" '
		{ seen[$3 ":" $2]++ }
		($3 == "E" && $2 == 1) || ($3 == "C" && $2 == 1) || $3 == "?" ||
		($3 == "OK" && $2 == 0 && $1 !~ /^[-+][0-9]*:/) {
			bad++
			if (bad <= 50)
				printf "validity: %s ours=%s dpkg=%s\n", $1, $2, $3 >list
		}
		END {
			printf "dpkg verdicts (dpkg:ours): "
			for (k in seen) printf "%s=%d ", k, seen[k]
			printf "\n"
			print bad + 0
		}')
	tap_diag "$(echo "$bad" | sed '$d')"
	bad=$(echo "$bad" | tail -n 1)
	if [ "$bad" -eq 0 ]; then
		tap_ok "dpkg validity: $n noisy versions, our verdicts match dpkg's parser"
	else
		tap_fail "dpkg validity: $bad of $n verdicts disagree with dpkg's parser"
		tap_diag "$(cat "$tmp/mismatches")"
		rm -f "$tmp/mismatches"
	fi
}

# dpkg answers one pair per process (about 25 ms each, the test's main
# cost): 2 500 pairs; rpm answers a thousand per process: 4 200.
check_scheme dpkg "dpkg --compare-versions" oracle_dpkg \
    near:1200 random:500 long:300 backport:500
check_dpkg_validity
if [ "$(rpm --eval '%{lua: io.write(rpm.vercmp("1.0", "1.0~rc1"))}' 2>&1)" = 1 ]
then
	check_scheme rpm "rpm.vercmp" oracle_rpm \
	    near:2000 random:800 long:600 backport:800
else
	tap_fail "rpm has rpm.vercmp in its Lua (rpm >= 4.16)" \
	    "$(rpm --version 2>&1)"
fi
tap_diag "apk: no oracle (apk-tools is not packaged for Debian 12);" \
    "see tests/unit/test-version-apk.c for apk-tools' vectors"

tap_done
