#!/bin/bash
# package-deb.sh: the Debian packages, built, checked, installed, used and
# purged on this machine.
#  - packaging/debian/ copied to debian/ in a copy of the source tree;
#    `dpkg-buildpackage -us -uc -b` (unit tests skipped here: the suite runs
#    them) builds tallyman-agent, tallyman-collector and tallyman-common;
#  - lintian (--pedantic, info tags shown): no error, no warning; every
#    override carries a reason comment and is used;
#  - contents: each program, unit, man page and configuration file in its
#    package, configuration files are conffiles (mode 0640);
#  - dependencies: every library a program needs (NEEDED) is a Depends of
#    its package, through the package that ships that library here;
#  - dpkg -i: the tallyman system user and group exist, the configuration
#    is readable by the collector's user and not by others, the API token
#    is made, the state folder belongs to the user; the installed
#    `tallyman-agent --check-config` accepts the shipped configuration and
#    `tallyman-agent scan --rootfs` inventories a test root; the collector,
#    run as its user, reads its configuration; the units pass
#    `systemd-analyze verify` where they are installed and are not enabled;
#    the man pages are found by man;
#  - dpkg --purge: nothing is left: no file of the packages, no
#    /etc/tallyman or /var/lib/tallyman, no user or group, no file named
#    tallyman anywhere in /etc, /usr, /var, /lib that was not there before.
# Installing packages is machine-wide: the install-to-purge part holds a
# lock (/run/lock/tallyman-package-deb.lock) so two suites on one machine
# take turns, and refuses to run over tallyman packages it did not install.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/package.sh"

harness_init
harness_require_root
harness_require_cmd dpkg-buildpackage dh dh_autoreconf lintian dpkg-deb curl python3 \
    objdump systemd-analyze man setpriv adduser flock jq

VERSION=$(pkg_version)
[ -n "$VERSION" ] || tap_bail "no PACKAGE_VERSION in $top_builddir/config.h"
DEBIAN=$top_srcdir/packaging/debian
PKGS="tallyman-common tallyman-agent tallyman-collector"

deb_version=$(dpkg-parsechangelog -l "$DEBIAN/changelog" -S Version)
tap_is "${deb_version%-*}" "$VERSION" \
    "packaging/debian/changelog's upstream version is the program's ($VERSION)"

# --- build ------------------------------------------------------------------
SRC=$TM_TMP/build/tallyman-$VERSION
pkg_source "$SRC" || tap_bail "cannot copy the source tree"
cp -r "$DEBIAN" "$SRC/debian" || tap_bail "cannot copy packaging/debian"
build() {
	(cd "$SRC" && DEB_BUILD_OPTIONS="nocheck parallel=${TM_JOBS:-2}" \
	    dpkg-buildpackage -us -uc -b) >"$TM_LOGS/dpkg-buildpackage.log" 2>&1
}
tap_check "dpkg-buildpackage -us -uc -b builds" build ||
    tap_bail "build failed: $(tail -n 30 "$TM_LOGS/dpkg-buildpackage.log")"
OUT=$TM_TMP/build
declare -A DEB
for p in $PKGS; do
	DEB[$p]=$(ls "$OUT/${p}_${deb_version}_"*.deb 2>/dev/null | head -n 1)
done
tap_is "$(for p in $PKGS; do [ -f "${DEB[$p]}" ] && echo "$p"; done | xargs)" \
    "$PKGS" "the three binary packages are built"
CHANGES=$(ls "$OUT"/tallyman_"${deb_version}"_*.changes | head -n 1)

# --- lintian ----------------------------------------------------------------
lintian -I --pedantic --show-overrides "$CHANGES" >"$TM_LOGS/lintian.log" 2>&1
tap_diag "lintian: $(grep -c '^E:' "$TM_LOGS/lintian.log") errors," \
    "$(grep -c '^W:' "$TM_LOGS/lintian.log") warnings," \
    "$(grep -c '^I:' "$TM_LOGS/lintian.log") info," \
    "$(grep -c '^P:' "$TM_LOGS/lintian.log") pedantic," \
    "$(grep -c '^O:' "$TM_LOGS/lintian.log") overridden"
