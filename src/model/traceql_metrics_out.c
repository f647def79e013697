/*
 * traceql_metrics_out.c - the accumulator's series, as Tempo shows them
 * (see traceql_metrics.h): values per function, labels and their
 * Prometheus text, exact quantiles, then topk/bottomk.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"
#include "model/traceql_metrics.h"
#include "model/traceql_metrics_int.h"

static void
label_add(struct traceql_series *s, const char *key, const struct tq_value *v)
{
	s->labels = ob_xrealloc(s->labels, (s->nlabels + 1) * sizeof *s->labels);
	tq_attr_set(&s->labels[s->nlabels++], key, v);
}

static void
label_add_float(struct traceql_series *s, const char *key, double f)
{
	struct tq_value v;

	memset(&v, 0, sizeof v);
	v.type = TQ_FLOAT;
	v.f = f;
	label_add(s, key, &v);
}

/* The shortest text that reads back as f. */
static void
float_text(double f, char *out, size_t n)
{
	int prec;

	for (prec = 1; prec < 17; prec++) {
		snprintf(out, n, "%.*g", prec, f);
		if (strtod(out, NULL) == f)
			return;
	}
	snprintf(out, n, "%.17g", f);
}

static int
cmp_label(const void *a, const void *b)
{
	return strcmp(((const struct traceql_attr *)a)->key, ((const struct traceql_attr *)b)->key);
}

/* {a="x", b="y"}: keys sorted, values as Tempo downcasts them to strings. */
static char *
prom_text(const struct traceql_series *s)
{
	struct traceql_attr *sorted = ob_xmalloc((s->nlabels ? s->nlabels : 1) * sizeof *sorted);
	struct ob_buf b;
	size_t i;

	memcpy(sorted, s->labels, s->nlabels * sizeof *sorted);
	qsort(sorted, s->nlabels, sizeof *sorted, cmp_label);
	ob_buf_init(&b, 0);
	ob_buf_addstr(&b, "{");
	for (i = 0; i < s->nlabels; i++) {
		const struct traceql_attr *l = &sorted[i];
		char num[48];
		const char *v = num, *p;

		switch (l->type) {
		case TRACEQL_V_INT:
			snprintf(num, sizeof num, "%lld", (long long)l->i);
			break;
		case TRACEQL_V_FLOAT:
			float_text(l->f, num, sizeof num);
			break;
		case TRACEQL_V_BOOL:
			v = l->i ? "true" : "false";
			break;
		default:
			v = strcmp(l->s, "nil") == 0 && l->key[0] != '_' ? "<nil>"
			    : l->s[0] == 0 ? "<empty>" : l->s;
		}
		ob_buf_addf(&b, "%s%s=\"", i ? ", " : "", l->key);
		for (p = v; *p; p++) {
			if (*p == '"' || *p == '\\')
				ob_buf_add(&b, "\\", 1);
			if (*p == '\n')
				ob_buf_addstr(&b, "\\n");
			else
				ob_buf_add(&b, p, 1);
		}
		ob_buf_addstr(&b, "\"");
	}
	ob_buf_addstr(&b, "}");
	free(sorted);
	return (char *)ob_buf_take(&b, NULL);
}

