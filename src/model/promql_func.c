/*
 * promql_func.c - function calls: dispatch, and the functions of instant
 * vectors and scalars (math, clamp, round, label_replace, label_join,
 * sort, absent, scalar, vector, time, timestamp, the date functions).
 *
 * A call with a range-vector argument goes to promql_func_range.c; the
 * others run in the step loop with one step function per function.  Most
 * functions drop the metric name, as in Prometheus; label_replace,
 * label_join, sort and sort_desc keep it.  Date functions read a sample's
 * value as Unix seconds (or the step time when called without argument),
 * in UTC.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/promql_ast.h"
#include "model/regex.h"

/* label_replace: groups $0..$31 of RE2, at most 64 POSIX groups behind them */
#define PQ_MAX_GROUPS 32
#define PQ_MAX_POSIX_GROUPS 66

struct call {
	const struct promql_expr *e;
	regex_t re;
	bool have_re;
	size_t ngroups;
	bool sample_time;       /* timestamp(selector): values already are times */
	int map[PQ_MAX_GROUPS]; /* label_replace: RE2 group -> POSIX group */
};

static const struct promql_expr *
unparen(const struct promql_expr *e)
{
	while (e->kind == PQ_PAREN)
		e = e->expr;
	return e;
}

static const char *
string_arg(const struct promql_expr *e, size_t i)
{
	return unparen(e->args[i])->string;
}

static double
math1(enum pq_fn fn, double v)
{
	switch (fn) {
	case PQ_FN_ABS: return fabs(v);
	case PQ_FN_CEIL: return ceil(v);
	case PQ_FN_FLOOR: return floor(v);
	case PQ_FN_EXP: return exp(v);
	case PQ_FN_SQRT: return sqrt(v);
	case PQ_FN_LN: return log(v);
	case PQ_FN_LOG2: return log2(v);
	case PQ_FN_LOG10: return log10(v);
	case PQ_FN_SIN: return sin(v);
	case PQ_FN_COS: return cos(v);
	case PQ_FN_TAN: return tan(v);
	case PQ_FN_ASIN: return asin(v);
	case PQ_FN_ACOS: return acos(v);
	case PQ_FN_ATAN: return atan(v);
	case PQ_FN_SINH: return sinh(v);
	case PQ_FN_COSH: return cosh(v);
	case PQ_FN_TANH: return tanh(v);
	case PQ_FN_ASINH: return asinh(v);
	case PQ_FN_ACOSH: return acosh(v);
	case PQ_FN_ATANH: return atanh(v);
	case PQ_FN_RAD: return v * M_PI / 180;
	case PQ_FN_DEG: return v * 180 / M_PI;
	case PQ_FN_SGN: return v < 0 ? -1 : v > 0 ? 1 : v;
	default: return NAN;
	}
}

