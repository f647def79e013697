/*
 * test_tui_metrics.c - the Metrics views over a fake source, without a
 * terminal: the browser's rows and its filter, the series list, the
 * expressions the chart view asks for (a gauge as it is, a counter as
 * rate() over max(4 steps, 1m), a histogram's quantiles, H's buckets, a
 * label filter), :promql and its errors, the RED view's three queries,
 * asked one after another, and a native histogram (known by its metadata,
 * or by buckets coming back for a plain name) as quantiles of its summed
 * rate with H's heatmap of its buckets.
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
#include <time.h>

#include "tui/canvas.h"
#include "tui/fetch.h"
#include "tui/tui.h"
#include "tui/view_metrics.h"

struct fake {
	char exprs[8][4096];    /* the range queries asked, oldest first (the last 8) */
	int nexprs;
	char selector[512];
	int64_t step_ms;
};

static struct fake fake;

static enum ob_err
fake_list(void *ctx, const struct tui_list_query *q, struct tui_trace_row **rows, size_t *n,
	  char *errbuf)
{
	(void)ctx, (void)q, (void)errbuf;
	*rows = NULL;
	*n = 0;
	return OB_OK;
}

static enum ob_err
fake_trace(void *ctx, const uint8_t id[16], struct ob_buf *out, char *errbuf)
{
	(void)ctx, (void)id, (void)out;
	return ob_errf(errbuf, OB_ENOTFOUND, "no such trace");
}

static void
fake_status(void *ctx, struct tui_status *out)
{
	(void)ctx;
	memset(out, 0, sizeof *out);
}

static enum ob_err
fake_metrics(void *ctx, uint64_t since_ns, uint64_t until_ns, struct tui_metric_row **rows,
	     size_t *n, char *errbuf)
{
	static const struct { const char *name; uint8_t type; const char *unit; uint32_t ns; } m[] = {
		{ "http_duration_seconds_bucket", 3, "seconds", 12 },
		{ "http_requests_total", 1, "", 3 },
		{ "process_resident_memory_bytes", 2, "bytes", 1 },
	};
	size_t i;

	(void)ctx, (void)since_ns, (void)until_ns, (void)errbuf;
	*rows = calloc(3, sizeof **rows);
	for (i = 0; i < 3; i++) {
		snprintf((*rows)[i].name, sizeof (*rows)[i].name, "%s", m[i].name);
		(*rows)[i].type = m[i].type;
		snprintf((*rows)[i].unit, sizeof (*rows)[i].unit, "%s", m[i].unit);
		(*rows)[i].nseries = m[i].ns;
	}
	*n = 3;
	return OB_OK;
}

static enum ob_err
fake_series(void *ctx, const char *selector, uint64_t since_ns, uint64_t until_ns,
	    struct tui_series **out, size_t *n, char *errbuf)
{
	int name = (int)strcspn(selector, "{");

	(void)ctx, (void)since_ns, (void)until_ns, (void)errbuf;
	snprintf(fake.selector, sizeof fake.selector, "%s", selector);
	*out = calloc(2, sizeof **out);
	snprintf((*out)[0].labels, sizeof (*out)[0].labels, "%.*s{code=\"200\"}", name, selector);
	snprintf((*out)[1].labels, sizeof (*out)[1].labels, "%.*s{code=\"500\"}", name, selector);
	*n = 2;
	return OB_OK;
}

/*
 * A native histogram as the source gives it: cumulative le="..." series
 * (the plain name, or the sum of rates H adds), and the three quantiles.
 */
static enum ob_err
fake_native(const char *expr, int64_t start_ms, int64_t step_ms, size_t k,
	    struct tui_series **out, size_t *n)
{
	static const struct { const char *labels; double v; } all[] = {
		{ "{q=\"p99\"}", 0.9 }, { "{q=\"p90\"}", 0.5 }, { "{q=\"p50\"}", 0.05 },
		{ "{le=\"0.1\"}", 1 }, { "{le=\"1\"}", 3 }, { "{le=\"+Inf\"}", 4 },
	};
	bool buckets = strcmp(expr, "rpc_latency") == 0 || strncmp(expr, "sum(rate(", 9) == 0;
	bool quantiles = strstr(expr, "histogram_quantile") != NULL;
	size_t i, j;

