#!/bin/bash
# inventory-rpm.sh: the agent's rpm inventory is exactly what `rpm -qa`
# prints, epochs included, for databases made here by Debian's rpmbuild and
# rpm (sqlite, in /var/lib/rpm and in /usr/lib/sysimage/rpm), and for the same
# headers in a Berkeley DB Packages (built with db5.3_load from rpm's own
# header blobs) and an NDB Packages.db (written by tests/integ/rpmdb-fixture
# in rpm's documented NDB layout).

. "$(dirname "$0")/../lib/tap.sh"
. "$(dirname "$0")/../lib/package.sh"	# pkg_dlopened
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)/_build}"
AGENT=$(prog_path agent/tallyman-agent)
FIXTURE=$(prog_path tests/integ/rpmdb-fixture)

[ "${TM_INTEG:-yes}" = skip ] && tap_skip_all "TM_INTEG=skip"
for c in rpm rpmbuild jq; do
	command -v "$c" >/dev/null || tap_skip_all "$c not installed"
done
if ! "$AGENT" scan --help | grep -q rootfs; then
	tap_bail "$AGENT has no scan command"
fi

T=$(mktemp -d /tmp/tm-inventory-rpm-XXXXXX)
cleanup() { rm -rf "$T"; }
tap_at_done cleanup
trap 'cleanup' EXIT

# --- tiny packages -----------------------------------------------------------
mkspec() {	# name epoch version release arch vendor
	{
		echo "Name: $1"
		[ -n "$2" ] && echo "Epoch: $2"
		echo "Version: $3"
		echo "Release: $4"
		echo "Summary: tallyman test package $1"
		echo "License: MIT"
		[ "$5" = noarch ] && echo "BuildArch: noarch"
		[ -n "$6" ] && echo "Vendor: $6"
		echo "%description"
		echo "Test package."
		echo "%files"
	} >"$T/$1.spec"
	rpmbuild -bb --quiet --define "_topdir $T/build" --define "_rpmdir $T/rpms" \
	    --define "_build_id_links none" "$T/$1.spec" >/dev/null 2>&1
}
mkspec tm-plain "" 1.0 1 noarch "" &&
mkspec tm-epoch "2" 3.4.5 7.el9 noarch "Tallyman Test" &&
mkspec tm-zero-epoch "0" 0.9 2 noarch "" &&
mkspec tm-native "" 2.1 0.rc1 native "Other Vendor"
n=$(find "$T/rpms" -name '*.rpm' | wc -l)
tap_is "$n" 4 "rpmbuild made four tiny packages" || tap_bail "no packages"

qf='%{NAME} %{EPOCH} %{VERSION}-%{RELEASE} %{ARCH} %{SOURCERPM} %{VENDOR}\n'
ours() {	# our scan of root $1, in rpm -qa's format
	"$AGENT" scan --rootfs "$1" --json | jq -r '.packages[] |
	    select(.ecosystem == "rpm") |
	    "\(.name) \(.epoch // "(none)") \(.version | sub("^[0-9]+:"; "")) \(.arch // "(none)") \(.source_name)-\(.source_version | sub("^[0-9]+:"; "")).src.rpm \(.vendor // "(none)")"' |
	    sort
}

