/*
 * test_tui.c - the UI's pieces that need no terminal and no store: the
 * canvas (cutting, wide characters, ASCII mode, bars), the detail pane's
 * lines for a span, attribute formatting, and the fetch thread against a
 * fake source (results arrive in order, a newer request replaces one not
 * yet started, generations come back as given), and the Services view
 * over a fake graph: boxes, labels and numbers, virtual nodes, errors,
 * selection by keys and by mouse, Enter on an edge and on an operation
 * (the traces list's query), the edge table and its sorting, and a graph
 * too wide for 80 columns (compact, then panned).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <locale.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otlp_build.h"
#include "tui/canvas.h"
#include "tui/detail.h"
#include "tui/fetch.h"
#include "tui/cmdline.h"
#include "tui/tui.h"

static char *
row(const struct tui_canvas *c, int y)
{
	static char buf[1024];

	tui_canvas_row(c, y, buf, sizeof buf);
	return buf;
}

static void
canvas_text_and_cuts(void **state)
{
	struct tui_canvas c;
	int n;

	(void)state;
	tui_canvas_init(&c, false);
	tui_canvas_resize(&c, 10, 2);
	n = tui_canvas_text(&c, 0, 0, -1, TS_NORMAL, "hello");
	assert_int_equal(n, 5);
	assert_string_equal(row(&c, 0), "hello     ");
	/* cut: the last cell shows the cut */
	n = tui_canvas_text(&c, 1, 2, 5, TS_NORMAL, "abcdefgh");
	assert_int_equal(n, 5);
	assert_string_equal(row(&c, 1), "  abcd\xe2\x80\xa6   ");
	/* exactly fitting text is not cut */
	tui_canvas_clear(&c);
	tui_canvas_text(&c, 0, 5, 5, TS_NORMAL, "12345");
	assert_string_equal(row(&c, 0), "     12345");
	/* nothing outside the canvas */
	assert_int_equal(tui_canvas_text(&c, 5, 0, -1, TS_NORMAL, "x"), 0);
	assert_int_equal(tui_canvas_text(&c, 0, 10, -1, TS_NORMAL, "x"), 0);
	/* control characters never reach the terminal */
	tui_canvas_clear(&c);
	tui_canvas_text(&c, 0, 0, -1, TS_NORMAL, "a\x1b[2Jb");
	assert_string_equal(row(&c, 0), "a?[2Jb    ");
	tui_canvas_release(&c);
}

static void
canvas_wide_and_ascii(void **state)
{
	struct tui_canvas c;

	(void)state;
	tui_canvas_init(&c, false);
	tui_canvas_resize(&c, 6, 1);
	/* two wide characters take four cells */
	assert_int_equal(tui_canvas_text(&c, 0, 0, -1, TS_NORMAL, "\xe6\x97\xa5\xe6\x9c\xac"), 4);
	assert_string_equal(row(&c, 0), "\xe6\x97\xa5\xe6\x9c\xac  ");
	/* cut after a wide character: its cells give way to the mark */
	tui_canvas_clear(&c);
	tui_canvas_text(&c, 0, 3, -1, TS_NORMAL, "a\xe6\x97\xa5\xe6\x9c\xac");
	assert_string_equal(row(&c, 0), "   a \xe2\x80\xa6");
	tui_canvas_clear(&c);
	tui_canvas_text(&c, 0, 2, -1, TS_NORMAL, "ab\xe6\x97\xa5\xe6\x9c\xac");
	assert_string_equal(row(&c, 0), "  ab \xe2\x80\xa6");
	tui_canvas_release(&c);

	tui_canvas_init(&c, true);
	tui_canvas_resize(&c, 8, 2);
	tui_canvas_text(&c, 0, 0, -1, TS_NORMAL, "\xc2\xb5s caf\xc3\xa9!!");
	assert_string_equal(row(&c, 0), "us caf?~");
	tui_canvas_bar(&c, 1, 2, 3, TS_SERVICE0, NULL);
	assert_string_equal(row(&c, 1), "  ###   ");
	tui_canvas_release(&c);
}

static void
canvas_bar_utf8(void **state)
{
	struct tui_canvas c;

	(void)state;
	tui_canvas_init(&c, false);
	tui_canvas_resize(&c, 6, 1);
	tui_canvas_bar(&c, 0, 1, 3, TS_ERROR, NULL);
	assert_string_equal(row(&c, 0), " \xe2\x96\x88\xe2\x96\x88\xe2\x96\x88  ");
	assert_int_equal(c.cells[1].style, TS_ERROR);
	assert_int_equal(c.cells[4].style, TS_NORMAL);
	tui_canvas_release(&c);
}

