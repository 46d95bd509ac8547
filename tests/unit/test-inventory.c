/*
 * test-inventory.c: the inventory parsers on buffers, and rootfs' overlay
 * and containment rules on real folders made here (whiteouts as the kernel
 * writes them: char device 0/0 and the trusted.overlay.opaque xattr).
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agent.h"

struct fixture {
	struct tm_image		img;
	struct inventory_scan	s;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->s.img = &f->img;
	f->s.max_file = INVENTORY_MAX_FILE;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	inventory_image_free(&f->img);
	free(f);
	return 0;
}

static const struct tm_package *
find_pkg(const struct tm_image *img, const char *name)
{
	size_t	i;

	for (i = 0; i < img->n_packages; i++)
		if (strcmp(img->packages[i].name, name) == 0)
			return &img->packages[i];
	return NULL;
}

static void
parse_dpkg(struct fixture *f, const char *text, int status_d)
{
	inventory_dpkg_parse(&f->s, text, strlen(text), "status", status_d);
}

static void
test_dpkg_source_version_in_parens(void **state)
{
	struct fixture *f = *state;
	const struct tm_package *p;

	parse_dpkg(f,
	    "Package: libssl3\n"
	    "Status: install ok installed\n"
	    "Architecture: amd64\n"
	    "Source: openssl (3.0.11-1~deb12u2)\n"
	    "Version: 3.0.11-1~deb12u2+b1\n"
	    "Description: Secure Sockets Layer toolkit\n"
	    " continuation line: Package: not-a-package\n"
	    "\n"
	    "Package: bash\n"
	    "Status: install ok installed\n"
	    "Version: 5.2.15-2+b2\n"
	    "Source: bash\n"
	    "Architecture: amd64\n", 0);
	assert_int_equal(f->img.n_packages, 2);
	p = find_pkg(&f->img, "libssl3");
	assert_non_null(p);
	assert_string_equal(p->source_name, "openssl");
	assert_string_equal(p->source_version, "3.0.11-1~deb12u2");
	assert_string_equal(p->version, "3.0.11-1~deb12u2+b1");
	assert_string_equal(p->arch, "amd64");
	p = find_pkg(&f->img, "bash");
	assert_string_equal(p->source_name, "bash");
	assert_string_equal(p->source_version, "5.2.15-2+b2");
}

static void
test_dpkg_source_defaults_to_binary(void **state)
{
	struct fixture *f = *state;
	const struct tm_package *p;

	parse_dpkg(f, "Package: zlib1g\nStatus: install ok installed\n"
	    "Version: 1:1.2.13.dfsg-1\nArchitecture: amd64\n", 0);
	p = find_pkg(&f->img, "zlib1g");
	assert_non_null(p);
	assert_string_equal(p->source_name, "zlib1g");
	assert_string_equal(p->source_version, "1:1.2.13.dfsg-1");
}

static void
test_dpkg_epoch_kept_and_zero_epoch_dropped(void **state)
{
	struct fixture *f = *state;

	parse_dpkg(f,
	    "Package: a\nStatus: install ok installed\nVersion: 2:1.0-1\n\n"
	    "Package: b\nStatus: install ok installed\nVersion: 0:1.0-1\n\n"
	    "Package: c\nStatus: install ok installed\nVersion: 007:1.0\n"
	    "Source: csrc (0:0.9)\n", 0);
	assert_string_equal(find_pkg(&f->img, "a")->version, "2:1.0-1");
	assert_string_equal(find_pkg(&f->img, "b")->version, "1.0-1");
	assert_string_equal(find_pkg(&f->img, "c")->version, "7:1.0");
	assert_string_equal(find_pkg(&f->img, "c")->source_version, "0.9");
}

static void
test_dpkg_only_installed_states(void **state)
{
	struct fixture *f = *state;

	parse_dpkg(f,
	    "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n\n"
	    "Package: never\nStatus: purge ok not-installed\nVersion: 1\n\n"
	    "Package: half\nStatus: install reinstreq half-installed\nVersion: 1\n\n"
	    "Package: unpacked\nStatus: install ok unpacked\nVersion: 1\n\n"
	    "Package: trig\nStatus: install ok triggers-pending\nVersion: 1\n\n"
	    "Package: nostatus\nVersion: 1\n\n"
	    "Package: ok\nstatus: install ok installed\nversion: 1\n", 0);
	assert_int_equal(f->img.n_packages, 3);
	assert_non_null(find_pkg(&f->img, "unpacked"));
	assert_non_null(find_pkg(&f->img, "trig"));
	assert_non_null(find_pkg(&f->img, "ok"));	/* field names without case */
	assert_null(find_pkg(&f->img, "nostatus"));
}

