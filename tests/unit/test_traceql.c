/*
 * test_traceql.c - the TraceQL parser, evaluator and hints (src/model/traceql*.c).
 *
 * Most tests run queries against one hand-built trace and compare the
 * matched spans, by name, in trace order:
 *
 *	GET /    server   frontend  0-1000ms  http.status_code=200 http.method=GET cache.hit
 *	  auth   internal frontend  10-60ms   status ok
 *	  query  client   backend   100-400ms status error "timeout", db.system, ratio=0.5,
 *	                                      tags=[a b]
 *	    SELECT client backend   150-350ms http.status_code=500
 *	    cache  producer backend 360-380ms
 *
 * The frontend spans come with scope attribute lib.version = "1.0".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "model/traceql.h"

#define MS 1000000ULL

static struct ob_arena pool;
static struct ob_trace trace;

static void *
talloc(size_t n)
{
	void *p = ob_arena_alloc(&pool, n);

	memset(p, 0, n);
	return p;
}

static otlp_key_value *
kv(const char *key, otlp_any_value *v)
{
	otlp_key_value *k = talloc(sizeof *k);

	opentelemetry__proto__common__v1__key_value__init(k);
	k->key = (char *)key;
	k->value = v;
	return k;
}

static otlp_any_value *
v_str(const char *s)
{
	otlp_any_value *v = talloc(sizeof *v);

	opentelemetry__proto__common__v1__any_value__init(v);
	v->value_case = OTLP_VALUE(STRING_VALUE);
	v->string_value = (char *)s;
	return v;
}

static otlp_any_value *
v_int(int64_t i)
{
	otlp_any_value *v = talloc(sizeof *v);

	opentelemetry__proto__common__v1__any_value__init(v);
	v->value_case = OTLP_VALUE(INT_VALUE);
	v->int_value = i;
	return v;
}

static otlp_any_value *
v_double(double d)
{
	otlp_any_value *v = talloc(sizeof *v);

	opentelemetry__proto__common__v1__any_value__init(v);
	v->value_case = OTLP_VALUE(DOUBLE_VALUE);
	v->double_value = d;
	return v;
}

static otlp_any_value *
v_bool(bool b)
{
	otlp_any_value *v = talloc(sizeof *v);

	opentelemetry__proto__common__v1__any_value__init(v);
	v->value_case = OTLP_VALUE(BOOL_VALUE);
	v->bool_value = b;
	return v;
}

static otlp_any_value *
v_array2(otlp_any_value *a, otlp_any_value *b)
{
	otlp_any_value *v = talloc(sizeof *v);
	otlp_array_value *arr = talloc(sizeof *arr);

	opentelemetry__proto__common__v1__array_value__init(arr);
	arr->n_values = 2;
	arr->values = talloc(2 * sizeof *arr->values);
	arr->values[0] = a;
	arr->values[1] = b;
	opentelemetry__proto__common__v1__any_value__init(v);
	v->value_case = OTLP_VALUE(ARRAY_VALUE);
	v->array_value = arr;
	return v;
}

/* attributes from a NULL-terminated list */
static void
set_attrs(otlp_key_value ***attrs, size_t *n, ...)
{
	otlp_key_value *k;
	va_list ap;

	*attrs = talloc(16 * sizeof **attrs);
	*n = 0;
	va_start(ap, n);
	while ((k = va_arg(ap, otlp_key_value *)) != NULL)
		(*attrs)[(*n)++] = k;
	va_end(ap);
}

static uint8_t *
id_bytes(uint32_t id, size_t len)
{
	uint8_t *p = talloc(len);

	p[len - 4] = (uint8_t)(id >> 24);
	p[len - 3] = (uint8_t)(id >> 16);
	p[len - 2] = (uint8_t)(id >> 8);
	p[len - 1] = (uint8_t)id;
	return p;
}

static otlp_span *
span_new(uint32_t id, uint32_t parent, const char *name, int kind, uint64_t start,
	 uint64_t end, int status, const char *message)
{
	otlp_span *s = talloc(sizeof *s);

	opentelemetry__proto__trace__v1__span__init(s);
	s->trace_id.data = id_bytes(7, 16);
	s->trace_id.len = 16;
	s->span_id.data = id_bytes(id, 8);
	s->span_id.len = 8;
	if (parent) {
		s->parent_span_id.data = id_bytes(parent, 8);
		s->parent_span_id.len = 8;
	}
	s->name = (char *)name;
	s->kind = kind;
	s->start_time_unix_nano = start;
	s->end_time_unix_nano = end;
	if (status || message) {
		s->status = talloc(sizeof *s->status);
		opentelemetry__proto__trace__v1__status__init(s->status);
		s->status->code = status;
		if (message)
			s->status->message = (char *)message;
	}
	return s;
}

static otlp_resource_spans *
resource_spans(const char *service, otlp_scope *scope, otlp_span **spans, size_t n)
{
	otlp_resource_spans *rs = talloc(sizeof *rs);
	otlp_scope_spans *ss = talloc(sizeof *ss);

	opentelemetry__proto__trace__v1__resource_spans__init(rs);
	opentelemetry__proto__trace__v1__scope_spans__init(ss);
	rs->resource = talloc(sizeof *rs->resource);
	opentelemetry__proto__resource__v1__resource__init(rs->resource);
	if (strcmp(service, "frontend") == 0)
		set_attrs(&rs->resource->attributes, &rs->resource->n_attributes,
			  kv("service.name", v_str(service)), kv("deployment.env", v_str("prod")),
			  NULL);
	else
		set_attrs(&rs->resource->attributes, &rs->resource->n_attributes,
			  kv("service.name", v_str(service)), NULL);
	ss->scope = scope;
	ss->spans = spans;
	ss->n_spans = n;
	rs->n_scope_spans = 1;
	rs->scope_spans = talloc(sizeof *rs->scope_spans);
	rs->scope_spans[0] = ss;
	return rs;
}

