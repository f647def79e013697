/*
 * svcgraph.c - rollup cells: latency histograms, their encoding, and the
 * aggregate of one seal's events (svcgraph.h explains the keys).
 *
 * Fine buckets: index 0 holds latencies under 1 ns (zero); index i >= 1
 * holds [2^((i-1)/16), 2^(i/16)) ns.  A quantile is read by rank
 * q * count, interpolated geometrically inside its bucket (a bucket's
 * observations taken as spread evenly over it, each at the middle of its
 * share), so it is within half a bucket (2.2 %) of a latency that was
 * observed in that bucket.
 *
 * Encoded cell (the data column), all varints, signed ones zig-zag:
 *
 *	per histogram (edge: server then client; operation: one):
 *	  sum_ns (signed)
 *	  coarse counts, nbuckets + 1 of them (signed)
 *	  nfine, then per fine bucket: index delta (unsigned), count (signed)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/mem.h"
#include "core/varint.h"
#include "model/svcgraph.h"

#define FINE_PER_OCTAVE 16
#define FINE_MAX 1100           /* 64 octaves and a little: any uint64 latency */

int
sg_nbuckets(int kind)
{
	return kind == SG_KIND_OP ? SG_OP_BUCKETS : SG_EDGE_BUCKETS;
}

double
sg_bucket_bound(int kind, int i)
{
	if (i >= sg_nbuckets(kind))
		return INFINITY;
	return (kind == SG_KIND_OP ? 0.002 : 0.1) * (double)(1u << i);
}

/* Tempo's bucket of a latency: the first bound it does not exceed (le). */
static int
coarse_index(int kind, int64_t lat_ns)
{
	int i, nb = sg_nbuckets(kind);
	double s = (double)lat_ns / 1e9;

	for (i = 0; i < nb; i++)
		if (s <= sg_bucket_bound(kind, i))
			return i;
	return nb;
}

static int
fine_index(int64_t lat_ns)
{
	int i;

	if (lat_ns < 1)
		return 0;
	i = 1 + (int)floor(log2((double)lat_ns) * FINE_PER_OCTAVE);
	return i < FINE_MAX ? i : FINE_MAX - 1;
}

static void
fine_add(struct sg_hist *h, int idx, int64_t cnt)
{
	size_t lo = 0, hi = h->nfine;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (h->fidx[mid] < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < h->nfine && h->fidx[lo] == idx) {
		h->fcnt[lo] += cnt;
		return;
	}
	if (h->nfine == h->capfine) {
		h->capfine = h->capfine ? h->capfine * 2 : 8;
		h->fidx = ob_xrealloc(h->fidx, h->capfine * sizeof *h->fidx);
		h->fcnt = ob_xrealloc(h->fcnt, h->capfine * sizeof *h->fcnt);
	}
	memmove(h->fidx + lo + 1, h->fidx + lo, (h->nfine - lo) * sizeof *h->fidx);
	memmove(h->fcnt + lo + 1, h->fcnt + lo, (h->nfine - lo) * sizeof *h->fcnt);
	h->fidx[lo] = (uint16_t)idx;
	h->fcnt[lo] = cnt;
	h->nfine++;
}

void
sg_hist_observe(struct sg_hist *h, int kind, int64_t lat_ns, int64_t sign)
{
	if (lat_ns < 0) {       /* a side Tempo leaves at 0: its bucket only */
		h->coarse[0] += sign;
		return;
	}
	h->sum_ns = sg_add(h->sum_ns, sign * lat_ns);
	h->coarse[coarse_index(kind, lat_ns)] += sign;
	fine_add(h, fine_index(lat_ns), sign);
}

void
sg_hist_merge(struct sg_hist *dst, const struct sg_hist *src, int kind)
{
	size_t i;

	dst->sum_ns = sg_add(dst->sum_ns, src->sum_ns);
	for (i = 0; i <= (size_t)sg_nbuckets(kind); i++)
		dst->coarse[i] += src->coarse[i];
	for (i = 0; i < src->nfine; i++)
		fine_add(dst, src->fidx[i], src->fcnt[i]);
}

void
sg_hist_release(struct sg_hist *h)
{
	free(h->fidx);
	free(h->fcnt);
	memset(h, 0, sizeof *h);
}

int64_t
sg_hist_fine_total(const struct sg_hist *h)
{
	uint64_t t = 0;
	size_t i;

	for (i = 0; i < h->nfine; i++)
		t += h->fcnt[i] > 0 ? (uint64_t)h->fcnt[i] : 0;
	return t > INT64_MAX ? INT64_MAX : (int64_t)t;
}

