/*
 * test_zipkin.c - the Zipkin v2 JSON to OTLP mapping (src/codec/zipkin.c):
 * the exact OTLP fields of a rich span, grouping into resources and
 * scopes, 64-bit ids, the error and status tags, annotations, endpoints,
 * links, and bad input refused with a message naming span and field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/zipkin.h"
#include "model/otlp.h"

static otlp_export_request *
convert(const char *json)
{
	struct ob_buf wire;
	char errbuf[OB_ERRLEN] = "";
	otlp_export_request *req;

	ob_buf_init(&wire, 1 << 20);
	if (zipkin_to_otlp(json, strlen(json), &wire, errbuf) != OB_OK)
		fail_msg("zipkin_to_otlp: %s", errbuf);
	req = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
		NULL, wire.len, wire.data);
	assert_non_null(req);
	ob_buf_release(&wire);
	return req;
}

static void
free_req(otlp_export_request *req)
{
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(req,
												NULL);
}

static void
expect_error(const char *json, const char *msg)
{
	struct ob_buf wire;
	char errbuf[OB_ERRLEN] = "";

	ob_buf_init(&wire, 1 << 20);
	assert_int_equal(zipkin_to_otlp(json, strlen(json), &wire, errbuf), OB_EINVAL);
	assert_string_equal(errbuf, msg);
	assert_int_equal(wire.len, 0);
	ob_buf_release(&wire);
}

static const otlp_any_value *
attr(otlp_key_value **kv, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(kv[i]->key, key) == 0)
			return kv[i]->value;
	return NULL;
}

static void
assert_str_attr(otlp_key_value **kv, size_t n, const char *key, const char *want)
{
	const otlp_any_value *v = attr(kv, n, key);

	if (v == NULL)
		fail_msg("no attribute %s", key);
	assert_int_equal(v->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE);
	assert_string_equal(v->string_value, want);
}

static void
assert_hex(ProtobufCBinaryData b, const char *hex)
{
	char s[65];
	size_t i;

	for (i = 0; i < b.len; i++)
		sprintf(s + 2 * i, "%02x", b.data[i]);
	s[2 * b.len] = 0;
	assert_string_equal(s, hex);
}

static const char rich[] =
	"[{\"traceId\":\"463ac35c9f6413ad48485a3953bb6124\",\"id\":\"a2fb4a1d1a96d312\","
	"\"parentId\":\"0020000000000001\",\"name\":\"get /api\",\"kind\":\"SERVER\","
	"\"timestamp\":1700000000123456,\"duration\":2500,\"shared\":true,\"debug\":false,"
	"\"localEndpoint\":{\"serviceName\":\"frontend\",\"ipv4\":\"10.0.0.1\",\"port\":8080},"
	"\"remoteEndpoint\":{\"serviceName\":\"backend\",\"ipv6\":\"2001:db8:0::1\",\"port\":9000},"
	"\"tags\":{\"http.method\":\"GET\",\"host.name\":\"h1\",\"otel.library.name\":\"lib\","
	"\"otel.library.version\":\"1.2\",\"w3c.tracestate\":\"k=v\",\"otel.status_code\":\"OK\"},"
	"\"annotations\":[{\"timestamp\":1700000000123500,\"value\":\"ws\"},"
	"{\"timestamp\":1700000000123600,\"value\":\"ev|{\\\"a\\\":1,\\\"b\\\":\\\"x\\\",\\\"c\\\":1.5,\\\"d\\\":true}|3\"}]}]";

static void
rich_span(void **state)
{
	otlp_export_request *req = convert(rich);
	otlp_resource_spans *rs;
	otlp_span *sp;

	assert_int_equal(req->n_resource_spans, 1);
	rs = req->resource_spans[0];
	assert_int_equal(rs->resource->n_attributes, 2);
	assert_str_attr(rs->resource->attributes, 2, "service.name", "frontend");
	assert_str_attr(rs->resource->attributes, 2, "host.name", "h1");
	assert_int_equal(rs->n_scope_spans, 1);
	assert_string_equal(rs->scope_spans[0]->scope->name, "lib");
	assert_string_equal(rs->scope_spans[0]->scope->version, "1.2");
	assert_int_equal(rs->scope_spans[0]->n_spans, 1);
	sp = rs->scope_spans[0]->spans[0];
	assert_hex(sp->trace_id, "463ac35c9f6413ad48485a3953bb6124");
	assert_hex(sp->span_id, "a2fb4a1d1a96d312");
	assert_hex(sp->parent_span_id, "0020000000000001");
	assert_string_equal(sp->name, "get /api");
	assert_int_equal(sp->kind, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER);
	assert_int_equal(sp->start_time_unix_nano, 1700000000123456000ull);
	assert_int_equal(sp->end_time_unix_nano, 1700000000125956000ull);
	assert_string_equal(sp->trace_state, "k=v");
	assert_int_equal(sp->status->code, 1);
	assert_string_equal(sp->status->message, "");
	/* tags in order, then the endpoints; special tags gone */
	assert_int_equal(sp->n_attributes, 6);
	assert_string_equal(sp->attributes[0]->key, "http.method");
	assert_str_attr(sp->attributes, 6, "net.host.ip", "10.0.0.1");
	assert_int_equal(attr(sp->attributes, 6, "net.host.port")->int_value, 8080);
	assert_str_attr(sp->attributes, 6, "peer.service", "backend");
	assert_str_attr(sp->attributes, 6, "net.peer.ip", "2001:db8::1");
	assert_int_equal(attr(sp->attributes, 6, "net.peer.port")->int_value, 9000);
	assert_int_equal(sp->n_events, 2);
	assert_string_equal(sp->events[0]->name, "ws");
	assert_int_equal(sp->events[0]->time_unix_nano, 1700000000123500000ull);
	assert_int_equal(sp->events[0]->n_attributes, 0);
	assert_string_equal(sp->events[1]->name, "ev");
	assert_int_equal(sp->events[1]->n_attributes, 4);
	assert_int_equal(attr(sp->events[1]->attributes, 4, "a")->int_value, 1);
	assert_str_attr(sp->events[1]->attributes, 4, "b", "x");
	assert_true(attr(sp->events[1]->attributes, 4, "c")->double_value == 1.5);
	assert_true(attr(sp->events[1]->attributes, 4, "d")->bool_value);
	assert_int_equal(sp->events[1]->dropped_attributes_count, 3);
	free_req(req);
}

