#!/bin/bash
# hostile-images.sh: images and containers built to attack the agent that
# inventories them, against the real `tallyman-agent run --output json`
# watching the harness's dockerd and containerd.
#
# Attacks (each image is built here with docker import; the containers run
# with --network none):
#  links     symlinks out of the root at every path the agent reads (os-release,
#            dpkg status and status.d, apk, both rpm database folders,
#            debian_version...), absolute and ../../.. chains to a host
#            canary; hard links (inside the image; one out of it in the tar);
#            a process whose executable is replaced by a link to the canary;
#            a process that chroots back and forth (CAP_SYS_CHROOT, in
#            Docker's default set) so /proc/PID/root changes while read
#  special   FIFOs and device nodes (zero, null, random, kmsg, a loop block
#            device) where files are expected
#  huge      an 80 MiB status file (over inventory.max_file_bytes), 5 000
#            status.d files, 1 500 nested folders in the image; at run time
#            a 10 GiB sparse file and 10 000 nested folders in the writable
#            layer (drift), before a docker exec
#  names     invalid UTF-8 and control characters in file names (one with a
#            newline and a forged log line), package fields, os-release,
#            process names and command lines
#  procs     1 MiB command lines; 2 000 processes (over the 1 024 the agent
#            keeps per container: counted in pdrop; the 4 096 it reads at
#            a time is tests/unit/test-proc's); processes that keep
#            exiting (fork loops)
# After each hostile container a plain one runs: its start record must
# still arrive (no hang).
#
# Proofs:
#  - no read outside the container root: a host canary (a valid dpkg stanza,
#    os-release and rpm database carrying a random token) whose token never
#    appears in any record or log line, and `strace -f -y` of the agent
#    (open, openat, openat2, with the path of every descriptor returned)
#    shows no descriptor of the canary ever opened;
#  - no crash (the agent is alive at the end and exits 0 on SIGTERM) and no
#    hang (every plain container's record arrives);
#  - bounded memory: VmHWM under HOSTILE_HWM_MIB (default 96 MiB) -- skipped
#    under ASan (TM_SANITIZERS=yes), whose shadow memory and quarantine
#    inflate it;
#  - every rejection counted: the hostile images' records carry errs, the
#    heartbeat perr, and every output line is valid JSON.
# Under sanitizers the agent runs with detect_leaks=0: LeakSanitizer cannot
# run under ptrace (strace); every other sanitizer check stays on.

. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/watch.sh"

harness_init
harness_require_cmd jq strace python3
HP=$top_builddir/tests/integ/hostile-proc
[ -x "$HP" ] || tap_bail "tests/integ/hostile-proc is not built"
harness_start
tap_diag "daemons: $SECONDS s"

# --- the host canary ----------------------------------------------------------
TOKEN=tmcanary$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
CD=$TM_TMP/host-secret
CANARY=$CD/status
mkdir -p "$CD"
printf 'Package: %s\nStatus: install ok installed\nVersion: 6.6.6\n\nID=%s\nPRETTY_NAME="%s"\n' \
    "$TOKEN" "$TOKEN" "$TOKEN" >"$CANARY"
printf 'SQLite format 3\0%s\n' "$TOKEN" >"$CD/rpmdb.sqlite"
cp "$CANARY" "$CD/Packages"
cp "$CANARY" "$CD/installed"

# The container's own file at the canary's path: a link that resolves
# inside the root finds this one.
own() {
	mkdir -p "$1$CD"
	printf 'Package: container-own\nStatus: install ok installed\nVersion: 1.0\n\nID=container-own\n' \
	    >"$1$CANARY"
}

# --- images -----------------------------------------------------------------
IMG=$TM_TMP/img
mkdir -p "$IMG"

# plain: the control; with hostile-proc, also the image of the process
# attacks (procs), which need nothing else.
mkdir -p "$IMG/plain/var/lib/dpkg"
printf 'Package: plain\nStatus: install ok installed\nVersion: 1\n' \
    >"$IMG/plain/var/lib/dpkg/status"
