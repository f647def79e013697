/*
 * promql_script.h - a small interpreter for PromQL test scripts, in the
 * format of Prometheus's promql/testdata (its semantics are the facts the
 * tests check):
 *
 *	load 5m
 *	    http_requests{job="api", instance="0"}  0+10x10  _  stale  1 2 3
 *	eval instant at 50m sum by (job) (http_requests)
 *	    {job="api"} 100
 *	eval_ordered instant at 50m sort(x)      (order is checked)
 *	eval_fail instant at 50m bad(query)      (must fail)
 *	clear
 *
 * "a+bxn" is n+1 values from a in steps of b, "axn" n+1 copies, "_" no
 * sample, "_xn" n gaps, "stale" a staleness marker.  Samples are at
 * 0, step, 2*step... ms.  Expected values compare within 1e-6 relative,
 * NaN equal to NaN.  Every instant vector or scalar query is run a second
 * time as a range query over [t-1m, t+1m] step 1m, and its middle step
 * must give the same answer (as Prometheus's test runner does), unless it
 * uses @ start() or @ end().
 *
 * The series live in an in-memory struct promql_source (mem_source) that
 * answers select() by scanning: the fixed set of series the tests use.
 */
#ifndef OB_TESTS_PROMQL_SCRIPT_H
#define OB_TESTS_PROMQL_SCRIPT_H

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/mem.h"
#include "core/util.h"
#include "model/promql.h"

/* not every user of this header calls every helper */
#pragma GCC diagnostic ignored "-Wunused-function"

struct mem_series {
	struct series_labels labels;
	struct series_sample *f;
	size_t nf, cap;
	struct series_histogram *h;
	size_t nh, hcap;
};

struct mem_db {
	struct mem_series *s;
	size_t n, cap;
	struct ob_arena arena;          /* labels */
};

/* the first sample at or after t */
static size_t
lower_bound(const struct series_sample *f, size_t n, int64_t t)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (f[mid].t < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static enum ob_err
mem_select(void *ctx, const struct promql_matcher *m, size_t nm, int64_t mint, int64_t maxt,
	   struct ob_arena *arena, struct series_data **out, size_t *nout, char *errbuf)
{
	struct mem_db *db = ctx;
	struct series_data *res = ob_arena_alloc(arena, (db->n + 1) * sizeof *res);
	size_t n = 0;

	(void)errbuf;
	if (res == NULL)
		return OB_ETOOBIG;
	for (size_t i = 0; i < db->n; i++) {
		const struct mem_series *s = &db->s[i];
		size_t j, a, b;
		bool ok = true;

		for (j = 0; j < nm && ok; j++)
			ok = promql_matcher_matches(&m[j], series_label_get(&s->labels, m[j].name));
		if (!ok)
			continue;
		memset(&res[n], 0, sizeof res[n]);
		res[n].labels = s->labels;
		a = lower_bound(s->f, s->nf, mint);
		b = lower_bound(s->f, s->nf, maxt + 1);
		res[n].f = s->f ? s->f + a : NULL;
		res[n].nf = b - a;
		for (a = 0; a < s->nh && s->h[a].t < mint; a++)
			;
		for (b = a; b < s->nh && s->h[b].t <= maxt; b++)
			;
		res[n].h = s->h ? s->h + a : NULL;
		res[n].nh = b - a;
		if (res[n].nf + res[n].nh)
			n++;
	}
	*out = res;
	*nout = n;
	return OB_OK;
}

static void
mem_db_clear(struct mem_db *db)
{
	for (size_t i = 0; i < db->n; i++) {
		free(db->s[i].f);
		free(db->s[i].h);
	}
	free(db->s);
	ob_arena_release(&db->arena);
	memset(db, 0, sizeof *db);
	ob_arena_init(&db->arena, 0);
}

static struct mem_series *
mem_db_series(struct mem_db *db, const struct series_labels *l)
{
	for (size_t i = 0; i < db->n; i++) {
		const struct series_labels *x = &db->s[i].labels;
		bool same = x->n == l->n;

		for (size_t j = 0; same && j < l->n; j++)
			same = !strcmp(x->v[j].name, l->v[j].name) &&
			       !strcmp(x->v[j].value, l->v[j].value);
		if (same)
			return &db->s[i];
	}
	if (db->n == db->cap) {
		db->cap = db->cap ? 2 * db->cap : 16;
		db->s = ob_xrealloc(db->s, db->cap * sizeof *db->s);
	}
	memset(&db->s[db->n], 0, sizeof db->s[0]);
	db->s[db->n].labels = *l;
	return &db->s[db->n++];
}

static void
mem_add(struct mem_series *s, int64_t t, double v)
{
	if (s->nf == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->f = ob_xrealloc(s->f, s->cap * sizeof *s->f);
	}
	s->f[s->nf].t = t;
	s->f[s->nf++].v = v;
}

static int
label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct series_label *)a)->name, ((const struct series_label *)b)->name);
}

