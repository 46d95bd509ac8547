/*
 * inventory-json.c: an image inventory as JSON, for `scan --json` and for
 * the per-image cache files in state.dir/images (read back bounded and
 * type-checked: a damaged cache file is refused, then rescanned).
 */
#include "config.h"

#include <string.h>

#include <jansson.h>

#include "agent/agent.h"

static void
ij_set_str(json_t *o, const char *k, const char *v)
{
	if (v != NULL)
		json_object_set_new(o, k, json_string(v));
}

/* img as a JSON object (caller owns it). */
json_t *
inventory_image_to_json(const struct tm_image *img)
{
	json_t	*o, *os, *pkgs, *p, *notes;
	size_t	 i;

	o = json_object();
	ij_set_str(o, "key", img->key);
	ij_set_str(o, "image_id", img->image_id);
	if (img->n_refs > 0) {
		json_t *refs = json_array();
		for (i = 0; i < img->n_refs; i++)
			json_array_append_new(refs, json_string(img->refs[i]));
		json_object_set_new(o, "refs", refs);
	}
	os = json_object();
	ij_set_str(os, "id", img->os_id);
	ij_set_str(os, "version_id", img->os_version);
	ij_set_str(os, "codename", img->os_codename);
	ij_set_str(os, "pretty_name", img->os_pretty);
	json_object_set_new(o, "os", os);
	pkgs = json_array();
	for (i = 0; i < img->n_packages; i++) {
		const struct tm_package *pk = &img->packages[i];

		p = json_object();
		ij_set_str(p, "ecosystem", pk->ecosystem);
		ij_set_str(p, "name", pk->name);
		ij_set_str(p, "version", pk->version);
		if (pk->has_epoch)
			json_object_set_new(p, "epoch", json_integer(pk->epoch));
		ij_set_str(p, "arch", pk->arch);
		ij_set_str(p, "source_name", pk->source_name);
		ij_set_str(p, "source_version", pk->source_version);
		ij_set_str(p, "vendor", pk->vendor);
		ij_set_str(p, "modularity", pk->modularity);
		json_array_append_new(pkgs, p);
	}
	json_object_set_new(o, "packages", pkgs);
	json_object_set_new(o, "scan_ns", json_integer((json_int_t)img->scan_ns));
	json_object_set_new(o, "errors", json_integer((json_int_t)img->errors));
	notes = json_array();
	for (i = 0; i < img->n_notes; i++)
		json_array_append_new(notes, json_string(img->notes[i]));
	json_object_set_new(o, "notes", notes);
	return o;
}

/* Copy an optional bounded string member; -1 on a wrong type or length. */
static int
ij_get_str(json_t *o, const char *k, char **dst, size_t max)
{
	json_t	*v = json_object_get(o, k);

	*dst = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) > max)
		return -1;
	*dst = xstrdup(json_string_value(v));
	return 0;
}

/*
 * Fill img (zeroed by the caller) from o, as written by
 * inventory_image_to_json.  Returns 0, or -1 (img freed) on any wrong type,
 * over-long string or count.
 */
int
inventory_image_from_json(json_t *o, struct tm_image *img)
{
	json_t	*os, *pkgs, *p, *v, *notes, *refs;
	size_t	 i;

	memset(img, 0, sizeof(*img));
	if (!json_is_object(o))
		return -1;
	if (ij_get_str(o, "key", &img->key, TM_STR_SHORT) == -1 ||
	    ij_get_str(o, "image_id", &img->image_id, TM_STR_SHORT) == -1)
		goto bad;
	if ((refs = json_object_get(o, "refs")) != NULL) {
		if (!json_is_array(refs) || json_array_size(refs) > TM_LIST_MAX)
			goto bad;
		img->refs = xcalloc(json_array_size(refs) + 1, sizeof(char *));
		json_array_foreach(refs, i, v) {
			if (!json_is_string(v) || json_string_length(v) > TM_STR_MAX)
				goto bad;
			img->refs[img->n_refs++] = xstrdup(json_string_value(v));
		}
	}
	if ((os = json_object_get(o, "os")) != NULL) {
		if (!json_is_object(os) ||
		    ij_get_str(os, "id", &img->os_id, TM_STR_SHORT) == -1 ||
		    ij_get_str(os, "version_id", &img->os_version, TM_STR_SHORT) == -1 ||
		    ij_get_str(os, "codename", &img->os_codename, TM_STR_SHORT) == -1 ||
		    ij_get_str(os, "pretty_name", &img->os_pretty, TM_STR_SHORT) == -1)
			goto bad;
	}
	pkgs = json_object_get(o, "packages");
	if (!json_is_array(pkgs) || json_array_size(pkgs) > TM_PACKAGES_MAX)
		goto bad;
	img->packages = xcalloc(json_array_size(pkgs) + 1, sizeof(*img->packages));
	json_array_foreach(pkgs, i, p) {
		struct tm_package *pk = &img->packages[img->n_packages];

		if (!json_is_object(p))
			goto bad;
		img->n_packages++;
		if (ij_get_str(p, "ecosystem", &pk->ecosystem, TM_STR_SHORT) == -1 ||
		    ij_get_str(p, "name", &pk->name, TM_STR_SHORT) == -1 ||
		    ij_get_str(p, "version", &pk->version, TM_STR_SHORT) == -1 ||
		    ij_get_str(p, "arch", &pk->arch, TM_STR_SHORT) == -1 ||
		    ij_get_str(p, "source_name", &pk->source_name, TM_STR_SHORT) == -1 ||
		    ij_get_str(p, "source_version", &pk->source_version, TM_STR_SHORT) == -1 ||
		    ij_get_str(p, "vendor", &pk->vendor, TM_STR_SHORT) == -1 ||
		    ij_get_str(p, "modularity", &pk->modularity, TM_STR_SHORT) == -1 ||
		    pk->ecosystem == NULL || pk->name == NULL || pk->version == NULL)
			goto bad;
		if ((v = json_object_get(p, "epoch")) != NULL) {
			if (!json_is_integer(v))
				goto bad;
			pk->has_epoch = true;
			pk->epoch = json_integer_value(v);
		}
	}
	if ((v = json_object_get(o, "scan_ns")) != NULL && json_is_integer(v))
		img->scan_ns = (uint64_t)json_integer_value(v);
	if ((v = json_object_get(o, "errors")) != NULL && json_is_integer(v))
		img->errors = (uint64_t)json_integer_value(v);
	if ((notes = json_object_get(o, "notes")) != NULL) {
		if (!json_is_array(notes) || json_array_size(notes) > TM_LIST_MAX)
			goto bad;
		img->notes = xcalloc(json_array_size(notes) + 1, sizeof(char *));
		json_array_foreach(notes, i, v) {
			if (!json_is_string(v) || json_string_length(v) > TM_STR_MAX)
				goto bad;
			img->notes[img->n_notes++] = xstrdup(json_string_value(v));
		}
	}
	return 0;
bad:
	inventory_image_free(img);
	return -1;
}
