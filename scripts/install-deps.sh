#!/bin/sh
# scripts/install-deps.sh: the one place that installs what tallyman needs to
# build and test, on Debian 12, as root.  Used by scripts/quickstart.sh,
# scripts/test.sh (and so CI), and by hand.
#
# Debian packages only (apt).  Idempotent: when everything is installed it
# does nothing, not even `apt-get update`; otherwise one `apt-get update` and
# one non-interactive `apt-get install` of what is missing.
#
# Adding a package: put it on the list of the section it belongs to (or add
# a section for your issue), one short comment saying what needs it.
set -eu

PACKAGES=""
add() { PACKAGES="$PACKAGES $*"; }

# Build tools.
add build-essential autoconf automake libtool pkg-config

# Libraries: DESIGN.md's dependency table (the -dev packages).
add libuv1-dev libmsgpack-dev librdkafka-dev libcurl4-openssl-dev libzstd-dev
add libjansson-dev libprotobuf-c-dev protobuf-c-compiler libsqlite3-dev
add libmicrohttpd-dev librpm-dev libcmocka-dev

# Test tools: JSON Schema validator, Kafka client, the real container
# runtimes the integration tests start, image contents, rpm oracle, HTTP/JSON.
add python3-jsonschema kcat docker.io containerd runc busybox-static rpm
add jq curl sqlite3

# --- later issues: add your section below -----------------------------------

# schema: an independent msgpack decoder checks tallyman-decode's output.
add python3-msgpack

# inventory: db5.3_load builds the Berkeley DB rpm database fixture.
add db5.3-util
# inventory: getfattr shows the opaque-folder xattr in Docker's layers.
add attr

# correlate: OSV feeds come as zip archives (libzip); the feed tests serve
# them over HTTP on 127.0.0.1 (python3's http.server, in python3).
add libzip-dev python3

# proof (issue 9): clang with libFuzzer and the ASan/UBSan/LSan runtimes
# (./configure --enable-fuzzing CC=clang, make fuzz); valgrind for
# make check-valgrind.
add clang libclang-rt-14-dev valgrind

# packaging (issue 8): systemd-analyze verifies and rates the units (systemd;
# /bin/kill of ExecReload from procps); man and lexgrog check the man pages,
# col flattens them (man-db, bsdextrautils); setpriv runs the agent with the
# unit's capability bounding set, capsh names capabilities, strace records
# system calls (util-linux, libcap2-bin, strace); dpkg-buildpackage with
# debhelper (dh-autoreconf) builds the DEBs and lintian checks them; rpm's
# rpmbuild builds the RPMs and rpm2archive unpacks them (rpm2cpio).
add systemd procps man-db bsdextrautils util-linux libcap2-bin strace
add debhelper dh-autoreconf lintian dpkg-dev fakeroot rpm rpm2cpio

# collector: its web page is tested in a real browser (headless).
add chromium

missing=""
for p in $PACKAGES; do
	# "install ok installed" only: a removed package leaves config-files.
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	"install ok installed") ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -z "$missing" ]; then
	echo "install-deps: all $(echo $PACKAGES | wc -w) packages already installed"
	exit 0
fi

echo "install-deps: missing:$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: run as root to install them (apt-get)" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-deps: apt-get not found: tallyman builds on Debian 12" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -q --no-install-recommends $missing </dev/null
echo "install-deps: installed:$missing"