cp "$HP" "$IMG/plain/hostile-proc"
harness_image tm-plain:1 "$IMG/plain" || tap_bail "no plain image"

# links
R=$IMG/links
mkdir -p "$R/etc" "$R/usr/lib/sysimage/rpm" "$R/var/lib/dpkg/status.d" \
    "$R/lib/apk/db" "$R/alt/bin" "$R/alt/etc"
own "$R"
up=../../../../../../../../../../../../../..
ln -s "$CANARY" "$R/etc/os-release"
ln -s "$up$CANARY" "$R/usr/lib/os-release"
ln -s "$CANARY" "$R/var/lib/dpkg/status"
ln -s "$up$CANARY" "$R/var/lib/dpkg/status.d/escape"
ln -s "$up$CD/installed" "$R/lib/apk/db/installed"
ln -s "$CD" "$R/var/lib/rpm"
ln -s "$up$CD/rpmdb.sqlite" "$R/usr/lib/sysimage/rpm/rpmdb.sqlite"
ln -s "$CANARY" "$R/etc/debian_version"
ln -s "$up$CANARY" "$R/etc/alpine-release"
ln -s "$CANARY" "$R/etc/redhat-release"
ln "$R$CANARY" "$R/var/lib/dpkg/status.d/hard"
cp "$HP" "$R/hostile-proc"
# the chroot target: its hostile-proc and os-release lead out of it
ln -s "$CANARY" "$R/alt/hostile-proc"
ln -s "$up$CANARY" "$R/alt/etc/os-release"
harness_image tm-hostile-links:1 "$R" || tap_bail "no links image"

# a hard link out of the root can only be written by hand into a tar:
# dockerd must refuse it at import (it is the runtime's job, not ours, but
# the image must never exist).
python3 - "$TM_TMP/hardlink.tar" "$up$CANARY" <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    d = tarfile.TarInfo("var"); d.type = tarfile.DIRTYPE; t.addfile(d)
    h = tarfile.TarInfo("var/status"); h.type = tarfile.LNKTYPE
    h.linkname = sys.argv[2]; t.addfile(h)
EOF
if harness_docker import - tm-hostile-hardlink:1 <"$TM_TMP/hardlink.tar" \
    >/dev/null 2>"$TM_LOGS/hardlink-import.log"; then
	tap_fail "dockerd refuses an image whose hard link leaves the root" \
	    "it imported it"
else
	tap_ok "dockerd refuses an image whose hard link leaves the root ($(tail -c 120 "$TM_LOGS/hardlink-import.log" | tr '\n' ' '))"
fi

# special files
R=$IMG/special
mkdir -p "$R/etc" "$R/usr/lib" "$R/var/lib/dpkg/status.d" "$R/lib/apk/db" \
    "$R/var/lib/rpm" "$R/usr/lib/sysimage/rpm"
mkfifo "$R/etc/os-release" "$R/var/lib/dpkg/status.d/fifo" \
    "$R/lib/apk/db/installed" "$R/var/lib/rpm/rpmdb.sqlite" \
    "$R/etc/debian_version"
mknod "$R/usr/lib/os-release" c 1 5			# zero
mknod "$R/var/lib/dpkg/status" c 1 5			# zero
mknod "$R/var/lib/dpkg/status.d/null" c 1 3
mknod "$R/var/lib/dpkg/status.d/random" c 1 8
mknod "$R/var/lib/dpkg/status.d/kmsg" c 1 11
mknod "$R/var/lib/dpkg/status.d/loop" b 7 0
mknod "$R/var/lib/rpm/Packages" c 1 5
mknod "$R/usr/lib/sysimage/rpm/rpmdb.sqlite" c 1 8
printf 'Package: special-ok\nStatus: install ok installed\nVersion: 1\n' \
    >"$R/var/lib/dpkg/status.d/ok"
