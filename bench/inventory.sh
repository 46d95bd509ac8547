#!/bin/bash
# bench/inventory.sh: the agent's package inventory of a root against the
# distribution's own tools on the same root, in the same run.
#
#   bash bench/inventory.sh [BUILDDIR] [RUNS] [RPM_PACKAGES]
#
# Roots made here: a dpkg root holding this machine's /var/lib/dpkg/status,
# and an rpm root whose sqlite database rpm itself fills with RPM_PACKAGES
# (default 200) tiny packages built by rpmbuild.  Each command runs RUNS
# times (default 20), one process per run, output to /dev/null:
#   tallyman-agent scan --rootfs R --json   (the whole inventory: OS + all
#                                            ecosystems, JSON)
#   dpkg-query --admindir=R/var/lib/dpkg -W -f '<the same fields>'
#   rpm --root R -qa --qf '<the same fields>'
# and prints the mean wall time per run and the ratio agent / tool.  Also
# the in-process scan time the agent reports (scan_ns), which is what the
# cache saves for every container after the first of an image.
set -eu

BUILD=${1:-_build}
RUNS=${2:-20}
NRPM=${3:-200}
AGENT=$BUILD/agent/tallyman-agent
[ -x "$AGENT" ] || { echo "bench: no $AGENT (build first)" >&2; exit 1; }

T=$(mktemp -d /tmp/tm-bench-inventory-XXXXXX)
trap 'rm -rf "$T"' EXIT

now() { date +%s%N; }
# mean_ms CMD...: mean wall time of RUNS runs, in ms (3 decimals).
mean_ms() {
	local i t0 t1
	"$@" >/dev/null 2>&1	# warm the page cache
	t0=$(now)
	for ((i = 0; i < RUNS; i++)); do
		"$@" >/dev/null 2>&1
	done
	t1=$(now)
	awk -v a="$t0" -v b="$t1" -v n="$RUNS" 'BEGIN { printf "%.3f", (b - a) / n / 1e6 }'
}

# --- dpkg root ---------------------------------------------------------------
D=$T/dpkg
mkdir -p "$D/var/lib/dpkg/updates" "$D/var/lib/dpkg/info" "$D/etc"
cp /var/lib/dpkg/status "$D/var/lib/dpkg/status"
cp /etc/os-release "$D/etc/os-release"
ndpkg=$("$AGENT" scan --rootfs "$D" --json | jq '.packages | length')
sdpkg=$("$AGENT" scan --rootfs "$D" --json | jq '.scan_ns / 1000000')
ours=$(mean_ms "$AGENT" scan --rootfs "$D" --json)
theirs=$(mean_ms dpkg-query --admindir="$D/var/lib/dpkg" -W \
    -f '${db:Status-Status} ${Package} ${Version} ${Architecture} ${source:Package} ${source:Version}\n')

# --- rpm root ----------------------------------------------------------------
R=$T/rpm
mkdir -p "$R" "$T/specs"
for ((i = 0; i < NRPM; i++)); do
	{
		echo "Name: tm-bench-$i"
		((i % 3 == 0)) && echo "Epoch: $((i % 5))"
		echo "Version: 1.$i"
		echo "Release: $((i % 7)).tm"
		echo "Summary: bench package $i"
		echo "License: MIT"
		echo "BuildArch: noarch"
		echo "%description"
		echo "Bench."
		echo "%files"
	} >"$T/specs/p$i.spec"
done
for s in "$T"/specs/*.spec; do
	rpmbuild -bb --quiet --define "_topdir $T/build" --define "_rpmdir $T/rpms" \
	    --define "_build_id_links none" "$s" >/dev/null 2>&1
done
rpm --root "$R" --dbpath /var/lib/rpm --initdb
rpm --root "$R" --dbpath /var/lib/rpm -i --justdb --nodeps --noscripts \
    "$T"/rpms/*/*.rpm 2>/dev/null
nrpm=$("$AGENT" scan --rootfs "$R" --json | jq '.packages | length')
srpm=$("$AGENT" scan --rootfs "$R" --json | jq '.scan_ns / 1000000')
rours=$(mean_ms "$AGENT" scan --rootfs "$R" --json)
rtheirs=$(mean_ms rpm --root "$R" --dbpath /var/lib/rpm -qa \
    --qf '%{NAME} %{EPOCH} %{VERSION} %{RELEASE} %{ARCH} %{SOURCERPM} %{VENDOR}\n')

printf '%-6s %9s %18s %14s %8s %20s\n' root packages "tallyman (ms/run)" "tool (ms/run)" ratio "in-process scan (ms)"
printf '%-6s %9s %18s %14s %8s %20s\n' dpkg "$ndpkg" "$ours" "$theirs" \
    "$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }')" "$sdpkg"
printf '%-6s %9s %18s %14s %8s %20s\n' rpm "$nrpm" "$rours" "$rtheirs" \
    "$(awk -v a="$rours" -v b="$rtheirs" 'BEGIN { printf "%.2f", a / b }')" "$srpm"
echo "tallyman-agent --version alone (process start-up): $(mean_ms "$AGENT" --version) ms/run"
echo "runs per command: $RUNS (one process each, wall time, page cache warm)"
