/*
 * test_traceql_pipe.c - TraceQL arithmetic, the event/link/instrumentation
 * scopes, ids and nested sets, and pipelines (count, avg, min, max, sum,
 * by, select, coalesce) over one hand-built trace:
 *
 *	GET /    server   frontend  0-1000ms  scope fe-lib 1.2
 *	  auth   internal frontend  10-60ms   event "login" at 20ms, user=ann
 *	  query  client   backend   100-400ms error, bytes=4096, a link
 *	    SELECT client backend   150-350ms bytes=1024
 *	    cache  producer backend 360-380ms
 *
 * Expected answers are worked out by hand from that table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/traceql.h"
#include "test_traceql_fixture.h"

static struct ob_arena pool;
static struct ob_trace trace;

static const struct fx_span spec[] = {
	{ 1, 0, "GET /", "frontend", 2, 0, 0, 1000 * MS, 0 },
	{ 2, 1, "auth", "frontend", 1, 0, 10 * MS, 60 * MS, 0 },
	{ 3, 1, "query", "backend", 3, 2, 100 * MS, 400 * MS, 4096 },
	{ 4, 3, "SELECT", "backend", 3, 0, 150 * MS, 350 * MS, 1024 },
	{ 5, 3, "cache", "backend", 4, 0, 360 * MS, 380 * MS, 0 },
};

static int
setup(void **state)
{
	otlp_span **s;
	otlp_scope *scope;
	otlp_event *ev;
	otlp_link *ln;
	size_t i;

	(void)state;
	ob_arena_init(&pool, 0);
	fx_trace(&pool, &trace, 7, spec, 5, &s);
	scope = fx_alloc(&pool, sizeof *scope);
	opentelemetry__proto__common__v1__instrumentation_scope__init(scope);
	scope->name = "fe-lib";
	scope->version = "1.2";
	for (i = 0; i < trace.nspans; i++)
		if (strcmp(trace.spans[i].service, "frontend") == 0)
			((otlp_scope_spans *)trace.spans[i].ss)->scope = scope;
	ev = fx_alloc(&pool, sizeof *ev);
	opentelemetry__proto__trace__v1__span__event__init(ev);
	ev->name = "login";
	ev->time_unix_nano = 20 * MS;
	ev->attributes = fx_alloc(&pool, sizeof *ev->attributes);
	ev->attributes[0] = fx_kv(&pool, "user", "ann", 0);
	ev->n_attributes = 1;
	s[1]->events = fx_alloc(&pool, sizeof *s[1]->events);
	s[1]->events[0] = ev;
	s[1]->n_events = 1;
	ln = fx_alloc(&pool, sizeof *ln);
	opentelemetry__proto__trace__v1__span__link__init(ln);
	ln->trace_id.data = fx_id(&pool, 0xaa, 16);
	ln->trace_id.len = 16;
	ln->span_id.data = fx_id(&pool, 0xbb, 8);
	ln->span_id.len = 8;
	ln->attributes = fx_alloc(&pool, sizeof *ln->attributes);
	ln->attributes[0] = fx_kv(&pool, "kind", "follows", 0);
	ln->n_attributes = 1;
	s[2]->links = fx_alloc(&pool, sizeof *s[2]->links);
	s[2]->links[0] = ln;
	s[2]->n_links = 1;
	return trace.nspans == 5 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	ob_trace_release(&trace);
	ob_arena_release(&pool);
	return 0;
}

static struct traceql_query *
parse(const char *text)
{
	struct traceql_query *q;
	char errbuf[OB_ERRLEN];

	errbuf[0] = 0;
	if (traceql_parse(text, &q, errbuf)) {
		print_error("parse failed for %s: %s\n", text, errbuf);
		fail();
	}
	return q;
}

/* Names of the spans matched by text, in trace order. */
static const char *
match(const char *text)
{
	static char out[1024];
	struct traceql_query *q = parse(text);
	bool matched[8];
	size_t i;

	out[0] = 0;
	traceql_eval(q, &trace, matched);
	for (i = 0; i < trace.nspans; i++)
		if (matched[i]) {
			if (out[0])
				strcat(out, ",");
			strcat(out, trace.spans[i].span->name);
		}
	traceql_free(q);
	return out;
}

