/*
 * metrics_index.c - the head's label index: interned label strings and
 * postings.
 *
 * Label strings are interned with a reference count (one copy per distinct
 * string, freed with its last series), so series hold pointers and
 * postings compare pointers.  Postings map an interned (name, value) pair
 * to the increasing refs of the series that have it; queries take the
 * smallest list of their equality matchers.  Both tables are chained hash
 * tables that double when full, each under its own mutex
 * (m->intern_lock, m->post_lock).
 */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "store/metrics_int.h"

struct istr {
	struct istr *next;
	uint64_t hash;
	uint32_t refs, len;
	char s[];
};

#define ISTR(p) ((struct istr *)(void *)((char *)(p) - offsetof(struct istr, s)))

/* --- interning (m->intern_lock) --- */

const char *
mindex_intern_locked(struct mstore *m, const char *s, bool take)
{
	size_t len = strlen(s);
	uint64_t h = mhead_hash_bytes(s, len, 7);
	size_t b = h & (m->nintern_buckets - 1);
	struct istr *e;

	for (e = m->intern[b]; e; e = e->next)
		if (e->hash == h && e->len == len && memcmp(e->s, s, len) == 0) {
			if (take)
				e->refs++;
			return e->s;
		}
	if (!take)
		return NULL;
	if (m->nintern >= m->nintern_buckets) {
		size_t nb = m->nintern_buckets * 2;
		struct istr **nt = ob_xcalloc(nb, sizeof *nt);
		for (size_t i = 0; i < m->nintern_buckets; i++)
			while ((e = m->intern[i])) {
				m->intern[i] = e->next;
				e->next = nt[e->hash & (nb - 1)];
				nt[e->hash & (nb - 1)] = e;
			}
		free(m->intern);
		m->intern = nt;
		m->nintern_buckets = nb;
		b = h & (nb - 1);
	}
	e = ob_xmalloc(sizeof *e + len + 1);
	e->hash = h;
	e->len = (uint32_t)len;
	e->refs = 1;
	memcpy(e->s, s, len + 1);
	e->next = m->intern[b];
	m->intern[b] = e;
	m->nintern++;
	mhead_account(m, (int64_t)(sizeof *e + len + 1));
	return e->s;
}

void
mindex_intern_put_locked(struct mstore *m, const char *s)
{
	struct istr *e = ISTR(s), **pp;

	if (--e->refs)
		return;
	for (pp = &m->intern[e->hash & (m->nintern_buckets - 1)]; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	m->nintern--;
	mhead_account(m, -(int64_t)(sizeof *e + e->len + 1));
	free(e);
}

/* --- postings (m->post_lock) --- */

static uint64_t
post_hash(const char *name, const char *value)
{
	uintptr_t a = (uintptr_t)name, b = (uintptr_t)value;
	uint64_t h = (a * 0x9e3779b97f4a7c15ull) ^ (b * 0xc2b2ae3d27d4eb4full);
	return h ^ (h >> 31);
}

struct mposting *
mindex_post_find_locked(struct mstore *m, const char *name, const char *value, bool create)
{
	size_t b = post_hash(name, value) & (m->npost_buckets - 1);
	struct mposting *p;

	for (p = m->post[b]; p; p = p->next)
		if (p->name == name && p->value == value)
			return p;
	if (!create)
		return NULL;
	if (m->npost >= m->npost_buckets) {
		size_t nb = m->npost_buckets * 2;
		struct mposting **nt = ob_xcalloc(nb, sizeof *nt);
		for (size_t i = 0; i < m->npost_buckets; i++)
			while ((p = m->post[i])) {
				size_t j = post_hash(p->name, p->value) & (nb - 1);
				m->post[i] = p->next;
				p->next = nt[j];
				nt[j] = p;
			}
		free(m->post);
		m->post = nt;
		m->npost_buckets = nb;
		b = post_hash(name, value) & (nb - 1);
	}
	p = ob_xcalloc(1, sizeof *p);
	p->name = name;
	p->value = value;
	p->next = m->post[b];
	m->post[b] = p;
	m->npost++;
	return p;
}

void
mindex_post_add_locked(struct mstore *m, const char *name, const char *value, uint32_t ref)
{
	struct mposting *p = mindex_post_find_locked(m, name, value, true);
	uint32_t i;

	if (p->n == p->alloc) {
		p->alloc = p->alloc ? p->alloc * 2 : 4;
		p->refs = ob_xrealloc(p->refs, p->alloc * sizeof *p->refs);
		mhead_account(m, (int64_t)(p->alloc / 2 * sizeof *p->refs));
	}
	/* refs are handed out in increasing order; a racing creator may be late */
	for (i = p->n; i > 0 && p->refs[i - 1] > ref; i--)
		p->refs[i] = p->refs[i - 1];
	p->refs[i] = ref;
	p->n++;
}

void
mhead_postings(struct mstore *m, const char *name, const char *value, uint32_t **out,
	       size_t *n)
{
	const char *in, *iv;
	struct mposting *p = NULL;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&m->intern_lock);
	in = mindex_intern_locked(m, name, false);
	iv = mindex_intern_locked(m, value, false);
	pthread_mutex_unlock(&m->intern_lock);
	if (!in || !iv)
		return;
	pthread_mutex_lock(&m->post_lock);
	p = mindex_post_find_locked(m, in, iv, false);
	if (p && p->n) {
		*out = ob_xmalloc(p->n * sizeof **out);
		memcpy(*out, p->refs, p->n * sizeof **out);
		*n = p->n;
	}
	pthread_mutex_unlock(&m->post_lock);
}
