/*
 * test_otlp_json.c - the OTLP/JSON codec (src/ingest/otlp_json.c).
 *
 * The main check is a round trip: a request holding every kind of value
 * OTLP can carry is built in C, packed, written as JSON, read back and
 * packed again; the two packings must be the same bytes.  Around it:
 * exact expected text for a small span, the lenient input forms (snake
 * case, enum names, numbers for 64-bit ints), presence rules, and the
 * error messages for bad input.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/buf.h"
#include "ingest/otlp_json.h"
#include "model/otlp.h"

/* ---- building messages in an arena ---------------------------------- */

static struct ob_arena build;

static void *
make(const ProtobufCMessageDescriptor *desc)
{
	ProtobufCMessage *m = ob_arena_alloc(&build, desc->sizeof_message);

	protobuf_c_message_init(desc, m);
	return m;
}

static void **
list(size_t n, ...)
{
	void **v = ob_arena_alloc(&build, n * sizeof *v + 1);
	va_list ap;
	size_t i;

	va_start(ap, n);
	for (i = 0; i < n; i++)
		v[i] = va_arg(ap, void *);
	va_end(ap);
	return v;
}

static otlp_any_value *
any(int which)
{
	otlp_any_value *v = make(&opentelemetry__proto__common__v1__any_value__descriptor);

	v->value_case = which;
	return v;
}

static otlp_any_value *
any_str(const char *s)
{
	otlp_any_value *v = any(OTLP_VALUE(STRING_VALUE));

	v->string_value = (char *)s;
	return v;
}

static otlp_any_value *
any_int(int64_t i)
{
	otlp_any_value *v = any(OTLP_VALUE(INT_VALUE));

	v->int_value = i;
	return v;
}

static otlp_any_value *
any_double(double d)
{
	otlp_any_value *v = any(OTLP_VALUE(DOUBLE_VALUE));

	v->double_value = d;
	return v;
}

static otlp_any_value *
any_bool(int b)
{
	otlp_any_value *v = any(OTLP_VALUE(BOOL_VALUE));

	v->bool_value = b;
	return v;
}

static otlp_any_value *
any_bytes(const char *p, size_t n)
{
	otlp_any_value *v = any(OTLP_VALUE(BYTES_VALUE));

	v->bytes_value.data = (uint8_t *)p;
	v->bytes_value.len = n;
	return v;
}

static otlp_any_value *
any_array(size_t n, void **values)
{
	otlp_any_value *v = any(OTLP_VALUE(ARRAY_VALUE));

	v->array_value = make(&opentelemetry__proto__common__v1__array_value__descriptor);
	v->array_value->n_values = n;
	v->array_value->values = (otlp_any_value **)values;
	return v;
}

static otlp_any_value *
any_kvlist(size_t n, void **values)
{
	otlp_any_value *v = any(OTLP_VALUE(KVLIST_VALUE));

	v->kvlist_value = make(&opentelemetry__proto__common__v1__key_value_list__descriptor);
	v->kvlist_value->n_values = n;
	v->kvlist_value->values = (otlp_key_value **)values;
	return v;
}

static otlp_key_value *
kv(const char *key, otlp_any_value *value)
{
	otlp_key_value *p = make(&opentelemetry__proto__common__v1__key_value__descriptor);

	p->key = (char *)key;
	p->value = value;
	return p;
}

static ProtobufCBinaryData
id(const char *bytes, size_t n)
{
	return (ProtobufCBinaryData){ n, (uint8_t *)bytes };
}

/* Every kind of value; n is how many of the array are filled. */
static void **
rich_attributes(size_t *n)
{
	static char big[64 * 1024 + 1];
	otlp_any_value *unset = any(OTLP_VALUE(_NOT_SET));

	memset(big, 'x', sizeof big - 1);
	big[100] = 'y';
	*n = 27;
	return list(*n, kv("str", any_str("hello")), kv("empty", any_str("")),
		    kv("utf8", any_str("h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9d\x84\x9e")),
		    kv("quote", any_str("a\"b\\c\n\t\x01/")), kv("big", any_str(big)),
		    kv("true", any_bool(1)), kv("false", any_bool(0)), kv("zero", any_int(0)),
		    kv("min", any_int(INT64_MIN)), kv("max", any_int(INT64_MAX)),
		    kv("neg", any_int(-42)), kv("1e300", any_double(1e300)),
		    kv("0.1", any_double(0.1)), kv("-0", any_double(-0.0)),
		    kv("dmin", any_double(DBL_MIN)), kv("denorm", any_double(4.9e-324)),
		    kv("nan", any_double(NAN)), kv("inf", any_double(INFINITY)),
		    kv("-inf", any_double(-INFINITY)), kv("bytes", any_bytes("\x00\xff\x10", 3)),
		    kv("bytes1", any_bytes("a", 1)), kv("bytes2", any_bytes("ab", 2)),
		    kv("nobytes", any_bytes(NULL, 0)), kv("unset", unset),
		    kv("array", any_array(5, list(5, any_int(1), any_str("x"),
						  any_array(2, list(2, any_bool(1), any_array(0, NULL))),
						  any_kvlist(1, list(1, kv("k", any_str("v")))),
						  any(OTLP_VALUE(_NOT_SET))))),
		    kv("kvlist", any_kvlist(3, list(3, kv("a", any_double(2.5)),
						    kv("b", any_kvlist(0, NULL)),
						    kv("", any_array(1, list(1, any_str(""))))))),
		    kv("novalue", NULL));
}

