/*
 * view_metrics_red.c - a service's RED charts: requests per second,
 * errors per second and latency (p50/p90/p99), one panel each, from the
 * span metrics (Tempo's names: traces_spanmetrics_calls_total and
 * traces_spanmetrics_latency_bucket, label service) of its server and
 * consumer spans.  'm' on a service in the Services view opens it.
 *
 * The fetch thread has one slot for range queries, and a newer request
 * replaces one not yet started, so the panels are asked one after the
 * other: each answer asks for the next panel; a tick starts a new round
 * once the last panel is in (live while the window ends now).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/mem.h"
#include "tui/chart.h"
#include "tui/fetch.h"
#include "tui/view_metrics.h"

#define NPANELS 3
#define SPAN_MS 3600000LL

struct panel {
	const char *title;
	enum chart_unit unit;
	char expr[2048];
	struct tui_series *series;
	size_t nseries;
	char error[OB_ERRLEN];
	bool loaded;
};

struct red_view {
	struct tui_view base;
	char service[128];
	struct panel p[NPANELS];
	int asking;                 /* the panel asked, or -1 between rounds */
	uint64_t gen;
	int64_t start_ms, end_ms, step_ms;
	int plot_w;
};

static void
window(struct tui *t, struct red_view *r)
{
	int64_t now = (int64_t)(ob_now_ns() / 1000000), span;
	int dots = (r->plot_w > 0 ? r->plot_w : 72) * 2;

	r->end_ms = t->until_ns ? (int64_t)(t->until_ns / 1000000) : now;
	r->start_ms = t->since_ns ? (int64_t)(t->since_ns / 1000000) : r->end_ms - SPAN_MS;
	span = r->end_ms - r->start_ms;
	if (span < 60000)
		span = 60000;
	r->step_ms = (span / dots + 999) / 1000 * 1000;
	if (r->step_ms < 1000)
		r->step_ms = 1000;
	/* ends at now itself: the rollups' live sample is at now only */
	r->start_ms = r->end_ms - span / r->step_ms * r->step_ms;
}

/* The PromQL string literal of s (quotes and backslashes escaped). */
static void
quoted(const char *s, char *out, size_t cap)
{
	size_t o = 0;

	for (; *s && o + 3 < cap; s++) {
		if (*s == '"' || *s == '\\')
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o] = 0;
}

static void
build(struct red_view *r)
{
	char svc[300], sel[512];
	long long w = (4 * r->step_ms > 60000 ? 4 * r->step_ms : 60000) / 1000;
	const char *m = "traces_spanmetrics_calls_total";
	const char *b = "traces_spanmetrics_latency_bucket";

	quoted(r->service, svc, sizeof svc);
	snprintf(sel, sizeof sel, "service=\"%s\", span_kind=~\"SPAN_KIND_SERVER|SPAN_KIND_CONSUMER\"",
		 svc);
	snprintf(r->p[0].expr, sizeof r->p[0].expr, "sum(rate(%s{%s}[%llds]))", m, sel, w);
	/* no failing series is no errors: 0 wherever there are calls */
	snprintf(r->p[1].expr, sizeof r->p[1].expr,
		 "sum(rate(%s{%s, status_code=\"STATUS_CODE_ERROR\"}[%llds])) or "
		 "0 * sum(rate(%s{%s}[%llds]))", m, sel, w, m, sel, w);
	snprintf(r->p[2].expr, sizeof r->p[2].expr,
		 "label_replace(histogram_quantile(0.99, sum by (le) (rate(%s{%s}[%llds]))),"
		 " \"q\", \"p99\", \"\", \"\") or "
		 "label_replace(histogram_quantile(0.9, sum by (le) (rate(%s{%s}[%llds]))),"
		 " \"q\", \"p90\", \"\", \"\") or "
		 "label_replace(histogram_quantile(0.5, sum by (le) (rate(%s{%s}[%llds]))),"
		 " \"q\", \"p50\", \"\", \"\")", b, sel, w, b, sel, w, b, sel, w);
}

static void
ask(struct tui *t, struct red_view *r, int panel)
{
	struct tui_metric_query q;

	if (panel == 0) {
		window(t, r);
		build(r);
	}
	memset(&q, 0, sizeof q);
	q.start_ms = r->start_ms;
	q.end_ms = r->end_ms;
	q.step_ms = r->step_ms;
	snprintf(q.expr, sizeof q.expr, "%s", r->p[panel].expr);
	r->asking = panel;
	r->gen = tui_next_generation(t);
	tui_fetch_metric(t->fetch, FETCH_QUERY, &q, r->gen);
}

