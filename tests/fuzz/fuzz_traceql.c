/*
 * fuzz_traceql.c - libFuzzer target for the TraceQL parser and evaluator.
 *
 * Any bytes are parsed as a query (up to the first NUL).  When they parse,
 * the query runs on a small fixed trace (a root with two services, an
 * orphan subtree, every attribute type, an event and a link) with and
 * without the matched array, which must agree, and its hints must admit
 * the trace whenever it matches: a hint that rules out a match is a bug
 * the store would turn into a missing search result.  The pipeline's
 * spansets must cover exactly the matched spans, select() must read every
 * span, and a metrics query runs its accumulator over the trace (range and
 * instant) and yields series of the promised size.  Failing to parse is
 * fine; crashing, leaking, or a broken invariant is not.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "model/traceql.h"
#include "model/traceql_metrics.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ob_trace trace;

static void *
zalloc(size_t n)
{
	return ob_xcalloc(1, n);
}

static otlp_any_value *
value(int type, const char *s, int64_t i, double d)
{
	otlp_any_value *v = zalloc(sizeof *v);

	opentelemetry__proto__common__v1__any_value__init(v);
	v->value_case = type;
	if (type == OTLP_VALUE(STRING_VALUE))
		v->string_value = (char *)s;
	else if (type == OTLP_VALUE(INT_VALUE))
		v->int_value = i;
	else if (type == OTLP_VALUE(BOOL_VALUE))
		v->bool_value = i != 0;
	else if (type == OTLP_VALUE(DOUBLE_VALUE))
		v->double_value = d;
	else if (type == OTLP_VALUE(ARRAY_VALUE)) {
		v->array_value = zalloc(sizeof *v->array_value);
		opentelemetry__proto__common__v1__array_value__init(v->array_value);
		v->array_value->n_values = 2;
		v->array_value->values = zalloc(2 * sizeof *v->array_value->values);
		v->array_value->values[0] = value(OTLP_VALUE(STRING_VALUE), s, 0, 0);
		v->array_value->values[1] = value(OTLP_VALUE(INT_VALUE), NULL, i, 0);
	}
	return v;
}

static otlp_key_value *
kv(const char *key, int type, const char *s, int64_t i, double d)
{
	otlp_key_value *k = zalloc(sizeof *k);

	opentelemetry__proto__common__v1__key_value__init(k);
	k->key = (char *)key;
	k->value = value(type, s, i, d);
	return k;
}

static otlp_span *
span(uint8_t id, uint8_t parent, const char *name, int kind, uint64_t start, uint64_t end,
     int status)
{
	otlp_span *s = zalloc(sizeof *s);
	uint8_t *ids = zalloc(8 + 8);

	opentelemetry__proto__trace__v1__span__init(s);
	ids[7] = id;
	ids[15] = parent;
	s->span_id.data = ids;
	s->span_id.len = 8;
	if (parent) {
		s->parent_span_id.data = ids + 8;
		s->parent_span_id.len = 8;
	}
	s->name = (char *)name;
	s->kind = kind;
	s->start_time_unix_nano = start;
	s->end_time_unix_nano = end;
	if (status) {
		s->status = zalloc(sizeof *s->status);
		opentelemetry__proto__trace__v1__status__init(s->status);
		s->status->code = status;
		s->status->message = (char *)"boom";
	}
	s->n_attributes = 5;
	s->attributes = zalloc(5 * sizeof *s->attributes);
	s->attributes[0] = kv("http.status_code", OTLP_VALUE(INT_VALUE), NULL, 200 + id, 0);
	s->attributes[1] = kv("a", OTLP_VALUE(STRING_VALUE), name, 0, 0);
	s->attributes[2] = kv("ok", OTLP_VALUE(BOOL_VALUE), NULL, id % 2, 0);
	s->attributes[3] = kv("f", OTLP_VALUE(DOUBLE_VALUE), NULL, 0, id / 2.0);
	s->attributes[4] = kv("list", OTLP_VALUE(ARRAY_VALUE), "x", id, 0);
	return s;
}

static otlp_resource_spans *
resource(const char *service, otlp_span **spans, size_t n)
{
	otlp_resource_spans *rs = zalloc(sizeof *rs);
	otlp_scope_spans *ss = zalloc(sizeof *ss);

	opentelemetry__proto__trace__v1__resource_spans__init(rs);
	opentelemetry__proto__trace__v1__scope_spans__init(ss);
	rs->resource = zalloc(sizeof *rs->resource);
	opentelemetry__proto__resource__v1__resource__init(rs->resource);
	rs->resource->n_attributes = 2;
	rs->resource->attributes = zalloc(2 * sizeof *rs->resource->attributes);
	rs->resource->attributes[0] = kv("service.name", OTLP_VALUE(STRING_VALUE), service, 0, 0);
	rs->resource->attributes[1] = kv("a", OTLP_VALUE(INT_VALUE), NULL, 7, 0);
	ss->scope = zalloc(sizeof *ss->scope);
	opentelemetry__proto__common__v1__instrumentation_scope__init(ss->scope);
	ss->scope->n_attributes = 1;
	ss->scope->attributes = zalloc(sizeof *ss->scope->attributes);
	ss->scope->attributes[0] = kv("v", OTLP_VALUE(STRING_VALUE), "1", 0, 0);
	ss->scope->name = (char *)"lib";
	ss->scope->version = (char *)"1.0";
	ss->spans = spans;
	ss->n_spans = n;
	rs->n_scope_spans = 1;
	rs->scope_spans = zalloc(sizeof *rs->scope_spans);
	rs->scope_spans[0] = ss;
	return rs;
}

/* The trace is built once and kept: reachable memory, not a leak. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static otlp_traces_data data = OPENTELEMETRY__PROTO__TRACE__V1__TRACES_DATA__INIT;
	otlp_span **fe = zalloc(3 * sizeof *fe), **be = zalloc(4 * sizeof *be);

	fe[0] = span(1, 0, "GET /", OTLP_KIND(SERVER), 0, 1000000000, 0);
	fe[1] = span(2, 1, "auth", OTLP_KIND(INTERNAL), 10000000, 60000000, OTLP_STATUS(OK));
	fe[2] = span(3, 1, "query", OTLP_KIND(CLIENT), 100000000, 400000000, OTLP_STATUS(ERROR));
	be[0] = span(4, 3, "SELECT", OTLP_KIND(SERVER), 150000000, 350000000, 0);
	be[1] = span(5, 4, "cache", OTLP_KIND(PRODUCER), 160000000, 170000000, 0);
	be[2] = span(6, 9, "orphan", OTLP_KIND(CONSUMER), 500000000, 900000000, OTLP_STATUS(ERROR));
	be[3] = span(7, 6, "late", OTLP_KIND(UNSPECIFIED), 600000000, 1200000000, 0);
	/* an event on auth and a link on query */
	fe[1]->n_events = 1;
	fe[1]->events = zalloc(sizeof *fe[1]->events);
	fe[1]->events[0] = zalloc(sizeof *fe[1]->events[0]);
	opentelemetry__proto__trace__v1__span__event__init(fe[1]->events[0]);
	fe[1]->events[0]->name = (char *)"exception";
	fe[1]->events[0]->time_unix_nano = 20000000;
	fe[1]->events[0]->n_attributes = 1;
	fe[1]->events[0]->attributes = zalloc(sizeof *fe[1]->events[0]->attributes);
	fe[1]->events[0]->attributes[0] = kv("msg", OTLP_VALUE(STRING_VALUE), "x", 0, 0);
	fe[2]->n_links = 1;
	fe[2]->links = zalloc(sizeof *fe[2]->links);
	fe[2]->links[0] = zalloc(sizeof *fe[2]->links[0]);
	opentelemetry__proto__trace__v1__span__link__init(fe[2]->links[0]);
	fe[2]->links[0]->trace_id = fe[0]->span_id;
	fe[2]->links[0]->span_id = fe[0]->span_id;
	data.n_resource_spans = 2;
	data.resource_spans = zalloc(2 * sizeof *data.resource_spans);
	data.resource_spans[0] = resource("frontend", fe, 3);
	data.resource_spans[1] = resource("backend", be, 4);
	ob_trace_index(&trace, &data);
	return 0;
}