double
sg_hist_quantile_ms(const struct sg_hist *h, double q)
{
	int64_t total = sg_hist_fine_total(h);
	double rank, cum = 0;
	size_t i;

	if (total <= 0)
		return NAN;
	rank = q * (double)total;
	for (i = 0; i < h->nfine; i++) {
		int64_t c = h->fcnt[i] > 0 ? h->fcnt[i] : 0;
		double lo, hi, frac;

		if (c == 0 || (cum + (double)c < rank && i + 1 < h->nfine)) {
			cum += (double)c;
			continue;
		}
		if (h->fidx[i] == 0)
			return 0;
		/* the observations spread evenly (in log) over the bucket, each
		 * at the middle of its share */
		frac = (rank - cum - 0.5) / (double)c;
		frac = frac < 0 ? 0 : frac > 1 ? 1 : frac;
		lo = exp2((double)(h->fidx[i] - 1) / FINE_PER_OCTAVE);
		hi = exp2((double)h->fidx[i] / FINE_PER_OCTAVE);
		return lo * pow(hi / lo, frac) / 1e6;
	}
	return NAN;
}

static int
nhists(int kind)
{
	return kind == SG_KIND_EDGE ? 2 : kind == SG_KIND_OP ? 1 : 0;
}

void
sg_cell_add(struct sg_cell *c, const struct sg_event *e)
{
	int i;

	c->n += e->sign;
	c->failed += e->failed ? e->sign : 0;
	if (e->time_ns > c->latest_ns)
		c->latest_ns = e->time_ns;
	for (i = 0; i < nhists(e->key.kind); i++)
		sg_hist_observe(&c->h[i], e->key.kind, e->lat_ns[i], e->sign);
}

void
sg_cell_merge(struct sg_cell *dst, const struct sg_cell *src, int kind)
{
	int i;

	dst->n += src->n;
	dst->failed += src->failed;
	if (src->latest_ns > dst->latest_ns)
		dst->latest_ns = src->latest_ns;
	for (i = 0; i < nhists(kind); i++)
		sg_hist_merge(&dst->h[i], &src->h[i], kind);
}

void
sg_cell_release(struct sg_cell *c)
{
	sg_hist_release(&c->h[0]);
	sg_hist_release(&c->h[1]);
}

static void
put_v(struct ob_buf *b, int64_t v)
{
	uint8_t tmp[OB_VARINT_MAX];

	ob_buf_add(b, tmp, ob_put_varint(tmp, v));
}

static void
put_u(struct ob_buf *b, uint64_t v)
{
	uint8_t tmp[OB_VARINT_MAX];

	ob_buf_add(b, tmp, ob_put_uvarint(tmp, v));
}

enum ob_err
sg_cell_encode(const struct sg_cell *c, int kind, struct ob_buf *out)
{
	int i, j;
	size_t k;

	for (i = 0; i < nhists(kind); i++) {
		const struct sg_hist *h = &c->h[i];
		int prev = 0;

		put_v(out, h->sum_ns);
		for (j = 0; j <= sg_nbuckets(kind); j++)
			put_v(out, h->coarse[j]);
		put_u(out, h->nfine);
		for (k = 0; k < h->nfine; k++) {
			put_u(out, (uint64_t)(h->fidx[k] - prev));
			put_v(out, h->fcnt[k]);
			prev = h->fidx[k];
		}
	}
	return OB_OK;
}

enum ob_err
sg_cell_decode(struct sg_cell *c, int kind, const uint8_t *p, size_t n)
{
	const uint8_t *end;
	int i, j;

	if (p == NULL)          /* SQLite's empty blob */
		p = (const uint8_t *)"", n = 0;
	end = p + n;
	for (i = 0; i < nhists(kind); i++) {
		struct sg_hist *h = &c->h[i];
		uint64_t nf, k, d;
		int64_t v;
		size_t used;
		int idx = 0;

		if (!(used = ob_get_varint(p, end, &h->sum_ns)))
			return OB_ECORRUPT;
		p += used;
		for (j = 0; j <= sg_nbuckets(kind); j++) {
			if (!(used = ob_get_varint(p, end, &h->coarse[j])))
				return OB_ECORRUPT;
			p += used;
		}
		if (!(used = ob_get_uvarint(p, end, &nf)) || nf > FINE_MAX)
			return OB_ECORRUPT;
		p += used;
		for (k = 0; k < nf; k++) {
			if (!(used = ob_get_uvarint(p, end, &d)) || d > FINE_MAX)
				return OB_ECORRUPT;
			p += used;
			if (!(used = ob_get_varint(p, end, &v)))
				return OB_ECORRUPT;
			p += used;
			idx += (int)d;
			if (idx >= FINE_MAX || (k && d == 0))
				return OB_ECORRUPT;
			fine_add(h, idx, v);
		}
	}
	return p == end ? OB_OK : OB_ECORRUPT;
}

/* ---- the aggregate of a seal: open addressing on (res, bucket, key) ---- */

struct sg_agg {
	struct sg_agg_entry *v;
	size_t n, cap;
	uint32_t *slots;                /* index + 1; 0 empty */
	size_t nslots;
	struct ob_arena strings;
};

struct sg_agg *
sg_agg_new(void)
{
	struct sg_agg *g = ob_xcalloc(1, sizeof *g);

	ob_arena_init(&g->strings, 0);
	return g;
}

void
sg_agg_free(struct sg_agg *g)
{
	size_t i;

	if (g == NULL)
		return;
	for (i = 0; i < g->n; i++)
		sg_cell_release(&g->v[i].cell);
	free(g->v);
	free(g->slots);
	ob_arena_release(&g->strings);
	free(g);
}