static otlp_span *
rich_span(int kind)
{
	otlp_span *s = make(&opentelemetry__proto__trace__v1__span__descriptor);
	otlp_event *e = make(&opentelemetry__proto__trace__v1__span__event__descriptor);
	otlp_link *l = make(&opentelemetry__proto__trace__v1__span__link__descriptor);

	s->trace_id = id("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\xff", 16);
	s->span_id = id("\xa1\xa2\xa3\xa4\xa5\xa6\xa7\x00", 8);
	s->name = (char *)"GET /cart";
	s->kind = kind;
	if (kind == 0) {
		/* The first span carries everything; the others the bare minimum. */
		s->parent_span_id = id("\xb1\xb2\xb3\xb4\xb5\xb6\xb7\xb8", 8);
		s->trace_state = (char *)"vendor=a,other=b";
		s->flags = 0x301;
		s->start_time_unix_nano = 1700000000123456789ULL;
		s->end_time_unix_nano = UINT64_MAX;
		s->attributes = (otlp_key_value **)rich_attributes(&s->n_attributes);
		s->dropped_attributes_count = 4;
		e->time_unix_nano = 1700000000200000000ULL;
		e->name = (char *)"exception";
		e->attributes = (otlp_key_value **)list(1, kv("exception.type", any_str("E")));
		e->n_attributes = 1;
		e->dropped_attributes_count = 2;
		s->events = (otlp_event **)list(2, e, make(&opentelemetry__proto__trace__v1__span__event__descriptor));
		s->n_events = 2;
		s->dropped_events_count = 5;
		l->trace_id = id("\xff\xee\xdd\xcc\xbb\xaa\x99\x88\x77\x66\x55\x44\x33\x22\x11\x00", 16);
		l->span_id = id("\x12\x34\x56\x78\x9a\xbc\xde\xf0", 8);
		l->trace_state = (char *)"k=v";
		l->attributes = (otlp_key_value **)list(1, kv("link.n", any_int(7)));
		l->n_attributes = 1;
		l->dropped_attributes_count = 1;
		l->flags = 0x201;
		s->links = (otlp_link **)list(1, l);
		s->n_links = 1;
		s->dropped_links_count = 6;
		s->status = make(&opentelemetry__proto__trace__v1__status__descriptor);
		s->status->code = OTLP_STATUS(ERROR);
		s->status->message = (char *)"boom";
	} else if (kind == 1) {
		s->status = make(&opentelemetry__proto__trace__v1__status__descriptor);
	} else if (kind == 2) {
		s->status = make(&opentelemetry__proto__trace__v1__status__descriptor);
		s->status->code = OTLP_STATUS(OK);
	}
	return s;
}