/* Would a store that trusts h still look at t?  The span facts name one span. */
static bool
hints_admit(const struct traceql_hints *h, const struct ob_trace *t)
{
	const struct ob_span_ref *root = &t->spans[t->root];
	uint64_t td = t->end_ns - t->start_ns;
	bool span = false;
	size_t i;

	for (i = 0; i < t->nspans && !span; i++) {
		const struct ob_span_ref *r = &t->spans[i];

		span = (!h->service || strcmp(r->service, h->service) == 0) &&
		       (!h->span_name || strcmp(r->span->name, h->span_name) == 0) &&
		       r->end_ns - r->start_ns >= h->min_span_duration_ns &&
		       (!h->needs_error || ob_span_is_error(r->span));
	}
	return span &&
	       (!h->root_service || strcmp(root->service, h->root_service) == 0) &&
	       (!h->root_name || strcmp(root->span->name, h->root_name) == 0) &&
	       td >= h->min_trace_duration_ns &&
	       (!h->max_trace_duration_ns || td <= h->max_trace_duration_ns);
}

/* The spansets cover the matched spans exactly; select() reads every span. */
static void
check_sets(const struct traceql_query *q, const bool *matched)
{
	struct traceql_result r;
	bool cover[16] = { false };
	size_t i, k;

	traceql_eval_sets(q, &trace, &r);
	for (k = 0; k < r.nsets; k++) {
		size_t n = 0;

		for (i = 0; i < trace.nspans; i++) {
			cover[i] |= r.sets[k].spans[i] != 0;
			n += r.sets[k].spans[i] != 0;
		}
		if (n != r.sets[k].count || n == 0)
			abort();
	}
	for (i = 0; i < trace.nspans; i++)
		if (cover[i] != matched[i])
			abort();
	traceql_result_release(&r);
	for (k = 0; k < traceql_select_count(q); k++)
		for (i = 0; i < trace.nspans; i++) {
			struct traceql_attr a;

			if (traceql_select_get(q, k, &trace, i, &a))
				free(a.s);
		}
}