tap_is "$(grep '^E:' "$TM_LOGS/lintian.log")" "" "lintian: no error"
tap_is "$(grep '^W:' "$TM_LOGS/lintian.log")" "" "lintian: no warning that is not overridden"
tap_is "$(grep -E 'unused-override|mismatched-override' "$TM_LOGS/lintian.log")" "" \
    "lintian: every override is used"
grep -E '^[IP]:' "$TM_LOGS/lintian.log" | while read -r l; do tap_diag "lintian $l"; done
# Each override line has a comment line (its reason) right above it or
# above the overrides it belongs with.
bare=
for f in "$DEBIAN"/*.lintian-overrides; do
	bare="$bare$(awk -v f="${f##*/}" '/^#/ { c = 1; next }
	    /^[^ ]/ { if (!c) print " " f ":" NR; c = 0 }' "$f")"
done
tap_is "${bare:-none}" none "every lintian override has a reason comment above it"

# --- contents ---------------------------------------------------------------
contents() { dpkg-deb -c "${DEB[$1]}" | awk '{ print $1, $2, $6 }'; }
tap_check "tallyman-agent ships the program, unit, man page, agent.conf (0640)" bash -c '
    set -e; c=$(dpkg-deb -c "$1" | awk "{ print \$1, \$2, \$6 }")
    grep -qx -- "-rwxr-xr-x root/root ./usr/sbin/tallyman-agent" <<<"$c"
    grep -qx -- "-rw-r--r-- root/root ./lib/systemd/system/tallyman-agent.service" <<<"$c"
    grep -qx -- "-rw-r--r-- root/root ./usr/share/man/man8/tallyman-agent.8.gz" <<<"$c"
    grep -qx -- "-rw-r----- root/root ./etc/tallyman/agent.conf" <<<"$c"' _ "${DEB[tallyman-agent]}"
tap_check "tallyman-collector ships the program, unit, man page, collector.conf (0640)" bash -c '
    set -e; c=$(dpkg-deb -c "$1" | awk "{ print \$1, \$2, \$6 }")
    grep -qx -- "-rwxr-xr-x root/root ./usr/sbin/tallyman-collector" <<<"$c"
    grep -qx -- "-rw-r--r-- root/root ./lib/systemd/system/tallyman-collector.service" <<<"$c"
    grep -qx -- "-rw-r--r-- root/root ./usr/share/man/man8/tallyman-collector.8.gz" <<<"$c"
    grep -qx -- "-rw-r----- root/root ./etc/tallyman/collector.conf" <<<"$c"' _ "${DEB[tallyman-collector]}"
tap_check "tallyman-common ships tallyman-decode, tallyman.conf(5), tallyman-decode(1)" bash -c '
    set -e; c=$(dpkg-deb -c "$1" | awk "{ print \$1, \$2, \$6 }")
    grep -qx -- "-rwxr-xr-x root/root ./usr/bin/tallyman-decode" <<<"$c"
    grep -qx -- "-rw-r--r-- root/root ./usr/share/man/man5/tallyman.conf.5.gz" <<<"$c"
    grep -qx -- "-rw-r--r-- root/root ./usr/share/man/man1/tallyman-decode.1.gz" <<<"$c"' _ "${DEB[tallyman-common]}"
# No program in a package it does not belong to.
tap_is "$(for p in $PKGS; do contents "$p" | awk -v p="$p" '$3 ~ /bin\/tallyman/ { print p ":" $3 }'; done | xargs)" \
    "tallyman-common:./usr/bin/tallyman-decode tallyman-agent:./usr/sbin/tallyman-agent tallyman-collector:./usr/sbin/tallyman-collector" \
    "each program is in exactly one package"