/* A trace of a root and a failing child with an event and a link. */
static void
build_trace(struct ob_arena *a, struct ob_trace *t, otlp_traces_data *data)
{
	otlp_span **spans = ob_arena_alloc(a, 2 * sizeof *spans);
	otlp_resource_spans **rs = ob_arena_alloc(a, sizeof *rs);
	otlp_event *ev = ob_arena_alloc(a, sizeof *ev);
	otlp_link *ln = ob_arena_alloc(a, sizeof *ln);
	static uint8_t link_trace[16] = { 0x11, 0x22 }, link_span[8] = { 9 };

	spans[0] = tb_span(a, 1, 0, 0, "GET /cart", 1000000000, 50000000, 0);
	spans[1] = tb_span(a, 1, 1, 0, "charge", 1010000000, 20000000, OTLP_STATUS(ERROR));
	spans[1]->status->message = "card declined";
	spans[1]->n_attributes = 1;
	spans[1]->attributes = ob_arena_alloc(a, sizeof *spans[1]->attributes);
	spans[1]->attributes[0] = tb_attr_str(a, "payment.method", "visa");
	opentelemetry__proto__trace__v1__span__event__init(ev);
	ev->name = "exception";
	ev->time_unix_nano = 1015000000;
	spans[1]->n_events = 1;
	spans[1]->events = ob_arena_alloc(a, sizeof *spans[1]->events);
	spans[1]->events[0] = ev;
	opentelemetry__proto__trace__v1__span__link__init(ln);
	ln->trace_id.data = link_trace;
	ln->trace_id.len = 16;
	ln->span_id.data = link_span;
	ln->span_id.len = 8;
	spans[1]->n_links = 1;
	spans[1]->links = ob_arena_alloc(a, sizeof *spans[1]->links);
	spans[1]->links[0] = ln;
	rs[0] = tb_resource_spans(a, "cart", spans, 2);
	opentelemetry__proto__trace__v1__traces_data__init(data);
	data->resource_spans = rs;
	data->n_resource_spans = 1;
	ob_trace_index(t, data);
}

static const struct detail_line *
find_line(const struct detail *d, const char *text)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strstr(d->lines[i].text, text))
			return &d->lines[i];
	fail_msg("no detail line with '%s'", text);
	return NULL;
}

static void
detail_of_a_failing_span(void **state)
{
	struct ob_arena a;
	struct ob_trace t;
	otlp_traces_data data;
	struct detail d = { 0 };
	const struct detail_line *l;
	int child;

	(void)state;
	setenv("TZ", "UTC", 1);
	memset(&t, 0, sizeof t);
	ob_arena_init(&a, 1 << 20);
	build_trace(&a, &t, &data);
	child = t.spans[0].span->parent_span_id.len ? 0 : 1;
	detail_build(&d, &t, child, NULL);
	assert_string_equal(d.lines[0].text, "charge");
	assert_int_equal(find_line(&d, "status error: card declined")->style, TS_ERROR);
	find_line(&d, "service cart   kind");
	find_line(&d, "duration 20.0ms   offset +10.0ms");
	find_line(&d, "payment.method = visa");
	l = find_line(&d, "+5.00ms  exception");
	assert_int_equal(l->style, TS_ERROR);
	l = find_line(&d, "trace 11220000000000000000000000000000");
	assert_true(l->is_link);
	assert_memory_equal(l->link_trace, "\x11\x22", 2);
	find_line(&d, "service.name = cart");
	find_line(&d, "Scope test-scope 1.2.3");
	/* a span captured elsewhere says where, once, and not among the resource's attributes */
	{
		otlp_resource *r = (otlp_resource *)t.spans[child].rs->resource;
		otlp_key_value **kv = ob_arena_alloc(&a, (r->n_attributes + 1) * sizeof *kv);
		size_t i, origins = 0;

		memcpy(kv, r->attributes, r->n_attributes * sizeof *kv);
		kv[r->n_attributes] = tb_attr_str(&a, "obstui.origin", "aks-node-3");
		r->attributes = kv;
		r->n_attributes++;
		detail_build(&d, &t, child, "laptop");
		assert_int_equal(find_line(&d, "origin aks-node-3 (captured there")->style, TS_KEY);
		for (i = 0; i < d.n; i++)
			origins += strstr(d.lines[i].text, "aks-node-3") != NULL;
		assert_int_equal(origins, 1);
		detail_build(&d, &t, child, "aks-node-3");
		for (i = 0; i < d.n; i++)
			assert_null(strstr(d.lines[i].text, "aks-node-3"));
	}
	/* out of range: no lines, no crash */
	detail_build(&d, &t, 7, NULL);
	assert_int_equal(d.n, 0);
	detail_release(&d);
	ob_trace_release(&t);
	ob_arena_release(&a);
}

static void
any_values_as_text(void **state)
{
	otlp_any_value v = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT, a, b;
	otlp_any_value *items[2] = { &a, &b };
	otlp_array_value arr = OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
	char out[64];

	(void)state;
	a = v;
	b = v;
	a.value_case = OTLP_VALUE(INT_VALUE);
	a.int_value = INT64_MIN;
	b.value_case = OTLP_VALUE(DOUBLE_VALUE);
	b.double_value = 0.1;
	arr.values = items;
	arr.n_values = 2;
	v.value_case = OTLP_VALUE(ARRAY_VALUE);
	v.array_value = &arr;
	detail_any_format(&v, out, sizeof out);
	assert_string_equal(out, "[-9223372036854775808, 0.1]");
	a.value_case = OTLP_VALUE(BYTES_VALUE);
	a.bytes_value.data = (uint8_t *)"\x01\xff";
	a.bytes_value.len = 2;
	detail_any_format(&a, out, sizeof out);
	assert_string_equal(out, "01ff");
	detail_any_format(&v, out, 8);     /* cut, still terminated */
	assert_int_equal(strlen(out), 7);
}

/* --- the fetch thread over a fake source --------------------------------------------- */

struct fake {
	int lists, traces, graphs, opss;
	char last_query[2048];
	uint64_t graph_since, graph_until;
	char ops_service[128];
	int shape;                  /* 0: the shop; 1: a chain of 12 services */
	bool graph_fails;
};

