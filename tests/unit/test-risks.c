/*
 * test-risks.c: configuration risks from Docker's inspect JSON
 * (agent/inspect-docker.c), from an OCI runtime spec (agent/spec-oci.c) and
 * the shared rules (agent/risks.c).  The inputs are shaped like what
 * dockerd 20.10 and containerd 1.6 produce for the same flags, plus hostile
 * variants: wrong types, over-long strings, escapes in paths.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/agent.h"

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static json_t *
j(const char *text)
{
	json_error_t err;
	json_t *v = json_loads(text, 0, &err);

	if (v == NULL)
		fail_msg("bad test JSON at %d: %s", err.position, err.text);
	return v;
}

static bool
has(char **list, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static void
free_ctr(struct tm_container *c)
{
	tm_struct_free(tm_kind_desc(TM_KIND_CONTAINER), c);
}

/* docker run --privileged -v /var/run/docker.sock:/var/run/docker.sock
 *   -v /etc:/host-etc:ro --pid host --net host --restart always */
static const char inspect_privileged[] = "{"
    "\"Id\":\"" ID64 "\",\"Name\":\"/priv\",\"Created\":\"2024-05-01T10:00:00.5Z\","
    "\"Path\":\"sleep\",\"Args\":[\"600\"],\"Image\":\"sha256:abc\","
    "\"State\":{\"Status\":\"running\",\"Pid\":4242,\"ExitCode\":0,"
    "\"OOMKilled\":false,\"StartedAt\":\"2024-05-01T10:00:01.25Z\","
    "\"FinishedAt\":\"0001-01-01T00:00:00Z\"},"
    "\"AppArmorProfile\":\"\",\"ProcessLabel\":\"\","
    "\"HostConfig\":{\"Privileged\":true,\"CapAdd\":null,\"CapDrop\":null,"
    "\"NetworkMode\":\"host\",\"PidMode\":\"host\",\"IpcMode\":\"private\","
    "\"UTSMode\":\"\",\"UsernsMode\":\"\",\"ReadonlyRootfs\":false,"
    "\"SecurityOpt\":[\"label=disable\"],\"Memory\":0,\"NanoCpus\":0,"
    "\"CpuQuota\":0,\"CpuPeriod\":0,\"PidsLimit\":null,\"Devices\":[],"
    "\"RestartPolicy\":{\"Name\":\"always\",\"MaximumRetryCount\":0}},"
    "\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/var/run/docker.sock\","
    "\"Destination\":\"/var/run/docker.sock\",\"RW\":true,\"Propagation\":\"rprivate\"},"
    "{\"Type\":\"bind\",\"Source\":\"/etc\",\"Destination\":\"/host-etc\","
    "\"RW\":false,\"Propagation\":\"rprivate\"},"
    "{\"Type\":\"volume\",\"Name\":\"data\",\"Source\":\"/var/lib/docker/volumes/data/_data\","
    "\"Destination\":\"/data\",\"RW\":true}],"
    "\"Config\":{\"User\":\"\",\"Image\":\"busybox:1.36\","
    "\"Labels\":{\"io.kubernetes.pod.name\":\"web-0\",\"team\":\"blue\"},"
    "\"Healthcheck\":null}}";

