/*
 * otlp_metrics_exp.c - OTLP exponential histograms to Prometheus native
 * histograms (the spec's "Exponential Histograms" section).
 *
 *   OTLP                              native histogram
 *   scale (any)                       schema: scale, lowered to 8 when
 *                                     above (buckets merged pairwise per
 *                                     step), rejected below -4
 *   bucket i: (base^i, base^(i+1)]    bucket i+1: (base^i, base^(i+1)]
 *     (indexed by lower bound)          (indexed by upper bound)
 *   dense counts from offset          spans: empty buckets at the ends
 *                                     left out, runs of 2+ inside made
 *                                     gaps
 *   zero_threshold (0: not sent)      zero_threshold, or 1e-128
 *   count, sum (optional), zero_count count, sum (0 when not sent),
 *                                     zero_count; integer counts
 *   NO_RECORDED_VALUE                 count and sum the stale NaN
 *
 * A point whose buckets span more than OTLP_METRICS_MAX_BUCKETS after
 * lowering to 8 is lowered further (coarser buckets, still exact counts),
 * down to -4; past that it is rejected.
 */
#include <math.h>
#include <string.h>

#include "codec/otlp_metrics_int.h"

/* OTLP dense bucket arrays from the wire can be long; past this a point is refused. */
#define MAX_DENSE (1u << 20)

/* Bucket index i at a scale lower by d (d may pass 63 for absurd scales). */
static int64_t
down(int64_t i, int d)
{
	if (d >= 63)
		return i < 0 ? -1 : 0;
	return i >> d;      /* arithmetic shift: floor for negatives too */
}

/* counts[0..n) from offset, as doubles lowered by d scales, into the arena. */
static bool
lower(struct om *m, const uint64_t *counts, size_t n, int32_t offset, int d, double **out,
      size_t *nout, int32_t *oout)
{
	int64_t lo = down(offset, d), hi;

	if (n == 0) {
		*out = NULL;
		*nout = 0;
		*oout = 0;
		return true;
	}
	hi = down((int64_t)offset + (int64_t)n - 1, d);
	*nout = (size_t)(hi - lo + 1);
	if (!(*out = ob_arena_alloc(m->a, *nout * sizeof **out)))
		return om_full(m);
	memset(*out, 0, *nout * sizeof **out);
	for (size_t i = 0; i < n; i++)
		(*out)[down((int64_t)offset + (int64_t)i, d) - lo] += (double)counts[i];
	*oout = (int32_t)lo;
	return true;
}

static size_t
width(size_t n, int32_t offset, int d)
{
	return n ? (size_t)(down((int64_t)offset + (int64_t)n - 1, d) - down(offset, d) + 1) : 0;
}

/*
 * One side as spans of absolute counts: empty buckets at the ends are
 * left out, and a run of two or more empty buckets inside becomes a gap
 * between spans (what Prometheus's own OTLP translator does; a span costs
 * two varints, an empty bucket one).  Spans and counts go into the arena.
 */
static bool
side(struct om *m, const double *c, size_t n, int32_t offset, struct series_span **spans,
     size_t *nspans, double **out, size_t *nout)
{
	size_t first = 0, last = n, k = 0, ns = 0;
	struct series_span *sp;
	double *cnt;

	*spans = NULL;
	*nspans = 0;
	*out = NULL;
	*nout = 0;
	while (first < n && c[first] == 0)
		first++;
	while (last > first && c[last - 1] == 0)
		last--;
	if (first == last)
		return true;
	sp = ob_arena_alloc(m->a, ((last - first) / 3 + 1) * sizeof *sp);
	cnt = ob_arena_alloc(m->a, (last - first) * sizeof *cnt);
	if (!sp || !cnt)
		return om_full(m);
	/* OTLP indexes buckets by lower bound, Prometheus by upper: +1 */
	sp[0].offset = offset + (int32_t)first + 1;
	sp[0].length = 0;
	ns = 1;
	for (size_t i = first; i < last;) {
		size_t zeros = 0;

		while (i + zeros < last && c[i + zeros] == 0)
			zeros++;
		if (zeros >= 2) {
			/* c[last - 1] != 0, so a run of zeros always ends before last */
			sp[ns].offset = (int32_t)zeros;
			sp[ns].length = 0;
			ns++;
			i += zeros;
			continue;
		}
		for (size_t z = 0; z <= zeros && i < last; z++, i++) {
			cnt[k++] = c[i];
			sp[ns - 1].length++;
		}
	}
	*spans = sp;
	*nspans = ns;
	*out = cnt;
	*nout = k;
	return true;
}

