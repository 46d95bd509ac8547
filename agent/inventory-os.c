/*
 * inventory-os.c: the distribution, from os-release(5): /etc/os-release,
 * else /usr/lib/os-release; when neither names it, /etc/alpine-release,
 * /etc/debian_version or /etc/redhat-release.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"

#define OS_FILE_MAX	(64u * 1024)

/*
 * Unquote an os-release value (shell-like: "..." with \ escapes, '...', or
 * bare) from v[0..len) into out.  Returns 0, or -1 if malformed or longer
 * than outlen - 1.
 */
static int
os_unquote(const char *v, size_t len, char *out, size_t outlen)
{
	size_t	i = 0, o = 0;
	char	q = 0;

	while (len > 0 && isspace((unsigned char)v[len - 1]))
		len--;
	if (len > 0 && (v[0] == '"' || v[0] == '\'')) {
		q = v[0];
		if (len < 2 || v[len - 1] != q)
			return -1;
		i = 1;
		len--;
	}
	for (; i < len; i++) {
		char c = v[i];

		if (q == '"' && c == '\\' && i + 1 < len &&
		    strchr("\\$\"`", v[i + 1]) != NULL)
			c = v[++i];
		if (o + 1 >= outlen)
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

/* Set *dst to v unless already set by a better source. */
static void
os_set(char **dst, const char *v)
{
	if (*dst == NULL && *v != '\0')
		*dst = xstrdup(v);
}

/*
 * Parse an os-release buffer into s->img (ID, VERSION_ID, VERSION_CODENAME,
 * PRETTY_NAME; fields already set are kept).  Malformed lines are counted.
 * Returns 0.
 */
int
inventory_os_parse_release(struct inventory_scan *s, const char *buf, size_t len)
{
	struct tm_image	*img = s->img;
	const char	*p = buf, *end = buf + len, *nl, *eq;
	char		 key[64], val[TM_STR_SHORT];

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', end - p)) == NULL)
			nl = end;
		while (p < nl && isspace((unsigned char)*p))
			p++;
		if (p == nl || *p == '#')
			continue;
		if ((eq = memchr(p, '=', nl - p)) == NULL ||
		    (size_t)(eq - p) >= sizeof(key) ||
		    os_unquote(eq + 1, nl - eq - 1, val, sizeof(val)) == -1) {
			inventory_error(s, "os-release", "malformed line");
			continue;
		}
		memcpy(key, p, eq - p);
		key[eq - p] = '\0';
		if (strcmp(key, "ID") == 0)
			os_set(&img->os_id, val);
		else if (strcmp(key, "VERSION_ID") == 0)
			os_set(&img->os_version, val);
		else if (strcmp(key, "VERSION_CODENAME") == 0)
			os_set(&img->os_codename, val);
		else if (strcmp(key, "PRETTY_NAME") == 0)
			os_set(&img->os_pretty, val);
	}
	return 0;
}

/* First line of a small file, trimmed, into out.  Returns 0 or -1. */
static int
os_first_line(struct inventory_scan *s, const char *path, char *out, size_t outlen)
{
	char	*buf;
	size_t	 len, n;

	if (rootfs_read(s->root, path, OS_FILE_MAX, &buf, &len) == -1)
		return -1;
	n = strcspn(buf, "\r\n");
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		n--;
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, buf, n);
	out[n] = '\0';
	free(buf);
	return *out != '\0' ? 0 : -1;
}

/* "CentOS Linux release 7.9.2009 (Core)": id from the name, version the
 * first word starting with a digit. */
static void
os_redhat(struct tm_image *img, const char *line)
{
	char		 word[TM_STR_SHORT];
	const char	*p = line;
	size_t		 n;

	os_set(&img->os_pretty, line);
	if (strncasecmp(line, "centos", 6) == 0)
		os_set(&img->os_id, "centos");
	else if (strncasecmp(line, "fedora", 6) == 0)
		os_set(&img->os_id, "fedora");
	else if (strncasecmp(line, "red hat", 7) == 0)
		os_set(&img->os_id, "rhel");
	while (*p != '\0') {
		n = strcspn(p, " \t");
		if (isdigit((unsigned char)*p) && n < sizeof(word)) {
			memcpy(word, p, n);
			word[n] = '\0';
			os_set(&img->os_version, word);
			break;
		}
		p += n;
		p += strspn(p, " \t");
	}
}

static int
os_probe(struct inventory_scan *s)
{
	return 1;	/* always look: the fallbacks are cheap */
}

static int
os_parse(struct inventory_scan *s)
{
	static const char *const releases[] = {
		"/etc/os-release", "/usr/lib/os-release",
	};
	struct tm_image	*img = s->img;
	char		*buf, line[TM_STR_SHORT];
	size_t		 len, i;

	for (i = 0; i < TM_NELEM(releases); i++) {
		if (rootfs_read(s->root, releases[i], OS_FILE_MAX, &buf, &len) == -1)
			continue;
		inventory_os_parse_release(s, buf, len);
		free(buf);
		break;
	}
	if (img->os_id != NULL && img->os_version != NULL)
		return 0;
	if (os_first_line(s, "/etc/alpine-release", line, sizeof(line)) == 0) {
		os_set(&img->os_id, "alpine");
		os_set(&img->os_version, line);
	} else if (os_first_line(s, "/etc/debian_version", line, sizeof(line)) == 0) {
		os_set(&img->os_id, "debian");
		os_set(&img->os_version, line);
	} else if (os_first_line(s, "/etc/redhat-release", line, sizeof(line)) == 0)
		os_redhat(img, line);
	return 0;
}

const struct inventory_parser inventory_parser_os = {
	.name = "os",
	.probe = os_probe,
	.parse = os_parse,
};