static void
test_inspect_privileged_with_docker_socket(void **state)
{
	struct tm_container c;
	json_t *in = j(inspect_privileged);
	struct tm_risks *r = &c.risks;

	memset(&c, 0, sizeof(c));
	assert_int_equal(inspect_docker_parse(in, false, &c), 0);
	assert_string_equal(c.runtime, "docker");
	assert_string_equal(c.ns, "moby");
	assert_string_equal(c.name, "priv");
	assert_string_equal(c.image_ref, "busybox:1.36");
	assert_string_equal(c.image_id, "sha256:abc");
	assert_int_equal(c.n_cmd, 2);
	assert_string_equal(c.cmd[0], "sleep");
	assert_string_equal(c.state, "running");
	assert_int_equal(c.pid, 4242);
	assert_true(c.created_ns == 1714557600500000000ull);
	assert_true(c.started_ns == 1714557601250000000ull);
	assert_int_equal(c.finished_ns, 0);
	assert_false(c.has_exit_code);
	assert_string_equal(c.pod_name, "web-0");

	assert_true(r->privileged);
	assert_int_equal(r->n_caps, risk_all_caps_len);	/* everything */
	assert_true(r->host_net);
	assert_true(r->host_pid);
	assert_false(r->host_ipc);
	assert_true(r->host_userns);	/* no remapping on the daemon */
	assert_true(r->docker_socket);
	assert_int_equal(r->n_mounts, 3);
	assert_true(r->mounts[0].sensitive);
	assert_false(r->mounts[0].ro);
	assert_string_equal(r->mounts[1].dest, "/host-etc");
	assert_true(r->mounts[1].sensitive);
	assert_true(r->mounts[1].ro);
	assert_string_equal(r->mounts[1].propagation, "rprivate");
	/* a volume lives in Docker's folder by design: not a host path risk */
	assert_false(r->mounts[2].sensitive);
	assert_string_equal(r->seccomp, "unconfined");	/* privileged */
	/* no profile named (a kernel without AppArmor): not applicable */
	assert_null(r->apparmor);
	assert_string_equal(r->selinux, "disabled");
	assert_string_equal(r->restart, "always");
	assert_true(r->root_user);
	assert_false(r->healthcheck);
	assert_int_equal(r->pids_limit, 0);
	free_ctr(&c);
	json_decref(in);
}

/* docker run --read-only --cap-drop ALL --cap-add NET_BIND_SERVICE
 *   --user 1000:1000 --security-opt no-new-privileges --memory 64m
 *   --cpus 0.5 --pids-limit 50 --health-cmd true, then it exited 3 */
static const char inspect_hardened[] = "{"
    "\"Id\":\"" ID64 "\",\"Name\":\"/hard\",\"Created\":\"2024-05-01T10:00:00Z\","
    "\"Path\":\"/app\",\"Args\":[],\"Image\":\"sha256:def\","
    "\"State\":{\"Status\":\"exited\",\"Pid\":0,\"ExitCode\":3,\"OOMKilled\":true,"
    "\"StartedAt\":\"2024-05-01T12:00:00+02:00\",\"FinishedAt\":\"2024-05-01T10:00:02.5Z\"},"
    "\"AppArmorProfile\":\"docker-default\","
    "\"HostConfig\":{\"Privileged\":false,\"CapAdd\":[\"NET_BIND_SERVICE\"],"
    "\"CapDrop\":[\"ALL\"],\"NetworkMode\":\"none\",\"ReadonlyRootfs\":true,"
    "\"SecurityOpt\":[\"no-new-privileges\"],\"Memory\":67108864,"
    "\"NanoCpus\":500000000,\"PidsLimit\":50,"
    "\"Devices\":[{\"PathOnHost\":\"/dev/fuse\",\"PathInContainer\":\"/dev/fuse\"}],"
    "\"RestartPolicy\":{\"Name\":\"\"}},"
    "\"Mounts\":[],"
    "\"Config\":{\"User\":\"1000:1000\",\"Image\":\"app:2\",\"Labels\":null,"
    "\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"true\"]}}}";