static void
check_metrics(const struct traceql_query *q)
{
	static const uint64_t steps[][3] = {
		{ 0, 1200000000, 100000000 },   /* range: 13 points */
		{ 0, 1200000000, 1200000000 },  /* instant */
	};
	char errbuf[OB_ERRLEN];
	size_t r, i;

	for (r = 0; r < 2; r++) {
		struct traceql_metrics *m;
		struct traceql_series_set set;

		if (traceql_metrics_new(q, steps[r][0], steps[r][1], steps[r][2], &m, errbuf))
			abort();
		traceql_metrics_observe(m, &trace);
		if (traceql_metrics_finish(m, &set, errbuf) == OB_OK) {
			if (set.npoints != (r ? 1 : 13))
				abort();
			for (i = 0; i < set.nseries; i++)
				if (set.series[i].prom_labels == NULL || set.series[i].prom_labels[0] != '{')
					abort();
			traceql_series_set_release(&set);
		}
		traceql_metrics_free(m);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char errbuf[OB_ERRLEN];
	struct traceql_query *q;
	struct traceql_hints h;
	char *text;
	bool matched[16], found, any = false;
	size_t i;

	text = ob_xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = 0;
	if (traceql_parse(text, &q, errbuf)) {
		if (errbuf[0] == 0 || q != NULL)
			abort();        /* every failure says why */
		free(text);
		return 0;
	}
	memset(matched, 0xa5, sizeof matched);
	found = traceql_eval(q, &trace, matched);
	for (i = 0; i < trace.nspans; i++) {
		if (matched[i] != true && matched[i] != false)
			abort();
		any |= matched[i];
	}
	if (found != any || traceql_eval(q, &trace, NULL) != found)
		abort();
	traceql_hints_get(q, &h);
	if (found && !hints_admit(&h, &trace))
		abort();
	check_sets(q, matched);
	if (traceql_is_metrics(q))
		check_metrics(q);
	traceql_free(q);
	free(text);
	return 0;
}