static int
setup(void **state)
{
	otlp_traces_data *data;
	otlp_span **fe = NULL, **be = NULL;
	otlp_scope *scope;

	ob_arena_init(&pool, 0);
	memset(&trace, 0, sizeof trace);
	fe = talloc(2 * sizeof *fe);
	be = talloc(3 * sizeof *be);
	fe[0] = span_new(1, 0, "GET /", OTLP_KIND(SERVER), 0, 1000 * MS, 0, NULL);
	set_attrs(&fe[0]->attributes, &fe[0]->n_attributes, kv("http.status_code", v_int(200)),
		  kv("http.method", v_str("GET")), kv("cache.hit", v_bool(true)), NULL);
	fe[1] = span_new(2, 1, "auth", OTLP_KIND(INTERNAL), 10 * MS, 60 * MS, OTLP_STATUS(OK),
			 NULL);
	/* backend spans listed out of order: the index sorts them */
	be[0] = span_new(5, 3, "cache", OTLP_KIND(PRODUCER), 360 * MS, 380 * MS, 0, NULL);
	be[1] = span_new(3, 1, "query", OTLP_KIND(CLIENT), 100 * MS, 400 * MS,
			 OTLP_STATUS(ERROR), "timeout");
	set_attrs(&be[1]->attributes, &be[1]->n_attributes, kv("db.system", v_str("postgres")),
		  kv("ratio", v_double(0.5)), kv("tags", v_array2(v_str("a"), v_str("b"))), NULL);
	be[2] = span_new(4, 3, "SELECT", OTLP_KIND(CLIENT), 150 * MS, 350 * MS, 0, NULL);
	set_attrs(&be[2]->attributes, &be[2]->n_attributes, kv("http.status_code", v_int(500)),
		  NULL);
	scope = talloc(sizeof *scope);
	opentelemetry__proto__common__v1__instrumentation_scope__init(scope);
	set_attrs(&scope->attributes, &scope->n_attributes, kv("lib.version", v_str("1.0")), NULL);

	data = talloc(sizeof *data);
	opentelemetry__proto__trace__v1__traces_data__init(data);
	data->n_resource_spans = 2;
	data->resource_spans = talloc(2 * sizeof *data->resource_spans);
	data->resource_spans[0] = resource_spans("frontend", scope, fe, 2);
	data->resource_spans[1] = resource_spans("backend", NULL, be, 3);
	ob_trace_index(&trace, data);
	*state = NULL;
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

/* Names of the spans text matches on t, comma-separated in trace order. */
static const char *
match_on(const struct ob_trace *t, const char *text)
{
	static char out[4096];
	struct traceql_query *q;
	char errbuf[OB_ERRLEN];
	bool *matched = calloc(t->nspans ? t->nspans : 1, sizeof *matched);
	bool found, any = false;
	size_t i;

	errbuf[0] = 0;
	if (traceql_parse(text, &q, errbuf)) {
		print_error("parse failed for %s: %s\n", text, errbuf);
		fail();
	}
	found = traceql_eval(q, t, matched);
	out[0] = 0;
	for (i = 0; i < t->nspans; i++)
		if (matched[i]) {
			any = true;
			if (out[0])
				strcat(out, ",");
			strcat(out, t->spans[i].span->name);
		}
	assert_int_equal(found, any);
	assert_int_equal(traceql_eval(q, t, NULL), found);
	traceql_free(q);
	free(matched);
	return out;
}

static const char *
match(const char *text)
{
	return match_on(&trace, text);
}

/* How many spans text matches on t. */
static size_t
count_on(const struct ob_trace *t, const char *text)
{
	struct traceql_query *q;
	bool *matched = calloc(t->nspans, sizeof *matched);
	size_t i, n = 0;

	assert_int_equal(traceql_parse(text, &q, NULL), OB_OK);
	assert_int_equal(traceql_eval(q, t, matched), true);
	for (i = 0; i < t->nspans; i++)
		n += matched[i];
	traceql_free(q);
	free(matched);
	return n;
}

/* The message of a query that must fail with err. */
static const char *
parse_error(const char *text, enum ob_err err)
{
	static char errbuf[OB_ERRLEN];
	struct traceql_query *q = (struct traceql_query *)1;

	errbuf[0] = 0;
	assert_int_equal(traceql_parse(text, &q, errbuf), err);
	assert_null(q);
	return errbuf;
}

#define ALL "GET /,auth,query,SELECT,cache"

static void
test_match_all(void **state)
{
	struct traceql_query *q;
	struct ob_trace empty;

	(void)state;
	assert_int_equal(traceql_parse(NULL, &q, NULL), OB_OK);
	assert_true(traceql_eval(q, &trace, NULL));
	memset(&empty, 0, sizeof empty);
	assert_false(traceql_eval(q, &empty, NULL));
	traceql_free(q);
	assert_true(traceql_eval(NULL, &trace, NULL));
	assert_string_equal(match(""), ALL);
	assert_string_equal(match(" \n\t"), ALL);
	assert_string_equal(match("{}"), ALL);
	assert_string_equal(match("{ }"), ALL);
	assert_string_equal(match("{ true }"), ALL);
	assert_string_equal(match("{ false }"), "");
	assert_string_equal(match("({})"), ALL);
}

static void
test_error_messages(void **state)
{
	(void)state;
	assert_non_null(strstr(parse_error("({ .a = 1 } | count() > 2)", OB_EUNSUPPORTED),
			       "unsupported TraceQL: a pipeline '|' inside parentheses"));
	assert_string_equal(parse_error("{ .a = }", OB_EINVAL),
			    "TraceQL syntax error at column 8: expected a value, found '}'");
	assert_string_equal(parse_error("{ .a = 1", OB_EINVAL),
			    "TraceQL syntax error at column 9: expected '}' or '&&' or '||', "
			    "found the end of the query");
	assert_string_equal(parse_error("{ duration = \"x\" }", OB_EINVAL),
			    "TraceQL type error at column 12: cannot compare a duration with "
			    "a string");
	assert_string_equal(parse_error("{ name = \"x\" } >>", OB_EINVAL),
			    "TraceQL syntax error at column 18: expected '{' or '(', found the "
			    "end of the query");
	assert_string_equal(parse_error("{\n  .a = }", OB_EINVAL),
			    "TraceQL syntax error at line 2, column 8: expected a value, "
			    "found '}'");
	assert_string_equal(parse_error("count() > 2", OB_EINVAL),
			    "TraceQL: aggregate 'count()' belongs after '|', not here");
	assert_non_null(strstr(parse_error("by(.a)", OB_EINVAL), "grouping 'by()'"));
	assert_non_null(strstr(parse_error("select(.a)", OB_EINVAL), "'select()'"));
	assert_non_null(strstr(parse_error("{ } | compare({ .a = 1 })", OB_EUNSUPPORTED),
			       "'compare()'"));
	assert_non_null(strstr(parse_error("{ } | rate() | count() > 1", OB_EINVAL),
			       "topk(n) or bottomk(n)"));
	assert_non_null(strstr(parse_error("{ } | topk(3)", OB_EINVAL), "follow a metrics"));
	assert_non_null(strstr(parse_error("{ name + 1 = 2 }", OB_EINVAL),
			       "arithmetic '+' needs numbers"));
	assert_non_null(strstr(parse_error("{ } | count() > 1s", OB_EINVAL), "not a duration"));
	assert_non_null(strstr(parse_error("{ } | quantile_over_time(duration, 2)", OB_EINVAL),
			       "between 0 and 1"));
	assert_non_null(strstr(parse_error("{ parent.a = 1 }", OB_EUNSUPPORTED), "'parent.'"));
	assert_non_null(strstr(parse_error("{ status = \"error\" }", OB_EINVAL),
			       "(write status = error, unquoted)"));
	assert_non_null(strstr(parse_error("{ kind > server }", OB_EINVAL), "does not order"));
	assert_non_null(strstr(parse_error("{ foo = 1 }", OB_EINVAL), "unknown word 'foo'"));
	assert_non_null(strstr(parse_error("{ trace:nope = \"ab\" }", OB_EUNSUPPORTED),
			       "intrinsic 'trace:nope'"));
	assert_non_null(strstr(parse_error("{ .a = \"x }", OB_EINVAL), "string is not closed"));
	assert_non_null(strstr(parse_error("{ .a =~ \"[\" }", OB_EINVAL), "bad regular expr"));
	assert_non_null(strstr(parse_error("{ .a =~ \"a)|(.*\" }", OB_EINVAL), "unbalanced"));
	assert_non_null(strstr(parse_error("{ .a =~ 5 }", OB_EINVAL), "quoted regular"));
	assert_non_null(strstr(parse_error("{ .a = 15zz }", OB_EINVAL), "bad duration '15zz'"));
	assert_non_null(strstr(parse_error("{ nil = nil }", OB_EINVAL), "nil"));
	assert_non_null(strstr(parse_error("{ .a = 1 } {", OB_EINVAL),
			       "expected '&&', '||', '|', a structural operator"));
	assert_non_null(strstr(parse_error("{ name }", OB_EINVAL), "comparison operator"));
	assert_non_null(strstr(parse_error("{ .a = 99999999999999999999 }", OB_EINVAL),
			       "out of range"));
	assert_non_null(strstr(parse_error(".a = 1", OB_EINVAL), "expected '{' or '('"));
	assert_non_null(strstr(parse_error("{ .a = \"\\u0000\" }", OB_EINVAL), "hex digits"));
	assert_non_null(strstr(parse_error("{ span. = 1 }", OB_EINVAL), "attribute name"));
}

static void
test_limits(void **state)
{
	char *text = malloc(TRACEQL_MAX_LEN + 2);
	size_t i;

	(void)state;
	for (i = 0; i < 100; i++)
		text[i] = '(';
	strcpy(text + 100, "{}");
	for (i = 0; i < 100; i++)
		strcat(text, ")");
	assert_non_null(strstr(parse_error(text, OB_ETOOBIG), "nests more than"));
	memset(text, ' ', TRACEQL_MAX_LEN + 1);
	text[TRACEQL_MAX_LEN + 1] = 0;
	assert_non_null(strstr(parse_error(text, OB_ETOOBIG), "bytes"));
	text[0] = 0;
	for (i = 0; i < 3000; i++)
		strcat(text, i ? "&&{}" : "{}");
	assert_non_null(strstr(parse_error(text, OB_ETOOBIG), "too complex"));
	assert_non_null(strstr(parse_error("{ .a =~ \"(((a{1,100}){1,100}){1,100})\" }", OB_EINVAL),
			       "repeats too much"));
	assert_non_null(strstr(parse_error("{ .a =~ \"a**\" }", OB_EINVAL), "repeats too much"));
	assert_non_null(strstr(parse_error("{ .a =~ \"((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)\" }",
					   OB_EINVAL), "repeats"));
	assert_non_null(strstr(parse_error("{ .a =~ \"(a)\\\\1\" }", OB_EINVAL),
			       "back-references"));
	free(text);
}

static void
test_numbers(void **state)
{
	(void)state;
	assert_string_equal(match("{ span.http.status_code = 200 }"), "GET /");
	assert_string_equal(match("{ .http.status_code != 200 }"), "SELECT");
	assert_string_equal(match("{ .http.status_code > 200 }"), "SELECT");
	assert_string_equal(match("{ .http.status_code >= 200 }"), "GET /,SELECT");
	assert_string_equal(match("{ .http.status_code < 500 }"), "GET /");
	assert_string_equal(match("{ .http.status_code <= 500 }"), "GET /,SELECT");
	assert_string_equal(match("{ .http.status_code = 200.0 }"), "GET /");
	assert_string_equal(match("{ .http.status_code > 199.5 }"), "GET /,SELECT");
	assert_string_equal(match("{ 300 > .http.status_code }"), "GET /");
	assert_string_equal(match("{ .ratio > 0.4 }"), "query");
	assert_string_equal(match("{ .ratio = 0.5 }"), "query");
	assert_string_equal(match("{ .ratio < 1 }"), "query");
	assert_string_equal(match("{ .ratio > -1 }"), "query");
	assert_string_equal(match("{ .ratio > 5e-1 }"), "");
	assert_string_equal(match("{ 1 = 1 }"), ALL);
}

static void
test_strings_and_regex(void **state)
{
	(void)state;
	assert_string_equal(match("{ name = \"auth\" }"), "auth");
	assert_string_equal(match("{ name != \"auth\" }"), "GET /,query,SELECT,cache");
	assert_string_equal(match("{ name < \"b\" }"), "GET /,auth,SELECT");
	assert_string_equal(match("{ name >= \"cache\" }"), "query,cache");
	assert_string_equal(match("{ span.http.method = \"GET\" }"), "GET /");
	/* anchored at both ends */
	assert_string_equal(match("{ name =~ \"auth\" }"), "auth");
	assert_string_equal(match("{ name =~ \"aut\" }"), "");
	assert_string_equal(match("{ name =~ \"uth\" }"), "");
	assert_string_equal(match("{ name =~ \"ca|au\" }"), "");
	assert_string_equal(match("{ name =~ \"ca.*|au.*\" }"), "auth,cache");
	assert_string_equal(match("{ name !~ \"[a-z].*\" }"), "GET /,SELECT");
	assert_string_equal(match("{ name =~ `S.L.CT` }"), "SELECT");
	assert_string_equal(match("{ name =~ \"GET \\\\/\" }"), "GET /");
	/* RE2 spellings */
	assert_string_equal(match("{ name =~ \"(?i)AUTH\" }"), "auth");
	/* as the UI's '/' filter writes it: a substring, in any case */
	assert_string_equal(match("{ name =~ \"(?i).*sel.*\" }"), "SELECT");
	assert_string_equal(match("{ name =~ \"(?i).*Get /.*\" }"), "GET /");
	assert_string_equal(match("{ name =~ \".*sel.*\" }"), "");
	assert_string_equal(match("{ name =~ \"(?:au|ca).*\" }"), "auth,cache");
	assert_string_equal(match("{ name =~ \"a.*?\" }"), "auth");
	assert_string_equal(match("{ name =~ \"GET \\\\d*/\" }"), "GET /");
	assert_string_equal(match("{ name =~ \"G\\\\D+\" }"), "GET /");
	assert_string_equal(match("{ name =~ \"[]a]u.{1,2}\" }"), "auth");
	assert_string_equal(match("{ name =~ \"(a+)+u.*\" }"), "auth");
	/* escapes */
	assert_string_equal(match("{ name = \"GET \\x2f\" }"), "GET /");
	assert_string_equal(match("{ name = \"GET \\u002f\" }"), "GET /");
	assert_string_equal(match("{ name = \"a\\\"b\" }"), "");
	assert_string_equal(match("{ .http.status_code = \"200\" }"), "");
	assert_string_equal(match("{ .http.method = 200 }"), "");
	assert_string_equal(match("{ .http.status_code =~ \"2.*\" }"), "");
}

static void
test_missing_and_nil(void **state)
{
	(void)state;
	assert_string_equal(match("{ .nope = 1 }"), "");
	assert_string_equal(match("{ .nope != 1 }"), "");
	assert_string_equal(match("{ .nope != \"x\" }"), "");
	assert_string_equal(match("{ .nope !~ \"x\" }"), "");
	assert_string_equal(match("{ !(.nope = 1) }"), ALL);
	assert_string_equal(match("{ .nope = nil }"), ALL);
	assert_string_equal(match("{ .db.system != nil }"), "query");
	assert_string_equal(match("{ nil != .db.system }"), "query");
	assert_string_equal(match("{ name != nil }"), ALL);
}

static void
test_bools_and_arrays(void **state)
{
	(void)state;
	assert_string_equal(match("{ .cache.hit = true }"), "GET /");
	assert_string_equal(match("{ .cache.hit != false }"), "GET /");
	assert_string_equal(match("{ .cache.hit }"), "GET /");
	assert_string_equal(match("{ !.cache.hit }"), "auth,query,SELECT,cache");
	assert_string_equal(match("{ .db.system }"), "");
	assert_string_equal(match("{ .tags = \"b\" }"), "query");
	assert_string_equal(match("{ .tags != \"c\" }"), "query");
	assert_string_equal(match("{ .tags != \"a\" }"), "");
	assert_string_equal(match("{ .tags =~ \"[ab]\" }"), "query");
	assert_string_equal(match("{ .tags !~ \"[ab]\" }"), "");
	assert_string_equal(match("{ .tags = 1 }"), "");
	assert_string_equal(match("{ .tags != 1 }"), "");
}

static void
test_intrinsics(void **state)
{
	(void)state;
	assert_string_equal(match("{ status = error }"), "query");
	assert_string_equal(match("{ status = ok }"), "auth");
	assert_string_equal(match("{ status = unset }"), "GET /,SELECT,cache");
	assert_string_equal(match("{ status != unset }"), "auth,query");
	assert_string_equal(match("{ statusMessage = \"timeout\" }"), "query");
	assert_string_equal(match("{ kind = server }"), "GET /");
	assert_string_equal(match("{ kind = client }"), "query,SELECT");
	assert_string_equal(match("{ kind = producer }"), "cache");
	assert_string_equal(match("{ kind = internal }"), "auth");
	assert_string_equal(match("{ kind = consumer || kind = unspecified }"), "");
	assert_string_equal(match("{ duration > 250ms }"), "GET /,query");
	assert_string_equal(match("{ duration >= 300ms }"), "GET /,query");
	assert_string_equal(match("{ duration > 300ms }"), "GET /");
	assert_string_equal(match("{ duration = 50ms }"), "auth");
	assert_string_equal(match("{ duration < 20000000 }"), "");
	assert_string_equal(match("{ duration <= 20000000 }"), "cache");
	assert_string_equal(match("{ duration > 0.25s && duration < 1.5s }"), "GET /,query");
	assert_string_equal(match("{ duration >= 1s }"), "GET /");
	assert_string_equal(match("{ duration < 60000us }"), "auth,cache");
	assert_string_equal(match("{ duration = 20000000ns }"), "cache");
	assert_string_equal(match("{ childCount = 2 }"), "GET /,query");
	assert_string_equal(match("{ rootName = \"GET /\" }"), ALL);
	assert_string_equal(match("{ rootServiceName = \"frontend\" }"), ALL);
	assert_string_equal(match("{ rootServiceName = \"backend\" }"), "");
	assert_string_equal(match("{ traceDuration > 900ms }"), ALL);
	assert_string_equal(match("{ traceDuration < 1s }"), "");
	assert_string_equal(match("{ traceDuration = 1s }"), ALL);
	assert_string_equal(match("{ span:name = \"auth\" && span:kind = internal }"), "auth");
	assert_string_equal(match("{ trace:rootService = \"frontend\" && trace:duration = 1s }"),
			    ALL);
	assert_string_equal(match("{ resource.service.name = \"backend\" }"), "query,SELECT,cache");
	assert_string_equal(match("{ span.service.name = \"backend\" }"), "");
	assert_string_equal(match("{ .service.name = \"backend\" }"), "query,SELECT,cache");
	assert_string_equal(match("{ resource.deployment.env = \"prod\" }"), "GET /,auth");
	assert_string_equal(match("{ resource.\"deployment.env\" = \"prod\" }"), "GET /,auth");
	assert_string_equal(match("{ instrumentation.lib.version = \"1.0\" }"), "GET /,auth");
}

/* A trace whose root has not arrived has no rootName or rootServiceName. */
static void
test_no_root(void **state)
{
	struct ob_arena saved = pool;
	otlp_traces_data *data;
	otlp_span **spans;
	struct ob_trace t;

	(void)state;
	ob_arena_init(&pool, 0);
	spans = talloc(2 * sizeof *spans);
	spans[0] = span_new(2, 1, "orphan", OTLP_KIND(SERVER), 0, 10, 0, NULL);
	spans[1] = span_new(3, 2, "child", OTLP_KIND(CLIENT), 1, 5, 0, NULL);
	data = talloc(sizeof *data);
	opentelemetry__proto__trace__v1__traces_data__init(data);
	data->n_resource_spans = 1;
	data->resource_spans = talloc(sizeof *data->resource_spans);
	data->resource_spans[0] = resource_spans("svc", NULL, spans, 2);
	memset(&t, 0, sizeof t);
	ob_trace_index(&t, data);
	assert_string_equal(match_on(&t, "{ rootName = \"orphan\" }"), "");
	assert_string_equal(match_on(&t, "{ rootServiceName = \"svc\" }"), "");
	assert_string_equal(match_on(&t, "{ rootName != \"x\" }"), "");
	assert_string_equal(match_on(&t, "{ rootName = nil }"), "orphan,child");
	assert_string_equal(match_on(&t, "{ traceDuration = 10 }"), "orphan,child");
	assert_string_equal(match_on(&t, "{ name = \"orphan\" } > { }"), "child");
	ob_trace_release(&t);
	ob_arena_release(&pool);
	pool = saved;
}

static void
test_conditions(void **state)
{
	(void)state;
	assert_string_equal(match("{ name = \"auth\" || name = \"cache\" }"), "auth,cache");
	assert_string_equal(match("{ kind = client && status = error }"), "query");
	assert_string_equal(match("{ !(kind = client) }"), "GET /,auth,cache");
	assert_string_equal(match("{ !kind = client }"), "GET /,auth,cache");
	assert_string_equal(match("{ !!(kind = client) }"), "query,SELECT");
	/* Tempo's grammar: && and || share a precedence and group leftwards */
	assert_string_equal(match("{ name = \"auth\" || name = \"query\" && status = error }"),
			    "query");
	assert_string_equal(match("{ name = \"auth\" || (name = \"query\" && status = error) }"),
			    "auth,query");
	assert_string_equal(match("{ (kind = client || kind = server) && duration > 250ms }"),
			    "GET /,query");
	assert_string_equal(match("{ true && name = \"auth\" }"), "auth");
	assert_string_equal(match("{ false || name = \"auth\" }"), "auth");
}

static void
test_structural(void **state)
{
	(void)state;
	assert_string_equal(match("{ name = \"GET /\" } > { }"), "auth,query");
	assert_string_equal(match("{ name = \"GET /\" } >> { }"), "auth,query,SELECT,cache");
	assert_string_equal(match("{ name = \"GET /\" } > { kind = client }"), "query");
	assert_string_equal(match("{ name = \"GET /\" } >> { kind = client }"), "query,SELECT");
	assert_string_equal(match("{ kind = client } < { }"), "GET /,query");
	assert_string_equal(match("{ name = \"SELECT\" } << { }"), "GET /,query");
	assert_string_equal(match("{ name = \"SELECT\" } ~ { }"), "cache");
	assert_string_equal(match("{ name = \"auth\" } ~ { }"), "query");
	assert_string_equal(match("{ } ~ { name = \"GET /\" }"), "");
	assert_string_equal(match("{ name = \"auth\" } >> { }"), "");
	assert_string_equal(match("{ name = \"query\" } !> { }"), "GET /,auth,query");
	assert_string_equal(match("{ name = \"query\" } !>> { }"), "GET /,auth,query");
	assert_string_equal(match("{ name = \"SELECT\" } !<< { }"), "auth,SELECT,cache");
	assert_string_equal(match("{ name = \"SELECT\" } !< { }"), "GET /,auth,SELECT,cache");
	assert_string_equal(match("{ name = \"SELECT\" } !~ { }"), "GET /,auth,query,SELECT");
	assert_string_equal(match("{ name = \"query\" } &> { }"), "query,SELECT,cache");
	assert_string_equal(match("{ name = \"GET /\" } &>> { name = \"SELECT\" }"),
			    "GET /,SELECT");
	assert_string_equal(match("{ name = \"cache\" } &< { }"), "query,cache");
	assert_string_equal(match("{ name = \"cache\" } &<< { }"), "GET /,query,cache");
	assert_string_equal(match("{ name = \"auth\" } &~ { }"), "auth,query");
	assert_string_equal(match("{ name = \"GET /\" } > { name = \"query\" } > "
				  "{ name = \"SELECT\" }"),
			    "SELECT");
	assert_string_equal(match("{ kind = server } >> { status = error }"), "query");
	assert_string_equal(match("{ status = error } >> { kind = server }"), "");
	assert_string_equal(match("({ kind = server } > { }) > { }"), "SELECT,cache");
	assert_string_equal(match("{ kind = server } > ({ } > { })"), "auth,query");
}

static void
test_spanset_and_or(void **state)
{
	(void)state;
	assert_string_equal(match("{ name = \"auth\" } && { name = \"cache\" }"), "auth,cache");
	assert_string_equal(match("{ name = \"auth\" } && { name = \"nope\" }"), "");
	assert_string_equal(match("{ name = \"nope\" } && { name = \"auth\" }"), "");
	assert_string_equal(match("{ name = \"auth\" } || { name = \"nope\" }"), "auth");
	assert_string_equal(match("{ name = \"auth\" } || { name = \"cache\" }"), "auth,cache");
	assert_string_equal(match("({ name = \"auth\" } || { name = \"cache\" }) && "
				  "{ status = error }"),
			    "auth,query,cache");
	/* structural operators bind tighter than && and || */
	assert_string_equal(match("{ name = \"auth\" } && { name = \"GET /\" } > "
				  "{ name = \"query\" }"),
			    "auth,query");
	assert_string_equal(match("{ name = \"nope\" } || { name = \"GET /\" } > "
				  "{ kind = client }"),
			    "query");
}

static void
get_hints(const char *text, struct traceql_hints *h)
{
	struct traceql_query *q;

	assert_int_equal(traceql_parse(text, &q, NULL), OB_OK);
	traceql_hints_get(q, h);
	/* strings point into q; copy what the tests look at */
	h->service = h->service ? strdup(h->service) : NULL;
	h->span_name = h->span_name ? strdup(h->span_name) : NULL;
	h->root_service = h->root_service ? strdup(h->root_service) : NULL;
	h->root_name = h->root_name ? strdup(h->root_name) : NULL;
	traceql_free(q);
}

static void
hints_release(struct traceql_hints *h)
{
	free((char *)h->service);
	free((char *)h->span_name);
	free((char *)h->root_service);
	free((char *)h->root_name);
	memset(h, 0, sizeof *h);
}

static void
assert_str_or_null(const char *got, const char *want)
{
	if (want == NULL)
		assert_null(got);
	else {
		assert_non_null(got);
		assert_string_equal(got, want);
	}
}

static void
test_hints(void **state)
{
	static const struct {
		const char *query, *service, *span_name, *root_service, *root_name;
		uint64_t min_span, min_trace, max_trace;
		bool error;
	} cases[] = {
		{ "{ resource.service.name = \"a\" && duration > 100ms }", "a", NULL, NULL, NULL,
		  100 * MS + 1, 0, 0, false },
		{ "{ duration >= 100ms }", NULL, NULL, NULL, NULL, 100 * MS, 0, 0, false },
		{ "{ 100ms < duration }", NULL, NULL, NULL, NULL, 100 * MS + 1, 0, 0, false },
		{ "{ duration > 1.5 }", NULL, NULL, NULL, NULL, 2, 0, 0, false },
		{ "{ duration >= 1.5 }", NULL, NULL, NULL, NULL, 2, 0, 0, false },
		{ "{ duration = 5 }", NULL, NULL, NULL, NULL, 5, 0, 0, false },
		{ "{ duration < 5s }", NULL, NULL, NULL, NULL, 0, 0, 0, false },
		{ "{ duration > -5 }", NULL, NULL, NULL, NULL, 0, 0, 0, false },
		{ "{ name = \"x\" && status = error }", NULL, "x", NULL, NULL, 0, 0, 0, true },
		{ "{ name = \"x\" || name = \"y\" }", NULL, NULL, NULL, NULL, 0, 0, 0, false },
		{ "{ name = \"x\" || name = \"x\" }", NULL, "x", NULL, NULL, 0, 0, 0, false },
		{ "{ (resource.service.name = \"a\" && duration > 1s) || "
		  "(resource.service.name = \"a\" && status = error) }", "a", NULL, NULL, NULL,
		  0, 0, 0, false },
		{ "{ (duration > 1s && status = error) || (duration > 2s && status = error) }",
		  NULL, NULL, NULL, NULL, 1000 * MS + 1, 0, 0, true },
		{ "{ rootServiceName = \"fe\" && rootName = \"GET /\" && traceDuration > 1s && "
		  "traceDuration <= 5s }", NULL, NULL, "fe", "GET /", 0, 1000 * MS + 1,
		  5000 * MS, false },
		{ "{ traceDuration < 2s }", NULL, NULL, NULL, NULL, 0, 0, 2000 * MS - 1, false },
		{ "{ traceDuration = 2s }", NULL, NULL, NULL, NULL, 0, 2000 * MS, 2000 * MS,
		  false },
		{ "{ traceDuration < 1.5 }", NULL, NULL, NULL, NULL, 0, 0, 1, false },
		{ "{ traceDuration < 1 }", NULL, NULL, NULL, NULL, 0, 0, 0, false },
		{ "{ !(status = error) }", NULL, NULL, NULL, NULL, 0, 0, 0, false },
		{ "{ status != error }", NULL, NULL, NULL, NULL, 0, 0, 0, false },
		{ "{ .service.name = \"a\" }", NULL, NULL, NULL, NULL, 0, 0, 0, false },
		{ "{ resource.service.name != \"a\" }", NULL, NULL, NULL, NULL, 0, 0, 0, false },
		{ "{ resource.service.name =~ \"a\" }", NULL, NULL, NULL, NULL, 0, 0, 0, false },
		/* between spansets, the span facts of one side (with a service) */
		{ "{ resource.service.name = \"a\" } > { name = \"b\" }", "a", NULL, NULL, NULL,
		  0, 0, 0, false },
		{ "{ name = \"b\" } > { resource.service.name = \"a\" }", "a", NULL, NULL, NULL,
		  0, 0, 0, false },
		{ "{ name = \"b\" && status = error } >> { kind = client }", NULL, "b", NULL, NULL,
		  0, 0, 0, true },
		{ "{ kind = client } >> { name = \"b\" && duration > 1s }", NULL, "b", NULL, NULL,
		  1000 * MS + 1, 0, 0, false },
		{ "{ resource.service.name = \"a\" } !> { name = \"b\" }", NULL, "b", NULL, NULL,
		  0, 0, 0, false },
		{ "{ resource.service.name = \"a\" } || { resource.service.name = \"a\" && "
		  "status = error }", "a", NULL, NULL, NULL, 0, 0, 0, false },
		{ "{ resource.service.name = \"a\" } || { }", NULL, NULL, NULL, NULL, 0, 0, 0,
		  false },
		{ "{ resource.service.name = \"a\" } && { duration > 1s }", "a", NULL, NULL, NULL,
		  0, 0, 0, false },
		{ "{ resource.service.name = \"a\" && status = error } && { rootName = \"r\" && "
		  "duration > 1s }", "a", NULL, NULL, "r", 0, 0, 0, true },
		{ "{ traceDuration > 1s } && { traceDuration > 2s }", NULL, NULL, NULL, NULL, 0,
		  2000 * MS + 1, 0, false },
		{ "{ traceDuration < 1s } || { traceDuration < 2s }", NULL, NULL, NULL, NULL, 0, 0,
		  2000 * MS - 1, false },
		{ "{ traceDuration < 1s } || { }", NULL, NULL, NULL, NULL, 0, 0, 0, false },
		{ "", NULL, NULL, NULL, NULL, 0, 0, 0, false },
	};
	struct traceql_hints h;
	size_t i;

	(void)state;
	traceql_hints_get(NULL, &h);
	assert_null(h.service);
	assert_int_equal(h.min_span_duration_ns, 0);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		print_message("hints: %s\n", cases[i].query);
		get_hints(cases[i].query, &h);
		assert_str_or_null(h.service, cases[i].service);
		assert_str_or_null(h.span_name, cases[i].span_name);
		assert_str_or_null(h.root_service, cases[i].root_service);
		assert_str_or_null(h.root_name, cases[i].root_name);
		assert_int_equal(h.min_span_duration_ns, cases[i].min_span);
		assert_int_equal(h.min_trace_duration_ns, cases[i].min_trace);
		assert_int_equal(h.max_trace_duration_ns, cases[i].max_trace);
		assert_int_equal(h.needs_error, cases[i].error);
		hints_release(&h);
	}
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

/* Matching queries whose hints are tight: none may rule the trace out. */
static void
test_hints_admit_matches(void **state)
{
	static const char *const queries[] = {
		"{ resource.service.name = \"backend\" && duration > 299ms }",
		"{ duration >= 1s && name = \"GET /\" }",
		"{ duration = 1000000000 }",
		"{ duration > 999999999.5 }",
		"{ status = error && name = \"query\" }",
		"{ rootServiceName = \"frontend\" && rootName = \"GET /\" }",
		"{ traceDuration = 1s }",
		"{ traceDuration <= 1s && traceDuration >= 1s }",
		"{ traceDuration < 1.000000001s }",
		"{ resource.service.name = \"frontend\" } >> { status = error }",
		"{ name = \"auth\" } || { name = \"nope\" && duration > 1h }",
		"{ resource.service.name = \"frontend\" } && { status = error }",
		"{ status = error } > { resource.service.name = \"backend\" && duration > 100ms }",
		"{ duration > 500ms } >> { status = error && resource.service.name = \"backend\" }",
	};
	struct traceql_query *q;
	struct traceql_hints h;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof queries / sizeof queries[0]; i++) {
		print_message("admit: %s\n", queries[i]);
		assert_int_equal(traceql_parse(queries[i], &q, NULL), OB_OK);
		assert_true(traceql_eval(q, &trace, NULL));
		traceql_hints_get(q, &h);
		assert_true(hints_admit(&h, &trace));
		traceql_free(q);
	}
}

