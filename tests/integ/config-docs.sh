#!/bin/bash
# config-docs.sh: the configuration is documented where operators look, and
# nowhere wrong.  For each program the keys, types and defaults come from
# the program itself (`--help` prints its configuration table); then:
#  - tallyman.conf(5) lists every key in the program's section with its
#    default ("KEY = DEFAULT"), and lists no key the program does not have;
#  - the shipped configuration file (packaging/conf/*.conf, as built) has
#    every key, commented, with its default ("#KEY = DEFAULT"), and no other;
#  - that file passes --check-config as shipped, and with every key
#    uncommented gives exactly the default configuration (the commented
#    values are the defaults, and valid);
#  - the program's man page describes every command its --help lists;
#  - every man page formats without a warning (man --warnings) and has a
#    NAME line lexgrog reads (what whatis and apropos use).
# Defaults that are paths differ between a build (its --sysconfdir and
# --localstatedir) and the packages the man page describes: the build's
# folders (TM_CONFDIR, TM_STATEDIR from packaging/local.mk) are mapped to
# /etc/tallyman and /var/lib/tallyman before comparing with the man page.
. "${top_srcdir:?}/tests/lib/tap.sh"

: "${top_builddir:?}"
: "${TM_CONFDIR:=/usr/local/etc/tallyman}"
: "${TM_STATEDIR:=/usr/local/var/lib/tallyman}"

for c in man lexgrog col; do
	if ! command -v "$c" >/dev/null 2>&1; then
		[ "${CI:-}" = true ] && tap_bail "missing $c (man-db, bsdextrautils: scripts/install-deps.sh)"
		tap_skip_all "missing $c (man-db, bsdextrautils: scripts/install-deps.sh)"
	fi
done

TMP=$(mktemp -d /tmp/tm-config-docs.XXXXXX) || tap_bail "mktemp failed"
cleanup() { rm -rf "$TMP"; }
tap_at_done cleanup
trap cleanup EXIT

DOC=$top_srcdir/doc

# render PAGE: the formatted page as plain text, one key per line (wide).
render() {
	MANWIDTH=250 LC_ALL=C.UTF-8 man -l "$1" 2>/dev/null | col -bx
}

# section TEXT HEADING: the lines of the man page section whose heading
# starts with HEADING, up to the next section heading.
section() {
	awk -v h="$2" 'index($0, h) == 1 { on = 1; next }
	    on && /^[A-Z]/ { exit } on { print }' <<<"$1"
}

# table PROG: "KEY<TAB>TYPE<TAB>DEFAULT" per key, from PROG --help.
table() {
	"$1" --help | awk '
	    /^Configuration keys/ { on = 1; next }
	    on && /^  [^ ]/ {
		key = $1; rest = substr($0, index($0, key) + length(key))
		sub(/^ +/, "", rest)
		type = rest; sub(/,.*/, "", type)
		def = ""
		if (index(rest, ", default ") > 0) {
			def = substr(rest, index(rest, ", default ") + 10)
			if (def == "empty") def = ""
		}
		printf "%s\t%s\t%s\n", key, type, def
	    }'
}

