#!/bin/bash
# runc-capfilter.sh: a runc wrapper for tests on hosts whose capability
# bounding set lacks some capabilities (runc then refuses --privileged
# containers and execs: "unable to apply caps").  Installed as a Docker
# runtime (dockerd --add-runtime NAME=PATH); PATH.drop lists the missing
# capabilities ("CAP_A,CAP_B").  They are removed from the OCI spec runc is
# about to use -- the bundle's config.json (create) or the exec's process
# file -- and runc runs with the same arguments.  Docker's own view of the
# container (inspect) is unchanged.
drop=$(cat "$0.drop" 2>/dev/null)
prev=
file=
sel=
for a in "$@"; do
	case "$prev" in
	--bundle|-b) file=$a/config.json; sel=.process.capabilities ;;
	--process|-p) file=$a; sel=.capabilities ;;
	esac
	prev=$a
done
if [ -n "$drop" ] && [ -n "$file" ] && [ -f "$file" ]; then
	jq --arg d "$drop" "(\$d | split(\",\")) as \$m |
	    $sel |= (. // {} | with_entries(.value |= map(select(
	    (. as \$c | \$m | index(\$c)) == null))))" "$file" >"$file.tm" &&
	    mv "$file.tm" "$file"
fi
exec runc "$@"