/* The spansets of text as "name,name[key=value;...]" joined by " | ". */
static const char *
sets(const char *text)
{
	static char out[2048];
	struct traceql_query *q = parse(text);
	struct traceql_result r;
	size_t k, i, a;

	out[0] = 0;
	traceql_eval_sets(q, &trace, &r);
	for (k = 0; k < r.nsets; k++) {
		const struct traceql_spanset *s = &r.sets[k];
		size_t n = 0;

		if (k)
			strcat(out, " | ");
		for (i = 0; i < trace.nspans; i++)
			if (s->spans[i]) {
				if (n++)
					strcat(out, ",");
				strcat(out, trace.spans[i].span->name);
			}
		assert_int_equal(n, s->count);
		for (a = 0; a < s->nattrs; a++) {
			char v[128];

			switch (s->attrs[a].type) {
			case TRACEQL_V_INT:
				snprintf(v, sizeof v, "%lld", (long long)s->attrs[a].i);
				break;
			case TRACEQL_V_FLOAT:
				snprintf(v, sizeof v, "%g", s->attrs[a].f);
				break;
			case TRACEQL_V_BOOL:
				snprintf(v, sizeof v, "%s", s->attrs[a].i ? "true" : "false");
				break;
			default:
				snprintf(v, sizeof v, "\"%s\"", s->attrs[a].s);
			}
			strcat(out, a ? ";" : "[");
			strcat(out, s->attrs[a].key);
			strcat(out, "=");
			strcat(out, v);
		}
		if (s->nattrs)
			strcat(out, "]");
	}
	traceql_result_release(&r);
	traceql_free(q);
	return out;
}

static void
test_arithmetic(void **state)
{
	(void)state;
	assert_string_equal(match("{ span.bytes / 1024 > 2 }"), "query");
	assert_string_equal(match("{ span.bytes / 1024 >= 1 }"), "query,SELECT");
	assert_string_equal(match("{ duration - 100ms > 200ms }"), "GET /");
	assert_string_equal(match("{ duration * 2 >= 2s }"), "GET /");
	assert_string_equal(match("{ 2 ^ 3 = 8 && 2 ^ 3 ^ 2 = 512 }"), "GET /,auth,query,SELECT,cache");
	assert_string_equal(match("{ 1 + 2 * 3 = 7 && 10 - 4 - 3 = 3 }"),
			    "GET /,auth,query,SELECT,cache");
	assert_string_equal(match("{ -span.bytes < -2000 }"), "query");
	assert_string_equal(match("{ span.bytes % 1000 = 96 }"), "query");
	assert_string_equal(match("{ span.bytes + 1 > 0 }"), "query,SELECT");  /* missing: no value */
	assert_string_equal(match("{ span.bytes / 0 > 0 }"), "");
	assert_string_equal(match("{ duration > 150ms + 100ms }"), "GET /,query");
}

static void
test_scopes_and_intrinsics(void **state)
{
	(void)state;
	assert_string_equal(match("{ event:name = \"login\" }"), "auth");
	assert_string_equal(match("{ event.user = \"ann\" }"), "auth");
	assert_string_equal(match("{ event.user != \"bob\" }"), "auth");
	assert_string_equal(match("{ event:timeSinceStart = 10ms }"), "auth");
	assert_string_equal(match("{ event.user = nil }"), "GET /,query,SELECT,cache");
	assert_string_equal(match("{ link:traceID = \"000000000000000000000000000000aa\" }"), "query");
	assert_string_equal(match("{ link:spanID =~ \"0+bb\" }"), "query");
	assert_string_equal(match("{ link.kind = \"follows\" }"), "query");
	assert_string_equal(match("{ instrumentation:name = \"fe-lib\" }"), "GET /,auth");
	assert_string_equal(match("{ instrumentation:version = \"1.2\" }"), "GET /,auth");
	assert_string_equal(match("{ span:id = \"0000000000000003\" }"), "query");
	assert_string_equal(match("{ span:parentID = \"0000000000000001\" }"), "auth,query");
	assert_string_equal(match("{ span:parentID = \"\" }"), "GET /");
	assert_string_equal(match("{ trace:id = \"00000000000000000000000000000007\" }"),
			    "GET /,auth,query,SELECT,cache");
	/* GET / 1..10, auth 2..3, query 4..9, SELECT 5..6, cache 7..8 */
	assert_string_equal(match("{ nestedSetLeft = 1 && nestedSetRight = 10 }"), "GET /");
	assert_string_equal(match("{ nestedSetParent = 4 }"), "SELECT,cache");
	assert_string_equal(match("{ nestedSetParent = -1 }"), "GET /");
	assert_string_equal(match("{ nestedSetRight - nestedSetLeft = 1 }"), "auth,SELECT,cache");
	assert_string_equal(match("{ span:nestedSetLeft = 7 }"), "cache");
}

