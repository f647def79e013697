/*
 * promql_func_range.c - functions of a range vector: rate, increase,
 * delta (with Prometheus's extrapolation), irate, idelta, deriv,
 * predict_linear, resets, changes, holt_winters, every *_over_time, and
 * absent_over_time.
 *
 * As in Prometheus, one series is processed at a time and, for it, every
 * step: the window of step t is [t - offset - range, t - offset] (the @
 * time replaces t), found with two cursors that only move forward.  The
 * argument is a matrix selector (read once for all steps) or a subquery
 * (evaluated once over all steps).  The metric name is dropped except by
 * last_over_time.  Sums use Kahan compensation where Prometheus 2.42
 * does (sum_over_time, avg_over_time, stddev/stdvar_over_time, deriv).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/promql_ast.h"

struct window {
	const struct series_sample *f;
	size_t nf;
	const struct series_histogram *h;
	size_t nh;
	int64_t start, end;             /* the range's bounds */
	int64_t range;
};

static void
kahan_inc(double inc, double *sum, double *c)
{
	double t = *sum + inc;

	if (fabs(*sum) >= fabs(inc))
		*c += (*sum - t) + inc;
	else
		*c += (inc - t) + *sum;
	*sum = t;
}

static bool
extrapolated_rate(const struct window *w, bool counter, bool rate, double *out)
{
	const struct series_sample *s = w->f;
	size_t n = w->nf, i;
	double result, prev, to_start, to_end, sampled, avg, threshold, interval, factor;

	if (n < 2)
		return false;
	result = s[n - 1].v - s[0].v;
	prev = s[0].v;
	if (counter)
		for (i = 1; i < n; i++) {
			if (s[i].v < prev)
				result += prev;
			prev = s[i].v;
		}
	to_start = (double)(s[0].t - w->start) / 1000;
	to_end = (double)(w->end - s[n - 1].t) / 1000;
	sampled = (double)(s[n - 1].t - s[0].t) / 1000;
	avg = sampled / (double)(n - 1);
	if (counter && result > 0 && s[0].v >= 0) {
		double to_zero = sampled * (s[0].v / result);

		if (to_zero < to_start)
			to_start = to_zero;
	}
	threshold = avg * 1.1;
	interval = sampled;
	interval += to_start < threshold ? to_start : avg / 2;
	interval += to_end < threshold ? to_end : avg / 2;
	factor = interval / sampled;
	if (rate)
		factor /= (double)w->range / 1000;
	*out = result * factor;
	return true;
}

/* extrapolatedRate for native histograms: no zero-point clamp, as in 2.42 */
static enum ob_err
histogram_rate(struct pq_eval *ev, const struct window *w, bool counter, bool rate,
	       const struct series_histogram **out)
{
	const struct series_histogram *s = w->h;
	size_t n = w->nh;
	double to_start, to_end, sampled, avg, threshold, interval, factor;
	struct series_histogram *res;
	enum ob_err err;

	if (n < 2)
		return OB_ENOTFOUND;
	if ((err = pq_hist_rate(ev, s, n, counter, &res)))
		return err;
	to_start = (double)(s[0].t - w->start) / 1000;
	to_end = (double)(w->end - s[n - 1].t) / 1000;
	sampled = (double)(s[n - 1].t - s[0].t) / 1000;
	avg = sampled / (double)(n - 1);
	threshold = avg * 1.1;
	interval = sampled;
	interval += to_start < threshold ? to_start : avg / 2;
	interval += to_end < threshold ? to_end : avg / 2;
	factor = interval / sampled;
	if (rate)
		factor /= (double)w->range / 1000;
	pq_hist_scale(res, factor);
	*out = res;
	return OB_OK;
}

static void
linear_regression(const struct series_sample *s, size_t n, int64_t intercept_time,
		  double *slope, double *intercept)
{
	double sx = 0, cx = 0, sy = 0, cy = 0, sxy = 0, cxy = 0, sx2 = 0, cx2 = 0, cnt = 0;
	double init = s[0].v, cov, var;
	bool const_y = true;

	for (size_t i = 0; i < n; i++) {
		double x = (double)(s[i].t - intercept_time) / 1e3;

		if (const_y && i > 0 && s[i].v != init)
			const_y = false;
		cnt += 1;
		kahan_inc(x, &sx, &cx);
		kahan_inc(s[i].v, &sy, &cy);
		kahan_inc(x * s[i].v, &sxy, &cxy);
		kahan_inc(x * x, &sx2, &cx2);
	}
	if (const_y) {
		if (isinf(init)) {
			*slope = *intercept = NAN;
			return;
		}
		*slope = 0;
		*intercept = init;
		return;
	}
	sx += cx, sy += cy, sxy += cxy, sx2 += cx2;
	cov = sxy - sx * sy / cnt;
	var = sx2 - sx * sx / cnt;
	*slope = cov / var;
	*intercept = sy / cnt - *slope * sx / cnt;
}

