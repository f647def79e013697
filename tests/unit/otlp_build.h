/*
 * otlp_build.h - building small OTLP requests in tests.
 *
 * Everything is allocated from one arena that the test releases; spans get
 * deterministic ids from (trace number, span number).
 */
#ifndef OB_TEST_OTLP_BUILD_H
#define OB_TEST_OTLP_BUILD_H

#include <string.h>

#include "core/arena.h"
#include "model/otlp.h"

static inline void
tb_trace_id(uint8_t id[16], unsigned trace)
{
	memset(id, 0, 16);
	id[0] = 0xab;
	id[12] = (uint8_t)(trace >> 24);
	id[13] = (uint8_t)(trace >> 16);
	id[14] = (uint8_t)(trace >> 8);
	id[15] = (uint8_t)trace;
}

static inline void
tb_span_id(uint8_t id[8], unsigned trace, unsigned span)
{
	memset(id, 0, 8);
	id[0] = 0xcd;
	id[2] = (uint8_t)(trace >> 8);
	id[3] = (uint8_t)trace;
	id[6] = (uint8_t)(span >> 8);
	id[7] = (uint8_t)(span + 1);
}

static inline otlp_key_value *
tb_attr_str(struct ob_arena *a, const char *k, const char *v)
{
	otlp_key_value *kv = ob_arena_alloc(a, sizeof *kv);
	otlp_any_value *av = ob_arena_alloc(a, sizeof *av);

	opentelemetry__proto__common__v1__key_value__init(kv);
	opentelemetry__proto__common__v1__any_value__init(av);
	av->value_case = OTLP_VALUE(STRING_VALUE);
	av->string_value = ob_arena_memdup(a, v, strlen(v));
	kv->key = ob_arena_memdup(a, k, strlen(k));
	kv->value = av;
	return kv;
}

/*
 * A span of trace `trace`, number `span` (0 is the root), under parent
 * `parent` (ignored for the root), starting at start_ns for dur_ns.
 */
static inline otlp_span *
tb_span(struct ob_arena *a, unsigned trace, unsigned span, unsigned parent, const char *name,
	uint64_t start_ns, uint64_t dur_ns, int status)
{
	otlp_span *s = ob_arena_alloc(a, sizeof *s);
	otlp_status *st = ob_arena_alloc(a, sizeof *st);

	opentelemetry__proto__trace__v1__span__init(s);
	opentelemetry__proto__trace__v1__status__init(st);
	s->trace_id.data = ob_arena_alloc(a, 16);
	s->trace_id.len = 16;
	tb_trace_id(s->trace_id.data, trace);
	s->span_id.data = ob_arena_alloc(a, 8);
	s->span_id.len = 8;
	tb_span_id(s->span_id.data, trace, span);
	if (span) {
		s->parent_span_id.data = ob_arena_alloc(a, 8);
		s->parent_span_id.len = 8;
		tb_span_id(s->parent_span_id.data, trace, parent);
	}
	s->name = ob_arena_memdup(a, name, strlen(name));
	s->kind = span ? OTLP_KIND(CLIENT) : OTLP_KIND(SERVER);
	s->start_time_unix_nano = start_ns;
	s->end_time_unix_nano = start_ns + dur_ns;
	st->code = status;
	s->status = st;
	s->n_attributes = 1;
	s->attributes = ob_arena_alloc(a, sizeof *s->attributes);
	s->attributes[0] = tb_attr_str(a, "http.route", name);
	return s;
}

/* One ResourceSpans for service holding spans[0..n). */
static inline otlp_resource_spans *
tb_resource_spans(struct ob_arena *a, const char *service, otlp_span **spans, size_t n)
{
	otlp_resource_spans *rs = ob_arena_alloc(a, sizeof *rs);
	otlp_resource *r = ob_arena_alloc(a, sizeof *r);
	otlp_scope_spans *ss = ob_arena_alloc(a, sizeof *ss);
	otlp_scope *sc = ob_arena_alloc(a, sizeof *sc);

	opentelemetry__proto__trace__v1__resource_spans__init(rs);
	opentelemetry__proto__resource__v1__resource__init(r);
	opentelemetry__proto__trace__v1__scope_spans__init(ss);
	opentelemetry__proto__common__v1__instrumentation_scope__init(sc);
	r->n_attributes = 1;
	r->attributes = ob_arena_alloc(a, sizeof *r->attributes);
	r->attributes[0] = tb_attr_str(a, "service.name", service);
	sc->name = "test-scope";
	sc->version = "1.2.3";
	ss->scope = sc;
	ss->spans = spans;
	ss->n_spans = n;
	rs->resource = r;
	rs->scope_spans = ob_arena_alloc(a, sizeof *rs->scope_spans);
	rs->scope_spans[0] = ss;
	rs->n_scope_spans = 1;
	return rs;
}

#endif