harness_image tm-hostile-special:1 "$R" || tap_bail "no special image"

# huge
R=$IMG/huge
mkdir -p "$R/var/lib/dpkg/status.d" "$R/etc"
head -c $((80 * 1024 * 1024)) /dev/zero >"$R/var/lib/dpkg/status"
python3 - "$R/var/lib/dpkg/status.d" <<'EOF'
import os, sys
d = sys.argv[1]
for i in range(5000):
    with open(os.path.join(d, "p%05d" % i), "w") as f:
        f.write("Package: huge-%05d\nStatus: install ok installed\nVersion: 1.%d\n" % (i, i))
p = os.path.join(d, "nest")
os.mkdir(p)
os.chdir(p)
for _ in range(1500):
    os.mkdir("a")
    os.chdir("a")
with open("deepest", "w") as f:
    f.write("Package: deepest\nStatus: install ok installed\nVersion: 1\n")
EOF
printf 'ID=huge\nPRETTY_NAME="%s"\n' "$(head -c 100000 /dev/zero | tr '\0' x)" \
    >"$R/etc/os-release"
cp "$HP" "$R/hostile-proc"
harness_image tm-hostile-huge:1 "$R" || tap_bail "no huge image"

# names
R=$IMG/names
mkdir -p "$R/var/lib/dpkg/status.d" "$R/etc"
printf 'Package: bad\xff\xfename\nStatus: install ok installed\nVersion: 1.0\x1b[31m\n\nPackage: ctl\x01\x02\x7f\nStatus: install ok installed\nVersion: 2\nSource: src\xc3\x28 (3\xe2\x82)\n\nPackage: names-ok\nStatus: install ok installed\nVersion: 3\nDescription: \x1b]0;pwned\x07\n' \
    >"$R/var/lib/dpkg/status"
printf 'Package: forged\nStatus: install ok installed\nVersion: 4\n' \
    >"$R/var/lib/dpkg/status.d/"$'evil\nFORGED-LOG-LINE\x1b[2J'
printf 'Package: badname\nStatus: install ok installed\nVersion: 5\n' \
    >"$R/var/lib/dpkg/status.d/"$'\xff\xfe\x01'
# a FIFO: its rejection is logged with its name
mkfifo "$R/var/lib/dpkg/status.d/"$'fifo\nFORGED-LOG-LINE\x1b[2J'
printf 'ID=bad\xffid\nVERSION_ID="1\x1b[2J"\nPRETTY_NAME="\x1b]0;pwned\x07 \xc3\x28\nFORGED-LOG-LINE"\n' \
    >"$R/etc/os-release"
cp "$HP" "$R/hostile-proc"
harness_image tm-hostile-names:1 "$R" || tap_bail "no names image"
tap_diag "images: $SECONDS s"


# --- the agent, under strace ------------------------------------------------
WATCH_OUT=$TM_TMP/agent.json
: >"$WATCH_OUT"
mkdir -p "$TM_TMP/agent-state"
agent_env=()
if [ "${TM_SANITIZERS:-no}" = yes ]; then
	tap_diag "sanitizer build: detect_leaks=0 for the agent (LeakSanitizer cannot run under ptrace)"
	agent_env=(env "ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0")
fi
strace -f --seccomp-bpf -y -qq -s 512 -e trace=open,openat,openat2 -o "$TM_TMP/strace.log" \
    "${agent_env[@]}" sh -c 'echo $$ >"$0"; exec "$@"' "$TM_TMP/agent.pid" \
    "$WATCH_AGENT" --log-level info \
    -o docker.socket="$TM_DOCKER_SOCK" -o containerd.socket="$TM_CONTAINERD_SOCK" \
    -o state.dir="$TM_TMP/agent-state" -o host.id="tm-hostile-$TM_ID" \
    -o heartbeat.interval=2s \
    run --output json >"$WATCH_OUT" 2>"$TM_LOGS/agent.log" </dev/null &
