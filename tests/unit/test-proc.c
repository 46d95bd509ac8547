/*
 * test-proc.c: agent/proc.c, the /proc and cgroup readers.  Parsers get the
 * formats the kernel writes (hybrid v1+v2, pure v2, cgroup namespaces,
 * hostile comm); the scan runs against a fake /proc tree (proc.root) with a
 * fake cgroup mount, a user namespace map and a container root whose
 * symlinks try to leave it, and once against this very process.  Pids
 * reused by another process are played on the fake tree at each stage of a
 * read (a hook), and for real: in a private pid namespace (as root) a
 * container process is killed and its pid handed to a new process at the
 * moment the scan lists it, and at the moment it has opened /proc/PID.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agent.h"

static const char hybrid_cgroup[] =
    "9:name=systemd:/docker/abc\n"
    "8:pids:/docker/abc\n"
    "4:memory:/docker/abc\n"
    "2:cpu,cpuacct:/docker/abc\n"
    "0::/docker/abc\n";

static const char hybrid_mountinfo[] =
    "31 23 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate\n"
    "33 31 0:30 / /sys/fs/cgroup/systemd rw,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd\n"
    "36 31 0:33 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:14 - cgroup cgroup rw,cpu,cpuacct\n"
    "37 31 0:34 / /sys/fs/cgroup/pids rw,relatime shared:15 - cgroup cgroup rw,pids\n"
    "38 31 0:35 / /sys/fs/cgroup/memory rw,relatime shared:16 - cgroup cgroup rw,memory\n"
    "40 23 0:5 / /proc rw,relatime shared:12 - proc proc rw\n";

static void
test_cgroup_parse_reads_every_hierarchy(void **state)
{
	struct proc_cg_line *l;
	size_t n;

	assert_int_equal(proc_cgroup_parse(hybrid_cgroup, strlen(hybrid_cgroup),
	    &l, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(l[0].hid, 9);
	assert_string_equal(l[0].controllers, "name=systemd");
	assert_string_equal(l[3].controllers, "cpu,cpuacct");
	assert_int_equal(l[4].hid, 0);
	assert_string_equal(l[4].controllers, "");
	assert_string_equal(l[4].path, "/docker/abc");
	proc_cg_lines_free(l, n);
}

static void
test_cgroup_parse_skips_malformed_lines(void **state)
{
	static const char bad[] = "garbage\nx:pids:/a\n12:pids\n7:memory:relative\n"
	    "3:cpu:/ok\n";
	struct proc_cg_line *l;
	size_t n;

	assert_int_equal(proc_cgroup_parse(bad, strlen(bad), &l, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(l[0].path, "/ok");
	proc_cg_lines_free(l, n);
	assert_int_equal(proc_cgroup_parse("nothing", 7, &l, &n), -1);
	proc_cg_lines_free(l, n);
}

static void
test_mountinfo_keeps_cgroup_mounts_with_controllers(void **state)
{
	struct proc_cg_mount *m;
	size_t n;

	assert_int_equal(proc_mountinfo_parse(hybrid_mountinfo,
	    strlen(hybrid_mountinfo), &m, &n), 0);
	assert_int_equal(n, 5);
	assert_true(m[0].v2);
	assert_string_equal(m[0].mountpoint, "/sys/fs/cgroup/unified");
	assert_string_equal(m[1].controllers, "name=systemd");
	assert_string_equal(m[2].controllers, "cpu,cpuacct");
	assert_string_equal(m[3].controllers, "pids");
	assert_string_equal(m[3].root, "/");
	proc_cg_mounts_free(m, n);
}

static char *
resolve(const char *cg, const char *mi)
{
	struct proc_cg_line *l;
	struct proc_cg_mount *m;
	size_t nl, nm;
	char *dir;

	proc_cgroup_parse(cg, strlen(cg), &l, &nl);
	proc_mountinfo_parse(mi, strlen(mi), &m, &nm);
	dir = proc_cgroup_resolve(l, nl, m, nm);
	proc_cg_lines_free(l, nl);
	proc_cg_mounts_free(m, nm);
	return dir;
}

static void
test_resolve_prefers_v2_group_on_hybrid(void **state)
{
	char *d = resolve(hybrid_cgroup, hybrid_mountinfo);

	assert_string_equal(d, "/sys/fs/cgroup/unified/docker/abc");
	free(d);
}

static void
test_resolve_falls_back_to_v1_pids_when_v2_is_root(void **state)
{
	static const char cg[] = "8:pids:/default/ctr1\n4:memory:/default/ctr1\n0::/\n";
	char *d = resolve(cg, hybrid_mountinfo);

	assert_string_equal(d, "/sys/fs/cgroup/pids/default/ctr1");
	free(d);
}

static void
test_resolve_pure_v2_and_systemd_slices(void **state)
{
	static const char cg[] = "0::/system.slice/docker-abc.scope\n";
	static const char mi[] = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n";
	char *d = resolve(cg, mi);

	assert_string_equal(d, "/sys/fs/cgroup/system.slice/docker-abc.scope");
	free(d);
}

static void
test_resolve_honours_mount_root_of_a_cgroup_namespace(void **state)
{
	/* The agent sees a hierarchy mounted from /kubepods inside it. */
	static const char cg[] = "0::/kubepods/pod1/ctr\n";
	static const char mi[] = "30 23 0:26 /kubepods /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
	static const char cg_out[] = "0::/elsewhere/ctr\n";
	char *d = resolve(cg, mi);

	assert_string_equal(d, "/sys/fs/cgroup/pod1/ctr");
	free(d);
	assert_null(resolve(cg_out, mi));
}

