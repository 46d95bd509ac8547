#!/bin/bash
# package-rpm.sh: packaging/rpm/tallyman.spec builds the same three
# packages as the Debian packaging, with Debian's rpmbuild:
#  - the spec's Version is the program's; `rpmbuild -ba` builds
#    tallyman-agent, tallyman-collector, tallyman-common and the source RPM
#    from a tarball of the source tree (rpmbuild itself fails on a file
#    `make install` makes that no package lists);
#  - `rpm -qpl`: each program, unit, man page and configuration file is in
#    the package it belongs to, under the RPM paths (/usr/lib/systemd/system,
#    /var/lib/tallyman); configuration files are %config(noreplace), mode
#    0640, collector.conf and the API token for the tallyman group; the
#    state folders belong to their program's user;
#  - `rpm -qpR`: every library a program needs (NEEDED, or opens at run
#    time: the agent's librpm) is required as
#    SONAME()(64bit), and no library that no file needs is; the agent and
#    collector require tallyman-common of the same version-release;
#  - the scriptlets: %pre of the collector makes the tallyman system user,
#    %post/%preun/%postun run the systemd macros (or their fallbacks).
# Debian's rpm database knows none of Debian's packages, so rpmbuild runs
# with --nodeps (the BuildRequires are for RPM distributions), and Debian's
# rpm has no debugedit, so no debuginfo package (debug_package %{nil}); the
# unit tests are skipped (--nocheck: the suite runs them).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/package.sh"

harness_init
harness_require_cmd rpmbuild rpm rpm2archive objdump tar

VERSION=$(pkg_version)
[ -n "$VERSION" ] || tap_bail "no PACKAGE_VERSION in $top_builddir/config.h"
SPEC=$top_srcdir/packaging/rpm/tallyman.spec
spec_version=$(rpmspec -q --srpm --qf '%{VERSION}' "$SPEC" 2>/dev/null)
release=$(rpmspec -q --srpm --qf '%{RELEASE}' "$SPEC" 2>/dev/null)
tap_is "$spec_version" "$VERSION" "tallyman.spec's Version is the program's ($VERSION)"
VR=$VERSION-$release

# --- build ------------------------------------------------------------------
TOP=$TM_TMP/rpmbuild
mkdir -p "$TOP/SOURCES"
pkg_source "$TM_TMP/src/tallyman-$VERSION" || tap_bail "cannot copy the source tree"
tar -C "$TM_TMP/src" -czf "$TOP/SOURCES/tallyman-$VERSION.tar.gz" "tallyman-$VERSION" ||
    tap_bail "cannot make the source tarball"
build() {
	rpmbuild -ba --nodeps --nocheck --define "_topdir $TOP" \
	    --define 'debug_package %{nil}' \
	    --define "_smp_mflags -j${TM_JOBS:-2}" "$SPEC" \
	    >"$TM_LOGS/rpmbuild.log" 2>&1
}
tap_check "rpmbuild -ba builds" build ||
    tap_bail "rpmbuild failed: $(tail -n 30 "$TM_LOGS/rpmbuild.log")"
tap_is "$(grep -E '^(warning:|RPM build warnings:)' "$TM_LOGS/rpmbuild.log" | head -n 5)" "" \
    "rpmbuild prints no warning about the spec"
