/*
 * promql_select.c - label matchers, and the selectors that read series
 * from the source.
 *
 * A regex matcher compiles to a struct pq_regex with fast paths for the
 * patterns dashboards send most: ".*" (anything), ".+" (non-empty), plain
 * literals and alternations of literals ("a|b|c"), a literal prefix
 * ("api.*"); anything else runs regexec on the anchored POSIX pattern.
 * Compiled patterns are cached process-wide (see pq_matcher_compile).
 *
 * Each selector asks the source once for the whole query: the window is
 * [first step - offset - lookback (or range), last step - offset], or the
 * @ time's when the selector has one.  Steps then walk each series with a
 * cursor.  An instant vector selector at step t takes the latest sample in
 * [t - offset - lookback, t - offset]; a stale marker there hides the
 * series.  Range windows are [t - offset - range, t - offset], inclusive
 * at both ends as in Prometheus 2.x, without stale markers.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "model/promql_ast.h"
#include "model/regex.h"

enum rx_kind { RX_ALL, RX_NONEMPTY, RX_LITERALS, RX_PREFIX, RX_POSIX };

struct pq_regex {
	bool shared;            /* in the process-wide cache: never freed */
	enum rx_kind kind;
	char **lits;
	size_t nlits;
	regex_t re;
};

static bool
is_literal(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strchr(".[]()*+?{}|^$\\", s[i]))
			return false;
	return true;
}

/* "a|b|c" (a single literal included): no metacharacter but '|' */
static bool
is_literal_alternation(const char *s)
{
	for (; *s; s++)
		if (*s != '|' && strchr(".[]()*+?{}^$\\", *s))
			return false;
	return true;
}

static void
rx_free(struct pq_regex *rx)
{
	if (rx == NULL || rx->shared)
		return;
	if (rx->kind == RX_POSIX)
		regfree(&rx->re);
	for (size_t i = 0; i < rx->nlits; i++)
		free(rx->lits[i]);
	free(rx->lits);
	free(rx);
}

static enum ob_err
rx_compile(const char *v, struct pq_regex **out, char *why, size_t whylen)
{
	size_t len = strlen(v);
	struct pq_regex *rx;

	rx = ob_xcalloc(1, sizeof *rx);
	if (strcmp(v, ".*") == 0) {
		rx->kind = RX_ALL;
	} else if (strcmp(v, ".+") == 0) {
		rx->kind = RX_NONEMPTY;
	} else if (len > 2 && strcmp(v + len - 2, ".*") == 0 && is_literal(v, len - 2)) {
		rx->kind = RX_PREFIX;
		rx->lits = ob_xmalloc(sizeof *rx->lits);
		rx->lits[rx->nlits++] = ob_xstrndup(v, len - 2);
	} else if (is_literal_alternation(v)) {
		const char *p = v;

		rx->kind = RX_LITERALS;
		rx->lits = ob_xmalloc((len + 1) * sizeof *rx->lits);
		for (;;) {
			const char *bar = strchr(p, '|');
			size_t n = bar ? (size_t)(bar - p) : strlen(p);

			rx->lits[rx->nlits++] = ob_xstrndup(p, n);
			if (bar == NULL)
				break;
			p = bar + 1;
		}
	} else {
		switch (ob_regex_compile(v, REG_NOSUB, &rx->re, why, whylen)) {
		case OB_REGEX_OK:
			rx->kind = RX_POSIX;
			break;
		case OB_REGEX_INSANE:
			snprintf(why, whylen, "%s: unbalanced, back-references or too much repetition",
				 v);
			free(rx);
			return OB_EINVAL;
		case OB_REGEX_BAD:
			free(rx);
			return OB_EINVAL;
		}
	}
	*out = rx;
	return OB_OK;
}

/*
 * Compiled patterns are shared through a process-wide cache, so that a
 * dashboard's refreshes do not compile the same regex again and again,
 * and so that an expression not given to promql_expr_release() leaks
 * nothing: cached entries live as long as the process.  The cache holds
 * at most RX_CACHE_MAX patterns; past that, matchers own their regex.
 * regexec may run on a shared regex_t from several threads.
 */
#define RX_CACHE_MAX 4096

