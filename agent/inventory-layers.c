/*
 * inventory-layers.c: where an image's or a container's overlay layers are,
 * from what the runtimes say: Docker's GraphDriver data (image or container
 * inspect) and containerd's rootfs mounts (an "overlay" mount's options, as
 * in a task-create event or the snapshot service's Mounts).  The paths are
 * the runtime's (trusted), but checked: absolute, no "..", bounded count.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent/agent.h"

void
inventory_layers_free(struct inventory_layers *l)
{
	size_t	i;

	free(l->upper);
	for (i = 0; i < l->n_lowers; i++)
		free(l->lowers[i]);
	free(l->lowers);
	memset(l, 0, sizeof(*l));
}

/* An absolute path without "." or ".." components. */
static int
layers_path_ok(const char *p, size_t len)
{
	size_t	i, start;

	if (len == 0 || len >= ROOTFS_PATH_MAX || p[0] != '/')
		return 0;
	for (i = 1, start = 1; i <= len; i++) {
		if (i == len || p[i] == '/') {
			if ((i - start == 1 && p[start] == '.') ||
			    (i - start == 2 && p[start] == '.' && p[start + 1] == '.'))
				return 0;
			start = i + 1;
		}
	}
	return memchr(p, '\0', len) == NULL;
}

/* Append the ':'-separated list s[0..len) to l->lowers.  Returns 0 or -1. */
static int
layers_add_list(struct inventory_layers *l, const char *s, size_t len)
{
	const char	*p = s, *end = s + len, *c;

	while (p < end) {
		if ((c = memchr(p, ':', end - p)) == NULL)
			c = end;
		if (!layers_path_ok(p, c - p) ||
		    l->n_lowers >= ROOTFS_LAYERS_MAX - 1) {
			log_warnx("inventory-layers: bad lower layer \"%.*s\"",
			    (int)(c - p > 200 ? 200 : c - p), p);
			return -1;
		}
		l->lowers = xreallocarray(l->lowers, l->n_lowers + 1,
		    sizeof(char *));
		l->lowers[l->n_lowers++] = xstrndup(p, c - p);
		p = c + 1;
	}
	return 0;
}

/*
 * From Docker's inspect JSON (an image's or a container's, the whole
 * object): GraphDriver.Name "overlay2", Data.UpperDir and Data.LowerDir.
 * For an image, upper is its top layer; for a container, its writable
 * layer (and lowers start with its "-init" layer).  Returns 0 with *l
 * filled (free with inventory_layers_free), or -1 (logged).
 */
int
inventory_layers_docker(json_t *inspect, struct inventory_layers *l)
{
	json_t		*gd, *data;
	const char	*driver, *upper, *lower;

	memset(l, 0, sizeof(*l));
	gd = json_object_get(inspect, "GraphDriver");
	data = json_object_get(gd, "Data");
	driver = json_string_value(json_object_get(gd, "Name"));
	if (driver == NULL || strcmp(driver, "overlay2") != 0 ||
	    !json_is_object(data)) {
		log_warnx("inventory-layers: storage driver %s is not supported "
		    "(overlay2 only)", driver != NULL ? driver : "?");
		return -1;
	}
	upper = json_string_value(json_object_get(data, "UpperDir"));
	lower = json_string_value(json_object_get(data, "LowerDir"));
	if (upper == NULL || !layers_path_ok(upper, strlen(upper))) {
		log_warnx("inventory-layers: no usable UpperDir");
		return -1;
	}
	l->upper = xstrdup(upper);
	if (lower != NULL && layers_add_list(l, lower, strlen(lower)) == -1) {
		inventory_layers_free(l);
		return -1;
	}
	return 0;
}

/*
 * From an overlay mount's options ("lowerdir=A:B", "upperdir=U",
 * "workdir=W", ...), as containerd gives them.  A read-only view (an
 * image's, from a View snapshot) has lowerdir only.  Returns 0 with *l
 * filled, or -1 (logged).
 */
int
inventory_layers_overlay(const char *const *options, size_t n,
    struct inventory_layers *l)
{
	size_t	i, len;

	memset(l, 0, sizeof(*l));
	for (i = 0; i < n; i++) {
		const char *o = options[i];

		len = strlen(o);
		if (strncmp(o, "lowerdir=", 9) == 0) {
			if (layers_add_list(l, o + 9, len - 9) == -1)
				goto bad;
		} else if (strncmp(o, "upperdir=", 9) == 0) {
			if (l->upper != NULL || !layers_path_ok(o + 9, len - 9))
				goto bad;
			l->upper = xstrdup(o + 9);
		}
	}
	if (l->n_lowers == 0 && l->upper == NULL)
		goto bad;
	return 0;
bad:
	log_warnx("inventory-layers: unusable overlay options");
	inventory_layers_free(l);
	return -1;
}

/*
 * All the layers, upper first, as rootfs_open_layers and struct
 * image_source take them: an array of borrowed pointers into l (caller
 * frees the array only).  *n is set.
 */
const char **
inventory_layers_all(const struct inventory_layers *l, size_t *n)
{
	const char	**v;
	size_t		  i, k = 0;

	v = xcalloc(l->n_lowers + 2, sizeof(char *));
	if (l->upper != NULL)
		v[k++] = l->upper;
	for (i = 0; i < l->n_lowers; i++)
		v[k++] = l->lowers[i];
	*n = k;
	return v;
}
