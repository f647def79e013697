/*
 * test_otlp_metrics.c - OTLP metrics to Prometheus series
 * (src/codec/otlp_metrics*.c).  Requests are written as OTLP/JSON (so a
 * test reads like what an SDK sends) and mapped through the protobuf path
 * (JSON -> wire -> otlp_metrics_decode_pb), one test through the JSON path
 * too.  Series are found by their whole label set written as
 * name{a="b",...}, so a stray or missing label fails the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/otlp_json.h"
#include "codec/otlp_metrics.h"
#include "core/util.h"

struct mapped {
	struct ob_arena arena;
	struct series_write w;
	struct otlp_metrics_result res;
	char errbuf[OB_ERRLEN];
	enum ob_err err;
};

static void
map_opt(const char *json, struct mapped *m, const struct otlp_metrics_options *opt,
	struct otlp_metrics_state *st)
{
	struct ob_buf wire;
	char eb[OB_ERRLEN];

	ob_buf_init(&wire, 16 << 20);
	if (otlp_json_to_wire(&otlp_metrics_export_request_descriptor, json, strlen(json), &wire,
			      eb) != OB_OK)
		fail_msg("bad test JSON: %s", eb);
	ob_arena_init(&m->arena, 64 << 20);
	m->errbuf[0] = 0;
	m->err = otlp_metrics_decode_pb(wire.data, wire.len, opt, st, &m->arena, &m->w, &m->res,
					m->errbuf);
	ob_buf_release(&wire);
}

static void
map(const char *json, struct mapped *m, struct otlp_metrics_state *st)
{
	map_opt(json, m, NULL, st);
	if (m->err != OB_OK)
		fail_msg("map: %s", m->errbuf);
}

/* name{a="b",...} of a series, labels in order, __name__ left out. */
static void
format_series(const struct series_in *s, char *buf, size_t size)
{
	const char *name = series_label_get(&s->labels, "__name__");
	size_t len = (size_t)snprintf(buf, size, "%s{", name ? name : "");
	bool first = true;

	for (size_t i = 0; i < s->labels.n; i++) {
		if (strcmp(s->labels.v[i].name, "__name__") == 0)
			continue;
		len += (size_t)snprintf(buf + len, size - len, "%s%s=\"%s\"", first ? "" : ",",
					s->labels.v[i].name, s->labels.v[i].value);
		first = false;
	}
	snprintf(buf + len, size - len, "}");
}

static const struct series_in *
find(const struct series_write *w, const char *want)
{
	char buf[2048];

	for (size_t i = 0; i < w->nseries; i++) {
		format_series(&w->series[i], buf, sizeof buf);
		if (strcmp(buf, want) == 0)
			return &w->series[i];
	}
	return NULL;
}

static void
dump(const struct series_write *w)
{
	char buf[2048];

	for (size_t i = 0; i < w->nseries; i++) {
		format_series(&w->series[i], buf, sizeof buf);
		fprintf(stderr, "  %s\n", buf);
	}
}

/* The float value of the series want, which must exist with one sample. */
static double
value(const struct series_write *w, const char *want)
{
	const struct series_in *s = find(w, want);

	if (!s) {
		dump(w);
		fail_msg("no series %s", want);
	}
	assert_int_equal(s->nsamples, 1);
	return s->samples[0].v;
}

static bool
is_sorted(const struct series_labels *ls)
{
	for (size_t i = 1; i < ls->n; i++)
		if (strcmp(ls->v[i - 1].name, ls->v[i].name) >= 0)
			return false;
	return true;
}

#define T1 "\"1700000000000000000\""
#define T2 "\"1700000010000000000\""
#define T3 "\"1700000020000000000\""
#define RES(attrs, scope, metrics) \
	"{\"resourceMetrics\":[{\"resource\":{\"attributes\":[" attrs "]}," \
	"\"scopeMetrics\":[{" scope "\"metrics\":[" metrics "]}]}]}"
#define SATTR(k, v) "{\"key\":\"" k "\",\"value\":{\"stringValue\":\"" v "\"}}"

/* ---- names, table-driven ---- */

struct name_case {
	const char *name, *unit, *type;         /* type: gauge, counter, updown, histogram, summary */
	const char *want;                       /* the __name__ of the value series */
};

static const struct name_case name_cases[] = {
	{ "http.server.request.duration", "ms", "gauge", "http_server_request_duration_milliseconds" },
	{ "http.server.duration", "s", "histogram", "http_server_duration_seconds_count" },
	{ "system.memory.usage", "By", "updown", "system_memory_usage_bytes" },
	{ "requests", "1", "counter", "requests_total" },
	{ "cpu.utilization", "1", "gauge", "cpu_utilization_ratio" },
	{ "disk.io", "KiBy", "counter", "disk_io_kibibytes_total" },
	{ "mem", "MiBy", "gauge", "mem_mebibytes" },
	{ "net.io", "GBy", "counter", "net_io_gigabytes_total" },
	{ "packets", "{packet}", "counter", "packets_total" },
	{ "speed", "m/s", "gauge", "speed_meters_per_second" },
	{ "throughput", "By/s", "gauge", "throughput_bytes_per_second" },
	{ "errors", "{error}/s", "gauge", "errors_per_second" },
	{ "temp", "Cel", "gauge", "temp_celsius" },
	{ "load", "%", "gauge", "load_percent" },
	{ "frequency", "Hz", "gauge", "frequency_hertz" },
	{ "latency", "us", "summary", "latency_microseconds_count" },
	{ "uptime", "d", "counter", "uptime_days_total" },
	{ "power", "W", "gauge", "power_watts" },
	{ "custom", "widgets", "gauge", "custom_widgets" },
	{ "requests_total", "", "counter", "requests_total" },
	{ "duration_seconds", "s", "gauge", "duration_seconds" },
	{ "seconds_spent", "s", "counter", "seconds_spent_seconds_total" },
	{ "bytes.sent", "By", "counter", "bytes_sent_bytes_total" },
	{ "io_bytes_total", "By", "counter", "io_bytes_total" },
	{ "1st.metric", "", "gauge", "_1st_metric" },
	{ "a..b__c", "", "gauge", "a_b_c" },
	{ "foo:bar", "", "gauge", "foo:bar" },
	{ "h\xc3\xa9llo", "", "gauge", "h_llo" },
	{ "queue-size", "{item}", "updown", "queue_size" },
	{ "db.client.connections.usage", "{connection}", "updown", "db_client_connections_usage" },
	{ "process.runtime.jvm.memory.usage", "By", "updown", "process_runtime_jvm_memory_usage_bytes" },
	{ "rpc.server.duration", "ms", "histogram", "rpc_server_duration_milliseconds_count" },
};

