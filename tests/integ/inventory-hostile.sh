#!/bin/bash
# inventory-hostile.sh: hostile roots cannot make the inventory escape, hang
# or crash; every rejected file is a counted error.  Roots: status as a
# symlink to /etc/shadow (absolute) and to ../../../.. outside, a FIFO in
# place of the status file, a 1 GiB (sparse) status file, a 10 MiB line, a
# folder in place of a file, 10 000 nested folders, a symlink loop, and an
# rpm database path that is a symlink out of the root.
# A scan that does not finish within 120 s counts as a hang (timeout(1) is a
# hang detector here, not a speed check: the scans take milliseconds).

. "$(dirname "$0")/../lib/tap.sh"
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)/_build}"
AGENT=$(prog_path agent/tallyman-agent)

[ "${TM_INTEG:-yes}" = skip ] && tap_skip_all "TM_INTEG=skip"
command -v jq >/dev/null || tap_skip_all "jq not installed"

T=$(mktemp -d /tmp/tm-inventory-hostile-XXXXXX)
cleanup() { rm -rf "$T"; }
tap_at_done cleanup
trap 'cleanup' EXIT

# A host-side file outside every root, holding a valid status stanza: if any
# path escapes, the package "escaped" shows up.
mkdir -p "$T/outside"
printf 'Package: escaped\nStatus: install ok installed\nVersion: 6.6.6\n' \
    >"$T/outside/status"
mkdir -p "$T/outside/rpm"
printf 'Package: escaped\nStatus: install ok installed\nVersion: 6.6.6\n' \
    >"$T/outside/rpm/rpmdb.sqlite"

good='Package: good\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\n'

# scan NAME ROOT: run the scan (hang detector 120 s); sets OUT, RC.
scan() {
	OUT=$(timeout 120 "$AGENT" scan --rootfs "$2" --json 2>"$T/$1.err")
	RC=$?
}
# check NAME ROOT WANT_PACKAGES MIN_ERRORS DESC
check() {
	scan "$1" "$2"
	if [ "$RC" -ne 0 ]; then
		tap_fail "$5" "exit status $RC (124: hang; >128: crash)" \
		    "$(tail -5 "$T/$1.err")"
		return
	fi
	pk=$(jq -r '[.packages[].name] | join(",")' <<<"$OUT")
	er=$(jq -r .errors <<<"$OUT")
	if [ "$pk" = "$3" ] && [ "$er" -ge "$4" ] && ! grep -q escaped <<<"$OUT"; then
		tap_ok "$5 (packages '$pk', $er counted errors)"
	else
		tap_fail "$5" "packages '$pk' (want '$3'), errors $er (want >= $4)" \
		    "$(tail -5 "$T/$1.err")"
	fi
}

# --- status -> /etc/shadow (absolute): resolved inside the root -------------
R=$T/abs
mkdir -p "$R/var/lib/dpkg" "$R/etc"
printf 'Package: container-shadow\nStatus: install ok installed\nVersion: 1\n' \
    >"$R/etc/shadow"
ln -s /etc/shadow "$R/var/lib/dpkg/status"
check abs "$R" container-shadow 0 \
    "status -> /etc/shadow reads the container's /etc/shadow, not the host's"
R=$T/abs-out
mkdir -p "$R/var/lib/dpkg"
ln -s "$T/outside/status" "$R/var/lib/dpkg/status"
check abs-out "$R" "" 0 "status -> an absolute host path does not leave the root"

# --- status -> ../../../../.. outside ---------------------------------------
R=$T/rel
mkdir -p "$R/var/lib/dpkg"
ln -s "../../../../../../../../../../../..$T/outside/status" "$R/var/lib/dpkg/status"
check rel "$R" "" 0 "status -> ../../..(many)/outside stays inside the root"
ln -s ../../../../../../etc/shadow "$R/var/lib/dpkg/status.d" 2>/dev/null
check rel2 "$R" "" 0 "status.d -> ../../../etc/shadow does not leave the root"

# --- a FIFO in place of the status file --------------------------------------
R=$T/fifo
mkdir -p "$R/var/lib/dpkg"
mkfifo "$R/var/lib/dpkg/status"
check fifo "$R" "" 1 "a FIFO in place of the status file is skipped without blocking"

# --- a 1 GiB status file (sparse) --------------------------------------------
R=$T/huge
mkdir -p "$R/var/lib/dpkg/status.d"
truncate -s 1G "$R/var/lib/dpkg/status"
printf "$good" >"$R/var/lib/dpkg/status.d/good"
check huge "$R" good 1 "a 1 GiB status file is refused by its size, other files still read"

# --- a 10 MiB line -------------------------------------------------------------
R=$T/line
mkdir -p "$R/var/lib/dpkg"
{
	printf 'Package: '
	head -c $((10 * 1024 * 1024)) /dev/zero | tr '\0' 'a'
	printf '\nStatus: install ok installed\nVersion: 1\n\n'
	printf 'Package: long-description\nStatus: install ok installed\nVersion: 2\nDescription: '
	head -c $((10 * 1024 * 1024)) /dev/zero | tr '\0' 'b'
	printf '\n\n'
	printf "$good"
} >"$R/var/lib/dpkg/status"
check line "$R" "good,long-description" 1 \
    "a 10 MiB package name is a counted error; a 10 MiB description is harmless"

# --- a folder in place of a file ---------------------------------------------
R=$T/dir
mkdir -p "$R/var/lib/dpkg/status" "$R/lib/apk/db/installed" "$R/etc/os-release"
check dir "$R" "" 2 "folders in place of the status and apk files are counted errors"

# --- 10 000 nested folders -----------------------------------------------------
R=$T/deep
mkdir -p "$R/var/lib/dpkg/status.d"
printf "$good" >"$R/var/lib/dpkg/status.d/good"
# perl (Essential in Debian) makes them with relative mkdir/chdir: O(1)
# each, where a shell's cd into a 20 000-byte path costs the kernel dearly.
perl -e 'chdir $ARGV[0] or die; for (1 .. 10000) { mkdir "a" or die; chdir "a" or die }
    open(my $f, ">", "status") or die; print $f $ARGV[1]; close $f or die' \
    "$R/var/lib/dpkg/status.d" "$(printf "$good" | sed 's/good/deepest/')" || tap_bail "could not make 10 000 nested folders"
# The longest link the kernel allows (4 KiB) into the chain: 1 990 levels.
target=status.d/$(printf 'a/%.0s' $(seq 1990))a
ln -s "$target" "$R/var/lib/dpkg/status"
check deep "$R" good 2 "10 000 nested folders: a folder in status.d and a link 1 990 levels deep to a folder are counted errors"

# --- a symlink loop -------------------------------------------------------------
R=$T/loop
mkdir -p "$R/var/lib/dpkg"
ln -s status2 "$R/var/lib/dpkg/status"
ln -s status "$R/var/lib/dpkg/status2"
check loop "$R" "" 1 "a symlink loop ends with a counted error (ELOOP)"

# --- rpm database path symlinked out -----------------------------------------
R=$T/rpm
mkdir -p "$R/var/lib"
ln -s "$T/outside/rpm" "$R/var/lib/rpm"
check rpm "$R" "" 0 "an rpm database folder symlinked out of the root is not read"
R=$T/rpm2
mkdir -p "$R/var/lib/rpm"
ln -s "../../../../../../..$T/outside/rpm/rpmdb.sqlite" "$R/var/lib/rpm/rpmdb.sqlite"
check rpm2 "$R" "" 0 "an rpmdb.sqlite symlinked ../../ out of the root is not copied"

tap_done
