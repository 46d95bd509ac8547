#!/bin/sh
# compare-versions-cli.sh: `tallyman-collector compare-versions` answers like
# the distros' own tools, prints '<', '=' or '>' with exit 0, and refuses an
# unknown scheme or an invalid version by name with exit 2.
set -u

: "${top_builddir:=.}"
COLLECTOR="$top_builddir/collector/tallyman-collector"
PAIRS="$top_builddir/tests/integ/version-pairs"

tap_n=0
tap_failed=0
ok() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $*"
}
not_ok() {
	tap_n=$((tap_n + 1))
	tap_failed=$((tap_failed + 1))
	echo "not ok $tap_n - $*"
}
skip() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n # SKIP $*"
}

tmp=$(mktemp -d /tmp/tm-versions-XXXXXX) || exit 99
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

for prog in "$COLLECTOR" "$PAIRS"; do
	if [ ! -x "$prog" ]; then
		echo "Bail out! $prog is not built"
		exit 99
	fi
done

# run SCHEME A B: sets out, err, rc.
run() {
	"$COLLECTOR" compare-versions "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

# The Heartbleed question, answered by dpkg itself and by us.
run dpkg 1.0.1e-2+deb7u4 1.0.1e-2+deb7u5
if command -v dpkg >/dev/null 2>&1; then
	dpkg --compare-versions 1.0.1e-2+deb7u4 lt 1.0.1e-2+deb7u5 && want='<' || want='?'
	if [ "$rc" -eq 0 ] && [ "$out" = "$want" ]; then
		ok "dpkg 1.0.1e-2+deb7u4 vs 1.0.1e-2+deb7u5 prints '<' like dpkg, exit 0"
	else
		not_ok "dpkg deb7u4 vs deb7u5: got '$out' exit $rc, dpkg says '$want'"
	fi
else
	skip "dpkg is not installed"
fi

# 300 generated pairs per oracle scheme: the command against the tool.
check_sample() {
	scheme=$1
	"$PAIRS" "$scheme" near 4242 150 >"$tmp/p" &&
	    "$PAIRS" "$scheme" backport 4242 150 >>"$tmp/p" || {
		not_ok "$scheme: the generator failed"
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
			echo "# $scheme '$a' '$b': command '$out' (exit $rc), tool '$want', library '$ours'"
		fi
	done <"$tmp/p"
	if [ "$bad" -eq 0 ] && [ "$n" -eq 300 ]; then
		ok "$scheme: the command agrees with the tool on $n generated pairs"
	else
		not_ok "$scheme: $bad of $n pairs disagree"
	fi
}
if command -v dpkg >/dev/null 2>&1; then
	check_sample dpkg
else
	skip "dpkg is not installed"
fi
if command -v rpm >/dev/null 2>&1; then
	check_sample rpm
else
	skip "rpm is not installed"
fi

# apk: apk-tools' own vectors (test/unit/version.data), no tool to ask.
bad=0
for v in '1.0_alpha1 < 1.0' '3.1_p16 < 3.1_p17' '2.2.39-r1 > 1.0.4-r3' \
    '0.2.0-r1 = 0.2.0-r1' '1.0~1234-r1 > 1.0~1234-r0' '8.2.0 < 8.2.001'; do
	set -- $v
	run apk "$1" "$3"
	if [ "$rc" -ne 0 ] || [ "$out" != "$2" ]; then
		bad=$((bad + 1))
		echo "# apk $v: got '$out' exit $rc"
	fi
done
if [ "$bad" -eq 0 ]; then
	ok "apk: the command matches apk-tools' vectors"
else
	not_ok "apk: $bad vectors disagree"
fi

# Errors: exit 2, and the message names what is wrong.
run debian 1.0 2.0
case $rc:$err in
2:*"unknown version scheme 'debian'"*) ok "an unknown scheme exits 2 naming it" ;;
*) not_ok "unknown scheme: exit $rc, stderr '$err'" ;;
esac
run dpkg 1.0 '1.0 beta'
case $rc:$err in
2:*"invalid dpkg version '1.0 beta'"*) ok "an invalid dpkg version exits 2 naming it" ;;
*) not_ok "invalid dpkg version: exit $rc, stderr '$err'" ;;
esac
run rpm '1.0-1-2' 1.0
case $rc:$err in
2:*"invalid rpm version '1.0-1-2'"*) ok "an invalid rpm version exits 2 naming it" ;;
*) not_ok "invalid rpm version: exit $rc, stderr '$err'" ;;
esac
run apk 1.0 1.0_foo
case $rc:$err in
2:*"invalid apk version '1.0_foo'"*) ok "an invalid apk version exits 2 naming it" ;;
*) not_ok "invalid apk version: exit $rc, stderr '$err'" ;;
esac
if [ -z "$out" ]; then
	ok "nothing is printed on stdout for an error"
else
	not_ok "stdout on error: '$out'"
fi
run dpkg 1.0
if [ "$rc" -eq 2 ]; then
	ok "a missing argument exits 2"
else
	not_ok "a missing argument: exit $rc"
fi
run --help
case $rc:$out in
0:*dpkg*rpm*apk*) ok "--help exits 0 and lists the schemes" ;;
*) not_ok "--help: exit $rc, stdout '$out'" ;;
esac

echo "1..$tap_n"
[ "$tap_failed" -eq 0 ]