static struct rx_cache_entry {
	char *pattern;
	struct pq_regex *rx;
} *rx_cache;
static size_t rx_cache_n, rx_cache_cap;        /* open addressing, cap a power of 2 */
static pthread_mutex_t rx_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t
str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static struct pq_regex *
rx_cache_find(const char *pattern, uint64_t h)
{
	for (size_t i = h & (rx_cache_cap - 1);; i = (i + 1) & (rx_cache_cap - 1)) {
		if (rx_cache[i].pattern == NULL)
			return NULL;
		if (strcmp(rx_cache[i].pattern, pattern) == 0)
			return rx_cache[i].rx;
	}
}

static void
rx_cache_put(const char *pattern, uint64_t h, struct pq_regex *rx)
{
	size_t i;

	if (rx_cache_cap == 0) {
		rx_cache_cap = 2 * RX_CACHE_MAX;
		rx_cache = ob_xcalloc(rx_cache_cap, sizeof *rx_cache);
	}
	for (i = h & (rx_cache_cap - 1); rx_cache[i].pattern; i = (i + 1) & (rx_cache_cap - 1))
		;
	rx_cache[i].pattern = ob_xstrdup(pattern);
	rx_cache[i].rx = rx;
	rx_cache_n++;
}

enum ob_err
pq_matcher_compile(struct promql_matcher *m, char *why, size_t whylen)
{
	struct pq_regex *rx;
	uint64_t h;
	enum ob_err err;

	m->re = NULL;
	if (m->op != PROMQL_MATCH_RE && m->op != PROMQL_MATCH_NRE)
		return OB_OK;
	h = str_hash(m->value);
	pthread_mutex_lock(&rx_cache_lock);
	if (rx_cache_cap && (rx = rx_cache_find(m->value, h))) {
		pthread_mutex_unlock(&rx_cache_lock);
		m->re = rx;
		return OB_OK;
	}
	pthread_mutex_unlock(&rx_cache_lock);
	if ((err = rx_compile(m->value, &rx, why, whylen)))
		return err;
	pthread_mutex_lock(&rx_cache_lock);
	if (rx_cache_cap && rx_cache_find(m->value, h)) {
		/* compiled meanwhile by another thread: keep ours private */
	} else if (rx_cache_n < RX_CACHE_MAX) {
		rx->shared = true;
		rx_cache_put(m->value, h, rx);
	}
	pthread_mutex_unlock(&rx_cache_lock);
	m->re = rx;
	return OB_OK;
}

static bool
rx_match(const struct pq_regex *rx, const char *v)
{
	switch (rx->kind) {
	case RX_ALL:
		return true;
	case RX_NONEMPTY:
		return *v != 0;
	case RX_PREFIX:        /* "api.*": and no newline after it, as RE2's '.' */
		return strncmp(v, rx->lits[0], strlen(rx->lits[0])) == 0 &&
		       strchr(v + strlen(rx->lits[0]), '\n') == NULL;
	case RX_LITERALS:
		for (size_t i = 0; i < rx->nlits; i++)
			if (strcmp(v, rx->lits[i]) == 0)
				return true;
		return false;
	case RX_POSIX:
		return ob_regex_match(&rx->re, v);
	}
	return false;
}

bool
promql_matcher_matches(const struct promql_matcher *m, const char *value)
{
	if (value == NULL)
		value = "";
	switch (m->op) {
	case PROMQL_MATCH_EQ:
		return strcmp(value, m->value) == 0;
	case PROMQL_MATCH_NEQ:
		return strcmp(value, m->value) != 0;
	case PROMQL_MATCH_RE:
	case PROMQL_MATCH_NRE: {
		bool ok;

		if (m->re)
			ok = rx_match(m->re, value);
		else
			ok = false;
		return m->op == PROMQL_MATCH_RE ? ok : !ok;
	}
	}
	return false;
}

void
promql_matchers_release(struct promql_matcher *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		rx_free(m[i].re);
		m[i].re = NULL;
	}
}

void
promql_expr_release(struct promql_expr *e)
{
	if (e == NULL)
		return;
	promql_matchers_release(e->matchers, e->nmatchers);
	promql_expr_release(e->expr);
	promql_expr_release(e->param);
	promql_expr_release(e->lhs);
	promql_expr_release(e->rhs);
	for (size_t i = 0; i < e->nargs; i++)
		promql_expr_release(e->args[i]);
}

int64_t
pq_ref_time(const struct pq_eval *ev, enum pq_at at, int64_t at_ms, int64_t ts)
{
	switch (at) {
	case PQ_AT_TS: return at_ms;
	case PQ_AT_START: return ev->query_start;
	case PQ_AT_END: return ev->query_end;
	default: return ts;
	}
}

