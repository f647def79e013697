/*
 * promql_eval.c - the PromQL evaluator's core: instant and range queries,
 * the step loop, node dispatch, and the label and map helpers the other
 * evaluator files share.
 *
 * The design is Prometheus's engine: every node evaluates over all the
 * steps of its (sub)query at once and gives a matrix whose series hold a
 * point at the steps where they have a value.  An instant query is a
 * range query of one step.  Operators and instant-vector functions run in
 * pq_range_eval: their operands are evaluated first, then, step by step,
 * each operand's vector at that step is gathered and handed to a step
 * function, whose output is merged into series by label set.  A step whose
 * output holds the same label set twice is an error, as in Prometheus.
 * Scalars are matrices of one series without labels and a point at every
 * step.
 *
 * Memory: everything comes from the query's arena (one per query); the
 * arena's cap and max_samples bound a query (OB_ETOOBIG), the deadline
 * bounds its time (OB_EBUSY).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "model/promql_ast.h"

#define TOO_MANY "query processing would load too many samples into memory in query execution"

void *
pq_alloc(struct pq_eval *ev, size_t n)
{
	void *p = ob_arena_alloc(ev->arena, n ? n : 1);

	if (p == NULL)          /* the arena's cap: give up the whole query */
		longjmp(*ev->oom, 1);
	memset(p, 0, n);
	return p;
}

void
pq_vec_push(struct pq_eval *ev, struct pq_vector *v, const struct series_labels *l, double val,
	    const struct series_histogram *h)
{
	struct pq_sample s = { .labels = l, .v = val, .h = h };

	pq_vec_add(ev, v, &s);
}

void
pq_vec_add(struct pq_eval *ev, struct pq_vector *v, const struct pq_sample *s)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 16;
		struct pq_sample *g = pq_alloc(ev, cap * sizeof *g);

		if (v->n)
			memcpy(g, v->s, v->n * sizeof *g);
		v->s = g;
		v->cap = cap;
	}
	v->s[v->n++] = *s;
}

enum ob_err
pq_check_time(struct pq_eval *ev)
{
	if ((++ev->tick & 255) == 0 && ev->deadline_ns && ob_mono_ns() > ev->deadline_ns)
		return ob_errf(ev->errbuf, OB_EBUSY, "query timed out in expression evaluation");
	return OB_OK;
}

enum ob_err
pq_add_samples(struct pq_eval *ev, size_t n)
{
	ev->samples += n;
	if (ev->samples > ev->max_samples)
		return ob_errf(ev->errbuf, OB_ETOOBIG, "%s", TOO_MANY);
	return pq_check_time(ev);
}

void
pq_defer_reserve(struct pq_eval *ev)
{
	if (ev->ncleanup == ev->cleanup_cap) {
		size_t cap = ev->cleanup_cap ? 2 * ev->cleanup_cap : 8;
		regex_t **g = pq_alloc(ev, cap * sizeof *g);

		if (ev->ncleanup)
			memcpy(g, ev->cleanup, ev->ncleanup * sizeof *g);
		ev->cleanup = g;
		ev->cleanup_cap = cap;
	}
}

void
pq_defer_regfree(struct pq_eval *ev, regex_t *re)
{
	pq_defer_reserve(ev);
	ev->cleanup[ev->ncleanup++] = re;
}

/* Free what lives outside the arena, whichever way the query ended. */
static void
pq_cleanup(struct pq_eval *ev)
{
	for (size_t i = 0; i < ev->ncleanup; i++)
		regfree(ev->cleanup[i]);
	ev->ncleanup = 0;
}

/* --- labels --- */