static enum ob_err
fake_list(void *ctx, const struct tui_list_query *q, struct tui_trace_row **rows, size_t *n,
	  char *errbuf)
{
	struct fake *f = ctx;

	(void)errbuf;
	f->lists++;
	snprintf(f->last_query, sizeof f->last_query, "%s", q->traceql);
	*rows = calloc(q->limit, sizeof **rows);
	*n = q->limit;
	snprintf((*rows)[0].root_name, sizeof (*rows)[0].root_name, "%.100s", q->traceql);
	return OB_OK;
}

static enum ob_err
fake_trace(void *ctx, const uint8_t id[16], struct ob_buf *out, char *errbuf)
{
	struct fake *f = ctx;

	f->traces++;
	if (id[0] == 0)
		return ob_errf(errbuf, OB_ENOTFOUND, "no such trace");
	return ob_buf_add(out, id, 16);
}

static void
fake_status(void *ctx, struct tui_status *out)
{
	(void)ctx;
	memset(out, 0, sizeof *out);
	out->traces = 42;
}

static void
node(struct sg_graph *g, const char *id, enum sg_node_kind kind, uint64_t req, uint64_t failed,
     double p95)
{
	struct sg_node *n = &g->nodes[g->nnodes++];

	snprintf(n->id, sizeof n->id, "%s", id);
	n->kind = kind;
	n->requests = req;
	n->failed = failed;
	n->p50_ms = p95 / 3;
	n->p95_ms = req ? p95 : NAN;
}

static void
edge(struct sg_graph *g, const char *c, const char *s, const char *type, uint64_t req,
     uint64_t failed, double p95)
{
	struct sg_edge *e = &g->edges[g->nedges++];
	size_t i;

	snprintf(e->client, sizeof e->client, "%s", c);
	snprintf(e->server, sizeof e->server, "%s", s);
	snprintf(e->connection_type, sizeof e->connection_type, "%s", type);
	e->requests = req;
	e->failed = failed;
	e->p50_ms = p95 / 3;
	e->p95_ms = p95;
	e->client_p95_ms = p95 + 1;
	for (i = 0; i < g->nnodes; i++)
		if (strcmp(g->nodes[i].id, c) == 0)
			g->nodes[i].out_requests += req;
}

/*
 * The shop, over a 60 s window: user -> frontend (600 calls, 10/s);
 * frontend -> cart, checkout; checkout -> cart, payment (failing);
 * cart -> redis (a database); payment -> bank (a peer that sent nothing).
 */
static enum ob_err
fake_graph(void *ctx, uint64_t since_ns, uint64_t until_ns, struct sg_graph *g, char *errbuf)
{
	struct fake *f = ctx;
	int i;

	f->graphs++;
	if (f->graph_fails)
		return ob_errf(errbuf, OB_EIO, "the rollups cannot be read: disk I/O error");
	f->graph_since = since_ns;
	f->graph_until = until_ns;
	memset(g, 0, sizeof *g);
	g->nodes = calloc(16, sizeof *g->nodes);
	g->edges = calloc(16, sizeof *g->edges);
	if (f->shape == 1) {
		char a[16], b[16];

		for (i = 0; i < 12; i++) {
			snprintf(a, sizeof a, "svc-%02d", i);
			node(g, a, SG_NODE_SERVICE, i ? 60 : 0, 0, 5);
		}
		for (i = 0; i + 1 < 12; i++) {
			snprintf(a, sizeof a, "svc-%02d", i);
			snprintf(b, sizeof b, "svc-%02d", i + 1);
			edge(g, a, b, SG_CONN_PLAIN, 60, 0, 5);
		}
		return OB_OK;
	}
	node(g, "bank", SG_NODE_PEER, 30, 0, 80);
	node(g, "cart", SG_NODE_SERVICE, 420, 0, 12);
	node(g, "checkout", SG_NODE_SERVICE, 120, 6, 150);
	node(g, "frontend", SG_NODE_SERVICE, 600, 6, 200);
	node(g, "payment", SG_NODE_SERVICE, 120, 30, 90);
	node(g, "redis", SG_NODE_DATABASE, 900, 0, 1.5);
	node(g, "user", SG_NODE_USER, 0, 0, 0);
	edge(g, "cart", "redis", SG_CONN_DATABASE, 900, 0, 1.5);
	edge(g, "checkout", "cart", SG_CONN_PLAIN, 120, 0, 10);
	edge(g, "checkout", "payment", SG_CONN_PLAIN, 120, 30, 90);
	edge(g, "frontend", "cart", SG_CONN_PLAIN, 300, 0, 12);
	edge(g, "frontend", "checkout", SG_CONN_PLAIN, 120, 6, 150);
	edge(g, "payment", "bank", SG_CONN_VIRTUAL, 30, 0, 80);
	edge(g, "user", "frontend", SG_CONN_VIRTUAL, 600, 6, 200);
	return OB_OK;
}

static enum ob_err
fake_service_ops(void *ctx, const char *service, uint64_t since_ns, uint64_t until_ns,
		 struct sg_op **out, size_t *n, char *errbuf)
{
	struct fake *f = ctx;
	static const struct { const char *name; int kind; uint64_t calls, errors; double p95; } rows[] = {
		{ "GET /cart", 2, 240, 0, 12 },
		{ "POST /cart/items", 2, 60, 6, 40 },
		{ "redis GET", 3, 900, 0, 1.5 },
	};
	size_t i;