tap_is "$(dpkg-deb -I "${DEB[tallyman-agent]}" conffiles)|$(dpkg-deb -I "${DEB[tallyman-collector]}" conffiles)" \
    "/etc/tallyman/agent.conf|/etc/tallyman/collector.conf" \
    "agent.conf and collector.conf are conffiles"

# Dependencies: each NEEDED soname's package (here) is in Depends, and so
# is the package of each library a program opens at run time (the agent's
# librpm: dpkg-shlibdeps cannot see it).
deps_cover() {
	local p=$1 dir=$TM_TMP/x/$1 depends so path owner missing=
	rm -rf "$dir" && mkdir -p "$dir" && dpkg-deb -x "${DEB[$p]}" "$dir" || return 1
	depends=$(dpkg-deb -f "${DEB[$p]}" Depends | tr ',' '\n' |
	    sed -e 's/^ *//' -e 's/ .*//')
	for so in $(pkg_libs "$dir" "$p"); do
		path=$(ldconfig -p | awk -v s="$so" '$1 == s && /x86-64|64bit/ { print $NF; exit }')
		[ -z "$path" ] && path=$(ldconfig -p | awk -v s="$so" '$1 == s { print $NF; exit }')
		owner=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n 1 | cut -d: -f1)
		[ -z "$owner" ] && owner=$(dpkg -S "$path" 2>/dev/null | head -n 1 | cut -d: -f1)
		grep -qxF -- "$owner" <<<"$depends" || missing="$missing $so($owner)"
	done
	[ -z "$missing" ] && return 0
	echo "Depends: $(dpkg-deb -f "${DEB[$p]}" Depends)"
	echo "not covered:$missing"
	return 1
}
for p in $PKGS; do
	tap_check "$p: every NEEDED (and dlopen'ed) library's package is in Depends" deps_cover "$p"
done
tap_like "$(dpkg-deb -f "${DEB[tallyman-collector]}" Depends)" "(^|, )adduser(,|$)" \
    "tallyman-collector depends on adduser (its postinst makes the user)"
for p in tallyman-agent tallyman-collector; do
	tap_like "$(dpkg-deb -f "${DEB[$p]}" Depends)" \
	    "tallyman-common \(= ${deb_version//+/\\+}\)" "$p depends on tallyman-common of the same version"
done

# --- install, use, purge (one suite at a time on this machine) --------------
exec 9>/run/lock/tallyman-package-deb.lock
flock -w 1800 9 || tap_bail "another package-deb.sh holds /run/lock/tallyman-package-deb.lock"
installed() {
	local p
	for p in $PKGS; do
		dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null |
		    grep -qvx 'not-installed' && echo "$p"
	done
}
[ -z "$(installed)" ] ||
    tap_bail "tallyman packages are already on this machine ($(installed | xargs)): not ours to remove"
getent passwd tallyman >/dev/null && tap_bail "a tallyman user already exists on this machine"
[ -e /etc/tallyman ] || [ -e /var/lib/tallyman ] &&
    tap_bail "/etc/tallyman or /var/lib/tallyman already exists on this machine"

# What carries the name before: only what appears after the purge is ours.
leftovers() {
	find /etc /usr /lib /var -xdev \( -path /var/lib/docker -o -path /var/tmp \
	    -o -path /var/cache/apt -o -path /var/lib/apt -o -path /var/log \) -prune \
	    -o -name '*tallyman*' -print 2>/dev/null | sort
}
leftovers >"$TM_TMP/names.before"
getent passwd | sort >"$TM_TMP/passwd.before"
getent group | sort >"$TM_TMP/group.before"

WE_INSTALLED=
purge_ours() {
	[ -n "$WE_INSTALLED" ] || return 0
	dpkg --purge $PKGS >>"$TM_LOGS/dpkg.log" 2>&1
	WE_INSTALLED=
}
tap_at_done purge_ours

WE_INSTALLED=1
tap_check "dpkg -i installs the three packages" \
    dpkg -i "${DEB[tallyman-common]}" "${DEB[tallyman-agent]}" "${DEB[tallyman-collector]}" ||
    tap_bail "dpkg -i failed"
