/*
 * otlp_metrics_state.c - accumulating OTLP delta points into cumulative
 * ones across requests (see otlp_metrics.h and otlp_metrics_int.h).
 *
 * The state is a hash table of entries keyed by the identity of the
 * output series (its label set, serialized by the caller), plus a list in
 * least-recently-used order.  An entry holds the running totals (a sum; a
 * histogram's bucket counts, count and sum; an exponential histogram's
 * scale and dense bucket arrays), when the accumulation started, and the
 * start and end of the last delta added, which tells a retried point
 * (same start and end: not added again) from an old one (ending no later
 * than the last: refused).  Bounds: at most max entries and
 * OM_STATE_MAX_BYTES bytes of entries; past either, the least recently
 * used entries go first.  One mutex guards everything: a point is a few
 * hundred nanoseconds of work under it.
 */
#include "codec/otlp_metrics_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

#define OM_STATE_MAX_BYTES (256u << 20)

struct entry {
	struct entry *hnext;                    /* hash chain */
	struct entry *prev, *next;              /* LRU list, most recent first */
	uint64_t hash;
	uint64_t last_start_ns, last_time_ns;
	uint64_t layout;                        /* histogram bounds hash */
	double total, count, sum, zero_count;
	int32_t scale, pos_offset, neg_offset;
	double *buckets, *pos, *neg;            /* heap; histogram / exponential */
	size_t nb, npos, nneg;
	size_t bytes;                           /* what this entry costs, for the budget */
	size_t keylen;
	unsigned char key[];
};

struct otlp_metrics_state {
	pthread_mutex_t mu;
	struct entry **table;
	size_t nslots;                          /* a power of two */
	struct entry *head, *tail;
	size_t count, max, bytes;
};

struct otlp_metrics_state *
otlp_metrics_state_new(size_t max_entries)
{
	struct otlp_metrics_state *st = ob_xcalloc(1, sizeof *st);

	st->max = max_entries ? max_entries : OTLP_METRICS_DEFAULT_STATE_ENTRIES;
	st->nslots = 1024;
	while (st->nslots < st->max && st->nslots < (1u << 22))
		st->nslots <<= 1;
	st->table = ob_xcalloc(st->nslots, sizeof *st->table);
	pthread_mutex_init(&st->mu, NULL);
	return st;
}

static void
entry_free(struct entry *e)
{
	free(e->buckets);
	free(e->pos);
	free(e->neg);
	free(e);
}

void
otlp_metrics_state_free(struct otlp_metrics_state *st)
{
	struct entry *e, *next;

	if (st == NULL)
		return;
	for (e = st->head; e; e = next) {
		next = e->next;
		entry_free(e);
	}
	free(st->table);
	pthread_mutex_destroy(&st->mu);
	free(st);
}

size_t
otlp_metrics_state_count(struct otlp_metrics_state *st)
{
	size_t n;

	pthread_mutex_lock(&st->mu);
	n = st->count;
	pthread_mutex_unlock(&st->mu);
	return n;
}