static otlp_export_request *
rich_request(void)
{
	otlp_export_request *req = make(&otlp_export_request_descriptor);
	otlp_resource_spans *rs = make(&opentelemetry__proto__trace__v1__resource_spans__descriptor);
	otlp_scope_spans *ss = make(&opentelemetry__proto__trace__v1__scope_spans__descriptor);
	otlp_scope_spans *ss2 = make(&opentelemetry__proto__trace__v1__scope_spans__descriptor);
	otlp_entity_ref *ref = make(&opentelemetry__proto__common__v1__entity_ref__descriptor);
	int kind;

	rs->resource = make(&opentelemetry__proto__resource__v1__resource__descriptor);
	rs->resource->attributes = (otlp_key_value **)list(2, kv("service.name", any_str("checkout")),
							    kv("host.cpus", any_int(8)));
	rs->resource->n_attributes = 2;
	rs->resource->dropped_attributes_count = 3;
	ref->type = (char *)"service";
	ref->schema_url = (char *)"https://example.com/s";
	ref->id_keys = (char **)list(2, "service.name", "service.namespace");
	ref->n_id_keys = 2;
	rs->resource->entity_refs = (otlp_entity_ref **)list(1, ref);
	rs->resource->n_entity_refs = 1;
	rs->schema_url = (char *)"https://opentelemetry.io/schemas/1.21.0";
	ss->scope = make(&opentelemetry__proto__common__v1__instrumentation_scope__descriptor);
	ss->scope->name = (char *)"io.opentelemetry.http";
	ss->scope->version = (char *)"1.2.3";
	ss->scope->attributes = (otlp_key_value **)list(1, kv("scope.attr", any_bool(1)));
	ss->scope->n_attributes = 1;
	ss->scope->dropped_attributes_count = 9;
	ss->schema_url = (char *)"https://opentelemetry.io/schemas/1.20.0";
	ss->spans = ob_arena_alloc(&build, 6 * sizeof *ss->spans);
	for (kind = 0; kind < 6; kind++)
		ss->spans[kind] = rich_span(kind);
	ss->n_spans = 6;
	ss2->scope = make(&opentelemetry__proto__common__v1__instrumentation_scope__descriptor);
	rs->scope_spans = (otlp_scope_spans **)list(2, ss, ss2);
	rs->n_scope_spans = 2;
	req->resource_spans = (otlp_resource_spans **)list(2, rs,
		make(&opentelemetry__proto__trace__v1__resource_spans__descriptor));
	req->n_resource_spans = 2;
	return req;
}

/* ---- helpers -------------------------------------------------------- */

static uint8_t *
pack(const ProtobufCMessage *m, size_t *n)
{
	uint8_t *p;

	*n = protobuf_c_message_get_packed_size(m);
	p = malloc(*n + 1);
	assert_int_equal(protobuf_c_message_pack(m, p), *n);
	return p;
}

/* Encode m, returning malloc'd text. */
static char *
encode(const ProtobufCMessage *m)
{
	char errbuf[OB_ERRLEN] = "";
	struct ob_buf b;
	size_t n;

	ob_buf_init(&b, 0);
	if (otlp_json_encode(m, &b, errbuf) != OB_OK)
		fail_msg("encode: %s", errbuf);
	return (char *)ob_buf_take(&b, &n);
}

/* Decode text as an export request; fail the test with the message if it fails. */
static otlp_export_request *
decode_ok(struct ob_arena *a, const char *text)
{
	char errbuf[OB_ERRLEN] = "";
	ProtobufCMessage *m;

	if (otlp_json_decode(&otlp_export_request_descriptor, text, strlen(text), a, &m, errbuf))
		fail_msg("decode %s: %s", text, errbuf);
	return (otlp_export_request *)m;
}

/* Wrap one span's JSON in a request. */
static char *
wrap_span(const char *span)
{
	size_t n = strlen(span) + 100;
	char *s = malloc(n);

	snprintf(s, n, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[%s]}]}]}", span);
	return s;
}

static const otlp_span *
first_span(const otlp_export_request *r)
{
	assert_int_equal(r->n_resource_spans, 1);
	assert_int_equal(r->resource_spans[0]->n_scope_spans, 1);
	assert_int_equal(r->resource_spans[0]->scope_spans[0]->n_spans, 1);
	return r->resource_spans[0]->scope_spans[0]->spans[0];
}

/* ---- tests ---------------------------------------------------------- */