	*out = calloc(6, sizeof **out);
	*n = 0;
	for (i = 0; i < 6; i++) {
		struct tui_series *s;

		if (i < 3 ? !quantiles : !buckets)
			continue;
		s = &(*out)[(*n)++];
		snprintf(s->labels, sizeof s->labels, "%s", all[i].labels);
		s->t_ms = calloc(k, sizeof *s->t_ms);
		s->v = calloc(k, sizeof *s->v);
		for (j = 0; j < k; j++) {
			s->t_ms[j] = start_ms + (int64_t)j * step_ms;
			s->v[j] = all[i].v;
		}
		s->n = k;
	}
	return OB_OK;
}

static enum ob_err
fake_query_range(void *ctx, const char *expr, int64_t start_ms, int64_t end_ms, int64_t step_ms,
		 struct tui_series **out, size_t *n, char *errbuf)
{
	size_t i, k = (size_t)((end_ms - start_ms) / step_ms) + 1;

	(void)ctx;
	memmove(fake.exprs[0], fake.exprs[1], sizeof fake.exprs - sizeof fake.exprs[0]);
	snprintf(fake.exprs[7], sizeof fake.exprs[7], "%s", expr);
	fake.nexprs++;
	fake.step_ms = step_ms;
	if (strstr(expr, "(((("))
		return ob_errf(errbuf, OB_EINVAL, "1:5: parse error: unexpected (");
	if (strstr(expr, "rpc_latency"))
		return fake_native(expr, start_ms, step_ms, k, out, n);
	*out = calloc(1, sizeof **out);
	snprintf((*out)[0].labels, sizeof (*out)[0].labels, "{}");
	(*out)[0].t_ms = calloc(k, sizeof *(*out)[0].t_ms);
	(*out)[0].v = calloc(k, sizeof *(*out)[0].v);
	for (i = 0; i < k; i++) {
		(*out)[0].t_ms[i] = start_ms + (int64_t)i * step_ms;
		(*out)[0].v[i] = 2;
	}
	(*out)[0].n = k;
	*n = 1;
	return OB_OK;
}

static const struct tui_source_ops fake_ops = { fake_list, fake_trace, fake_status, NULL, NULL,
						fake_metrics, fake_series, fake_query_range,
						NULL };

static const char *
last_expr(void)
{
	return fake.exprs[7];
}

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

			busy = true;    /* a result may ask for more (the RED view's next panel) */

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

struct ui {
	struct tui t;
	struct tui_source src;
};

static void
start(struct ui *u)
{
	memset(u, 0, sizeof *u);
	memset(&fake, 0, sizeof fake);
	u->src = (struct tui_source){ &fake_ops, NULL };
	u->t.fetch = tui_fetch_new(&u->src);
	tui_canvas_init(&u->t.canvas, false);
	tui_canvas_resize(&u->t.canvas, 100, 30);
	/* a fixed 10-minute window: the step is 5 s (about 2 per plot column) */
	u->t.since_ns = 1700000000000000000ull;
	u->t.until_ns = 1700000600000000000ull;
	u->t.range = true;
	tui_push(&u->t, view_traces_new(&u->t));
	pump(&u->t);
}

static void
stop(struct ui *u)
{
	tui_fetch_free(u->t.fetch);
	while (u->t.view) {
		struct tui_view *v = u->t.view;

		u->t.view = v->below;
		v->ops->free(v);
	}
	tui_canvas_release(&u->t.canvas);
}

static void
press(struct ui *u, int key)
{
	struct tui_view *v = u->t.view;

	if (v->ops->key && v->ops->key(&u->t, v, key))
		return;
	tui_view_key(&u->t, v, key);
}

static void
type(struct ui *u, const char *s)
{
	for (; *s; s++)
		press(u, (unsigned char)*s);
}

/* Draw the top view; the screen as one string, rows joined by '\n'. */
static const char *
screen(struct ui *u)
{
	static char out[100 * 30 * 4 + 64];
	struct tui_canvas *c = &u->t.canvas;
	size_t o = 0;
	int y;

	tui_canvas_clear(c);
	u->t.view->ops->draw(&u->t, u->t.view, c, 1, c->h - 2);
	for (y = 0; y < c->h; y++) {
		tui_canvas_row(c, y, out + o, sizeof out - o);
		o += strlen(out + o);
		out[o++] = '\n';
	}
	out[o] = 0;
	return out;
}

