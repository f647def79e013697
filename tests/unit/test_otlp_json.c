/*
 * test_otlp_json.c - the OTLP/JSON transcoder (src/codec/otlp_json*.c).
 *
 * The main check is a round trip: a request holding every kind of value
 * OTLP can carry is built in C and packed by protobuf-c; wire -> JSON ->
 * wire must give the very same bytes, and JSON -> wire -> JSON the very
 * same text.  Around it: exact expected text for a small span, strings
 * holding U+0000 and a 64 KiB string (which no protobuf-c struct can
 * carry), the lenient input forms (snake case, enum names, numbers for
 * 64-bit ints), presence rules, field order, wire bytes as other writers
 * send them (packed and not, repeated fields split up, messages to
 * merge), the nesting limits, the output caps and the error messages.
 * A small descriptor made here (struct test_msg) covers the field types
 * OTLP traces do not use.
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
#include "codec/otlp_json.h"
#include "model/otlp.h"
#include "model/otlp_wire.h"

/* ---- building messages in an arena ---------------------------------- */

static struct ob_arena build;

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

/* ---- a descriptor for the field types OTLP traces do not use ----------- */

#define FIELD(name, id, label, type, flags, desc)                                              \
	{ name, id, PROTOBUF_C_LABEL_##label, PROTOBUF_C_TYPE_##type, 0, 0, desc, NULL, flags, 0, \
	  NULL, NULL }

static const ProtobufCMessageDescriptor test_msg_descriptor;
static const ProtobufCFieldDescriptor test_msg_fields[] = {
	FIELD("ints", 1, REPEATED, INT64, PROTOBUF_C_FIELD_FLAG_PACKED, NULL),
	FIELD("zigzags", 2, REPEATED, SINT32, PROTOBUF_C_FIELD_FLAG_PACKED, NULL),
	FIELD("fixeds", 3, REPEATED, FIXED32, PROTOBUF_C_FIELD_FLAG_PACKED, NULL),
	FIELD("reals", 4, REPEATED, DOUBLE, PROTOBUF_C_FIELD_FLAG_PACKED, NULL),
	FIELD("flags", 5, REPEATED, BOOL, PROTOBUF_C_FIELD_FLAG_PACKED, NULL),
	FIELD("unpacked", 6, REPEATED, UINT64, 0, NULL),
	FIELD("names", 7, REPEATED, STRING, 0, NULL),
	FIELD("kinds", 8, REPEATED, ENUM, PROTOBUF_C_FIELD_FLAG_PACKED,
	      &opentelemetry__proto__trace__v1__span__span_kind__descriptor),
	FIELD("small", 9, NONE, FLOAT, 0, NULL),
	FIELD("big", 10, NONE, SFIXED64, 0, NULL),
	FIELD("count", 11, OPTIONAL, INT32, 0, NULL),   /* explicit presence */
	FIELD("neg", 12, NONE, SINT64, 0, NULL),
	FIELD("child", 20, NONE, MESSAGE, 0, &test_msg_descriptor),
	FIELD("children", 21, REPEATED, MESSAGE, 0, &test_msg_descriptor),
};
static const ProtobufCMessageDescriptor test_msg_descriptor = {
	PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC, "test.Msg", "Msg", "Msg", "test", 0,
	sizeof test_msg_fields / sizeof *test_msg_fields, test_msg_fields, NULL, 0, NULL, NULL,
	NULL, NULL, NULL,
};

/* ---- writing wire bytes by hand ------------------------------------- */

static void
w_varint(struct ob_buf *b, uint32_t num, uint64_t v)
{
	otlp_wire_put_varint(b, (uint64_t)num << 3);
	otlp_wire_put_varint(b, v);
}

static void
w_fixed(struct ob_buf *b, uint32_t num, int size, uint64_t v)
{
	int i;

	otlp_wire_put_varint(b, (uint64_t)num << 3 | (size == 8 ? 1 : 5));
	for (i = 0; i < size; i++)
		ob_buf_add(b, &(uint8_t){ (uint8_t)(v >> 8 * i) }, 1);
}

static void
w_len(struct ob_buf *b, uint32_t num, const void *p, size_t n)
{
	otlp_wire_put_bytes(b, num, p, n);
}

/* Wrap b's bytes as field num of a new message, in place. */
static void
w_wrap(struct ob_buf *b, uint32_t num)
{
	struct ob_buf outer;

	ob_buf_init(&outer, 0);
	w_len(&outer, num, b->data, b->len);
	ob_buf_release(b);
	*b = outer;
}

