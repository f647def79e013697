/*
 * traceql_metrics.c - the metrics accumulator (see traceql_metrics.h).
 *
 * Series are found by a key: the by() values (and the histogram bucket)
 * written as text, one after the other, in an open-addressing table of
 * indexes.  Spans of one resource usually come together, so the last
 * series is tried first.  Each series holds one accumulator per interval:
 * a count (rate, count, histogram), a sum, min or max (NaN until a value
 * comes), a sum and a count (avg), or every value (quantiles, sorted at
 * the end).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"
#include "model/traceql_ast.h"
#include "model/traceql_metrics.h"
#include "model/traceql_metrics_int.h"

static uint64_t
key_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

enum ob_err
traceql_metrics_new(const struct traceql_query *q, uint64_t start_ns, uint64_t end_ns,
		    uint64_t step_ns, struct traceql_metrics **out, char *errbuf)
{
	struct traceql_metrics *m;
	uint64_t first, last;

	*out = NULL;
	if (q == NULL || q->metrics == NULL)
		return ob_errf(errbuf, OB_EINVAL, "not a metrics query: end it with a metrics "
			       "function such as { } | rate()");
	if (end_ns <= start_ns || step_ns == 0)
		return ob_errf(errbuf, OB_EINVAL, "metrics need start < end and a step above 0");
	m = ob_xcalloc(1, sizeof *m);
	m->weight = 1;
	m->q = q;
	m->mq = q->metrics;
	m->step = step_ns;
	ob_buf_init(&m->key, 0);
	if (end_ns - start_ns == step_ns) {
		m->instant = true;
		m->first = end_ns;
		m->from = start_ns;
		m->to = end_ns;
		m->npoints = 1;
	} else {
		first = start_ns - start_ns % step_ns;
		last = end_ns % step_ns ? end_ns + (step_ns - end_ns % step_ns) : end_ns;
		if ((last - first) / step_ns >= TRACEQL_METRICS_MAX_POINTS) {
			free(m);
			return ob_errf(errbuf, OB_ETOOBIG, "metrics: %llu steps is more than the %d "
				       "obstui answers; raise step",
				       (unsigned long long)((last - first) / step_ns + 1),
				       TRACEQL_METRICS_MAX_POINTS);
		}
		m->first = first;
		m->to = last;
		m->from = first >= step_ns ? first - step_ns + 1 : 0;
		m->npoints = (size_t)((last - first) / step_ns) + 1;
	}
	*out = m;
	return OB_OK;
}

void
traceql_metrics_window(const struct traceql_metrics *m, uint64_t *from, uint64_t *to)
{
	*from = m->from;
	*to = m->to;
}

void
traceql_metrics_hints(const struct traceql_metrics *m, struct traceql_hints *h)
{
	memset(h, 0, sizeof *h);
	/* one filter: every span left at the end passed it (the stages only
	 * narrow, split or merge what it selected), so each satisfies the
	 * hints' span facts; the trace facts hold of any matching trace */
	if (m->q->root && m->q->root->op == TQ_SET_FILTER)
		traceql_hints_get(m->q, h);
}

/* The interval of a span that started at ts, or -1 outside the window. */
static long
interval_of(const struct traceql_metrics *m, uint64_t ts)
{
	if (ts < m->from || ts > m->to)
		return -1;
	if (m->instant)
		return 0;
	if (ts <= m->first)
		return 0;
	return (long)((ts - m->first + m->step - 1) / m->step);
}

static void
key_add_value(struct ob_buf *b, const struct tq_value *v, bool has)
{
	char num[48];

	if (!has) {
		ob_buf_add(b, "n\x1f", 2);
		return;
	}
	switch (v->type) {
	case TQ_STRING:
		ob_buf_add(b, "s", 1);
		ob_buf_addstr(b, v->s);
		break;
	case TQ_FLOAT:
		snprintf(num, sizeof num, "f%.17g", v->f);
		ob_buf_addstr(b, num);
		break;
	default:
		snprintf(num, sizeof num, "%d:%lld", (int)v->type, (long long)v->i);
		ob_buf_addstr(b, num);
		break;
	}
	ob_buf_add(b, "\x1f", 1);
}