/* The by() labels of s; "__name__" for a function without by() or buckets. */
static void
base_labels(const struct traceql_metrics *m, const struct mseries *ms, struct traceql_series *s)
{
	const struct tq_metrics *mq = m->mq;
	bool buckets = mq->fn == TQ_M_HISTOGRAM || mq->fn == TQ_M_QUANTILE;
	struct tq_value v;
	size_t b;

	for (b = 0; b < mq->nby; b++)
		if (ms->has[b])
			label_add(s, mq->by_names[b], &ms->vals[b]);
	memset(&v, 0, sizeof v);
	if (s->nlabels == 0 && mq->nby > 0 && !buckets) {
		v.type = TQ_NIL;
		label_add(s, mq->by_names[0], &v);
	} else if (mq->nby == 0 && !buckets) {
		v.type = TQ_STRING;
		v.s = mq->fn_name;
		label_add(s, "__name__", &v);
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The q-quantile of the n sorted values, interpolating between ranks. */
static double
quantile(const double *v, size_t n, double q)
{
	double rank, frac;
	size_t lo;

	if (n == 0)
		return NAN;
	rank = q * (double)(n - 1);
	lo = (size_t)floor(rank);
	if (lo + 1 >= n)
		return v[n - 1];
	frac = rank - (double)lo;
	return v[lo] + (v[lo + 1] - v[lo]) * frac;
}

static bool
has_sample(const double *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isnan(v[i]))
			return true;
	return false;
}

static void
series_release(struct traceql_series *s)
{
	size_t k;

	for (k = 0; k < s->nlabels; k++)
		free(s->labels[k].s);
	free(s->labels);
	free(s->prom_labels);
	free(s->values);
}

static void
push(struct traceql_series_set *out, struct traceql_series *s, size_t *cap)
{
	if (!has_sample(s->values, out->npoints)) {
		series_release(s);
		return;
	}
	s->prom_labels = prom_text(s);
	if (out->nseries == *cap) {
		*cap = *cap ? 2 * *cap : 16;
		out->series = ob_xrealloc(out->series, *cap * sizeof *out->series);
	}
	out->series[out->nseries++] = *s;
}

static int
cmp_series(const void *a, const void *b)
{
	return strcmp(((const struct traceql_series *)a)->prom_labels,
		      ((const struct traceql_series *)b)->prom_labels);
}

static double
mean(const struct traceql_series *s, size_t n)
{
	double sum = 0;
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		if (!isnan(s->values[i])) {
			sum += s->values[i];
			c++;
		}
	return c ? sum / (double)c : NAN;
}

struct ranked {
	double mean;
	int sign;               /* -1: highest first (topk), 1: lowest first */
	struct traceql_series s;
};

static int
cmp_rank(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (isnan(x->mean) || isnan(y->mean))
		return isnan(x->mean) - isnan(y->mean);
	if (x->mean != y->mean)
		return x->sign * ((x->mean > y->mean) - (x->mean < y->mean));
	return strcmp(x->s.prom_labels, y->s.prom_labels);
}

/* topk/bottomk: the k series of highest/lowest mean, in that order. */
static void
keep_ranked(struct traceql_series_set *out, int which, long k)
{
	struct ranked *r = ob_xmalloc((out->nseries ? out->nseries : 1) * sizeof *r);
	size_t i, n = out->nseries;

	for (i = 0; i < n; i++) {
		r[i].mean = mean(&out->series[i], out->npoints);
		r[i].sign = which == 1 ? -1 : 1;
		r[i].s = out->series[i];
	}
	if (n > 1)
		qsort(r, n, sizeof *r, cmp_rank);
	for (i = 0; i < n; i++) {
		if (i < (size_t)k)
			out->series[i] = r[i].s;
		else
			series_release(&r[i].s);
	}
	if (n > (size_t)k)
		out->nseries = (size_t)k;
	free(r);
}

enum ob_err
traceql_metrics_finish(struct traceql_metrics *m, struct traceql_series_set *out, char *errbuf)
{
	const struct tq_metrics *mq = m->mq;
	double step_s = (double)m->step / 1e9;
	size_t i, k, qi, cap = 0;

	memset(out, 0, sizeof *out);
	if (m->too_many_series)
		return ob_errf(errbuf, OB_ETOOBIG, "metrics: more than %zu series of %zu points; "
			       "narrow the query or its by(), or raise step",
			       m->ns, m->npoints);
	if (m->too_many_values)
		return ob_errf(errbuf, OB_ETOOBIG, "metrics: quantile_over_time over more than %d "
			       "spans; narrow the query or the time range",
			       TRACEQL_METRICS_MAX_VALUES);
	out->npoints = m->npoints;
	out->first_ns = m->first;
	out->step_ns = m->step;
	for (i = 0; i < m->ns; i++) {
		struct mseries *ms = &m->s[i];
		struct traceql_series s;

		if (mq->fn == TQ_M_QUANTILE) {
			for (k = 0; k < m->npoints; k++)
				if (ms->all[k].n > 1)
					qsort(ms->all[k].v, ms->all[k].n, sizeof *ms->all[k].v,
					      cmp_double);
			for (qi = 0; qi < mq->nquantiles; qi++) {
				memset(&s, 0, sizeof s);
				base_labels(m, ms, &s);
				label_add_float(&s, "p", mq->quantiles[qi]);
				s.values = ob_xmalloc(m->npoints * sizeof *s.values);
				for (k = 0; k < m->npoints; k++)
					s.values[k] = quantile(ms->all[k].v, ms->all[k].n,
							       mq->quantiles[qi]);
				push(out, &s, &cap);
			}
			continue;
		}
		memset(&s, 0, sizeof s);
		base_labels(m, ms, &s);
		if (mq->fn == TQ_M_HISTOGRAM)
			label_add_float(&s, "__bucket", ms->bucket);
		s.values = ob_xmalloc(m->npoints * sizeof *s.values);
		for (k = 0; k < m->npoints; k++) {
			double v = ms->acc[k];

			if (mq->fn == TQ_M_RATE)
				v /= step_s;
			else if (mq->fn == TQ_M_AVG)
				v = ms->count[k] > 0 ? v / ms->count[k] : NAN;
			s.values[k] = v;
		}
		push(out, &s, &cap);
	}
	if (out->nseries > 1)
		qsort(out->series, out->nseries, sizeof *out->series, cmp_series);
	if (mq->second)
		keep_ranked(out, mq->second, mq->k);
	return OB_OK;
}

void
traceql_series_set_release(struct traceql_series_set *set)
{
	size_t i;

	for (i = 0; i < set->nseries; i++)
		series_release(&set->series[i]);
	free(set->series);
	memset(set, 0, sizeof *set);
}