tap_is "$(installed | xargs)" "$PKGS" "dpkg lists the three packages installed"

# The collector's user and what it may read.
pw=$(getent passwd tallyman)
IFS=: read -r _ _ uid gid _ home shell <<<"$pw"
tap_like "$uid" '^[0-9]+$' "the tallyman user exists ($pw)"
tap_check "it is a system user (uid $uid < 1000) without a login shell" \
    bash -c '[ "$1" -lt 1000 ] && [ "$2" = /usr/sbin/nologin ]' _ "$uid" "$shell"
tap_is "$(getent group tallyman | cut -d: -f3)" "$gid" "the tallyman group is its group"
tap_is "$(stat -c '%a %U %G' /etc/tallyman/agent.conf /etc/tallyman/collector.conf /etc/tallyman/api.token | xargs)" \
    "640 root root 640 root tallyman 640 root tallyman" \
    "agent.conf root only; collector.conf and api.token for the tallyman group"
tap_like "$(cat /etc/tallyman/api.token)" '^[0-9a-f]{64}$' "the API token is 32 random bytes in hex"
tap_is "$(stat -c '%a %U %G' /var/lib/tallyman /var/lib/tallyman/collector | xargs)" \
    "755 root root 750 tallyman tallyman" "the collector's state folder belongs to its user"

# The installed programs with the shipped configuration.
out=$(tallyman-agent --check-config 2>&1); rc=$?
tap_like "$rc:$out" "^0:# tallyman-agent: configuration /etc/tallyman/agent.conf is valid" \
    "the installed tallyman-agent --check-config accepts /etc/tallyman/agent.conf"
tap_like "$out" "state.dir = \"/var/lib/tallyman/agent\"" "the agent's state is in /var/lib/tallyman/agent"
out=$(setpriv --reuid=tallyman --regid=tallyman --init-groups \
    tallyman-collector --check-config 2>&1); rc=$?
tap_like "$rc:$out" "^0:# tallyman-collector: configuration /etc/tallyman/collector.conf is valid" \
    "tallyman-collector --check-config as the tallyman user reads /etc/tallyman/collector.conf"
tap_like "$out" "store.path = \"/var/lib/tallyman/collector/collector.db\"" \
    "the collector's store is in /var/lib/tallyman/collector"
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups \
    tallyman-collector --check-config 2>&1); rc=$?
tap_like "$rc:$out" "^1:.*/etc/tallyman/collector.conf" \
    "another user cannot read collector.conf"
tap_is "$(setpriv --reuid=tallyman --regid=tallyman --init-groups cat /etc/tallyman/api.token)" \
    "$(cat /etc/tallyman/api.token)" "the tallyman user reads the API token"

# The installed collector runs as its user with the packaged files: its
# store in its state folder, the packaged token (embedded Kafka: a trial).
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
setpriv --reuid=tallyman --regid=tallyman --init-groups \
    tallyman-collector -o kafka.brokers=embedded -o "api.listen=127.0.0.1:$port" run \
    >"$TM_LOGS/collector.log" 2>&1 </dev/null &
CPID=$!
stop_collector() {
	[ -n "$CPID" ] || return 0
	kill -TERM "$CPID" 2>/dev/null
	timeout 30 tail --pid="$CPID" -f /dev/null
	kill -KILL "$CPID" 2>/dev/null
	wait "$CPID" 2>/dev/null
	CPID=
}
tap_at_done stop_collector
harness_wait_for "the collector's API" 60 \
    curl -sf "http://127.0.0.1:$port/healthz" ||
    tap_diag "collector: $(tail -n 5 "$TM_LOGS/collector.log")"
out=$(tallyman-collector -o "api.listen=127.0.0.1:$port" query stats --json 2>&1); rc=$?
tap_like "$rc:$out" '^0:.*"hosts": *0' \
    "the installed collector runs as tallyman and answers query with the packaged token"