static void
metric_names(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof name_cases / sizeof *name_cases; i++) {
		const struct name_case *c = &name_cases[i];
		char json[2048], data[512], want[256];
		struct mapped m;

		if (strcmp(c->type, "gauge") == 0)
			snprintf(data, sizeof data, "\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":" T1 ",\"asDouble\":1}]}");
		else if (strcmp(c->type, "histogram") == 0)
			snprintf(data, sizeof data, "\"histogram\":{\"aggregationTemporality\":2,\"dataPoints\":[{\"timeUnixNano\":" T1 ",\"count\":\"1\"}]}");
		else if (strcmp(c->type, "summary") == 0)
			snprintf(data, sizeof data, "\"summary\":{\"dataPoints\":[{\"timeUnixNano\":" T1 ",\"count\":\"1\"}]}");
		else
			snprintf(data, sizeof data, "\"sum\":{\"aggregationTemporality\":2,\"isMonotonic\":%s,\"dataPoints\":[{\"timeUnixNano\":" T1 ",\"asInt\":\"3\"}]}",
				 strcmp(c->type, "counter") == 0 ? "true" : "false");
		snprintf(json, sizeof json, RES("", "", "{\"name\":\"%s\",\"unit\":\"%s\",%s}"), c->name,
			 c->unit, data);
		map(json, &m, NULL);
		snprintf(want, sizeof want, "%s{}", c->want);
		if (!find(&m.w, want)) {
			dump(&m.w);
			fail_msg("case %zu (%s, %s): no %s", i, c->name, c->unit, want);
		}
		ob_arena_release(&m.arena);
	}
}

static void
suffixes_off(void **state)
{
	struct otlp_metrics_options opt;
	struct mapped m;

	(void)state;
	otlp_metrics_options_default(&opt);
	opt.type_suffixes = false;
	opt.scope_labels = false;
	map_opt(RES("", "\"scope\":{\"name\":\"lib\"},",
		    "{\"name\":\"http.requests\",\"unit\":\"ms\",\"sum\":{\"aggregationTemporality\":2,"
		    "\"isMonotonic\":true,\"dataPoints\":[{\"timeUnixNano\":" T1 ",\"asInt\":\"3\"}]}}"),
		&m, &opt, NULL);
	assert_int_equal(m.err, OB_OK);
	assert_true(value(&m.w, "http_requests{}") == 3);
	ob_arena_release(&m.arena);
}

/* ---- labels ---- */

static void
attribute_labels(void **state)
{
	struct mapped m;

	(void)state;
	map(RES(SATTR("service.name", "api"),
		"",
		"{\"name\":\"g\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":" T1 ",\"asDouble\":2,"
		"\"attributes\":["
		SATTR("http.method", "GET") ","
		SATTR("a/b", "slash") ","
		SATTR("a.b", "dot") ","
		SATTR("1abc", "digit") ","
		SATTR("job", "attribute loses") ","
		SATTR("empty", "") ","
		"{\"key\":\"ok\",\"value\":{\"boolValue\":true}},"
		"{\"key\":\"n\",\"value\":{\"intValue\":\"-42\"}},"
		"{\"key\":\"d\",\"value\":{\"doubleValue\":0.25}},"
		"{\"key\":\"arr\",\"value\":{\"arrayValue\":{\"values\":[{\"stringValue\":\"x\"},{\"intValue\":\"1\"}]}}},"
		"{\"key\":\"kv\",\"value\":{\"kvlistValue\":{\"values\":[" SATTR("k", "v\\\"q") "]}}},"
		"{\"key\":\"raw\",\"value\":{\"bytesValue\":\"AQID\"}}"
		"]}]}}"),
	    &m, NULL);
	const char *want = "g{a_b=\"dot;slash\",arr=\"[\"x\",1]\",d=\"0.25\",http_method=\"GET\","
			   "job=\"api\",key_1abc=\"digit\",kv=\"{\"k\":\"v\\\"q\"}\",n=\"-42\","
			   "ok=\"true\",raw=\"AQID\"}";
	if (!find(&m.w, want)) {
		dump(&m.w);
		fail_msg("no %s", want);
	}
	assert_true(is_sorted(&find(&m.w, want)->labels));
	ob_arena_release(&m.arena);
}

