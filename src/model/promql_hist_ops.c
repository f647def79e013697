/*
 * promql_hist_ops.c - arithmetic on native histograms: the sum of sum(),
 * the difference and counter-reset handling of rate/increase/delta, and
 * scaling.
 *
 * A histogram is expanded into sorted (bucket index, count) lists for its
 * positive and negative buckets, at a chosen schema: going down from
 * schema s to t merges buckets, index i becoming ((i - 1) >> (s - t)) + 1,
 * as Prometheus does.  Two histograms combine at the lower of their
 * schemas by merging the lists; the result is packed back into spans
 * without its empty buckets (Prometheus's Compact(0)).  Histograms whose
 * zero buckets differ in width are not combined: OB_EUNSUPPORTED says so
 * rather than answer differently from Prometheus.
 */
#include <math.h>
#include <string.h>

#include "model/promql_ast.h"

struct hbucket {
	int32_t idx;
	double c;
};

struct fhist {
	int32_t schema;
	double zt, zc, count, sum;
	struct hbucket *pos, *neg;
	size_t npos, nneg;
};

static size_t
expand_side(struct pq_eval *ev, const struct series_span *spans, size_t nspans,
	    const double *counts, size_t ncounts, int32_t from, int32_t to, struct hbucket **out)
{
	struct hbucket *b = pq_alloc(ev, (ncounts ? ncounts : 1) * sizeof *b);
	size_t n = 0, k = 0;
	int32_t idx = 0, delta = from - to;

	for (size_t i = 0; i < nspans; i++) {
		idx += spans[i].offset;
		for (uint32_t j = 0; j < spans[i].length && k < ncounts; j++, idx++, k++) {
			int32_t t = delta > 0 ? ((idx - 1) >> delta) + 1 : idx;

			if (n && b[n - 1].idx == t)
				b[n - 1].c += counts[k];
			else
				b[n++] = (struct hbucket){ t, counts[k] };
		}
	}
	*out = b;
	return n;
}

static void
expand(struct pq_eval *ev, const struct series_histogram *h, int32_t schema, struct fhist *f)
{
	f->schema = schema;
	f->zt = h->zero_threshold;
	f->zc = h->zero_count;
	f->count = h->count;
	f->sum = h->sum;
	f->npos = expand_side(ev, h->pos_spans, h->npos_spans, h->pos, h->npos, h->schema, schema,
			      &f->pos);
	f->nneg = expand_side(ev, h->neg_spans, h->nneg_spans, h->neg, h->nneg, h->schema, schema,
			      &f->neg);
}

/* out = a + sign * b, merged by index */
static size_t
merge(struct pq_eval *ev, const struct hbucket *a, size_t na, const struct hbucket *b, size_t nb,
      double sign, struct hbucket **out)
{
	struct hbucket *o = pq_alloc(ev, (na + nb ? na + nb : 1) * sizeof *o);
	size_t i = 0, j = 0, n = 0;

	while (i < na || j < nb) {
		if (j == nb || (i < na && a[i].idx < b[j].idx))
			o[n++] = a[i++];
		else if (i == na || b[j].idx < a[i].idx)
			o[n++] = (struct hbucket){ b[j].idx, sign * b[j].c }, j++;
		else
			o[n++] = (struct hbucket){ a[i].idx, a[i].c + sign * b[j].c }, i++, j++;
	}
	*out = o;
	return n;
}

static enum ob_err
combine(struct pq_eval *ev, struct fhist *acc, const struct series_histogram *h, double sign)
{
	struct fhist x;

	if (h->schema < -4 || h->schema > 8)
		return ob_errf(ev->errbuf, OB_EUNSUPPORTED, "not implemented: native histograms "
			       "with custom buckets (schema %d)", h->schema);
	if (h->zero_threshold != acc->zt)
		return ob_errf(ev->errbuf, OB_EUNSUPPORTED, "not implemented: combining native "
			       "histograms with different zero thresholds");
	if (h->schema < acc->schema) {
		/* bring the accumulator down to h's schema */
		struct fhist y = *acc;
		struct hbucket *p;
		size_t n, k;
		int32_t delta = acc->schema - h->schema;

		for (int side = 0; side < 2; side++) {
			struct hbucket *src = side ? y.neg : y.pos;
			size_t ns = side ? y.nneg : y.npos;

			p = pq_alloc(ev, (ns ? ns : 1) * sizeof *p);
			for (k = 0, n = 0; k < ns; k++) {
				int32_t t = ((src[k].idx - 1) >> delta) + 1;

				if (n && p[n - 1].idx == t)
					p[n - 1].c += src[k].c;
				else
					p[n++] = (struct hbucket){ t, src[k].c };
			}
			if (side)
				acc->neg = p, acc->nneg = n;
			else
				acc->pos = p, acc->npos = n;
		}
		acc->schema = h->schema;
	}
	expand(ev, h, acc->schema, &x);
	acc->npos = merge(ev, acc->pos, acc->npos, x.pos, x.npos, sign, &acc->pos);
	acc->nneg = merge(ev, acc->neg, acc->nneg, x.neg, x.nneg, sign, &acc->neg);
	acc->zc += sign * x.zc;
	acc->count += sign * x.count;
	acc->sum += sign * x.sum;
	return OB_OK;
}