/* "metric{a="b"}" or "{a="b"}" or "{}" into labels (in arena); returns the rest. */
static const char *
parse_labels(struct ob_arena *arena, const char *p, struct series_labels *out)
{
	char sel[4096];
	const char *q = p;
	size_t n, i;
	struct promql_matcher *m;
	char errbuf[OB_ERRLEN];
	int depth = 0;
	bool in_str = false;

	/* the selector runs to the first space outside braces and quotes */
	for (; *q; q++) {
		if (in_str) {
			if (*q == '\\')
				q++;
			else if (*q == '"')
				in_str = false;
			continue;
		}
		if (*q == '"')
			in_str = true;
		else if (*q == '{')
			depth++;
		else if (*q == '}')
			depth--;
		else if (isspace((unsigned char)*q) && depth == 0)
			break;
	}
	snprintf(sel, sizeof sel, "%.*s", (int)(q - p), p);
	memset(out, 0, sizeof *out);
	if (strcmp(sel, "{}") == 0)
		return q;
	if (promql_parse_selector(sel, arena, &m, &n, errbuf)) {
		fprintf(stderr, "bad series %s: %s\n", sel, errbuf);
		return NULL;
	}
	out->v = ob_arena_alloc(arena, (n + 1) * sizeof *out->v);
	for (i = 0; i < n; i++) {
		out->v[out->n].name = m[i].name;
		out->v[out->n++].value = m[i].value;
	}
	promql_matchers_release(m, n);
	qsort(out->v, out->n, sizeof *out->v, label_cmp);
	return q;
}

static double
parse_num(const char *s, char **end)
{
	if (strncasecmp(s, "inf", 3) == 0 || strncasecmp(s, "+inf", 4) == 0) {
		*end = (char *)s + (s[0] == '+' ? 4 : 3);
		return INFINITY;
	}
	if (strncasecmp(s, "-inf", 4) == 0) {
		*end = (char *)s + 4;
		return -INFINITY;
	}
	if (strncasecmp(s, "nan", 3) == 0) {
		*end = (char *)s + 3;
		return NAN;
	}
	return strtod(s, end);
}

/* One "load" line: labels and value items. */
static bool
load_line(struct mem_db *db, const char *line, int64_t step)
{
	struct series_labels l;
	struct mem_series *s;
	const char *p;

	while (isspace((unsigned char)*line))
		line++;
	p = parse_labels(&db->arena, line, &l);
	int64_t t = 0;

	if (p == NULL)
		return false;
	s = mem_db_series(db, &l);
	while (*p) {
		char tok[128], *end;
		size_t n = 0;

		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		while (*p && !isspace((unsigned char)*p) && n < sizeof tok - 1)
			tok[n++] = *p++;
		tok[n] = 0;
		if (tok[0] == '_') {
			t += step * (tok[1] == 'x' ? atoll(tok + 2) : 1);
			continue;
		}
		if (strcmp(tok, "stale") == 0) {
			mem_add(s, t, series_stale_nan());
			t += step;
			continue;
		}
		{
			char *x = strchr(tok, 'x');
			double a, b = 0;
			long long times = 0;

			if (x) {        /* decimal only: "0x10" is 0 repeated */
				*x = 0;
				times = strtoll(x + 1, NULL, 10);
			}
			a = parse_num(tok, &end);
			if (*end == '+' || *end == '-')
				b = parse_num(end, &end);
			if (*end) {
				fprintf(stderr, "bad value %s\n", tok);
				return false;
			}
			for (long long i = 0; i <= times; i++) {
				mem_add(s, t, a);
				a += b;
				t += step;
			}
		}
	}
	return true;
}

struct expect {
	struct series_labels l;
	double v;
	bool scalar;
};

