#!/bin/bash
# compare-versions-cli.sh: `tallyman-collector compare-versions` answers like
# the distros' own tools, prints '<', '=' or '>' with exit 0, and refuses an
# unknown scheme or an invalid version by name with exit 2.
set -u

. "$(dirname "$0")/../lib/harness.sh"
harness_init
harness_require_cmd dpkg rpm
tmp=$TM_TMP
COLLECTOR=$(prog_path collector/tallyman-collector)
PAIRS="$top_builddir/tests/integ/version-pairs"

for prog in "$COLLECTOR" "$PAIRS"; do
	if [ ! -x "$prog" ]; then
		tap_bail "$prog is not built"
	fi
done

# run SCHEME A B: sets out, err, rc.
run() {
	"$COLLECTOR" compare-versions "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

# The Heartbleed question, answered by dpkg itself and by us.
run dpkg 1.0.1e-2+deb7u4 1.0.1e-2+deb7u5
dpkg --compare-versions 1.0.1e-2+deb7u4 lt 1.0.1e-2+deb7u5 && want='<' || want='?'
if [ "$rc" -eq 0 ] && [ "$out" = "$want" ]; then
	tap_ok "dpkg 1.0.1e-2+deb7u4 vs 1.0.1e-2+deb7u5 prints '<' like dpkg, exit 0"
else
	tap_fail "dpkg deb7u4 vs deb7u5: got '$out' exit $rc, dpkg says '$want'"
fi

# 80 generated pairs per oracle scheme: the command against the tool (one
# process per pair; tests/integ/version-oracle.sh asks the tools thousands
# of pairs of the same generator, in batches).
check_sample() {
	scheme=$1
	"$PAIRS" "$scheme" near 4242 40 >"$tmp/p" &&
	    "$PAIRS" "$scheme" backport 4242 40 >>"$tmp/p" || {
		tap_fail "$scheme: the generator failed"
		return
	}
	bad=0
	n=0
	while IFS="$(printf '\t')" read -r a b ours; do
		n=$((n + 1))
		run "$scheme" "$a" "$b"
		case $scheme in
		dpkg)
			if dpkg --compare-versions "$a" lt "$b" 2>/dev/null; then
				want='<'
			elif dpkg --compare-versions "$a" eq "$b" 2>/dev/null; then
				want='='
			else
				want='>'
			fi ;;
		rpm)
			want=$(rpm --eval "%{lua: local r = rpm.vercmp(\"$a\", \"$b\") io.write(r < 0 and '<' or (r > 0 and '>' or '='))}") ;;
		esac
		if [ "$rc" -ne 0 ] || [ "$out" != "$want" ] || [ "$out" != "$ours" ]; then
			bad=$((bad + 1))
			tap_diag "$scheme '$a' '$b': command '$out' (exit $rc), tool '$want', library '$ours'"
		fi
	done <"$tmp/p"
	if [ "$bad" -eq 0 ] && [ "$n" -eq 80 ]; then
		tap_ok "$scheme: the command agrees with the tool on $n generated pairs"
	else
		tap_fail "$scheme: $bad of $n pairs disagree"
	fi
}
check_sample dpkg
check_sample rpm

# apk: apk-tools' own vectors (test/unit/version.data), no tool to ask.
bad=0
for v in '1.0_alpha1 < 1.0' '3.1_p16 < 3.1_p17' '2.2.39-r1 > 1.0.4-r3' \
    '0.2.0-r1 = 0.2.0-r1' '1.0~1234-r1 > 1.0~1234-r0' '8.2.0 < 8.2.001'; do
	set -- $v
	run apk "$1" "$3"
	if [ "$rc" -ne 0 ] || [ "$out" != "$2" ]; then
		bad=$((bad + 1))
		tap_diag "apk $v: got '$out' exit $rc"
	fi
done
if [ "$bad" -eq 0 ]; then
	tap_ok "apk: the command matches apk-tools' vectors"
else
	tap_fail "apk: $bad vectors disagree"
fi

# Errors: exit 2, and the message names what is wrong.
run debian 1.0 2.0
case $rc:$err in
2:*"unknown version scheme 'debian'"*) tap_ok "an unknown scheme exits 2 naming it" ;;
*) tap_fail "unknown scheme: exit $rc, stderr '$err'" ;;
esac
run dpkg 1.0 '1.0 beta'
case $rc:$err in
2:*"invalid dpkg version '1.0 beta'"*) tap_ok "an invalid dpkg version exits 2 naming it" ;;
*) tap_fail "invalid dpkg version: exit $rc, stderr '$err'" ;;
esac
run rpm '1.0-1-2' 1.0
case $rc:$err in
2:*"invalid rpm version '1.0-1-2'"*) tap_ok "an invalid rpm version exits 2 naming it" ;;
*) tap_fail "invalid rpm version: exit $rc, stderr '$err'" ;;
esac
run apk 1.0 1.0_foo
case $rc:$err in
2:*"invalid apk version '1.0_foo'"*) tap_ok "an invalid apk version exits 2 naming it" ;;
*) tap_fail "invalid apk version: exit $rc, stderr '$err'" ;;
esac
if [ -z "$out" ]; then
	tap_ok "nothing is printed on stdout for an error"
else
	tap_fail "stdout on error: '$out'"
fi
run dpkg 1.0
if [ "$rc" -eq 2 ]; then
	tap_ok "a missing argument exits 2"
else
	tap_fail "a missing argument: exit $rc"
fi
run --help
case $rc:$out in
0:*dpkg*rpm*apk*) tap_ok "--help exits 0 and lists the schemes" ;;
*) tap_fail "--help: exit $rc, stdout '$out'" ;;
esac

tap_done