static void
lru_unlink(struct otlp_metrics_state *st, struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		st->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		st->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
lru_push(struct otlp_metrics_state *st, struct entry *e)
{
	e->next = st->head;
	e->prev = NULL;
	if (st->head)
		st->head->prev = e;
	st->head = e;
	if (!st->tail)
		st->tail = e;
}

static void
evict(struct otlp_metrics_state *st, struct entry *e)
{
	struct entry **pp = &st->table[e->hash & (st->nslots - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(st, e);
	st->count--;
	st->bytes -= e->bytes;
	entry_free(e);
}

/* Keep the budget, never evicting keep (the entry in use). */
static void
trim(struct otlp_metrics_state *st, struct entry *keep)
{
	while ((st->count > st->max || st->bytes > OM_STATE_MAX_BYTES) && st->tail &&
	       st->tail != keep)
		evict(st, st->tail);
}

/* The entry for key, made most recent; *created when it is new. */
static struct entry *
find(struct otlp_metrics_state *st, const void *key, size_t keylen, bool *created)
{
	uint64_t h = om_hash(OM_HASH_INIT, key, keylen);
	struct entry **slot = &st->table[h & (st->nslots - 1)], *e;

	for (e = *slot; e; e = e->hnext)
		if (e->hash == h && e->keylen == keylen && memcmp(e->key, key, keylen) == 0) {
			lru_unlink(st, e);
			lru_push(st, e);
			*created = false;
			return e;
		}
	e = ob_xcalloc(1, sizeof *e + keylen);
	e->hash = h;
	e->keylen = keylen;
	memcpy(e->key, key, keylen);
	e->bytes = sizeof *e + keylen;
	e->hnext = *slot;
	*slot = e;
	lru_push(st, e);
	st->count++;
	st->bytes += e->bytes;
	*created = true;
	return e;
}

static enum om_delta
check(struct entry *e, bool created, uint64_t start_ns, uint64_t time_ns)
{
	if (created)
		return OM_DELTA_ADDED;
	if (start_ns == e->last_start_ns && time_ns == e->last_time_ns)
		return OM_DELTA_RETRY;
	if (time_ns <= e->last_time_ns)
		return OM_DELTA_OLD;
	return OM_DELTA_ADDED;
}

static void
mark(struct entry *e, uint64_t start_ns, uint64_t time_ns)
{
	e->last_start_ns = start_ns;
	e->last_time_ns = time_ns;
}

enum om_delta
om_state_add_sum(struct otlp_metrics_state *st, const void *key, size_t keylen,
		 uint64_t start_ns, uint64_t time_ns, double delta, double *total)
{
	enum om_delta r;
	bool created;
	struct entry *e;

	pthread_mutex_lock(&st->mu);
	e = find(st, key, keylen, &created);
	if ((r = check(e, created, start_ns, time_ns)) == OM_DELTA_ADDED) {
		e->total += delta;
		mark(e, start_ns, time_ns);
	}
	*total = e->total;
	trim(st, e);
	pthread_mutex_unlock(&st->mu);
	return r;
}

/* Resize an entry's heap array, keeping the byte budget right. */
static double *
resize(struct otlp_metrics_state *st, struct entry *e, double *p, size_t oldn, size_t n)
{
	p = ob_xrealloc(p, (n ? n : 1) * sizeof *p);
	st->bytes += n * sizeof *p;
	st->bytes -= oldn * sizeof *p;
	e->bytes += n * sizeof *p;
	e->bytes -= oldn * sizeof *p;
	return p;
}

enum om_delta
om_state_add_hist(struct otlp_metrics_state *st, const void *key, size_t keylen,
		  uint64_t start_ns, uint64_t time_ns, uint64_t bounds_hash, double *buckets,
		  size_t nb, double *count, double *sum)
{
	enum om_delta r;
	bool created;
	struct entry *e;

	pthread_mutex_lock(&st->mu);
	e = find(st, key, keylen, &created);
	if (!created && (e->layout != bounds_hash || e->nb != nb)) {
		/* a new bucket layout: start again from this point */
		created = true;
		e->count = e->sum = 0;
	}
	if (created || e->nb != nb) {
		e->buckets = resize(st, e, e->buckets, e->nb, nb);
		memset(e->buckets, 0, nb * sizeof *e->buckets);
		e->nb = nb;
		e->layout = bounds_hash;
	}
	if ((r = check(e, created, start_ns, time_ns)) == OM_DELTA_ADDED) {
		for (size_t i = 0; i < nb; i++)
			e->buckets[i] += buckets[i];
		e->count += *count;
		e->sum += *sum;
		mark(e, start_ns, time_ns);
	}
	if (r != OM_DELTA_OLD) {
		if (nb)
			memcpy(buckets, e->buckets, nb * sizeof *buckets);
		*count = e->count;
		*sum = e->sum;
	}
	trim(st, e);
	pthread_mutex_unlock(&st->mu);
	return r;
}

/* ---- exponential buckets ---- */

/* Bucket index i at a scale lower by d: floor(i / 2^d). */
static int64_t
down(int64_t i, int d)
{
	return i >> d;      /* arithmetic shift: floor for negatives too */
}

/* Buckets needed for two ranges (offset, n, lowered by d) together. */
static int64_t
union_width(int32_t ao, size_t an, int ad, int32_t bo, size_t bn, int bd)
{
	int64_t lo = INT64_MAX, hi = INT64_MIN;

	if (an) {
		lo = down(ao, ad);
		hi = down((int64_t)ao + (int64_t)an - 1, ad);
	}
	if (bn) {
		if (down(bo, bd) < lo)
			lo = down(bo, bd);
		if (down((int64_t)bo + (int64_t)bn - 1, bd) > hi)
			hi = down((int64_t)bo + (int64_t)bn - 1, bd);
	}
	return an || bn ? hi - lo + 1 : 0;
}

/*
 * Add src (offset so, ns counts, lowered by sd) into the dense array
 * *dst (offset *doff, *dn counts, lowered by dd), as a new heap array
 * covering both (union_width said it fits).
 */
static void
merge(struct otlp_metrics_state *st, struct entry *e, double **dst, int32_t *doff, size_t *dn,
      int dd, const double *src, int32_t so, size_t ns, int sd)
{
	int64_t lo, hi;
	double *out;
	size_t n;

	if (*dn == 0 && ns == 0)
		return;
	lo = INT64_MAX;
	hi = INT64_MIN;
	if (*dn) {
		lo = down(*doff, dd);
		hi = down((int64_t)*doff + (int64_t)*dn - 1, dd);
	}
	if (ns) {
		lo = down(so, sd) < lo ? down(so, sd) : lo;
		hi = down((int64_t)so + (int64_t)ns - 1, sd) > hi ? down((int64_t)so + (int64_t)ns - 1, sd) : hi;
	}
	n = (size_t)(hi - lo + 1);
	out = ob_xcalloc(n, sizeof *out);
	for (size_t i = 0; i < *dn; i++)
		out[down((int64_t)*doff + (int64_t)i, dd) - lo] += (*dst)[i];
	for (size_t i = 0; i < ns; i++)
		out[down((int64_t)so + (int64_t)i, sd) - lo] += src[i];
	st->bytes += n * sizeof *out;
	st->bytes -= *dn * sizeof *out;
	e->bytes += n * sizeof *out;
	e->bytes -= *dn * sizeof *out;
	free(*dst);
	*dst = out;
	*doff = (int32_t)lo;
	*dn = n;
}

enum om_delta
om_state_add_exp(struct otlp_metrics_state *st, const void *key, size_t keylen,
		 uint64_t start_ns, uint64_t time_ns, struct om_exp *x, struct ob_arena *arena)
{
	enum om_delta r;
	bool created;
	struct entry *e;
	int32_t scale;

	pthread_mutex_lock(&st->mu);
	e = find(st, key, keylen, &created);
	if (created)
		e->scale = x->scale;
	if ((r = check(e, created, start_ns, time_ns)) == OM_DELTA_ADDED) {
		/* both at the coarser scale; coarser still if the range is too wide */
		for (scale = x->scale < e->scale ? x->scale : e->scale; scale >= -4; scale--) {
			int dd = e->scale - scale, sd = x->scale - scale;

			if (union_width(e->pos_offset, e->npos, dd, x->pos_offset, x->npos, sd) <=
				    OTLP_METRICS_MAX_BUCKETS &&
			    union_width(e->neg_offset, e->nneg, dd, x->neg_offset, x->nneg, sd) <=
				    OTLP_METRICS_MAX_BUCKETS)
				break;
		}
		if (scale < -4) {
			r = OM_DELTA_TOO_WIDE;
		} else {
			int dd = e->scale - scale, sd = x->scale - scale;

			merge(st, e, &e->pos, &e->pos_offset, &e->npos, dd, x->pos, x->pos_offset,
			      x->npos, sd);
			merge(st, e, &e->neg, &e->neg_offset, &e->nneg, dd, x->neg, x->neg_offset,
			      x->nneg, sd);
			e->scale = scale;
			e->count += x->count;
			e->sum += x->sum;
			e->zero_count += x->zero_count;
			mark(e, start_ns, time_ns);
		}
	}
	if (r == OM_DELTA_ADDED || r == OM_DELTA_RETRY) {
		x->scale = e->scale;
		x->count = e->count;
		x->sum = e->sum;
		x->zero_count = e->zero_count;
		x->pos_offset = e->pos_offset;
		x->neg_offset = e->neg_offset;
		x->npos = e->npos;
		x->nneg = e->nneg;
		x->pos = e->npos ? ob_arena_memdup(arena, e->pos, e->npos * sizeof *e->pos) : NULL;
		x->neg = e->nneg ? ob_arena_memdup(arena, e->neg, e->nneg * sizeof *e->neg) : NULL;
		if ((e->npos && !x->pos) || (e->nneg && !x->neg))
			x->npos = x->nneg = 0;  /* the caller sees the arena's over flag */
	}
	trim(st, e);
	pthread_mutex_unlock(&st->mu);
	return r;
}