static double
holt_winters(const struct series_sample *s, size_t n, double sf, double tf)
{
	double s0 = 0, s1 = s[0].v, b = s[1].v - s[0].v, x, y;

	for (size_t i = 1; i < n; i++) {
		x = sf * s[i].v;
		if (i - 1 > 0)
			b = tf * (s1 - s0) + (1 - tf) * b;
		y = (1 - sf) * (s1 + b);
		s0 = s1;
		s1 = x + y;
	}
	return s1;
}

/*
 * One function on one window: a float (*v) or a histogram (*h) result,
 * or false for no result.
 */
static enum ob_err
apply(struct pq_eval *ev, enum pq_fn fn, const struct window *w, const double *params,
      int64_t ts, double *v, const struct series_histogram **h)
{
	const struct series_sample *s = w->f;
	size_t n = w->nf, i;
	double sum = 0, c = 0;

	*h = NULL;
	switch (fn) {
	case PQ_FN_COUNT_OVER_TIME:
		*v = (double)(n + w->nh);
		return OB_OK;
	case PQ_FN_PRESENT_OVER_TIME: case PQ_FN_ABSENT_OVER_TIME:
		*v = 1;
		return OB_OK;
	case PQ_FN_LAST_OVER_TIME:
		if (w->nh && (n == 0 || w->h[w->nh - 1].t > s[n - 1].t))
			*h = &w->h[w->nh - 1];
		else
			*v = s[n - 1].v;
		return OB_OK;
	default:
		break;
	}
	if (w->nh) {
		if (fn == PQ_FN_RATE || fn == PQ_FN_INCREASE || fn == PQ_FN_DELTA) {
			if (n)
				return OB_ENOTFOUND;    /* a mix of floats and histograms: no result */
			return histogram_rate(ev, w, fn != PQ_FN_DELTA, fn == PQ_FN_RATE, h);
		}
		return ob_errf(ev->errbuf, OB_EUNSUPPORTED, "not implemented: native histograms "
			       "in range functions other than count_over_time, last_over_time and "
			       "present_over_time");
	}
	switch (fn) {
	case PQ_FN_RATE: case PQ_FN_INCREASE: case PQ_FN_DELTA:
		return extrapolated_rate(w, fn != PQ_FN_DELTA, fn == PQ_FN_RATE, v) ? OB_OK :
		       OB_ENOTFOUND;
	case PQ_FN_IRATE: case PQ_FN_IDELTA: {
		const struct series_sample *last, *prev;

		if (n < 2)
			return OB_ENOTFOUND;
		last = &s[n - 1], prev = &s[n - 2];
		*v = fn == PQ_FN_IRATE && last->v < prev->v ? last->v : last->v - prev->v;
		if (last->t == prev->t)
			return OB_ENOTFOUND;
		if (fn == PQ_FN_IRATE)
			*v /= (double)(last->t - prev->t) / 1000;
		return OB_OK;
	}
	case PQ_FN_DERIV: {
		double intercept;

		if (n < 2)
			return OB_ENOTFOUND;
		linear_regression(s, n, s[0].t, v, &intercept);
		return OB_OK;
	}
	case PQ_FN_PREDICT_LINEAR: {
		double slope, intercept;

		if (n < 2)
			return OB_ENOTFOUND;
		linear_regression(s, n, ts, &slope, &intercept);
		*v = slope * params[1] + intercept;
		return OB_OK;
	}
	case PQ_FN_RESETS: case PQ_FN_CHANGES: {
		size_t k = 0;

		for (i = 1; i < n; i++) {
			if (fn == PQ_FN_RESETS ? s[i].v < s[i - 1].v :
			    s[i].v != s[i - 1].v && !(isnan(s[i].v) && isnan(s[i - 1].v)))
				k++;
		}
		*v = (double)k;
		return OB_OK;
	}
	case PQ_FN_HOLT_WINTERS: {
		double sf = params[1], tf = params[2];

		if (sf <= 0 || sf >= 1)
			return ob_errf(ev->errbuf, OB_EINVAL, "invalid smoothing factor. Expected: "
				       "0 < sf < 1, got: %f", sf);
		if (tf <= 0 || tf >= 1)
			return ob_errf(ev->errbuf, OB_EINVAL, "invalid trend factor. Expected: "
				       "0 < tf < 1, got: %f", tf);
		if (n < 2)
			return OB_ENOTFOUND;
		*v = holt_winters(s, n, sf, tf);
		return OB_OK;
	}
	case PQ_FN_SUM_OVER_TIME:
		for (i = 0; i < n; i++)
			kahan_inc(s[i].v, &sum, &c);
		*v = isinf(sum) ? sum : sum + c;
		return OB_OK;
	case PQ_FN_AVG_OVER_TIME: {
		double mean = 0, count = 0;

		for (i = 0; i < n; i++) {
			count++;
			if (isinf(mean)) {
				if (isinf(s[i].v) && (mean > 0) == (s[i].v > 0))
					continue;
				if (!isinf(s[i].v) && !isnan(s[i].v))
					continue;
			}
			kahan_inc(s[i].v / count - mean / count, &mean, &c);
		}
		*v = isinf(mean) ? mean : mean + c;
		return OB_OK;
	}
	case PQ_FN_MIN_OVER_TIME: case PQ_FN_MAX_OVER_TIME: {
		double m = s[0].v;

		for (i = 0; i < n; i++)
			if ((fn == PQ_FN_MAX_OVER_TIME ? s[i].v > m : s[i].v < m) || isnan(m))
				m = s[i].v;
		*v = m;
		return OB_OK;
	}
	case PQ_FN_STDDEV_OVER_TIME: case PQ_FN_STDVAR_OVER_TIME: {
		double count = 0, mean = 0, cmean = 0, aux = 0, caux = 0;

		for (i = 0; i < n; i++) {
			double delta;

			count++;
			delta = s[i].v - (mean + cmean);
			kahan_inc(delta / count, &mean, &cmean);
			kahan_inc(delta * (s[i].v - (mean + cmean)), &aux, &caux);
		}
		*v = (aux + caux) / count;
		if (fn == PQ_FN_STDDEV_OVER_TIME)
			*v = sqrt(*v);
		return OB_OK;
	}
	case PQ_FN_QUANTILE_OVER_TIME: {
		double *vals = pq_alloc(ev, n * sizeof *vals);

		for (i = 0; i < n; i++)
			vals[i] = s[i].v;
		*v = pq_quantile(params[0], vals, n);
		return OB_OK;
	}
	default:
		return ob_errf(ev->errbuf, OB_EINTERNAL, "%s is not a range function",
			       "function");
	}
}