for dbpath in /var/lib/rpm /usr/lib/sysimage/rpm; do
	R=$T/root-${dbpath//\//_}
	mkdir -p "$R"
	rpm --root "$R" --dbpath "$dbpath" --initdb
	rpm --root "$R" --dbpath "$dbpath" -i --justdb --nodeps --noscripts \
	    --ignorearch "$T"/rpms/*/*.rpm 2>/dev/null
	want=$(rpm --root "$R" --dbpath "$dbpath" -qa --qf "$qf" | sort)
	tap_is "$(wc -l <<<"$want")" 4 "rpm -qa lists the 4 packages in $dbpath"
	got=$(ours "$R")
	tap_is "$got" "$want" "sqlite rpmdb in $dbpath: inventory equals rpm -qa (name epoch version-release arch srpm vendor)"
done
R=$T/root-_var_lib_rpm
tap_like "$("$AGENT" scan --rootfs "$R" --json | jq -r '.packages[] | select(.name == "tm-epoch") | "\(.version) \(.epoch) \(.source_name) \(.source_version)"')" \
    '^2:3\.4\.5-7\.el9 2 tm-epoch 2:3\.4\.5-7\.el9$' \
    "an rpm with Epoch: 2 is reported as 2:V-R with epoch 2 and its source rpm"
tap_like "$("$AGENT" scan --rootfs "$R" --json | jq -r '.packages[] | select(.name == "tm-zero-epoch") | "\(.version) \(.epoch)"')" \
    '^0:0\.9-2 0$' "an explicit Epoch: 0 is kept (rpm distinguishes it from none)"
want=$(rpm --root "$R" --dbpath /var/lib/rpm -qa --qf "$qf" | sort)

# --- Berkeley DB Packages, read through librpm's bdb_ro ----------------------
if command -v db5.3_load >/dev/null; then
	B=$T/root-bdb
	mkdir -p "$B/var/lib/rpm"
	"$FIXTURE" dbload "$R/var/lib/rpm/rpmdb.sqlite" >"$T/dbload.txt" &&
	    db5.3_load -f "$T/dbload.txt" "$B/var/lib/rpm/Packages"
	tap_is "$(ours "$B")" "$want" "Berkeley DB Packages (db5.3_load of rpm's header blobs): inventory equals rpm -qa"
	tap_is "$(rpm --root "$B" --dbpath /var/lib/rpm --define '_db_backend bdb_ro' -qa --qf "$qf" 2>/dev/null | sort)" \
	    "$want" "rpm itself (bdb_ro) reads the Berkeley DB fixture the same way"
else
	tap_skip "Berkeley DB Packages fixture" "db5.3-util not installed"
	tap_skip "rpm reads the Berkeley DB fixture" "db5.3-util not installed"
fi

# --- NDB Packages.db, read with our own reader -------------------------------
N=$T/root-ndb
mkdir -p "$N/usr/lib/sysimage/rpm"
"$FIXTURE" ndb "$R/var/lib/rpm/rpmdb.sqlite" "$N/usr/lib/sysimage/rpm/Packages.db"
tap_is "$(ours "$N")" "$want" "NDB Packages.db: inventory equals rpm -qa"
# One damaged blob (a flipped byte inside it) is refused, the others kept.
cp -r "$N" "$T/root-ndb-bad"
size=$(stat -c %s "$T/root-ndb-bad/usr/lib/sysimage/rpm/Packages.db")
printf 'X' | dd of="$T/root-ndb-bad/usr/lib/sysimage/rpm/Packages.db" bs=1 \
    seek=$((4096 + 200)) conv=notrunc 2>/dev/null
out=$("$AGENT" scan --rootfs "$T/root-ndb-bad" --json 2>/dev/null)
tap_is "$(jq '[.packages[] | select(.ecosystem == "rpm")] | length' <<<"$out")" 3 \
    "NDB blob with a bad checksum is dropped, the 3 others are read ($size bytes)"

# Framed correctly but hostile inside (huge index counts, offsets past the
# data, random bytes, empty): librpm refuses each header, counted, no crash.
H=$T/root-ndb-hostile
mkdir -p "$H/usr/lib/sysimage/rpm"
"$FIXTURE" ndb-hostile - "$H/usr/lib/sysimage/rpm/Packages.db"
out=$("$AGENT" scan --rootfs "$H" --json 2>"$T/hostile.err")
rc=$?
tap_is "$rc/$(jq '.packages | length' <<<"$out")/$(jq '.errors' <<<"$out")" "0/0/6" \
    "NDB blobs hostile to librpm: none read, 6 counted errors, exit 0" ||
    tap_diag "$(tail -5 "$T/hostile.err")"

# --- a database path that is a symlink out of the root -----------------------
S=$T/root-symlink
mkdir -p "$S/var/lib" "$T/outside/rpm"
cp "$R/var/lib/rpm/rpmdb.sqlite" "$T/outside/rpm/"
ln -s "$T/outside/rpm" "$S/var/lib/rpm"
out=$("$AGENT" scan --rootfs "$S" --json 2>/dev/null)
tap_is "$(jq '[.packages[] | select(.ecosystem == "rpm")] | length' <<<"$out")" 0 \
    "an rpm database path symlinked out of the root is not followed out"

# --- librpm is opened on the first rpm database, not at start ----------------
# (bench/RESULTS.md, "Agent cost": it and the libraries only it needs are
# about 1.3 MiB of the agent's resident memory.)  LD_DEBUG=files names
# every library the loader maps, and who asked.
E=$T/root-empty
mkdir -p "$E/etc"
echo 'ID=debian' >"$E/etc/os-release"
LD_DEBUG=files "$AGENT" scan --rootfs "$E" --json >/dev/null 2>"$T/ld-empty.err"
tap_is "$(grep -c 'file=librpm' "$T/ld-empty.err")" 0 \
    "a root without an rpm database: the agent does not load librpm"
LD_DEBUG=files "$AGENT" scan --rootfs "$R" --json >"$T/ld-rpm.out" 2>"$T/ld-rpm.err"
tap_is "$(grep -c 'file=librpm\.so.*dynamically loaded by' "$T/ld-rpm.err") $(jq '[.packages[] | select(.ecosystem == "rpm")] | length' "$T/ld-rpm.out")" \
    "1 4" "an rpm database: librpm is loaded then (dlopen), once, and reads its 4 packages"
# A host whose librpm cannot be loaded (hidden by an empty file in a
# private mount namespace): the scan goes on, its notes say why.
so=$(pkg_dlopened tallyman-agent)
sopath=$(ldconfig -p | awk -v s="$so" '$1 == s { print $NF; exit }')
if [ "$(id -u)" != 0 ] || [ -z "$sopath" ] || ! command -v unshare >/dev/null; then
	tap_skip "no librpm: the scan says so in its notes" "needs root, unshare and $so"
else
	unshare -m sh -c 'mount --bind /dev/null "$1" && shift && exec "$@"' sh \
	    "$(readlink -f "$sopath")" "$AGENT" scan --rootfs "$R" --json \
	    >"$T/nolib.out" 2>"$T/nolib.err"
	tap_is "$?|$(jq -r '[.packages[] | select(.ecosystem == "rpm")] | length' "$T/nolib.out")|$(jq -r '.notes[]' "$T/nolib.out" | grep -c '^rpm: librpm could not be loaded: ')" \
	    "0|0|1" "no librpm: the scan exits 0, reads no rpm package, and its notes say librpm could not be loaded" ||
	    tap_diag "$(jq -c .notes "$T/nolib.out" 2>/dev/null; tail -3 "$T/nolib.err")"
fi

tap_done