	(void)since_ns, (void)until_ns, (void)errbuf;
	f->opss++;
	snprintf(f->ops_service, sizeof f->ops_service, "%s", service ? service : "");
	*out = calloc(3, sizeof **out);
	for (i = 0; i < 3; i++) {
		struct sg_op *o = &(*out)[i];

		snprintf(o->service, sizeof o->service, "%s", service ? service : "cart");
		snprintf(o->span_name, sizeof o->span_name, "%s", rows[i].name);
		o->kind = rows[i].kind;
		o->calls = rows[i].calls;
		o->errors = rows[i].errors;
		o->p50_ms = rows[i].p95 / 2;
		o->p95_ms = rows[i].p95;
		o->p99_ms = rows[i].p95 * 2;
	}
	*n = 3;
	return OB_OK;
}

/* Two metrics; a selector's series; a range query: one point a step, value = step index. */
static enum ob_err
fake_metrics(void *ctx, uint64_t since_ns, uint64_t until_ns, struct tui_metric_row **rows,
	     size_t *n, char *errbuf)
{
	(void)ctx, (void)since_ns, (void)until_ns, (void)errbuf;
	*rows = calloc(2, sizeof **rows);
	snprintf((*rows)[0].name, sizeof (*rows)[0].name, "http_requests_total");
	(*rows)[0].type = 1;
	(*rows)[0].nseries = 3;
	snprintf((*rows)[0].help, sizeof (*rows)[0].help, "Requests served.");
	snprintf((*rows)[1].name, sizeof (*rows)[1].name, "process_resident_memory_bytes");
	(*rows)[1].type = 2;
	(*rows)[1].nseries = 1;
	*n = 2;
	return OB_OK;
}

static enum ob_err
fake_series(void *ctx, const char *selector, uint64_t since_ns, uint64_t until_ns,
	    struct tui_series **out, size_t *n, char *errbuf)
{
	(void)ctx, (void)since_ns, (void)until_ns;
	if (strchr(selector, '(') != NULL)
		return ob_errf(errbuf, OB_EINVAL, "not a selector");
	*out = calloc(1, sizeof **out);
	snprintf((*out)[0].labels, sizeof (*out)[0].labels, "%s", selector);
	*n = 1;
	return OB_OK;
}

static enum ob_err
fake_query_range(void *ctx, const char *expr, int64_t start_ms, int64_t end_ms, int64_t step_ms,
		 struct tui_series **out, size_t *n, char *errbuf)
{
	size_t i, k = (size_t)((end_ms - start_ms) / step_ms) + 1;

	(void)ctx;
	if (strstr(expr, "bad"))
		return ob_errf(errbuf, OB_EINVAL, "1:1: parse error: bad");
	*out = calloc(1, sizeof **out);
	snprintf((*out)[0].labels, sizeof (*out)[0].labels, "%s", expr);
	(*out)[0].t_ms = calloc(k, sizeof *(*out)[0].t_ms);
	(*out)[0].v = calloc(k, sizeof *(*out)[0].v);
	for (i = 0; i < k; i++) {
		(*out)[0].t_ms[i] = start_ms + (int64_t)i * step_ms;
		(*out)[0].v[i] = (double)i;
	}
	(*out)[0].n = k;
	*n = 1;
	return OB_OK;
}

static const struct tui_source_ops fake_ops = { fake_list, fake_trace, fake_status, fake_graph,
						fake_service_ops, fake_metrics, fake_series,
						fake_query_range, NULL };

static struct tui_fetch_result *
wait_result(struct tui_fetch *f)
{
	struct pollfd p = { .fd = tui_fetch_fd(f), .events = POLLIN };
	struct tui_fetch_result *r;
	int i;

	for (i = 0; i < 100; i++) {
		if ((r = tui_fetch_take(f)))
			return r;
		poll(&p, 1, 50);
	}
	fail_msg("no fetch result within 5 s");
	return NULL;
}