static void
test_resolve_refuses_dotdot_paths(void **state)
{
	static const char cg[] = "0::/docker/../../etc\n8:pids:/a/..\n";

	assert_null(resolve(cg, hybrid_mountinfo));
}

static void
test_idmap_maps_host_ids_into_the_namespace(void **state)
{
	static const char map[] = "         0     100000      65536\n"
	    "     65536       1000          1\n";
	struct proc_idmap m;

	assert_int_equal(proc_idmap_parse(map, strlen(map), &m), 0);
	assert_int_equal(m.n, 2);
	assert_int_equal(proc_idmap_inside(&m, 100000), 0);
	assert_int_equal(proc_idmap_inside(&m, 101000), 1000);
	assert_int_equal(proc_idmap_inside(&m, 1000), 65536);
	assert_true(proc_idmap_inside(&m, 0) == (uint64_t)-1);
	assert_int_equal(proc_idmap_parse("0 0\n", 4, &m), -1);
	assert_int_equal(proc_idmap_parse("0 0 1 junk\n", 11, &m), -1);
}

static void
test_stat_parse_survives_hostile_comm(void **state)
{
	/* A process may name itself ") S 1 2" to fool a naive parser. */
	static const char stat[] = "4242 (evil) S 1 2) R 77 4242 4242 0 -1 4194560 "
	    "100 0 0 0 0 0 0 0 20 0 1 0 123456 1000 10 18446744073709551615";
	struct proc_stat st;

	assert_int_equal(proc_stat_parse(stat, strlen(stat), &st), 0);
	assert_int_equal(st.pid, 4242);
	assert_string_equal(st.comm, "evil) S 1 2");
	assert_int_equal(st.state, 'R');
	assert_int_equal(st.ppid, 77);
	assert_int_equal(st.starttime, 123456);
	assert_int_equal(proc_stat_parse("12 (x) S", 8, &st), -1);
	assert_int_equal(proc_stat_parse("12 x S 1", 8, &st), -1);
}