static bool
is_leap(long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static double
date_part(enum pq_fn fn, double secs)
{
	time_t t = isnan(secs) || fabs(secs) >= 9.2e18 ? 0 : (time_t)(int64_t)secs;
	struct tm tm;
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (isnan(secs) || secs >= 9.2233720368547758e18 || secs < -9.2233720368547758e18) {
		/*
		 * Go turns these into the smallest int64, and its time package
		 * then lands on this date: Prometheus answers with it.
		 */
		switch (fn) {
		case PQ_FN_YEAR: return 292277026596.0;
		case PQ_FN_MONTH: return 12;
		case PQ_FN_DAY_OF_MONTH: return 4;
		case PQ_FN_DAY_OF_WEEK: return 0;
		case PQ_FN_DAY_OF_YEAR: return 339;
		case PQ_FN_DAYS_IN_MONTH: return 31;
		case PQ_FN_HOUR: return 15;
		case PQ_FN_MINUTE: return 30;
		default: return NAN;
		}
	}
	gmtime_r(&t, &tm);
	switch (fn) {
	case PQ_FN_DAYS_IN_MONTH:
		return mdays[tm.tm_mon] + (tm.tm_mon == 1 && is_leap(tm.tm_year + 1900L));
	case PQ_FN_DAY_OF_MONTH: return tm.tm_mday;
	case PQ_FN_DAY_OF_WEEK: return tm.tm_wday;
	case PQ_FN_DAY_OF_YEAR: return tm.tm_yday + 1;
	case PQ_FN_HOUR: return tm.tm_hour;
	case PQ_FN_MINUTE: return tm.tm_min;
	case PQ_FN_MONTH: return tm.tm_mon + 1;
	case PQ_FN_YEAR: return tm.tm_year + 1900.0;
	default: return NAN;
	}
}

/* Go's Regexp.ExpandString of repl with the groups of a match (group n is m[n + 1]). */
static char *
expand(struct pq_eval *ev, const char *repl, const char *src, const regmatch_t *m,
       size_t ngroups, const char *pattern, const int *map)
{
	size_t cap = strlen(repl) + 1, n = 0;
	char *out;

	for (const char *p = repl; *p; p++)
		if (*p == '$')
			cap += strlen(src);
	out = pq_alloc(ev, cap);
	for (const char *p = repl; *p;) {
		const char *name, *end;
		bool braces = false;

		if (*p != '$') {
			out[n++] = *p++;
			continue;
		}
		if (p[1] == '$') {
			out[n++] = '$';
			p += 2;
			continue;
		}
		name = p + 1;
		if (*name == '{') {
			braces = true;
			name++;
		}
		for (end = name; *end && (*end == '_' || (*end >= '0' && *end <= '9') ||
					  (*end >= 'a' && *end <= 'z') ||
					  (*end >= 'A' && *end <= 'Z')); end++)
			;
		if (end == name || (braces && *end != '}')) {
			out[n++] = '$';     /* not a reference: keep the '$' */
			p++;
			continue;
		}
		{
			long g;

			if (strspn(name, "0123456789") >= (size_t)(end - name))
				g = strtol(name, NULL, 10);
			else
				g = ob_regex_group_index(pattern, name, (size_t)(end - name));
			if (g >= 0 && g <= (long)ngroups && g < PQ_MAX_GROUPS) {
				const regmatch_t *r = &m[map[g] + 1];

				if (r->rm_so >= 0) {
					size_t l = (size_t)(r->rm_eo - r->rm_so);

					memcpy(out + n, src + r->rm_so, l);
					n += l;
				}
			}
		}
		p = end + (braces ? 1 : 0);
	}
	out[n] = 0;
	return out;
}

const struct series_labels *
pq_absent_labels(struct pq_eval *ev, const struct promql_expr *sel)
{
	struct series_labels *l = pq_alloc(ev, sizeof *l);
	const char **has;
	size_t nhas = 0;

	if (sel->kind == PQ_MATRIX_SEL)
		sel = sel->expr;
	if (sel->kind != PQ_VECTOR_SEL)
		return l;
	has = pq_alloc(ev, (sel->nmatchers + 1) * sizeof *has);
	for (size_t i = 0; i < sel->nmatchers; i++) {
		const struct promql_matcher *m = &sel->matchers[i];

		if (strcmp(m->name, "__name__") == 0)
			continue;
		/* as Prometheus: a name matched twice is left out */
		if (m->op == PROMQL_MATCH_EQ && !pq_names_has(has, nhas, m->name)) {
			*l = *pq_labels_set(ev, l, m->name, m->value);
			has[nhas++] = m->name;
		} else {
			*l = *pq_labels_set(ev, l, m->name, NULL);
		}
	}
	return l;
}

static enum ob_err
step_call(struct pq_eval *ev, void *ctx, struct pq_vector *a, int64_t ts, struct pq_vector *out)
{
	struct call *c = ctx;
	const struct promql_expr *e = c->e;
	enum pq_fn fn = e->func->id;
	struct pq_vector *v = &a[0];
	size_t i;

	switch (fn) {
	case PQ_FN_TIME:
		pq_vec_push(ev, out, &(struct series_labels){ 0 }, (double)ts / 1000.0, NULL);
		return OB_OK;
	case PQ_FN_PI:
		pq_vec_push(ev, out, &(struct series_labels){ 0 }, M_PI, NULL);
		return OB_OK;
	case PQ_FN_VECTOR:
		pq_vec_push(ev, out, &(struct series_labels){ 0 }, v->s[0].v, NULL);
		return OB_OK;
	case PQ_FN_SCALAR:
		pq_vec_push(ev, out, &(struct series_labels){ 0 }, v->n == 1 ? v->s[0].v : NAN, NULL);
		return OB_OK;
	case PQ_FN_ABSENT:
		if (v->n == 0) {
			const struct series_labels *l = pq_absent_labels(ev, unparen(e->args[0]));

			pq_vec_push(ev, out, l, 1, NULL);
		}
		return OB_OK;
	case PQ_FN_SORT:
	case PQ_FN_SORT_DESC:
		for (i = 0; i < v->n; i++)
			pq_vec_add(ev, out, &v->s[i]);
		return OB_OK;
	case PQ_FN_DAYS_IN_MONTH: case PQ_FN_DAY_OF_MONTH: case PQ_FN_DAY_OF_WEEK:
	case PQ_FN_DAY_OF_YEAR: case PQ_FN_HOUR: case PQ_FN_MINUTE: case PQ_FN_MONTH:
	case PQ_FN_YEAR:
		if (e->nargs == 0) {
			pq_vec_push(ev, out, &(struct series_labels){ 0 },
				    date_part(fn, (double)(ts / 1000)), NULL);
			return OB_OK;
		}
		for (i = 0; i < v->n; i++)
			pq_vec_push(ev, out, pq_labels_drop_name(ev, v->s[i].labels),
				    date_part(fn, v->s[i].v), NULL);
		return OB_OK;
	case PQ_FN_CLAMP: case PQ_FN_CLAMP_MIN: case PQ_FN_CLAMP_MAX: {
		double lo = -INFINITY, hi = INFINITY;

		if (fn == PQ_FN_CLAMP) {
			lo = a[1].s[0].v;
			hi = a[2].s[0].v;
			if (hi < lo)
				return OB_OK;
		} else if (fn == PQ_FN_CLAMP_MIN) {
			lo = a[1].s[0].v;
		} else {
			hi = a[1].s[0].v;
		}
		for (i = 0; i < v->n; i++) {
			double x = v->s[i].v;

			if (fn != PQ_FN_CLAMP_MIN)
				x = isnan(hi) || isnan(x) ? NAN : fmin(hi, x);
			if (fn != PQ_FN_CLAMP_MAX)
				x = isnan(lo) || isnan(x) ? NAN : fmax(lo, x);
			pq_vec_push(ev, out, pq_labels_drop_name(ev, v->s[i].labels), x, NULL);
		}
		return OB_OK;
	}
	case PQ_FN_ROUND: {
		double to = e->nargs >= 2 ? a[1].s[0].v : 1, inv = 1.0 / to;

		for (i = 0; i < v->n; i++)
			pq_vec_push(ev, out, pq_labels_drop_name(ev, v->s[i].labels),
				    floor(v->s[i].v * inv + 0.5) / inv, NULL);
		return OB_OK;
	}
	case PQ_FN_TIMESTAMP:
		for (i = 0; i < v->n; i++)
			pq_vec_push(ev, out, pq_labels_drop_name(ev, v->s[i].labels),
				    c->sample_time ? v->s[i].v : (double)v->s[i].t / 1000.0, NULL);
		return OB_OK;
	case PQ_FN_LABEL_REPLACE: {
		const char *dst = string_arg(e, 1), *repl = string_arg(e, 2);
		const char *src = string_arg(e, 3);

		for (i = 0; i < v->n; i++) {
			struct pq_sample s = v->s[i];
			const char *sv = series_label_get(s.labels, src);
			regmatch_t m[PQ_MAX_POSIX_GROUPS];

			/* a match of the whole value only (see ob_regex_match) */
			if (regexec(&c->re, sv ? sv : "", PQ_MAX_POSIX_GROUPS, m, 0) == 0 &&
			    m[0].rm_so == 0 && (sv ? sv : "")[m[0].rm_eo] == '\0') {
				char *res = expand(ev, repl, sv ? sv : "", m, c->ngroups,
						   string_arg(e, 4), c->map);

				s.labels = pq_labels_set(ev, s.labels, dst, res);
			}
			pq_vec_add(ev, out, &s);
		}
		return OB_OK;
	}
	case PQ_FN_LABEL_JOIN: {
		const char *dst = string_arg(e, 1), *sep = string_arg(e, 2);

		for (i = 0; i < v->n; i++) {
			struct pq_sample s = v->s[i];
			size_t len = 1, k, o = 0;
			char *joined;

			for (k = 3; k < e->nargs; k++) {
				const char *x = series_label_get(s.labels, string_arg(e, k));

				len += (x ? strlen(x) : 0) + strlen(sep);
			}
			joined = pq_alloc(ev, len);
			for (k = 3; k < e->nargs; k++) {
				const char *x = series_label_get(s.labels, string_arg(e, k));

				if (k > 3)
					o += (size_t)sprintf(joined + o, "%s", sep);
				o += (size_t)sprintf(joined + o, "%s", x ? x : "");
			}
			s.labels = pq_labels_set(ev, s.labels, dst, joined);
			pq_vec_add(ev, out, &s);
		}
		return OB_OK;
	}
	case PQ_FN_HISTOGRAM_QUANTILE:
		return pq_fn_histogram_quantile(ev, ctx, a, ts, out);
	case PQ_FN_HISTOGRAM_COUNT: case PQ_FN_HISTOGRAM_SUM: case PQ_FN_HISTOGRAM_FRACTION: {
		struct pq_vector *hv = fn == PQ_FN_HISTOGRAM_FRACTION ? &a[2] : v;

		for (i = 0; i < hv->n; i++) {
			const struct series_histogram *h = hv->s[i].h;
			double x;

			if (h == NULL)
				continue;
			x = fn == PQ_FN_HISTOGRAM_COUNT ? h->count : fn == PQ_FN_HISTOGRAM_SUM ?
			    h->sum : pq_hist_fraction(a[0].s[0].v, a[1].s[0].v, h);
			pq_vec_push(ev, out, pq_labels_drop_name(ev, hv->s[i].labels), x, NULL);
		}
		return OB_OK;
	}
	default:
		for (i = 0; i < v->n; i++)
			pq_vec_push(ev, out, pq_labels_drop_name(ev, v->s[i].labels),
				    math1(fn, v->s[i].v), NULL);
		return OB_OK;
	}
}

/* sort: ascending, sort_desc: descending; NaN last either way */
static int
cmp_asc(const void *a, const void *b)
{
	const struct series_data *p = a, *q = b;
	double x = p->nf ? p->f[0].v : NAN, y = q->nf ? q->f[0].v : NAN;

	if (isnan(x) || isnan(y))
		return isnan(x) - isnan(y);
	return x < y ? -1 : x > y;
}

static int
cmp_desc(const void *a, const void *b)
{
	const struct series_data *p = a, *q = b;
	double x = p->nf ? p->f[0].v : NAN, y = q->nf ? q->f[0].v : NAN;

	if (isnan(x) || isnan(y))
		return isnan(x) - isnan(y);
	return x > y ? -1 : x < y;
}

/*
 * Go sorts up to 12 elements by insertion, which keeps equal values in
 * their order: do the same there, so sort() of a few ties answers as
 * Prometheus does; larger vectors are sorted as well, ties in any order.
 */
static void
sort_series(struct series_data *s, size_t n, bool asc)
{
	int (*cmp)(const void *, const void *) = asc ? cmp_asc : cmp_desc;

	if (n > 12) {
		qsort(s, n, sizeof *s, cmp);
		return;
	}
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0; j--) {
			double prev = s[j - 1].nf ? s[j - 1].f[0].v : NAN;
			double cur = s[j].nf ? s[j].f[0].v : NAN;
			struct series_data t;

			/* Go's Less of the reversed heap order, NaN included */
			if (!(isnan(prev) || (asc ? prev > cur : prev < cur)))
				break;
			t = s[j];
			s[j] = s[j - 1];
			s[j - 1] = t;
		}
}

