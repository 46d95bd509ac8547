#!/bin/bash
# inventory-dpkg.sh: the agent's dpkg inventory of a root holding this
# machine's real /var/lib/dpkg/status is exactly the set dpkg-query prints
# for it (name, version with epoch, architecture, source name and version);
# a distroless status.d root made from the same stanzas gives the same set;
# an apk installed database and os-release are read from a root.

. "$(dirname "$0")/../lib/tap.sh"
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)/_build}"
AGENT=$(prog_path agent/tallyman-agent)

[ "${TM_INTEG:-yes}" = skip ] && tap_skip_all "TM_INTEG=skip"
for c in dpkg-query jq; do
	command -v "$c" >/dev/null || tap_skip_all "$c not installed"
done
[ -r /var/lib/dpkg/status ] || tap_skip_all "no /var/lib/dpkg/status here"

T=$(mktemp -d /tmp/tm-inventory-dpkg-XXXXXX)
cleanup() { rm -rf "$T"; }
tap_at_done cleanup
trap 'cleanup' EXIT

R=$T/root
mkdir -p "$R/var/lib/dpkg/updates" "$R/var/lib/dpkg/info" "$R/etc"
cp /var/lib/dpkg/status "$R/var/lib/dpkg/status"
cp /etc/os-release "$R/etc/os-release" 2>/dev/null

# dpkg-query's own view, restricted to the states whose files are on disk.
fmt='${db:Status-Status} ${Package} ${Version} ${Architecture} ${source:Package} ${source:Version}\n'
want=$(dpkg-query --admindir="$R/var/lib/dpkg" -W -f "$fmt" |
    awk '$1 ~ /^(installed|triggers-pending|triggers-awaited|half-configured|unpacked)$/ { $1 = ""; sub(/^ /, ""); print }' |
    sort -u)
ours() {
	"$AGENT" scan --rootfs "$1" --json |
	    jq -r '.packages[] | select(.ecosystem == "dpkg") |
	    "\(.name) \(.version) \(.arch) \(.source_name) \(.source_version)"' |
	    sort -u
}
got=$(ours "$R")
n=$(wc -l <<<"$want")
tap_like "$n" '^[0-9]{2,}$' "dpkg-query lists this machine's packages ($n)"
if [ "$got" = "$want" ]; then
	tap_ok "dpkg inventory equals dpkg-query -W exactly ($n packages: name version arch source:Package source:Version)"
else
	tap_fail "dpkg inventory equals dpkg-query -W exactly" \
	    "$(diff <(echo "$want") <(echo "$got") | head -20)"
fi

# Packages whose Source field carries a version in parentheses.
paren=$(awk '/^Package:/ { p = $2 } /^Source: .*\(/ { print p }' \
    "$R/var/lib/dpkg/status" | sort -u | head -50)
np=$(grep -c . <<<"$paren")
if [ "$np" -gt 0 ]; then
	bad=0
	for p in $paren; do
		w=$(grep -E "^$p " <<<"$want" | sort)
		g=$(grep -E "^$p " <<<"$got" | sort)
		[ "$w" = "$g" ] || { bad=$((bad + 1)); tap_diag "$p: want '$w' got '$g'"; }
	done
	tap_is "$bad" 0 "$np packages with 'Source: name (version)' have dpkg-query's source name and version"
else
	tap_skip "packages with 'Source: name (version)'" "none on this machine"
fi
epochs=$(grep -c ' [0-9]*:' <<<"$want")
tap_like "$epochs" '^[0-9]+$' "versions with an epoch are compared too ($epochs)"

tap_like "$("$AGENT" scan --rootfs "$R" | head -1)" '^OS: ' \
    "the table starts with the OS line"

# --- distroless: one stanza file per package in status.d, no Status field ---
D=$T/distroless
mkdir -p "$D/var/lib/dpkg/status.d"
awk -v dir="$D/var/lib/dpkg/status.d" '
	BEGIN { RS = ""; FS = "\n" }
	{
		st = ""; name = ""; out = ""
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^Status:/) { st = $i; continue }
			if ($i ~ /^Package:/) name = substr($i, 10)
			out = out $i "\n"
		}
		if (st !~ / (installed|triggers-pending|triggers-awaited|half-configured|unpacked)$/) next
		n++
		f = dir "/" name
		if (seen[name]++) f = f "-" n
		printf "%s", out > f
		close(f)
		if (n % 5 == 0) { printf "x\n" > (f ".md5sums"); close(f ".md5sums") }
	}' "$R/var/lib/dpkg/status"
tap_is "$(ours "$D")" "$want" "distroless status.d root: the same set, without Status fields, *.md5sums ignored"

# --- apk ---------------------------------------------------------------------
A=$T/alpine
mkdir -p "$A/lib/apk/db" "$A/etc"
printf 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\n' >"$A/etc/os-release"
cat >"$A/lib/apk/db/installed" <<'EOF'
C:Q1+d3iD0KCMmn+r8cAzAvwwmQqw5Y=
P:musl
V:1.2.4_git20230717-r4
A:x86_64
S:407278
I:663552
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Timo Teräs <timo.teras@iki.fi>
t:1705308434
c:7d6ae3a5f4bd4d1eb8e3ae3e0a0d4c0e1d2b5a3b
p:so:libc.musl-x86_64.so.1=1
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1Vy2xCb6MAVHkdYbl7nNvdJmrYgk=

C:Q1b8UAWsQQmB5pyIbr/GNI7bQOvoo=
P:libcrypto3
V:3.1.4-r5
A:x86_64
o:openssl
F:usr/lib
R:libcrypto.so.3

C:Q1SPq6Bc8BQGBN4yH8VDXEESTLy4o=
P:busybox-binsh
V:1.36.1-r15
A:x86_64
o:busybox
EOF
tap_is "$("$AGENT" scan --rootfs "$A" --json | jq -r '.packages[] | "\(.ecosystem) \(.name) \(.version) \(.arch) \(.source_name) \(.source_version)"')" \
"apk busybox-binsh 1.36.1-r15 x86_64 busybox 1.36.1-r15
apk libcrypto3 3.1.4-r5 x86_64 openssl 3.1.4-r5
apk musl 1.2.4_git20230717-r4 x86_64 musl 1.2.4_git20230717-r4" \
    "apk installed database: name, version, arch and origin"
tap_is "$("$AGENT" scan --rootfs "$A" --json | jq -r '.os | "\(.id) \(.version_id) \(.pretty_name)"')" \
    "alpine 3.19.1 Alpine Linux v3.19" "os-release of an Alpine root"
rm "$A/etc/os-release"
echo 3.18.4 >"$A/etc/alpine-release"
tap_is "$("$AGENT" scan --rootfs "$A" --json | jq -r '.os | "\(.id) \(.version_id)"')" \
    "alpine 3.18.4" "without os-release, /etc/alpine-release names the OS"

tap_done