static void
test_cmdline_split_bounds_arguments(void **state)
{
	char *buf, **args;
	size_t n, i, len = 300 * 2;

	args = NULL;
	assert_int_equal(proc_cmdline_split("sleep\0" "600\0", 10, &args, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(args[0], "sleep");
	assert_string_equal(args[1], "600");
	for (i = 0; i < n; i++)
		free(args[i]);
	free(args);
	/* 300 one-letter arguments: at most 256 kept */
	buf = malloc(len);
	for (i = 0; i < len; i += 2) {
		buf[i] = 'a';
		buf[i + 1] = '\0';
	}
	assert_int_equal(proc_cmdline_split(buf, len, &args, &n), 0);
	assert_int_equal(n, 256);
	for (i = 0; i < n; i++)
		free(args[i]);
	free(args);
	free(buf);
}

/* ---- the scan, on a fake /proc ---- */

static char tmpdir[64];

static void
put(const char *rel, const char *content, size_t len)
{
	char path[PATH_MAX], *slash;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	for (slash = strchr(path + strlen(tmpdir) + 1, '/'); slash != NULL;
	    slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(content, 1, len, fp), len);
	fclose(fp);
}

static void
link_at(const char *target, const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	assert_int_equal(symlink(target, path), 0);
}

static void
fake_proc(int pid, int ppid, const char *comm, unsigned huid, const char *exe)
{
	char rel[128], buf[512], target[PATH_MAX];

	snprintf(rel, sizeof(rel), "proc/%d/stat", pid);
	snprintf(buf, sizeof(buf), "%d (%s) S %d %d %d 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0",
	    pid, comm, ppid, pid, pid, 1000 + pid);
	put(rel, buf, strlen(buf));
	snprintf(rel, sizeof(rel), "proc/%d/status", pid);
	/* effective and saved ids differ from the real ones (setuid): the
	 * record carries the real ones */
	snprintf(buf, sizeof(buf), "Name:\t%s\nUid:\t%u\t%u\t%u\t%u\nGid:\t%u\t%u\t%u\t%u\n",
	    comm, huid, huid + 7, huid + 7, huid, huid, huid + 9, huid + 9, huid);
	put(rel, buf, strlen(buf));
	snprintf(rel, sizeof(rel), "proc/%d/uid_map", pid);
	put(rel, "0 100000 65536\n", 15);
	snprintf(rel, sizeof(rel), "proc/%d/gid_map", pid);
	put(rel, "0 100000 65536\n", 15);
	snprintf(rel, sizeof(rel), "proc/%d/cmdline", pid);
	snprintf(buf, sizeof(buf), "%s%c--flag%c", comm, 0, 0);
	put(rel, buf, strlen(comm) + 8);
	snprintf(rel, sizeof(rel), "proc/%d/cgroup", pid);
	put(rel, "0::/ctr/one\n", 12);
	snprintf(rel, sizeof(rel), "proc/%d/exe", pid);
	link_at(exe, rel);
	snprintf(rel, sizeof(rel), "proc/%d/root", pid);
	snprintf(target, sizeof(target), "%s/rootfs", tmpdir);
	link_at(target, rel);
}

static int
setup_fake(void **state)
{
	char mi[512], big[70000];

	strcpy(tmpdir, "/tmp/tm-watch-proc-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(mi, sizeof(mi),
	    "30 23 0:26 / %s/cg rw,nosuid - cgroup2 cgroup2 rw\n"
	    "31 23 0:27 / %s/cgv1 rw - cgroup cgroup rw,pids\n", tmpdir, tmpdir);
	put("proc/self/mountinfo", mi, strlen(mi));
	put("cg/ctr/one/cgroup.procs", "10\n11\n", 6);
	put("cg/ctr/one/nested/cgroup.procs", "12\n", 3);
	put("cg/cgroup.procs", "1\n10\n11\n12\n99\n", 15);
	/* the container's root: one real binary, and links that try to leave */
	put("rootfs/bin/app", "#!/bin/sh\necho app\n", 19);
	link_at("/etc/passwd", "rootfs/bin/escape");
	put("passwd-on-host", "host secret\n", 12);
	fake_proc(10, 1, "app", 100000, "/bin/app");
	fake_proc(11, 10, "worker", 101000, "/bin/app");
	fake_proc(12, 10, "escapee", 100000, "/bin/escape");
	/* a pid listed in the cgroup that is gone (exited meanwhile): 13 */
	put("cg/ctr/one/nested/more/cgroup.procs", "13\n", 3);
	/* a huge cmdline is cut, not refused */
	memset(big, 'x', sizeof(big));
	put("proc/12/cmdline", big, sizeof(big));
	*state = NULL;
	return 0;
}

static int
teardown_fake(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct tm_process *
find_pid(struct proc_scan *ps, uint64_t pid)
{
	size_t i;

	for (i = 0; i < ps->n_procs; i++)
		if (ps->procs[i].pid == pid)
			return &ps->procs[i];
	return NULL;
}

static void
test_scan_reads_every_process_of_the_cgroup(void **state)
{
	struct proc_scan ps;
	struct tm_process *p;
	char proc_root[PATH_MAX];
	uint8_t d[32];
	char hex[65];
	struct sha256_ctx c;

	snprintf(proc_root, sizeof(proc_root), "%s/proc", tmpdir);
	memset(&ps, 0, sizeof(ps));
	ps.proc_root = proc_root;
	ps.pids[0] = 10;
	ps.n_pids = 1;
	assert_int_equal(proc_scan_run(&ps), 3);
	assert_non_null(ps.cgroup_dir);
	assert_non_null(strstr(ps.cgroup_dir, "/cg/ctr/one"));
	/* pid 1 and 99 are in the root group only: not ours */
	assert_null(find_pid(&ps, 1));
	assert_null(find_pid(&ps, 99));
	assert_int_equal(ps.errors, 0);	/* 13 vanished: not an error */

	p = find_pid(&ps, 11);
	assert_non_null(p);
	assert_int_equal(p->ppid, 10);
	assert_string_equal(p->comm, "worker");
	assert_int_equal(p->host_uid, 101000);
	assert_int_equal(p->uid, 1000);		/* through uid_map */
	assert_int_equal(p->gid, 1000);
	assert_string_equal(p->exe, "/bin/app");
	assert_int_equal(p->n_args, 2);
	assert_string_equal(p->args[1], "--flag");
	assert_true(p->start_ns > 0);

	sha256_init(&c);
	sha256_update(&c, "#!/bin/sh\necho app\n", 19);
	sha256_final(&c, d);
	sha256_hex(d, hex);
	assert_string_equal(p->sha256, hex);
	assert_string_equal(find_pid(&ps, 10)->sha256, hex);
	assert_int_equal(find_pid(&ps, 10)->uid, 0);

	/* /bin/escape -> /etc/passwd resolves inside the root: no such file
	 * there, so no hash, and never the host's /etc/passwd. */
	p = find_pid(&ps, 12);
	assert_non_null(p);
	assert_string_equal(p->exe, "/bin/escape");
	assert_null(p->sha256);
	/* its 70000-byte command line was cut, not refused */
	assert_int_equal(p->n_args, 1);
	assert_int_equal(strlen(p->args[0]), TM_STR_MAX);
	proc_scan_free(&ps);
}

/*
 * A group listing more pids than the agent reads (4096): the rest are
 * counted in dropped (the container record's pdrop), not silently lost.
 * The pids listed here do not exist: they count as gone, not as errors.
 */
static void
test_scan_counts_pids_over_the_read_bound(void **state)
{
	struct proc_scan ps;
	char proc_root[PATH_MAX], *list;
	size_t len = 0, i;

	list = xmalloc(4200 * 8);
	for (i = 0; i < 4100; i++)
		len += (size_t)sprintf(list + len, "%zu\n", 20000 + i);
	put("cg/ctr/one/nested/cgroup.procs", list, len);
	free(list);
	snprintf(proc_root, sizeof(proc_root), "%s/proc", tmpdir);
	memset(&ps, 0, sizeof(ps));
	ps.proc_root = proc_root;
	ps.pids[0] = 10;
	ps.n_pids = 1;
	proc_scan_run(&ps);
	/* 10 and 11 (the group's own), the nested group's 4100 (in place of
	 * 12) and 13 further down: 4103 listed, 7 over the bound */
	assert_int_equal(ps.dropped, 7);
	assert_int_equal(ps.errors, 0);
	assert_non_null(find_pid(&ps, 10));
	proc_scan_free(&ps);
}

static void
test_scan_without_cgroup_reads_given_pids(void **state)
{
	struct proc_scan ps;
	char proc_root[PATH_MAX];

	/* pid 14 sits in the root groups only: no container group known */
	fake_proc(14, 1, "loner", 100000, "/bin/app");
	put("proc/14/cgroup", "0::/\n", 5);
	snprintf(proc_root, sizeof(proc_root), "%s/proc", tmpdir);
	memset(&ps, 0, sizeof(ps));
	ps.proc_root = proc_root;
	ps.pids[0] = 14;
	ps.pids[1] = 4000;	/* never existed */
	ps.n_pids = 2;
	assert_int_equal(proc_scan_run(&ps), 1);
	assert_null(ps.cgroup_dir);
	assert_int_equal(ps.procs[0].pid, 14);
	proc_scan_free(&ps);
}

/* ---- pids reused by another process ---- */

static void
test_scan_given_pid_outside_the_known_cgroup_is_another_process(void **state)
{
	struct proc_scan ps;
	char proc_root[PATH_MAX];

	/* The container's group is known but empty (gone): the pid the
	 * runtime named now belongs to a process of another group. */
	snprintf(proc_root, sizeof(proc_root), "%s/proc", tmpdir);
	memset(&ps, 0, sizeof(ps));
	ps.proc_root = proc_root;
	ps.cgroup_dir = xstrdup("/nonexistent/cgroup");
	ps.pids[0] = 12;
	ps.n_pids = 1;
	assert_int_equal(proc_scan_run(&ps), 0);
	assert_int_equal(ps.foreign, 1);
	proc_scan_free(&ps);
}

static void
test_scan_skips_a_listed_pid_that_is_now_a_host_process(void **state)
{
	struct proc_scan ps;
	char proc_root[PATH_MAX];

	/* 20 is listed in the container's group, but /proc/20 is by now a
	 * host process (the container's 20 exited, the pid was reused). */
	put("cg/ctr/one/cgroup.procs", "10\n11\n20\n", 9);
	fake_proc(20, 1, "cron", 0, "/usr/sbin/cron");
	put("proc/20/cgroup", "0::/system.slice/cron.service\n", 30);
	snprintf(proc_root, sizeof(proc_root), "%s/proc", tmpdir);
	memset(&ps, 0, sizeof(ps));
	ps.proc_root = proc_root;
	ps.pids[0] = 10;
	ps.n_pids = 1;
	assert_int_equal(proc_scan_run(&ps), 3);
	assert_null(find_pid(&ps, 20));
	assert_int_equal(ps.foreign, 1);
	assert_int_equal(ps.errors, 0);
	proc_scan_free(&ps);
}

/*
 * The hook plays the kernel reusing a pid at one stage of the read: the
 * folder /proc/PID is replaced by another process's (as a pid reuse makes
 * /proc/PID another process), or the process's cgroup changes.
 */
struct reuse {
	uint32_t	 pid;
	enum proc_stage	 stage;
	bool		 move;		/* change the cgroup instead */
	int		 fired;
};

static void
reuse_hook(void *arg, uint32_t pid, enum proc_stage stage)
{
	struct reuse *r = arg;
	char from[PATH_MAX], to[PATH_MAX], rel[64];

	if (pid != r->pid || stage != r->stage)
		return;
	r->fired++;
	if (r->move) {
		snprintf(rel, sizeof(rel), "proc/%u/cgroup", pid);
		put(rel, "0::/user.slice\n", 15);
		return;
	}
	snprintf(from, sizeof(from), "%s/proc/%u", tmpdir, pid);
	snprintf(to, sizeof(to), "%s/proc/%u.gone", tmpdir, pid);
	assert_int_equal(rename(from, to), 0);
	fake_proc((int)pid, 1, "hostproc", 0, "/usr/bin/hostproc");
	snprintf(rel, sizeof(rel), "proc/%u/cgroup", pid);
	put(rel, "0::/user.slice\n", 15);
}

/* Scan the fake container (its pid 10 named) with r played at its stage. */
static void
scan_with_reuse(struct proc_scan *ps, struct reuse *r, int want)
{
	static char proc_root[PATH_MAX];

	snprintf(proc_root, sizeof(proc_root), "%s/proc", tmpdir);
	memset(ps, 0, sizeof(*ps));
	ps->proc_root = proc_root;
	ps->pids[0] = 10;
	ps->n_pids = 1;
	ps->hook = reuse_hook;
	ps->hook_arg = r;
	assert_int_equal(proc_scan_run(ps), want);
	assert_int_equal(r->fired, 1);
}

static void
test_scan_reads_through_the_folder_it_opened(void **state)
{
	struct proc_scan ps;
	struct reuse r = { .pid = 11, .stage = PROC_STAGE_OPENED };
	size_t i;

	/* Reused right after we opened /proc/11: every read still comes
	 * from the process we opened and checked, never the new one. */
	scan_with_reuse(&ps, &r, 3);
	assert_non_null(find_pid(&ps, 11));
	assert_string_equal(find_pid(&ps, 11)->comm, "worker");
	assert_int_equal(find_pid(&ps, 11)->host_uid, 101000);
	assert_string_equal(find_pid(&ps, 11)->args[0], "worker");
	for (i = 0; i < ps.n_procs; i++)
		assert_string_not_equal(ps.procs[i].comm, "hostproc");
	assert_int_equal(ps.foreign, 0);
	proc_scan_free(&ps);
}

static void
test_scan_rejects_a_pid_reused_between_listing_and_open(void **state)
{
	struct proc_scan ps;
	struct reuse r = { .pid = 11, .stage = PROC_STAGE_LISTED };

	scan_with_reuse(&ps, &r, 2);
	assert_null(find_pid(&ps, 11));
	assert_int_equal(ps.foreign, 1);
	proc_scan_free(&ps);
}

static void
test_scan_drops_a_process_that_left_the_cgroup_during_the_reads(void **state)
{
	struct proc_scan ps;
	struct reuse r = { .pid = 11, .stage = PROC_STAGE_READ, .move = true };

	scan_with_reuse(&ps, &r, 2);
	assert_null(find_pid(&ps, 11));
	assert_int_equal(ps.foreign, 1);
	proc_scan_free(&ps);
}

static void
test_scan_named_pid_that_started_after_it_was_named_is_another(void **state)
{
	struct proc_scan ps;
	char proc_root[PATH_MAX];
	long hz = sysconf(_SC_CLK_TCK);

	/* fake pid 10 started at tick 1010; the runtime named pid 10 one
	 * tick before that: whatever runs as 10 now is not its process, and
	 * its group is not taken for the container's. */
	snprintf(proc_root, sizeof(proc_root), "%s/proc", tmpdir);
	memset(&ps, 0, sizeof(ps));
	ps.proc_root = proc_root;
	ps.pids[0] = 10;
	ps.pids_ns[0] = 1009ull * (1000000000ull / (uint64_t)hz);
	ps.n_pids = 1;
	assert_int_equal(proc_scan_run(&ps), 0);
	assert_null(ps.cgroup_dir);
	assert_int_equal(ps.foreign, 1);
	proc_scan_free(&ps);

	/* named at its start tick: it is the one (and so is its group) */
	memset(&ps, 0, sizeof(ps));
	ps.proc_root = proc_root;
	ps.pids[0] = 10;
	ps.pids_ns[0] = 1010ull * (1000000000ull / (uint64_t)hz);
	ps.n_pids = 1;
	assert_int_equal(proc_scan_run(&ps), 3);
	assert_non_null(ps.cgroup_dir);
	assert_int_equal(ps.foreign, 0);
	proc_scan_free(&ps);
}

static void
test_scan_of_this_process_hashes_its_executable(void **state)
{
	struct proc_scan ps;
	struct sha256_ctx c;
	uint8_t d[32], buf[65536];
	char hex[65], exe[PATH_MAX];
	ssize_t r, l;
	int fd;

	memset(&ps, 0, sizeof(ps));
	ps.proc_root = "/proc";
	ps.pids[0] = (uint32_t)getpid();
	ps.n_pids = 1;
	assert_true(proc_scan_run(&ps) >= 1);
	assert_non_null(find_pid(&ps, (uint64_t)getpid()));
	l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(l > 0);
	exe[l] = '\0';
	assert_string_equal(find_pid(&ps, (uint64_t)getpid())->exe, exe);
	fd = open(exe, O_RDONLY);
	assert_true(fd >= 0);
	sha256_init(&c);
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		sha256_update(&c, buf, (size_t)r);
	close(fd);
	sha256_final(&c, d);
	sha256_hex(d, hex);
	assert_string_equal(find_pid(&ps, (uint64_t)getpid())->sha256, hex);
	assert_int_equal(find_pid(&ps, (uint64_t)getpid())->ppid, (uint64_t)getppid());
	proc_scan_free(&ps);
}

/* ---- the real kernel: pids reused in a private pid namespace ---- */

#define KERNEL_SKIP	77

static char kcg[PATH_MAX - 64];	/* the "container's" cgroup folder */

/* A cgroup folder of our own: in the cgroup2 mount if there is one, else
 * in the v1 pids hierarchy (where the agent looks for containers). */
static int
kernel_cg_make(void)
{
	struct proc_cg_mount *m = NULL;
	size_t nm = 0, len, i;
	char *buf;
	int fd, rc = -1;

	if ((fd = open("/proc/self/mountinfo", O_RDONLY)) == -1)
		return -1;
	if (safe_read_fd(fd, 4u << 20, &buf, &len) == -1) {
		close(fd);
		return -1;
	}
	close(fd);
	proc_mountinfo_parse(buf, len, &m, &nm);
	free(buf);
	for (i = 0; i < nm && rc == -1; i++)
		if (m[i].v2 && strcmp(m[i].root, "/") == 0) {
			snprintf(kcg, sizeof(kcg), "%s/tm-proc-reuse-%d",
			    m[i].mountpoint, (int)getpid());
			rc = mkdir(kcg, 0755);
		}
	for (i = 0; i < nm && rc == -1; i++)
		if (!m[i].v2 && strcmp(m[i].root, "/") == 0 &&
		    strcmp(m[i].controllers, "pids") == 0) {
			snprintf(kcg, sizeof(kcg), "%s/tm-proc-reuse-%d",
			    m[i].mountpoint, (int)getpid());
			rc = mkdir(kcg, 0755);
		}
	proc_cg_mounts_free(m, nm);
	return rc;
}

static int
kernel_write(const char *path, long v)
{
	char num[32];
	int fd, n, rc;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	n = snprintf(num, sizeof(num), "%ld", v);
	rc = write(fd, num, (size_t)n) == n ? 0 : -1;
	close(fd);
	return rc;
}

static pid_t
kernel_sleeper(void)
{
	pid_t p = fork();

	if (p == 0)
		for (;;)
			pause();
	return p;
}

/* The process at pid dies and a new one is given that very pid. */
struct kreuse {
	pid_t		 pid;
	enum proc_stage	 stage;
	bool		 into_cg;	/* the new one joins the container group */
	bool		 reused;
};

static void
kernel_hook(void *arg, uint32_t pid, enum proc_stage stage)
{
	struct kreuse *k = arg;
	char procs[PATH_MAX];
	pid_t b;

	if ((pid_t)pid != k->pid || stage != k->stage)
		return;
	kill(k->pid, SIGKILL);
	waitpid(k->pid, NULL, 0);
	if (kernel_write("/proc/sys/kernel/ns_last_pid", (long)k->pid - 1) == -1)
		return;
	b = kernel_sleeper();
	k->reused = b == k->pid;
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", kcg);
	if (k->into_cg)
		kernel_write(procs, (long)b);
}

static bool
kernel_has(const struct proc_scan *ps, pid_t pid)
{
	size_t i;

	for (i = 0; i < ps->n_procs; i++)
		if (ps->procs[i].pid == (uint64_t)pid)
			return true;
	return false;
}

/*
 * Pid 1 of a new pid namespace, with its own /proc mounted at proc_root:
 * returns 0 when every check holds, KERNEL_SKIP when the kernel would not
 * let us reuse a pid, else the number of the failed check.
 */
static int
kernel_ns_init(const char *proc_root)
{
	struct proc_scan ps;
	struct kreuse k;
	char procs[PATH_MAX];
	pid_t a;
	int fail = 0;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1 ||
	    mount("proc", proc_root, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    NULL) == -1)
		return KERNEL_SKIP;
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", kcg);

	/* 1: the control: a process in the group is reported */
	a = kernel_sleeper();
	if (kernel_write(procs, (long)a) == -1)
		return KERNEL_SKIP;
	memset(&ps, 0, sizeof(ps));
	ps.proc_root = proc_root;
	ps.pids[0] = (uint32_t)a;
	ps.n_pids = 1;
	if (proc_scan_run(&ps) != 1 || !kernel_has(&ps, a) ||
	    ps.cgroup_dir == NULL || strcmp(ps.cgroup_dir, kcg) != 0)
		fail = fail ? fail : 1;
	proc_scan_free(&ps);

	/* 2: listed, then the pid goes to a host process: not reported */
	memset(&k, 0, sizeof(k));
	k.pid = a;
	k.stage = PROC_STAGE_LISTED;
	memset(&ps, 0, sizeof(ps));
	ps.proc_root = proc_root;
	ps.pids[0] = (uint32_t)a;
	ps.n_pids = 1;
	ps.hook = kernel_hook;
	ps.hook_arg = &k;
	proc_scan_run(&ps);
	if (!k.reused)
		return KERNEL_SKIP;
	if (kernel_has(&ps, a) || ps.foreign != 1)
		fail = fail ? fail : 2;
	proc_scan_free(&ps);
	kill(a, SIGKILL);
	waitpid(a, NULL, 0);

	/* 3: opened, then the pid is reused, even by a process that joins
	 * the group: nothing of the new one is read through our descriptor */
	a = kernel_sleeper();
	kernel_write(procs, (long)a);
	memset(&k, 0, sizeof(k));
	k.pid = a;
	k.stage = PROC_STAGE_OPENED;
	k.into_cg = true;
	memset(&ps, 0, sizeof(ps));
	ps.proc_root = proc_root;
	ps.cgroup_dir = xstrdup(kcg);
	ps.hook = kernel_hook;
	ps.hook_arg = &k;
	proc_scan_run(&ps);
	if (!k.reused)
		return KERNEL_SKIP;
	if (kernel_has(&ps, a))
		fail = fail ? fail : 3;
	proc_scan_free(&ps);
	/* ... and the next scan does see the new one, now in the group */
	memset(&ps, 0, sizeof(ps));
	ps.proc_root = proc_root;
	ps.cgroup_dir = xstrdup(kcg);
	if (proc_scan_run(&ps) != 1 || !kernel_has(&ps, a))
		fail = fail ? fail : 4;
	proc_scan_free(&ps);
	kill(a, SIGKILL);
	waitpid(a, NULL, 0);
	return fail;
}

static void
test_scan_real_pid_reuse_in_a_private_pid_namespace(void **state)
{
	char proc_root[64];
	pid_t x, y;
	int st, rc;

	if (geteuid() != 0)
		skip();
	strcpy(proc_root, "/tmp/tm-proc-ns-XXXXXX");
	assert_non_null(mkdtemp(proc_root));
	if (kernel_cg_make() == -1) {
		rmdir(proc_root);
		skip();
	}
	if ((x = fork()) == 0) {
		/* the new pid namespace is our children's: Y is its pid 1 */
		if (unshare(CLONE_NEWPID | CLONE_NEWNS) == -1)
			_exit(KERNEL_SKIP);
		if ((y = fork()) == 0)
			_exit(kernel_ns_init(proc_root));
		if (y == -1 || waitpid(y, &st, 0) == -1)
			_exit(KERNEL_SKIP);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 99);
	}
	assert_true(x > 0);
	assert_int_equal(waitpid(x, &st, 0), x);
	rc = WIFEXITED(st) ? WEXITSTATUS(st) : 98;
	rmdir(kcg);
	rmdir(proc_root);
	if (rc == KERNEL_SKIP)
		skip();
	assert_int_equal(rc, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cgroup_parse_reads_every_hierarchy),
		cmocka_unit_test(test_cgroup_parse_skips_malformed_lines),
		cmocka_unit_test(test_mountinfo_keeps_cgroup_mounts_with_controllers),
		cmocka_unit_test(test_resolve_prefers_v2_group_on_hybrid),
		cmocka_unit_test(test_resolve_falls_back_to_v1_pids_when_v2_is_root),
		cmocka_unit_test(test_resolve_pure_v2_and_systemd_slices),
		cmocka_unit_test(test_resolve_honours_mount_root_of_a_cgroup_namespace),
		cmocka_unit_test(test_resolve_refuses_dotdot_paths),
		cmocka_unit_test(test_idmap_maps_host_ids_into_the_namespace),
		cmocka_unit_test(test_stat_parse_survives_hostile_comm),
		cmocka_unit_test(test_cmdline_split_bounds_arguments),
		cmocka_unit_test_setup_teardown(test_scan_reads_every_process_of_the_cgroup,
		    setup_fake, teardown_fake),
		cmocka_unit_test_setup_teardown(test_scan_counts_pids_over_the_read_bound,
		    setup_fake, teardown_fake),
		cmocka_unit_test_setup_teardown(test_scan_without_cgroup_reads_given_pids,
		    setup_fake, teardown_fake),
		cmocka_unit_test_setup_teardown(test_scan_given_pid_outside_the_known_cgroup_is_another_process,
		    setup_fake, teardown_fake),
		cmocka_unit_test_setup_teardown(test_scan_skips_a_listed_pid_that_is_now_a_host_process,
		    setup_fake, teardown_fake),
		cmocka_unit_test_setup_teardown(test_scan_reads_through_the_folder_it_opened,
		    setup_fake, teardown_fake),
		cmocka_unit_test_setup_teardown(test_scan_rejects_a_pid_reused_between_listing_and_open,
		    setup_fake, teardown_fake),
		cmocka_unit_test_setup_teardown(test_scan_drops_a_process_that_left_the_cgroup_during_the_reads,
		    setup_fake, teardown_fake),
		cmocka_unit_test_setup_teardown(test_scan_named_pid_that_started_after_it_was_named_is_another,
		    setup_fake, teardown_fake),
		cmocka_unit_test(test_scan_of_this_process_hashes_its_executable),
		cmocka_unit_test(test_scan_real_pid_reuse_in_a_private_pid_namespace),
	};

	log_init("test-proc", LOG_LEVEL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