static enum ob_err
prepare_label_fn(struct pq_eval *ev, struct call *c)
{
	const struct promql_expr *e = c->e;
	char why[200];

	if (e->func->id == PQ_FN_LABEL_REPLACE) {
		const char *re = string_arg(e, 4), *dst = string_arg(e, 1);

		if (!series_label_name_valid(dst, strlen(dst)))
			return ob_errf(ev->errbuf, OB_EINVAL, "invalid destination label name in "
				       "label_replace(): %s", dst);
		pq_defer_reserve(ev);
		if (ob_regex_compile(re, 0, &c->re, why, sizeof why) != OB_REGEX_OK)
			return ob_errf(ev->errbuf, OB_EINVAL, "invalid regular expression in "
				       "label_replace(): %s", re);
		c->have_re = true;
		pq_defer_regfree(ev, &c->re);
		c->ngroups = (size_t)ob_regex_group_map(re, c->map, PQ_MAX_GROUPS);
		if (c->ngroups >= PQ_MAX_GROUPS)
			c->ngroups = PQ_MAX_GROUPS - 1;
		/* groups beyond what regexec reports read as empty */
		for (size_t g = 0; g <= c->ngroups; g++)
			if (c->map[g] + 1 >= PQ_MAX_POSIX_GROUPS)
				c->ngroups = g ? g - 1 : 0;
	} else if (e->func->id == PQ_FN_LABEL_JOIN) {
		for (size_t k = 3; k < e->nargs; k++)
			if (!series_label_name_valid(string_arg(e, k), strlen(string_arg(e, k))))
				return ob_errf(ev->errbuf, OB_EINVAL, "invalid source label name in "
					       "label_join(): %s", string_arg(e, k));
		if (!series_label_name_valid(string_arg(e, 1), strlen(string_arg(e, 1))))
			return ob_errf(ev->errbuf, OB_EINVAL, "invalid destination label name in "
				       "label_join(): %s", string_arg(e, 1));
	}
	return OB_OK;
}

