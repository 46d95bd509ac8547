#!/bin/bash
# units-verify.sh: the systemd units as `make` generates them
# (packaging/systemd/*.service):
#  - ExecStart runs the program from the configured sbindir;
#  - `systemd-analyze verify` finds nothing to say (directives, the program,
#    the man pages named by Documentation=);
#  - `systemd-analyze security --offline=yes` exposure stays at or under
#    what packaging/README.md records (agent 2.3, collector 1.1: a new
#    directive that weakens a unit fails here); the scores are printed;
#  - the hardening this project relies on is there: the agent's capability
#    bounding set is exactly CAP_SYS_PTRACE CAP_DAC_READ_SEARCH, the
#    collector has none and runs as the tallyman user, both have
#    NoNewPrivileges, ProtectSystem=strict with a StateDirectory, and a
#    system call filter.
# systemd is not PID 1 here: verify and security read the unit files only.
# The units are checked with ExecStart pointing at the programs just built
# (verify wants an existing executable), the only line changed.
. "${top_srcdir:?}/tests/lib/tap.sh"

: "${top_builddir:?}"
: "${TM_SBINDIR:=/usr/local/sbin}"

if ! command -v systemd-analyze >/dev/null 2>&1; then
	[ "${CI:-}" = true ] && tap_bail "missing systemd-analyze (systemd: scripts/install-deps.sh)"
	tap_skip_all "missing systemd-analyze (systemd: scripts/install-deps.sh)"
fi

TMP=$(mktemp -d /tmp/tm-units.XXXXXX) || tap_bail "mktemp failed"
cleanup() { rm -rf "$TMP"; }
tap_at_done cleanup
trap cleanup EXIT

# The man pages, where `man` (run by verify for Documentation=) finds them.
mkdir -p "$TMP/man/man1" "$TMP/man/man5" "$TMP/man/man8"
for p in "$top_srcdir"/doc/*.[158]; do
	ln -s "$p" "$TMP/man/man${p##*.}/${p##*/}"
done
export MANPATH=$TMP/man

# key UNIT KEY: the values of KEY= in UNIT, one line each.
key() {
	sed -n "s/^$2=//p" "$1"
}

declare -A MAX=([agent]=2.3 [collector]=1.1)
for prog in agent collector; do
	P=tallyman-$prog
	src=$top_builddir/packaging/systemd/$P.service
	[ -f "$src" ] || tap_bail "$src not built"
	tap_is "$(key "$src" ExecStart)" "$TM_SBINDIR/$P run" \
	    "$P.service runs $TM_SBINDIR/$P run"

	unit=$TMP/$P.service
	sed "s|^ExecStart=$TM_SBINDIR/|ExecStart=$top_builddir/$prog/|" "$src" >"$unit"
	out=$(cd "$TMP" && systemd-analyze verify "$unit" 2>&1)
	rc=$?
	tap_is "$rc:${out:-quiet}" "0:quiet" "systemd-analyze verify $P.service: no complaint"

	out=$(cd "$TMP" && systemd-analyze security --offline=yes \
	    --threshold=0 "$unit" 2>&1)
	score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$out")
	tap_diag "systemd-analyze security --offline=yes $P.service: exposure $score"
	tap_like "$score" '^[0-9]+\.[0-9]$' "systemd-analyze security rates $P.service ($score)"
	tap_check "$P.service exposure $score is at most ${MAX[$prog]}" \
	    awk -v s="$score" -v m="${MAX[$prog]}" 'BEGIN { exit !(s != "" && s <= m) }'

	missing=
	for want in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes \
	    PrivateTmp=yes PrivateDevices=yes PrivateMounts=yes \
	    ProtectKernelTunables=yes ProtectKernelModules=yes \
	    ProtectControlGroups=yes SystemCallArchitectures=native \
	    MemoryDenyWriteExecute=yes RestrictNamespaces=yes \
	    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK" \
	    SystemCallFilter=@system-service \
	    "SystemCallFilter=~@privileged @resources"; do
		grep -qxF -- "$want" "$src" || missing="$missing [$want]"
	done
	tap_is "${missing:-none}" none "$P.service has the common hardening set"
	tap_is "$(key "$src" StateDirectory)" "tallyman/$prog" \
	    "$P.service writes only its StateDirectory tallyman/$prog"
done

a=$top_builddir/packaging/systemd/tallyman-agent.service
c=$top_builddir/packaging/systemd/tallyman-collector.service
tap_is "$(key "$a" CapabilityBoundingSet)" "CAP_SYS_PTRACE CAP_DAC_READ_SEARCH" \
    "the agent keeps exactly CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH"
tap_is "$(key "$a" AmbientCapabilities)|$(key "$a" User)" "|" \
    "the agent runs as root without ambient capabilities"
tap_is "$(key "$c" CapabilityBoundingSet)|$(key "$c" AmbientCapabilities)" "|" \
    "the collector has no capability"
tap_is "$(key "$c" User):$(key "$c" Group)" "tallyman:tallyman" \
    "the collector runs as the tallyman user and group"
tap_is "$(key "$c" PrivateUsers):$(key "$c" ProtectProc):$(key "$c" ProcSubset)" \
    "yes:invisible:pid" "the collector sees no other user and no other process"

tap_done