# packaged PATH: a build default as the packages have it.
packaged() {
	local v=$1
	v=${v//"$TM_CONFDIR"/\/etc\/tallyman}
	v=${v//"$TM_STATEDIR"/\/var\/lib\/tallyman}
	printf '%s' "$v"
}

conf_page=$(render "$DOC/tallyman.conf.5")
[ -n "$conf_page" ] || tap_bail "man -l $DOC/tallyman.conf.5 printed nothing"

for prog in agent collector; do
	P=tallyman-$prog
	bin=$top_builddir/$prog/$P
	conf=$top_builddir/packaging/conf/$prog.conf
	[ -x "$bin" ] || tap_bail "$bin not built"
	[ -f "$conf" ] || tap_bail "$conf not built"
	tab=$(table "$bin")
	nkeys=$(grep -c . <<<"$tab")
	# The table has keys at all (else every check below passes vacuously).
	tap_like "$nkeys" '^[1-9][0-9]*$' "$P --help prints its configuration table ($nkeys keys)"

	heading=$(tr a-z A-Z <<<"$prog")
	sect=$(section "$conf_page" "$heading KEYS")
	missing_man= missing_conf= nman=0
	while IFS=$'\t' read -r key type def; do
		if [ "$type" = passthrough ]; then
			want="${key}"
			grep -qxF -- "       $want" <<<"$sect" || missing_man="$missing_man $key"
			grep -qF -- "# $key:" "$conf" || missing_conf="$missing_conf $key"
			continue
		fi
		pdef=$(packaged "$def")
		line="$key =${pdef:+ $pdef}"
		grep -qxF -- "       $line" <<<"$sect" || missing_man="$missing_man $key($line)"
		line="#$key =${def:+ $def}"
		grep -qxF -- "$line" "$conf" || missing_conf="$missing_conf $key($line)"
	done <<<"$tab"
	tap_is "${missing_man:-none}" none \
	    "tallyman.conf(5) section $heading KEYS has every $P key with its default"
	tap_is "${missing_conf:-none}" none \
	    "$prog.conf has every $P key, commented, with its default"

	# Nothing documented that the program does not have.
	keys=$(cut -f1 <<<"$tab")
	stale=
	for k in $(sed -n 's/^       \([a-z][a-z0-9_.*-]*\) =\{0,1\}\( .*\)\{0,1\}$/\1/p' <<<"$sect"); do
		grep -qxF -- "$k" <<<"$keys" || stale="$stale $k"
	done
	tap_is "${stale:-none}" none "tallyman.conf(5) lists no $P key that $P does not have"
	stale=
	for k in $(sed -n 's/^#\([a-z][a-z0-9_.-]*\) =.*/\1/p' "$conf"); do
		grep -qxF -- "$k" <<<"$keys" && continue
		case "$k" in kafka.*) continue ;; esac	# kafka.* examples
		stale="$stale $k"
	done
	tap_is "${stale:-none}" none "$prog.conf has no key that $P does not have"

	# The file as shipped is valid.
	tap_check "$P --check-config accepts $prog.conf as shipped" \
	    "$bin" -c "$conf" --check-config
	# Uncommented, the listed values are exactly the defaults.
	sedargs=()
	while IFS=$'\t' read -r key type def; do
		[ "$type" = passthrough ] && continue
		sedargs+=(-e "s/^#\\(${key//./\\.} =\\)/\\1/")
	done <<<"$tab"
	sed "${sedargs[@]}" "$conf" >"$TMP/$prog.conf"
	nset=$(grep -c '^[a-z]' "$TMP/$prog.conf")
	tap_is "$nset" $((nkeys - $(grep -c $'\tpassthrough\t' <<<"$tab"))) \
	    "uncommenting $prog.conf sets every non-passthrough key once"
	got=$("$bin" -c "$TMP/$prog.conf" --check-config 2>&1 | tail -n +2)
	want=$("$bin" -c /dev/null --check-config 2>&1 | tail -n +2)
	tap_is "$got" "$want" "$prog.conf uncommented is exactly $P's default configuration"

	# The man page describes every command of --help.
	page=$(render "$DOC/$P.8")
	cmds=$(section "$page" COMMANDS)
	missing=
	for cmd in $("$bin" --help | awk '/^Commands:/ { on = 1; next }
	    on && /^$/ { exit } on && /^  [a-z]/ { print $1 }'); do
		grep -qE "^       $cmd( |$)" <<<"$cmds" || missing="$missing $cmd"
	done
	tap_is "${missing:-none}" none "$P(8) describes every command of $P --help"
done

for page in "$DOC"/tallyman-agent.8 "$DOC"/tallyman-collector.8 \
    "$DOC"/tallyman.conf.5 "$DOC"/tallyman-decode.1; do
	name=${page##*/}
	warn=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$page" 2>&1 >/dev/null)
	tap_is "${warn:-none}" none "$name formats without warnings"
	tap_like "$(lexgrog "$page" 2>&1)" ": \"${name%.*} - [a-z]" \
	    "$name has a NAME line whatis can read"
done

tap_done
