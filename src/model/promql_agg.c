/*
 * promql_agg.c - aggregation operators: sum avg min max count group
 * stddev stdvar topk bottomk quantile count_values, by or without labels.
 *
 * Each input series' group key (a hash of the by-labels, or of all but
 * the without-labels and __name__) and its group's label set are computed
 * once, before the step loop; a step then only looks groups up by key.
 * Groups come out in the order their first member was seen, as in
 * Prometheus.  The arithmetic follows Prometheus 2.42: avg is an
 * incremental mean (with its special handling of infinities), stddev and
 * stdvar use Welford's method, min and max let a number replace NaN.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/promql_ast.h"

struct agg {
	const struct promql_expr *e;
	uint64_t *key;                          /* per input series */
	const struct series_labels **glabels;   /* per input series */
	const char *value_label;                /* count_values */
	const char **grouping;                  /* count_values by: plus the value label */
	size_t ngrouping;
	struct group *groups;                   /* reused from step to step */
	size_t groups_cap;
	struct pq_map map;
};

struct group {
	const struct series_labels *labels;
	double value, mean;
	size_t count;
	bool has_float, has_hist;
	struct pq_sample *members;              /* topk, bottomk, quantile */
	size_t nmembers, cap;
};

static void
member_add(struct pq_eval *ev, struct group *g, const struct pq_sample *s)
{
	if (g->nmembers == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 8;
		struct pq_sample *m = pq_alloc(ev, cap * sizeof *m);

		if (g->nmembers)
			memcpy(m, g->members, g->nmembers * sizeof *m);
		g->members = m;
		g->cap = cap;
	}
	g->members[g->nmembers++] = *s;
}

/*
 * topk and bottomk keep at most k members in a heap, exactly as Go's
 * container/heap does in Prometheus, so that ties keep the same members:
 * the root is the weakest (NaN first), and a newcomer replaces it only when
 * strictly better.
 */
static bool
heap_less(bool top, const struct pq_sample *a, const struct pq_sample *b)
{
	if (isnan(a->v))
		return true;
	return top ? a->v < b->v : a->v > b->v;
}

static void
heap_swap(struct pq_sample *h, size_t i, size_t j)
{
	struct pq_sample t = h[i];

	h[i] = h[j];
	h[j] = t;
}

static void
heap_up(bool top, struct pq_sample *h, size_t j)
{
	while (j > 0) {
		size_t i = (j - 1) / 2;

		if (!heap_less(top, &h[j], &h[i]))
			break;
		heap_swap(h, i, j);
		j = i;
	}
}

static void
heap_down(bool top, struct pq_sample *h, size_t i, size_t n)
{
	for (;;) {
		size_t j1 = 2 * i + 1, j;

		if (j1 >= n)
			break;
		j = j1;
		if (j1 + 1 < n && heap_less(top, &h[j1 + 1], &h[j1]))
			j = j1 + 1;
		if (!heap_less(top, &h[j], &h[i]))
			break;
		heap_swap(h, i, j);
		i = j;
	}
}

static void
heap_offer(struct pq_eval *ev, bool top, struct group *g, const struct pq_sample *s, size_t k)
{
	struct pq_sample *root = &g->members[0];

	if (!(g->nmembers < k || (top ? root->v < s->v : root->v > s->v) || isnan(root->v)))
		return;
	if (g->nmembers == k) {
		if (k == 1) {
			g->members[0] = *s;
			return;
		}
		/* heap.Pop: the root to the end, sift down, drop it */
		heap_swap(g->members, 0, g->nmembers - 1);
		heap_down(top, g->members, 0, g->nmembers - 1);
		g->nmembers--;
	}
	member_add(ev, g, s);
	heap_up(top, g->members, g->nmembers - 1);
}

/* sort.Sort(sort.Reverse(heap)) for the sizes Go sorts by insertion (stable) */
static void
heap_sort_reverse(bool top, struct pq_sample *h, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && heap_less(top, &h[j - 1], &h[j]); j--)
			heap_swap(h, j, j - 1);
}

/* descending, NaN last */
static int
cmp_top(const void *a, const void *b)
{
	double x = ((const struct pq_sample *)a)->v, y = ((const struct pq_sample *)b)->v;

	if (isnan(x) || isnan(y))
		return isnan(x) - isnan(y);
	return x > y ? -1 : x < y;
}