static size_t
pack_side(struct pq_eval *ev, const struct hbucket *b, size_t n, struct series_span **spans,
	  size_t *nspans, double **counts)
{
	struct series_span *s = pq_alloc(ev, (n ? n : 1) * sizeof *s);
	double *c = pq_alloc(ev, (n ? n : 1) * sizeof *c);
	size_t ns = 0, nc = 0;
	int32_t next = 0;

	for (size_t i = 0; i < n; i++) {
		if (b[i].c == 0)
			continue;
		if (ns && b[i].idx == next) {
			s[ns - 1].length++;
		} else {
			s[ns].offset = ns ? b[i].idx - next : b[i].idx;
			s[ns++].length = 1;
		}
		c[nc++] = b[i].c;
		next = b[i].idx + 1;
	}
	*spans = s;
	*nspans = ns;
	*counts = c;
	return nc;
}

static struct series_histogram *
pack(struct pq_eval *ev, const struct fhist *f)
{
	struct series_histogram *h = pq_alloc(ev, sizeof *h);

	h->schema = f->schema;
	h->zero_threshold = f->zt;
	h->zero_count = f->zc;
	h->count = f->count;
	h->sum = f->sum;
	h->npos = pack_side(ev, f->pos, f->npos, &h->pos_spans, &h->npos_spans, &h->pos);
	h->nneg = pack_side(ev, f->neg, f->nneg, &h->neg_spans, &h->nneg_spans, &h->neg);
	return h;
}

static void
start(struct pq_eval *ev, const struct series_histogram *h, int32_t schema, struct fhist *f)
{
	expand(ev, h, schema, f);
}

/* Did cur reset against prev (Prometheus's DetectReset, bucket by bucket)? */
static bool
detect_reset(struct pq_eval *ev, const struct series_histogram *cur,
	     const struct series_histogram *prev)
{
	struct fhist c, p;

	if (cur->reset_hint == SERIES_RESET_YES)
		return true;
	if (cur->reset_hint == SERIES_RESET_NO)
		return false;
	if (cur->count < prev->count || cur->schema > prev->schema ||
	    cur->zero_threshold != prev->zero_threshold || cur->zero_count < prev->zero_count)
		return true;
	expand(ev, cur, cur->schema, &c);
	expand(ev, prev, cur->schema, &p);
	for (int side = 0; side < 2; side++) {
		const struct hbucket *a = side ? c.neg : c.pos, *b = side ? p.neg : p.pos;
		size_t na = side ? c.nneg : c.npos, nb = side ? p.nneg : p.npos, i = 0;

		for (size_t j = 0; j < nb; j++) {
			while (i < na && a[i].idx < b[j].idx)
				i++;
			if (b[j].c == 0)
				continue;
			if (i == na || a[i].idx != b[j].idx || a[i].c < b[j].c)
				return true;
		}
	}
	return false;
}

enum ob_err
pq_hist_rate(struct pq_eval *ev, const struct series_histogram *h, size_t n, bool counter,
	     struct series_histogram **out)
{
	int32_t schema = h[0].schema < h[n - 1].schema ? h[0].schema : h[n - 1].schema;
	struct fhist acc;
	enum ob_err err;

	if (counter)
		for (size_t i = 1; i + 1 < n; i++)
			if (h[i].schema < schema)
				schema = h[i].schema;
	start(ev, &h[n - 1], schema, &acc);
	if ((err = combine(ev, &acc, &h[0], -1)))
		return err;
	if (counter)
		for (size_t i = 1; i < n; i++)
			if (detect_reset(ev, &h[i], &h[i - 1]) &&
			    (err = combine(ev, &acc, &h[i - 1], 1)))
				return err;
	*out = pack(ev, &acc);
	return OB_OK;
}

void
pq_hist_scale(struct series_histogram *h, double factor)
{
	h->count *= factor;
	h->sum *= factor;
	h->zero_count *= factor;
	for (size_t i = 0; i < h->npos; i++)
		h->pos[i] *= factor;
	for (size_t i = 0; i < h->nneg; i++)
		h->neg[i] *= factor;
}

enum ob_err
pq_hist_sum(struct pq_eval *ev, const struct series_histogram *const *h, size_t n,
	    struct series_histogram **out)
{
	struct fhist acc;
	enum ob_err err;

	start(ev, h[0], h[0]->schema, &acc);
	for (size_t i = 1; i < n; i++)
		if ((err = combine(ev, &acc, h[i], 1)))
			return err;
	*out = pack(ev, &acc);
	return OB_OK;
}