static enum ob_err
do_select(struct pq_eval *ev, const struct promql_expr *vs, int64_t mint, int64_t maxt,
	  int64_t range_ms, struct pq_matrix *out)
{
	enum ob_err err;

	out->s = NULL;
	out->n = 0;
	if (mint > maxt)
		return OB_OK;
	if (ev->src->select_hinted)
		err = ev->src->select_hinted(ev->src->ctx, vs->matchers, vs->nmatchers, mint, maxt,
					     range_ms, ev->arena, &out->s, &out->n, ev->errbuf);
	else
		err = ev->src->select(ev->src->ctx, vs->matchers, vs->nmatchers, mint, maxt,
				      ev->arena, &out->s, &out->n, ev->errbuf);
	if (err)
		return err;
	if (ev->arena->over)
		return ob_errf(ev->errbuf, OB_ETOOBIG, "query processing would load too many "
			       "samples into memory in query execution");
	/* max_samples counts what steps hold, as Prometheus does; the arena caps the rest */
	return pq_check_time(ev);
}

/* The latest sample of s at or before ref within the lookback; cursors advance. */
static bool
sample_at(const struct series_data *s, size_t *fi, size_t *hi, int64_t ref, int64_t lookback,
	  int64_t *t, double *v, const struct series_histogram **h)
{
	bool have_f = false, have_h = false;

	while (*fi < s->nf && s->f[*fi].t <= ref)
		(*fi)++;
	while (*hi < s->nh && s->h[*hi].t <= ref)
		(*hi)++;
	have_f = *fi > 0 && s->f[*fi - 1].t >= ref - lookback;
	have_h = *hi > 0 && s->h[*hi - 1].t >= ref - lookback;
	if (have_f && have_h) {
		if (s->f[*fi - 1].t >= s->h[*hi - 1].t)
			have_h = false;
		else
			have_f = false;
	}
	if (have_f) {
		*t = s->f[*fi - 1].t;
		*v = s->f[*fi - 1].v;
		*h = NULL;
		return !series_is_stale(*v);
	}
	if (have_h) {
		*t = s->h[*hi - 1].t;
		*h = &s->h[*hi - 1];
		*v = 0;
		return !series_is_stale((*h)->sum);
	}
	return false;
}

enum ob_err
pq_eval_vector_sel(struct pq_eval *ev, const struct promql_expr *e, struct pq_matrix *out,
		   bool sample_time)
{
	int64_t first = pq_ref_time(ev, e->at, e->at_ms, ev->start) - e->offset_ms;
	int64_t last = pq_ref_time(ev, e->at, e->at_ms, ev->end) - e->offset_ms;
	size_t nsteps = pq_nsteps(ev), i, k, nout = 0;
	struct pq_matrix in;
	enum ob_err err;

	if ((err = do_select(ev, e, first - ev->lookback, last, 0, &in)))
		return err;
	out->s = pq_alloc(ev, (in.n ? in.n : 1) * sizeof *out->s);
	out->n = 0;
	for (i = 0; i < in.n; i++) {
		const struct series_data *s = &in.s[i];
		struct series_data *o = &out->s[nout];
		size_t fi = 0, hi = 0, cap = nsteps;
		int64_t ts, ft = 0;
		double fv = 0;
		const struct series_histogram *fh = NULL;
		bool found = false;

		if ((err = pq_check_time(ev)))
			return err;
		if (s->nf + s->nh == 0)
			continue;
		if (nsteps > 16 && e->at == PQ_AT_NONE) {
			/* an upper bound from the series' own time span */
			int64_t lo = s->nf ? s->f[0].t : s->h[0].t, hi_t = lo;

			if (s->nf && s->f[s->nf - 1].t > hi_t)
				hi_t = s->f[s->nf - 1].t;
			if (s->nh && s->h[s->nh - 1].t > hi_t)
				hi_t = s->h[s->nh - 1].t;
			if (s->nh && s->h[0].t < lo)
				lo = s->h[0].t;
			cap = (size_t)((hi_t - lo + ev->lookback) / ev->interval) + 2;
			if (cap > nsteps)
				cap = nsteps;
		}
		o->labels = s->labels;
		for (k = 0, ts = ev->start; k < nsteps; k++, ts += ev->interval) {
			int64_t ref = pq_ref_time(ev, e->at, e->at_ms, ts) - e->offset_ms, t = 0;
			const struct series_histogram *h = NULL;
			double v = 0;

			/* with @ every step reads the same sample: look it up once */
			if (e->at == PQ_AT_NONE || k == 0) {
				found = sample_at(s, &fi, &hi, ref, ev->lookback, &t, &v, &h);
				ft = t, fv = v, fh = h;
			} else {
				t = ft, v = fv, h = fh;
			}
			if (!found)
				continue;
			if (h && !sample_time) {
				struct series_histogram *c;

				if (o->h == NULL)
					o->h = pq_alloc(ev, cap * sizeof *o->h);
				c = &o->h[o->nh++];
				*c = *h;
				c->t = ts;
			} else {
				if (o->f == NULL)
					o->f = pq_alloc(ev, cap * sizeof *o->f);
				o->f[o->nf].t = ts;
				o->f[o->nf++].v = sample_time ? (double)t / 1000.0 : v;
			}
		}
		if (o->nf + o->nh) {
			if ((err = pq_add_samples(ev, o->nf + o->nh)))
				return err;
			nout++;
		}
	}
	out->n = nout;
	return OB_OK;
}