static void
fetch_thread(void **state)
{
	struct fake fake = { 0 };
	struct tui_source src = { &fake_ops, &fake };
	struct tui_fetch *f = tui_fetch_new(&src);
	struct tui_list_query q = { .limit = 3 };
	struct tui_fetch_result *r;
	uint8_t id[16] = { 7 }, missing[16] = { 0 };

	(void)state;
	snprintf(q.traceql, sizeof q.traceql, "{ status = error }");
	tui_fetch_list(f, &q, 5);
	r = wait_result(f);
	assert_int_equal(r->kind, FETCH_LIST);
	assert_int_equal(r->generation, 5);
	assert_int_equal(r->nrows, 3);
	assert_string_equal(r->rows[0].root_name, "{ status = error }");
	tui_fetch_result_free(r);

	tui_fetch_trace(f, id, 9);
	r = wait_result(f);
	assert_int_equal(r->kind, FETCH_TRACE);
	assert_int_equal(r->err, OB_OK);
	assert_int_equal(r->trace.len, 16);
	assert_int_equal(r->generation, 9);
	tui_fetch_result_free(r);

	tui_fetch_trace(f, missing, 10);
	r = wait_result(f);
	assert_int_equal(r->err, OB_ENOTFOUND);
	assert_string_equal(r->errbuf, "no such trace");
	tui_fetch_result_free(r);

	tui_fetch_status(f);
	r = wait_result(f);
	assert_int_equal(r->kind, FETCH_STATUS);
	assert_int_equal(r->status.traces, 42);
	tui_fetch_result_free(r);

	{
		struct tui_metric_query mq = { .start_ms = 60000, .end_ms = 120000, .step_ms = 15000 };

		tui_fetch_metric(f, FETCH_METRICS, &mq, 11);
		r = wait_result(f);
		assert_int_equal(r->kind, FETCH_METRICS);
		assert_int_equal(r->nmetrics, 2);
		assert_string_equal(r->metrics[1].name, "process_resident_memory_bytes");
		tui_fetch_result_free(r);
		snprintf(mq.expr, sizeof mq.expr, "rate(x[1m])");
		tui_fetch_metric(f, FETCH_QUERY, &mq, 12);
		r = wait_result(f);
		assert_int_equal(r->kind, FETCH_QUERY);
		assert_int_equal(r->generation, 12);
		assert_int_equal(r->nseries, 1);
		assert_int_equal(r->series[0].n, 5);
		assert_true(r->series[0].t_ms[4] == 120000 && r->series[0].v[4] == 4);
		assert_string_equal(r->series[0].labels, "rate(x[1m])");
		tui_fetch_result_free(r);
		tui_fetch_metric(f, FETCH_SERIES, &mq, 13);
		r = wait_result(f);
		assert_int_equal(r->err, OB_EINVAL);
		tui_fetch_result_free(r);
	}
	assert_false(tui_fetch_busy(f, FETCH_LIST));

	{
		struct tui_graph_query gq = { .since_ns = 5, .until_ns = 9 };

		tui_fetch_graph(f, &gq, 11);
		r = wait_result(f);
		assert_int_equal(r->kind, FETCH_GRAPH);
		assert_int_equal(r->generation, 11);
		assert_int_equal(r->graph.nnodes, 7);
		assert_int_equal(fake.graph_since, 5);
		assert_int_equal(fake.graph_until, 9);
		tui_fetch_result_free(r);
		snprintf(gq.service, sizeof gq.service, "cart");
		tui_fetch_ops(f, &gq, 12);
		r = wait_result(f);
		assert_int_equal(r->kind, FETCH_OPS);
		assert_int_equal(r->nops, 3);
		assert_string_equal(fake.ops_service, "cart");
		tui_fetch_result_free(r);
	}
	tui_fetch_free(f);

	/* a source without a graph says so */
	{
		static const struct tui_source_ops old = { fake_list, fake_trace, fake_status, NULL, NULL,
							   NULL, NULL, NULL, NULL };
		struct tui_source src2 = { &old, &fake };
		struct tui_graph_query gq = { 0 };

		f = tui_fetch_new(&src2);
		tui_fetch_graph(f, &gq, 1);
		r = wait_result(f);
		assert_int_equal(r->err, OB_EUNSUPPORTED);
		tui_fetch_result_free(r);
		/* nor metrics */
		tui_fetch_metric(f, FETCH_QUERY, &(struct tui_metric_query){ .step_ms = 1 }, 2);
		r = wait_result(f);
		assert_int_equal(r->err, OB_EUNSUPPORTED);
		assert_string_equal(r->errbuf, "this source has no metrics");
		tui_fetch_result_free(r);
		tui_fetch_free(f);
	}
}

/* --- the Services view over the fake source -------------------------------------------- */

struct ui {
	struct tui t;
	struct fake fake;
	struct tui_source src;
};

/* Hand results to the views until the fetch thread is idle. */
static void
pump(struct tui *t)
{
	struct pollfd p = { .fd = tui_fetch_fd(t->fetch), .events = POLLIN };
	int i, k;

	for (i = 0; i < 300; i++) {
		struct tui_fetch_result *r;
		bool busy = false;

		for (k = 0; k < FETCH__COUNT; k++)
			busy |= k != FETCH_STATUS && tui_fetch_busy(t->fetch, (enum tui_fetch_kind)k);
		while ((r = tui_fetch_take(t->fetch))) {
			struct tui_view *v;

			for (v = t->view; v; v = v->below)
				if (v->ops->result)
					v->ops->result(t, v, r);
			tui_fetch_result_free(r);
		}
		if (!busy)
			return;
		poll(&p, 1, 10);
	}
	fail_msg("the fetch thread stayed busy for 3 s");
}

static void
ui_start(struct ui *u, int w, int h, int shape, bool ascii)
{
	memset(u, 0, sizeof *u);
	u->fake.shape = shape;
	u->src = (struct tui_source){ &fake_ops, &u->fake };
	u->t.fetch = tui_fetch_new(&u->src);
	tui_canvas_init(&u->t.canvas, ascii);
	tui_canvas_resize(&u->t.canvas, w, h);
	/* a fixed window of 60 s, so rates are calls / 60 */
	u->t.since_ns = 1000000000000ull;
	u->t.until_ns = 1060000000000ull;
	u->t.range = true;
	tui_push(&u->t, view_traces_new(&u->t));
	tui_push(&u->t, view_services_new(&u->t));
	pump(&u->t);
}

static void
ui_stop(struct ui *u)
{
	tui_fetch_free(u->t.fetch);
	while (u->t.view) {
		struct tui_view *v = u->t.view;

		u->t.view = v->below;
		v->ops->free(v);
	}
	tui_canvas_release(&u->t.canvas);
}

static const char *
screen_row(const struct tui_canvas *c, int y)
{
	static char buf[2048];

	tui_canvas_row(c, y, buf, sizeof buf);
	return buf;
}

static void
redraw(struct ui *u)
{
	struct tui_canvas *c = &u->t.canvas;

	tui_canvas_clear(c);
	u->t.view->ops->draw(&u->t, u->t.view, c, 1, c->h - 2);
	if (getenv("TEST_TUI_DUMP")) {
		int y;

		for (y = 0; y < c->h; y++)
			fprintf(stderr, "%2d|%s|\n", y, screen_row(c, y));
	}
}