static void
test_dpkg_status_d_without_status_is_installed(void **state)
{
	struct fixture *f = *state;

	parse_dpkg(f, "Package: libc6\nVersion: 2.36-9+deb12u4\n"
	    "Architecture: amd64\nSource: glibc\n", 1);
	assert_int_equal(f->img.n_packages, 1);
	assert_string_equal(f->img.packages[0].source_name, "glibc");
	assert_string_equal(f->img.packages[0].source_version, "2.36-9+deb12u4");
}

static void
test_dpkg_malformed_versions_are_counted(void **state)
{
	struct fixture *f = *state;

	parse_dpkg(f,
	    "Package: a\nStatus: install ok installed\nVersion: 1.0-\n\n"
	    "Package: b\nStatus: install ok installed\nVersion: x:1.0\n\n"
	    "Package: c\nStatus: install ok installed\nVersion: 1:\n\n"
	    "Package: d\nStatus: install ok installed\n\n"
	    "Package: e\nStatus: install ok installed\nVersion: 1.0\n"
	    "Source: esrc (1.0\n", 0);
	assert_int_equal(f->img.n_packages, 0);
	assert_int_equal(f->s.errors, 5);
}

static void
test_dpkg_long_line_rejected_not_copied(void **state)
{
	struct fixture *f = *state;
	size_t	 n = 10u * 1024 * 1024, i;
	char	*buf = malloc(n + 200), *p = buf;

	p += sprintf(p, "Package: ");
	for (i = 0; i < n; i++)
		*p++ = 'a';
	p += sprintf(p, "\nStatus: install ok installed\nVersion: 1\n\n"
	    "Package: fine\nStatus: install ok installed\nVersion: 2\n");
	inventory_dpkg_parse(&f->s, buf, (size_t)(p - buf), "status", 0);
	free(buf);
	assert_int_equal(f->img.n_packages, 1);
	assert_string_equal(f->img.packages[0].name, "fine");
	assert_int_equal(f->s.errors, 1);
}

static void
test_dpkg_binary_refused(void **state)
{
	struct fixture *f = *state;
	const char buf[] = "Package: a\0\nVersion: 1\n";

	assert_int_equal(inventory_dpkg_parse(&f->s, buf, sizeof(buf) - 1,
	    "status", 0), -1);
	assert_int_equal(f->s.errors, 1);
}

static void
test_apk_installed_fields(void **state)
{
	struct fixture *f = *state;
	const char *db =
	    "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nS:383152\nI:622592\n"
	    "T:the musl c library\no:musl\nm:Maintainer\nF:lib\nR:libc.musl-x86_64.so.1\n"
	    "\n"
	    "P:libcrypto3\nV:3.1.4-r1\nA:x86_64\no:openssl\n"
	    "\n"
	    "P:noversion\nA:x86_64\n";
	const struct tm_package *p;

	inventory_apk_parse(&f->s, db, strlen(db), "installed");
	assert_int_equal(f->img.n_packages, 2);
	p = find_pkg(&f->img, "libcrypto3");
	assert_string_equal(p->version, "3.1.4-r1");
	assert_string_equal(p->arch, "x86_64");
	assert_string_equal(p->source_name, "openssl");
	assert_string_equal(p->source_version, "3.1.4-r1");
	assert_string_equal(find_pkg(&f->img, "musl")->ecosystem, "apk");
	assert_int_equal(f->s.errors, 1);
}