static void
test_inspect_hardened_container(void **state)
{
	struct tm_container c;
	json_t *in = j(inspect_hardened);
	struct tm_risks *r = &c.risks;

	memset(&c, 0, sizeof(c));
	assert_int_equal(inspect_docker_parse(in, false, &c), 0);
	assert_string_equal(c.state, "exited");
	assert_true(c.has_exit_code);
	assert_int_equal(c.exit_code, 3);
	assert_true(c.oom);
	/* +02:00 offset: 12:00 local is 10:00 UTC */
	assert_true(c.started_ns == 1714557600000000000ull);
	assert_true(c.lifetime_ns == 2500000000ull);
	assert_string_equal(c.user, "1000:1000");
	assert_false(r->privileged);
	assert_int_equal(r->n_caps, 1);
	assert_string_equal(r->caps[0], "NET_BIND_SERVICE");
	assert_true(has(r->cap_drop, r->n_cap_drop, "ALL"));
	assert_true(r->ro_rootfs);
	assert_true(r->no_new_privs);
	assert_string_equal(r->seccomp, "default");
	assert_string_equal(r->apparmor, "docker-default");
	assert_int_equal(r->mem_limit, 67108864);
	assert_int_equal(r->nano_cpus, 500000000);
	assert_int_equal(r->pids_limit, 50);
	assert_int_equal(r->n_devices, 1);
	assert_string_equal(r->devices[0], "/dev/fuse");
	assert_string_equal(r->restart, "no");
	assert_true(r->healthcheck);
	assert_false(r->root_user);
	assert_false(r->docker_socket);
	assert_false(r->host_net);
	free_ctr(&c);
	json_decref(in);
}

static void
test_inspect_caps_add_drop_and_seccomp_variants(void **state)
{
	struct tm_container c;
	json_t *in = j("{\"Id\":\"" ID64 "\",\"HostConfig\":{"
	    "\"CapAdd\":[\"CAP_SYS_ADMIN\",\"net_admin\",\"NOT_A_CAP\",42],"
	    "\"CapDrop\":[\"MKNOD\"],\"SecurityOpt\":[\"seccomp:unconfined\","
	    "\"no-new-privileges:false\"],\"CpuQuota\":150000,\"CpuPeriod\":0,"
	    "\"UsernsMode\":\"host\",\"IpcMode\":\"host\",\"UTSMode\":\"host\"},"
	    "\"Config\":{\"User\":\"root:root\",\"Healthcheck\":{\"Test\":[\"NONE\"]}}}");
	struct tm_risks *r = &c.risks;

	memset(&c, 0, sizeof(c));
	assert_int_equal(inspect_docker_parse(in, true, &c), 0);
	assert_int_equal(r->n_cap_add, 2);	/* unknown names and numbers dropped */
	assert_true(has(r->cap_add, r->n_cap_add, "SYS_ADMIN"));
	assert_true(has(r->cap_add, r->n_cap_add, "NET_ADMIN"));
	assert_int_equal(r->n_caps, 14 - 1 + 2);
	assert_true(has(r->caps, r->n_caps, "SYS_ADMIN"));
	assert_false(has(r->caps, r->n_caps, "MKNOD"));
	assert_string_equal(r->seccomp, "unconfined");
	assert_false(r->no_new_privs);
	assert_int_equal(r->nano_cpus, 1500000000);	/* quota over the default period */
	assert_true(r->host_userns);	/* explicitly, despite the daemon's remap */
	assert_true(r->host_ipc);
	assert_true(r->host_uts);
	assert_true(r->root_user);
	assert_false(r->healthcheck);	/* "NONE" disables the image's check */
	free_ctr(&c);
	json_decref(in);
}