STRACE_PID=$!
harness_wait_for "the agent's pid" 30 test -s "$TM_TMP/agent.pid" ||
    tap_bail "the agent did not start"
AGENT_PID=$(cat "$TM_TMP/agent.pid")
agent_stop() {
	local end
	if kill -0 "$AGENT_PID" 2>/dev/null; then
		kill -TERM "$AGENT_PID"
		end=$((SECONDS + 60))
		while kill -0 "$AGENT_PID" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do
			sleep 0.2
		done
		kill -KILL "$AGENT_PID" 2>/dev/null
	fi
	wait "$STRACE_PID" 2>/dev/null
	AGENT_RC=$?
}
on_exit() {
	agent_stop
	harness__on_exit
}
trap on_exit EXIT
tap_at_done agent_stop
watch_wait_connected || tap_bail "the agent did not connect: $(tail -5 "$TM_LOGS/agent.log")"
tap_diag "agent connected: $SECONDS s"

# run NAME IMAGE ARGS...: a container (--network none), its start record.
declare -A CID
run() {
	local name=$1 image=$2 id
	shift 2
	id=$(harness_docker run -d --network none --name "$name-$TM_ID" "$image" "$@") ||
	    { tap_fail "container $name starts" "docker run failed"; return 1; }
	CID[$name]=$id
	watch_wait_record "$name's start record" \
	    ".k == \"container\" and .b.id == \"$id\" and .b.why == \"start\"" 180
}
# plain N: a plain container after an attack; its record must arrive.
T0=$SECONDS
plain() {
	local name=plain-$1
	tap_diag "$1: $((SECONDS - T0)) s"
	T0=$SECONDS
	if run "$name" tm-plain:1 sleep 600; then
		tap_ok "after $1: a plain container's start record still arrives"
	else
		tap_fail "after $1: a plain container's start record still arrives" \
		    "$(tail -5 "$TM_LOGS/agent.log")"
	fi
}
# said NAME ERE: the container's output has a line matching ERE (polled
# through its log, not docker exec: each exec makes the agent read every
# process of the container again).
said() {
	harness_docker logs "${CID[$1]}" 2>&1 | grep -q -E "$2"
}
# exec_record NAME: docker exec in it, wait for the exec snapshot.
exec_record() {
	local id=${CID[$1]}
	harness_docker exec "$id" true >/dev/null 2>&1
	watch_wait_record "$1's exec record" \
	    ".k == \"container\" and .b.id == \"$id\" and .b.why == \"exec\"" 180
}
rec() {	# rec NAME WHY: that record's body
	watch_records | jq -c --arg id "${CID[$1]}" --arg w "$2" \
	    'select(.k == "container" and .b.id == $id and .b.why == $w) | .b' | tail -n 1
}
image_rec() {	# image_rec IMAGE-ID: the image record
	watch_records | jq -c --arg i "$1" 'select(.k == "image" and .b.iid == $i) | .b' |
	    tail -n 1
}
iid() {
	harness_docker image inspect -f '{{.Id}}' "$1"
}

# --- links: an exe swapped for a link, a root swapped in a loop ---------------
run links tm-hostile-links:1 sh -c \
    'cp /bin/busybox /tmp/evil && (/tmp/evil sleep 600 &) && sleep 0.5 &&
     rm /tmp/evil && ln -s '"$CANARY"' /tmp/evil &&
     (/hostile-proc swaproot /alt &) && exec sleep 600'
sleep 2
exec_record links
plain links
L=$(rec links exec)
tap_like "$(jq -r '[.procs[].comm] | join(",")' <<<"$L")" 'hostile-proc' \
    "links: the process swapping its root is read"

# --- special files --------------------------------------------------------------
run special tm-hostile-special:1 sleep 600
plain special

# --- huge: image, then the writable layer ------------------------------------
run huge tm-hostile-huge:1 sh -c \
    'truncate -s 10G /tmp/sparse && exec /hostile-proc deep /deep 10000'