static void
grouping_and_64bit_ids(void **state)
{
	otlp_export_request *req = convert(
		"[{\"traceId\":\"48485a3953bb6124\",\"id\":\"0000000000000002\",\"name\":\"b1\","
		"\"localEndpoint\":{\"serviceName\":\"svc-b\"}},"
		"{\"traceId\":\"48485a3953bb6124\",\"id\":\"0000000000000003\",\"parentId\":\"0000000000000003\","
		"\"localEndpoint\":{\"serviceName\":\"svc-a\"}},"
		"{\"traceId\":\"48485a3953bb6124\",\"id\":\"0000000000000004\",\"name\":\"b2\","
		"\"localEndpoint\":{\"serviceName\":\"svc-b\"}},"
		"{\"traceId\":\"48485a3953bb6124\",\"id\":\"0000000000000005\",\"duration\":7}]");
	otlp_span *sp;

	/* sorted by service name: "OTLPResourceNoServiceName" < "svc-a" < "svc-b" */
	assert_int_equal(req->n_resource_spans, 3);
	assert_int_equal(req->resource_spans[0]->resource->n_attributes, 0);
	sp = req->resource_spans[0]->scope_spans[0]->spans[0];
	assert_hex(sp->trace_id, "000000000000000048485a3953bb6124");
	assert_int_equal(sp->start_time_unix_nano, 0);
	assert_int_equal(sp->end_time_unix_nano, 7000);
	assert_int_equal(sp->n_attributes, 1);
	assert_string_equal(sp->attributes[0]->key, "otel.zipkin.absentField.startTime");
	assert_true(sp->attributes[0]->value->bool_value);
	assert_int_equal(sp->kind, 0);
	assert_str_attr(req->resource_spans[1]->resource->attributes, 1, "service.name", "svc-a");
	/* a parent id equal to the span's own is dropped */
	assert_int_equal(req->resource_spans[1]->scope_spans[0]->spans[0]->parent_span_id.len, 0);
	assert_int_equal(req->resource_spans[2]->n_scope_spans, 1);
	assert_int_equal(req->resource_spans[2]->scope_spans[0]->n_spans, 2);
	assert_string_equal(req->resource_spans[2]->scope_spans[0]->spans[0]->name, "b1");
	assert_string_equal(req->resource_spans[2]->scope_spans[0]->spans[1]->name, "b2");
	free_req(req);
}