static struct mseries *
series_new(struct traceql_metrics *m, const char *key, size_t klen, const struct tq_value *vals,
	   const bool *has, double bucket)
{
	struct mseries *s;
	size_t i;

	if (m->ns == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 16;
		m->s = ob_xrealloc(m->s, m->cap * sizeof *m->s);
	}
	s = &m->s[m->ns++];
	memset(s, 0, sizeof *s);
	s->key = ob_xmalloc(klen + 1);
	memcpy(s->key, key, klen);
	s->key[klen] = 0;
	for (i = 0; i < m->mq->nby; i++) {
		s->has[i] = has[i];
		s->vals[i] = vals[i];
		if (has[i] && vals[i].type == TQ_STRING)
			s->vals[i].s = ob_xstrdup(vals[i].s);
	}
	s->bucket = bucket;
	s->acc = ob_xmalloc(m->npoints * sizeof *s->acc);
	for (i = 0; i < m->npoints; i++) {
		bool counts = m->mq->fn == TQ_M_RATE || m->mq->fn == TQ_M_COUNT ||
			      m->mq->fn == TQ_M_HISTOGRAM || m->mq->fn == TQ_M_AVG;

		s->acc[i] = counts ? 0 : NAN;
	}
	if (m->mq->fn == TQ_M_AVG)
		s->count = ob_xcalloc(m->npoints, sizeof *s->count);
	if (m->mq->fn == TQ_M_QUANTILE)
		s->all = ob_xcalloc(m->npoints, sizeof *s->all);
	return s;
}

/* The series of the key in m->key, made if new; NULL past the bound. */
static struct mseries *
series_find(struct traceql_metrics *m, const struct tq_value *vals, const bool *has,
	    double bucket)
{
	const char *key = m->key.len ? (const char *)m->key.data : "";
	size_t klen = m->key.len, i, k;

	if (m->last && strlen(m->s[m->last - 1].key) == klen &&
	    memcmp(m->s[m->last - 1].key, key, klen) == 0)
		return &m->s[m->last - 1];
	if (2 * (m->ns + 1) > m->nslots) {
		m->nslots = m->nslots ? 2 * m->nslots : 64;
		free(m->slots);
		m->slots = ob_xcalloc(m->nslots, sizeof *m->slots);
		for (k = 0; k < m->ns; k++) {
			i = key_hash(m->s[k].key, strlen(m->s[k].key)) & (m->nslots - 1);
			while (m->slots[i])
				i = (i + 1) & (m->nslots - 1);
			m->slots[i] = (uint32_t)k + 1;
		}
	}
	for (i = key_hash(key, klen) & (m->nslots - 1); m->slots[i]; i = (i + 1) & (m->nslots - 1)) {
		const char *sk = m->s[m->slots[i] - 1].key;

		if (strlen(sk) == klen && memcmp(sk, key, klen) == 0) {
			m->last = m->slots[i];
			return &m->s[m->slots[i] - 1];
		}
	}
	if (m->ns == TRACEQL_METRICS_MAX_SERIES ||
	    (m->ns + 1) * m->npoints > TRACEQL_METRICS_MAX_CELLS) {
		m->too_many_series = true;
		return NULL;
	}
	series_new(m, key, klen, vals, has, bucket);
	m->slots[i] = (uint32_t)m->ns;
	m->last = m->ns;
	return &m->s[m->ns - 1];
}

/* The measured value of span i as a double (durations in seconds). */
static bool
measure(const struct traceql_metrics *m, struct tq_ctx *x, size_t i, double *out,
	enum tq_type *type)
{
	struct tq_value v;
	const void *array;

	if (!tq_operand_get(&m->mq->arg, x, i, 0, &v, &array) || array ||
	    !tq_value_number(&v, out) || isnan(*out))
		return false;
	if (v.type == TQ_DURATION)
		*out /= 1e9;
	*type = v.type;
	return true;
}

/* Tempo's power-of-two bucket of a value; false for values it leaves out. */
static bool
bucket_of(double v, enum tq_type type, double *bucket)
{
	double raw = type == TQ_DURATION ? v * 1e9 : v;
	uint64_t n, b = 1;

	if (type == TQ_FLOAT || !(raw >= 2) || raw > 9.2e18)
		return false;
	n = (uint64_t)llround(raw);
	while (b < n)
		b <<= 1;
	*bucket = type == TQ_DURATION ? (double)b / 1e9 : (double)b;
	return true;
}