static void
resource_and_scope(void **state)
{
	struct mapped m;
	const char *json =
		"{\"resourceMetrics\":["
		"{\"resource\":{\"attributes\":[" SATTR("service.name", "api") "," SATTR("service.namespace", "shop")
		"," SATTR("service.instance.id", "i-1") "," SATTR("host.name", "h1") "," SATTR("k8s.pod.name", "p-7") "]},"
		"\"scopeMetrics\":[{\"scope\":{\"name\":\"io.lib\",\"version\":\"1.2\",\"attributes\":["
		SATTR("lib.kind", "http") "]},\"schemaUrl\":\"https://opentelemetry.io/schemas/1.24.0\","
		"\"metrics\":[{\"name\":\"up\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":" T2 ",\"asInt\":\"1\"}]}}]}]},"
		/* the same job/instance again: no second target_info */
		"{\"resource\":{\"attributes\":[" SATTR("service.name", "api") "," SATTR("service.namespace", "shop")
		"," SATTR("service.instance.id", "i-1") "," SATTR("host.name", "h1") "]},"
		"\"scopeMetrics\":[{\"metrics\":[{\"name\":\"down\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":" T1 ",\"asInt\":\"0\"}]}}]}]},"
		/* only a service name: job without namespace, no instance, no target_info */
		"{\"resource\":{\"attributes\":[" SATTR("service.name", "solo") "]},"
		"\"scopeMetrics\":[{\"metrics\":[{\"name\":\"x\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":" T1 ",\"asInt\":\"5\"}]}}]}]}"
		"]}";

	(void)state;
	map(json, &m, NULL);
	assert_true(value(&m.w, "up{instance=\"i-1\",job=\"shop/api\",otel_scope_lib_kind=\"http\","
			  "otel_scope_name=\"io.lib\",otel_scope_schema_url=\"https://opentelemetry.io/schemas/1.24.0\","
			  "otel_scope_version=\"1.2\"}") == 1);
	assert_true(value(&m.w, "down{instance=\"i-1\",job=\"shop/api\"}") == 0);
	assert_true(value(&m.w, "x{job=\"solo\"}") == 5);
	const struct series_in *ti =
		find(&m.w, "target_info{host_name=\"h1\",instance=\"i-1\",job=\"shop/api\",k8s_pod_name=\"p-7\"}");
	assert_non_null(ti);
	assert_true(ti->samples[0].v == 1);
	assert_int_equal(ti->samples[0].t, 1700000010000);    /* the newest point of the resource */
	size_t targets = 0;
	for (size_t i = 0; i < m.w.nseries; i++)
		targets += strcmp(series_label_get(&m.w.series[i].labels, "__name__"), "target_info") == 0;
	assert_int_equal(targets, 1);
	assert_int_equal(m.w.nseries, 4);
	ob_arena_release(&m.arena);
}

/* ---- point types ---- */

static void
gauges_and_sums(void **state)
{
	struct mapped m;

	(void)state;
	map(RES("", "",
		"{\"name\":\"temp\",\"description\":\"Room temperature.\",\"unit\":\"Cel\",\"gauge\":{\"dataPoints\":["
		"{\"timeUnixNano\":" T1 ",\"asDouble\":21.5,\"exemplars\":[{\"asDouble\":1,\"traceId\":\"0102030405060708090a0b0c0d0e0f10\"}]}]}},"
		"{\"name\":\"http.requests\",\"unit\":\"{request}\",\"sum\":{\"aggregationTemporality\":2,\"isMonotonic\":true,\"dataPoints\":["
		"{\"timeUnixNano\":" T2 ",\"startTimeUnixNano\":" T1 ",\"asInt\":\"42\",\"exemplars\":[{\"timeUnixNano\":" T1 ","
		"\"asInt\":\"7\",\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"spanId\":\"00f067aa0ba902b7\","
		"\"filteredAttributes\":[" SATTR("user.id", "u1") "]}]}]}},"
		"{\"name\":\"queue\",\"sum\":{\"aggregationTemporality\":2,\"isMonotonic\":false,\"dataPoints\":["
		"{\"timeUnixNano\":" T2 ",\"asDouble\":-3,\"exemplars\":[{\"asDouble\":1}]}]}},"
		"{\"name\":\"legacy\",\"metadata\":[" SATTR("prometheus.type", "unknown") "],\"gauge\":{\"dataPoints\":["
		"{\"timeUnixNano\":" T1 ",\"asDouble\":1}]}},"
		"{\"name\":\"build_info\",\"metadata\":[" SATTR("prometheus.type", "info") "],\"sum\":{"
		"\"aggregationTemporality\":2,\"dataPoints\":[{\"timeUnixNano\":" T1 ",\"asInt\":\"1\"}]}}"),
	    &m, NULL);
	const struct series_in *g = find(&m.w, "temp_celsius{}");
	assert_non_null(g);
	assert_true(g->samples[0].v == 21.5);
	assert_int_equal(g->samples[0].t, 1700000000000);
	assert_int_equal(g->nexemplars, 0);                     /* gauges keep none */
	const struct series_in *c = find(&m.w, "http_requests_total{}");
	assert_non_null(c);
	assert_true(c->samples[0].v == 42);
	assert_int_equal(c->nexemplars, 1);
	assert_true(c->exemplars[0].v == 7);
	assert_int_equal(c->exemplars[0].t, 1700000000000);
	assert_int_equal(c->exemplars[0].labels.n, 3);
	assert_string_equal(series_label_get(&c->exemplars[0].labels, "trace_id"),
			    "4bf92f3577b34da6a3ce929d0e0e4736");
	assert_string_equal(series_label_get(&c->exemplars[0].labels, "span_id"), "00f067aa0ba902b7");
	assert_string_equal(series_label_get(&c->exemplars[0].labels, "user_id"), "u1");
	const struct series_in *q = find(&m.w, "queue{}");
	assert_true(q->samples[0].v == -3);
	assert_int_equal(q->nexemplars, 0);
	assert_int_equal(m.w.nexemplars, 1);
	/* metadata */
	assert_int_equal(m.w.nmeta, 5);
	assert_int_equal(m.w.meta[4].type, SERIES_TYPE_INFO);
	assert_true(value(&m.w, "build_info{}") == 1);
	assert_string_equal(m.w.meta[0].family, "temp_celsius");
	assert_int_equal(m.w.meta[0].type, SERIES_TYPE_GAUGE);
	assert_string_equal(m.w.meta[0].help, "Room temperature.");
	assert_string_equal(m.w.meta[0].unit, "celsius");
	assert_string_equal(m.w.meta[1].family, "http_requests_total");
	assert_int_equal(m.w.meta[1].type, SERIES_TYPE_COUNTER);
	assert_int_equal(m.w.meta[2].type, SERIES_TYPE_GAUGE);
	assert_int_equal(m.w.meta[3].type, SERIES_TYPE_UNKNOWN);
	assert_int_equal(m.res.rejected_points, 0);
	ob_arena_release(&m.arena);
}