static double
last_value(const struct tui_series *s)
{
	size_t i;

	for (i = s->n; i > 0; i--)
		if (!isnan(s->v[i - 1]))
			return s->v[i - 1];
	return NAN;
}

static void
draw(struct tui *t, struct tui_view *v, struct tui_canvas *c, int top, int height)
{
	struct red_view *r = (struct red_view *)v;
	int each = height / NPANELS, i, y = top;

	(void)t;
	for (i = 0; i < NPANELS; i++, y = top + i * each) {
		struct panel *p = &r->p[i];
		struct chart_series cs[8];
		struct chart_opts o;
		struct chart_layout lay;
		size_t k, n = p->nseries < 8 ? p->nseries : 8;
		int x = tui_canvas_text(c, y, 1, -1, TS_HEADER, p->title) + 3;

		for (k = 0; k < n && x < c->w; k++) {
			char val[48];

			cs[k] = (struct chart_series){ p->series[k].labels, p->series[k].t_ms,
						       p->series[k].v, p->series[k].n,
						       (enum tui_style)(TS_SERVICE0 + k % 8) };
			chart_format(last_value(&p->series[k]), p->unit, 0, 0, c->ascii, val,
				     sizeof val);
			tui_canvas_fill(c, y, x, 1, c->ascii ? '#' : 0x25a0, cs[k].style);
			x += 2;
			x += tui_canvas_printf(c, y, x, -1, TS_NORMAL, "%s%s%s", val,
					       n > 1 ? " " : "", n > 1 ? p->series[k].labels : "");
			x += 2;
		}
		if (p->error[0]) {
			tui_canvas_text(c, y + 1, 1, -1, TS_ERROR, p->error);
			continue;
		}
		if (!p->loaded) {
			tui_canvas_text(c, y + 1, 1, -1, TS_DIM, "loading...");
			continue;
		}
		if (n == 0) {
			tui_canvas_text(c, y + 1, 1, -1, TS_DIM,
					"no span metrics for it in this time range");
			continue;
		}
		memset(&o, 0, sizeof o);
		o.start_ms = r->start_ms;
		o.end_ms = r->end_ms;
		o.step_ms = r->step_ms;
		o.unit = p->unit;
		chart_draw(c, y + 1, 0, c->w, each - 1, cs, n, &o, &lay);
		if (lay.plot_w > 0)
			r->plot_w = lay.plot_w;
	}
}

static void
result(struct tui *t, struct tui_view *v, struct tui_fetch_result *res)
{
	struct red_view *r = (struct red_view *)v;
	struct panel *p;

	if (res->kind != FETCH_QUERY || res->generation != r->gen || r->asking < 0)
		return;
	p = &r->p[r->asking];
	p->loaded = true;
	if (res->err) {
		snprintf(p->error, sizeof p->error, "%s", res->errbuf);
	} else {
		p->error[0] = 0;
		tui_series_free(p->series, p->nseries);
		p->series = res->series;
		p->nseries = res->nseries;
		res->series = NULL;
		res->nseries = 0;
	}
	if (r->asking + 1 < NPANELS)
		ask(t, r, r->asking + 1);
	else
		r->asking = -1;
}

static void
tick(struct tui *t, struct tui_view *v)
{
	struct red_view *r = (struct red_view *)v;

	if (r->asking < 0 && !tui_fetch_busy(t->fetch, FETCH_QUERY))
		ask(t, r, 0);
}

static void
title(struct tui *t, struct tui_view *v, char *out, size_t cap)
{
	struct red_view *r = (struct red_view *)v;
	char range[128];

	view_traces_range_text(t, range, sizeof range);
	snprintf(out, cap, "%s  rate, errors, duration%s", r->service, range);
}

static void
view_free(struct tui_view *v)
{
	struct red_view *r = (struct red_view *)v;
	int i;

	for (i = 0; i < NPANELS; i++)
		tui_series_free(r->p[i].series, r->p[i].nseries);
	free(r);
}

static const struct tui_view_ops ops = {
	.name = "RED",
	.draw = draw,
	.result = result,
	.tick = tick,
	.title = title,
	.free = view_free,
	.follows_range = true,
};

struct tui_view *
view_metrics_red_new(struct tui *t, const char *service)
{
	struct red_view *r = ob_xcalloc(1, sizeof *r);

	r->base.ops = &ops;
	snprintf(r->service, sizeof r->service, "%s", service);
	r->p[0].title = "Requests";
	r->p[0].unit = CU_PER_SECOND;
	r->p[1].title = "Errors";
	r->p[1].unit = CU_PER_SECOND;
	r->p[2].title = "Duration";
	r->p[2].unit = CU_SECONDS;
	ask(t, r, 0);
	return &r->base;
}