static void
observe_span(struct traceql_metrics *m, struct tq_ctx *x, size_t i, long k)
{
	const struct tq_metrics *mq = m->mq;
	struct tq_value vals[TQ_MAX_BY];
	bool has[TQ_MAX_BY];
	struct mseries *s;
	enum tq_type type = TQ_FLOAT;
	double v = 0, bucket = 0;
	size_t b;

	if (mq->has_arg && !measure(m, x, i, &v, &type))
		return;
	if (mq->fn == TQ_M_HISTOGRAM && !bucket_of(v, type, &bucket))
		return;
	ob_buf_reset(&m->key);
	for (b = 0; b < mq->nby; b++) {
		const void *array;

		has[b] = tq_operand_get(&mq->by[b], x, i, 0, &vals[b], &array) && !array;
		key_add_value(&m->key, &vals[b], has[b]);
	}
	if (mq->fn == TQ_M_HISTOGRAM) {
		char num[48];

		snprintf(num, sizeof num, "b%.17g", bucket);
		ob_buf_addstr(&m->key, num);
	}
	if ((s = series_find(m, vals, has, bucket)) == NULL)
		return;
	switch (mq->fn) {
	case TQ_M_RATE:
	case TQ_M_COUNT:
	case TQ_M_HISTOGRAM:
		s->acc[k] += m->weight;
		break;
	case TQ_M_SUM:
		s->acc[k] = isnan(s->acc[k]) ? v : s->acc[k] + v;
		break;
	case TQ_M_MIN:
		s->acc[k] = isnan(s->acc[k]) || v < s->acc[k] ? v : s->acc[k];
		break;
	case TQ_M_MAX:
		s->acc[k] = isnan(s->acc[k]) || v > s->acc[k] ? v : s->acc[k];
		break;
	case TQ_M_AVG:
		s->acc[k] += v;
		s->count[k] += 1;
		break;
	case TQ_M_QUANTILE: {
		struct values *a = &s->all[k];

		if (m->nvalues == TRACEQL_METRICS_MAX_VALUES) {
			m->too_many_values = true;
			return;
		}
		if (a->n == a->cap) {
			a->cap = a->cap ? 2 * a->cap : 8;
			a->v = ob_xrealloc(a->v, a->cap * sizeof *a->v);
		}
		a->v[a->n++] = v;
		m->nvalues++;
		break;
	}
	}
}

/* Does the operand read only what a rollup row knows (service, name, kind, status)? */
static bool
row_field(const struct tq_operand *o)
{
	switch (o->field) {
	case TQ_F_LITERAL:
	case TQ_F_NAME:
	case TQ_F_KIND:
	case TQ_F_STATUS:
		return true;
	case TQ_F_RESOURCE_ATTR:
		return o->attr && strcmp(o->attr, "service.name") == 0;
	default:
		return false;
	}
}

static bool
row_cond(const struct tq_cond *c)
{
	if (c == NULL)
		return true;
	switch (c->kind) {
	case TQ_COND_AND:
	case TQ_COND_OR:
		return row_cond(c->left) && row_cond(c->right);
	case TQ_COND_NOT:
		return row_cond(c->left);
	case TQ_COND_CMP:
		return row_field(&c->lhs) && row_field(&c->rhs);
	case TQ_COND_TRUTH:
		return row_field(&c->lhs);
	}
	return false;
}

bool
traceql_metrics_counts_rows(const struct traceql_metrics *m)
{
	const struct tq_metrics *mq = m->mq;
	const uint64_t minute = 60000000000ull;
	size_t i;

	if ((m->q->root && (m->q->root->op != TQ_SET_FILTER || !row_cond(m->q->root->cond))) ||
	    m->q->nstages || (mq->fn != TQ_M_RATE && mq->fn != TQ_M_COUNT) || m->instant ||
	    m->step % minute || m->first % minute)
		return false;
	for (i = 0; i < mq->nby; i++)
		if (mq->by[i].field == TQ_F_LITERAL || !row_field(&mq->by[i]))
			return false;
	return true;
}

void
traceql_metrics_add_row(struct traceql_metrics *m, const char *service, const char *name,
			int kind, int status, uint64_t ts, double n)
{
	otlp_traces_data td = OPENTELEMETRY__PROTO__TRACE__V1__TRACES_DATA__INIT;
	otlp_resource_spans rs = OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
	otlp_resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
	otlp_scope_spans ss = OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
	otlp_span sp = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
	otlp_status st = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__INIT;
	otlp_key_value kv = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
	otlp_any_value av = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
	otlp_key_value *kvs[1] = { &kv };
	otlp_resource_spans *rss[1] = { &rs };
	otlp_scope_spans *sss[1] = { &ss };
	otlp_span *sps[1] = { &sp };
	static uint8_t tid[16] = { 1 }, sid[8] = { 1 };
	struct ob_trace t;

	if (n == 0)
		return;
	/* one span standing for the row's n: evaluated, and counted n times */
	av.value_case = OTLP_VALUE(STRING_VALUE);
	av.string_value = (char *)service;
	kv.key = "service.name";
	kv.value = &av;
	if (service && service[0]) {
		res.attributes = kvs;
		res.n_attributes = 1;
	}
	rs.resource = &res;
	rs.scope_spans = sss;
	rs.n_scope_spans = 1;
	ss.spans = sps;
	ss.n_spans = 1;
	sp.trace_id = (ProtobufCBinaryData){ 16, tid };
	sp.span_id = (ProtobufCBinaryData){ 8, sid };
	sp.name = (char *)name;
	sp.kind = kind;
	sp.start_time_unix_nano = sp.end_time_unix_nano = ts;
	st.code = status;
	sp.status = &st;
	td.resource_spans = rss;
	td.n_resource_spans = 1;
	memset(&t, 0, sizeof t);
	ob_arena_init(&t.arena, 0);
	ob_trace_index(&t, &td);
	m->weight = n;
	traceql_metrics_observe(m, &t);
	m->weight = 1;
	ob_trace_release(&t);
}