static void
histograms(void **state)
{
	struct mapped m;

	(void)state;
	map(RES("", "",
		"{\"name\":\"http.server.duration\",\"unit\":\"s\",\"histogram\":{\"aggregationTemporality\":2,\"dataPoints\":["
		"{\"timeUnixNano\":" T1 ",\"count\":\"10\",\"sum\":4.5,\"explicitBounds\":[0.005,0.1,1],"
		"\"bucketCounts\":[\"1\",\"2\",\"3\",\"4\"],\"attributes\":[" SATTR("route", "/a") "],"
		"\"exemplars\":[{\"asDouble\":0.05,\"traceId\":\"0102030405060708090a0b0c0d0e0f10\"},"
		"{\"asDouble\":7,\"spanId\":\"0102030405060708\"}]},"
		/* no sum: no _sum series; no buckets: only +Inf */
		"{\"timeUnixNano\":" T1 ",\"count\":\"3\",\"attributes\":[" SATTR("route", "/b") "]},"
		/* bad: 3 bucket counts for 3 bounds */
		"{\"timeUnixNano\":" T1 ",\"count\":\"3\",\"explicitBounds\":[1,2,3],\"bucketCounts\":[\"1\",\"1\",\"1\"]},"
		/* bad: bounds not increasing */
		"{\"timeUnixNano\":" T1 ",\"count\":\"3\",\"explicitBounds\":[2,1],\"bucketCounts\":[\"1\",\"1\",\"1\"]}"
		"]}}"),
	    &m, NULL);
	const char *n = "http_server_duration_seconds";
	char want[256];
	static const char *const les[] = { "0.005", "0.1", "1", "+Inf" };
	static const double cum[] = { 1, 3, 6, 10 };
	for (int i = 0; i < 4; i++) {
		snprintf(want, sizeof want, "%s_bucket{le=\"%s\",route=\"/a\"}", n, les[i]);
		assert_true(value(&m.w, want) == cum[i]);
	}
	snprintf(want, sizeof want, "%s_bucket{le=\"0.1\",route=\"/a\"}", n);
	assert_int_equal(find(&m.w, want)->nexemplars, 1);      /* 0.05 is in (0.005, 0.1] */
	snprintf(want, sizeof want, "%s_bucket{le=\"+Inf\",route=\"/a\"}", n);
	assert_int_equal(find(&m.w, want)->nexemplars, 1);      /* 7 is past 1 */
	snprintf(want, sizeof want, "%s_sum{route=\"/a\"}", n);
	assert_true(value(&m.w, want) == 4.5);
	snprintf(want, sizeof want, "%s_count{route=\"/a\"}", n);
	assert_true(value(&m.w, want) == 10);
	snprintf(want, sizeof want, "%s_bucket{le=\"+Inf\",route=\"/b\"}", n);
	assert_true(value(&m.w, want) == 3);
	snprintf(want, sizeof want, "%s_sum{route=\"/b\"}", n);
	assert_null(find(&m.w, want));
	assert_int_equal(m.w.nseries, 6 + 2);
	assert_int_equal(m.res.rejected_points, 2);
	assert_string_equal(m.res.message,
			    "metric \"http.server.duration\": a histogram point has 3 bucket counts "
			    "for 3 explicit bounds (it needs 4, or none)");
	assert_int_equal(m.w.meta[0].type, SERIES_TYPE_HISTOGRAM);
	assert_string_equal(m.w.meta[0].family, n);
	ob_arena_release(&m.arena);
}

static void
exponential_histograms(void **state)
{
	struct mapped m;

	(void)state;
	map(RES("", "",
		"{\"name\":\"latency\",\"unit\":\"ms\",\"exponentialHistogram\":{\"aggregationTemporality\":2,\"dataPoints\":["
		"{\"timeUnixNano\":" T1 ",\"count\":\"8\",\"sum\":10,\"scale\":2,\"zeroCount\":\"1\","
		"\"positive\":{\"offset\":-1,\"bucketCounts\":[\"0\",\"1\",\"0\",\"3\",\"0\"]},"
		"\"negative\":{\"offset\":0,\"bucketCounts\":[\"2\"]},\"attributes\":[" SATTR("k", "a") "],"
		"\"exemplars\":[{\"asDouble\":3}]},"
		/* scale 10 lowered to 8: indices 5..12 >> 2 = 1,1,1,2,2,2,2,3 */
		"{\"timeUnixNano\":" T1 ",\"count\":\"8\",\"scale\":10,\"zeroThreshold\":0.001,"
		"\"positive\":{\"offset\":5,\"bucketCounts\":[\"1\",\"1\",\"1\",\"1\",\"1\",\"1\",\"1\",\"1\"]},"
		"\"attributes\":[" SATTR("k", "b") "]},"
		/* scale 20: lowered by 12, indices 0 and 1 merge; scale 90: shifts past 63 bits */
		"{\"timeUnixNano\":" T1 ",\"count\":\"2\",\"scale\":20,"
		"\"positive\":{\"offset\":0,\"bucketCounts\":[\"1\",\"1\"]},\"attributes\":[" SATTR("k", "d") "]},"
		"{\"timeUnixNano\":" T1 ",\"count\":\"2\",\"scale\":90,"
		"\"positive\":{\"offset\":-3,\"bucketCounts\":[\"1\",\"0\",\"0\",\"1\"]},\"attributes\":[" SATTR("k", "e") "]},"
		/* a run of empty buckets inside: two spans */
		"{\"timeUnixNano\":" T1 ",\"count\":\"6\",\"scale\":0,"
		"\"positive\":{\"offset\":0,\"bucketCounts\":[\"1\",\"0\",\"0\",\"0\",\"2\",\"0\",\"3\"]},\"attributes\":[" SATTR("k", "f") "]},"
		/* scale -5: below -4, rejected */
		"{\"timeUnixNano\":" T1 ",\"count\":\"1\",\"scale\":-5,\"attributes\":[" SATTR("k", "c") "]}"
		"]}}"),
	    &m, NULL);
	const struct series_in *a = find(&m.w, "latency_milliseconds{k=\"a\"}");
	assert_non_null(a);
	assert_int_equal(a->nsamples, 0);
	assert_int_equal(a->nhists, 1);
	const struct series_histogram *h = &a->hists[0];
	assert_int_equal(h->schema, 2);
	assert_true(h->is_int);
	assert_true(h->count == 8 && h->sum == 10 && h->zero_count == 1);
	assert_true(h->zero_threshold == 1e-128);
	assert_int_equal(h->t, 1700000000000);
	/* OTLP index -1+1 = 0 is the first non-empty one: Prometheus index 1 */
	assert_int_equal(h->npos_spans, 1);
	assert_int_equal(h->pos_spans[0].offset, 1);
	assert_int_equal(h->pos_spans[0].length, 3);
	assert_int_equal(h->npos, 3);
	assert_true(h->pos[0] == 1 && h->pos[1] == 0 && h->pos[2] == 3);
	assert_int_equal(h->nneg_spans, 1);
	assert_int_equal(h->neg_spans[0].offset, 1);
	assert_true(h->nneg == 1 && h->neg[0] == 2);
	assert_int_equal(a->nexemplars, 1);
	const struct series_histogram *b = &find(&m.w, "latency_milliseconds{k=\"b\"}")->hists[0];
	assert_int_equal(b->schema, 8);
	assert_true(b->zero_threshold == 0.001);
	assert_int_equal(b->pos_spans[0].offset, 2);
	assert_int_equal(b->npos, 3);
	assert_true(b->pos[0] == 3 && b->pos[1] == 4 && b->pos[2] == 1);
	const struct series_histogram *d = &find(&m.w, "latency_milliseconds{k=\"d\"}")->hists[0];
	assert_int_equal(d->schema, 8);
	assert_int_equal(d->pos_spans[0].offset, 1);
	assert_true(d->npos == 1 && d->pos[0] == 2);
	const struct series_histogram *e = &find(&m.w, "latency_milliseconds{k=\"e\"}")->hists[0];
	assert_int_equal(e->schema, 8);
	assert_int_equal(e->pos_spans[0].offset, 0);            /* -3..0 >> 82: -1 and 0 */
	assert_true(e->npos == 2 && e->pos[0] == 1 && e->pos[1] == 1);
	const struct series_histogram *f = &find(&m.w, "latency_milliseconds{k=\"f\"}")->hists[0];
	assert_int_equal(f->npos_spans, 2);
	assert_true(f->pos_spans[0].offset == 1 && f->pos_spans[0].length == 1);
	assert_true(f->pos_spans[1].offset == 3 && f->pos_spans[1].length == 3);
	assert_true(f->npos == 4 && f->pos[0] == 1 && f->pos[1] == 2 && f->pos[2] == 0 && f->pos[3] == 3);
	assert_null(find(&m.w, "latency_milliseconds{k=\"c\"}"));
	assert_int_equal(m.res.rejected_points, 1);
	assert_non_null(strstr(m.res.message, "scale -5"));
	ob_arena_release(&m.arena);
}