static void
test_round_trip_rich(void **state)
{
	otlp_export_request *req = rich_request(), *back;
	uint8_t *want, *got;
	size_t nwant, ngot;
	struct ob_arena a;
	char *text, *again;

	ob_arena_init(&a, 64 << 20);
	want = pack(&req->base, &nwant);
	text = encode(&req->base);
	back = decode_ok(&a, text);
	got = pack(&back->base, &ngot);
	assert_int_equal(ngot, nwant);
	assert_memory_equal(got, want, nwant);
	/* Writing the decoded message again gives the very same text. */
	again = encode(&back->base);
	assert_string_equal(again, text);

	/* Spot checks on the representation. */
	assert_non_null(strstr(text, "\"intValue\":\"-9223372036854775808\""));
	assert_non_null(strstr(text, "\"intValue\":\"9223372036854775807\""));
	assert_non_null(strstr(text, "{\"key\":\"zero\",\"value\":{\"intValue\":\"0\"}}"));
	assert_non_null(strstr(text, "{\"key\":\"false\",\"value\":{\"boolValue\":false}}"));
	assert_non_null(strstr(text, "{\"key\":\"empty\",\"value\":{\"stringValue\":\"\"}}"));
	assert_non_null(strstr(text, "{\"key\":\"unset\",\"value\":{}}"));
	assert_non_null(strstr(text, "{\"key\":\"novalue\"}"));
	assert_non_null(strstr(text, "\"doubleValue\":\"NaN\""));
	assert_non_null(strstr(text, "\"doubleValue\":\"-Infinity\""));
	assert_non_null(strstr(text, "\"doubleValue\":-0.0"));
	assert_non_null(strstr(text, "\"bytesValue\":\"AP8Q\""));
	assert_non_null(strstr(text, "\"bytesValue\":\"YQ==\""));
	assert_non_null(strstr(text, "\"bytesValue\":\"YWI=\""));
	assert_non_null(strstr(text, "\"traceId\":\"0102030405060708090a0b0c0d0e0fff\""));
	assert_non_null(strstr(text, "\"parentSpanId\":\"b1b2b3b4b5b6b7b8\""));
	assert_non_null(strstr(text, "\"endTimeUnixNano\":\"18446744073709551615\""));
	assert_non_null(strstr(text, "\"idKeys\":[\"service.name\",\"service.namespace\"]"));
	assert_non_null(strstr(text, "\"arrayValue\":{}"));
	assert_non_null(strstr(text, "\"status\":{}"));
	assert_non_null(strstr(text, "\"resourceSpans\":[{\"resource\""));
	assert_non_null(strstr(text, "},{}]}"));     /* the empty ResourceSpans */
	assert_null(strstr(text, "_"));              /* no snake_case key, no underscores at all */
	/* The exact doubles came back. */
	assert_true(back->resource_spans[0]->scope_spans[0]->spans[0]->attributes[11]->value->double_value == 1e300);
	assert_true(back->resource_spans[0]->scope_spans[0]->spans[0]->attributes[12]->value->double_value == 0.1);
	assert_true(signbit(back->resource_spans[0]->scope_spans[0]->spans[0]->attributes[13]->value->double_value));

	free(again);
	free(got);
	free(text);
	free(want);
	ob_arena_release(&a);
}

static void
test_exact_text(void **state)
{
	otlp_export_request *req = make(&otlp_export_request_descriptor);
	otlp_resource_spans *rs = make(&opentelemetry__proto__trace__v1__resource_spans__descriptor);
	otlp_scope_spans *ss = make(&opentelemetry__proto__trace__v1__scope_spans__descriptor);
	otlp_span *s = make(&opentelemetry__proto__trace__v1__span__descriptor);
	char *text;

	rs->resource = make(&opentelemetry__proto__resource__v1__resource__descriptor);
	rs->resource->attributes = (otlp_key_value **)list(1, kv("service.name", any_str("api")));
	rs->resource->n_attributes = 1;
	rs->scope_spans = (otlp_scope_spans **)list(1, ss);
	rs->n_scope_spans = 1;
	rs->schema_url = (char *)"https://opentelemetry.io/schemas/1.21.0";
	ss->scope = make(&opentelemetry__proto__common__v1__instrumentation_scope__descriptor);
	ss->scope->name = (char *)"lib";
	ss->scope->version = (char *)"1.2";
	ss->spans = (otlp_span **)list(1, s);
	ss->n_spans = 1;
	s->trace_id = id("\x5b\x8e\xfc\xf4\x7a\x14\x0b\x3e\x9c\x3d\x1f\x2a\x00\x00\x00\x01", 16);
	s->span_id = id("\x00\x11\x22\x33\x44\x55\x66\x77", 8);
	s->name = (char *)"GET /";
	s->kind = OTLP_KIND(SERVER);
	s->start_time_unix_nano = 1700000000000000000ULL;
	s->end_time_unix_nano = 1700000000500000000ULL;
	s->attributes = (otlp_key_value **)list(1, kv("http.status_code", any_int(200)));
	s->n_attributes = 1;
	s->dropped_attributes_count = 1;
	s->status = make(&opentelemetry__proto__trace__v1__status__descriptor);
	s->status->code = OTLP_STATUS(ERROR);
	s->flags = 257;
	req->resource_spans = (otlp_resource_spans **)list(1, rs);
	req->n_resource_spans = 1;

	text = encode(&req->base);
	assert_string_equal(text,
		"{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
		"\"value\":{\"stringValue\":\"api\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"lib\","
		"\"version\":\"1.2\"},\"spans\":[{\"traceId\":\"5b8efcf47a140b3e9c3d1f2a00000001\","
		"\"spanId\":\"0011223344556677\",\"name\":\"GET /\",\"kind\":2,"
		"\"startTimeUnixNano\":\"1700000000000000000\","
		"\"endTimeUnixNano\":\"1700000000500000000\",\"attributes\":[{\"key\":"
		"\"http.status_code\",\"value\":{\"intValue\":\"200\"}}],\"droppedAttributesCount\":1,"
		"\"status\":{\"code\":2},\"flags\":257}]}],"
		"\"schemaUrl\":\"https://opentelemetry.io/schemas/1.21.0\"}]}");
	free(text);
}