bool
traceql_metrics_hour_aligned(const struct traceql_metrics *m)
{
	const uint64_t hour = 3600000000000ull;

	return !m->instant && m->step % hour == 0 && m->first % hour == 0;
}

void
traceql_metrics_observe(struct traceql_metrics *m, const struct ob_trace *t)
{
	struct tq_ctx x;
	size_t i;

	if (t->nspans == 0 || t->end_ns < m->from || t->start_ns > m->to)
		return;
	if (t->nspans > m->matched_cap) {
		m->matched_cap = t->nspans;
		free(m->matched);
		m->matched = ob_xmalloc(t->nspans * sizeof *m->matched);
	}
	if (!traceql_eval(m->q, t, m->matched))
		return;
	memset(&x, 0, sizeof x);
	x.t = t;
	if (m->q->needs_nested_set)
		x.ns = tq_nested_sets(t);
	m->last = 0;
	for (i = 0; i < t->nspans; i++) {
		long k;

		if (!m->matched[i] || (k = interval_of(m, t->spans[i].start_ns)) < 0)
			continue;
		observe_span(m, &x, i, k);
	}
	free((void *)x.ns);
}

void
traceql_metrics_free(struct traceql_metrics *m)
{
	size_t i, k, b;

	if (m == NULL)
		return;
	for (i = 0; i < m->ns; i++) {
		struct mseries *s = &m->s[i];

		for (b = 0; b < m->mq->nby; b++)
			if (s->has[b] && s->vals[b].type == TQ_STRING)
				free((char *)s->vals[b].s);
		for (k = 0; s->all && k < m->npoints; k++)
			free(s->all[k].v);
		free(s->all);
		free(s->acc);
		free(s->count);
		free(s->key);
	}
	free(m->s);
	free(m->slots);
	free(m->matched);
	ob_buf_release(&m->key);
	free(m);
}

struct traceql_metrics *
traceql_metrics_fork(const struct traceql_metrics *m)
{
	struct traceql_metrics *f = ob_xcalloc(1, sizeof *f);

	f->q = m->q;
	f->mq = m->mq;
	f->weight = 1;
	f->first = m->first;
	f->step = m->step;
	f->from = m->from;
	f->to = m->to;
	f->npoints = m->npoints;
	f->instant = m->instant;
	ob_buf_init(&f->key, 0);
	return f;
}

/* Add src's accumulators into dst's, point by point. */
static void
series_add(struct traceql_metrics *m, struct mseries *dst, const struct mseries *src)
{
	size_t k, j;

	for (k = 0; k < m->npoints; k++) {
		double a = dst->acc[k], b = src->acc[k];

		switch (m->mq->fn) {
		case TQ_M_SUM:
			dst->acc[k] = isnan(a) ? b : isnan(b) ? a : a + b;
			break;
		case TQ_M_MIN:
			dst->acc[k] = isnan(a) || b < a ? b : a;
			break;
		case TQ_M_MAX:
			dst->acc[k] = isnan(a) || b > a ? b : a;
			break;
		case TQ_M_QUANTILE:
			for (j = 0; j < src->all[k].n; j++) {
				struct values *v = &dst->all[k];

				if (m->nvalues == TRACEQL_METRICS_MAX_VALUES) {
					m->too_many_values = true;
					break;
				}
				if (v->n == v->cap) {
					v->cap = v->cap ? 2 * v->cap : 8;
					v->v = ob_xrealloc(v->v, v->cap * sizeof *v->v);
				}
				v->v[v->n++] = src->all[k].v[j];
				m->nvalues++;
			}
			break;
		default:        /* counts, and avg's sums */
			dst->acc[k] = a + b;
			if (dst->count)
				dst->count[k] += src->count[k];
		}
	}
}

void
traceql_metrics_merge(struct traceql_metrics *m, struct traceql_metrics *other)
{
	size_t i;

	m->too_many_series |= other->too_many_series;
	m->too_many_values |= other->too_many_values;
	m->last = 0;
	for (i = 0; i < other->ns; i++) {
		struct mseries *src = &other->s[i], *dst;

		ob_buf_reset(&m->key);
		ob_buf_addstr(&m->key, src->key);
		if ((dst = series_find(m, src->vals, src->has, src->bucket)) != NULL)
			series_add(m, dst, src);
	}
	traceql_metrics_free(other);
}