size_t
sg_agg_count(const struct sg_agg *g)
{
	return g->n;
}

struct sg_agg_entry *
sg_agg_entry(struct sg_agg *g, size_t i)
{
	return &g->v[i];
}

static uint64_t
mix(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return (h ^ 0xff) * 0x100000001b3ull;
}

uint64_t
sg_key_strings_hash(const struct sg_key *k)
{
	return mix(mix(mix(0xcbf29ce484222325ull, k->a), k->b), k->c);
}

/* The slot hash of (res, bucket, key) from the hash of the key's strings. */
static uint64_t
entry_hash(uint64_t res, uint64_t bucket, const struct sg_key *k, uint64_t strings)
{
	uint64_t h = strings ^ (res * 0xff51afd7ed558ccdull) ^ (bucket * 0x9e3779b97f4a7c15ull) ^
		     ((uint64_t)k->kind << 56) ^ ((uint64_t)(uint32_t)k->d << 24);

	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 29);
}

static bool
entry_is(const struct sg_agg_entry *e, uint64_t hash, uint64_t res, uint64_t bucket,
	 const struct sg_key *k)
{
	return e->hash == hash && e->res_ns == res && e->bucket_ns == bucket &&
	       e->key.kind == k->kind && e->key.d == k->d && strcmp(e->key.a, k->a) == 0 &&
	       strcmp(e->key.b, k->b) == 0 && strcmp(e->key.c, k->c) == 0;
}

static void
agg_rehash(struct sg_agg *g)
{
	size_t i;

	free(g->slots);
	g->nslots = g->nslots ? g->nslots * 2 : 64;
	g->slots = ob_xcalloc(g->nslots, sizeof *g->slots);
	for (i = 0; i < g->n; i++) {
		size_t s = g->v[i].hash & (g->nslots - 1);

		while (g->slots[s])
			s = (s + 1) & (g->nslots - 1);
		g->slots[s] = (uint32_t)(i + 1);
	}
}

static struct sg_cell *
agg_cell_h(struct sg_agg *g, uint64_t res, uint64_t bucket, const struct sg_key *k,
	   uint64_t strings)
{
	uint64_t hash = entry_hash(res, bucket, k, strings);
	struct sg_agg_entry *e;
	size_t s;

	if ((g->n + 1) * 2 > g->nslots)
		agg_rehash(g);
	s = hash & (g->nslots - 1);
	while (g->slots[s]) {
		e = &g->v[g->slots[s] - 1];
		if (entry_is(e, hash, res, bucket, k))
			return &e->cell;
		s = (s + 1) & (g->nslots - 1);
	}
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 32;
		g->v = ob_xrealloc(g->v, g->cap * sizeof *g->v);
	}
	e = &g->v[g->n];
	memset(e, 0, sizeof *e);
	e->res_ns = res;
	e->bucket_ns = bucket;
	e->hash = hash;
	e->strings_hash = strings;
	e->key.kind = k->kind;
	e->key.d = k->d;
	e->key.a = ob_arena_memdup(&g->strings, k->a, strlen(k->a) + 1);
	e->key.b = ob_arena_memdup(&g->strings, k->b, strlen(k->b) + 1);
	e->key.c = ob_arena_memdup(&g->strings, k->c, strlen(k->c) + 1);
	g->slots[s] = (uint32_t)++g->n;
	return &e->cell;
}

static struct sg_cell *
agg_cell(struct sg_agg *g, uint64_t res, uint64_t bucket, const struct sg_key *k)
{
	return agg_cell_h(g, res, bucket, k, sg_key_strings_hash(k));
}

void
sg_agg_add_hashed(struct sg_agg *g, const struct sg_event *e, uint64_t strings)
{
	sg_cell_add(agg_cell_h(g, SG_RES_MINUTE_NS, e->time_ns - e->time_ns % SG_RES_MINUTE_NS,
			       &e->key, strings), e);
}

void
sg_agg_add(struct sg_agg *g, const struct sg_event *e)
{
	sg_cell_add(agg_cell(g, SG_RES_MINUTE_NS, e->time_ns - e->time_ns % SG_RES_MINUTE_NS,
			     &e->key), e);
}

void
sg_agg_add_hours(struct sg_agg *g)
{
	size_t i, n = g->n;

	for (i = 0; i < n; i++) {
		struct sg_agg_entry *e = &g->v[i];
		struct sg_key k = e->key;
		uint64_t b = e->bucket_ns - e->bucket_ns % SG_RES_HOUR_NS;
		struct sg_cell *h;

		if (e->res_ns != SG_RES_MINUTE_NS)
			continue;
		h = agg_cell_h(g, SG_RES_HOUR_NS, b, &k, e->strings_hash);  /* may move g->v */
		sg_cell_merge(h, &g->v[i].cell, k.kind);
	}
}

void
sg_agg_merge(struct sg_agg *g, uint64_t res, uint64_t bucket, const struct sg_key *k,
	     const struct sg_cell *c)
{
	sg_cell_merge(agg_cell(g, res, bucket, k), c, k->kind);
}