enum ob_err
pq_eval_call(struct pq_eval *ev, const struct promql_expr *e, struct pq_matrix *out)
{
	struct call *c = pq_alloc(ev, sizeof *c);
	enum ob_err err;
	size_t i;

	c->e = e;
	for (i = 0; i < e->nargs; i++) {
		const struct promql_expr *a = unparen(e->args[i]);

		if (a->kind == PQ_MATRIX_SEL || a->kind == PQ_SUBQUERY)
			return pq_eval_range_call(ev, e, i, out);
	}
	if (e->func->id == PQ_FN_TIMESTAMP && unparen(e->args[0])->kind == PQ_VECTOR_SEL) {
		struct pq_matrix in;

		/* the sample's own time, not the step's */
		if ((err = pq_eval_vector_sel(ev, unparen(e->args[0]), &in, true)))
			return err;
		c->sample_time = true;
		return pq_range_eval_m(ev, &in, 1, step_call, c, out);
	}
	if ((err = prepare_label_fn(ev, c)))
		return err;
	err = pq_range_eval(ev, (const struct promql_expr *const *)e->args, e->nargs, step_call,
			    c, out);
	if (err)
		return err;
	if ((e->func->id == PQ_FN_SORT || e->func->id == PQ_FN_SORT_DESC) && ev->start == ev->end)
		sort_series(out->s, out->n, e->func->id == PQ_FN_SORT);
	return OB_OK;
}