static void
summaries(void **state)
{
	struct mapped m;

	(void)state;
	map(RES("", "",
		"{\"name\":\"rpc.latency\",\"unit\":\"s\",\"summary\":{\"dataPoints\":["
		"{\"timeUnixNano\":" T1 ",\"count\":\"100\",\"sum\":12.5,\"quantileValues\":["
		"{\"quantile\":0.5,\"value\":0.1},{\"quantile\":0.99,\"value\":0.9},{\"quantile\":1,\"value\":2}]}]}}"),
	    &m, NULL);
	assert_true(value(&m.w, "rpc_latency_seconds{quantile=\"0.5\"}") == 0.1);
	assert_true(value(&m.w, "rpc_latency_seconds{quantile=\"0.99\"}") == 0.9);
	assert_true(value(&m.w, "rpc_latency_seconds{quantile=\"1\"}") == 2);
	assert_true(value(&m.w, "rpc_latency_seconds_sum{}") == 12.5);
	assert_true(value(&m.w, "rpc_latency_seconds_count{}") == 100);
	assert_int_equal(m.w.meta[0].type, SERIES_TYPE_SUMMARY);
	ob_arena_release(&m.arena);
}

static void
no_recorded_value(void **state)
{
	struct mapped m;

	(void)state;
	map(RES("", "",
		"{\"name\":\"g\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":" T1 ",\"flags\":1}]}},"
		"{\"name\":\"h\",\"histogram\":{\"aggregationTemporality\":2,\"dataPoints\":[{\"timeUnixNano\":" T1 ","
		"\"flags\":1,\"count\":\"0\",\"sum\":0,\"explicitBounds\":[1],\"bucketCounts\":[\"0\",\"0\"]}]}},"
		"{\"name\":\"e\",\"exponentialHistogram\":{\"aggregationTemporality\":2,\"dataPoints\":[{\"timeUnixNano\":" T1 ",\"flags\":1}]}},"
		"{\"name\":\"d\",\"sum\":{\"aggregationTemporality\":1,\"isMonotonic\":true,\"dataPoints\":[{\"timeUnixNano\":" T1 ",\"flags\":1}]}}"),
	    &m, NULL);
	assert_true(series_is_stale(value(&m.w, "g{}")));
	assert_true(series_is_stale(value(&m.w, "h_bucket{le=\"1\"}")));
	assert_true(series_is_stale(value(&m.w, "h_bucket{le=\"+Inf\"}")));
	assert_true(series_is_stale(value(&m.w, "h_sum{}")));
	assert_true(series_is_stale(value(&m.w, "h_count{}")));
	assert_true(series_is_stale(find(&m.w, "e{}")->hists[0].sum));
	/* a stale delta needs no state */
	assert_true(series_is_stale(value(&m.w, "d_total{}")));
	assert_int_equal(m.res.rejected_points, 0);
	ob_arena_release(&m.arena);
}

/* ---- delta temporality ---- */

#define DSUM(start, end, v) \
	RES(SATTR("service.name", "svc"), "", \
	    "{\"name\":\"hits\",\"sum\":{\"aggregationTemporality\":1,\"isMonotonic\":true,\"dataPoints\":[" \
	    "{\"startTimeUnixNano\":" start ",\"timeUnixNano\":" end ",\"asInt\":\"" v "\"}]}}")