static void
test_inspect_rejects_what_is_not_an_inspect(void **state)
{
	struct tm_container c;
	json_t *in;
	char *big;

	memset(&c, 0, sizeof(c));
	in = j("[1,2]");
	assert_int_equal(inspect_docker_parse(in, false, &c), -1);
	json_decref(in);
	in = j("{\"Id\":\"../../etc\"}");
	assert_int_equal(inspect_docker_parse(in, false, &c), -1);
	json_decref(in);
	/* wrong types everywhere are absent values, not crashes */
	in = j("{\"Id\":\"" ID64 "\",\"Name\":7,\"State\":\"x\",\"HostConfig\":[],"
	    "\"Mounts\":{\"a\":1},\"Config\":{\"Labels\":{\"k\":1,\"ok\":\"v\"},"
	    "\"User\":[]},\"Path\":null,\"Args\":\"no\"}");
	assert_int_equal(inspect_docker_parse(in, false, &c), 0);
	assert_null(c.name);
	assert_int_equal(c.n_cmd, 0);
	assert_int_equal(c.n_labels, 1);
	assert_string_equal(c.labels[0].k, "ok");
	assert_string_equal(c.state, "created");
	assert_true(c.risks.root_user);
	free_ctr(&c);
	json_decref(in);
	/* an over-long label value is left out, not cut or trusted */
	big = malloc(TM_STR_MAX + 100);
	memset(big, 'x', TM_STR_MAX + 99);
	big[TM_STR_MAX + 99] = '\0';
	in = json_pack("{s:s, s:{s:{s:s, s:s}}}", "Id", ID64, "Config", "Labels",
	    "big", big, "small", "v");
	memset(&c, 0, sizeof(c));
	assert_int_equal(inspect_docker_parse(in, false, &c), 0);
	assert_int_equal(c.n_labels, 1);
	assert_string_equal(c.labels[0].k, "small");
	free_ctr(&c);
	json_decref(in);
	free(big);
}

static void
test_inspect_time_formats(void **state)
{
	uint64_t ns;

	assert_int_equal(inspect_docker_time("1970-01-01T00:00:01Z", &ns), 0);
	assert_true(ns == 1000000000ull);
	assert_int_equal(inspect_docker_time("2024-05-01T10:00:00.123456789123Z", &ns), 0);
	assert_true(ns == 1714557600123456789ull);
	assert_int_equal(inspect_docker_time("0001-01-01T00:00:00Z", &ns), 0);
	assert_int_equal(ns, 0);
	assert_int_equal(inspect_docker_time("2024-05-01 10:00:00Z", &ns), -1);
	assert_int_equal(inspect_docker_time("2024-05-01T10:00:00", &ns), -1);
	assert_int_equal(inspect_docker_time("2024-13-01T10:00:00Z", &ns), -1);
	assert_int_equal(inspect_docker_time(NULL, &ns), -1);
}

static void
test_inspect_layers_upper_first(void **state)
{
	json_t *in = j("{\"GraphDriver\":{\"Name\":\"overlay2\",\"Data\":{"
	    "\"UpperDir\":\"/d/u/diff\",\"LowerDir\":\"/d/i-init/diff:/d/l1/diff:rel/x:/d/l2/diff\","
	    "\"MergedDir\":\"/d/u/merged\"}}}");
	char **l;
	size_t n, i;

	n = inspect_docker_layers(in, &l);
	assert_int_equal(n, 4);		/* the relative one is refused */
	assert_string_equal(l[0], "/d/u/diff");
	assert_string_equal(l[1], "/d/i-init/diff");
	assert_string_equal(l[3], "/d/l2/diff");
	for (i = 0; i < n; i++)
		free(l[i]);
	free(l);
	json_decref(in);
	in = j("{\"GraphDriver\":{\"Name\":\"vfs\",\"Data\":null}}");
	assert_int_equal(inspect_docker_layers(in, &l), 0);
	json_decref(in);
}