static void
test_lenient_input(void **state)
{
	char *text = wrap_span(
		"{\"trace_id\":\"0102030405060708090A0B0C0D0E0FfF\",\"span_id\":\"A1a2A3a4A5a6A7a8\","
		"\"parent_span_id\":\"\",\"kind\":\"SPAN_KIND_CONSUMER\","
		"\"start_time_unix_nano\":1700000000000000000,\"endTimeUnixNano\":\"42\","
		"\"dropped_attributes_count\":\"7\",\"flags\":1.0e2,"
		"\"status\":{\"code\":\"STATUS_CODE_ERROR\",\"message\":null},"
		"\"attributes\":[{\"key\":\"i\",\"value\":{\"int_value\":-42}},"
		"{\"key\":\"d\",\"value\":{\"double_value\":\"-Infinity\"}},"
		"{\"key\":\"s\",\"value\":{\"doubleValue\":\"1.5\"}},"
		"{\"key\":\"n\",\"value\":{\"doubleValue\":3}},"
		"{\"key\":\"b\",\"value\":{\"bytes_value\":\"-_8\"}},"
		"{\"key\":\"kv\",\"value\":{\"kvlist_value\":{\"values\":[]}}},"
		"{\"key\":\"nul\",\"value\":{\"stringValue\":null}}],"
		"\"links\":[{\"trace_id\":\"ff\",\"span_id\":\"00\",\"flags\":\"3\"}]}");
	const otlp_span *s;
	struct ob_arena a;

	ob_arena_init(&a, 1 << 20);
	s = first_span(decode_ok(&a, text));
	assert_int_equal(s->trace_id.len, 16);
	assert_memory_equal(s->trace_id.data,
			    "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\xff", 16);
	assert_memory_equal(s->span_id.data, "\xa1\xa2\xa3\xa4\xa5\xa6\xa7\xa8", 8);
	assert_int_equal(s->parent_span_id.len, 0);
	assert_int_equal(s->kind, OTLP_KIND(CONSUMER));
	assert_true(s->start_time_unix_nano == 1700000000000000000ULL);
	assert_true(s->end_time_unix_nano == 42);
	assert_int_equal(s->dropped_attributes_count, 7);
	assert_int_equal(s->flags, 100);
	assert_int_equal(s->status->code, OTLP_STATUS(ERROR));
	assert_int_equal(s->n_attributes, 7);
	assert_int_equal(s->attributes[0]->value->value_case, OTLP_VALUE(INT_VALUE));
	assert_true(s->attributes[0]->value->int_value == -42);
	assert_true(isinf(s->attributes[1]->value->double_value) &&
		    s->attributes[1]->value->double_value < 0);
	assert_true(s->attributes[2]->value->double_value == 1.5);
	assert_true(s->attributes[3]->value->double_value == 3);
	assert_int_equal(s->attributes[4]->value->bytes_value.len, 2);
	assert_memory_equal(s->attributes[4]->value->bytes_value.data, "\xfb\xff", 2);
	assert_int_equal(s->attributes[5]->value->value_case, OTLP_VALUE(KVLIST_VALUE));
	assert_int_equal(s->attributes[5]->value->kvlist_value->n_values, 0);
	assert_int_equal(s->attributes[6]->value->value_case, OTLP_VALUE(_NOT_SET));
	assert_int_equal(s->links[0]->trace_id.len, 1);     /* wrong length passes through */
	assert_int_equal(s->links[0]->trace_id.data[0], 0xff);
	assert_int_equal(s->links[0]->flags, 3);
	free(text);
	ob_arena_release(&a);
}

static void
test_unknown_fields_ignored(void **state)
{
	const char *text =
		"{\"future\":{\"a\":[1,{\"b\":null}]},\"resourceSpans\":[{\"x\":1,\"scopeSpans\":"
		"[{\"spans\":[{\"name\":\"n\",\"unknownObj\":{\"kind\":\"bad\"},\"kind\":1,"
		"\"Kind\":\"wrong case is unknown\",\"trace__id\":5}]}]}],\"extra\":\"y\"}";
	const otlp_span *s;
	struct ob_arena a;

	ob_arena_init(&a, 1 << 20);
	s = first_span(decode_ok(&a, text));
	assert_string_equal(s->name, "n");
	assert_int_equal(s->kind, OTLP_KIND(INTERNAL));
	ob_arena_release(&a);
}