/* A span's bytes wrapped into a request: ScopeSpans, ResourceSpans, request. */
static void
w_request(struct ob_buf *span)
{
	w_wrap(span, 2);
	w_wrap(span, 2);
	w_wrap(span, 1);
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

/* JSON -> wire, failing the test on error; the caller frees. */
static uint8_t *
to_wire(const ProtobufCMessageDescriptor *desc, const char *json, size_t len, size_t *n)
{
	char errbuf[OB_ERRLEN] = "";
	struct ob_buf b;

	ob_buf_init(&b, 0);
	if (otlp_json_to_wire(desc, json, len, &b, errbuf) != OB_OK)
		fail_msg("to wire %.300s: %s", json, errbuf);
	return ob_buf_take(&b, n);
}

/* wire -> JSON, failing the test on error; the caller frees. */
static char *
to_json(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t n)
{
	char errbuf[OB_ERRLEN] = "";
	struct ob_buf b;

	ob_buf_init(&b, 0);
	if (otlp_wire_to_json(desc, p, n, &b, errbuf) != OB_OK)
		fail_msg("to json: %s", errbuf);
	return (char *)ob_buf_take(&b, &n);
}

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

/* Text as an export request unpacked by protobuf-c (free it with free_request). */
static otlp_export_request *
decode_ok(const char *text)
{
	size_t n;
	uint8_t *p = to_wire(&otlp_export_request_descriptor, text, strlen(text), &n);
	ProtobufCMessage *m = protobuf_c_message_unpack(&otlp_export_request_descriptor, NULL, n, p);

	assert_non_null(m);
	free(p);
	return (otlp_export_request *)m;
}

static void
free_request(otlp_export_request *r)
{
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

/* JSON -> wire -> JSON gives text back unchanged, and the wire once more the same bytes. */
static void
assert_json_stable(const ProtobufCMessageDescriptor *desc, const char *text, size_t len)
{
	size_t n1, n2;
	uint8_t *w1 = to_wire(desc, text, len, &n1), *w2;
	char *again = to_json(desc, w1, n1);

	if (strlen(again) != len || memcmp(again, text, len) != 0)
		fail_msg("JSON changed:\n  %.400s\n  %.400s", text, again);
	w2 = to_wire(desc, again, len, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(w1, w2, n1);
	free(w1);
	free(w2);
	free(again);
}

/* wire -> JSON -> wire gives the bytes back unchanged; returns the JSON. */
static char *
assert_wire_stable(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t n)
{
	char *text = to_json(desc, p, n);
	size_t n2;
	uint8_t *back = to_wire(desc, text, strlen(text), &n2);

	if (n2 != n || memcmp(back, p, n) != 0)
		fail_msg("wire changed (%zu bytes, now %zu) through %.400s", n, n2, text);
	free(back);
	return text;
}

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

/* JSON -> wire must fail with err and a message starting with want; out stays as it was. */
static void
expect_error_desc(const ProtobufCMessageDescriptor *desc, const char *text, enum ob_err want_err,
		  const char *want)
{
	char errbuf[OB_ERRLEN] = "";
	struct ob_buf b;
	enum ob_err err;

	ob_buf_init(&b, 0);
	ob_buf_addstr(&b, "keep");
	err = otlp_json_to_wire(desc, text, strlen(text), &b, errbuf);
	if (err != want_err || strncmp(errbuf, want, strlen(want)) != 0)
		fail_msg("%.300s\n  gave %d \"%s\"\n  want %d \"%s\"", text, err, errbuf, want_err, want);
	assert_int_equal(b.len, 4);
	assert_string_equal((char *)b.data, "keep");
	ob_buf_release(&b);
}

static void
expect_error(const char *text, enum ob_err want_err, const char *want)
{
	expect_error_desc(&otlp_export_request_descriptor, text, want_err, want);
}

/* wire -> JSON must fail with err and a message that contains want. */
static void
expect_wire_error(const ProtobufCMessageDescriptor *desc, const struct ob_buf *w,
		  enum ob_err want_err, const char *want)
{
	char errbuf[OB_ERRLEN] = "";
	struct ob_buf b;
	enum ob_err err;

	ob_buf_init(&b, 0);
	err = otlp_wire_to_json(desc, w->data, w->len, &b, errbuf);
	if (err != want_err || !strstr(errbuf, want))
		fail_msg("gave %d \"%s\"\n  want %d \"%s\"", err, errbuf, want_err, want);
	assert_int_equal(b.len, 0);
	ob_buf_release(&b);
}

/* ---- tests ---------------------------------------------------------- */

static void
test_round_trip_rich(void **state)
{
	otlp_export_request *req = rich_request(), *back;
	const otlp_span *s;
	uint8_t *want, *got;
	size_t nwant, ngot;
	char *text, *again;

	want = pack(&req->base, &nwant);
	text = to_json(&otlp_export_request_descriptor, want, nwant);
	got = to_wire(&otlp_export_request_descriptor, text, strlen(text), &ngot);
	assert_int_equal(ngot, nwant);
	assert_memory_equal(got, want, nwant);
	again = to_json(&otlp_export_request_descriptor, got, ngot);
	assert_string_equal(again, text);
	free(again);
	again = encode(&req->base);     /* the struct-based call writes the same */
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
	assert_non_null(strstr(text, "\"doubleValue\":1e300"));
	assert_non_null(strstr(text, "\"doubleValue\":0.1}"));
	assert_non_null(strstr(text, "\"doubleValue\":5e-324"));
	assert_non_null(strstr(text, "\"bytesValue\":\"AP8Q\""));
	assert_non_null(strstr(text, "\"bytesValue\":\"YQ==\""));
	assert_non_null(strstr(text, "\"bytesValue\":\"YWI=\""));
	assert_non_null(strstr(text, "\"stringValue\":\"a\\\"b\\\\c\\n\\t\\u0001/\""));
	assert_non_null(strstr(text, "\"traceId\":\"0102030405060708090a0b0c0d0e0fff\""));
	assert_non_null(strstr(text, "\"parentSpanId\":\"b1b2b3b4b5b6b7b8\""));
	assert_non_null(strstr(text, "\"endTimeUnixNano\":\"18446744073709551615\""));
	assert_non_null(strstr(text, "\"idKeys\":[\"service.name\",\"service.namespace\"]"));
	assert_non_null(strstr(text, "\"arrayValue\":{}"));
	assert_non_null(strstr(text, "\"status\":{}"));
	assert_non_null(strstr(text, "\"resourceSpans\":[{\"resource\""));
	assert_non_null(strstr(text, "},{}]}"));     /* the empty ResourceSpans */
	assert_null(strstr(text, "_"));              /* no snake_case key, no underscores at all */

	/* protobuf-c reads the bytes back to the exact doubles. */
	back = (otlp_export_request *)protobuf_c_message_unpack(&otlp_export_request_descriptor,
								  NULL, ngot, got);
	assert_non_null(back);
	s = back->resource_spans[0]->scope_spans[0]->spans[0];
	assert_true(s->attributes[11]->value->double_value == 1e300);
	assert_true(s->attributes[12]->value->double_value == 0.1);
	assert_true(signbit(s->attributes[13]->value->double_value));
	assert_true(s->attributes[15]->value->double_value == 4.9e-324);
	free_request(back);
	free(again);
	free(got);
	free(text);
	free(want);
}

static void
test_exact_text(void **state)
{
	otlp_export_request *req = make(&otlp_export_request_descriptor);
	otlp_resource_spans *rs = make(&opentelemetry__proto__trace__v1__resource_spans__descriptor);
	otlp_scope_spans *ss = make(&opentelemetry__proto__trace__v1__scope_spans__descriptor);
	otlp_span *s = make(&opentelemetry__proto__trace__v1__span__descriptor);
	const char *want =
		"{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
		"\"value\":{\"stringValue\":\"api\"}}]},\"scopeSpans\":[{\"scope\":{\"name\":\"lib\","
		"\"version\":\"1.2\"},\"spans\":[{\"traceId\":\"5b8efcf47a140b3e9c3d1f2a00000001\","
		"\"spanId\":\"0011223344556677\",\"name\":\"GET /\",\"kind\":2,"
		"\"startTimeUnixNano\":\"1700000000000000000\","
		"\"endTimeUnixNano\":\"1700000000500000000\",\"attributes\":[{\"key\":"
		"\"http.status_code\",\"value\":{\"intValue\":\"200\"}}],\"droppedAttributesCount\":1,"
		"\"status\":{\"code\":2},\"flags\":257}]}],"
		"\"schemaUrl\":\"https://opentelemetry.io/schemas/1.21.0\"}]}";
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
	assert_string_equal(text, want);
	free(text);
	assert_json_stable(&otlp_export_request_descriptor, want, strlen(want));
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
		"{\"key\":\"nul\",\"value\":{\"stringValue\":null}},"
		"{\"key\":\"\\u0041\\n\\ud834\\udd1e\", \"value\" : { \"intValue\" : 18 } }],"
		"\"links\":[{\"trace_id\":\"ff\",\"span_id\":\"00\",\"flags\":\"3\"}]}");
	otlp_export_request *r = decode_ok(text);
	const otlp_span *s = first_span(r);

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
	assert_int_equal(s->n_attributes, 8);
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
	assert_string_equal(s->attributes[7]->key, "A\n\xf0\x9d\x84\x9e");
	assert_int_equal(s->attributes[7]->value->int_value, 18);
	assert_int_equal(s->links[0]->trace_id.len, 1);     /* wrong length passes through */
	assert_int_equal(s->links[0]->trace_id.data[0], 0xff);
	assert_int_equal(s->links[0]->flags, 3);
	free_request(r);
	free(text);
}

static void
test_unknown_fields_ignored(void **state)
{
	const char *text =
		"{\"future\":{\"a\":[1,{\"b\":null},\"x\\u0000\",-1.5e3,true,false,[]]},"
		"\"resourceSpans\":[{\"x\":1,\"scopeSpans\":"
		"[{\"spans\":[{\"name\":\"n\",\"unknownObj\":{\"kind\":\"bad\"},\"kind\":1,"
		"\"Kind\":\"wrong case is unknown\",\"trace__id\":5}]}]}],\"extra\":\"y\"}";
	otlp_export_request *r = decode_ok(text);
	const otlp_span *s = first_span(r);

	assert_string_equal(s->name, "n");
	assert_int_equal(s->kind, OTLP_KIND(INTERNAL));
	free_request(r);
}

/* Presence: zero scalars left out, a set oneof member always written. */
static void
test_presence(void **state)
{
	static const struct {
		const char *json, *want;
	} cases[] = {
		{ "{\"name\":\"\",\"traceId\":\"\",\"kind\":0,\"flags\":\"0\",\"events\":[],"
		  "\"droppedLinksCount\":0}", "{}" },
		{ "{\"status\":{}}", "{\"status\":{}}" },
		{ "{\"status\":{\"code\":0,\"message\":\"\"}}", "{\"status\":{}}" },
		{ "{\"attributes\":[{}]}", "{\"attributes\":[{}]}" },
		{ "{\"attributes\":[{\"key\":\"\",\"value\":{}}]}", "{\"attributes\":[{\"value\":{}}]}" },
		{ "{\"attributes\":[{\"value\":{\"intValue\":0}}]}",
		  "{\"attributes\":[{\"value\":{\"intValue\":\"0\"}}]}" },
		{ "{\"attributes\":[{\"value\":{\"boolValue\":false}}]}",
		  "{\"attributes\":[{\"value\":{\"boolValue\":false}}]}" },
		{ "{\"attributes\":[{\"value\":{\"stringValue\":\"\"}}]}",
		  "{\"attributes\":[{\"value\":{\"stringValue\":\"\"}}]}" },
		{ "{\"attributes\":[{\"value\":{\"bytesValue\":\"\"}}]}",
		  "{\"attributes\":[{\"value\":{\"bytesValue\":\"\"}}]}" },
		{ "{\"attributes\":[{\"value\":{\"doubleValue\":0}}]}",
		  "{\"attributes\":[{\"value\":{\"doubleValue\":0.0}}]}" },
		{ "{\"attributes\":[{\"value\":{\"arrayValue\":{\"values\":[]}}}]}",
		  "{\"attributes\":[{\"value\":{\"arrayValue\":{}}}]}" },
	};
	otlp_span *s = make(&opentelemetry__proto__trace__v1__span__descriptor);
	otlp_any_value *v;
	uint8_t *p;
	char *text;
	size_t i, n;

	for (i = 0; i < sizeof cases / sizeof *cases; i++) {
		p = to_wire(&opentelemetry__proto__trace__v1__span__descriptor, cases[i].json,
			    strlen(cases[i].json), &n);
		text = to_json(&opentelemetry__proto__trace__v1__span__descriptor, p, n);
		assert_string_equal(text, cases[i].want);
		free(text);
		free(p);
	}
	/* The same from structs, which protobuf-c packs. */
	text = encode(&s->base);
	assert_string_equal(text, "{}");
	free(text);
	s->name = (char *)"";
	s->trace_id = id("", 0);
	s->status = make(&opentelemetry__proto__trace__v1__status__descriptor);
	text = encode(&s->base);
	assert_string_equal(text, "{\"status\":{}}");
	free(text);
	v = any_double(0.1 + 0.2);
	text = encode(&v->base);
	assert_string_equal(text, "{\"doubleValue\":0.30000000000000004}");
	free(text);
	v = any_str(protobuf_c_empty_string);   /* protobuf-c's default: not packed */
	text = encode(&v->base);
	assert_string_equal(text, "{}");
	free(text);
}

/* Fields reach the wire in descriptor order, whatever order the keys had. */
static void
test_field_order(void **state)
{
	const char *ordered = "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"a\","
			      "\"value\":{\"intValue\":\"1\"}}]},\"scopeSpans\":[{\"spans\":["
			      "{\"traceId\":\"01\",\"name\":\"n\",\"kind\":3,\"attributes\":[{\"key\":\"k\","
			      "\"value\":{\"stringValue\":\"v\"}}],\"status\":{\"message\":\"m\","
			      "\"code\":1},\"flags\":1}]}],\"schemaUrl\":\"s\"}]}";
	const char *shuffled = "{\"resourceSpans\":[{\"schemaUrl\":\"s\",\"scopeSpans\":[{\"spans\":["
			       "{\"flags\":1,\"status\":{\"code\":1,\"message\":\"m\"},\"attributes\":["
			       "{\"value\":{\"stringValue\":\"v\"},\"key\":\"k\"}],\"kind\":3,"
			       "\"name\":\"n\",\"traceId\":\"01\"}]}],\"resource\":{\"attributes\":"
			       "[{\"value\":{\"intValue\":\"1\"},\"key\":\"a\"}]}}]}";
	uint8_t *p1, *p2;
	size_t n1, n2;
	char *text;

	p1 = to_wire(&otlp_export_request_descriptor, ordered, strlen(ordered), &n1);
	p2 = to_wire(&otlp_export_request_descriptor, shuffled, strlen(shuffled), &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(p1, p2, n1);
	text = to_json(&otlp_export_request_descriptor, p2, n2);
	assert_string_equal(text, ordered);
	free(text);
	free(p1);
	free(p2);
}

/* U+0000 in a span name, an attribute key and value and a status message, both ways. */
static void
test_nul_strings(void **state)
{
	static const char json[] =
		"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"0102\","
		"\"name\":\"a\\u0000b\",\"attributes\":[{\"key\":\"k\\u0000\",\"value\":"
		"{\"stringValue\":\"\\u0000v\\u0000\"}},{\"key\":\"\\u0000\",\"value\":"
		"{\"arrayValue\":{\"values\":[{\"stringValue\":\"\\u0000\"}]}}}],"
		"\"status\":{\"message\":\"m\\u0000\",\"code\":2}}]}]}]}";
	struct ob_buf span, kvb, any;
	uint8_t *p;
	char *text;
	size_t n;

	assert_json_stable(&otlp_export_request_descriptor, json, sizeof json - 1);
	p = to_wire(&otlp_export_request_descriptor, json, sizeof json - 1, &n);
	assert_non_null(memmem(p, n, "\x2a\x03" "a\0b", 5));        /* name: field 5 */
	assert_non_null(memmem(p, n, "\x0a\x02k\0", 4));            /* key */
	assert_non_null(memmem(p, n, "\x0a\x03\0v\0", 5));          /* stringValue */
	assert_non_null(memmem(p, n, "\x12\x02m\0", 4));            /* status message */
	free(p);

	/* Wire bytes made by hand, as an SDK would send them. */
	ob_buf_init(&any, 0);
	w_len(&any, 1, "\0\0x\0", 4);
	ob_buf_init(&kvb, 0);
	w_len(&kvb, 1, "\0key", 4);
	w_len(&kvb, 2, any.data, any.len);
	ob_buf_init(&span, 0);
	w_len(&span, 5, "x\0y", 3);
	w_len(&span, 9, kvb.data, kvb.len);
	w_len(&span, 15, "\x12\x01\0", 3);
	w_request(&span);
	text = assert_wire_stable(&otlp_export_request_descriptor, span.data, span.len);
	assert_non_null(strstr(text, "\"name\":\"x\\u0000y\""));
	assert_non_null(strstr(text, "{\"key\":\"\\u0000key\",\"value\":{\"stringValue\":"
				     "\"\\u0000\\u0000x\\u0000\"}}"));
	assert_non_null(strstr(text, "\"status\":{\"message\":\"\\u0000\"}"));
	free(text);
	ob_buf_release(&span);
	ob_buf_release(&kvb);
	ob_buf_release(&any);
}

/* A 64 KiB string of every character class, both ways. */
static void
test_big_string(void **state)
{
	static const char *const pieces[] = { "\0", "\x01", "\x1f", "\"", "\\", "/", "\x7f",
					      "\xc3\xa9", "\xe2\x9c\x93", "\xf0\x9d\x84\x9e", "abc" };
	static const size_t lengths[] = { 1, 1, 1, 1, 1, 1, 1, 2, 3, 4, 3 };
	struct ob_buf s, w;
	size_t i, n;
	uint8_t *back;
	char *text;

	ob_buf_init(&s, 0);
	for (i = 0; s.len < 64 * 1024 - 4; i++)
		ob_buf_add(&s, pieces[i % 11], lengths[i % 11]);
	while (s.len < 64 * 1024)
		ob_buf_add(&s, "z", 1);
	ob_buf_init(&w, 0);
	w_len(&w, 1, s.data, s.len);    /* AnyValue.string_value */
	text = assert_wire_stable(&opentelemetry__proto__common__v1__any_value__descriptor, w.data,
				  w.len);
	assert_json_stable(&opentelemetry__proto__common__v1__any_value__descriptor, text,
			   strlen(text));
	back = to_wire(&opentelemetry__proto__common__v1__any_value__descriptor, text, strlen(text),
		       &n);
	assert_int_equal(n, w.len);
	assert_memory_equal(back + 4, s.data, s.len);   /* key, 3-byte length, the string */
	free(back);
	free(text);
	ob_buf_release(&s);
	ob_buf_release(&w);
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
	/* On input, text that is not UTF-8 is not JSON. */
	expect_error("{\"resourceSpans\":[{\"schemaUrl\":\"a\xff\"}]}", OB_EINVAL,
		     "not valid JSON: a string that is not UTF-8 (line 1, column ");
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
		{ OB_EINVAL, "{\"droppedAttributesCount\":\"1e2\"}",
		  "droppedAttributesCount: expected an integer" },
		{ OB_EINVAL, "{\"startTimeUnixNano\":\"-1\"}",
		  "startTimeUnixNano: integer out of range for fixed64" },
		{ OB_EINVAL, "{\"startTimeUnixNano\":\"18446744073709551616\"}",
		  "startTimeUnixNano: integer out of range for fixed64" },
		{ OB_EINVAL, "{\"startTimeUnixNano\":18446744073709551616}",
		  "startTimeUnixNano: integer out of range for fixed64" },
		{ OB_EINVAL, "{\"startTimeUnixNano\":\" 12\"}",
		  "startTimeUnixNano: expected an integer" },
		{ OB_EINVAL, "{\"name\":5}",
		  "name: expected a string" },
		{ OB_EINVAL, "{\"name\":\"a\",\"name\":\"b\"}",
		  "name: the field is given twice" },
		{ OB_EINVAL, "{\"traceId\":\"01\",\"trace_id\":\"01\"}",
		  "trace_id: the field is given twice" },
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
		{ OB_EINVAL, "{\"attributes\":[{\"value\":{\"doubleValue\":1e999}}]}",
		  "attributes[0].value.doubleValue: number out of range for a double" },
		{ OB_EINVAL, "{\"attributes\":[{\"value\":{\"boolValue\":1}}]}",
		  "attributes[0].value.boolValue: expected true or false" },
		{ OB_EINVAL, "{\"attributes\":[{\"value\":{\"arrayValue\":{\"values\":[{\"kvlistValue\":{\"values\":[{\"key\":7}]}}]}}}]}",
		  "attributes[0].value.arrayValue.values[0].kvlistValue.values[0].key: expected a string" },
	};
	static const struct {
		const char *json, *want;
	} syntax[] = {
		{ "", "not valid JSON: the text ends inside the JSON (line 1, column 1)" },
		{ "{\"resourceSpans\":[}", "not valid JSON: expected a JSON value (line 1, column 19)" },
		{ "{} x", "not valid JSON: more text after the JSON object (line 1, column 4)" },
		{ "{\"resourceSpans\":[{},]}", "not valid JSON: expected a JSON value" },
		{ "{\"a\":1,}", "not valid JSON: expected a member name in double quotes" },
		{ "{\"a\" 1}", "not valid JSON: expected ':'" },
		{ "{\"a\":01}", "not valid JSON: expected ',' or '}'" },
		{ "{\"a\":-}", "not valid JSON: expected a JSON value" },
		{ "{\"a\":tru}", "not valid JSON: expected a JSON value" },
		{ "{\"a\":\"\\x\"}", "not valid JSON: an unknown escape in a string" },
		{ "{\"a\":\"\\u12\"}", "not valid JSON: \\u needs four hex digits" },
		{ "{\"a\":\"\\udc00\"}", "not valid JSON: a low surrogate without a high one" },
		{ "{\"a\":\"\\ud800x\"}", "not valid JSON: a high surrogate without a low one" },
		{ "{\"a\":\"\t\"}", "not valid JSON: a control character in a string" },
		{ "{\n\"a\":\n\"b", "not valid JSON: the text ends inside the JSON (line 3, column 3)" },
		{ "x", "not valid JSON: expected a JSON object" },
		{ "[]", "expected a JSON object" },
		{ "{\"resourceSpans\":{}}", "resourceSpans: expected an array" },
		{ "{\"resourceSpans\":[5]}", "resourceSpans[0]: expected an object" },
	};
	char want[OB_ERRLEN], *text;
	size_t i;

	for (i = 0; i < sizeof spans / sizeof *spans; i++) {
		text = wrap_span(spans[i].span);
		snprintf(want, sizeof want, "resourceSpans[0].scopeSpans[0].spans[0].%s", spans[i].want);
		expect_error(text, spans[i].err, want);
		free(text);
	}
	for (i = 0; i < sizeof syntax / sizeof *syntax; i++)
		expect_error(syntax[i].json, OB_EINVAL, syntax[i].want);
	/* A path through several indexes, with a snake_case key as written. */
	expect_error("{\"resourceSpans\":[{\"scope_spans\":[{},{\"spans\":[{},{},{},{\"kind\":true}]}]}]}",
		     OB_EINVAL, "resourceSpans[0].scope_spans[1].spans[3].kind: expected an integer or enum name");
}

/* The bytes of a request whose one attribute value nests levels deep (array or kvlist). */
static void
w_nested(struct ob_buf *b, int levels, bool kvlist)
{
	int i;

	ob_buf_init(b, 0);
	w_varint(b, 3, 1);                      /* the innermost AnyValue: intValue 1 */
	for (i = 1; i < levels; i++) {
		if (kvlist) {
			w_wrap(b, 2);           /* KeyValue.value */
			w_wrap(b, 1);           /* KeyValueList.values */
			w_wrap(b, 6);           /* AnyValue.kvlist_value */
		} else {
			w_wrap(b, 1);           /* ArrayValue.values */
			w_wrap(b, 5);           /* AnyValue.array_value */
		}
	}
	w_wrap(b, 2);                           /* KeyValue.value */
	w_wrap(b, 9);                           /* Span.attributes */
	w_request(b);
}

/* The JSON of a request whose one attribute value nests levels deep. */
static char *
nested_json(int levels, bool kvlist)
{
	struct ob_buf b;
	size_t len;
	int i;

	ob_buf_init(&b, 0);
	ob_buf_addstr(&b, "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"attributes\":[{\"value\":");
	for (i = 1; i < levels; i++)
		ob_buf_addstr(&b, kvlist ? "{\"kvlistValue\":{\"values\":[{\"value\":"
				       : "{\"arrayValue\":{\"values\":[");
	ob_buf_addstr(&b, "{\"intValue\":\"1\"}");
	for (i = 1; i < levels; i++)
		ob_buf_addstr(&b, kvlist ? "}]}}" : "]}}");
	ob_buf_addstr(&b, "}]}]}]}]}");
	return (char *)ob_buf_take(&b, &len);
}

/* head, n times open, mid, n times close, tail: in a buffer the caller frees. */
static char *
repeat(const char *head, const char *open, int n, const char *mid, const char *close,
       const char *tail)
{
	struct ob_buf b;
	size_t len;
	int i;

	ob_buf_init(&b, 0);
	ob_buf_addstr(&b, head);
	for (i = 0; i < n; i++)
		ob_buf_addstr(&b, open);
	ob_buf_addstr(&b, mid);
	for (i = 0; i < n; i++)
		ob_buf_addstr(&b, close);
	ob_buf_addstr(&b, tail);
	return (char *)ob_buf_take(&b, &len);
}

static void
test_depth(void **state)
{
	char *text, want[OB_ERRLEN];
	struct ob_buf w;
	otlp_any_value *v;
	int i, kvlist;

	/* The design's limit, 32 levels of attribute values, fits both ways; 33 does not. */
	for (kvlist = 0; kvlist < 2; kvlist++) {
		text = nested_json(32, kvlist);
		assert_json_stable(&otlp_export_request_descriptor, text, strlen(text));
		free(text);
		w_nested(&w, 32, kvlist);
		free(assert_wire_stable(&otlp_export_request_descriptor, w.data, w.len));
		ob_buf_release(&w);
		text = nested_json(33, kvlist);
		expect_error(text, OB_EINVAL, "resourceSpans[0].scopeSpans[0].spans[0]");
		ob_buf_init(&w, 0);
		otlp_json_to_wire(&otlp_export_request_descriptor, text, strlen(text), &w, want);
		assert_non_null(strstr(want, ": attribute values nest deeper than 32 levels"));
		assert_true(strlen(want) < OB_ERRLEN - 1);
		ob_buf_release(&w);
		free(text);
		w_nested(&w, 33, kvlist);
		expect_wire_error(&otlp_export_request_descriptor, &w, OB_EINVAL,
				  ": attribute values nest deeper than 32 levels");
		ob_buf_release(&w);
	}
	/* Deep hostile JSON fails cleanly wherever it is. */
	text = nested_json(100000, false);
	expect_error(text, OB_EINVAL, "resourceSpans[0].scopeSpans[0].spans[0]..");
	free(text);
	text = repeat("", "[", 100000, "", "]", "");
	expect_error(text, OB_EINVAL, "expected a JSON object");
	free(text);
	text = repeat("{\"resourceSpans\":[{\"unknown\":", "[", 100000, "", "]", "}]}");
	expect_error(text, OB_EINVAL, "resourceSpans[0]: JSON objects and arrays nest deeper than 512 levels");
	free(text);
	text = repeat("{\"x\":", "{\"x\":", 100000, "1", "}", "}");
	expect_error(text, OB_EINVAL, "JSON objects and arrays nest deeper than 512 levels");
	free(text);
	text = repeat("{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"attributes\":[{\"value\":",
		      "[", 100000, "", "]", "}]}]}]}]}");
	expect_error(text, OB_EINVAL,
		     "resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value: expected an object");
	free(text);

	/* Messages nest at most 256 deep: the top one and 255 children. */
	text = repeat("", "{\"child\":", 255, "{}", "}", "");
	assert_json_stable(&test_msg_descriptor, text, strlen(text));
	free(text);
	text = repeat("", "{\"child\":", 256, "{}", "}", "");
	expect_error_desc(&test_msg_descriptor, text, OB_EINVAL, "child.child.child");
	ob_buf_init(&w, 0);
	otlp_json_to_wire(&test_msg_descriptor, text, strlen(text), &w, want);
	assert_non_null(strstr(want, ": messages nest deeper than 256 levels"));
	free(text);
	for (i = 0; i < 255; i++)
		w_wrap(&w, 20);
	free(assert_wire_stable(&test_msg_descriptor, w.data, w.len));
	w_wrap(&w, 20);
	expect_wire_error(&test_msg_descriptor, &w, OB_EINVAL, "messages nest deeper than 256 levels");
	ob_buf_release(&w);

	/* A struct nested too deep is refused, not written. */
	v = any_int(1);
	for (i = 0; i < 70; i++)
		v = any_array(1, list(1, v));
	assert_null(otlp_json_from_message(&v->base));
	ob_buf_init(&w, 0);
	assert_int_equal(otlp_json_encode(&v->base, &w, want), OB_EINVAL);
	assert_non_null(strstr(want, "attribute values nest deeper than 32 levels"));
	assert_int_equal(w.len, 0);
	ob_buf_release(&w);
}

/* Caps are exact both ways, and a failed call leaves out as it was. */
static void
test_limits(void **state)
{
	otlp_export_request *req = rich_request();
	char errbuf[OB_ERRLEN];
	uint8_t *wire;
	size_t nwire, ntext;
	struct ob_buf b;
	char *text;

	wire = pack(&req->base, &nwire);
	text = to_json(&otlp_export_request_descriptor, wire, nwire);
	ntext = strlen(text);

	ob_buf_init(&b, 6 + nwire - 1);
	ob_buf_addstr(&b, "prefix");
	assert_int_equal(otlp_json_to_wire(&otlp_export_request_descriptor, text, ntext, &b, errbuf),
			 OB_ETOOBIG);
	assert_non_null(strstr(errbuf, "the protobuf bytes pass their cap of"));
	assert_int_equal(b.len, 6);
	assert_string_equal((char *)b.data, "prefix");
	b.cap++;
	assert_int_equal(otlp_json_to_wire(&otlp_export_request_descriptor, text, ntext, &b, errbuf),
			 OB_OK);
	assert_memory_equal(b.data + 6, wire, nwire);
	ob_buf_release(&b);

	ob_buf_init(&b, 6 + ntext - 1);
	ob_buf_addstr(&b, "prefix");
	assert_int_equal(otlp_wire_to_json(&otlp_export_request_descriptor, wire, nwire, &b, errbuf),
			 OB_ETOOBIG);
	assert_non_null(strstr(errbuf, "the JSON passes its cap of"));
	assert_int_equal(b.len, 6);
	assert_string_equal((char *)b.data, "prefix");
	assert_int_equal(otlp_json_encode(&req->base, &b, errbuf), OB_ETOOBIG);
	assert_int_equal(b.len, 6);
	b.cap++;
	assert_int_equal(otlp_wire_to_json(&otlp_export_request_descriptor, wire, nwire, &b, errbuf),
			 OB_OK);
	assert_string_equal((char *)b.data + 6, text);
	ob_buf_release(&b);
	free(text);
	free(wire);
}

/* The transcoder is not tied to one message: TracesData and the response. */
static void
test_other_messages(void **state)
{
	const char *text = "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"x\",\"kind\":3}]}]}]}";
	const char *resp = "{\"partialSuccess\":{\"rejectedSpans\":\"-5\",\"errorMessage\":\"no\"}}";
	uint8_t *p1, *p2;
	size_t n1, n2;

	p1 = to_wire(&otlp_export_request_descriptor, text, strlen(text), &n1);
	p2 = to_wire(&otlp_traces_data_descriptor, text, strlen(text), &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(p1, p2, n1);
	assert_json_stable(&otlp_traces_data_descriptor, text, strlen(text));
	assert_json_stable(&otlp_export_response_descriptor, resp, strlen(resp));
	free(p1);
	free(p2);
}

/* Wire bytes as other writers may send them: split, repeated, merged, unknown. */
static void
test_wire_quirks(void **state)
{
	struct ob_buf span, a, b;
	char *text;

	/* Attributes split by another field; a name sent twice; status sent twice, merged. */
	ob_buf_init(&a, 0);
	w_len(&a, 1, "k1", 2);
	ob_buf_init(&b, 0);
	w_len(&b, 1, "k2", 2);
	ob_buf_init(&span, 0);
	w_len(&span, 9, a.data, a.len);
	w_len(&span, 5, "first", 5);
	w_len(&span, 15, "\x18\x02", 2);                 /* status { code: 2 } */
	w_varint(&span, 99, 7);                         /* unknown fields of each wire type */
	w_len(&span, 100, "\x08\x01", 2);
	w_fixed(&span, 101, 4, 1);
	w_fixed(&span, 102, 8, 1);
	w_len(&span, 9, b.data, b.len);
	w_len(&span, 5, "last", 4);
	w_len(&span, 15, "\x12\x01m", 3);                /* status { message: "m" } */
	text = to_json(&opentelemetry__proto__trace__v1__span__descriptor, span.data, span.len);
	assert_string_equal(text, "{\"name\":\"last\",\"attributes\":[{\"key\":\"k1\"},{\"key\":\"k2\"}],"
				  "\"status\":{\"message\":\"m\",\"code\":2}}");
	free(text);
	ob_buf_release(&span);

	/* Oneof: the last member wins; a message member merges only after the last switch. */
	ob_buf_init(&span, 0);
	w_len(&span, 1, "s", 1);
	w_varint(&span, 3, 5);
	text = to_json(&opentelemetry__proto__common__v1__any_value__descriptor, span.data, span.len);
	assert_string_equal(text, "{\"intValue\":\"5\"}");
	free(text);
	ob_buf_reset(&span);
	w_len(&span, 5, "\x0a\x02\x10\x01", 4);          /* arrayValue { values: [ {boolValue: true} ] } */
	w_len(&span, 5, "\x0a\x02\x18\x02", 4);          /* arrayValue { values: [ {intValue: 2} ] } */
	text = to_json(&opentelemetry__proto__common__v1__any_value__descriptor, span.data, span.len);
	assert_string_equal(text, "{\"arrayValue\":{\"values\":[{\"boolValue\":true},{\"intValue\":\"2\"}]}}");
	free(text);
	ob_buf_reset(&span);
	w_len(&span, 5, "\x0a\x02\x10\x01", 4);
	w_varint(&span, 3, 5);
	w_len(&span, 5, "\x0a\x02\x18\x02", 4);
	w_len(&span, 5, "", 0);
	text = to_json(&opentelemetry__proto__common__v1__any_value__descriptor, span.data, span.len);
	assert_string_equal(text, "{\"arrayValue\":{\"values\":[{\"intValue\":\"2\"}]}}");
	free(text);

	/* Zero values sent for fields without presence are left out, as if not sent. */
	ob_buf_reset(&span);
	w_len(&span, 5, "", 0);
	w_varint(&span, 6, 0);
	w_fixed(&span, 7, 8, 0);
	w_len(&span, 15, "", 0);
	text = to_json(&opentelemetry__proto__trace__v1__span__descriptor, span.data, span.len);
	assert_string_equal(text, "{\"status\":{}}");
	free(text);

	/* Bytes that are not protobuf, or a known field with the wrong wire type. */
	ob_buf_reset(&span);
	w_len(&span, 5, "abc", 3);
	span.len--;
	w_request(&span);
	expect_wire_error(&otlp_export_request_descriptor, &span, OB_EINVAL,
			  "resourceSpans[0].scopeSpans[0].spans[0]: not valid protobuf (a length runs "
			  "past the end of its message)");
	ob_buf_reset(&span);
	w_varint(&span, 5, 1);
	w_request(&span);
	expect_wire_error(&otlp_export_request_descriptor, &span, OB_EINVAL,
			  "resourceSpans[0].scopeSpans[0].spans[0]: not valid protobuf (field 5, name, "
			  "has wire type 0)");
	ob_buf_reset(&span);
	ob_buf_add(&span, "\x0b", 1);                   /* wire type 3, a group */
	expect_wire_error(&otlp_export_request_descriptor, &span, OB_EINVAL,
			  "not valid protobuf (a wire type that is not 0, 1, 2 or 5)");
	ob_buf_reset(&span);
	ob_buf_add(&span, "\x08\x80", 2);
	expect_wire_error(&otlp_export_request_descriptor, &span, OB_EINVAL, "a varint is cut short");
	ob_buf_release(&span);
	ob_buf_release(&a);
	ob_buf_release(&b);
}

/* Repeated numbers packed, unpacked and both, split up; written back packed as the descriptor says. */
static void
test_packed(void **state)
{
	static const char want[] =
		"{\"ints\":[\"1\",\"2\",\"3\",\"-1\"],\"zigzags\":[-1,1,-2147483648],\"fixeds\":[5,6],"
		"\"reals\":[0.5,-0.0],\"flags\":[true,false],\"unpacked\":[\"7\",\"8\",\"9\"],"
		"\"names\":[\"a\",\"b\"],\"kinds\":[2,9,-1]}";
	struct ob_buf w, canon;
	uint8_t *p;
	char *text;
	size_t n;

	ob_buf_init(&w, 0);
	w_len(&w, 1, "\x01\x02", 2);                    /* ints, packed */
	w_varint(&w, 6, 7);                             /* unpacked, unpacked */
	w_varint(&w, 1, 3);                             /* ints, unpacked, after another field */
	w_len(&w, 6, "\x08\x09", 2);                    /* unpacked, packed after all */
	w_len(&w, 2, "\x01\x02\xff\xff\xff\xff\x0f", 7);   /* zigzags -1, 1, INT32_MIN */
	w_len(&w, 3, "\x05\x00\x00\x00", 4);            /* fixeds 5 */
	w_fixed(&w, 3, 4, 6);                           /* fixeds 6, unpacked */
	w_len(&w, 4, "\x00\x00\x00\x00\x00\x00\xe0\x3f", 8);   /* reals 0.5 */
	w_fixed(&w, 4, 8, 0x8000000000000000ULL);       /* reals -0.0 */
	w_len(&w, 7, "a", 1);
	w_len(&w, 1, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10);     /* ints -1 */
	w_len(&w, 7, "b", 1);
	w_varint(&w, 99, 1);
	w_len(&w, 5, "\x01\x00", 2);
	w_len(&w, 8, "\x02\x09\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12);
	text = to_json(&test_msg_descriptor, w.data, w.len);
	assert_string_equal(text, want);
	free(text);

	/* The canonical bytes: descriptor order, packed where the descriptor says. */
	ob_buf_init(&canon, 0);
	w_len(&canon, 1, "\x01\x02\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 13);
	w_len(&canon, 2, "\x01\x02\xff\xff\xff\xff\x0f", 7);
	w_len(&canon, 3, "\x05\x00\x00\x00\x06\x00\x00\x00", 8);
	w_len(&canon, 4, "\x00\x00\x00\x00\x00\x00\xe0\x3f\x00\x00\x00\x00\x00\x00\x00\x80", 16);
	w_len(&canon, 5, "\x01\x00", 2);
	w_varint(&canon, 6, 7);
	w_varint(&canon, 6, 8);
	w_varint(&canon, 6, 9);
	w_len(&canon, 7, "a", 1);
	w_len(&canon, 7, "b", 1);
	w_len(&canon, 8, "\x02\x09\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12);
	p = to_wire(&test_msg_descriptor, want, sizeof want - 1, &n);
	assert_int_equal(n, canon.len);
	assert_memory_equal(p, canon.data, n);
	free(p);
	free(assert_wire_stable(&test_msg_descriptor, canon.data, canon.len));

	/* Names for enums, in arrays too; an empty array writes nothing. */
	text = "{\"kinds\":[\"SPAN_KIND_SERVER\",\"9\",-1],\"ints\":[]}";
	p = to_wire(&test_msg_descriptor, text, strlen(text), &n);
	text = to_json(&test_msg_descriptor, p, n);
	assert_string_equal(text, "{\"kinds\":[2,9,-1]}");
	free(text);
	free(p);

	/* A packed run cut short. */
	ob_buf_reset(&w);
	w_len(&w, 3, "\x05\x00\x00", 3);
	expect_wire_error(&test_msg_descriptor, &w, OB_EINVAL,
			  "fixeds[0]: not valid protobuf (a packed value is cut short)");
	ob_buf_release(&w);
	ob_buf_release(&canon);
}

/* Integers at their limits, doubles that need care, and the other scalar types. */
static void
test_numbers(void **state)
{
	static const char *const stable[] = {
		"{\"intValue\":\"-9223372036854775808\"}",
		"{\"intValue\":\"9223372036854775807\"}",
		"{\"doubleValue\":1e300}",
		"{\"doubleValue\":0.1}",
		"{\"doubleValue\":-0.0}",
		"{\"doubleValue\":5e-324}",
		"{\"doubleValue\":1.7976931348623157e308}",
		"{\"doubleValue\":2.2250738585072014e-308}",
		"{\"doubleValue\":1e-7}",
		"{\"doubleValue\":1.2345678901234568e17}",
		"{\"doubleValue\":\"Infinity\"}",
	};
	static const struct {
		const char *json, *want;
	} forms[] = {
		{ "{\"intValue\":-9223372036854775808}", "{\"intValue\":\"-9223372036854775808\"}" },
		{ "{\"intValue\":9223372036854775807}", "{\"intValue\":\"9223372036854775807\"}" },
		{ "{\"intValue\":-0}", "{\"intValue\":\"0\"}" },
		{ "{\"intValue\":1e18}", "{\"intValue\":\"1000000000000000000\"}" },
		{ "{\"doubleValue\":\"1e300\"}", "{\"doubleValue\":1e300}" },
		{ "{\"doubleValue\":1E+300}", "{\"doubleValue\":1e300}" },
		{ "{\"doubleValue\":0.30000000000000004}", "{\"doubleValue\":0.30000000000000004}" },
		{ "{\"doubleValue\":1e-400}", "{\"doubleValue\":0.0}" },
		{ "{\"doubleValue\":\"NaN\"}", "{\"doubleValue\":\"NaN\"}" },
	};
	static const char msg[] = "{\"small\":0.1,\"big\":\"-9223372036854775808\",\"count\":0,"
				  "\"neg\":\"-5\"}";
	const ProtobufCMessageDescriptor *any = &opentelemetry__proto__common__v1__any_value__descriptor;
	uint8_t *p;
	char *text;
	size_t i, n;

	for (i = 0; i < sizeof stable / sizeof *stable; i++)
		assert_json_stable(any, stable[i], strlen(stable[i]));
	for (i = 0; i < sizeof forms / sizeof *forms; i++) {
		p = to_wire(any, forms[i].json, strlen(forms[i].json), &n);
		text = to_json(any, p, n);
		assert_string_equal(text, forms[i].want);
		free(text);
		free(p);
	}
	assert_json_stable(&test_msg_descriptor, msg, sizeof msg - 1);
	p = to_wire(&test_msg_descriptor, "{\"start_time_unix_nano\":1}", 26, &n);
	free(p);
	text = wrap_span("{\"startTimeUnixNano\":18446744073709551615}");
	p = to_wire(&otlp_export_request_descriptor, text, strlen(text), &n);
	free(text);
	text = to_json(&otlp_export_request_descriptor, p, n);
	assert_non_null(strstr(text, "\"startTimeUnixNano\":\"18446744073709551615\""));
	free(text);
	free(p);
	expect_error_desc(any, "{\"intValue\":-9223372036854775809}", OB_EINVAL,
			  "intValue: integer out of range for int64");
	expect_error_desc(&test_msg_descriptor, "{\"small\":1e39}", OB_EINVAL,
			  "small: number out of range for a float");
	expect_error_desc(&test_msg_descriptor, "{\"zigzags\":[2147483648]}", OB_EINVAL,
			  "zigzags[0]: integer out of range for sint32");
}

/* The struct-based decode, kept for callers that still want structs. */
static void
test_struct_decode(void **state)
{
	const char *text = "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"x\"}]}]}]}";
	const char *nul = "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"name\":\"x\\u0000\"}]}]}]}";
	otlp_export_request *req = rich_request();
	char errbuf[OB_ERRLEN], *rich;
	ProtobufCMessage *m;
	struct ob_arena a;
	json_t *j;

	ob_arena_init(&a, 1 << 20);
	assert_int_equal(otlp_json_decode(&otlp_export_request_descriptor, text, strlen(text), &a,
					  &m, errbuf), OB_OK);
	assert_string_equal(first_span((otlp_export_request *)m)->name, "x");
	assert_int_equal(otlp_json_decode(&otlp_export_request_descriptor, nul, strlen(nul), &a,
					  &m, errbuf), OB_EUNSUPPORTED);
	assert_null(m);
	assert_string_equal(errbuf, "resourceSpans[0].scopeSpans[0].spans[0].name: strings holding "
				    "U+0000 cannot be stored");
	ob_arena_release(&a);

	rich = encode(&req->base);
	ob_arena_init(&a, 16 << 10);
	assert_int_equal(otlp_json_decode(&otlp_export_request_descriptor, rich, strlen(rich), &a,
					  &m, errbuf), OB_ETOOBIG);
	assert_null(m);
	ob_arena_release(&a);
	free(rich);

	j = otlp_json_from_message(&req->resource_spans[0]->scope_spans[0]->spans[0]->base);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "GET /cart");
	json_decref(j);
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
		cmocka_unit_test(test_field_order),
		cmocka_unit_test(test_nul_strings),
		cmocka_unit_test(test_big_string),
		cmocka_unit_test(test_invalid_utf8_replaced),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_other_messages),
		cmocka_unit_test(test_wire_quirks),
		cmocka_unit_test(test_packed),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_struct_decode),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