/* An OCI spec as containerd's default (ctr run) makes it, with a bind. */
static const char spec_ctr[] = "{"
    "\"ociVersion\":\"1.0.2-dev\","
    "\"process\":{\"user\":{\"uid\":0,\"gid\":0},\"args\":[\"sleep\",\"60\"],"
    "\"capabilities\":{\"bounding\":[\"CAP_CHOWN\",\"CAP_DAC_OVERRIDE\","
    "\"CAP_FSETID\",\"CAP_FOWNER\",\"CAP_MKNOD\",\"CAP_NET_RAW\",\"CAP_SETGID\","
    "\"CAP_SETUID\",\"CAP_SETFCAP\",\"CAP_SETPCAP\",\"CAP_NET_BIND_SERVICE\","
    "\"CAP_SYS_CHROOT\",\"CAP_KILL\",\"CAP_AUDIT_WRITE\"],"
    "\"effective\":[\"CAP_CHOWN\",\"CAP_DAC_OVERRIDE\",\"CAP_FSETID\",\"CAP_FOWNER\","
    "\"CAP_MKNOD\",\"CAP_NET_RAW\",\"CAP_SETGID\",\"CAP_SETUID\",\"CAP_SETFCAP\","
    "\"CAP_SETPCAP\",\"CAP_NET_BIND_SERVICE\",\"CAP_SYS_CHROOT\",\"CAP_KILL\","
    "\"CAP_AUDIT_WRITE\",\"CAP_SYS_PTRACE\"]},"
    "\"noNewPrivileges\":true},"
    "\"root\":{\"path\":\"rootfs\"},"
    "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
    "{\"destination\":\"/run/containerd/containerd.sock\",\"type\":\"bind\","
    "\"source\":\"/run/containerd/containerd.sock\",\"options\":[\"rbind\",\"rw\"]},"
    "{\"destination\":\"/data\",\"type\":\"none\",\"source\":\"/srv/data\","
    "\"options\":[\"rbind\",\"ro\",\"rslave\"]}],"
    "\"linux\":{\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}],"
    "\"memory\":{\"limit\":134217728},\"cpu\":{\"quota\":200000,\"period\":100000},"
    "\"pids\":{\"limit\":100}},"
    "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},"
    "{\"type\":\"mount\"},{\"type\":\"network\",\"path\":\"/proc/1/ns/net\"}],"
    "\"maskedPaths\":[\"/proc/kcore\"]}}";

static void
test_spec_ctr_container(void **state)
{
	struct tm_container c;
	json_t *in = j(spec_ctr);
	struct tm_risks *r = &c.risks;

	memset(&c, 0, sizeof(c));
	assert_int_equal(spec_oci_parse(in, &c), 0);
	assert_int_equal(c.n_cmd, 2);
	assert_string_equal(c.user, "0:0");
	assert_true(r->root_user);
	assert_int_equal(r->n_caps, 15);	/* effective, not bounding */
	assert_int_equal(r->n_cap_add, 1);
	assert_string_equal(r->cap_add[0], "SYS_PTRACE");
	assert_int_equal(r->n_cap_drop, 0);
	assert_true(r->no_new_privs);
	assert_false(r->privileged);
	/* a network namespace joined by path is not a private one */
	assert_true(r->host_net);
	assert_false(r->host_pid);
	assert_true(r->host_userns);
	assert_string_equal(r->seccomp, "unconfined");
	assert_null(r->apparmor);	/* the spec names none */
	assert_int_equal(r->mem_limit, 134217728);
	assert_int_equal(r->nano_cpus, 2000000000);
	assert_int_equal(r->pids_limit, 100);
	assert_int_equal(r->n_mounts, 2);	/* proc is not a host path */
	assert_true(r->docker_socket);
	assert_true(r->mounts[0].sensitive);
	assert_false(r->mounts[1].sensitive);
	assert_true(r->mounts[1].ro);
	assert_string_equal(r->mounts[1].propagation, "rslave");
	free_ctr(&c);
	json_decref(in);
}

