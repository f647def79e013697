/*
 * test_tui.c - the UI's pieces that need no terminal and no store: the
 * canvas (cutting, wide characters, ASCII mode, bars), the detail pane's
 * lines for a span, attribute formatting, and the fetch thread against a
 * fake source (results arrive in order, a newer request replaces one not
 * yet started, generations come back as given).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <locale.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otlp_build.h"
#include "tui/canvas.h"
#include "tui/detail.h"
#include "tui/fetch.h"

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
	int lists, traces;
};

static enum ob_err
fake_list(void *ctx, const struct tui_list_query *q, struct tui_trace_row **rows, size_t *n,
	  char *errbuf)
{
	struct fake *f = ctx;

	(void)errbuf;
	f->lists++;
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

static const struct tui_source_ops fake_ops = { fake_list, fake_trace, fake_status };

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
	assert_false(tui_fetch_busy(f, FETCH_LIST));
	tui_fetch_free(f);
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
	};

	setlocale(LC_ALL, "C.UTF-8");   /* wcwidth needs a UTF-8 locale */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