/* Presence: zero scalars left out, a set oneof member always written. */
static void
test_presence(void **state)
{
	otlp_span *s = make(&opentelemetry__proto__trace__v1__span__descriptor);
	otlp_any_value *v;
	char *text;

	text = encode(&s->base);
	assert_string_equal(text, "{}");
	free(text);
	s->name = (char *)"";
	s->trace_id = id("", 0);
	s->status = make(&opentelemetry__proto__trace__v1__status__descriptor);
	text = encode(&s->base);
	assert_string_equal(text, "{\"status\":{}}");
	free(text);

	v = any_double(-0.0);
	text = encode(&v->base);
	assert_string_equal(text, "{\"doubleValue\":-0.0}");
	free(text);
	v = any_double(0.1);    /* short where short is exact */
	text = encode(&v->base);
	assert_string_equal(text, "{\"doubleValue\":0.1}");
	free(text);
	v = any_double(1e300);
	text = encode(&v->base);
	assert_string_equal(text, "{\"doubleValue\":1e300}");
	free(text);
	v = any_double(0.1 + 0.2);
	text = encode(&v->base);
	assert_string_equal(text, "{\"doubleValue\":0.30000000000000004}");
	free(text);
	v = any_str("");
	text = encode(&v->base);
	assert_string_equal(text, "{\"stringValue\":\"\"}");
	free(text);
	v = any_bytes(NULL, 0);
	text = encode(&v->base);
	assert_string_equal(text, "{\"bytesValue\":\"\"}");
	free(text);
	v = any_str(protobuf_c_empty_string);   /* protobuf-c's default: not packed */
	text = encode(&v->base);
	assert_string_equal(text, "{}");
	free(text);
}

static void
test_invalid_utf8_replaced(void **state)
{
	otlp_any_value *v = any_str("a\xff" "b\xc3" "c\xed\xa0\x80" "d\xc0\xaf");
	char *text = encode(&v->base);

	assert_string_equal(text, "{\"stringValue\":\"a\xef\xbf\xbd" "b\xef\xbf\xbd"
				  "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
				  "d\xef\xbf\xbd\xef\xbf\xbd\"}");
	free(text);
}

/* Decode text as an export request and expect err with message want. */
static void
expect_error(const char *text, enum ob_err want_err, const char *want)
{
	char errbuf[OB_ERRLEN] = "";
	ProtobufCMessage *m = (ProtobufCMessage *)&m;
	struct ob_arena a;
	enum ob_err err;

	ob_arena_init(&a, 1 << 20);
	err = otlp_json_decode(&otlp_export_request_descriptor, text, strlen(text), &a, &m, errbuf);
	if (err != want_err || strncmp(errbuf, want, strlen(want)) != 0)
		fail_msg("%s\n  gave %d \"%s\"\n  want %d \"%s\"", text, err, errbuf, want_err, want);
	assert_null(m);
	ob_arena_release(&a);
}