static void
delta_sums(void **state)
{
	struct otlp_metrics_state *st = otlp_metrics_state_new(0);
	struct mapped m;

	(void)state;
	map(DSUM(T1, T2, "5"), &m, st);
	assert_true(value(&m.w, "hits_total{job=\"svc\"}") == 5);
	ob_arena_release(&m.arena);
	map(DSUM(T2, T3, "3"), &m, st);
	assert_true(value(&m.w, "hits_total{job=\"svc\"}") == 8);
	ob_arena_release(&m.arena);
	/* the same request again (its answer was lost): not counted twice */
	map(DSUM(T2, T3, "3"), &m, st);
	assert_true(value(&m.w, "hits_total{job=\"svc\"}") == 8);
	assert_int_equal(m.res.rejected_points, 0);
	ob_arena_release(&m.arena);
	/* an older point: rejected, named */
	map(DSUM(T1, T2, "4"), &m, st);
	assert_int_equal(m.w.nseries, 0);
	assert_int_equal(m.res.rejected_points, 1);
	assert_non_null(strstr(m.res.message, "metric \"hits\": a delta point ends no later"));
	ob_arena_release(&m.arena);
	assert_int_equal(otlp_metrics_state_count(st), 1);
	/* a non-monotonic delta sum is dropped, as the spec says */
	map(RES("", "", "{\"name\":\"q\",\"sum\":{\"aggregationTemporality\":1,\"isMonotonic\":false,"
		"\"dataPoints\":[{\"timeUnixNano\":" T1 ",\"asInt\":\"1\"},{\"timeUnixNano\":" T2 ",\"asInt\":\"1\"}]}}"),
	    &m, st);
	assert_int_equal(m.w.nseries, 0);
	assert_int_equal(m.res.rejected_points, 2);
	assert_non_null(strstr(m.res.message, "metric \"q\": a non-monotonic sum with delta temporality"));
	ob_arena_release(&m.arena);
	/* without state, delta points cannot be mapped */
	map(DSUM(T1, T2, "5"), &m, NULL);
	assert_int_equal(m.w.nseries, 0);
	assert_int_equal(m.res.rejected_points, 1);
	assert_non_null(strstr(m.res.message, "delta temporality"));
	ob_arena_release(&m.arena);
	otlp_metrics_state_free(st);
}

#define DHIST(end, counts, sum) \
	RES("", "", "{\"name\":\"h\",\"histogram\":{\"aggregationTemporality\":1,\"dataPoints\":[" \
	    "{\"timeUnixNano\":" end ",\"count\":\"" counts "\",\"sum\":" sum ",\"explicitBounds\":[1]," \
	    "\"bucketCounts\":[\"1\",\"" counts "\"]}]}}")

static void
delta_histograms(void **state)
{
	struct otlp_metrics_state *st = otlp_metrics_state_new(0);
	struct mapped m;

	(void)state;
	map(DHIST(T1, "2", "1.5"), &m, st);                /* buckets 1, 2: cumulative 1, 3 */
	ob_arena_release(&m.arena);
	map(DHIST(T2, "4", "2.5"), &m, st);                /* + 1, 4 */
	assert_true(value(&m.w, "h_bucket{le=\"1\"}") == 2);
	assert_true(value(&m.w, "h_bucket{le=\"+Inf\"}") == 6);   /* count 2 + 4 */
	assert_true(value(&m.w, "h_count{}") == 6);
	assert_true(value(&m.w, "h_sum{}") == 4);
	ob_arena_release(&m.arena);
	/* no buckets at all (a fuzzer found the empty layout): count and sum still add up */
	for (int i = 0; i < 2; i++) {
		char json[512];

		snprintf(json, sizeof json, RES("", "", "{\"name\":\"nb\",\"histogram\":{"
			 "\"aggregationTemporality\":1,\"dataPoints\":[{\"timeUnixNano\":"
			 "\"17000000000000000%d0\",\"count\":\"3\",\"sum\":1}]}}"), i + 1);
		map(json, &m, st);
		assert_true(value(&m.w, "nb_count{}") == 3 * (i + 1));
		assert_true(value(&m.w, "nb_sum{}") == i + 1);
		assert_true(value(&m.w, "nb_bucket{le=\"+Inf\"}") == 3 * (i + 1));
		ob_arena_release(&m.arena);
	}
	otlp_metrics_state_free(st);
}

static void
delta_exponential(void **state)
{
	struct otlp_metrics_state *st = otlp_metrics_state_new(0);
	struct mapped m;

	(void)state;
	map(RES("", "", "{\"name\":\"e\",\"exponentialHistogram\":{\"aggregationTemporality\":1,\"dataPoints\":["
		"{\"timeUnixNano\":" T1 ",\"count\":\"2\",\"sum\":3,\"scale\":1,"
		"\"positive\":{\"offset\":0,\"bucketCounts\":[\"1\",\"1\"]}}]}}"), &m, st);
	ob_arena_release(&m.arena);
	/* scale 0 now: the accumulation moves to scale 0 (indices 0,1 at scale 1 -> 0) */
	map(RES("", "", "{\"name\":\"e\",\"exponentialHistogram\":{\"aggregationTemporality\":1,\"dataPoints\":["
		"{\"timeUnixNano\":" T2 ",\"count\":\"3\",\"sum\":1,\"scale\":0,"
		"\"positive\":{\"offset\":0,\"bucketCounts\":[\"1\",\"2\"]}}]}}"), &m, st);
	const struct series_histogram *h = &find(&m.w, "e{}")->hists[0];
	assert_int_equal(h->schema, 0);
	assert_true(h->count == 5 && h->sum == 4);
	assert_int_equal(h->pos_spans[0].offset, 1);
	assert_int_equal(h->npos, 2);
	assert_true(h->pos[0] == 3 && h->pos[1] == 2);
	ob_arena_release(&m.arena);
	otlp_metrics_state_free(st);
}