/* A key as tui.c hands it over: the view's own handler, its table, Tab. */
static void
press(struct ui *u, int key)
{
	struct tui_view *v = u->t.view;

	if (v->ops->key && v->ops->key(&u->t, v, key))
		return;
	if (tui_view_key(&u->t, v, key))
		return;
	if (key == TK_TAB)
		tui_next_view(&u->t);
}

/* The first screen row holding text (and its column in cells), or -1. */
static int
find_on_screen(const struct tui_canvas *c, const char *text, int *x)
{
	char buf[2048];
	int y;

	for (y = 0; y < c->h; y++) {
		const char *at;

		tui_canvas_row(c, y, buf, sizeof buf);
		if ((at = strstr(buf, text))) {
			const char *p;

			*x = 0;
			for (p = buf; p < at; p++)
				*x += (*p & 0xc0) != 0x80;
			return y;
		}
	}
	return -1;
}

static int
col_of(const struct tui_canvas *c, const char *text)
{
	int x = -1;

	if (find_on_screen(c, text, &x) < 0)
		fail_msg("'%s' is not on the screen", text);
	return x;
}

#define INFO_ROW(u) ((u)->t.canvas.h - 2)

/* Is text drawn in the graph (not on the last row, which names the selection)? */
static bool
in_graph(const struct tui_canvas *c, const char *text)
{
	int y;

	for (y = 1; y < c->h - 2; y++)
		if (strstr(screen_row(c, y), text))
			return true;
	return false;
}

static void
services_view_draws_the_shop(void **state)
{
	struct ui u;
	struct tui_canvas *c = &u.t.canvas;
	int x, y, x2, y2;

	(void)state;
	ui_start(&u, 120, 32, 0, false);
	assert_true(u.fake.graphs >= 1);
	assert_int_equal(u.fake.graph_since, 1000000000000ull);
	assert_int_equal(u.fake.graph_until, 1060000000000ull);
	redraw(&u);
	/* callers left of callees */
	assert_true(col_of(c, "user") < col_of(c, "frontend"));
	assert_true(col_of(c, "frontend") < col_of(c, "checkout"));
	assert_true(col_of(c, "checkout") < col_of(c, "payment"));
	assert_true(col_of(c, "cart") < col_of(c, "redis"));
	assert_true(col_of(c, "payment") < col_of(c, "bank"));
	/* frontend: 600 calls in 60 s, 6 failed, p95 200 ms, in its box */
	y = find_on_screen(c, "frontend ", &x);
	assert_true(y > 0);
	assert_string_equal(strstr(screen_row(c, y + 1), "10.0/s 1.0%") ? "ok" : screen_row(c, y + 1), "ok");
	assert_int_equal(col_of(c, "10.0/s 1.0%"), x);
	assert_int_equal(find_on_screen(c, "p95 200ms", &x2), y + 2);
	/* a service box is square with its name on top, a database's rounded and tagged below */
	assert_int_equal(c->cells[(size_t)y * (size_t)c->w + (size_t)(x - 2)].ch, 0x250c);
	y2 = find_on_screen(c, "redis", &x2);
	assert_int_equal(c->cells[(size_t)y2 * (size_t)c->w + (size_t)(x2 - 2)].ch, 0x256d);
	assert_int_equal(find_on_screen(c, " db ", &x), y2 + 3);
	assert_true(find_on_screen(c, " peer ", &x) >= 0);
	assert_true(find_on_screen(c, " user ", &x) >= 0);
	assert_true(find_on_screen(c, " peer ", &x) >= 0);
	assert_true(find_on_screen(c, "out 10.0/s", &x) >= 0);    /* what user sends */
	/* an arrow into every callee; the failing edge's label in the error style */
	assert_true(find_on_screen(c, "\xe2\x96\xb6", &x) >= 0);
	y = find_on_screen(c, "0.50/s", &x);            /* payment -> bank: 30 in 60 s */
	assert_true(y > 0);
	{
		int errors = 0, normal = 0, yy, xx;

		/*
		 * 2.00/s: frontend -> checkout (6 of 120 failed), checkout -> payment
		 * (30 of 120 failed) and checkout -> cart
		 */
		for (yy = 1; yy < c->h - 1; yy++)
			for (xx = 0; xx + 6 <= c->w; xx++) {
				char cell[8] = { 0 };
				int k;

				for (k = 0; k < 6; k++)
					cell[k] = (char)c->cells[(size_t)yy * (size_t)c->w + (size_t)(xx + k)].ch;
				/* a label sits on its line; the boxes say 2.00/s too */
				if (strcmp(cell, "2.00/s") == 0 && xx > 0 &&
				    c->cells[(size_t)yy * (size_t)c->w + (size_t)(xx - 1)].ch == 0x2500) {
					int st = c->cells[(size_t)yy * (size_t)c->w + (size_t)xx].style;

					errors += st == TS_ERROR;
					normal += st == TS_NORMAL;
				}
			}
		assert_int_equal(errors, 2);
		assert_int_equal(normal, 1);
	}
	/* the first node is selected; the last row says what it is */
	assert_non_null(strstr(screen_row(c, INFO_ROW(&u)), " user  user  out 10.0/s   e: edges"));
	/* :range keeps the view open and asks again: 600 calls in 30 s */
	cmdline_run(&u.t, "range 1000 1030");
	assert_string_equal(u.t.view->ops->name, "Services");
	pump(&u.t);
	assert_int_equal(u.fake.graph_since, 1000000000000ull);
	assert_int_equal(u.fake.graph_until, 1030000000000ull);
	redraw(&u);
	assert_true(find_on_screen(c, "20.0/s 1.0%", &x) > 0);
	/* a refresh that fails: the last graph stays, the last row says why */
	u.fake.graph_fails = true;
	press(&u, 'r');
	pump(&u.t);
	redraw(&u);
	assert_true(find_on_screen(c, "20.0/s 1.0%", &x) > 0);
	assert_non_null(strstr(screen_row(c, INFO_ROW(&u)), " the rollups cannot be read: disk I/O error"));
	assert_int_equal(c->cells[(size_t)INFO_ROW(&u) * (size_t)c->w + 1].style, TS_ERROR);
	ui_stop(&u);
}