/* A 50,000-span trace: a chain half as deep, with siblings; in well under a second. */
static void
test_large_trace(void **state)
{
	enum { N = 50000 };
	struct ob_arena saved = pool;
	otlp_traces_data *data;
	otlp_span **spans;
	struct ob_trace big;
	struct timespec t0, t1;
	double secs;
	uint32_t i;

	(void)state;
	ob_arena_init(&pool, 0);
	spans = talloc(N * sizeof *spans);
	for (i = 0; i < N; i++) {
		/* even spans form a chain, each odd span hangs off the one before */
		uint32_t parent = i == 0 ? 0 : (i % 2 ? i : i - 1);

		spans[i] = span_new(i + 1, parent, i == N - 2 ? "leaf" : i % 2 ? "odd" : "even",
				    OTLP_KIND(INTERNAL), i, i + 10, 0, NULL);
	}
	data = talloc(sizeof *data);
	opentelemetry__proto__trace__v1__traces_data__init(data);
	data->n_resource_spans = 1;
	data->resource_spans = talloc(sizeof *data->resource_spans);
	data->resource_spans[0] = resource_spans("big", NULL, spans, N);
	memset(&big, 0, sizeof big);
	ob_trace_index(&big, data);
	assert_int_equal(big.nspans, N);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(count_on(&big, "{ name = \"leaf\" } << { name = \"even\" }"), N / 2 - 1);
	assert_int_equal(count_on(&big, "{ rootName = \"even\" } >> { name = \"leaf\" }"), 1);
	assert_int_equal(count_on(&big, "{ name = \"leaf\" } > { }"), 1);
	assert_int_equal(count_on(&big, "{ name = \"leaf\" } >> { }"), 1);
	assert_int_equal(count_on(&big, "{ name = \"even\" } >> { name = \"odd\" }"), N / 2);
	assert_int_equal(count_on(&big, "{ } ~ { name = \"odd\" }"), N / 2 - 1);
	assert_int_equal(count_on(&big, "{ } ~ { name = \"odd\" } && { } << { } && { } >> { } "
				  "&& { } < { } && { } !~ { } && { } &>> { }"), N);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("50,000 spans: %.3fs\n", secs);
	assert_true(secs < 2.0);
	ob_trace_release(&big);
	ob_arena_release(&pool);
	pool = saved;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_all),
		cmocka_unit_test(test_error_messages),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_strings_and_regex),
		cmocka_unit_test(test_missing_and_nil),
		cmocka_unit_test(test_bools_and_arrays),
		cmocka_unit_test(test_intrinsics),
		cmocka_unit_test(test_no_root),
		cmocka_unit_test(test_conditions),
		cmocka_unit_test(test_structural),
		cmocka_unit_test(test_spanset_and_or),
		cmocka_unit_test(test_hints),
		cmocka_unit_test(test_hints_admit_matches),
		cmocka_unit_test(test_large_trace),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