static void
state_is_bounded(void **state)
{
	struct otlp_metrics_state *st = otlp_metrics_state_new(2);
	struct mapped m;

	(void)state;
	map(RES("", "", "{\"name\":\"c\",\"sum\":{\"aggregationTemporality\":1,\"isMonotonic\":true,\"dataPoints\":["
		"{\"timeUnixNano\":" T1 ",\"asInt\":\"1\",\"attributes\":[" SATTR("k", "1") "]},"
		"{\"timeUnixNano\":" T1 ",\"asInt\":\"1\",\"attributes\":[" SATTR("k", "2") "]},"
		"{\"timeUnixNano\":" T1 ",\"asInt\":\"1\",\"attributes\":[" SATTR("k", "3") "]}]}}"), &m, st);
	assert_int_equal(m.w.nseries, 3);
	assert_int_equal(otlp_metrics_state_count(st), 2);
	ob_arena_release(&m.arena);
	/* k=1 was evicted: it starts again from its next delta */
	map(RES("", "", "{\"name\":\"c\",\"sum\":{\"aggregationTemporality\":1,\"isMonotonic\":true,\"dataPoints\":["
		"{\"timeUnixNano\":" T2 ",\"asInt\":\"1\",\"attributes\":[" SATTR("k", "1") "]},"
		"{\"timeUnixNano\":" T2 ",\"asInt\":\"1\",\"attributes\":[" SATTR("k", "3") "]}]}}"), &m, st);
	assert_true(value(&m.w, "c_total{k=\"1\"}") == 1);
	assert_true(value(&m.w, "c_total{k=\"3\"}") == 2);
	ob_arena_release(&m.arena);
	otlp_metrics_state_free(st);
}

/*
 * Requests the OpenTelemetry JavaScript SDK (sdk-metrics 2.12,
 * otlp-transformer 0.223) serialized for a counter, a histogram, an
 * up-down counter, an exponential histogram and a gauge, once cumulative
 * and once delta; the files start with 'P' (protobuf) or 'J' (JSON),
 * as the fuzz target reads them.
 */
static void
map_file(const char *path, struct mapped *m, struct otlp_metrics_state *st)
{
	uint8_t *body;
	size_t n;

	if (ob_file_read(path, 1 << 20, &body, &n, m->errbuf) != OB_OK)
		fail_msg("%s (run the tests from the top of the tree)", m->errbuf);
	ob_arena_init(&m->arena, 16 << 20);
	m->err = body[0] == 'J'
		? otlp_metrics_decode_json((const char *)body + 1, n - 1, NULL, st, &m->arena, &m->w,
					   &m->res, m->errbuf)
		: otlp_metrics_decode_pb(body + 1, n - 1, NULL, st, &m->arena, &m->w, &m->res,
					 m->errbuf);
	free(body);
	if (m->err)
		fail_msg("%s: %s", path, m->errbuf);
}

#define JS_TARGET "instance=\"pod-1\",job=\"shop/checkout\""
#define JS_SCOPE "otel_scope_name=\"checkout-lib\",otel_scope_version=\"1.4.0\""
#define JS_LABELS JS_TARGET "," JS_SCOPE

static void
js_sdk_requests(void **state)
{
	static const char *const files[] = {
		"tests/fuzz/seeds/fuzz_otlp_metrics/js-sdk-cumulative.pb",
		"tests/fuzz/seeds/fuzz_otlp_metrics/js-sdk-cumulative.json",
		"tests/fuzz/seeds/fuzz_otlp_metrics/js-sdk-delta.pb",
	};
	struct otlp_metrics_state *st = otlp_metrics_state_new(0);

	(void)state;
	for (int i = 0; i < 3; i++) {
		struct mapped m;

		map_file(files[i], &m, st);
		assert_true(value(&m.w, "http_server_requests_total{http_method=\"GET\",http_route=\"/cart\","
				  JS_LABELS "}") == 3);
		assert_true(value(&m.w, "http_server_duration_milliseconds_bucket{http_route=\"/cart\","
				  JS_TARGET ",le=\"25\"," JS_SCOPE "}") == 2);
		assert_true(value(&m.w, "http_server_duration_milliseconds_bucket{http_route=\"/cart\","
				  JS_TARGET ",le=\"+Inf\"," JS_SCOPE "}") == 4);
		assert_true(value(&m.w, "http_server_duration_milliseconds_sum{http_route=\"/cart\","
				  JS_LABELS "}") == 755);
		assert_true(value(&m.w, "cpu_utilization_ratio{cpu=\"0\"," JS_LABELS "}") == 0.25);
		assert_true(value(&m.w, "target_info{host_name=\"node-7\",instance=\"pod-1\","
				  "job=\"shop/checkout\"}") == 1);
		const struct series_in *e = find(&m.w, "rpc_latency_seconds{" JS_LABELS "}");
		assert_non_null(e);
		assert_true(e->hists[0].count == 4 && e->hists[0].sum == 3.503);
		double total = e->hists[0].zero_count;
		for (size_t b = 0; b < e->hists[0].npos; b++)
			total += e->hists[0].pos[b];
		assert_true(total == 4);
		assert_true(e->hists[0].npos_spans > 1);        /* gaps between the four values */
		if (i < 2) {
			assert_true(value(&m.w, "queue_size{" JS_LABELS "}") == 3);
			assert_int_equal(m.res.rejected_points, 0);
		} else {
			/* delta up-down counters are dropped (the spec); the rest accumulates */
			assert_null(find(&m.w, "queue_size{" JS_LABELS "}"));
			assert_int_equal(m.res.rejected_points, 1);
		}
		ob_arena_release(&m.arena);
	}
	otlp_metrics_state_free(st);
}

/* Two receiver threads sharing one state: each accumulates its own series. */
struct worker {
	struct otlp_metrics_state *st;
	int id;
	double last;
	int64_t rejected;
};