static void
test_pipelines(void **state)
{
	(void)state;
	assert_string_equal(sets("{ } | count() > 3"), "GET /,auth,query,SELECT,cache[count()=5]");
	assert_string_equal(sets("{ } | count() > 5"), "");
	assert_string_equal(sets("{ resource.service.name = \"backend\" } | count() = 3"),
			    "query,SELECT,cache[count()=3]");
	/* (300 + 200 + 20) / 3 = 173.3ms */
	assert_string_equal(sets("{ resource.service.name = \"backend\" } | avg(duration) > 150ms"),
			    "query,SELECT,cache[avg(duration)=\"173.3ms\"]");
	assert_string_equal(sets("{ resource.service.name = \"backend\" } | avg(duration) > 174ms"),
			    "");
	assert_string_equal(sets("{ } | max(duration) = 1s"),
			    "GET /,auth,query,SELECT,cache[max(duration)=\"1.00s\"]");
	assert_string_equal(sets("{ } | min(duration) < 21ms"),
			    "GET /,auth,query,SELECT,cache[min(duration)=\"20.0ms\"]");
	assert_string_equal(sets("{ } | sum(span.bytes) = 5120"),
			    "GET /,auth,query,SELECT,cache[sum(span.bytes)=5120]");
	assert_string_equal(sets("{ } | avg(span.bytes) = 2560"),
			    "GET /,auth,query,SELECT,cache[avg(span.bytes)=2560]");
	assert_string_equal(sets("{ } | { kind = client }"), "query,SELECT");
	assert_string_equal(sets("{ } | { kind = consumer }"), "");
	assert_string_equal(sets("{ } | by(resource.service.name)"),
			    "query,SELECT,cache[by(resource.service.name)=\"backend\"] | "
			    "GET /,auth[by(resource.service.name)=\"frontend\"]");
	assert_string_equal(sets("{ } | by(resource.service.name) | count() > 2"),
			    "query,SELECT,cache[by(resource.service.name)=\"backend\";count()=3]");
	assert_string_equal(sets("{ } | by(span.bytes) | count() = 3"),
			    "GET /,auth,cache[by(span.bytes)=\"nil\";count()=3]");
	assert_string_equal(sets("{ } | by(resource.service.name) | coalesce()"),
			    "GET /,auth,query,SELECT,cache");
	assert_string_equal(sets("{ status = error } | by(kind)"), "query[by(kind)=\"client\"]");
	assert_string_equal(match("{ } | by(resource.service.name) | count() = 2"), "GET /,auth");
	assert_string_equal(match("{ name = \"query\" } > { } | count() = 2"), "SELECT,cache");
}

static void
test_select(void **state)
{
	struct traceql_query *q = parse("{ name = \"query\" } | select(span.bytes, status, "
					"duration * 2)");
	struct traceql_attr a;

	(void)state;
	assert_int_equal(traceql_select_count(q), 3);
	assert_true(traceql_select_get(q, 0, &trace, 2, &a));
	assert_string_equal(trace.spans[2].span->name, "query");
	assert_string_equal(a.key, "bytes");
	assert_int_equal(a.type, TRACEQL_V_INT);
	assert_int_equal(a.i, 4096);
	free(a.s);
	assert_true(traceql_select_get(q, 1, &trace, 2, &a));
	assert_string_equal(a.key, "status");
	assert_string_equal(a.s, "error");
	free(a.s);
	assert_true(traceql_select_get(q, 2, &trace, 2, &a));
	assert_string_equal(a.key, "duration * 2");
	assert_string_equal(a.s, "600.0ms");
	free(a.s);
	assert_false(traceql_select_get(q, 0, &trace, 0, &a));       /* GET / has no bytes */
	assert_false(traceql_select_get(q, 3, &trace, 2, &a));
	assert_string_equal(match("{ name = \"query\" } | select(span.bytes)"), "query");
	traceql_free(q);
	/* the fields conditions read are shown too (not name and duration) */
	q = parse("{ span.bytes > 1000 && status = error && name != \"x\" && duration > 1ms }");
	assert_int_equal(traceql_select_count(q), 2);
	assert_true(traceql_select_get(q, 0, &trace, 2, &a));
	assert_string_equal(a.key, "bytes");
	assert_int_equal(a.i, 4096);
	free(a.s);
	assert_true(traceql_select_get(q, 1, &trace, 2, &a));
	assert_string_equal(a.key, "status");
	assert_string_equal(a.s, "error");
	free(a.s);
	traceql_free(q);
	q = parse("{ }");
	assert_int_equal(traceql_select_count(q), 0);
	assert_false(traceql_is_metrics(q));
	traceql_free(q);
	q = parse("{ } | quantile_over_time(duration, .5, 0.9, .99) by (resource.service.name, "
		  "name) | topk(3)");
	assert_true(traceql_is_metrics(q));
	traceql_free(q);
	/* hints are read and ignored: the answers are exact anyway */
	q = parse("{ } | rate() by (name) with(sample=true, exemplars=5) | topk(2)");
	assert_true(traceql_is_metrics(q));
	traceql_free(q);
	assert_string_equal(match("{ name = \"auth\" } with(most_recent=true)"), "auth");
	assert_int_equal(traceql_parse("{ } with(sample)", &q, NULL), OB_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arithmetic),
		cmocka_unit_test(test_scopes_and_intrinsics),
		cmocka_unit_test(test_pipelines),
		cmocka_unit_test(test_select),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
