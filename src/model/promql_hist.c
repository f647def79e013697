/*
 * promql_hist.c - histogram_quantile over classic "le" buckets and native
 * histograms, and the bucket arithmetic of histogram_fraction.
 *
 * Classic buckets are grouped by their labels without "le" (the metric
 * name included, so buckets of two metrics never mix); the group's answer
 * carries its labels without __name__ and le.  As in Prometheus 2.42 the
 * buckets are sorted by bound, buckets with the same bound merged, counts
 * made monotonic, and the quantile interpolated linearly inside its
 * bucket; no +Inf bucket gives NaN.  A native histogram is read bucket by
 * bucket from the most negative up (negative buckets, the zero bucket,
 * positive buckets), with the same interpolation.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/promql_ast.h"

struct bucket {
	double upper, count;
};

static int
cmp_bucket(const void *a, const void *b)
{
	double x = ((const struct bucket *)a)->upper, y = ((const struct bucket *)b)->upper;

	return x < y ? -1 : x > y;
}

static double
bucket_quantile(double q, struct bucket *b, size_t n)
{
	size_t i, k, lo, hi;
	double max, observations, rank, start = 0, end, count;

	if (isnan(q))
		return NAN;
	if (q < 0)
		return -INFINITY;
	if (q > 1)
		return INFINITY;
	qsort(b, n, sizeof *b, cmp_bucket);
	if (!isinf(b[n - 1].upper) || b[n - 1].upper < 0)
		return NAN;
	for (i = 1, k = 0; i < n; i++) {        /* coalesce equal bounds */
		if (b[i].upper == b[k].upper)
			b[k].count += b[i].count;
		else
			b[++k] = b[i];
	}
	n = k + 1;
	max = b[0].count;
	for (i = 1; i < n; i++) {
		if (b[i].count > max)
			max = b[i].count;
		else if (b[i].count < max)
			b[i].count = max;
	}
	if (n < 2)
		return NAN;
	observations = b[n - 1].count;
	if (observations == 0)
		return NAN;
	rank = q * observations;
	/* sort.Search over the first n-1 buckets for count >= rank */
	lo = 0, hi = n - 1;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (b[mid].count >= rank)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (lo == n - 1)
		return b[n - 2].upper;
	if (lo == 0 && b[0].upper <= 0)
		return b[0].upper;
	end = b[lo].upper;
	count = b[lo].count;
	if (lo > 0) {
		start = b[lo - 1].upper;
		count -= b[lo - 1].count;
		rank -= b[lo - 1].count;
	}
	return start + (end - start) * (rank / count);
}

double
pq_bucket_quantile(double q, double *le, double *count, size_t n)
{
	struct bucket *b = malloc((n ? n : 1) * sizeof *b);
	double v;

	for (size_t i = 0; i < n; i++)
		b[i] = (struct bucket){ le[i], count[i] };
	v = n ? bucket_quantile(q, b, n) : NAN;
	free(b);
	return v;
}

/* --- native histograms --- */

struct nbucket {
	double lower, upper, count;
};

/* All buckets of h from the lowest up; *n of them, in a malloc'd array. */
static struct nbucket *
all_buckets(const struct series_histogram *h, size_t *n)
{
	struct nbucket *b = malloc((h->npos + h->nneg + 1) * sizeof *b);
	size_t k = 0, i, j, bi;
	int32_t idx;

	/* negative buckets, most negative (highest index) first */
	{
		size_t m = 0;
		struct nbucket *neg = malloc((h->nneg + 1) * sizeof *neg);

		for (i = 0, bi = 0, idx = 0; i < h->nneg_spans; i++) {
			idx += h->neg_spans[i].offset;
			for (j = 0; j < h->neg_spans[i].length && bi < h->nneg; j++, idx++, bi++) {
				double up = -series_hist_bound(idx - 1, h->schema), lo = -series_hist_bound(idx, h->schema);

				if (up > -h->zero_threshold)
					up = -h->zero_threshold;
				neg[m++] = (struct nbucket){ lo, up, h->neg[bi] };
			}
		}
		while (m > 0)
			b[k++] = neg[--m];
		free(neg);
	}
	if (h->zero_count > 0)
		b[k++] = (struct nbucket){ -h->zero_threshold, h->zero_threshold, h->zero_count };
	for (i = 0, bi = 0, idx = 0; i < h->npos_spans; i++) {
		idx += h->pos_spans[i].offset;
		for (j = 0; j < h->pos_spans[i].length && bi < h->npos; j++, idx++, bi++) {
			double lo = series_hist_bound(idx - 1, h->schema), up = series_hist_bound(idx, h->schema);

			if (lo < h->zero_threshold)
				lo = h->zero_threshold;
			b[k++] = (struct nbucket){ lo, up, h->pos[bi] };
		}
	}
	*n = k;
	return b;
}

static void
clamp_zero_crossing(const struct series_histogram *h, struct nbucket *b)
{
	if (b->lower < 0 && b->upper > 0) {
		if (h->nneg == 0 && h->npos > 0)
			b->lower = 0;
		else if (h->npos == 0 && h->nneg > 0)
			b->upper = 0;
	}
}