static void *
work(void *arg)
{
	struct worker *w = arg;

	for (int i = 1; i <= 200; i++) {
		char json[1024];
		struct mapped m;

		snprintf(json, sizeof json,
			 RES("", "", "{\"name\":\"c\",\"sum\":{\"aggregationTemporality\":1,"
			     "\"isMonotonic\":true,\"dataPoints\":[{\"startTimeUnixNano\":\"%d000\","
			     "\"timeUnixNano\":\"%d000\",\"asInt\":\"2\",\"attributes\":["
			     "{\"key\":\"w\",\"value\":{\"intValue\":\"%d\"}}]}]}}"),
			 i, i + 1, w->id);
		map(json, &m, w->st);
		w->rejected += m.res.rejected_points;
		if (m.w.nseries == 1)
			w->last = m.w.series[0].samples[0].v;
		ob_arena_release(&m.arena);
	}
	return NULL;
}

static void
concurrent_state(void **state)
{
	struct otlp_metrics_state *st = otlp_metrics_state_new(0);
	struct worker w[2] = { { st, 1, 0, 0 }, { st, 2, 0, 0 } };
	pthread_t t[2];

	(void)state;
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(w[i].rejected, 0);
		assert_true(w[i].last == 400);
	}
	assert_int_equal(otlp_metrics_state_count(st), 2);
	otlp_metrics_state_free(st);
}

/* ---- paths, errors, limits ---- */

static void
json_path_and_errors(void **state)
{
	const char *json = RES(SATTR("service.name", "api"), "",
			       "{\"name\":\"g\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":" T1 ",\"asDouble\":2}]}},"
			       "{\"name\":\"\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":" T1 ",\"asDouble\":2}]}},"
			       "{\"name\":\"t\",\"gauge\":{\"dataPoints\":[{\"asDouble\":2}]}}");
	struct ob_arena arena;
	struct series_write w;
	struct otlp_metrics_result res;
	struct otlp_metrics_options opt;
	char errbuf[OB_ERRLEN];

	(void)state;
	ob_arena_init(&arena, 16 << 20);
	assert_int_equal(otlp_metrics_decode_json(json, strlen(json), NULL, NULL, &arena, &w, &res,
						  errbuf), OB_OK);
	assert_int_equal(w.nseries, 1);
	assert_true(value(&w, "g{job=\"api\"}") == 2);
	assert_int_equal(res.rejected_points, 2);
	assert_string_equal(res.message, "metric \"\": a metric has no name");
	ob_arena_reset(&arena);
	assert_int_equal(otlp_metrics_decode_json("{\"resourceMetrics\":3}", 21, NULL, NULL, &arena,
						  &w, &res, errbuf), OB_EINVAL);
	ob_arena_reset(&arena);
	static const uint8_t junk[] = { 0x0a, 0x05, 0x01 };
	assert_int_equal(otlp_metrics_decode_pb(junk, sizeof junk, NULL, NULL, &arena, &w, &res,
						errbuf), OB_EINVAL);
	assert_int_equal(w.nseries, 0);
	ob_arena_reset(&arena);
	otlp_metrics_options_default(&opt);
	opt.max_series = 1;
	assert_int_equal(otlp_metrics_decode_json(json, strlen(json), &opt, NULL, &arena, &w, &res,
						  errbuf), OB_ETOOBIG);
	assert_non_null(strstr(errbuf, "more than the limit of 1"));
	ob_arena_release(&arena);
}

static void
label_values_are_utf8(void **state)
{
	struct mapped m;

	(void)state;
	/* \xff cannot be sent in JSON; build the request with protobuf-c */
	otlp_key_value kv = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
	otlp_any_value av = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
	otlp_number_point p = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__INIT;
	otlp_gauge g = OPENTELEMETRY__PROTO__METRICS__V1__GAUGE__INIT;
	otlp_metric mt = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__INIT;
	otlp_scope_metrics sm = OPENTELEMETRY__PROTO__METRICS__V1__SCOPE_METRICS__INIT;
	otlp_resource_metrics rm = OPENTELEMETRY__PROTO__METRICS__V1__RESOURCE_METRICS__INIT;
	otlp_metrics_export_request req =
		OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_REQUEST__INIT;
	otlp_key_value *kvs[] = { &kv };
	otlp_number_point *ps[] = { &p };
	otlp_metric *ms[] = { &mt };
	otlp_scope_metrics *sms[] = { &sm };
	otlp_resource_metrics *rms[] = { &rm };

	av.value_case = OTLP_VALUE(STRING_VALUE);
	av.string_value = "a\xff" "b";
	kv.key = "k";
	kv.value = &av;
	p.attributes = kvs;
	p.n_attributes = 1;
	p.time_unix_nano = 1000000;
	p.value_case = OTLP_NUMBER(AS_DOUBLE);
	p.as_double = 1;
	g.data_points = ps;
	g.n_data_points = 1;
	mt.name = "m";
	mt.data_case = OTLP_METRIC_DATA(GAUGE);
	mt.gauge = &g;
	sm.metrics = ms;
	sm.n_metrics = 1;
	rm.scope_metrics = sms;
	rm.n_scope_metrics = 1;
	req.resource_metrics = rms;
	req.n_resource_metrics = 1;
	ob_arena_init(&m.arena, 1 << 20);
	assert_int_equal(otlp_metrics_map(&req, NULL, NULL, &m.arena, &m.w, &m.res, m.errbuf), OB_OK);
	assert_true(value(&m.w, "m{k=\"a\xef\xbf\xbd" "b\"}") == 1);
	assert_int_equal(m.w.series[0].samples[0].t, 1);
	ob_arena_release(&m.arena);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(metric_names),
		cmocka_unit_test(suffixes_off),
		cmocka_unit_test(attribute_labels),
		cmocka_unit_test(resource_and_scope),
		cmocka_unit_test(gauges_and_sums),
		cmocka_unit_test(histograms),
		cmocka_unit_test(exponential_histograms),
		cmocka_unit_test(summaries),
		cmocka_unit_test(no_recorded_value),
		cmocka_unit_test(delta_sums),
		cmocka_unit_test(delta_histograms),
		cmocka_unit_test(delta_exponential),
		cmocka_unit_test(state_is_bounded),
		cmocka_unit_test(concurrent_state),
		cmocka_unit_test(js_sdk_requests),
		cmocka_unit_test(json_path_and_errors),
		cmocka_unit_test(label_values_are_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