/* The text of the highlighted row (after screen()), or "". */
static const char *
selected_row(struct ui *u)
{
	static char out[1024];
	struct tui_canvas *c = &u->t.canvas;
	int y;

	for (y = 1; y < c->h - 1; y++)
		if (c->cells[y * c->w + 1].style == TS_SELECTED) {
			tui_canvas_row(c, y, out, sizeof out);
			return out;
		}
	return "";
}

static void
title(struct ui *u, char *out, size_t cap)
{
	u->t.view->ops->title(&u->t, u->t.view, out, cap);
}

static void
browse_filter_and_series(void **state)
{
	struct ui u;
	char t[256];

	(void)state;
	start(&u);
	tui_push(&u.t, view_metrics_new(&u.t));
	pump(&u.t);
	title(&u, t, sizeof t);
	assert_non_null(strstr(t, "3 of 3 metrics"));
	assert_non_null(strstr(screen(&u), " http_requests_total"));
	assert_non_null(strstr(screen(&u), "histogram"));
	type(&u, "MEM");
	title(&u, t, sizeof t);
	assert_non_null(strstr(t, "1 of 3 metrics"));
	assert_null(strstr(screen(&u), "http_requests_total"));
	press(&u, TK_BACKSPACE);
	press(&u, TK_BACKSPACE);
	press(&u, TK_BACKSPACE);
	title(&u, t, sizeof t);
	assert_non_null(strstr(t, "3 of 3 metrics"));
	/* the cursor stayed on the name it was on while the filter changed */
	screen(&u);
	assert_non_null(strstr(selected_row(&u), "process_resident_memory_bytes"));
	/* Enter on the second row: its series */
	press(&u, TK_HOME);
	press(&u, TK_DOWN);
	press(&u, TK_ENTER);
	pump(&u.t);
	assert_string_equal(u.t.view->ops->name, "Series");
	assert_string_equal(fake.selector, "http_requests_total");
	assert_non_null(strstr(screen(&u), "all 2 series, charted together"));
	assert_non_null(strstr(screen(&u), "http_requests_total{code=\"500\"}"));
	/* a label filter narrows what is listed */
	press(&u, '/');
	type(&u, "{code=\"500\"}");
	press(&u, TK_ENTER);
	pump(&u.t);
	assert_string_equal(fake.selector, "http_requests_total{code=\"500\"}");
	/* Enter on a series: its chart, a counter as rate() over max(4 steps, 1m) */
	press(&u, TK_DOWN);
	press(&u, TK_ENTER);
	pump(&u.t);
	assert_string_equal(u.t.view->ops->name, "Chart");
	assert_int_equal(fake.step_ms, 5000);
	assert_string_equal(last_expr(), "rate(http_requests_total{code=\"200\"}[60s])");
	assert_non_null(strstr(screen(&u), "(rate() per second of a counter, over 60s)"));
	assert_non_null(strstr(screen(&u), "2/s"));
	stop(&u);
}

static void
expressions_by_type(void **state)
{
	struct ui u;
	const char *sc;

	(void)state;
	start(&u);
	/* a gauge as it is, in its unit */
	tui_push(&u.t, view_metrics_chart_filtered(&u.t, "process_resident_memory_bytes", 2,
						   "bytes", ""));
	pump(&u.t);
	assert_string_equal(last_expr(), "process_resident_memory_bytes");
	assert_non_null(strstr(screen(&u), "2B "));
	tui_pop(&u.t);
	/* a histogram's buckets: three quantiles; H adds the buckets themselves */
	tui_push(&u.t, view_metrics_chart_filtered(&u.t, "http_duration_seconds_bucket", 3,
						   "seconds", "{job=\"a\"}"));
	pump(&u.t);
	assert_non_null(strstr(last_expr(), "label_replace(histogram_quantile(0.99, sum by (le) "
				"(rate(http_duration_seconds_bucket{job=\"a\"}[60s]))), \"q\", \"p99\""));
	assert_non_null(strstr(last_expr(), "histogram_quantile(0.5,"));
	assert_null(strstr(last_expr(), "sum by (le) (rate(http_duration_seconds_bucket{job=\"a\"}[60s])) or"));
	press(&u, 'H');
	pump(&u.t);
	{
		const char *head = "sum by (le) (rate(http_duration_seconds_bucket{job=\"a\"}[60s])) or "
				   "label_replace(histogram_quantile(0.99, ";

		assert_true(strncmp(last_expr(), head, strlen(head)) == 0);
	}
	sc = screen(&u);
	assert_non_null(strstr(sc, "buckets and p50/p90/p99 of a histogram"));
	/* zoom: 5 minutes over the plot as drawn (about 95 columns, 190 dots): a 2 s step,
	 * and the rate's window stays 1m */
	press(&u, '+');
	pump(&u.t);
	assert_int_equal(fake.step_ms, 2000);
	assert_non_null(strstr(last_expr(), "[60s]"));
	tui_pop(&u.t);
	/* :promql as typed; a parse error is shown */
	tui_push(&u.t, view_metrics_promql_new(&u.t, "sum(up)"));
	pump(&u.t);
	assert_string_equal(last_expr(), "sum(up)");
	tui_pop(&u.t);
	tui_push(&u.t, view_metrics_promql_new(&u.t, "(((("));
	pump(&u.t);
	assert_non_null(strstr(screen(&u), "1:5: parse error: unexpected ("));
	stop(&u);
}