/* ascending, NaN last */
static int
cmp_bottom(const void *a, const void *b)
{
	double x = ((const struct pq_sample *)a)->v, y = ((const struct pq_sample *)b)->v;

	if (isnan(x) || isnan(y))
		return isnan(x) - isnan(y);
	return x < y ? -1 : x > y;
}

/* strconv.FormatFloat(v, 'f', -1, 64): shortest digits, never an exponent */
static void
format_f(double v, char *out, size_t len)
{
	char buf[64];
	int prec;

	if (isnan(v)) {
		snprintf(out, len, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(out, len, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	{
		/* digits and exponent of the shortest form, then written out plainly */
		char digits[32];
		int exp10, nd = 0, i;
		const char *p = buf;
		bool neg = *p == '-';
		size_t o = 0;

		if (neg)
			p++;
		for (; *p && *p != 'e'; p++)
			if (*p >= '0' && *p <= '9')
				digits[nd++] = *p;
		exp10 = atoi(p + 1);
		while (nd > 1 && digits[nd - 1] == '0')
			nd--;
		if (neg)
			out[o++] = '-';
		if (exp10 < 0) {
			o += (size_t)snprintf(out + o, len - o, "0.");
			for (i = 0; i < -exp10 - 1 && o < len - 1; i++)
				out[o++] = '0';
			for (i = 0; i < nd && o < len - 1; i++)
				out[o++] = digits[i];
		} else {
			for (i = 0; i <= exp10 && o < len - 1; i++)
				out[o++] = i < nd ? digits[i] : '0';
			if (nd > exp10 + 1) {
				out[o++] = '.';
				for (i = exp10 + 1; i < nd && o < len - 1; i++)
					out[o++] = digits[i];
			}
		}
		out[o] = 0;
	}
}

static const struct series_labels *
group_labels(struct pq_eval *ev, const struct agg *a, const struct series_labels *l)
{
	const struct promql_expr *e = a->e;

	if (e->without)
		return pq_labels_filter(ev, l, e->grouping, e->ngrouping, false);
	return pq_labels_filter(ev, l, a->grouping, a->ngrouping, true);
}

static uint64_t
group_key(const struct agg *a, const struct series_labels *l)
{
	if (a->e->without)
		return pq_labels_sig(l, a->e->grouping, a->e->ngrouping, false);
	return pq_labels_sig(l, a->grouping, a->ngrouping, true);
}

static enum ob_err
step_aggregate(struct pq_eval *ev, void *ctx, struct pq_vector *args, int64_t ts,
	       struct pq_vector *out)
{
	struct agg *a = ctx;
	const struct promql_expr *e = a->e;
	struct pq_vector *vec = &args[1];
	struct group *groups;
	struct pq_map *map = &a->map;
	size_t ngroups = 0, i;
	int64_t k = 0;
	double q = 0;

	if (vec->n == 0)
		return OB_OK;
	if (e->agg == PQ_TOPK || e->agg == PQ_BOTTOMK) {
		double f = args[0].s[0].v;

		if (!(f >= -9.2233720368547758e18 && f <= 9.2233720368547758e18))
			return ob_errf(ev->errbuf, OB_EINVAL, "Scalar value %g overflows int64", f);
		k = (int64_t)f;
		if (k < 1)
			return OB_OK;
	}
	if (e->agg == PQ_QUANTILE)
		q = args[0].s[0].v;
	if (a->groups_cap < vec->n) {
		a->groups_cap = vec->n;
		a->groups = pq_alloc(ev, vec->n * sizeof *a->groups);
	} else {
		memset(a->groups, 0, vec->n * sizeof *a->groups);
	}
	groups = a->groups;
	pq_map_prepare(ev, map, vec->n);
	for (i = 0; i < vec->n; i++) {
		const struct pq_sample *s = &vec->s[i];
		const struct series_labels *metric = s->labels, *gl;
		uint64_t key;
		long gi;
		struct group *g;

		if (s->h && e->agg != PQ_SUM && e->agg != PQ_COUNT && e->agg != PQ_GROUP)
			return ob_errf(ev->errbuf, OB_EUNSUPPORTED, "not implemented: %s of native "
				       "histograms", pq_agg_name(e->agg));
		if (e->agg == PQ_COUNT_VALUES) {
			char buf[64];

			format_f(s->v, buf, sizeof buf);
			metric = pq_labels_set(ev, metric, a->value_label,
					       ob_arena_printf(ev->arena, "%s", buf));
			key = group_key(a, metric);
			gl = NULL;
		} else {
			key = a->key[s->si];
			gl = a->glabels[s->si];
		}
		gi = pq_map_get(ev, map, key, false, 0);
		if (gi < 0) {
			g = &groups[ngroups];
			pq_map_get(ev, map, key, true, (uint32_t)ngroups++);
			g->labels = gl ? gl : group_labels(ev, a, metric);
			g->value = s->v;
			g->mean = s->v;
			g->count = 1;
			g->has_float = s->h == NULL;
			if (s->h && e->agg == PQ_SUM) {
				g->has_hist = true;
				member_add(ev, g, s);
			}
			switch (e->agg) {
			case PQ_STDVAR: case PQ_STDDEV: g->value = 0; break;
			case PQ_TOPK: case PQ_BOTTOMK: case PQ_QUANTILE: member_add(ev, g, s); break;
			case PQ_GROUP: g->value = 1; break;
			default: break;
			}
			continue;
		}
		g = &groups[gi];
		switch (e->agg) {
		case PQ_SUM:
			if (s->h) {
				g->has_hist = true;
				member_add(ev, g, s);
			} else {
				g->has_float = true;
				g->value += s->v;
			}
			break;
		case PQ_AVG:
			g->count++;
			if (isinf(g->mean)) {
				if (isinf(s->v) && (g->mean > 0) == (s->v > 0))
					break;
				if (!isinf(s->v) && !isnan(s->v))
					break;
			}
			g->mean += s->v / (double)g->count - g->mean / (double)g->count;
			break;
		case PQ_MAX:
			if (g->value < s->v || isnan(g->value))
				g->value = s->v;
			break;
		case PQ_MIN:
			if (g->value > s->v || isnan(g->value))
				g->value = s->v;
			break;
		case PQ_COUNT: case PQ_COUNT_VALUES:
			g->count++;
			break;
		case PQ_STDVAR: case PQ_STDDEV: {
			double delta;

			g->count++;
			delta = s->v - g->mean;
			g->mean += delta / (double)g->count;
			g->value += delta * (s->v - g->mean);
			break;
		}
		case PQ_TOPK: case PQ_BOTTOMK:
			heap_offer(ev, e->agg == PQ_TOPK, g, s, (size_t)k);
			break;
		case PQ_QUANTILE:
			member_add(ev, g, s);
			break;
		case PQ_GROUP:
			break;
		}
	}
	for (i = 0; i < ngroups; i++) {
		struct group *g = &groups[i];
		double v = g->value;

		switch (e->agg) {
		case PQ_AVG: v = g->mean; break;
		case PQ_COUNT: case PQ_COUNT_VALUES: v = (double)g->count; break;
		case PQ_STDVAR: v = g->value / (double)g->count; break;
		case PQ_STDDEV: v = sqrt(g->value / (double)g->count); break;
		case PQ_TOPK: case PQ_BOTTOMK: {
			size_t n = g->nmembers;

			if (n <= 12)
				heap_sort_reverse(e->agg == PQ_TOPK, g->members, n);
			else
				qsort(g->members, n, sizeof *g->members,
				      e->agg == PQ_TOPK ? cmp_top : cmp_bottom);
			for (size_t j = 0; j < n; j++)
				pq_vec_push(ev, out, g->members[j].labels, g->members[j].v, NULL);
			continue;
		}
		case PQ_QUANTILE: {
			double *vals = pq_alloc(ev, g->nmembers * sizeof *vals);

			for (size_t j = 0; j < g->nmembers; j++)
				vals[j] = g->members[j].v;
			v = pq_quantile(q, vals, g->nmembers);
			break;
		}
		case PQ_SUM:
			if (g->has_hist) {
				const struct series_histogram **hs;
				struct series_histogram *sum;
				enum ob_err err;

				if (g->has_float)
					continue;       /* floats and histograms: no answer */
				hs = pq_alloc(ev, g->nmembers * sizeof *hs);
				for (size_t j = 0; j < g->nmembers; j++)
					hs[j] = g->members[j].h;
				if ((err = pq_hist_sum(ev, hs, g->nmembers, &sum)))
					return err;
				pq_vec_push(ev, out, g->labels, 0, sum);
				continue;
			}
			break;
		default: break;
		}
		pq_vec_push(ev, out, g->labels, v, NULL);
	}
	return OB_OK;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

enum ob_err
pq_eval_aggregate(struct pq_eval *ev, const struct promql_expr *e, struct pq_matrix *out)
{
	struct agg *a = pq_alloc(ev, sizeof *a);
	struct pq_matrix in[2];
	const struct promql_expr *param = e->param;
	enum ob_err err;

	a->e = e;
	a->grouping = e->grouping;
	a->ngrouping = e->ngrouping;
	memset(in, 0, sizeof in);
	while (param && param->kind == PQ_PAREN)
		param = param->expr;
	if (e->agg == PQ_COUNT_VALUES) {
		a->value_label = param->string;
		if (!series_label_name_valid(a->value_label, strlen(a->value_label)))
			return ob_errf(ev->errbuf, OB_EINVAL, "invalid label name \"%s\"",
				       a->value_label);
		if (!e->without) {
			a->grouping = pq_alloc(ev, (e->ngrouping + 1) * sizeof *a->grouping);
			if (e->ngrouping)
				memcpy(a->grouping, e->grouping, e->ngrouping * sizeof *a->grouping);
			a->grouping[a->ngrouping++] = a->value_label;
			qsort(a->grouping, a->ngrouping, sizeof *a->grouping, cmp_str);
		}
	} else if (param && (err = pq_eval_node(ev, param, &in[0]))) {
		return err;
	}
	if ((err = pq_eval_node(ev, e->expr, &in[1])))
		return err;
	a->key = pq_alloc(ev, (in[1].n ? in[1].n : 1) * sizeof *a->key);
	a->glabels = pq_alloc(ev, (in[1].n ? in[1].n : 1) * sizeof *a->glabels);
	if (e->agg != PQ_COUNT_VALUES) {
		struct pq_map seen;
		const struct series_labels **by_key;

		pq_map_init(ev, &seen, in[1].n);
		by_key = pq_alloc(ev, (in[1].n ? in[1].n : 1) * sizeof *by_key);
		for (size_t i = 0; i < in[1].n; i++) {
			long gi;

			a->key[i] = group_key(a, &in[1].s[i].labels);
			gi = pq_map_get(ev, &seen, a->key[i], false, 0);
			if (gi < 0) {
				by_key[i] = group_labels(ev, a, &in[1].s[i].labels);
				pq_map_get(ev, &seen, a->key[i], true, (uint32_t)i);
				a->glabels[i] = by_key[i];
			} else {
				a->glabels[i] = by_key[gi];
			}
		}
	}
	return pq_range_eval_m(ev, in, 2, step_aggregate, a, out);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double
pq_quantile(double q, double *v, size_t n)
{
	double rank, lower, upper, weight;
	size_t i, j;

	if (n == 0 || isnan(q))
		return NAN;
	if (q < 0)
		return -INFINITY;
	if (q > 1)
		return INFINITY;
	/* insertion sort for small n, qsort otherwise; NaN first as Go's heap Less puts it */
	for (i = 1; i < n && n <= 32; i++) {
		double x = v[i];

		for (j = i; j > 0 && (isnan(x) ? !isnan(v[j - 1]) : (!isnan(v[j - 1]) &&
									x < v[j - 1])); j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
	if (n > 32) {
		size_t nn = 0;

		for (i = 0; i < n; i++)
			if (isnan(v[i])) {
				double t = v[nn];

				v[nn++] = v[i];
				v[i] = t;
			}
		qsort(v + nn, n - nn, sizeof *v, cmp_double);
	}
	rank = q * (double)(n - 1);
	lower = fmax(0, floor(rank));
	upper = fmin((double)n - 1, lower + 1);
	weight = rank - floor(rank);
	return v[(size_t)lower] * (1 - weight) + v[(size_t)upper] * weight;
}