declare -A RPM
for p in tallyman-common tallyman-agent tallyman-collector; do
	RPM[$p]=$(ls "$TOP"/RPMS/*/"$p-$VR".*.rpm 2>/dev/null | head -n 1)
done
tap_is "$(for p in tallyman-common tallyman-agent tallyman-collector; do
	[ -f "${RPM[$p]}" ] && echo "$p"; done | xargs)" \
    "tallyman-common tallyman-agent tallyman-collector" "the three binary RPMs are built"
tap_check "the source RPM is built" test -f "$TOP/SRPMS/tallyman-$VR.src.rpm"

# --- file lists (rpm -qpl) --------------------------------------------------
# files PKG: "MODE USER GROUP FLAGS PATH" per file, build-id links left out.
files() {
	rpm -qp --qf '[%{FILEMODES:perms} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]' \
	    "${RPM[$1]}" | grep -v ' /usr/lib/\.build-id' |
	    awk '{ if (NF == 4) { $5 = $4; $4 = "-" } print }'
}
tap_is "$(rpm -qpl "${RPM[tallyman-agent]}" | grep -v '^/usr/lib/\.build-id' | xargs)" \
    "/etc/tallyman/agent.conf /usr/lib/systemd/system/tallyman-agent.service /usr/sbin/tallyman-agent /usr/share/man/man8/tallyman-agent.8 /var/lib/tallyman/agent" \
    "rpm -qpl tallyman-agent: the agent, its unit, man page, configuration and state folder"
tap_is "$(rpm -qpl "${RPM[tallyman-collector]}" | grep -v '^/usr/lib/\.build-id' | xargs)" \
    "/etc/tallyman/api.token /etc/tallyman/collector.conf /usr/lib/systemd/system/tallyman-collector.service /usr/sbin/tallyman-collector /usr/share/man/man8/tallyman-collector.8 /var/lib/tallyman/collector" \
    "rpm -qpl tallyman-collector: the collector, its unit, man page, configuration, API token and state folder"
tap_like "$(rpm -qpl "${RPM[tallyman-common]}" | grep -v '^/usr/lib/\.build-id' | xargs)" \
    "^/etc/tallyman /usr/bin/tallyman-decode /usr/share/doc/tallyman-common-$VERSION (/usr/share/doc/tallyman-common-$VERSION/[^ ]+ )+/usr/share/man/man1/tallyman-decode.1(.gz)? /usr/share/man/man5/tallyman.conf.5(.gz)? /var/lib/tallyman$" \
    "rpm -qpl tallyman-common: tallyman-decode, the shared man page, documentation, the shared folders"
tap_like "$(files tallyman-agent | grep /etc/tallyman/agent.conf)" \
    '^-rw-r----- root root cn /etc/tallyman/agent.conf$' \
    "agent.conf is %config(noreplace), 0640, root only"
tap_like "$(files tallyman-collector | grep -E '/etc/tallyman/(collector.conf|api.token)' | xargs)" \
    '^-rw-r----- root tallyman cng /etc/tallyman/api.token -rw-r----- root tallyman cn /etc/tallyman/collector.conf$' \
    "collector.conf and the API token (made by %post, %ghost) are %config(noreplace), 0640, group tallyman"
tap_is "$(files tallyman-agent | grep ' /var/lib/tallyman/agent$')" \
    "drwx------ root root - /var/lib/tallyman/agent" "the agent's state folder is root's, 0700"
tap_is "$(files tallyman-collector | grep ' /var/lib/tallyman/collector$')" \
    "drwxr-x--- tallyman tallyman - /var/lib/tallyman/collector" \
    "the collector's state folder is the tallyman user's, 0750"
tap_like "$(files tallyman-collector | grep '/usr/share/man/')" '^-rw-r--r-- root root d ' \
    "man pages are documentation files"

# --- dependencies (rpm -qpR) ------------------------------------------------
deps_match() {
	local p=$1 dir=$TM_TMP/x/$1 reqs needed so missing= extra=
	rm -rf "$dir" && mkdir -p "$dir" || return 1
	cp "${RPM[$p]}" "$dir/p.rpm" && (cd "$dir" && rpm2archive p.rpm) &&
	    tar -C "$dir" -xzf "$dir/p.rpm.tgz" || return 1
	rm -f "$dir/p.rpm" "$dir/p.rpm.tgz"
	reqs=$(rpm -qpR "${RPM[$p]}")
	needed=$(pkg_libs "$dir" "$p")
	[ -n "$needed" ] || { echo "no ELF file with NEEDED in $p"; return 1; }
	for so in $needed; do
		grep -qxF -- "$so()(64bit)" <<<"$reqs" || missing="$missing $so"
	done
	for so in $(sed -n 's/^\([^ (]*\.so[^ (]*\)()(64bit)$/\1/p' <<<"$reqs"); do
		grep -qxF -- "$so" <<<"$needed" || extra="$extra $so"
	done
	[ -z "$missing$extra" ] && return 0
	echo "NEEDED: $(echo $needed)"
	echo "Requires: $(echo $reqs)"
	echo "needed but not required:${missing:- none}; required but not needed:${extra:- none}"
	return 1
}
for p in tallyman-common tallyman-agent tallyman-collector; do
	tap_check "rpm -qpR $p: its libraries are exactly its files' NEEDED (and dlopen'ed)" deps_match "$p"
done
for p in tallyman-agent tallyman-collector; do
	tap_like "$(rpm -qpR "${RPM[$p]}" | xargs)" "tallyman-common\(x86-64\) = $VR|tallyman-common = $VR" \
	    "$p requires tallyman-common $VR"
done
tap_like "$(rpm -qp --qf '[%{REQUIREFLAGS:deptype} %{REQUIRENAME}\n]' "${RPM[tallyman-collector]}" | xargs)" \
    "pre /usr/sbin/groupadd pre /usr/sbin/useradd" \
    "the collector's %pre requires groupadd and useradd"

# --- scriptlets ---------------------------------------------------------------
# flat PKG: the scriptlets on one line, continuation lines joined.
flat() {
	rpm -qp --scripts "${RPM[$1]}" | tr -d '\\' | tr -s ' \n\t' '   '
}
scripts=$(flat tallyman-collector)
tap_like "$scripts" "preinstall scriptlet.*groupadd -r tallyman.*useradd -r -g tallyman -d /var/lib/tallyman/collector -M -s /sbin/nologin" \
    "%pre makes the tallyman system group and user"
tap_like "$scripts" "postinstall scriptlet.*systemctl.*preset tallyman-collector.service" \
    "%post presets the collector's unit (installed disabled unless the distribution's preset enables it)"
tap_like "$scripts" "preuninstall scriptlet.*disable --now tallyman-collector.service" \
    "%preun stops and disables the collector on erase"
tap_like "$(flat tallyman-agent)" \
    "postinstall scriptlet.*preset tallyman-agent.service.*preuninstall scriptlet.*disable --now tallyman-agent.service.*postuninstall scriptlet.*try-restart tallyman-agent.service" \
    "the agent's %post, %preun and %postun handle its unit (restart on upgrade)"
# The collector's %pre as a shell script: sh -n parses it.
tap_check "the scriptlets are valid sh" bash -c '
    for p in "$@"; do
        rpm -qp --qf "%{PREIN}\n" "$p" | grep -v "^(none)$" | sh -n || exit 1
        rpm -qp --qf "%{POSTIN}\n" "$p" | grep -v "^(none)$" | sh -n || exit 1
        rpm -qp --qf "%{PREUN}\n" "$p" | grep -v "^(none)$" | sh -n || exit 1
        rpm -qp --qf "%{POSTUN}\n" "$p" | grep -v "^(none)$" | sh -n || exit 1
    done' _ "${RPM[tallyman-agent]}" "${RPM[tallyman-collector]}"

tap_done