static void
error_and_status_tags(void **state)
{
	otlp_export_request *req = convert(
		"[{\"traceId\":\"0000000000000001\",\"id\":\"0000000000000001\",\"timestamp\":1,\"tags\":{\"error\":\"true\"}},"
		"{\"traceId\":\"0000000000000001\",\"id\":\"0000000000000002\",\"timestamp\":1,\"tags\":{\"error\":\"no route\","
		"\"otel.status_code\":\"ERROR\"}},"
		"{\"traceId\":\"0000000000000001\",\"id\":\"0000000000000003\",\"timestamp\":1,\"tags\":{"
		"\"otel.status_code\":\"STATUS_CODE_ERROR\",\"otel.status_description\":\"bad\",\"span.kind\":\"internal\"}},"
		"{\"traceId\":\"0000000000000001\",\"id\":\"0000000000000004\",\"timestamp\":1,\"tags\":{"
		"\"otel.status_description\":\"kept\",\"span.kind\":\"internal\"},\"kind\":\"CLIENT\"}]");
	otlp_span **sp = req->resource_spans[0]->scope_spans[0]->spans;

	assert_int_equal(req->resource_spans[0]->scope_spans[0]->n_spans, 4);
	assert_int_equal(sp[0]->status->code, 2);
	assert_string_equal(sp[0]->status->message, "");
	assert_int_equal(sp[0]->n_attributes, 0);
	/* any other value: ERROR, and the value stays an attribute and is the message */
	assert_int_equal(sp[1]->status->code, 2);
	assert_string_equal(sp[1]->status->message, "no route");
	assert_int_equal(sp[1]->n_attributes, 1);
	assert_str_attr(sp[1]->attributes, 1, "error", "no route");
	assert_int_equal(sp[2]->status->code, 2);
	assert_string_equal(sp[2]->status->message, "bad");
	assert_int_equal(sp[2]->n_attributes, 0);
	assert_int_equal(sp[2]->kind, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_INTERNAL);
	/* no status code: the description is an ordinary tag; kind given: span.kind stays */
	assert_int_equal(sp[3]->status->code, 0);
	assert_int_equal(sp[3]->n_attributes, 2);
	assert_int_equal(sp[3]->kind, OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_CLIENT);
	free_req(req);
}