static void
services_view_keys_and_enter(void **state)
{
	struct ui u;
	struct tui_canvas *c = &u.t.canvas;
	char title[4096];
	const char *want = "{ resource.service.name = \"frontend\" && (kind = client || kind = producer) }"
			   " > { resource.service.name = \"cart\" && (kind = server || kind = consumer) }";

	(void)state;
	ui_start(&u, 120, 32, 0, false);
	redraw(&u);
	press(&u, 'l');
	redraw(&u);
	assert_non_null(strstr(screen_row(c, INFO_ROW(&u)),
			       " frontend  service  in 10.0/s  1.0% errors  p50 66.7ms  p95 200ms  out 7.00/s"));
	press(&u, 'l');
	press(&u, 'j');
	press(&u, 'k');
	press(&u, 'h');
	redraw(&u);
	assert_non_null(strstr(screen_row(c, INFO_ROW(&u)), " frontend  service"));
	/* e: frontend's first edge (graph order); its numbers on the last row */
	press(&u, 'e');
	redraw(&u);
	assert_non_null(strstr(screen_row(c, INFO_ROW(&u)), " frontend \xe2\x86\x92 cart  5.00/s  0% errors"));
	press(&u, 'e');
	redraw(&u);
	assert_non_null(strstr(screen_row(c, INFO_ROW(&u)), " frontend \xe2\x86\x92 checkout  2.00/s  5.0% errors"));
	press(&u, 'E');
	redraw(&u);
	assert_non_null(strstr(screen_row(c, INFO_ROW(&u)), " frontend \xe2\x86\x92 cart "));
	/* l on an edge: its server */
	press(&u, 'l');
	redraw(&u);
	assert_non_null(strstr(screen_row(c, INFO_ROW(&u)), " cart  service  in 7.00/s"));
	press(&u, 'h');         /* cart -> checkout (cart is a layer right of it) */
	press(&u, 'h');         /* -> frontend */
	press(&u, 'e');
	/* Enter on the edge: the traces list, filtered to its spans, failing and slowest first */
	press(&u, TK_ENTER);
	assert_string_equal(u.t.view->ops->name, "Traces");
	assert_null(u.t.view->below);
	pump(&u.t);
	assert_string_equal(u.fake.last_query, want);
	u.t.view->ops->title(&u.t, u.t.view, title, sizeof title);
	assert_non_null(strstr(title, want));
	assert_non_null(strstr(title, "sorted by failing, slowest"));
	/* Tab: traces -> services -> metrics -> remotes -> traces */
	press(&u, TK_TAB);
	assert_string_equal(u.t.view->ops->name, "Services");
	press(&u, TK_TAB);
	assert_string_equal(u.t.view->ops->name, "Metrics");
	press(&u, TK_TAB);
	assert_string_equal(u.t.view->ops->name, "Remotes");
	press(&u, TK_TAB);
	assert_string_equal(u.t.view->ops->name, "Traces");
	ui_stop(&u);
}

static void
services_view_mouse_and_operations(void **state)
{
	struct ui u;
	struct tui_canvas *c = &u.t.canvas;
	int x, y;

	(void)state;
	ui_start(&u, 120, 32, 0, false);
	redraw(&u);
	/* a click on checkout's box selects it (mouse rows count from the view's top) */
	y = find_on_screen(c, "checkout", &x);
	u.t.view->ops->mouse(&u.t, u.t.view, MOUSE_CLICK, y - 1, x + 2);
	redraw(&u);
	assert_non_null(strstr(screen_row(c, INFO_ROW(&u)), " checkout  service  in 2.00/s  5.0% errors"));
	/* a click on an edge's label selects the edge */
	y = find_on_screen(c, "\xe2\x94\x80" "0.50/s", &x);     /* on its line, not in bank's box */
	u.t.view->ops->mouse(&u.t, u.t.view, MOUSE_CLICK, y - 1, x + 2);
	redraw(&u);
	assert_non_null(strstr(screen_row(c, INFO_ROW(&u)), " payment \xe2\x86\x92 bank  0.50/s  virtual_node"));
	/* a click on nothing changes nothing */
	u.t.view->ops->mouse(&u.t, u.t.view, MOUSE_CLICK, c->h - 4, c->w - 3);
	redraw(&u);
	assert_non_null(strstr(screen_row(c, INFO_ROW(&u)), " payment \xe2\x86\x92 bank"));
	/* a double click on cart: its operations, busiest first */
	y = find_on_screen(c, "cart ", &x);
	u.t.view->ops->mouse(&u.t, u.t.view, MOUSE_DOUBLE, y - 1, x);
	assert_string_equal(u.t.view->ops->name, "Operations");
	pump(&u.t);
	assert_string_equal(u.fake.ops_service, "cart");
	redraw(&u);
	assert_non_null(strstr(screen_row(c, 1), "OPERATION"));
	assert_non_null(strstr(screen_row(c, 2), "redis GET"));
	assert_non_null(strstr(screen_row(c, 2), "15.0/s"));
	assert_non_null(strstr(screen_row(c, 3), "GET /cart"));
	assert_non_null(strstr(screen_row(c, 4), "POST /cart/items"));
	assert_non_null(strstr(screen_row(c, 4), "10%"));
	assert_int_equal(c->cells[2 * c->w].style, TS_SELECTED);
	/* sorted by errors: the failing operation first */
	press(&u, 's');
	press(&u, 's');
	redraw(&u);
	assert_non_null(strstr(screen_row(c, 2), "POST /cart/items"));
	press(&u, 'S');
	press(&u, 'S');
	/* the cursor stayed on redis GET, now last; one up is GET /cart */
	redraw(&u);
	assert_int_equal(c->cells[4 * c->w].style, TS_SELECTED);
	press(&u, 'k');
	press(&u, TK_ENTER);
	pump(&u.t);
	assert_string_equal(u.t.view->ops->name, "Traces");
	assert_string_equal(u.fake.last_query, "{ resource.service.name = \"cart\" && "
						"name = \"GET /cart\" && kind = server }");
	ui_stop(&u);
}