static void
test_errors(void **state)
{
	static const struct {
		enum ob_err err;
		const char *span;
		const char *want;       /* after "resourceSpans[0].scopeSpans[0].spans[0]." */
	} spans[] = {
		{ OB_EINVAL, "{\"traceId\":\"0102zz\"}",
		  "traceId: not a hex id" },
		{ OB_EINVAL, "{\"spanId\":\"abc\"}",
		  "spanId: a hex id needs an even number of digits, not 3" },
		{ OB_EINVAL, "{\"kind\":\"SPAN_KIND_BOGUS\"}",
		  "kind: not a value name of enum SpanKind" },
		{ OB_EINVAL, "{\"kind\":2147483648}",
		  "kind: integer out of range for enum" },
		{ OB_EINVAL, "{\"droppedAttributesCount\":-1}",
		  "droppedAttributesCount: integer out of range for uint32" },
		{ OB_EINVAL, "{\"droppedAttributesCount\":\"abc\"}",
		  "droppedAttributesCount: expected an integer" },
		{ OB_EINVAL, "{\"droppedAttributesCount\":1.5}",
		  "droppedAttributesCount: expected an integer, not 1.5" },
		{ OB_EINVAL, "{\"startTimeUnixNano\":\"-1\"}",
		  "startTimeUnixNano: integer out of range for fixed64" },
		{ OB_EINVAL, "{\"startTimeUnixNano\":\"18446744073709551616\"}",
		  "startTimeUnixNano: expected an integer" },
		{ OB_EINVAL, "{\"startTimeUnixNano\":\" 12\"}",
		  "startTimeUnixNano: expected an integer" },
		{ OB_EINVAL, "{\"name\":5}",
		  "name: expected a string" },
		{ OB_EUNSUPPORTED, "{\"name\":\"a\\u0000b\"}",
		  "name: strings holding U+0000 cannot be stored" },
		{ OB_EINVAL, "{\"status\":[]}",
		  "status: expected an object" },
		{ OB_EINVAL, "{\"events\":{}}",
		  "events: expected an array" },
		{ OB_EINVAL, "{\"events\":[{},null]}",
		  "events[1]: null is not allowed in an array" },
		{ OB_EINVAL, "{\"attributes\":[{\"key\":\"k\",\"value\":{\"intValue\":\"9223372036854775808\"}}]}",
		  "attributes[0].value.intValue: integer out of range for int64" },
		{ OB_EINVAL, "{\"attributes\":[{\"value\":{\"stringValue\":\"a\",\"intValue\":\"1\"}}]}",
		  "attributes[0].value.intValue: another member of the same oneof is set already" },
		{ OB_EINVAL, "{\"attributes\":[{\"value\":{\"bytesValue\":\"a!==\"}}]}",
		  "attributes[0].value.bytesValue: not valid base64" },
		{ OB_EINVAL, "{\"attributes\":[{\"value\":{\"bytesValue\":\"abcde\"}}]}",
		  "attributes[0].value.bytesValue: not valid base64" },
		{ OB_EINVAL, "{\"attributes\":[{\"value\":{\"doubleValue\":\"1,5\"}}]}",
		  "attributes[0].value.doubleValue: expected a number" },
		{ OB_EINVAL, "{\"attributes\":[{\"value\":{\"doubleValue\":true}}]}",
		  "attributes[0].value.doubleValue: expected a number" },
		{ OB_EINVAL, "{\"attributes\":[{\"value\":{\"boolValue\":1}}]}",
		  "attributes[0].value.boolValue: expected true or false" },
		{ OB_EINVAL, "{\"attributes\":[{\"value\":{\"arrayValue\":{\"values\":[{\"kvlistValue\":{\"values\":[{\"key\":7}]}}]}}}]}",
		  "attributes[0].value.arrayValue.values[0].kvlistValue.values[0].key: expected a string" },
	};
	char want[OB_ERRLEN], *text;
	size_t i;

	for (i = 0; i < sizeof spans / sizeof *spans; i++) {
		text = wrap_span(spans[i].span);
		snprintf(want, sizeof want, "resourceSpans[0].scopeSpans[0].spans[0].%s", spans[i].want);
		expect_error(text, spans[i].err, want);
		free(text);
	}
	/* A path through several indexes, with a snake_case key as written. */
	expect_error("{\"resourceSpans\":[{\"scope_spans\":[{},{\"spans\":[{},{},{},{\"kind\":true}]}]}]}",
		     OB_EINVAL, "resourceSpans[0].scope_spans[1].spans[3].kind: expected an integer or enum name");
	expect_error("", OB_EINVAL, "not valid JSON: ");
	expect_error("{\"resourceSpans\":[}", OB_EINVAL, "not valid JSON: ");
	expect_error("{} x", OB_EINVAL, "not valid JSON: ");
	expect_error("[]", OB_EINVAL, "expected a JSON object");
	expect_error("{\"resourceSpans\":{}}", OB_EINVAL, "resourceSpans: expected an array");
	expect_error("{\"resourceSpans\":[5]}", OB_EINVAL, "resourceSpans[0]: expected an object");
}

/* A chain of n arrays around an int, as the value of one attribute. */
static char *
nested_arrays(int n)
{
	struct ob_buf b;
	size_t len;
	int i;

	ob_buf_init(&b, 0);
	ob_buf_addstr(&b, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"attributes\":[{\"key\":\"k\",\"value\":");
	for (i = 0; i < n; i++)
		ob_buf_addstr(&b, "{\"arrayValue\":{\"values\":[");
	ob_buf_addstr(&b, "{\"intValue\":1}");
	for (i = 0; i < n; i++)
		ob_buf_addstr(&b, "]}}");
	ob_buf_addstr(&b, "}]}]}]}]}");
	return (char *)ob_buf_take(&b, &len);
}

/* Attributes nested n kvlists deep. */
static char *
nested_kvlists(int n)
{
	struct ob_buf b;
	size_t len;
	int i;

	ob_buf_init(&b, 0);
	ob_buf_addstr(&b, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"attributes\":[{\"key\":\"k\",\"value\":");
	for (i = 1; i < n; i++)
		ob_buf_addstr(&b, "{\"kvlistValue\":{\"values\":[{\"key\":\"k\",\"value\":");
	ob_buf_addstr(&b, "{\"intValue\":1}");
	for (i = 1; i < n; i++)
		ob_buf_addstr(&b, "}]}}");
	ob_buf_addstr(&b, "}]}]}]}]}");
	return (char *)ob_buf_take(&b, &len);
}

