/*
 * test_traceql_fixture.h - build small traces from a table, for the
 * TraceQL pipeline and metrics tests (test_traceql_pipe.c,
 * test_traceql_metrics.c).  Everything lives in one arena, freed by the
 * test's teardown; one ResourceSpans per span keeps the builder simple
 * (services repeat, which the trace index does not mind).
 */
#ifndef TEST_TRACEQL_FIXTURE_H
#define TEST_TRACEQL_FIXTURE_H

#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "model/trace.h"

#define MS 1000000ULL

struct fx_span {
	uint32_t id, parent;
	const char *name, *service;
	int kind, status;
	uint64_t start_ns, end_ns;      /* absolute */
	int64_t bytes;                  /* span.bytes when not 0 */
};

static void *
fx_alloc(struct ob_arena *pool, size_t n)
{
	void *p = ob_arena_alloc(pool, n);

	memset(p, 0, n);
	return p;
}

static uint8_t *
fx_id(struct ob_arena *pool, uint32_t id, size_t len)
{
	uint8_t *p = fx_alloc(pool, len);

	p[len - 4] = (uint8_t)(id >> 24);
	p[len - 3] = (uint8_t)(id >> 16);
	p[len - 2] = (uint8_t)(id >> 8);
	p[len - 1] = (uint8_t)id;
	return p;
}

static otlp_key_value *
fx_kv(struct ob_arena *pool, const char *key, const char *s, int64_t i)
{
	otlp_key_value *k = fx_alloc(pool, sizeof *k);
	otlp_any_value *v = fx_alloc(pool, sizeof *v);

	opentelemetry__proto__common__v1__key_value__init(k);
	opentelemetry__proto__common__v1__any_value__init(v);
	if (s) {
		v->value_case = OTLP_VALUE(STRING_VALUE);
		v->string_value = (char *)s;
	} else {
		v->value_case = OTLP_VALUE(INT_VALUE);
		v->int_value = i;
	}
	k->key = (char *)key;
	k->value = v;
	return k;
}

/* Index n spans of trace tid into *t; the spans are returned in *out (may be NULL). */
static void
fx_trace(struct ob_arena *pool, struct ob_trace *t, uint32_t tid, const struct fx_span *spec,
	 size_t n, otlp_span ***out)
{
	otlp_traces_data *data = fx_alloc(pool, sizeof *data);
	otlp_span **spans = fx_alloc(pool, n * sizeof *spans);
	size_t i;

	opentelemetry__proto__trace__v1__traces_data__init(data);
	data->n_resource_spans = n;
	data->resource_spans = fx_alloc(pool, n * sizeof *data->resource_spans);
	for (i = 0; i < n; i++) {
		const struct fx_span *f = &spec[i];
		otlp_resource_spans *rs = fx_alloc(pool, sizeof *rs);
		otlp_scope_spans *ss = fx_alloc(pool, sizeof *ss);
		otlp_span *s = fx_alloc(pool, sizeof *s);

		opentelemetry__proto__trace__v1__span__init(s);
		s->trace_id.data = fx_id(pool, tid, 16);
		s->trace_id.len = 16;
		s->span_id.data = fx_id(pool, f->id, 8);
		s->span_id.len = 8;
		if (f->parent) {
			s->parent_span_id.data = fx_id(pool, f->parent, 8);
			s->parent_span_id.len = 8;
		}
		s->name = (char *)f->name;
		s->kind = f->kind;
		s->start_time_unix_nano = f->start_ns;
		s->end_time_unix_nano = f->end_ns;
		if (f->status) {
			s->status = fx_alloc(pool, sizeof *s->status);
			opentelemetry__proto__trace__v1__status__init(s->status);
			s->status->code = f->status;
		}
		if (f->bytes) {
			s->attributes = fx_alloc(pool, sizeof *s->attributes);
			s->attributes[0] = fx_kv(pool, "bytes", NULL, f->bytes);
			s->n_attributes = 1;
		}
		opentelemetry__proto__trace__v1__resource_spans__init(rs);
		opentelemetry__proto__trace__v1__scope_spans__init(ss);
		rs->resource = fx_alloc(pool, sizeof *rs->resource);
		opentelemetry__proto__resource__v1__resource__init(rs->resource);
		rs->resource->attributes = fx_alloc(pool, sizeof *rs->resource->attributes);
		rs->resource->attributes[0] = fx_kv(pool, "service.name", f->service, 0);
		rs->resource->n_attributes = 1;
		ss->spans = fx_alloc(pool, sizeof *ss->spans);
		ss->spans[0] = s;
		ss->n_spans = 1;
		rs->scope_spans = fx_alloc(pool, sizeof *rs->scope_spans);
		rs->scope_spans[0] = ss;
		rs->n_scope_spans = 1;
		data->resource_spans[i] = rs;
		spans[i] = s;
	}
	memset(t, 0, sizeof *t);
	ob_trace_index(t, data);
	if (out)
		*out = spans;
}

#endif
