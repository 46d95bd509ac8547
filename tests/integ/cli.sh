#!/bin/bash
# cli.sh: both programs' command line: --version, --help listing every
# configuration key and command, --check-config on good and bad files
# (FILE:LINE: reason: text), -o overrides, and commands not built yet.
. "${top_srcdir:?}/tests/lib/tap.sh"

TMP=$(mktemp -d /tmp/tm-common-cli.XXXXXX) || tap_bail "mktemp failed"
cleanup() { rm -rf "$TMP"; }
tap_at_done cleanup

version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' \
    "${top_builddir:?}/config.h")

for prog in agent collector; do
	bin=$top_builddir/$prog/tallyman-$prog
	P=tallyman-$prog

	out=$("$bin" --version 2>&1); rc=$?
	tap_is "$rc:$out" "0:$P $version" "$P --version prints the version and exits 0"

	help=$("$bin" --help 2>&1); rc=$?
	tap_is "$rc" 0 "$P --help exits 0"
	# Keys read from the table's source, not from the program's output.
	keys=$(grep -o '\.key = "[^"]*"' "$top_srcdir/$prog/config.c" |
	    sed 's/.*"\(.*\)"/\1/')
	missing=
	nkeys=0
	for k in $keys; do
		nkeys=$((nkeys + 1))
		grep -qF -- "  $k " <<<"$help" || missing="$missing $k"
	done
	tap_is "${missing:-none}" none "$P --help lists all $nkeys configuration keys"
	tap_like "$help" "Commands:.*  run " "$P --help lists the run command"

	# Commands still marked "[not built yet]" say so and exit 2.
	unbuilt=$(awk '/^Commands:/{c=1; next} /^$/{c=0}
	    c && /^  [a-z]/{name=$1} c && /\[not built yet\]/{print name}' <<<"$help")
	for cmd in $unbuilt; do
		out=$("$bin" -c /dev/null "$cmd" 2>&1); rc=$?
		tap_like "$rc:$out" "^2:$P $cmd: not built yet \(issue [0-9]+\)$" \
		    "$P $cmd says it is not built yet and exits 2"
	done

	out=$("$bin" -c /dev/null no-such-command 2>&1); rc=$?
	tap_like "$rc:$out" "^2:.*unknown command 'no-such-command'" \
	    "$P rejects an unknown command with exit 2"

	# A good file, with a passthrough secret.
	good=$TMP/$prog-good.conf
	cat >"$good" <<-CONF
	# operator's file
	log.level = debug

	kafka.brokers = "k1:9093,k2:9093"
	kafka.security.protocol = SASL_SSL
	kafka.sasl.password = "hunter2 secret"
	CONF
	out=$("$bin" --config "$good" --check-config 2>&1); rc=$?
	tap_is "$rc" 0 "$P --check-config accepts a good file"
	tap_like "$out" "kafka.brokers = \"k1:9093,k2:9093\"" \
	    "$P --check-config prints the effective value from the file"
	tap_like "$out" "kafka.security.protocol = \"SASL_SSL\"" \
	    "$P --check-config prints kafka.* passthrough keys"
	if [[ $out == *hunter2* ]]; then
		tap_fail "$P --check-config masks kafka.sasl.password" "$out"
	else
		tap_like "$out" 'kafka.sasl.password = "\*+"' \
		    "$P --check-config masks kafka.sasl.password"
	fi
	# What --check-config prints is itself a valid configuration file.
	grep -v '^#' <<<"$out" >"$TMP/$prog-printed.conf"
	tap_check "$P --check-config output reads back as a valid file" \
	    "$bin" -c "$TMP/$prog-printed.conf" --check-config

	out=$("$bin" -c "$good" -o kafka.topic=other.topic --check-config 2>&1)
	tap_like "$out" 'kafka.topic = "other.topic"' \
	    "$P -o overrides a key for --check-config"

	# Bad files: the error names FILE:LINE, the reason and the text.
	bad=$TMP/$prog-bad.conf
	printf '# comment\nlog.level = info\nbogus.key = 1\n' >"$bad"
	out=$("$bin" --config "$bad" --check-config 2>&1); rc=$?
	tap_is "$rc" 1 "$P --check-config rejects an unknown key with exit 1"
	tap_like "$out" "$bad:3: unknown key: bogus.key" \
	    "$P reports FILE:LINE: unknown key: text"

	printf 'log.level = info\nkafka.topic = "bad topic"\n' >"$bad"
	out=$("$bin" --config "$bad" --check-config 2>&1); rc=$?
	tap_like "$rc:$out" "^1:.*$bad:2: bad value \(.*\): kafka.topic = bad topic" \
	    "$P reports FILE:LINE: bad value: text"

	printf 'log.level = info\nlog.level = debug\n' >"$bad"
	out=$("$bin" --config "$bad" --check-config 2>&1); rc=$?
	tap_like "$rc:$out" "^1:.*$bad:2: duplicate key \(first set on line 1\): log.level" \
	    "$P reports a duplicate key with both lines"

	printf 'log.level info\n' >"$bad"
	out=$("$bin" --config "$bad" --check-config 2>&1); rc=$?
	tap_like "$rc:$out" "^1:.*$bad:1: missing '=' .*: log.level info" \
	    "$P reports a line without '='"

	out=$("$bin" --config "$TMP/absent.conf" --check-config 2>&1); rc=$?
	tap_like "$rc:$out" "^1:.*$TMP/absent.conf: No such file or directory" \
	    "$P fails when the --config file given does not exist"

	out=$("$bin" -c "$good" -o nosuch.key=1 --check-config 2>&1); rc=$?
	tap_like "$rc:$out" "^1:.*-o: unknown key: nosuch.key=1" \
	    "$P rejects an unknown -o key with exit 1"

	out=$("$bin" -c "$good" --log-level loud --check-config 2>&1); rc=$?
	tap_like "$rc:$out" "^1:.*--log-level: bad value" \
	    "$P rejects a bad --log-level with exit 1"

	out=$("$bin" --frobnicate 2>&1); rc=$?
	tap_like "$rc:$out" "^2:.*--frobnicate: unknown option" \
	    "$P rejects an unknown option with exit 2"
done

tap_done