static void
test_depth(void **state)
{
	char errbuf[OB_ERRLEN];
	ProtobufCMessage *m;
	struct ob_arena a;
	char *text;
	struct ob_buf b;
	otlp_any_value *v;
	int i;

	/* The design's limit, 32 levels of attribute nesting, fits. */
	ob_arena_init(&a, 1 << 20);
	text = nested_kvlists(32);
	decode_ok(&a, text);
	free(text);
	text = nested_arrays(32);
	decode_ok(&a, text);
	free(text);
	ob_arena_release(&a);

	text = nested_arrays(100);
	expect_error(text, OB_EINVAL, "resourceSpans[0].scopeSpans[0].spans[0]...arrayValue.values[0]");
	ob_arena_init(&a, 1 << 20);
	otlp_json_decode(&otlp_export_request_descriptor, text, strlen(text), &a, &m, errbuf);
	assert_non_null(strstr(errbuf, "[0].arrayValue.values[0].arrayValue: nesting deeper than 128 messages"));
	assert_true(strlen(errbuf) < OB_ERRLEN - 1);
	ob_arena_release(&a);
	free(text);

	/* Encoding refuses a message deeper than the decoder accepts. */
	v = any_int(1);
	for (i = 0; i < 70; i++)
		v = any_array(1, list(1, v));
	assert_null(otlp_json_from_message(&v->base));
	ob_buf_init(&b, 0);
	assert_int_equal(otlp_json_encode(&v->base, &b, errbuf), OB_EINVAL);
	assert_string_equal(errbuf, "message nests deeper than 128 levels");
	assert_int_equal(b.len, 0);
	ob_buf_release(&b);
}

static void
test_limits(void **state)
{
	otlp_export_request *req = rich_request();
	char errbuf[OB_ERRLEN];
	ProtobufCMessage *m;
	struct ob_arena a;
	struct ob_buf b;
	char *text;

	/* The arena's cap turns into OB_ETOOBIG. */
	text = encode(&req->base);
	ob_arena_init(&a, 16 << 10);
	assert_int_equal(otlp_json_decode(&otlp_export_request_descriptor, text, strlen(text), &a,
					  &m, errbuf), OB_ETOOBIG);
	assert_null(m);
	assert_non_null(strstr(errbuf, "passes the memory cap of 16384 bytes"));
	ob_arena_release(&a);

	/* The output buffer's cap too, and the buffer is left as it was. */
	ob_buf_init(&b, 1000);
	ob_buf_addstr(&b, "prefix");
	assert_int_equal(otlp_json_encode(&req->base, &b, errbuf), OB_ETOOBIG);
	assert_int_equal(b.len, 6);
	assert_string_equal((char *)b.data, "prefix");
	ob_buf_release(&b);
	free(text);
}

/* The codec is not tied to one message: TracesData and the response. */
static void
test_other_messages(void **state)
{
	const char *text = "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"x\",\"kind\":3}]}]}]}";
	const char *resp = "{\"partialSuccess\":{\"rejectedSpans\":\"-5\",\"errorMessage\":\"no\"}}";
	otlp_export_request *req;
	otlp_traces_data *td;
	otlp_export_response *r;
	uint8_t *p1, *p2;
	size_t n1, n2;
	ProtobufCMessage *m;
	struct ob_arena a;
	char *again;

	ob_arena_init(&a, 1 << 20);
	req = decode_ok(&a, text);
	assert_int_equal(otlp_json_decode(&otlp_traces_data_descriptor, text, strlen(text), &a, &m,
					  NULL), OB_OK);
	td = (otlp_traces_data *)m;
	assert_ptr_equal(td->base.descriptor, &otlp_traces_data_descriptor);
	p1 = pack(&req->base, &n1);
	p2 = pack(&td->base, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(p1, p2, n1);
	assert_int_equal(otlp_json_decode(&otlp_export_response_descriptor, resp, strlen(resp), &a,
					  &m, NULL), OB_OK);
	r = (otlp_export_response *)m;
	assert_true(r->partial_success->rejected_spans == -5);
	again = encode(&r->base);
	assert_string_equal(again, resp);
	free(again);
	free(p1);
	free(p2);
	ob_arena_release(&a);
}

static int
setup(void **state)
{
	ob_arena_init(&build, 0);
	return 0;
}

static int
teardown(void **state)
{
	ob_arena_release(&build);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_rich),
		cmocka_unit_test(test_exact_text),
		cmocka_unit_test(test_lenient_input),
		cmocka_unit_test(test_unknown_fields_ignored),
		cmocka_unit_test(test_presence),
		cmocka_unit_test(test_invalid_utf8_replaced),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_other_messages),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