uint64_t
pq_labels_hash(const struct series_labels *l)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < l->n; i++) {
		const unsigned char *p;

		for (p = (const unsigned char *)l->v[i].name; *p; p++)
			h = (h ^ *p) * 0x100000001b3ULL;
		h = (h ^ 0xff) * 0x100000001b3ULL;
		for (p = (const unsigned char *)l->v[i].value; *p; p++)
			h = (h ^ *p) * 0x100000001b3ULL;
		h = (h ^ 0xfe) * 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

bool
pq_labels_equal(const struct series_labels *a, const struct series_labels *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].name, b->v[i].name) || strcmp(a->v[i].value, b->v[i].value))
			return false;
	return true;
}

bool
pq_names_has(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

uint64_t
pq_labels_sig(const struct series_labels *l, const char *const *names, size_t n, bool keep)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < l->n; i++) {
		const unsigned char *p;

		if (pq_names_has(names, n, l->v[i].name) != keep)
			continue;
		if (!keep && strcmp(l->v[i].name, "__name__") == 0)
			continue;
		for (p = (const unsigned char *)l->v[i].name; *p; p++)
			h = (h ^ *p) * 0x100000001b3ULL;
		h = (h ^ 0xff) * 0x100000001b3ULL;
		for (p = (const unsigned char *)l->v[i].value; *p; p++)
			h = (h ^ *p) * 0x100000001b3ULL;
		h = (h ^ 0xfe) * 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

const struct series_labels *
pq_labels_filter(struct pq_eval *ev, const struct series_labels *l, const char *const *names,
		 size_t n, bool keep)
{
	struct series_labels *o = pq_alloc(ev, sizeof *o);

	o->v = pq_alloc(ev, (l->n ? l->n : 1) * sizeof *o->v);
	for (size_t i = 0; i < l->n; i++) {
		if (pq_names_has(names, n, l->v[i].name) != keep)
			continue;
		if (!keep && strcmp(l->v[i].name, "__name__") == 0)
			continue;
		o->v[o->n++] = l->v[i];
	}
	return o;
}

const struct series_labels *
pq_labels_set(struct pq_eval *ev, const struct series_labels *l, const char *name,
	      const char *value)
{
	struct series_labels *o = pq_alloc(ev, sizeof *o);
	bool done = false;

	o->v = pq_alloc(ev, (l->n + 1) * sizeof *o->v);
	for (size_t i = 0; i < l->n; i++) {
		int c = strcmp(l->v[i].name, name);

		if (c == 0) {
			done = true;
			if (value && *value)
				o->v[o->n++] = (struct series_label){ l->v[i].name, value };
			continue;
		}
		if (c > 0 && !done) {
			done = true;
			if (value && *value)
				o->v[o->n++] = (struct series_label){ name, value };
		}
		o->v[o->n++] = l->v[i];
	}
	if (!done && value && *value)
		o->v[o->n++] = (struct series_label){ name, value };
	return o;
}

const struct series_labels *
pq_labels_drop_name(struct pq_eval *ev, const struct series_labels *l)
{
	long idx;
	size_t i;

	for (i = 0; i < l->n && strcmp(l->v[i].name, "__name__"); i++)
		;
	if (i == l->n)
		return l;
	if (ev->dropped == NULL) {
		ev->dropped = pq_alloc(ev, sizeof *ev->dropped);
		pq_map_init(ev, ev->dropped, 64);
	}
	idx = pq_map_get(ev, ev->dropped, (uint64_t)(uintptr_t)l, false, 0);
	if (idx >= 0)
		return ev->dropped_v[idx];
	if (ev->ndropped == ev->dropped_cap) {
		size_t cap = ev->dropped_cap ? 2 * ev->dropped_cap : 64;
		const struct series_labels **g = pq_alloc(ev, cap * sizeof *g);

		if (ev->ndropped)
			memcpy(g, ev->dropped_v, ev->ndropped * sizeof *g);
		ev->dropped_v = g;
		ev->dropped_cap = cap;
	}
	ev->dropped_v[ev->ndropped] = pq_labels_set(ev, l, "__name__", NULL);
	pq_map_get(ev, ev->dropped, (uint64_t)(uintptr_t)l, true, (uint32_t)ev->ndropped);
	return ev->dropped_v[ev->ndropped++];
}

/* --- map --- */

void
pq_map_init(struct pq_eval *ev, struct pq_map *m, size_t hint)
{
	m->cap = 16;
	while (m->cap < 2 * hint)
		m->cap *= 2;
	m->keys = pq_alloc(ev, m->cap * sizeof *m->keys);
	m->vals = pq_alloc(ev, m->cap * sizeof *m->vals);
	m->n = 0;
}

void
pq_map_prepare(struct pq_eval *ev, struct pq_map *m, size_t hint)
{
	if (m->cap && m->cap >= 2 * hint) {
		memset(m->vals, 0, m->cap * sizeof *m->vals);
		m->n = 0;
		return;
	}
	pq_map_init(ev, m, hint);
}

long
pq_map_get(struct pq_eval *ev, struct pq_map *m, uint64_t key, bool insert, uint32_t val)
{
	size_t mask = m->cap - 1, i = (size_t)(key * 0x9e3779b97f4a7c15ULL >> 20) & mask;

	for (;; i = (i + 1) & mask) {
		if (m->vals[i] == 0)
			break;
		if (m->keys[i] == key)
			return (long)m->vals[i] - 1;
	}
	if (!insert)
		return -1;
	if (2 * (m->n + 1) > m->cap) {
		struct pq_map g;

		g.cap = 2 * m->cap;
		g.keys = pq_alloc(ev, g.cap * sizeof *g.keys);
		g.vals = pq_alloc(ev, g.cap * sizeof *g.vals);
		g.n = 0;
		for (size_t j = 0; j < m->cap; j++)
			if (m->vals[j])
				pq_map_get(ev, &g, m->keys[j], true, m->vals[j] - 1);
		*m = g;
		return pq_map_get(ev, m, key, true, val);
	}
	m->keys[i] = key;
	m->vals[i] = val + 1;
	m->n++;
	return -1;
}

/* --- the step loop --- */

struct builder {
	struct pq_map map;
	struct series_data *s;
	size_t *fcap, *hcap;
	size_t n, cap, nsteps;
};

static void
builder_init(struct pq_eval *ev, struct builder *b, size_t hint)
{
	memset(b, 0, sizeof *b);
	b->nsteps = pq_nsteps(ev);
	b->cap = hint ? hint : 4;
	b->s = pq_alloc(ev, b->cap * sizeof *b->s);
	b->fcap = pq_alloc(ev, b->cap * sizeof *b->fcap);
	b->hcap = pq_alloc(ev, b->cap * sizeof *b->hcap);
	pq_map_init(ev, &b->map, hint);
}

static enum ob_err
builder_add(struct pq_eval *ev, struct builder *b, const struct pq_sample *smp, int64_t ts)
{
	uint64_t h = pq_labels_hash(smp->labels);
	long idx = pq_map_get(ev, &b->map, h, false, 0);
	struct series_data *s;

	if (idx < 0) {
		if (b->n == b->cap) {
			size_t cap = 2 * b->cap;
			struct series_data *g = pq_alloc(ev, cap * sizeof *g);
			size_t *fc = pq_alloc(ev, cap * sizeof *fc), *hc = pq_alloc(ev, cap * sizeof *hc);

			memcpy(g, b->s, b->n * sizeof *g);
			memcpy(fc, b->fcap, b->n * sizeof *fc);
			memcpy(hc, b->hcap, b->n * sizeof *hc);
			b->s = g, b->fcap = fc, b->hcap = hc, b->cap = cap;
		}
		idx = (long)b->n++;
		pq_map_get(ev, &b->map, h, true, (uint32_t)idx);
		b->s[idx].labels = *smp->labels;
	}
	s = &b->s[idx];
	if ((s->nf && s->f[s->nf - 1].t == ts) || (s->nh && s->h[s->nh - 1].t == ts))
		return ob_errf(ev->errbuf, OB_EINVAL,
			       "vector cannot contain metrics with the same labelset");
	if (smp->h) {
		struct series_histogram *c;

		if (s->nh == b->hcap[idx]) {
			size_t cap = s->nh ? 2 * s->nh : (b->nsteps < 16 ? b->nsteps : 16);
			struct series_histogram *g = pq_alloc(ev, cap * sizeof *g);

			if (s->nh)
				memcpy(g, s->h, s->nh * sizeof *g);
			s->h = g;
			b->hcap[idx] = cap;
		}
		c = &s->h[s->nh++];
		*c = *smp->h;
		c->t = ts;
	} else {
		if (s->nf == b->fcap[idx]) {
			size_t cap = s->nf ? 2 * s->nf : (b->nsteps < 16 ? b->nsteps : 16);
			struct series_sample *g = pq_alloc(ev, cap * sizeof *g);

			if (s->nf)
				memcpy(g, s->f, s->nf * sizeof *g);
			s->f = g;
			b->fcap[idx] = cap;
		}
		s->f[s->nf].t = ts;
		s->f[s->nf++].v = smp->v;
	}
	return OB_OK;
}

enum ob_err
pq_range_eval_m(struct pq_eval *ev, struct pq_matrix *in, size_t nin, pq_step_fn fn, void *ctx,
		struct pq_matrix *out)
{
	size_t nsteps = pq_nsteps(ev), k, j, i, biggest = 1;
	struct pq_vector *vecs = pq_alloc(ev, (nin ? nin : 1) * sizeof *vecs), outv = { 0 };
	size_t **fi = pq_alloc(ev, (nin ? nin : 1) * sizeof *fi);
	size_t **hi = pq_alloc(ev, (nin ? nin : 1) * sizeof *hi);
	struct builder b;
	int64_t ts;
	enum ob_err err;

	for (j = 0; j < nin; j++) {
		fi[j] = pq_alloc(ev, (in[j].n ? in[j].n : 1) * sizeof **fi);
		hi[j] = pq_alloc(ev, (in[j].n ? in[j].n : 1) * sizeof **hi);
		vecs[j].cap = in[j].n ? in[j].n : 1;
		vecs[j].s = pq_alloc(ev, vecs[j].cap * sizeof *vecs[j].s);
		if (in[j].n > biggest)
			biggest = in[j].n;
	}
	builder_init(ev, &b, biggest);
	for (k = 0, ts = ev->start; k < nsteps; k++, ts += ev->interval) {
		for (j = 0; j < nin; j++) {
			vecs[j].n = 0;
			for (i = 0; i < in[j].n; i++) {
				const struct series_data *s = &in[j].s[i];
				struct pq_sample *smp;

				if (fi[j][i] < s->nf && s->f[fi[j][i]].t == ts) {
					smp = &vecs[j].s[vecs[j].n++];
					*smp = (struct pq_sample){ &s->labels, ts, s->f[fi[j][i]++].v,
								   NULL, i };
				} else if (hi[j][i] < s->nh && s->h[hi[j][i]].t == ts) {
					smp = &vecs[j].s[vecs[j].n++];
					*smp = (struct pq_sample){ &s->labels, ts, 0,
								   &s->h[hi[j][i]++], i };
				}
			}
		}
		outv.n = 0;
		if ((err = fn(ev, ctx, vecs, ts, &outv)))
			return err;
		if ((err = pq_add_samples(ev, outv.n)))
			return err;
		for (i = 0; i < outv.n; i++)
			if ((err = builder_add(ev, &b, &outv.s[i], ts)))
				return err;
	}
	out->s = b.s;
	out->n = b.n;
	return OB_OK;
}

enum ob_err
pq_range_eval(struct pq_eval *ev, const struct promql_expr *const *args, size_t nargs,
	      pq_step_fn fn, void *ctx, struct pq_matrix *out)
{
	struct pq_matrix *in = pq_alloc(ev, (nargs ? nargs : 1) * sizeof *in);
	enum ob_err err;

	for (size_t i = 0; i < nargs; i++)
		if (args[i] && args[i]->type != PROMQL_STRING &&
		    (err = pq_eval_node(ev, args[i], &in[i])))
			return err;
	return pq_range_eval_m(ev, in, nargs, fn, ctx, out);
}

/* --- nodes --- */

static enum ob_err
eval_number(struct pq_eval *ev, double v, struct pq_matrix *out)
{
	size_t nsteps = pq_nsteps(ev), k;

	out->n = 1;
	out->s = pq_alloc(ev, sizeof *out->s);
	out->s[0].f = pq_alloc(ev, nsteps * sizeof *out->s[0].f);
	out->s[0].nf = nsteps;
	for (k = 0; k < nsteps; k++) {
		out->s[0].f[k].t = ev->start + (int64_t)k * ev->interval;
		out->s[0].f[k].v = v;
	}
	return OB_OK;
}

static enum ob_err
eval_unary_minus(struct pq_eval *ev, const struct promql_expr *e, struct pq_matrix *out)
{
	struct pq_map seen;
	enum ob_err err;

	if ((err = pq_eval_node(ev, e->expr, out)))
		return err;
	if (e->type == PROMQL_VECTOR)
		pq_map_init(ev, &seen, out->n);
	for (size_t i = 0; i < out->n; i++) {
		struct series_data *s = &out->s[i];
		struct series_sample *f = pq_alloc(ev, (s->nf ? s->nf : 1) * sizeof *f);

		for (size_t j = 0; j < s->nf; j++) {
			f[j].t = s->f[j].t;
			f[j].v = -s->f[j].v;
		}
		s->f = f;
		if (e->type != PROMQL_VECTOR)
			continue;
		s->labels = *pq_labels_drop_name(ev, &s->labels);
		if (pq_map_get(ev, &seen, pq_labels_hash(&s->labels), false, 0) >= 0)
			return ob_errf(ev->errbuf, OB_EINVAL,
				       "vector cannot contain metrics with the same labelset");
		pq_map_get(ev, &seen, pq_labels_hash(&s->labels), true, (uint32_t)i);
	}
	return OB_OK;
}

enum ob_err
pq_eval_node(struct pq_eval *ev, const struct promql_expr *e, struct pq_matrix *out)
{
	enum ob_err err;

	if ((err = pq_check_time(ev)))
		return err;
	switch (e->kind) {
	case PQ_NUMBER:
		return eval_number(ev, e->number, out);
	case PQ_STRING:
		return ob_errf(ev->errbuf, OB_EINVAL, "a string is not a series value");
	case PQ_VECTOR_SEL:
		return pq_eval_vector_sel(ev, e, out, false);
	case PQ_MATRIX_SEL:
		if (ev->start != ev->end)
			return ob_errf(ev->errbuf, OB_EINVAL,
				       "cannot do range evaluation of matrix selector");
		return pq_load_matrix(ev, e, out);
	case PQ_SUBQUERY:
		return pq_eval_subquery(ev, e, out);
	case PQ_PAREN:
		return pq_eval_node(ev, e->expr, out);
	case PQ_UNARY:
		if (e->op == PQ_SUB)
			return eval_unary_minus(ev, e, out);
		return pq_eval_node(ev, e->expr, out);
	case PQ_BINARY:
		return pq_eval_binary(ev, e, out);
	case PQ_AGGREGATE:
		return pq_eval_aggregate(ev, e, out);
	case PQ_CALL:
		return pq_eval_call(ev, e, out);
	}
	return ob_errf(ev->errbuf, OB_EINTERNAL, "unknown expression node");
}

enum ob_err
pq_eval_subquery(struct pq_eval *ev, const struct promql_expr *e, struct pq_matrix *out)
{
	struct pq_eval sub = *ev;
	int64_t first = pq_ref_time(ev, e->at, e->at_ms, ev->start) - e->offset_ms;
	int64_t last = pq_ref_time(ev, e->at, e->at_ms, ev->end) - e->offset_ms;
	int64_t lo = first - e->range_ms;
	enum ob_err err;

	sub.interval = e->step_ms ? e->step_ms : ev->subquery_step;
	sub.start = sub.interval * (lo / sub.interval);
	if (sub.start < lo)
		sub.start += sub.interval;
	sub.end = last;
	if (sub.end < sub.start) {
		out->s = NULL;
		out->n = 0;
		return OB_OK;
	}
	err = pq_eval_node(&sub, e->expr, out);
	ev->cleanup = sub.cleanup;
	ev->ncleanup = sub.ncleanup;
	ev->cleanup_cap = sub.cleanup_cap;
	ev->samples = sub.samples;
	ev->tick = sub.tick;
	ev->dropped = sub.dropped;
	ev->dropped_v = sub.dropped_v;
	ev->ndropped = sub.ndropped;
	ev->dropped_cap = sub.dropped_cap;
	return err;
}

/* --- the API --- */

static void
eval_init(struct pq_eval *ev, const struct promql_opts *opts, const struct promql_source *src,
	  struct ob_arena *arena, char *errbuf)
{
	memset(ev, 0, sizeof *ev);
	ev->src = src;
	ev->arena = arena;
	ev->errbuf = errbuf;
	ev->lookback = opts && opts->lookback_ms ? opts->lookback_ms : 5 * 60 * 1000;
	ev->max_samples = opts && opts->max_samples ? opts->max_samples : 50000000;
	ev->subquery_step = opts && opts->subquery_step_ms > 0 ? opts->subquery_step_ms : 60000;
	ev->deadline_ns = ob_mono_ns() + (opts && opts->timeout_ns ? opts->timeout_ns :
					  120ULL * 1000000000ULL);
}

static const struct promql_expr *
unparen(const struct promql_expr *e)
{
	while (e->kind == PQ_PAREN)
		e = e->expr;
	return e;
}

static void
to_result_series(const struct pq_matrix *m, struct promql_result *out, struct pq_eval *ev)
{
	out->nseries = m->n;
	out->series = pq_alloc(ev, (m->n ? m->n : 1) * sizeof *out->series);
	for (size_t i = 0; i < m->n; i++) {
		out->series[i].labels = m->s[i].labels;
		out->series[i].f = m->s[i].f;
		out->series[i].nf = m->s[i].nf;
		out->series[i].h = m->s[i].h;
		out->series[i].nh = m->s[i].nh;
	}
}

static enum ob_err
instant(struct pq_eval *ev, const struct promql_expr *e, int64_t t, struct promql_result *out)
{
	struct pq_matrix m;
	enum ob_err err;

	ev->start = ev->end = ev->query_start = ev->query_end = t;
	ev->interval = 1;
	out->type = e->type;
	if (e->type == PROMQL_STRING) {
		out->string = unparen(e)->string;
		out->scalar_t = t;
		return OB_OK;
	}
	if ((err = pq_eval_node(ev, e, &m)))
		return err;
	if (e->type == PROMQL_SCALAR) {
		out->scalar = m.n && m.s[0].nf ? m.s[0].f[0].v : NAN;
		out->scalar_t = t;
		return OB_OK;
	}
	to_result_series(&m, out, ev);
	if (e->type == PROMQL_VECTOR)
		for (size_t i = 0; i < out->nseries; i++) {
			if (out->series[i].nf)
				out->series[i].f[0].t = t;
			if (out->series[i].nh)
				out->series[i].h[0].t = t;
		}
	out->warnings = ev->warnings;
	out->nwarnings = ev->nwarnings;
	return OB_OK;
}

enum ob_err
promql_eval_instant(const struct promql_expr *e, int64_t t, const struct promql_opts *opts,
		    const struct promql_source *src, struct ob_arena *arena,
		    struct promql_result *out, char *errbuf)
{
	struct pq_eval ev;
	struct promql_expr const *volatile ve = e;
	struct promql_result *volatile vout = out;
	volatile int64_t vt = t;
	jmp_buf oom;

	enum ob_err err;

	memset(out, 0, sizeof *out);
	eval_init(&ev, opts, src, arena, errbuf);
	ev.oom = &oom;
	if (setjmp(oom))
		err = ob_errf(ev.errbuf, OB_ETOOBIG, "%s", TOO_MANY);
	else
		err = instant(&ev, ve, vt, vout);
	pq_cleanup(&ev);
	return err;
}

static int
cmp_result_series(const void *a, const void *b)
{
	const struct series_labels *x = &((const struct promql_series *)a)->labels;
	const struct series_labels *y = &((const struct promql_series *)b)->labels;

	for (size_t i = 0; i < x->n && i < y->n; i++) {
		int c = strcmp(x->v[i].name, y->v[i].name);

		if (c)
			return c;
		if ((c = strcmp(x->v[i].value, y->v[i].value)))
			return c;
	}
	return x->n < y->n ? -1 : x->n > y->n;
}

static enum ob_err range_query(struct pq_eval *ev, const struct promql_expr *e,
			       struct promql_result *out);

/* pq_alloc longjmps here when the arena's cap is reached */
static enum ob_err
guarded_range(struct pq_eval *ev, const struct promql_expr *e, struct promql_result *out)
{
	struct promql_expr const *volatile ve = e;
	struct promql_result *volatile vout = out;
	jmp_buf oom;

	enum ob_err err;

	ev->oom = &oom;
	if (setjmp(oom))
		err = ob_errf(ev->errbuf, OB_ETOOBIG, "%s", TOO_MANY);
	else
		err = range_query(ev, ve, vout);
	pq_cleanup(ev);
	return err;
}

static enum ob_err
range_query(struct pq_eval *ev, const struct promql_expr *e, struct promql_result *out)
{
	struct pq_matrix m;
	enum ob_err err;

	if ((err = pq_eval_node(ev, e, &m)))
		return err;
	out->type = PROMQL_MATRIX;
	to_result_series(&m, out, ev);
	if (e->type == PROMQL_SCALAR && out->nseries == 1)
		out->series[0].labels.n = 0;
	qsort(out->series, out->nseries, sizeof *out->series, cmp_result_series);
	out->warnings = ev->warnings;
	out->nwarnings = ev->nwarnings;
	return OB_OK;
}

enum ob_err
promql_eval_range(const struct promql_expr *e, int64_t start, int64_t end, int64_t step,
		  const struct promql_opts *opts, const struct promql_source *src,
		  struct ob_arena *arena, struct promql_result *out, char *errbuf)
{
	struct pq_eval ev;

	memset(out, 0, sizeof *out);
	if (e->type != PROMQL_SCALAR && e->type != PROMQL_VECTOR)
		return ob_errf(errbuf, OB_EINVAL, "invalid expression type \"%s\" for range query, "
			       "must be Scalar or instant Vector",
			       e->type == PROMQL_MATRIX ? "range vector" : "string");
	if (step <= 0)
		return ob_errf(errbuf, OB_EINVAL, "zero or negative query resolution step widths "
			       "are not accepted. Try a positive integer");
	if (end < start)
		return ob_errf(errbuf, OB_EINVAL, "end timestamp must not be before start time");
	eval_init(&ev, opts, src, arena, errbuf);
	ev.start = ev.query_start = start;
	ev.end = ev.query_end = end;
	ev.interval = step;
	return guarded_range(&ev, e, out);
}
