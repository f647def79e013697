/*
 * test_otlp_wire.c - indexing the wire bytes of an export request: the
 * index agrees with protobuf-c's decode, span slices are the spans'
 * exact encodings, heads keep fields protobuf-c does not know, and
 * malformed bytes are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "model/otlp_wire.h"
#include "otlp_build.h"

static uint8_t *
pack_request(struct ob_arena *a, size_t *len)
{
	otlp_export_request req = OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
	otlp_span **s1 = ob_arena_alloc(a, 3 * sizeof *s1), **s2 = ob_arena_alloc(a, sizeof *s2);
	otlp_resource_spans **rs = ob_arena_alloc(a, 2 * sizeof *rs);
	uint8_t *out;

	s1[0] = tb_span(a, 1, 0, 0, "root", 1000, 50, 0);
	s1[1] = tb_span(a, 2, 0, 0, "other", 1000, 50, 2);
	s1[2] = tb_span(a, 1, 1, 0, "child", 1010, 20, 0);
	s2[0] = tb_span(a, 1, 2, 1, "db", 1012, 5, 0);
	rs[0] = tb_resource_spans(a, "front", s1, 3);
	rs[1] = tb_resource_spans(a, "db", s2, 1);
	rs[1]->schema_url = "https://example.com/schema";
	req.resource_spans = rs;
	req.n_resource_spans = 2;
	*len = protobuf_c_message_get_packed_size(&req.base);
	out = ob_arena_alloc(a, *len);
	protobuf_c_message_pack(&req.base, out);
	return out;
}

static void
index_matches_decode(void **state)
{
	struct ob_arena a;
	struct otlp_wire_request w;
	otlp_export_request *req;
	uint8_t *p;
	size_t n, i;

	ob_arena_init(&a, 0);
	p = pack_request(&a, &n);
	req = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(NULL,
											       n, p);
	assert_non_null(req);
	assert_int_equal(otlp_wire_index(p, n, &w, NULL), OB_OK);
	assert_int_equal(w.nresources, 2);
	assert_int_equal(w.resources[0].nscopes, 1);
	assert_int_equal(w.resources[0].scopes[0].nspans, 3);
	assert_int_equal(w.resources[1].scopes[0].nspans, 1);
	for (i = 0; i < 3; i++) {
		const struct otlp_wire_slice *sl = &w.resources[0].scopes[0].spans[i];
		otlp_span *sp = opentelemetry__proto__trace__v1__span__unpack(NULL, sl->n, sl->p);

		assert_non_null(sp);
		assert_string_equal(sp->name, req->resource_spans[0]->scope_spans[0]->spans[i]->name);
		opentelemetry__proto__trace__v1__span__free_unpacked(sp, NULL);
	}
	/* the head of the second resource keeps its resource and schema URL */
	{
		otlp_resource_spans *r = opentelemetry__proto__trace__v1__resource_spans__unpack(
			NULL, w.resources[1].head.len, w.resources[1].head.data);

		assert_non_null(r);
		assert_string_equal(r->schema_url, "https://example.com/schema");
		assert_int_equal(r->n_scope_spans, 0);
		opentelemetry__proto__trace__v1__resource_spans__free_unpacked(r, NULL);
	}
	otlp_wire_release(&w);
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(req,
											      NULL);
	ob_arena_release(&a);
}

/* Every ResourceSpans gains one resource attribute; nothing else changes. */
static void
resource_attr_is_added_by_merge(void **state)
{
	struct ob_arena a;
	struct ob_buf out;
	otlp_export_request *before, *after;
	uint8_t *p;
	size_t n, i, j;

	(void)state;
	ob_arena_init(&a, 0);
	ob_buf_init(&out, 0);
	p = pack_request(&a, &n);
	assert_int_equal(otlp_wire_add_resource_attr(p, n, "obstui.origin", "cluster", &out, NULL),
			 OB_OK);
	before = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
		NULL, n, p);
	after = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
		NULL, out.len, out.data);
	assert_non_null(after);
	assert_int_equal(after->n_resource_spans, before->n_resource_spans);
	for (i = 0; i < after->n_resource_spans; i++) {
		const otlp_resource_spans *x = before->resource_spans[i], *y = after->resource_spans[i];
		size_t na = x->resource ? x->resource->n_attributes : 0;

		assert_non_null(y->resource);
		assert_int_equal(y->resource->n_attributes, na + 1);
		for (j = 0; j < na; j++)
			assert_string_equal(y->resource->attributes[j]->key, x->resource->attributes[j]->key);
		assert_string_equal(y->resource->attributes[na]->key, "obstui.origin");
		assert_string_equal(y->resource->attributes[na]->value->string_value, "cluster");
		assert_int_equal(y->n_scope_spans, x->n_scope_spans);
		assert_string_equal(y->schema_url, x->schema_url);
	}
	assert_int_equal(otlp_wire_add_resource_attr((const uint8_t *)"\x0a\x05" "ab", 4, "k", "v",
						     &out, NULL), OB_EINVAL);
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(
		before, NULL);
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(
		after, NULL);
	ob_buf_release(&out);
	ob_arena_release(&a);
}

/* A field protobuf-c does not know (number 99) stays in the span's bytes. */
static void
unknown_fields_are_kept(void **state)
{
	static const uint8_t span[] = { 0x2a, 0x02, 'o', 'p', 0x9a, 0x06, 0x03, 'x', 'y', 'z' };
	uint8_t scope[64], rs[64], req[64];
	struct otlp_wire_request w;
	size_t ns, nr, nq;

	scope[0] = 0x12; /* ScopeSpans.spans */
	scope[1] = sizeof span;
	memcpy(scope + 2, span, sizeof span);
	ns = 2 + sizeof span;
	rs[0] = 0x12; /* ResourceSpans.scope_spans */
	rs[1] = (uint8_t)ns;
	memcpy(rs + 2, scope, ns);
	nr = 2 + ns;
	req[0] = 0x0a; /* ExportTraceServiceRequest.resource_spans */
	req[1] = (uint8_t)nr;
	memcpy(req + 2, rs, nr);
	nq = 2 + nr;
	assert_int_equal(otlp_wire_index(req, nq, &w, NULL), OB_OK);
	assert_int_equal(w.resources[0].scopes[0].nspans, 1);
	assert_int_equal(w.resources[0].scopes[0].spans[0].n, sizeof span);
	assert_memory_equal(w.resources[0].scopes[0].spans[0].p, span, sizeof span);
	otlp_wire_release(&w);
}

static void
malformed_is_refused(void **state)
{
	static const uint8_t truncated[] = { 0x0a, 0x10, 0x12, 0x02 };
	static const uint8_t bad_type[] = { 0x0f, 0x00 };
	struct otlp_wire_request w;
	char errbuf[OB_ERRLEN];

	assert_int_equal(otlp_wire_index(truncated, sizeof truncated, &w, errbuf), OB_EINVAL);
	assert_int_equal(otlp_wire_index(bad_type, sizeof bad_type, &w, errbuf), OB_EINVAL);
	assert_int_equal(otlp_wire_index((const uint8_t *)"", 0, &w, errbuf), OB_OK);
	assert_int_equal(w.nresources, 0);
	otlp_wire_release(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(index_matches_decode),
		cmocka_unit_test(unknown_fields_are_kept),
		cmocka_unit_test(malformed_is_refused),
		cmocka_unit_test(resource_attr_is_added_by_merge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