static void
test_os_release_quoting(void **state)
{
	struct fixture *f = *state;
	const char *txt =
	    "# comment\nPRETTY_NAME=\"Debian GNU/Linux 12 \\\"bookworm\\\"\"\n"
	    "ID=debian\nVERSION_ID='12'\nVERSION_CODENAME=bookworm\n"
	    "BROKEN=\"unterminated\n";

	inventory_os_parse_release(&f->s, txt, strlen(txt));
	assert_string_equal(f->img.os_pretty, "Debian GNU/Linux 12 \"bookworm\"");
	assert_string_equal(f->img.os_id, "debian");
	assert_string_equal(f->img.os_version, "12");
	assert_string_equal(f->img.os_codename, "bookworm");
	assert_int_equal(f->s.errors, 1);
}

static int
count_cb(const void *blob, size_t len, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static void
test_ndb_refuses_garbage_and_bad_slots(void **state)
{
	uint8_t		 buf[8192];
	uint64_t	 errs = 0;
	int		 n = 0;

	memset(buf, 0, sizeof(buf));
	assert_int_equal(inventory_rpm_ndb_blobs(buf, sizeof(buf), count_cb, &n, &errs), -1);
	/* A header claiming more slot pages than the file holds. */
	memcpy(buf, "RpmP", 4);
	buf[12] = 9;
	assert_int_equal(inventory_rpm_ndb_blobs(buf, sizeof(buf), count_cb, &n, &errs), -1);
	/* One page, one slot pointing past the end of the file. */
	buf[12] = 1;
	for (size_t o = 32; o < 4096; o += 16)
		memcpy(buf + o, "Slot", 4);
	buf[36] = 1;			/* pkgidx 1 */
	buf[40] = 0; buf[41] = 0x10;	/* blkoff 4096 (byte 65536) */
	buf[44] = 4;			/* blkcnt */
	assert_int_equal(inventory_rpm_ndb_blobs(buf, sizeof(buf), count_cb, &n, &errs), 0);
	assert_int_equal(errs, 1);
	assert_int_equal(n, 0);
}

/* ---- rootfs on real folders ---- */

static char tmproot[64];

static void
mkpath(const char *rel, const char *content)
{
	char	path[512], *slash;
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", tmproot, rel);
	for (slash = strchr(path + strlen(tmproot) + 1, '/'); slash != NULL;
	    slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	if (content == NULL) {
		mkdir(path, 0755);
		return;
	}
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(content, fp);
	fclose(fp);
}

static void
mkwhiteout(const char *rel)
{
	char	path[512];

	snprintf(path, sizeof(path), "%s/%s", tmproot, rel);
	assert_int_equal(mknod(path, S_IFCHR | 0000, makedev(0, 0)), 0);
}

static int
setup_tmp(void **state)
{
	snprintf(tmproot, sizeof(tmproot), "/tmp/tm-inventory-unit-XXXXXX");
	if (mkdtemp(tmproot) == NULL)
		return -1;
	return setup(state);
}

static int
teardown_tmp(void **state)
{
	char	cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmproot);
	if (system(cmd) != 0)
		return -1;
	return teardown(state);
}

static char *
names_join(char **names, size_t n)
{
	static char	out[1024];
	size_t		i;

	out[0] = '\0';
	for (i = 0; i < n; i++) {
		strcat(out, names[i]);
		if (i + 1 < n)
			strcat(out, ",");
	}
	return out;
}

static void
test_rootfs_overlay_whiteouts_and_opaque(void **state)
{
	const char	*layers[3];
	char		 l0[128], l1[128], l2[128], *buf, **names;
	size_t		 len, n;
	struct rootfs	*rf;

	/* lower (l2) <- middle (l1) <- upper (l0) */
	mkpath("l2/etc/a", "a2");
	mkpath("l2/etc/b", "b2");
	mkpath("l2/etc/c", "c2");
	mkpath("l2/opq/old", "old");
	mkpath("l2/tar/gone", "gone");
	mkpath("l2/tar/kept", "kept");
	mkpath("l2/xo/old", "old");
	mkpath("l1/etc/b", "b1");
	mkwhiteout("l1/etc/c");
	mkpath("l1/opq/new", "new");
	assert_int_equal(setxattr(strcat(strcpy(l1, tmproot), "/l1/opq"),
	    "trusted.overlay.opaque", "y", 1, 0), 0);
	mkpath("l1/tar/.wh.gone", "");
	mkpath("l1/xo/.wh..wh..opq", "");
	mkpath("l1/xo/mid", "mid");
	mkpath("l0/etc/d", "d0");
	mkwhiteout("l0/etc/a");
	snprintf(l0, sizeof(l0), "%s/l0", tmproot);
	snprintf(l1, sizeof(l1), "%s/l1", tmproot);
	snprintf(l2, sizeof(l2), "%s/l2", tmproot);
	layers[0] = l0; layers[1] = l1; layers[2] = l2;
	rf = rootfs_open_layers(layers, 3);
	assert_non_null(rf);

	assert_int_equal(rootfs_list(rf, "/etc", &names, &n), 0);
	assert_string_equal(names_join(names, n), "b,d");
	rootfs_names_free(names, n);
	assert_int_equal(rootfs_read(rf, "/etc/b", 100, &buf, &len), 0);
	assert_string_equal(buf, "b1");	/* upper copy wins */
	free(buf);
	assert_int_equal(rootfs_read(rf, "/etc/a", 100, &buf, &len), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(rootfs_read(rf, "etc/c", 100, &buf, &len), -1);
	assert_int_equal(errno, ENOENT);

	assert_int_equal(rootfs_list(rf, "/opq", &names, &n), 0);
	assert_string_equal(names_join(names, n), "new");
	rootfs_names_free(names, n);
	assert_int_equal(rootfs_exists(rf, "/opq/old"), 0);

	assert_int_equal(rootfs_list(rf, "/xo", &names, &n), 0);
	assert_string_equal(names_join(names, n), "mid");
	rootfs_names_free(names, n);

	assert_int_equal(rootfs_list(rf, "/tar", &names, &n), 0);
	assert_string_equal(names_join(names, n), "kept");
	rootfs_names_free(names, n);
	assert_int_equal(rootfs_exists(rf, "/tar/gone"), 0);
	assert_int_equal(rootfs_errors(rf), 0);
	rootfs_free(rf);
}

static void
test_rootfs_symlinks_stay_inside(void **state)
{
	char		 r[128], *buf;
	size_t		 len;
	struct rootfs	*rf;

	mkpath("r/etc/shadow", "container-shadow");
	mkpath("r/var/lib/dpkg/x", "");
	snprintf(r, sizeof(r), "%s/r/var/lib/dpkg/status", tmproot);
	assert_int_equal(symlink("/etc/shadow", r), 0);
	snprintf(r, sizeof(r), "%s/r/var/lib/dpkg/status2", tmproot);
	assert_int_equal(symlink("../../../../../../../../etc/shadow", r), 0);
	snprintf(r, sizeof(r), "%s/r/lib", tmproot);
	assert_int_equal(symlink("var/lib", r), 0);
	snprintf(r, sizeof(r), "%s/r/loop", tmproot);
	assert_int_equal(symlink("loop", r), 0);
	snprintf(r, sizeof(r), "%s/r", tmproot);
	rf = rootfs_open_dir(r);
	assert_non_null(rf);
	assert_int_equal(rootfs_read(rf, "/var/lib/dpkg/status", 100, &buf, &len), 0);
	assert_string_equal(buf, "container-shadow");
	free(buf);
	assert_int_equal(rootfs_read(rf, "/lib/dpkg/status2", 100, &buf, &len), 0);
	assert_string_equal(buf, "container-shadow");
	free(buf);
	assert_int_equal(rootfs_read(rf, "/loop", 100, &buf, &len), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(rootfs_errors(rf), 1);
	rootfs_free(rf);
}

static void
test_rootfs_fifo_dir_and_size_rejected_without_blocking(void **state)
{
	char		 r[128], *buf;
	size_t		 len;
	struct rootfs	*rf;

	mkpath("f/dir/inner", "");
	mkpath("f/big", "0123456789");
	snprintf(r, sizeof(r), "%s/f/fifo", tmproot);
	assert_int_equal(mkfifo(r, 0644), 0);
	snprintf(r, sizeof(r), "%s/f", tmproot);
	rf = rootfs_open_dir(r);
	assert_int_equal(rootfs_read(rf, "/fifo", 100, &buf, &len), -1);
	assert_int_equal(rootfs_read(rf, "/dir", 100, &buf, &len), -1);
	assert_int_equal(errno, EISDIR);
	assert_int_equal(rootfs_read(rf, "/big", 5, &buf, &len), -1);
	assert_int_equal(errno, EFBIG);
	assert_int_equal(rootfs_read(rf, "/big/x", 100, &buf, &len), -1);
	assert_int_equal(rootfs_errors(rf), 4);
	rootfs_free(rf);
}


static void
test_rootfs_layers_symlinks_resolve_in_merged_root(void **state)
{
	const char	*layers[2];
	char		 l0[128], l1[128], p[256], *buf;
	size_t		 len;
	struct rootfs	*rf;

	/* lower: the real database under /usr/lib/sysimage; upper: the
	 * compatibility link, and links that try to leave. */
	mkpath("b/usr/lib/sysimage/rpm/rpmdb.sqlite", "lowerdb");
	mkpath("b/etc/passwd", "container-passwd");
	mkpath("a/var/lib/x", "");
	snprintf(p, sizeof(p), "%s/a/var/lib/rpm", tmproot);
	assert_int_equal(symlink("../../usr/lib/sysimage/rpm", p), 0);
	snprintf(p, sizeof(p), "%s/a/var/lib/abs", tmproot);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	snprintf(p, sizeof(p), "%s/a/var/lib/up", tmproot);
	assert_int_equal(symlink("../../../../../../../../../../etc/passwd", p), 0);
	snprintf(l0, sizeof(l0), "%s/a", tmproot);
	snprintf(l1, sizeof(l1), "%s/b", tmproot);
	layers[0] = l0;
	layers[1] = l1;
	rf = rootfs_open_layers(layers, 2);
	assert_int_equal(rootfs_read(rf, "/var/lib/rpm/rpmdb.sqlite", 100, &buf, &len), 0);
	assert_string_equal(buf, "lowerdb");	/* link in upper, target in lower */
	free(buf);
	assert_int_equal(rootfs_read(rf, "/var/lib/abs", 100, &buf, &len), 0);
	assert_string_equal(buf, "container-passwd");
	free(buf);
	assert_int_equal(rootfs_read(rf, "/var/lib/up", 100, &buf, &len), 0);
	assert_string_equal(buf, "container-passwd");
	free(buf);
	assert_int_equal(rootfs_errors(rf), 0);
	rootfs_free(rf);
}

static void
test_layers_from_docker_inspect(void **state)
{
	json_error_t		 jerr;
	json_t			*o;
	struct inventory_layers	 l;
	const char		**v;
	size_t			 n;

	o = json_loads("{\"Id\": \"sha256:1\", \"GraphDriver\": {\"Name\": \"overlay2\","
	    " \"Data\": {\"UpperDir\": \"/d/c/diff\", \"LowerDir\": \"/d/c-init/diff:/d/b/diff:/d/a/diff\","
	    " \"MergedDir\": \"/d/c/merged\"}}}", 0, &jerr);
	assert_int_equal(inventory_layers_docker(o, &l), 0);
	assert_string_equal(l.upper, "/d/c/diff");
	assert_int_equal(l.n_lowers, 3);
	assert_string_equal(l.lowers[2], "/d/a/diff");
	v = inventory_layers_all(&l, &n);
	assert_int_equal(n, 4);
	assert_string_equal(v[0], "/d/c/diff");
	assert_string_equal(v[3], "/d/a/diff");
	free(v);
	inventory_layers_free(&l);
	json_decref(o);
	/* Single-layer image: no LowerDir. */
	o = json_loads("{\"GraphDriver\": {\"Name\": \"overlay2\", \"Data\": {\"UpperDir\": \"/d/a/diff\"}}}", 0, &jerr);
	assert_int_equal(inventory_layers_docker(o, &l), 0);
	assert_int_equal(l.n_lowers, 0);
	inventory_layers_free(&l);
	json_decref(o);
	/* Other drivers, relative or ".." paths: refused. */
	o = json_loads("{\"GraphDriver\": {\"Name\": \"btrfs\", \"Data\": {}}}", 0, &jerr);
	assert_int_equal(inventory_layers_docker(o, &l), -1);
	json_decref(o);
	o = json_loads("{\"GraphDriver\": {\"Name\": \"overlay2\", \"Data\": {\"UpperDir\": \"/d/a\", \"LowerDir\": \"/d/../etc\"}}}", 0, &jerr);
	assert_int_equal(inventory_layers_docker(o, &l), -1);
	json_decref(o);
	o = json_loads("{\"GraphDriver\": {\"Name\": \"overlay2\", \"Data\": {\"UpperDir\": \"l/ABC\"}}}", 0, &jerr);
	assert_int_equal(inventory_layers_docker(o, &l), -1);
	json_decref(o);
}

static void
test_layers_from_overlay_mount_options(void **state)
{
	const char *opts[] = { "index=off", "workdir=/s/3/work",
	    "upperdir=/s/3/fs", "lowerdir=/s/2/fs:/s/1/fs" };
	const char *view[] = { "lowerdir=/s/2/fs:/s/1/fs" };
	const char *bad[] = { "upperdir=/s/3/fs", "upperdir=/s/4/fs" };
	struct inventory_layers	l;

	assert_int_equal(inventory_layers_overlay(opts, 4, &l), 0);
	assert_string_equal(l.upper, "/s/3/fs");
	assert_int_equal(l.n_lowers, 2);
	assert_string_equal(l.lowers[0], "/s/2/fs");
	inventory_layers_free(&l);
	assert_int_equal(inventory_layers_overlay(view, 1, &l), 0);
	assert_null(l.upper);
	assert_int_equal(l.n_lowers, 2);
	inventory_layers_free(&l);
	assert_int_equal(inventory_layers_overlay(bad, 2, &l), -1);
	assert_int_equal(inventory_layers_overlay(opts, 2, &l), -1);
}

static void
test_image_json_round_trip(void **state)
{
	struct fixture	*f = *state;
	struct tm_image	 back;
	struct tm_package *p;
	json_t		*o;

	parse_dpkg(f, "Package: libssl3\nStatus: install ok installed\n"
	    "Version: 3.0.11-1\nArchitecture: amd64\nSource: openssl\n", 0);
	p = inventory_add(&f->s, "rpm", "bash", "1:5.1-2", "x86_64", "bash",
	    "1:5.1-2");
	p->has_epoch = true;
	p->epoch = 1;
	p->vendor = xstrdup("Vendor");
	f->img.os_id = xstrdup("debian");
	f->img.key = xstrdup("sha256:0123");
	inventory_note(&f->s, "rpm: something");
	o = inventory_image_to_json(&f->img);
	assert_int_equal(inventory_image_from_json(o, &back), 0);
	json_decref(o);
	assert_int_equal(back.n_packages, 2);
	assert_string_equal(back.key, "sha256:0123");
	assert_string_equal(back.os_id, "debian");
	assert_string_equal(back.packages[1].source_name, "bash");
	assert_true(back.packages[1].has_epoch);
	assert_int_equal(back.packages[1].epoch, 1);
	assert_string_equal(back.packages[1].vendor, "Vendor");
	assert_false(back.packages[0].has_epoch);
	assert_int_equal(back.n_notes, 1);
	inventory_image_free(&back);
}

static void
test_image_json_refuses_wrong_types(void **state)
{
	static const char *const bad[] = {
		"[]",
		"{\"packages\": {}}",
		"{\"packages\": [1]}",
		"{\"packages\": [{\"ecosystem\": \"dpkg\", \"name\": 5, \"version\": \"1\"}]}",
		"{\"packages\": [{\"ecosystem\": \"dpkg\", \"name\": \"a\"}]}",
		"{\"packages\": [], \"os\": {\"id\": []}}",
		"{\"packages\": [], \"notes\": [1]}",
	};
	struct tm_image	img;
	json_error_t	jerr;
	json_t		*o;
	size_t		i;

	for (i = 0; i < TM_NELEM(bad); i++) {
		o = json_loads(bad[i], 0, &jerr);
		assert_non_null(o);
		assert_int_equal(inventory_image_from_json(o, &img), -1);
		json_decref(o);
	}
}

static void
test_drift_added_modified_deleted_once(void **state)
{
	char		 up[128], low[128], path[256];
	const char	*lowers[1];
	struct drift	*d;
	struct tm_drift	 dr;
	size_t		 i;
	int		 seen = 0;
	FILE		*fp;

	mkpath("low/var/lib/dpkg/info/tool.list", "/.\n/usr\n/usr/bin\n/usr/bin/tool\n/usr/share/doc/tool/README\n");
	mkpath("low/usr/bin/tool", "x");
	mkpath("low/usr/bin/ls", "old");
	mkpath("low/usr/share/doc/tool/README", "r");
	mkpath("up/tmp/data", "just data");
	mkpath("up/usr/bin/ls", "\177ELF new");	/* ELF magic, no exec bit */
	mkpath("up/tmp/run.sh", "#!/bin/sh\n");
	snprintf(path, sizeof(path), "%s/up/tmp/run.sh", tmproot);
	chmod(path, 0750);
	mkwhiteout("up/usr/bin/tool");
	mkpath("up/usr/share/doc", NULL);
	snprintf(path, sizeof(path), "%s/up/usr/share/doc", tmproot);
	assert_int_equal(setxattr(path, "trusted.overlay.opaque", "y", 1, 0), 0);
	snprintf(up, sizeof(up), "%s/up", tmproot);
	snprintf(low, sizeof(low), "%s/low", tmproot);
	lowers[0] = low;
	d = drift_new(up, lowers, 1);
	assert_int_equal(drift_check(d, &dr), 4);
	for (i = 0; i < dr.n_files; i++) {
		const struct tm_drift_file *f = &dr.files[i];

		if (strcmp(f->path, "/usr/bin/ls") == 0) {
			assert_string_equal(f->change, "modified");
			assert_non_null(f->sha256);
			seen |= 1;
		} else if (strcmp(f->path, "/tmp/run.sh") == 0) {
			assert_string_equal(f->change, "added");
			assert_int_equal(f->mode, 0750);
			assert_int_equal(f->size, 10);
			/* sha256("#!/bin/sh\n") */
			assert_string_equal(f->sha256,
			    "a8076d3d28d21e02012b20eaf7dbf75409a6277134439025f282e368e3305abf");
			seen |= 2;
		} else if (strcmp(f->path, "/usr/bin/tool") == 0) {
			assert_string_equal(f->change, "deleted");
			seen |= 4;
		} else if (strcmp(f->path, "/usr/share/doc") == 0) {
			assert_string_equal(f->change, "deleted");
			seen |= 8;
		} else
			fail_msg("unexpected drift %s", f->path);
	}
	assert_int_equal(seen, 15);
	drift_record_free(&dr);
	/* Nothing new: nothing reported.  A changed file: reported again. */
	assert_int_equal(drift_check(d, &dr), 0);
	drift_record_free(&dr);
	snprintf(path, sizeof(path), "%s/up/tmp/run.sh", tmproot);
	fp = fopen(path, "a");
	fputs("echo more\n", fp);
	fclose(fp);
	assert_int_equal(drift_check(d, &dr), 1);
	assert_string_equal(dr.files[0].path, "/tmp/run.sh");
	drift_record_free(&dr);
	drift_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dpkg_source_version_in_parens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dpkg_source_defaults_to_binary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dpkg_epoch_kept_and_zero_epoch_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dpkg_only_installed_states, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dpkg_status_d_without_status_is_installed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dpkg_malformed_versions_are_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dpkg_long_line_rejected_not_copied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dpkg_binary_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apk_installed_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_os_release_quoting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ndb_refuses_garbage_and_bad_slots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rootfs_overlay_whiteouts_and_opaque, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_rootfs_symlinks_stay_inside, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_rootfs_fifo_dir_and_size_rejected_without_blocking, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_rootfs_layers_symlinks_resolve_in_merged_root, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_image_json_round_trip, setup, teardown),
		cmocka_unit_test(test_layers_from_docker_inspect),
		cmocka_unit_test(test_layers_from_overlay_mount_options),
		cmocka_unit_test_setup_teardown(test_image_json_refuses_wrong_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drift_added_modified_deleted_once, setup_tmp, teardown_tmp),
	};

	log_init("test-inventory", LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