tap_is "$(stat -c '%U' /var/lib/tallyman/collector/collector.db 2>&1)" tallyman \
    "its store is made in its state folder, as its user"
stop_collector

R=$TM_TMP/rootfs
mkdir -p "$R/etc" "$R/var/lib/dpkg"
printf 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n' >"$R/etc/os-release"
cat >"$R/var/lib/dpkg/status" <<'EOF'
Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl
Version: 3.0.11-1~deb12u2

Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1
EOF
out=$(tallyman-agent scan --rootfs "$R" --json 2>"$TM_LOGS/scan.log"); rc=$?
tap_is "$rc" 0 "the installed tallyman-agent scan --rootfs exits 0"
tap_is "$(jq -r '[.os.id, .os.version_id] + [.packages[] | "\(.name)=\(.version)"] | join(" ")' <<<"$out" 2>&1)" \
    "debian 12 libssl3=3.0.11-1~deb12u2 zlib1g=1:1.2.13.dfsg-1" \
    "it reads the test root's OS and dpkg packages"
tap_is "$(tallyman-collector compare-versions dpkg 1.0.1e-2+deb7u4 1.0.1e-2+deb7u5)" "<" \
    "the installed tallyman-collector compares dpkg versions"
tap_like "$(tallyman-decode --version 2>&1)" "^tallyman-decode" "the installed tallyman-decode runs"

tap_is "$(man -w tallyman-agent tallyman-collector tallyman.conf tallyman-decode 2>&1 | xargs)" \
    "/usr/share/man/man8/tallyman-agent.8.gz /usr/share/man/man8/tallyman-collector.8.gz /usr/share/man/man5/tallyman.conf.5.gz /usr/share/man/man1/tallyman-decode.1.gz" \
    "man finds the four installed pages"
# verify runs man for Documentation=; man-db saves formatted pages in
# /var/cache/man only at its default width, so another width leaves no
# cache file behind after the purge.
for u in tallyman-agent tallyman-collector; do
	out=$(cd "$TM_TMP" && MANWIDTH=100 systemd-analyze verify \
	    "/lib/systemd/system/$u.service" 2>&1); rc=$?
	tap_is "$rc:${out:-quiet}" "0:quiet" "systemd-analyze verify of the installed $u.service: no complaint"
	tap_is "$(ls /etc/systemd/system/*.wants/$u.service 2>/dev/null)" "" \
	    "$u.service is installed disabled (enabled once configured)"
done

# Remove keeps the configuration; purge removes everything.
dpkg -L $PKGS 2>/dev/null | sort -u >"$TM_TMP/files"
tap_check "dpkg --remove removes the packages" dpkg --remove $PKGS
tap_check "after remove, the configuration and the user are still there" \
    bash -c 'test -f /etc/tallyman/agent.conf && test -f /etc/tallyman/collector.conf &&
    getent passwd tallyman >/dev/null && ! test -e /usr/sbin/tallyman-agent'
tap_check "dpkg --purge purges them" dpkg --purge $PKGS
WE_INSTALLED=
tap_is "$(installed | xargs)" "" "no tallyman package is left"
left=
while read -r f; do
	[ -d "$f" ] && continue
	[ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done <"$TM_TMP/files"
tap_is "${left:-none}" none "no file of the packages is left"
tap_is "$(ls -d /etc/tallyman /var/lib/tallyman 2>/dev/null)" "" \
    "/etc/tallyman and /var/lib/tallyman are gone"
tap_is "$(getent passwd tallyman; getent group tallyman)" "" "the tallyman user and group are gone"
tap_is "$(getent passwd | sort | diff "$TM_TMP/passwd.before" - ; getent group | sort | diff "$TM_TMP/group.before" -)" "" \
    "the user and group databases are as before"
tap_is "$(leftovers | comm -13 "$TM_TMP/names.before" -)" "" \
    "nothing named tallyman appeared in /etc, /usr, /lib or /var"

tap_done
