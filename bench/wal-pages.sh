#!/bin/bash
# bench/wal-pages.sh: which tables and indexes the collector's commits
# write, counted in WAL frames (pages), over a bench/ingest.sh run.
# Prints one line per table or index: frames, share, frames per record.
# Asserts nothing (results go to bench/RESULTS.md by hand, with this
# command).
#
#   bench/wal-pages.sh BUILDDIR [HOSTS]     (default: 2000 hosts)
#   bench/wal-pages.sh --help
#
# BUILDDIR must be configured with CPPFLAGS=-DTM_WAL_PAGELOG: the store's
# WAL writer (collector/store-sqlite-vfs.c) then logs the page number of
# every frame it writes to the file $TM_WAL_PAGELOG names.  For example:
#   mkdir -p _build-pages && cd _build-pages &&
#   ../configure CFLAGS="-O2 -g" CPPFLAGS=-DTM_WAL_PAGELOG &&
#   make -j2 all && make check TESTS= && cd .. &&
#   bash bench/wal-pages.sh _build-pages 2000
# Pages are named by SQLite's dbstat table over the store as the run left
# it (a page freed and reused by another table during the run counts for
# its last owner; pages past the end of the store count as "(freed)").
# Environment: as bench/ingest.sh (MINUTES, PARTITIONS, IMAGES); FEEDS is
# always 0.  Needs what bench/ingest.sh needs.

set -u
case ${1:-} in
-h|--help|'')
	sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
	[ -n "${1:-}" ]
	exit
	;;
esac
B=$1
HOSTS=${2:-2000}
here=$(cd "$(dirname "$0")" && pwd)
log=$(mktemp /tmp/tm-wal-pages.XXXXXX)
out=$(mktemp /tmp/tm-wal-pages-out.XXXXXX)
kept=
cleanup() {
	rm -f "$log" "$out"
	[ -n "$kept" ] && rm -rf "$kept"
}
trap cleanup EXIT

TM_WAL_PAGELOG=$log KEEP=1 FEEDS=0 bash "$here/ingest.sh" "$B" "$HOSTS" \
    >"$out" 2>&1
rc=$?
kept=$(sed -n 's/^ingest.sh: kept \(.*\)$/\1/p' "$out" | tail -1)
grep -E '^(fleet-gen: total|ingest  )' "$out"
if [ $rc -ne 0 ] || [ -z "$kept" ] || [ ! -f "$kept/state/collector.db" ]; then
	echo "wal-pages.sh: the ingest run failed:" >&2
	tail -20 "$out" >&2
	exit 1
fi
if [ ! -s "$log" ]; then
	echo "wal-pages.sh: no frame was logged: is $B configured with" \
	    "CPPFLAGS=-DTM_WAL_PAGELOG?" >&2
	exit 1
fi
records=$(sed -n 's/^ingest *\([0-9]*\) records stored.*/\1/p' "$out")
# Each file's pages (the store, and its findings store when there is one),
# by the name of its WAL.
: >"$kept/pagemap"
for db in "$kept/state/collector.db" "$kept/state/collector-findings.db"; do
	[ -f "$db" ] || continue
	sqlite3 -separator ' ' "$db" "SELECT pageno, name FROM dbstat" |
	    sed "s|^|$db-wal |" >>"$kept/pagemap" || exit 1
done
python3 - "$kept/pagemap" "$log" "${records:-0}" <<'EOF'
import collections, sys

owner = {}
files = set()
with open(sys.argv[1]) as f:
    for line in f:
        wal, page, name = line.rstrip("\n").split(" ", 2)
        owner[(wal, int(page))] = name
        files.add(wal)
records = int(sys.argv[3])
count = collections.Counter()
with open(sys.argv[2]) as f:
    for line in f:
        wal, page = line.split()
        name = owner.get((wal, int(page)), "(freed)")
        if len(files) > 1 and "-findings.db-wal" in wal:
            name = "findings store: " + name
        count[name] += 1
total = sum(count.values())
print("%-40s %10s %7s %12s" % ("table or index", "frames", "share",
                               "per record"))
for name, n in count.most_common():
    print("%-40s %10d %6.1f%% %12.3f" % (name, n, 100.0 * n / total,
                                         n / records if records else 0))
print("%-40s %10d %6.1f%% %12.3f" % ("total", total, 100.0,
                                     total / records if records else 0))
EOF
