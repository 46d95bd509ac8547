/*
 * strmap.c: a map from strings to pointers (open addressing, linear
 * probing, backward-shift deletion), and a string intern pool built on it.
 * The correlation engine keys hosts, images, containers and findings by
 * strings; nothing here knows what the values are.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "collector/collector.h"

struct strmap_slot {
	const char	*key;		/* NULL: empty */
	void		*value;
	uint64_t	 hash;
};

struct strmap {
	struct strmap_slot	*slots;
	size_t			 cap;	/* power of two */
	size_t			 n;
};

/* FNV-1a, 64 bits. */
static uint64_t
strmap_hash(const char *s)
{
	uint64_t	h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

struct strmap *
strmap_new(void)
{
	struct strmap	*m = xcalloc(1, sizeof *m);

	m->cap = 16;
	m->slots = xcalloc(m->cap, sizeof *m->slots);
	return m;
}

/* Free the map (not the keys or values: the caller owns them). */
void
strmap_free(struct strmap *m)
{
	if (m == NULL)
		return;
	free(m->slots);
	free(m);
}

size_t
strmap_count(const struct strmap *m)
{
	return m->n;
}

static struct strmap_slot *
strmap_find(const struct strmap *m, const char *key, uint64_t h)
{
	size_t	i = (size_t)h & (m->cap - 1);

	for (;;) {
		struct strmap_slot *s = &m->slots[i];

		if (s->key == NULL)
			return s;
		if (s->hash == h && strcmp(s->key, key) == 0)
			return s;
		i = (i + 1) & (m->cap - 1);
	}
}

static void
strmap_grow(struct strmap *m)
{
	struct strmap_slot	*old = m->slots;
	size_t			 oldcap = m->cap, i;

	m->cap *= 2;
	m->slots = xcalloc(m->cap, sizeof *m->slots);
	for (i = 0; i < oldcap; i++)
		if (old[i].key != NULL)
			*strmap_find(m, old[i].key, old[i].hash) = old[i];
	free(old);
}

/* The value under key, or NULL. */
void *
strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_slot *s = strmap_find(m, key, strmap_hash(key));

	return s->key != NULL ? s->value : NULL;
}

/*
 * Set key to value.  key must stay valid while it is in the map (the map
 * keeps the pointer, typically to a string inside value).  Replaces any
 * value under an equal key and returns the old one (or NULL).
 */
void *
strmap_put(struct strmap *m, const char *key, void *value)
{
	struct strmap_slot	*s;
	uint64_t		 h = strmap_hash(key);
	void			*old;

	if ((m->n + 1) * 10 > m->cap * 7)
		strmap_grow(m);
	s = strmap_find(m, key, h);
	if (s->key != NULL) {
		old = s->value;
		s->key = key;
		s->value = value;
		return old;
	}
	s->key = key;
	s->value = value;
	s->hash = h;
	m->n++;
	return NULL;
}

/* Remove key; returns its value (or NULL). */
void *
strmap_del(struct strmap *m, const char *key)
{
	struct strmap_slot	*s = strmap_find(m, key, strmap_hash(key));
	size_t			 i, j;
	void			*old;

	if (s->key == NULL)
		return NULL;
	old = s->value;
	i = (size_t)(s - m->slots);
	/* Backward shift: pull later members of the run into the hole. */
	for (j = (i + 1) & (m->cap - 1); m->slots[j].key != NULL;
	    j = (j + 1) & (m->cap - 1)) {
		size_t home = (size_t)m->slots[j].hash & (m->cap - 1);

		/* j may move to i if its home is not in (i, j]. */
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	m->slots[i].key = NULL;
	m->slots[i].value = NULL;
	m->n--;
	return old;
}

/*
 * Call fn(key, value, arg) for every entry, in no particular order.  fn
 * must not add or remove entries.  Stops when fn returns non-zero.
 */
void
strmap_each(const struct strmap *m, int (*fn)(const char *, void *, void *),
    void *arg)
{
	size_t	i;

	for (i = 0; i < m->cap; i++)
		if (m->slots[i].key != NULL &&
		    fn(m->slots[i].key, m->slots[i].value, arg) != 0)
			return;
}

/* Intern pool: one copy of each string, freed with the pool. */
struct strpool {
	struct strmap	*map;
};

struct strpool *
strpool_new(void)
{
	struct strpool	*p = xcalloc(1, sizeof *p);

	p->map = strmap_new();
	return p;
}

static int
strpool_free_one(const char *key, void *value, void *arg)
{
	free(value);
	return 0;
}

void
strpool_free(struct strpool *p)
{
	if (p == NULL)
		return;
	strmap_each(p->map, strpool_free_one, NULL);
	strmap_free(p->map);
	free(p);
}

/* The pool's copy of s (NULL stays NULL); valid until strpool_free. */
const char *
strpool_get(struct strpool *p, const char *s)
{
	char	*v;

	if (s == NULL)
		return NULL;
	if ((v = strmap_get(p->map, s)) != NULL)
		return v;
	v = xstrdup(s);
	strmap_put(p->map, v, v);
	return v;
}

size_t
strpool_count(const struct strpool *p)
{
	return strmap_count(p->map);
}
