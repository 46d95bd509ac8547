/*
 * store-procs.c: a container's processes over all its snapshots.
 *
 * Each snapshot lists the container's processes as they are when it is
 * taken; the API shows every process ever seen in the container (an exec
 * adds one, and one that exited stays listed).  The store keeps the last
 * snapshot whole (containers.snapshot) and, beside it, only what that
 * snapshot does not say (containers.procs_past): the processes of earlier
 * snapshots that it no longer lists, or lists with a field missing that an
 * earlier reading had.  A container's first snapshot -- and every later
 * one with the same processes -- so writes no process at all: they are in
 * the snapshot's bytes already.  (The store wrote them a second time, one
 * row each, until schema version 8: a third of the pages an ingest wrote.)
 *
 * A process is known by its start time and pid.  Where two readings of one
 * process differ, the newer one wins, and a field it lacks (comm, exe,
 * args, sha256: a process can turn into a zombie between two readings) is
 * taken from the older.
 *
 * Everything here works on untrusted lists (up to TM_PROCS_MAX entries
 * each, duplicates possible) in O(n log n), and returns arrays of shallow
 * copies: their strings are those of the lists given.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collector/collector.h"
#include "collector/store.h"

static int
procs_key_cmp(const struct tm_process *a, const struct tm_process *b)
{
	if (a->start_ns != b->start_ns)
		return a->start_ns < b->start_ns ? -1 : 1;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return 0;
}

/* By key, then by place in the list: the first of duplicates sorts first. */
static int
procs_ptr_cmp(const void *x, const void *y)
{
	const struct tm_process *a = *(const struct tm_process *const *)x;
	const struct tm_process *b = *(const struct tm_process *const *)y;
	int			 c = procs_key_cmp(a, b);

	if (c != 0)
		return c;
	return a < b ? -1 : a > b;
}

/* p's entries by key, each key once (its first entry in p). */
static struct tm_process *
procs_sorted(const struct tm_process *p, size_t np, size_t *n)
{
	const struct tm_process	**v;
	struct tm_process	 *out;
	size_t			  i, k = 0;

	*n = 0;
	if (np == 0)
		return NULL;
	v = xcalloc(np, sizeof *v);
	for (i = 0; i < np; i++)
		v[i] = &p[i];
	qsort(v, np, sizeof *v, procs_ptr_cmp);
	out = xcalloc(np, sizeof *out);
	for (i = 0; i < np; i++)
		if (k == 0 || procs_key_cmp(&out[k - 1], v[i]) != 0)
			out[k++] = *v[i];
	free(v);
	*n = k;
	return out;
}

/* Whether reading a lacks a field that reading b of the same process has. */
static int
procs_lacks(const struct tm_process *a, const struct tm_process *b)
{
	return (a->comm == NULL && b->comm != NULL) ||
	    (a->exe == NULL && b->exe != NULL) ||
	    (a->n_args == 0 && b->n_args > 0) ||
	    (a->sha256 == NULL && b->sha256 != NULL);
}

/* a's absent fields, from b. */
static void
procs_fill(struct tm_process *a, const struct tm_process *b)
{
	if (a->comm == NULL)
		a->comm = b->comm;
	if (a->exe == NULL)
		a->exe = b->exe;
	if (a->n_args == 0) {
		a->args = b->args;
		a->n_args = b->n_args;
	}
	if (a->sha256 == NULL)
		a->sha256 = b->sha256;
}

struct tm_process *
store_procs_union(const struct tm_process *newer, size_t nnewer,
    const struct tm_process *older, size_t nolder, size_t *n)
{
	struct tm_process	*a, *b, *out;
	size_t			 na, nb, i = 0, j = 0, k = 0;

	a = procs_sorted(newer, nnewer, &na);
	b = procs_sorted(older, nolder, &nb);
	*n = 0;
	if (na + nb == 0)
		return NULL;
	out = xcalloc(na + nb, sizeof *out);
	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1 : procs_key_cmp(&a[i], &b[j]);

		if (c < 0)
			out[k++] = a[i++];
		else if (c > 0)
			out[k++] = b[j++];
		else {
			out[k] = a[i++];
			procs_fill(&out[k++], &b[j++]);
		}
	}
	free(a);
	free(b);
	*n = k;
	return out;
}

struct tm_process *
store_procs_past(const struct tm_process *seen, size_t nseen,
    const struct tm_process *cur, size_t ncur, size_t *n)
{
	struct tm_process	*s, *c, *out;
	size_t			 ns, nc, i, j = 0, k = 0;

	s = procs_sorted(seen, nseen, &ns);
	c = procs_sorted(cur, ncur, &nc);
	out = s;	/* in place: k never passes i */
	for (i = 0; i < ns; i++) {
		while (j < nc && procs_key_cmp(&c[j], &s[i]) < 0)
			j++;
		if (j < nc && procs_key_cmp(&c[j], &s[i]) == 0 &&
		    !procs_lacks(&c[j], &s[i]))
			continue;	/* the snapshot says it all */
		out[k++] = s[i];
	}
	free(c);
	/* Bounded as a snapshot's list is: the first ones seen are kept. */
	*n = k < TM_PROCS_MAX ? k : TM_PROCS_MAX;
	if (*n == 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* The stored form of p for container rec: a container record with rec's
 * envelope and identity, and processes p. */
static int
procs_encode(const struct tm_record *rec, const struct tm_process *p,
    size_t n, msgpack_sbuffer *out)
{
	const struct tm_container	*c = &rec->body.container;
	struct tm_record		 r;

	memset(&r, 0, sizeof r);
	r.version = rec->version;
	r.host_id = rec->host_id;
	r.seq = rec->seq;
	r.sent_ns = rec->sent_ns;
	r.epoch = rec->epoch;
	r.kind = TM_KIND_CONTAINER;
	r.body.container.runtime = c->runtime;
	r.body.container.id = c->id;
	r.body.container.state = c->state;
	r.body.container.procs = (struct tm_process *)(uintptr_t)p;
	r.body.container.n_procs = n;
	return tm_encode(&r, out);
}

int
store_procs_beside(const struct tm_record *rec,
    const struct tm_process *seen, size_t nseen, msgpack_sbuffer *out,
    uint64_t *n_all, size_t *n_kept)
{
	const struct tm_container	*c = &rec->body.container;
	struct tm_process		*keep, *all;
	size_t				 nkeep, nall;
	int				 rc = 0;

	keep = store_procs_past(seen, nseen, c->procs, c->n_procs, &nkeep);
	all = store_procs_union(c->procs, c->n_procs, keep, nkeep, &nall);
	*n_all = nall;
	*n_kept = nkeep;
	if (nkeep > 0 && procs_encode(rec, keep, nkeep, out) == -1)
		rc = -1;
	free(all);
	free(keep);
	return rc;
}