static bool
close_enough(double a, double b)
{
	double diff;

	if (isnan(a) && isnan(b))
		return true;
	if (a == b)
		return true;
	diff = fabs(a - b);
	if (a == 0 || b == 0 || diff < 2.2250738585072014e-308)
		return diff < 1e-6 * 2.2250738585072014e-308;
	return diff / (fabs(a) + fabs(b)) < 1e-6;
}

static bool
labels_same(const struct series_labels *a, const struct series_labels *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].name, b->v[i].name) || strcmp(a->v[i].value, b->v[i].value))
			return false;
	return true;
}

static void
print_labels(FILE *f, const struct series_labels *l)
{
	fprintf(f, "{");
	for (size_t i = 0; i < l->n; i++)
		fprintf(f, "%s%s=\"%s\"", i ? ", " : "", l->v[i].name, l->v[i].value);
	fprintf(f, "}");
}

/* The answer (series and value at index pick) against what is expected. */
static bool
compare(const char *where, const struct promql_result *r, size_t pick, const struct expect *ex,
	size_t nex, bool ordered)
{
	if (r->type == PROMQL_SCALAR) {
		if (nex != 1 || !close_enough(r->scalar, ex[0].v)) {
			fprintf(stderr, "%s: scalar %g, expected %g (%zu lines)\n", where, r->scalar,
				nex ? ex[0].v : NAN, nex);
			return false;
		}
		return true;
	}
	if (r->nseries != nex) {
		fprintf(stderr, "%s: %zu series, expected %zu\n", where, r->nseries, nex);
		for (size_t i = 0; i < r->nseries; i++) {
			fprintf(stderr, "   got ");
			print_labels(stderr, &r->series[i].labels);
			if (r->series[i].nf)
				fprintf(stderr, " %g\n", r->series[i].f[0].v);
			else
				fprintf(stderr, " (hist)\n");
		}
		return false;
	}
	for (size_t i = 0; i < r->nseries; i++) {
		const struct promql_series *s = &r->series[i];
		size_t j;
		double v;

		for (j = 0; j < nex && !labels_same(&s->labels, &ex[j].l); j++)
			;
		if (j == nex || (ordered && j != i)) {
			fprintf(stderr, "%s: unexpected series ", where);
			print_labels(stderr, &s->labels);
			fprintf(stderr, "%s\n", ordered ? " (or out of order)" : "");
			return false;
		}
		if (pick >= s->nf) {
			fprintf(stderr, "%s: no float value for ", where);
			print_labels(stderr, &s->labels);
			fprintf(stderr, "\n");
			return false;
		}
		v = s->f[pick].v;
		if (!close_enough(v, ex[j].v)) {
			fprintf(stderr, "%s: ", where);
			print_labels(stderr, &s->labels);
			fprintf(stderr, " = %.17g, expected %.17g\n", v, ex[j].v);
			return false;
		}
	}
	return true;
}