harness_wait_for "huge's folders" 300 said huge 'made 10000 folders'
exec_record huge
plain huge

# --- names --------------------------------------------------------------------
run names tm-hostile-names:1 sh -c \
    '(/hostile-proc name "$(printf "\033[2J\377\nFORGED")" &);
     exec sh -c "sleep 600; :" "$(printf "\377\376\033]0;pwned\007\nFORGED-LOG-LINE")"'
sleep 1
exec_record names
plain names

# --- procs: 1 MiB command lines, 2 000 processes, processes that keep exiting --
run cmdline tm-plain:1 sh -c \
    'x=$(head -c 120000 /dev/zero | tr "\0" a);
     exec sh -c "sleep 600; :" $x $x $x $x $x $x $x $x $x'
exec_record cmdline
plain cmdline
run many tm-plain:1 /hostile-proc spawn 2000
harness_wait_for "2 000 processes" 300 said many 'started 2000'
exec_record many
plain many
run churn tm-plain:1 sh -c \
    '/hostile-proc churn & /hostile-proc churn & exec sleep 600'
sleep 2
for i in 1 2 3; do
	harness_docker exec "${CID[churn]}" true >/dev/null 2>&1
done
exec_record churn
plain churn

# --- while still running: memory, heartbeat ------------------------------------
hb_after=$(date +%s)
watch_wait_record "a heartbeat after the attacks" \
    ".k == \"heartbeat\" and .t / 1000000000 > $hb_after" 60
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$AGENT_PID/status" 2>/dev/null)
tap_diag "agent VmHWM ${hwm:-?} kB, VmRSS $(awk '/^VmRSS:/ {print $2}' "/proc/$AGENT_PID/status" 2>/dev/null) kB"
if kill -0 "$AGENT_PID" 2>/dev/null; then
	tap_ok "the agent is still running after every attack (no crash)"
else
	tap_fail "the agent is still running after every attack (no crash)" \
	    "$(tail -20 "$TM_LOGS/agent.log")"
fi
bound=${HOSTILE_HWM_MIB:-96}
if [ "${TM_SANITIZERS:-no}" = yes ]; then
	tap_skip "the agent's peak resident memory stays under $bound MiB" \
	    "ASan's shadow memory and quarantine inflate VmHWM"
elif [ -n "$hwm" ] && [ "$hwm" -lt $((bound * 1024)) ]; then
	tap_ok "the agent's peak resident memory stays under $bound MiB ($((hwm / 1024)) MiB)"
else
	tap_fail "the agent's peak resident memory stays under $bound MiB" "VmHWM ${hwm:-?} kB"
fi

harness_docker rm -f "${CID[@]}" >/dev/null 2>&1
agent_stop
tap_is "$AGENT_RC" 0 "the agent exits 0 on SIGTERM"

# --- proofs ----------------------------------------------------------------------
J=$WATCH_OUT
bad=$(jq -c . <"$J" 2>&1 >/dev/null | head -n 3)
tap_is "$bad" "" "every output line is valid JSON ($(wc -l <"$J") records)"
if grep -a -q "$TOKEN" "$J" "$TM_LOGS/agent.log"; then
	tap_fail "the host canary's token is in no record and no log line" \
	    "$(grep -a -l "$TOKEN" "$J" "$TM_LOGS/agent.log")"
else
	tap_ok "the host canary's token is in no record and no log line"
fi
opened=$(grep -a -E "<$CD(/[^>]*)?>" "$TM_TMP/strace.log" | head -n 5)
tap_is "$opened" "" "strace: the agent never opened the canary or its folder ($(grep -c -E 'open(at2?)?\(' "$TM_TMP/strace.log") opens traced)"
tap_like "$(grep -c 'openat2(' "$TM_TMP/strace.log")" '^[1-9]' \
    "strace saw the agent resolve container paths with openat2"