static void
services_view_table(void **state)
{
	struct ui u;
	struct tui_canvas *c = &u.t.canvas;

	(void)state;
	ui_start(&u, 120, 32, 0, false);
	press(&u, 't');
	redraw(&u);
	assert_non_null(strstr(screen_row(c, 1), "CLIENT"));
	assert_non_null(strstr(screen_row(c, 1), "CLIENT P95"));
	/* by rate, high first: cart -> redis (900 in 60 s) */
	assert_non_null(strstr(screen_row(c, 2), "cart"));
	assert_non_null(strstr(screen_row(c, 2), "redis"));
	assert_non_null(strstr(screen_row(c, 2), "database"));
	assert_non_null(strstr(screen_row(c, 2), "15.0/s"));
	assert_non_null(strstr(screen_row(c, 3), "user"));
	/* s: by errors, high first */
	press(&u, 's');
	redraw(&u);
	assert_non_null(strstr(screen_row(c, 2), "checkout"));
	assert_non_null(strstr(screen_row(c, 2), "payment"));
	assert_non_null(strstr(screen_row(c, 2), "25%"));
	/* a click on the CLIENT header: by client, A to Z */
	u.t.view->ops->mouse(&u.t, u.t.view, MOUSE_CLICK, 0, 1);
	redraw(&u);
	assert_int_equal(strncmp(screen_row(c, 2), "cart ", 5), 0);
	assert_int_equal(strncmp(screen_row(c, 8), "user ", 5), 0);
	/* Enter on the database edge: its client spans naming the database */
	press(&u, 'g');
	press(&u, TK_ENTER);
	pump(&u.t);
	assert_non_null(strstr(u.fake.last_query, "{ resource.service.name = \"cart\" && kind = client && "));
	assert_non_null(strstr(u.fake.last_query, "span.db.name = \"redis\""));
	ui_stop(&u);
}

static void
services_view_too_wide(void **state)
{
	struct ui u;
	struct tui_canvas *c = &u.t.canvas;
	int x, i;

	(void)state;
	ui_start(&u, 80, 24, 1, false);
	redraw(&u);
	/* twelve services in a chain: compact boxes, and still panned */
	assert_true(in_graph(c, "svc-00"));
	assert_false(in_graph(c, "svc-11"));
	assert_false(in_graph(c, "1.00/s"));     /* compact: names only */
	assert_non_null(strstr(screen_row(c, INFO_ROW(&u)), "H J K L pan"));
	for (i = 0; i < 6; i++)
		press(&u, 'L');
	redraw(&u);
	assert_true(in_graph(c, "svc-11"));
	assert_false(in_graph(c, "svc-00"));
	/* following the selection pans too */
	for (i = 0; i < 6; i++)
		press(&u, 'H');
	redraw(&u);
	assert_true(in_graph(c, "svc-00"));
	for (i = 0; i < 11; i++)
		press(&u, 'l');
	redraw(&u);
	assert_true(in_graph(c, "svc-11"));
	assert_non_null(strstr(screen_row(c, INFO_ROW(&u)), " svc-11  service  in 1.00/s"));
	ui_stop(&u);

	/* ASCII: boxes of + - |, arrows of > */
	ui_start(&u, 80, 24, 1, true);
	redraw(&u);
	assert_true(find_on_screen(c, "| svc-00 |", &x) >= 0);
	assert_true(find_on_screen(c, "+--------+", &x) >= 0);
	assert_true(find_on_screen(c, "->", &x) >= 0);
	ui_stop(&u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(canvas_text_and_cuts),
		cmocka_unit_test(canvas_wide_and_ascii),
		cmocka_unit_test(canvas_bar_utf8),
		cmocka_unit_test(detail_of_a_failing_span),
		cmocka_unit_test(any_values_as_text),
		cmocka_unit_test(fetch_thread),
		cmocka_unit_test(services_view_draws_the_shop),
		cmocka_unit_test(services_view_keys_and_enter),
		cmocka_unit_test(services_view_mouse_and_operations),
		cmocka_unit_test(services_view_table),
		cmocka_unit_test(services_view_too_wide),
	};

	setlocale(LC_ALL, "C.UTF-8");   /* wcwidth needs a UTF-8 locale */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