static void
links_and_resource_tags(void **state)
{
	otlp_export_request *req = convert(
		"[{\"traceId\":\"0000000000000001\",\"id\":\"0000000000000001\",\"timestamp\":1,"
		"\"localEndpoint\":{\"serviceName\":\"s\"},\"tags\":{"
		"\"otlp.link.0\":\"0102030405060708090a0b0c0d0e0f10|1112131415161718|t=1|{\\\"k\\\":\\\"v\\\"}|2\","
		"\"otlp.link.2\":\"ignored\",\"otlp.service.name.source\":\"peer.name\","
		"\"telemetry.sdk.name\":\"opentelemetry\",\"custom\":\"c\"}}]");
	otlp_resource *r = req->resource_spans[0]->resource;
	otlp_span *sp = req->resource_spans[0]->scope_spans[0]->spans[0];

	assert_int_equal(r->n_attributes, 2);
	assert_str_attr(r->attributes, 2, "peer.name", "s");
	assert_str_attr(r->attributes, 2, "telemetry.sdk.name", "opentelemetry");
	assert_int_equal(sp->n_links, 1);
	assert_hex(sp->links[0]->trace_id, "0102030405060708090a0b0c0d0e0f10");
	assert_hex(sp->links[0]->span_id, "1112131415161718");
	assert_string_equal(sp->links[0]->trace_state, "t=1");
	assert_int_equal(sp->links[0]->n_attributes, 1);
	assert_int_equal(sp->links[0]->dropped_attributes_count, 2);
	/* otlp.link.2 is not consumed: there is no otlp.link.1 */
	assert_int_equal(sp->n_attributes, 2);
	assert_str_attr(sp->attributes, 2, "otlp.link.2", "ignored");
	assert_str_attr(sp->attributes, 2, "custom", "c");
	free_req(req);
}

static void
empty_array(void **state)
{
	otlp_export_request *req = convert(" [ ] ");

	assert_int_equal(req->n_resource_spans, 0);
	free_req(req);
}

static void
bad_input(void **state)
{
	expect_error("", "not valid JSON: unexpected token near end of file (line 1, column 0)");
	expect_error("{\"traceId\":\"1\"}",
		     "expected a JSON array of Zipkin v2 spans, got an object");
	expect_error("[1]", "spans[0]: expected a span object");
	expect_error("[{\"id\":\"0000000000000001\"}]", "spans[0].traceId: missing");
	expect_error("[{\"traceId\":\"0000000000000001\",\"id\":\"0000000000000001\"},"
		     "{\"traceId\":\"000000000000001\",\"id\":\"0000000000000001\"}]",
		     "spans[1].traceId: expected 16 or 32 hex digits, got 15 characters");
	expect_error("[{\"traceId\":\"000000000000000g\",\"id\":\"0000000000000001\"}]",
		     "spans[0].traceId: '000000000000000g' is not hexadecimal");
	expect_error("[{\"traceId\":\"0000000000000001\"}]", "spans[0].id: missing");
	expect_error("[{\"traceId\":\"0000000000000001\",\"id\":\"00000000000000000000000000000001\"}]",
		     "spans[0].id: expected 16 hex digits, got 32 characters");
	expect_error("[{\"traceId\":\"0000000000000000\",\"id\":\"0000000000000001\"}]",
		     "spans[0].traceId: an id may not be all zeros");
	expect_error("[{\"traceId\":\"0000000000000001\",\"id\":\"0000000000000001\",\"parentId\":7}]",
		     "spans[0].parentId: expected a string of hex digits");
	expect_error("[{\"traceId\":\"0000000000000001\",\"id\":\"0000000000000001\",\"timestamp\":-1}]",
		     "spans[0].timestamp: expected microseconds from 0 to 9.2e15");
	expect_error("[{\"traceId\":\"0000000000000001\",\"id\":\"0000000000000001\",\"tags\":{\"n\":1}}]",
		     "spans[0].tags.n: expected a string (Zipkin tags are strings)");
	expect_error("[{\"traceId\":\"0000000000000001\",\"id\":\"0000000000000001\","
		     "\"localEndpoint\":{\"ipv4\":\"1.2.3\"}}]",
		     "spans[0].localEndpoint.ipv4: '1.2.3' is not an IPv4 address");
	expect_error("[{\"traceId\":\"0000000000000001\",\"id\":\"0000000000000001\","
		     "\"annotations\":[{\"timestamp\":1,\"value\":\"a|nojson|1\"}]}]",
		     "spans[0].annotations[0].value: the attributes after '|' are not a JSON object");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rich_span),
		cmocka_unit_test(grouping_and_64bit_ids),
		cmocka_unit_test(error_and_status_tags),
		cmocka_unit_test(links_and_resource_tags),
		cmocka_unit_test(empty_array),
		cmocka_unit_test(bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