static enum ob_err
absent_over_time(struct pq_eval *ev, const struct promql_expr *e, size_t argi,
		 const struct pq_matrix *found, struct pq_matrix *out)
{
	size_t nsteps = pq_nsteps(ev), k, i, nf = 0;
	bool *seen = pq_alloc(ev, nsteps);
	struct series_data *s;

	for (i = 0; i < found->n; i++)
		for (size_t j = 0; j < found->s[i].nf; j++) {
			size_t step = (size_t)((found->s[i].f[j].t - ev->start) / ev->interval);

			if (step < nsteps && !seen[step]) {
				seen[step] = true;
				nf++;
			}
		}
	out->n = 0;
	if (nf == nsteps)
		return OB_OK;
	s = out->s = pq_alloc(ev, sizeof *s);
	out->n = 1;
	{
		const struct promql_expr *arg = e->args[argi];

		while (arg->kind == PQ_PAREN)
			arg = arg->expr;
		s->labels = *pq_absent_labels(ev, arg);
	}
	s->f = pq_alloc(ev, (nsteps - nf) * sizeof *s->f);
	for (k = 0; k < nsteps; k++)
		if (!seen[k]) {
			s->f[s->nf].t = ev->start + (int64_t)k * ev->interval;
			s->f[s->nf++].v = 1;
		}
	return OB_OK;
}