static void
red_asks_its_panels_in_turn(void **state)
{
	struct ui u;
	const char *sc;

	(void)state;
	start(&u);
	tui_push(&u.t, view_metrics_red_new(&u.t, "cart \"v2\""));
	pump(&u.t);
	assert_int_equal(fake.nexprs, 3);
	assert_string_equal(fake.exprs[5],
			    "sum(rate(traces_spanmetrics_calls_total{service=\"cart \\\"v2\\\"\", "
			    "span_kind=~\"SPAN_KIND_SERVER|SPAN_KIND_CONSUMER\"}[60s]))");
	assert_non_null(strstr(fake.exprs[6], "status_code=\"STATUS_CODE_ERROR\"}[60s])) or 0 * sum("));
	assert_non_null(strstr(fake.exprs[7], "histogram_quantile(0.9, sum by (le) "
				"(rate(traces_spanmetrics_latency_bucket{service="));
	sc = screen(&u);
	assert_non_null(strstr(sc, " Requests  ■ 2/s"));
	assert_non_null(strstr(sc, " Errors  ■ 2/s"));
	assert_non_null(strstr(sc, " Duration  ■ 2s"));
	stop(&u);
}

static void
native_histogram_chart(void **state)
{
	static const char *q99 = "label_replace(histogram_quantile(0.99, sum(rate(rpc_latency[60s]))),"
				 " \"q\", \"p99\", \"\", \"\") or ";
	struct ui u;
	const char *sc;

	(void)state;
	start(&u);
	/* known by its metadata: type histogram, no _bucket in the name */
	tui_push(&u.t, view_metrics_chart_filtered(&u.t, "rpc_latency", 3, "seconds", ""));
	pump(&u.t);
	assert_true(strncmp(last_expr(), q99, strlen(q99)) == 0);
	assert_non_null(strstr(last_expr(), "histogram_quantile(0.5, sum(rate(rpc_latency[60s])))"));
	sc = screen(&u);
	assert_non_null(strstr(sc, "p50/p90/p99 of a native histogram, rate over 60s; H: heatmap"));
	assert_non_null(strstr(sc, "900ms"));           /* p99's value in the legend */
	assert_null(strstr(sc, "le=\""));
	/* H: the sum of rates first (its buckets), drawn as a heatmap above the lines */
	press(&u, 'H');
	pump(&u.t);
	assert_true(strncmp(last_expr(), "sum(rate(rpc_latency[60s])) or label_replace(", 45) == 0);
	sc = screen(&u);
	assert_non_null(strstr(sc, "buckets and p50/p90/p99 of a native histogram"));
	assert_non_null(strstr(sc, "\u2588"));          /* the fullest bucket's shade */
	assert_null(strstr(sc, "le=\""));                /* buckets are not listed as lines */
	tui_pop(&u.t);
	/* no metadata: buckets came back for the plain name, so it is asked again as one */
	fake.nexprs = 0;
	tui_push(&u.t, view_metrics_chart_filtered(&u.t, "rpc_latency", 0, "", ""));
	pump(&u.t);
	assert_true(fake.nexprs >= 2);
	assert_true(strncmp(last_expr(), q99, strlen(q99)) == 0);
	assert_non_null(strstr(screen(&u), "of a native histogram"));
	stop(&u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(browse_filter_and_series),
		cmocka_unit_test(expressions_by_type),
		cmocka_unit_test(red_asks_its_panels_in_turn),
		cmocka_unit_test(native_histogram_chart),
	};

	setenv("TZ", "UTC", 1);
	tzset();
	setlocale(LC_ALL, "C.UTF-8");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
