# tests/lib/package.sh: helpers of the package tests (package-deb.sh,
# package-rpm.sh; inventory-rpm.sh takes pkg_dlopened).  Source it after
# harness.sh or tap.sh.
#
#   pkg_version                 PACKAGE_VERSION of this build (config.h)
#   pkg_source DEST             the source tree as a packager gets it, in DEST
#   pkg_needed FILE             the NEEDED sonames of an ELF file, one a line
#   pkg_elf_files DIR           the ELF files under DIR, one a line
#   pkg_dlopened PACKAGE        the sonames PACKAGE's programs open at run
#                               time (dlopen), which its dependencies must
#                               name by hand: librpm for the agent
#   pkg_libs DIR PACKAGE        the sonames PACKAGE (unpacked in DIR) needs:
#                               its ELF files' NEEDED and pkg_dlopened, one
#                               a line, sorted, once each

pkg_version() {
	sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "${top_builddir:?}/config.h"
}

# pkg_source DEST: copy the source tree into DEST (created): in a git
# checkout the files git tracks, as they are in the work tree (so a file
# someone forgot to add fails here as it would for a packager); otherwise
# the release's files (automake's distdir).  Never the build folders.
pkg_source() {
	local dest=$1
	mkdir -p "$dest" || return 1
	if git -C "$top_srcdir" rev-parse --git-dir >/dev/null 2>&1; then
		(cd "$top_srcdir" && git ls-files -z) |
		    tar -C "$top_srcdir" --null -T - -c | tar -x -C "$dest"
	else
		make -s -C "$top_builddir" distdir distdir="$dest" >/dev/null
	fi
}

pkg_needed() {
	objdump -p "$1" 2>/dev/null | awk '$1 == "NEEDED" { print $2 }'
}

pkg_dlopened() {
	[ "$1" = tallyman-agent ] || return 0
	sed -n 's/^#define RPM_SONAME "\(.*\)"$/\1/p' "${top_builddir:?}/config.h"
}

pkg_libs() {
	local f
	{
		for f in $(pkg_elf_files "$1"); do
			pkg_needed "$f"
		done
		pkg_dlopened "$2"
	} | sort -u
}

pkg_elf_files() {
	local f
	find "$1" -type f | sort | while read -r f; do
		[ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] &&
		    printf '%s\n' "$f"
	done
}