/* Drop stale markers: range windows never see them. */
static void
drop_stale(struct pq_eval *ev, struct series_data *s)
{
	size_t i, n = 0;

	for (i = 0; i < s->nf && !series_is_stale(s->f[i].v); i++)
		;
	if (i < s->nf) {
		struct series_sample *f = pq_alloc(ev, s->nf * sizeof *f);

		for (i = 0; i < s->nf; i++)
			if (!series_is_stale(s->f[i].v))
				f[n++] = s->f[i];
		s->f = f;
		s->nf = n;
	}
	for (i = 0; i < s->nh && !series_is_stale(s->h[i].sum); i++)
		;
	if (i < s->nh) {
		struct series_histogram *h = pq_alloc(ev, s->nh * sizeof *h);

		for (i = 0, n = 0; i < s->nh; i++)
			if (!series_is_stale(s->h[i].sum))
				h[n++] = s->h[i];
		s->h = h;
		s->nh = n;
	}
}

enum ob_err
pq_range_arg_load(struct pq_eval *ev, const struct promql_expr *e, struct pq_range_arg *ra)
{
	enum ob_err err;

	while (e->kind == PQ_PAREN)
		e = e->expr;
	ra->range = e->range_ms;
	if (e->kind == PQ_SUBQUERY) {
		ra->offset = e->offset_ms;
		ra->at = e->at;
		ra->at_ms = e->at_ms;
		return pq_eval_subquery(ev, e, &ra->m);
	}
	ra->offset = e->expr->offset_ms;
	ra->at = e->expr->at;
	ra->at_ms = e->expr->at_ms;
	{
		int64_t first = pq_ref_time(ev, ra->at, ra->at_ms, ev->start) - ra->offset;
		int64_t last = pq_ref_time(ev, ra->at, ra->at_ms, ev->end) - ra->offset;

		if ((err = do_select(ev, e->expr, first - ra->range, last, ra->range, &ra->m)))
			return err;
	}
	for (size_t i = 0; i < ra->m.n; i++)
		drop_stale(ev, &ra->m.s[i]);
	return OB_OK;
}

/* A matrix selector as a value (instant queries only): the raw window at the start. */
enum ob_err
pq_load_matrix(struct pq_eval *ev, const struct promql_expr *ms, struct pq_matrix *out)
{
	struct pq_range_arg ra;
	int64_t maxt, mint;
	size_t i, n = 0;
	enum ob_err err;

	if ((err = pq_range_arg_load(ev, ms, &ra)))
		return err;
	maxt = pq_ref_time(ev, ra.at, ra.at_ms, ev->start) - ra.offset;
	mint = maxt - ra.range;
	out->s = pq_alloc(ev, (ra.m.n ? ra.m.n : 1) * sizeof *out->s);
	for (i = 0; i < ra.m.n; i++) {
		struct series_data s = ra.m.s[i];
		size_t a = 0, b = s.nf, c = 0, d = s.nh;

		while (a < b && s.f[a].t < mint)
			a++;
		while (b > a && s.f[b - 1].t > maxt)
			b--;
		while (c < d && s.h[c].t < mint)
			c++;
		while (d > c && s.h[d - 1].t > maxt)
			d--;
		if (a == b && c == d)
			continue;
		s.f = s.f ? s.f + a : NULL;       /* an empty array may be NULL */
		s.nf = b - a;
		s.h = s.h ? s.h + c : NULL;
		s.nh = d - c;
		if ((err = pq_add_samples(ev, s.nf + s.nh)))
			return err;
		out->s[n++] = s;
	}
	out->n = n;
	return OB_OK;
}