double
pq_hist_quantile(double q, const struct series_histogram *h)
{
	struct nbucket *b, cur = { 0 };
	size_t n, i;
	double count = 0, rank, v;

	if (q < 0)
		return -INFINITY;
	if (q > 1)
		return INFINITY;
	if (h->count == 0 || isnan(q))
		return NAN;
	b = all_buckets(h, &n);
	rank = q * h->count;
	for (i = 0; i < n; i++) {
		cur = b[i];
		count += cur.count;
		if (count >= rank)
			break;
	}
	free(b);
	clamp_zero_crossing(h, &cur);
	if (count > h->count)
		count = h->count;
	if (count < rank)
		return cur.upper;
	rank -= count - cur.count;
	v = cur.lower + (cur.upper - cur.lower) * (rank / cur.count);
	return v;
}

double
pq_hist_fraction(double lower, double upper, const struct series_histogram *h)
{
	double rank = 0, lrank = 0, urank = 0;
	bool lset = false, uset = false;
	struct nbucket *b;
	size_t n, i;

	if (h->count == 0 || isnan(lower) || isnan(upper))
		return NAN;
	if (lower >= upper)
		return 0;
	b = all_buckets(h, &n);
	for (i = 0; i < n; i++) {
		struct nbucket x = b[i];

		clamp_zero_crossing(h, &x);
		if (!lset && x.lower >= lower) {
			lrank = rank;
			lset = true;
		}
		if (!uset && x.lower >= upper) {
			urank = rank;
			uset = true;
		}
		if (lset && uset)
			break;
		if (!lset && x.lower < lower && x.upper > lower) {
			lrank = rank + x.count * (lower - x.lower) / (x.upper - x.lower);
			lset = true;
		}
		if (!uset && x.lower < upper && x.upper > upper) {
			urank = rank + x.count * (upper - x.lower) / (x.upper - x.lower);
			uset = true;
		}
		if (lset && uset)
			break;
		rank += x.count;
	}
	free(b);
	if (!lset || lrank > h->count)
		lrank = h->count;
	if (!uset || urank > h->count)
		urank = h->count;
	return (urank - lrank) / h->count;
}

/* --- histogram_quantile(q, v) at one step --- */

struct qgroup {
	uint64_t key;
	const struct series_labels *labels;
	struct bucket *b;
	size_t n, cap;
};

static uint64_t
hash_without_le(const struct series_labels *l)
{
	static const char *const le[] = { "le" };
	struct series_labels tmp;
	struct series_label v[64];
	uint64_t h;

	if (l->n > 64)
		return pq_labels_sig(l, le, 1, false) ^ pq_labels_sig(l, (const char *const[]){
			"__name__" }, 1, true);
	tmp.v = v;
	tmp.n = 0;
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, "le"))
			v[tmp.n++] = l->v[i];
	h = pq_labels_hash(&tmp);
	return h;
}

enum ob_err
pq_fn_histogram_quantile(struct pq_eval *ev, void *ctx, struct pq_vector *a, int64_t ts,
			 struct pq_vector *out)
{
	static const char *const drop[] = { "__name__", "le" };
	double q = a[0].s[0].v;
	struct pq_vector *v = &a[1];
	struct qgroup *groups = pq_alloc(ev, (v->n ? v->n : 1) * sizeof *groups);
	size_t ngroups = 0, i;
	struct pq_map map;

	pq_map_init(ev, &map, v->n);
	for (i = 0; i < v->n; i++) {
		const struct pq_sample *s = &v->s[i];
		const char *le;
		char *end;
		double upper;
		uint64_t key;
		long gi;
		struct qgroup *g;

		if (s->h)
			continue;
		if ((le = series_label_get(s->labels, "le")) == NULL)
			continue;
		upper = strtod(le, &end);
		if (end == le || *end)
			continue;
		key = hash_without_le(s->labels);
		gi = pq_map_get(ev, &map, key, false, 0);
		if (gi < 0) {
			gi = (long)ngroups++;
			pq_map_get(ev, &map, key, true, (uint32_t)gi);
			groups[gi].key = key;
			groups[gi].labels = pq_labels_filter(ev, s->labels, drop, 2, false);
		}
		g = &groups[gi];
		if (g->n == g->cap) {
			size_t cap = g->cap ? 2 * g->cap : 16;
			struct bucket *nb = pq_alloc(ev, cap * sizeof *nb);

			if (g->n)
				memcpy(nb, g->b, g->n * sizeof *nb);
			g->b = nb;
			g->cap = cap;
		}
		g->b[g->n++] = (struct bucket){ upper, s->v };
	}
	for (i = 0; i < v->n; i++) {
		const struct pq_sample *s = &v->s[i];
		long gi;

		if (s->h == NULL)
			continue;
		gi = pq_map_get(ev, &map, pq_labels_hash(s->labels), false, 0);
		if (gi >= 0 && groups[gi].n > 0) {
			groups[gi].n = 0;       /* a clash: neither answers */
			continue;
		}
		pq_vec_push(ev, out, pq_labels_drop_name(ev, s->labels),
			    pq_hist_quantile(q, s->h), NULL);
	}
	for (i = 0; i < ngroups; i++)
		if (groups[i].n > 0)
			pq_vec_push(ev, out, groups[i].labels,
				    bucket_quantile(q, groups[i].b, groups[i].n), NULL);
	return OB_OK;
}