static void
exp_point(struct om *m, const otlp_exp_histogram_point *p, const char *name, bool delta)
{
	const otlp_exp_buckets *pos = p->positive, *neg = p->negative;
	size_t npos = pos ? pos->n_bucket_counts : 0, nneg = neg ? neg->n_bucket_counts : 0;
	bool stale = no_recorded(p->flags);
	struct series_labels base;
	struct series_histogram *h;
	struct series_in *out;
	struct om_exp x = { 0 };
	int64_t ms;
	int d;

	if (p->scale < -4) {
		om_reject(m, 1, "an exponential histogram point has scale %d; native histograms "
			  "go down to -4", p->scale);
		return;
	}
	if (npos > MAX_DENSE || nneg > MAX_DENSE) {
		om_reject(m, 1, "an exponential histogram point has more than %u buckets", MAX_DENSE);
		return;
	}
	if (!om_point_time(m, p->time_unix_nano, &ms) ||
	    !om_base_labels(m, p->attributes, p->n_attributes, &base))
		return;
	/* the scale: 8 at most, lower still while the buckets span too wide */
	for (d = p->scale > 8 ? p->scale - 8 : 0; p->scale - d >= -4; d++)
		if (width(npos, pos ? pos->offset : 0, d) <= OTLP_METRICS_MAX_BUCKETS &&
		    width(nneg, neg ? neg->offset : 0, d) <= OTLP_METRICS_MAX_BUCKETS)
			break;
	if (p->scale - d < -4) {
		om_reject(m, 1, "an exponential histogram point's buckets span too wide a range");
		return;
	}
	x.scale = p->scale - d;
	x.count = (double)p->count;
	x.sum = p->_sum_case == OTLP_EXPHIST_SUM_SET ? p->sum : 0;
	x.zero_count = (double)p->zero_count;
	if (!lower(m, pos ? pos->bucket_counts : NULL, npos, pos ? pos->offset : 0, d, &x.pos,
		   &x.npos, &x.pos_offset) ||
	    !lower(m, neg ? neg->bucket_counts : NULL, nneg, neg ? neg->offset : 0, d, &x.neg,
		   &x.nneg, &x.neg_offset))
		return;
	if (delta && !stale) {
		enum om_delta r;

		if (!om_have_state(m))
			return;
		om_state_key(m, 'e', &base, name);
		r = om_state_add_exp(m->state, m->key.data, m->key.len, p->start_time_unix_nano,
				     p->time_unix_nano, &x, m->a);
		if (r == OM_DELTA_OLD || r == OM_DELTA_TOO_WIDE) {
			om_delta_refused(m, r);
			return;
		}
		if (m->a->over) {
			om_full(m);
			return;
		}
	}
	if (!(h = ob_arena_alloc(m->a, sizeof *h))) {
		om_full(m);
		return;
	}
	memset(h, 0, sizeof *h);
	h->t = ms;
	h->schema = x.scale;
	h->is_int = true;
	h->reset_hint = SERIES_RESET_UNKNOWN;
	h->zero_threshold = p->zero_threshold > 0 ? p->zero_threshold : 1e-128;
	h->zero_count = x.zero_count;
	h->count = stale ? series_stale_nan() : x.count;
	h->sum = stale ? series_stale_nan() : x.sum;
	if (!side(m, x.pos, x.npos, x.pos_offset, &h->pos_spans, &h->npos_spans, &h->pos, &h->npos) ||
	    !side(m, x.neg, x.nneg, x.neg_offset, &h->neg_spans, &h->nneg_spans, &h->neg, &h->nneg))
		return;
	out = om_emit(m, &base, name, NULL, NULL, ms, 0, h);
	if (out)
		om_exemplars(m, out, p->exemplars, p->n_exemplars, -INFINITY, INFINITY);
}

void
om_exp_histogram(struct om *m, const otlp_exp_histogram *eh)
{
	const char *unit;
	char *name;

	if (!m->metric->name[0]) {
		om_reject(m, eh->n_data_points, "a metric has no name");
		return;
	}
	if (!(name = om_metric_name(m->a, m->metric->name, m->metric->unit, OM_HISTOGRAM,
				    m->opt.type_suffixes, &unit))) {
		om_full(m);
		return;
	}
	if (!om_temporality_ok(m, eh->aggregation_temporality, eh->n_data_points))
		return;
	om_meta(m, name, SERIES_TYPE_HISTOGRAM, unit);
	for (size_t i = 0; i < eh->n_data_points && !m->err; i++)
		exp_point(m, eh->data_points[i], name,
			  eh->aggregation_temporality == OTLP_TEMPORALITY(DELTA));
}