static void
test_spec_privileged_and_runtime_binds(void **state)
{
	struct tm_container c;
	json_t *in = j("{\"process\":{\"user\":{\"uid\":1000,\"gid\":1000},"
	    "\"capabilities\":{\"effective\":[\"CAP_SYS_ADMIN\",\"CAP_NET_ADMIN\"]},"
	    "\"apparmorProfile\":\"custom\"},"
	    "\"root\":{\"readonly\":true},"
	    "\"mounts\":[{\"destination\":\"/etc/hosts\",\"type\":\"bind\","
	    "\"source\":\"/var/lib/docker/containers/" ID64 "/hosts\","
	    "\"options\":[\"rbind\",\"ro\"]}],"
	    "\"linux\":{\"resources\":{\"devices\":[{\"allow\":true,\"access\":\"rwm\"}]},"
	    "\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ERRNO\"},"
	    "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"ipc\"},"
	    "{\"type\":\"uts\"},{\"type\":\"user\"}],"
	    "\"devices\":[{\"path\":\"/dev/sda\"},{\"path\":7}]}}");
	struct tm_risks *r = &c.risks;

	memset(&c, 0, sizeof(c));
	c.id = xstrdup(ID64);
	assert_int_equal(spec_oci_parse(in, &c), 0);
	assert_true(r->privileged);		/* SYS_ADMIN + every device */
	assert_false(r->root_user);
	assert_true(r->ro_rootfs);
	assert_false(r->host_userns);
	assert_false(r->host_net);
	assert_string_equal(r->seccomp, "default");
	assert_string_equal(r->apparmor, "custom");
	assert_int_equal(r->n_mounts, 0);	/* Docker's own /etc/hosts bind */
	assert_int_equal(r->n_devices, 1);
	assert_true(has(r->cap_drop, r->n_cap_drop, "CHOWN"));
	free_ctr(&c);
	json_decref(in);
	in = j("{\"no\":\"process\"}");
	memset(&c, 0, sizeof(c));
	assert_int_equal(spec_oci_parse(in, &c), -1);
	free_ctr(&c);
	json_decref(in);
}

static void
test_sensitive_host_paths(void **state)
{
	assert_true(risk_path_sensitive("/"));
	assert_true(risk_path_sensitive("//"));
	assert_true(risk_path_sensitive("/etc"));
	assert_true(risk_path_sensitive("/etc/"));
	assert_true(risk_path_sensitive("/etc/shadow"));
	assert_true(risk_path_sensitive("/proc/sys"));
	assert_true(risk_path_sensitive("/sys"));
	assert_true(risk_path_sensitive("/var/lib/docker"));
	assert_true(risk_path_sensitive("/var/lib/docker/overlay2"));
	assert_true(risk_path_sensitive("/var/run/docker.sock"));
	assert_true(risk_path_sensitive("/tmp/test/docker.sock"));	/* any runtime socket */
	assert_true(risk_path_sensitive("/run/containerd/containerd.sock"));
	assert_true(risk_path_sensitive("/srv/../etc"));	/* cannot judge: sensitive */
	assert_true(risk_path_sensitive("relative/path"));
	assert_true(risk_path_sensitive("/./etc/./passwd"));
	assert_false(risk_path_sensitive("/srv/www"));
	assert_false(risk_path_sensitive("/etcetera"));
	assert_false(risk_path_sensitive("/var/lib/dockerish"));
	assert_false(risk_path_sensitive("/usr/share/zoneinfo"));
	assert_false(risk_path_sensitive("/home/user/src"));
	assert_true(risk_path_runtime_socket("/var/run/docker.sock"));
	assert_true(risk_path_runtime_socket("containerd.sock"));
	assert_false(risk_path_runtime_socket("/var/run/docker.sock.bak"));
}

static void
test_cap_names(void **state)
{
	char *s;

	s = risk_cap_name("cap_sys_admin");
	assert_string_equal(s, "SYS_ADMIN");
	free(s);
	s = risk_cap_name("all");
	assert_string_equal(s, "ALL");
	free(s);
	assert_null(risk_cap_name("CAP_MAKE_COFFEE"));
	assert_null(risk_cap_name(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inspect_privileged_with_docker_socket),
		cmocka_unit_test(test_inspect_hardened_container),
		cmocka_unit_test(test_inspect_caps_add_drop_and_seccomp_variants),
		cmocka_unit_test(test_inspect_rejects_what_is_not_an_inspect),
		cmocka_unit_test(test_inspect_time_formats),
		cmocka_unit_test(test_inspect_layers_upper_first),
		cmocka_unit_test(test_spec_ctr_container),
		cmocka_unit_test(test_spec_privileged_and_runtime_binds),
		cmocka_unit_test(test_sensitive_host_paths),
		cmocka_unit_test(test_cap_names),
	};

	log_init("test-risks", LOG_LEVEL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