lk=$(image_rec "$(iid tm-hostile-links:1)")
tap_is "$(jq -r '[.pkgs[]?.name] | sort | unique | join(",")' <<<"$lk")" "container-own" \
    "links: links to the canary's path resolve inside the root (the container's own file, never the host's)"
tap_is "$(jq -r '.os // ""' <<<"$lk")" "container-own" \
    "links: os-release -> canary path reads the container's own file"
sp=$(image_rec "$(iid tm-hostile-special:1)")
tap_is "$(jq -r '[.pkgs[]?.name] | join(",")' <<<"$sp")" "special-ok" \
    "special: only the regular file's package is read"
tap_like "$(jq -r '.errs // 0' <<<"$sp")" '^([5-9]|[1-9][0-9]+)$' \
    "special: FIFOs and device nodes are counted rejections ($(jq -r '.errs // 0' <<<"$sp"))"
hg=$(image_rec "$(iid tm-hostile-huge:1)")
tap_is "$(jq -r '[.pkgs[]?.name] | length' <<<"$hg")" 5000 \
    "huge: the 5 000 status.d packages are read"
tap_like "$(jq -r '.errs // 0' <<<"$hg")" '^[1-9]' \
    "huge: the 80 MiB status file and the nested folder are counted rejections ($(jq -r '.errs // 0' <<<"$hg"))"
nm=$(image_rec "$(iid tm-hostile-names:1)")
tap_diag "names: packages $(jq -c '[.pkgs[]? | [.name, .ver]]' <<<"$nm"), os $(jq -c '[.os, .osv, .osp]' <<<"$nm")"
tap_diag "names: processes $(jq -c '[.procs[]? | [.comm, (.args | map(.[0:40]))]]' <<<"$(rec names exec)")"
tap_like "$(jq -r '[.pkgs[]?.name] | join(",")' <<<"$nm")" 'names-ok' \
    "names: the well-formed package is read next to the malformed ones"
tap_like "$(jq -r '.errs // 0' <<<"$nm")" '^[1-9]' \
    "names: malformed fields are counted rejections ($(jq -r '.errs // 0' <<<"$nm"))"
esc=$(grep -a -c $'\x1b' "$TM_LOGS/agent.log")
tap_is "$esc" 0 "names: no raw escape character reaches the agent's log"
tap_is "$(grep -a -c '^FORGED' "$TM_LOGS/agent.log")" 0 \
    "names: a newline in a container's file or process name forges no log line"
tap_like "$(grep -a -c -F 'fifo\x0aFORGED-LOG-LINE\x1b[2J' "$TM_LOGS/agent.log")" '^[1-9]' \
    "names: the FIFO's rejection is logged with its name escaped"
C=$(rec cmdline exec)
kept=$(jq -r '[.procs[] | select(.args[2]? == "sleep 600; :") | .args | add | length] | max // 0' <<<"$C")
# bounded: at most a command line's TM_STR_LONG (schema/schema.h, 64 KiB)
if [ "$kept" -gt 0 ] && [ "$kept" -le 65536 ]; then
	tap_ok "cmdline: the 1 MiB command line's process is reported, its arguments bounded ($kept bytes kept)"
else
	tap_fail "cmdline: the 1 MiB command line's process is reported, its arguments bounded" \
	    "$kept bytes kept: $(jq -c '[.procs[] | [.comm, (.args | length)]]' <<<"$C")"
fi
M=$(rec many exec)
np=$(jq -r '.procs | length' <<<"$M")
pd=$(jq -r '.pdrop // 0' <<<"$M")
tap_is "$np" 1024 "many: of 2 000 processes, the 1 024 the agent keeps per container are reported"
tap_like "$pd" '^9[0-9]{2}$' "many: those left out are counted in pdrop ($pd)"
perr=$(watch_records | jq -r 'select(.k == "heartbeat") | .b.perr // 0' | tail -n 1)
tap_like "$perr" '^[1-9]' "the heartbeat counts the rejected container files (perr $perr)"

tap_done
