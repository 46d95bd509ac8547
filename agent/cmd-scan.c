/*
 * cmd-scan.c: `tallyman-agent scan`, the inventory of one root printed for
 * a person or a CI pipeline (like `trivy rootfs`):
 *
 *   scan --rootfs DIR [--json]           a folder (an unpacked image)
 *   scan --layers UPPER:LOWER... [--json] overlay layers, upper first
 *   scan --image REF [--json]            a local Docker image (overlay2)
 *
 * Exit status: 0 when the root was scanned (files it had to reject are
 * counted in "errors"), 1 on a usage error or a root that cannot be read.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "agent/agent.h"

#define SCAN_DOCKER_SOCKET	"/var/run/docker.sock"
#define SCAN_CTRD_SOCKET	"/run/containerd/containerd.sock"
#define SCAN_HTTP_MAX		(4u * 1024 * 1024)

static void
scan_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tallyman-agent scan (--rootfs DIR | --layers UPPER:LOWER... |\n"
	    "                            --image REF) [--json] [--max-file BYTES]\n"
	    "                            [--runtime docker|containerd] [--docker-socket PATH]\n"
	    "                            [--containerd-socket PATH] [--namespace NS]\n"
	    "  Print the OS and the packages (dpkg, apk, rpm) installed in a root:\n"
	    "  --rootfs DIR     a folder holding an unpacked image or root file system\n"
	    "  --layers L1:L2   overlay layers, upper first (whiteouts and opaque\n"
	    "                   folders applied as the kernel would)\n"
	    "  --image REF      a local image: Docker's (overlay2 storage driver) or,\n"
	    "                   with --runtime containerd, containerd's (overlayfs\n"
	    "                   snapshotter) in --namespace (default \"default\")\n"
	    "  --json           JSON instead of a table\n"
	    "  --docker-socket  Docker's API socket (default %s)\n"
	    "  --containerd-socket  containerd's socket (default %s)\n"
	    "  --max-file       largest package database read (default %u MiB)\n",
	    SCAN_DOCKER_SOCKET, SCAN_CTRD_SOCKET, INVENTORY_MAX_FILE / (1024 * 1024));
}

struct scan_buf {
	char	*p;
	size_t	 len;
};

static size_t
scan_write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct scan_buf	*b = arg;
	size_t		 n = size * nmemb;

	if (b->len + n > SCAN_HTTP_MAX)
		return 0;	/* aborts the transfer */
	b->p = xreallocarray(b->p, b->len + n + 1, 1);
	memcpy(b->p + b->len, ptr, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

/*
 * Ask Docker for image ref's overlay2 layers (GET /images/REF/json):
 * UpperDir then LowerDir split on ':'.  Fills *layers (caller frees each and
 * the array), *n, *id.  Returns 0 or -1 (logged).
 */
static int
scan_docker_layers(const char *sock, const char *ref, char ***layers,
    size_t *n, char **id)
{
	CURL		*c;
	char		*esc, *url, errbuf[CURL_ERROR_SIZE] = "";
	struct scan_buf	 b = { NULL, 0 };
	long		 code = 0;
	CURLcode	 rc;
	json_t		*root, *j;
	json_error_t	 jerr;
	struct inventory_layers l;
	const char	**v;
	size_t		 i;
	int		 r = -1;

	*layers = NULL;
	*n = 0;
	*id = NULL;
	if ((c = curl_easy_init()) == NULL)
		fatalx("scan: curl_easy_init");
	esc = curl_easy_escape(c, ref, 0);
	xasprintf(&url, "http://localhost/v1.41/images/%s/json", esc);
	curl_free(esc);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, scan_write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	free(url);
	if (rc != CURLE_OK) {
		log_warnx("scan: docker %s: %s", sock,
		    *errbuf ? errbuf : curl_easy_strerror(rc));
		free(b.p);
		return -1;
	}
	if (code != 200) {
		log_warnx("scan: docker: image %s: HTTP %ld: %.200s", ref, code,
		    b.p ? b.p : "");
		free(b.p);
		return -1;
	}
	root = json_loadb(b.p, b.len, 0, &jerr);
	free(b.p);
	if (root == NULL) {
		log_warnx("scan: docker: bad JSON: %s", jerr.text);
		return -1;
	}
	if (inventory_layers_docker(root, &l) == -1) {
		log_warnx("scan: docker: image %s: no overlay layers", ref);
		goto out;
	}
	v = inventory_layers_all(&l, n);
	*layers = xcalloc(*n + 1, sizeof(char *));
	for (i = 0; i < *n; i++)
		(*layers)[i] = xstrdup(v[i]);
	free(v);
	inventory_layers_free(&l);
	if ((j = json_object_get(root, "Id")) != NULL && json_is_string(j))
		*id = xstrdup(json_string_value(j));
	r = 0;
out:
	json_decref(root);
	return r;
}

static void
scan_print_table(const struct tm_image *img, FILE *fp)
{
	size_t	i, w[4] = { 9, 4, 7, 4 };

	fprintf(fp, "OS: %s (%s %s%s%s)\n",
	    img->os_pretty ? img->os_pretty : "unknown",
	    img->os_id ? img->os_id : "?", img->os_version ? img->os_version : "?",
	    img->os_codename ? " " : "", img->os_codename ? img->os_codename : "");
	for (i = 0; i < img->n_packages; i++) {
		const struct tm_package *p = &img->packages[i];
		size_t l;

		if ((l = strlen(p->ecosystem)) > w[0]) w[0] = l;
		if ((l = strlen(p->name)) > w[1]) w[1] = l;
		if ((l = strlen(p->version)) > w[2]) w[2] = l;
		if (p->arch != NULL && (l = strlen(p->arch)) > w[3]) w[3] = l;
	}
	fprintf(fp, "%-*s  %-*s  %-*s  %-*s  %s\n", (int)w[0], "ECOSYSTEM",
	    (int)w[1], "NAME", (int)w[2], "VERSION", (int)w[3], "ARCH", "SOURCE");
	for (i = 0; i < img->n_packages; i++) {
		const struct tm_package *p = &img->packages[i];

		fprintf(fp, "%-*s  %-*s  %-*s  %-*s  %s %s\n", (int)w[0],
		    p->ecosystem, (int)w[1], p->name, (int)w[2], p->version,
		    (int)w[3], p->arch ? p->arch : "-",
		    p->source_name ? p->source_name : "-",
		    p->source_version ? p->source_version : "");
	}
	fprintf(fp, "%zu packages, %llu errors, scanned in %.1f ms\n",
	    img->n_packages, (unsigned long long)img->errors,
	    (double)img->scan_ns / 1e6);
	for (i = 0; i < img->n_notes; i++)
		fprintf(fp, "note: %s\n", img->notes[i]);
}

int
cmd_scan(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rootfs", required_argument, NULL, 'r' },
		{ "layers", required_argument, NULL, 'l' },
		{ "image", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },
		{ "docker-socket", required_argument, NULL, 's' },
		{ "max-file", required_argument, NULL, 'm' },
		{ "runtime", required_argument, NULL, 'R' },
		{ "containerd-socket", required_argument, NULL, 'C' },
		{ "namespace", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char	*rootdir = NULL, *layerspec = NULL, *image = NULL;
	const char	*sock = SCAN_DOCKER_SOCKET, *csock = SCAN_CTRD_SOCKET;
	const char	*runtime = "docker", *ns = "default";
	char		**layers = NULL, *id = NULL, *spec = NULL, *tok, *save;
	size_t		 nlayers = 0, i;
	uint64_t	 max_file = INVENTORY_MAX_FILE;
	struct rootfs	*root = NULL;
	struct tm_image	 img;
	int		 json = 0, ch, modes, r = 1;
	json_t		*o;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "r:l:i:js:m:hR:C:n:", opts, NULL)) != -1) {
		switch (ch) {
		case 'r': rootdir = optarg; break;
		case 'l': layerspec = optarg; break;
		case 'i': image = optarg; break;
		case 'j': json = 1; break;
		case 's': sock = optarg; break;
		case 'R': runtime = optarg; break;
		case 'C': csock = optarg; break;
		case 'n': ns = optarg; break;
		case 'm':
			if (cfg_parse_size(optarg, &max_file) == -1 || max_file == 0) {
				fprintf(stderr, "scan: bad --max-file %s\n", optarg);
				return 1;
			}
			break;
		case 'h': scan_usage(stdout); return 0;
		default: scan_usage(stderr); return 1;
		}
	}
	modes = (rootdir != NULL) + (layerspec != NULL) + (image != NULL);
	if (modes != 1 || optind != argc || (strcmp(runtime, "docker") != 0 &&
	    strcmp(runtime, "containerd") != 0)) {
		scan_usage(stderr);
		return 1;
	}
	if (rootdir != NULL)
		root = rootfs_open_dir(rootdir);
	else {
		if (layerspec != NULL) {
			spec = xstrdup(layerspec);
			layers = xcalloc(ROOTFS_LAYERS_MAX, sizeof(char *));
			for (tok = strtok_r(spec, ":", &save); tok != NULL &&
			    nlayers < ROOTFS_LAYERS_MAX;
			    tok = strtok_r(NULL, ":", &save))
				layers[nlayers++] = xstrdup(tok);
		} else if (strcmp(runtime, "containerd") == 0) {
			if (scan_containerd_layers(csock, ns, image, &layers,
			    &nlayers, &id) == -1)
				goto out;
		} else if (scan_docker_layers(sock, image, &layers, &nlayers,
		    &id) == -1)
			goto out;
		root = rootfs_open_layers((const char *const *)layers, nlayers);
	}
	if (root == NULL)
		goto out;
	memset(&img, 0, sizeof(img));
	inventory_scan_root(root, max_file, &img);
	if (id != NULL)
		img.image_id = xstrdup(id);
	if (image != NULL) {
		img.refs = xcalloc(1, sizeof(char *));
		img.refs[img.n_refs++] = xstrdup(image);
	}
	if (json) {
		o = inventory_image_to_json(&img);
		json_dumpf(o, stdout, JSON_INDENT(1) | JSON_SORT_KEYS);
		fputc('\n', stdout);
		json_decref(o);
	} else
		scan_print_table(&img, stdout);
	inventory_image_free(&img);
	rootfs_free(root);
	r = fflush(stdout) == 0 ? 0 : 1;
out:
	for (i = 0; i < nlayers; i++)
		free(layers[i]);
	free(layers);
	free(spec);
	free(id);
	return r;
}