/* Run a script; returns the number of failed evaluations (and prints them). */
static int
run_script(const char *name, const char *script)
{
	struct mem_db db = { 0 };
	struct promql_source src = { .ctx = &db, .select = mem_select };
	char *copy = ob_xstrdup(script), *line, *save = NULL;
	int failures = 0, lineno = 0;
	char *pending = NULL;

	ob_arena_init(&db.arena, 0);
	line = strtok_r(copy, "\n", &save);
	while (line) {
		char *l = line;
		int64_t step;

		lineno++;
		while (isspace((unsigned char)*l))
			l++;
		if (*l == 0 || *l == '#') {
			line = strtok_r(NULL, "\n", &save);
			continue;
		}
		if (strcmp(l, "clear") == 0) {
			mem_db_clear(&db);
			line = strtok_r(NULL, "\n", &save);
			continue;
		}
		if (strncmp(l, "load ", 5) == 0) {
			if (promql_parse_duration(l + 5, &step)) {
				fprintf(stderr, "%s:%d: bad load step\n", name, lineno);
				failures++;
			}
			while ((line = strtok_r(NULL, "\n", &save)) && isspace((unsigned char)*line)) {
				lineno++;
				if (!load_line(&db, line, step))
					failures++;
			}
			continue;
		}
		if (strncmp(l, "eval", 4) == 0) {
			bool fail = strncmp(l, "eval_fail", 9) == 0;
			bool ordered = strncmp(l, "eval_ordered", 12) == 0;
			char *at = strstr(l, " at "), *q, where[512], errbuf[OB_ERRLEN], dur[64];
			struct expect ex[256];
			size_t nex = 0;
			int64_t t = 0;
			struct ob_arena arena;
			struct promql_expr *e;
			struct promql_result r;
			enum ob_err err;
			bool parsed;

			ob_arena_init(&arena, 1 << 30);
			q = at + 4;
			sscanf(q, "%63s", dur);
			q += strlen(dur);
			while (*q == ' ')
				q++;
			promql_parse_duration(dur, &t);
			snprintf(where, sizeof where, "%s:%d: %s", name, lineno, q);
			pending = q;
			while ((line = strtok_r(NULL, "\n", &save)) && isspace((unsigned char)*line)) {
				char *p = line, *end;

				lineno++;
				while (isspace((unsigned char)*p))
					p++;
				if (*p == 0)
					continue;
				if (isdigit((unsigned char)*p) || *p == '-' || *p == '+' || *p == '.' ||
				    strncasecmp(p, "nan", 3) == 0 || strncasecmp(p, "inf", 3) == 0) {
					ex[nex].scalar = true;
					memset(&ex[nex].l, 0, sizeof ex[nex].l);
					ex[nex++].v = parse_num(p, &end);
					if (*end && !isspace((unsigned char)*end)) {
						fprintf(stderr, "%s:%d: bad expected value\n", name,
							lineno);
						failures++;
					}
					continue;
				}
				if ((p = (char *)parse_labels(&arena, p, &ex[nex].l)) == NULL) {
					failures++;
					continue;
				}
				ex[nex++].v = parse_num(p + strspn(p, " \t"), &end);
				if (*end && !isspace((unsigned char)*end)) {
					fprintf(stderr, "%s:%d: bad expected value\n", name, lineno);
					failures++;
				}
			}
			err = promql_parse(pending, &arena, &e, errbuf);
			parsed = !err;
			if (!err)
				err = promql_eval_instant(e, t, NULL, &src, &arena, &r, errbuf);
			if (fail) {
				if (!err) {
					fprintf(stderr, "%s: expected an error\n", where);
					failures++;
				}
			} else if (err) {
				fprintf(stderr, "%s: %s\n", where, errbuf);
				failures++;
			} else if (!compare(where, &r, 0, ex, nex, ordered)) {
				failures++;
			} else if ((r.type == PROMQL_VECTOR || r.type == PROMQL_SCALAR) &&
				   !strstr(pending, "start()") && !strstr(pending, "end()")) {
				/*
				 * The middle step of a range query must agree (not with
				 * @ start() or end(), which move with the range).
				 */
				struct promql_result rr;

				err = promql_eval_range(e, t - 60000, t + 60000, 60000, NULL, &src,
							&arena, &rr, errbuf);
				if (err) {
					fprintf(stderr, "%s (range): %s\n", where, errbuf);
					failures++;
				} else {
					struct promql_result mid = rr;
					struct promql_series *ss = calloc(rr.nseries + 1, sizeof *ss);
					size_t n = 0;

					for (size_t i = 0; i < rr.nseries; i++)
						for (size_t j = 0; j < rr.series[i].nf; j++)
							if (rr.series[i].f[j].t == t) {
								ss[n] = rr.series[i];
								ss[n].f += j;
								ss[n++].nf = 1;
							}
					mid.series = ss;
					mid.nseries = n;
					mid.type = PROMQL_VECTOR;
					if (r.type == PROMQL_SCALAR) {
						mid.type = PROMQL_SCALAR;
						mid.scalar = n ? ss[0].f[0].v : NAN;
					}
					snprintf(where + strlen(where), sizeof where - strlen(where),
						 " (range)");
					if (!compare(where, &mid, 0, ex, nex, false))
						failures++;
					free(ss);
				}
			}
			if (parsed)
				promql_expr_release(e);
			ob_arena_release(&arena);
			continue;
		}
		fprintf(stderr, "%s:%d: unknown command: %s\n", name, lineno, l);
		failures++;
		line = strtok_r(NULL, "\n", &save);
	}
	mem_db_clear(&db);
	ob_arena_release(&db.arena);
	free(copy);
	return failures;
}

#endif