enum ob_err
pq_eval_range_call(struct pq_eval *ev, const struct promql_expr *e, size_t argi,
		   struct pq_matrix *out)
{
	enum pq_fn fn = e->func->id;
	size_t nsteps = pq_nsteps(ev), i, k, nout = 0;
	struct pq_matrix *other = pq_alloc(ev, e->nargs * sizeof *other);
	double params[4] = { 0 };
	struct pq_range_arg ra;
	struct pq_map seen;
	enum ob_err err;

	for (i = 0; i < e->nargs; i++)
		if (i != argi && (err = pq_eval_node(ev, e->args[i], &other[i])))
			return err;
	if ((err = pq_range_arg_load(ev, e->args[argi], &ra)))
		return err;
	out->s = pq_alloc(ev, (ra.m.n ? ra.m.n : 1) * sizeof *out->s);
	pq_map_init(ev, &seen, ra.m.n);
	for (i = 0; i < ra.m.n; i++) {
		const struct series_data *s = &ra.m.s[i];
		struct series_data *o = &out->s[nout];
		size_t f0 = 0, f1 = 0, h0 = 0, h1 = 0;
		int64_t ts;

		if ((err = pq_check_time(ev)))
			return err;
		o->labels = fn == PQ_FN_LAST_OVER_TIME ? s->labels :
			    *pq_labels_drop_name(ev, &s->labels);
		for (k = 0, ts = ev->start; k < nsteps; k++, ts += ev->interval) {
			int64_t maxt = pq_ref_time(ev, ra.at, ra.at_ms, ts) - ra.offset;
			int64_t mint = maxt - ra.range;
			struct window w;
			const struct series_histogram *h;
			double v = 0;

			/* with @ the window stays put and so do the cursors */
			while (f1 < s->nf && s->f[f1].t <= maxt)
				f1++;
			while (f0 < f1 && s->f[f0].t < mint)
				f0++;
			while (h1 < s->nh && s->h[h1].t <= maxt)
				h1++;
			while (h0 < h1 && s->h[h0].t < mint)
				h0++;
			if (f0 == f1 && h0 == h1)
				continue;
			/* an empty array may be NULL: no arithmetic on it */
			w = (struct window){ s->f ? s->f + f0 : NULL, f1 - f0,
					     s->h ? s->h + h0 : NULL, h1 - h0, mint, maxt, ra.range };
			for (size_t j = 0; j < e->nargs && j < 4; j++)
				if (j != argi && other[j].n)
					params[j] = other[j].s[0].f[k].v;
			if ((err = pq_add_samples(ev, w.nf + w.nh)))
				return err;
			ev->samples -= w.nf + w.nh;
			err = apply(ev, fn, &w, params, ts, &v, &h);
			if (err == OB_ENOTFOUND)
				continue;
			if (err)
				return err;
			if (h) {
				struct series_histogram *c;

				if (o->h == NULL)
					o->h = pq_alloc(ev, nsteps * sizeof *o->h);
				c = &o->h[o->nh++];
				*c = *h;
				c->t = ts;
			} else {
				if (o->f == NULL)
					o->f = pq_alloc(ev, (nsteps < 64 ? nsteps : 64) * sizeof *o->f);
				else if (o->nf >= 64 && (o->nf & (o->nf - 1)) == 0) {
					struct series_sample *g = pq_alloc(ev, 2 * o->nf * sizeof *g);

					memcpy(g, o->f, o->nf * sizeof *g);
					o->f = g;
				}
				o->f[o->nf].t = ts;
				o->f[o->nf++].v = v;
			}
		}
		if (o->nf + o->nh == 0)
			continue;
		if ((err = pq_add_samples(ev, o->nf + o->nh)))
			return err;
		if (fn != PQ_FN_ABSENT_OVER_TIME) {
			uint64_t hash = pq_labels_hash(&o->labels);

			if (pq_map_get(ev, &seen, hash, false, 0) >= 0)
				return ob_errf(ev->errbuf, OB_EINVAL,
					       "vector cannot contain metrics with the same labelset");
			pq_map_get(ev, &seen, hash, true, 0);
		}
		nout++;
	}
	out->n = nout;
	if (fn == PQ_FN_ABSENT_OVER_TIME) {
		struct pq_matrix found = *out;

		return absent_over_time(ev, e, argi, &found, out);
	}
	return OB_OK;
}
