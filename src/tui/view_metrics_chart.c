/*
 * view_metrics_chart.c - the chart of one metric or one PromQL expression
 * (Enter in the Metrics view, `:promql EXPR`).
 *
 * The expression: a counter (and a histogram's _sum and _count) is charted
 * as rate(name{filter}[R]) with R = max(4 steps, 1m), and the header says
 * so; a histogram's _bucket as its p50, p90 and p99 (histogram_quantile
 * over rate), and a native histogram (type histogram without a _bucket,
 * _sum or _count suffix, or a name whose answer came back as buckets) the
 * same way over its sum of rates; 'H' adds the buckets' heatmap (the
 * source gives a native histogram's points as cumulative le="..." series,
 * as a classic histogram's); anything else as it is.  `/` edits a label filter in PromQL
 * selector syntax ({job="api"}).
 *
 * The window follows :since/:range (the last hour when open), zoomed by
 * halves around its end ('+' '-') and panned by half a window ('<' '>');
 * while it ends at now it is re-queried every second, so the chart is
 * live.  The step gives about two samples per plot column (one braille
 * dot each).  Left/Right move a cursor that reads every series' value at
 * its time in the list under the chart.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/mem.h"
#include "core/util.h"
#include "tui/chart.h"
#include "tui/fetch.h"
#include "tui/view_metrics.h"

#define MAX_DRAWN 64
#define DEFAULT_SPAN_MS 3600000LL
#define MIN_SPAN_MS 60000LL

struct chart_view {
	struct tui_view base;
	char name[128], unit[32];
	uint8_t type;
	bool is_expr;
	char expr[4096];            /* what is queried */
	char user_expr[1024];       /* :promql's text */
	char note[96];              /* "rate() per second of a counter" */
	char filter[512];           /* {k="v"} or "" */
	bool editing;
	char edit[512];
	enum chart_unit cunit;
	struct tui_series *series;
	size_t nseries;
	int64_t start_ms, end_ms, step_ms;     /* of the data held */
	uint64_t gen;
	bool loaded, want_refetch;
	char error[OB_ERRLEN];
	int zoom;                   /* the window's span halved this many times */
	int64_t pan_ms;             /* how far before the live end the window ends */
	bool cursor, stacked, block;
	bool heat;                  /* a histogram: the buckets' heatmap above the quantiles */
	bool native;                /* a native histogram (not _bucket series) */
	int cursor_col;
	struct chart_layout lay;
	/* exemplars of the metric's series in the window; x/X select one, Enter opens its trace */
	struct tui_exemplar *ex;
	size_t nex;
	int64_t *ex_t;
	double *ex_v;
	long ex_sel;
	uint64_t ex_gen;
};

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void
window(struct tui *t, struct chart_view *c, int64_t *start, int64_t *end, int64_t *step)
{
	int64_t now = (int64_t)(ob_now_ns() / 1000000), span;
	int dots = (c->lay.plot_w > 0 ? c->lay.plot_w : 72) * 2;
	int i;

	*end = t->until_ns ? (int64_t)(t->until_ns / 1000000) : now;
	*start = t->since_ns ? (int64_t)(t->since_ns / 1000000) : *end - DEFAULT_SPAN_MS;
	span = *end - *start;
	for (i = 0; i < c->zoom && span / 2 >= MIN_SPAN_MS; i++)
		span /= 2;
	if (span < MIN_SPAN_MS)
		span = MIN_SPAN_MS;
	*end -= c->pan_ms;
	*step = span / dots;
	if (*step < 1000)
		*step = 1000;
	*step = (*step + 999) / 1000 * 1000;
	/*
	 * The window ends at now itself, not at a step boundary before it:
	 * the service-graph series of the rollups have their live sample at
	 * now only.
	 */
	*start = *end - span / *step * *step;
}

static void
build_expr(struct chart_view *c, int64_t step)
{
	int64_t r = 4 * step > 60000 ? 4 * step : 60000;
	char sel[1024];

	if (c->is_expr) {
		snprintf(c->expr, sizeof c->expr, "%s", c->user_expr);
		c->note[0] = 0;
		return;
	}
	snprintf(sel, sizeof sel, "%s%s", c->name, c->filter);
	if (c->native) {
		long long rs = (long long)(r / 1000);
		int o = 0;

		if (c->heat)
			o = snprintf(c->expr, sizeof c->expr, "sum(rate(%s[%llds])) or ", sel, rs);
		snprintf(c->expr + o, sizeof c->expr - (size_t)o,
			 "label_replace(histogram_quantile(0.99, sum(rate(%s[%llds]))),"
			 " \"q\", \"p99\", \"\", \"\") or "
			 "label_replace(histogram_quantile(0.9, sum(rate(%s[%llds]))),"
			 " \"q\", \"p90\", \"\", \"\") or "
			 "label_replace(histogram_quantile(0.5, sum(rate(%s[%llds]))),"
			 " \"q\", \"p50\", \"\", \"\")", sel, rs, sel, rs, sel, rs);
		snprintf(c->note, sizeof c->note,
			 "%sp50/p90/p99 of a native histogram, rate over %llds%s",
			 c->heat ? "buckets and " : "", rs, c->heat ? "" : "; H: heatmap");
	} else if (c->type == 3 && ends_with(c->name, "_bucket")) {
		int o = 0;

		if (c->heat)
			o = snprintf(c->expr, sizeof c->expr, "sum by (le) (rate(%s[%llds])) or ", sel,
				     (long long)(r / 1000));
		snprintf(c->expr + o, sizeof c->expr - (size_t)o,
			 "label_replace(histogram_quantile(0.99, sum by (le) (rate(%s[%llds]))),"
			 " \"q\", \"p99\", \"\", \"\") or "
			 "label_replace(histogram_quantile(0.9, sum by (le) (rate(%s[%llds]))),"
			 " \"q\", \"p90\", \"\", \"\") or "
			 "label_replace(histogram_quantile(0.5, sum by (le) (rate(%s[%llds]))),"
			 " \"q\", \"p50\", \"\", \"\")",
			 sel, (long long)(r / 1000), sel, (long long)(r / 1000), sel,
			 (long long)(r / 1000));
		snprintf(c->note, sizeof c->note, "%sp50/p90/p99 of a histogram, rate over %llds%s",
			 c->heat ? "buckets and " : "", (long long)(r / 1000),
			 c->heat ? "" : "; H: heatmap");
	} else if (c->type == 1 || (c->type == 3 && (ends_with(c->name, "_sum") ||
						      ends_with(c->name, "_count"))) ||
		   (c->type == 0 && ends_with(c->name, "_total"))) {
		snprintf(c->expr, sizeof c->expr, "rate(%s[%llds])", sel, (long long)(r / 1000));
		snprintf(c->note, sizeof c->note, "rate() per second of a counter, over %llds",
			 (long long)(r / 1000));
	} else {
		snprintf(c->expr, sizeof c->expr, "%s", sel);
		c->note[0] = 0;
	}
}

static void
ask(struct tui *t, struct chart_view *c)
{
	struct tui_metric_query q;

	memset(&q, 0, sizeof q);
	window(t, c, &q.start_ms, &q.end_ms, &q.step_ms);
	build_expr(c, q.step_ms);
	snprintf(q.expr, sizeof q.expr, "%s", c->expr);
	c->gen = tui_next_generation(t);
	c->want_refetch = false;
	tui_fetch_metric(t->fetch, FETCH_QUERY, &q, c->gen);
}

/* The exemplars of the metric's series (not of a :promql expression) in the data's window. */
static void
ask_exemplars(struct tui *t, struct chart_view *c)
{
	struct tui_metric_query q;

	if (c->is_expr)
		return;
	memset(&q, 0, sizeof q);
	snprintf(q.expr, sizeof q.expr, "%s%s", c->name, c->filter);
	q.start_ms = c->start_ms;
	q.end_ms = c->end_ms;
	c->ex_gen = tui_next_generation(t);
	tui_fetch_metric(t->fetch, FETCH_EXEMPLARS, &q, c->ex_gen);
}

static void
take_exemplars(struct chart_view *c, struct tui_fetch_result *r)
{
	size_t i;
	uint8_t keep[16];
	bool had = c->ex_sel >= 0 && (size_t)c->ex_sel < c->nex;

	if (had)
		memcpy(keep, c->ex[c->ex_sel].trace_id, 16);
	free(c->ex);
	free(c->ex_t);
	free(c->ex_v);
	c->ex = r->exemplars;
	c->nex = r->nexemplars;
	r->exemplars = NULL;
	c->ex_t = ob_xcalloc(c->nex + 1, sizeof *c->ex_t);
	c->ex_v = ob_xcalloc(c->nex + 1, sizeof *c->ex_v);
	c->ex_sel = -1;
	for (i = 0; i < c->nex; i++) {
		c->ex_t[i] = c->ex[i].t_ms;
		/* a histogram's exemplars sit at their value; a counter's (a count) on the axis */
		c->ex_v[i] = c->type == 1 || ends_with(c->name, "_total") ? NAN : c->ex[i].v;
		if (had && memcmp(keep, c->ex[i].trace_id, 16) == 0)
			c->ex_sel = (long)i;
	}
}

static int64_t
cursor_ms(const struct chart_view *c)
{
	int w = c->lay.plot_w > 1 ? c->lay.plot_w - 1 : 1;

	return c->start_ms + (int64_t)((double)c->cursor_col / w * (double)(c->end_ms - c->start_ms));
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
draw(struct tui *t, struct tui_view *v, struct tui_canvas *cv, int top, int height)
{
	struct chart_view *c = (struct chart_view *)v;
	struct chart_series cs[MAX_DRAWN];
	struct chart_opts o;
	size_t i, n = c->nseries < MAX_DRAWN ? c->nseries : MAX_DRAWN;
	int chart_h, y, x;

	(void)t;
	/* a histogram's quantiles are a long expression: its name says enough */
	x = tui_canvas_text(cv, top, 1, -1, TS_HEADER,
			    !c->is_expr && (c->native || (c->type == 3 &&
							  ends_with(c->name, "_bucket"))) ? c->name
											  : c->expr);
	if (c->note[0])
		tui_canvas_printf(cv, top, x + 3, -1, TS_DIM, "(%s)", c->note);
	y = top + 1;
	if (c->editing) {
		tui_canvas_printf(cv, y++, 1, -1, TS_MATCH, "labels: %s_", c->edit);
		height--;
	}
	if (c->error[0]) {
		tui_canvas_text(cv, y, 1, -1, TS_ERROR, c->error);
		return;
	}
	if (!c->loaded) {
		tui_canvas_text(cv, y, 1, -1, TS_DIM, "loading...");
		return;
	}
	if (c->nseries == 0) {
		tui_canvas_text(cv, y, 1, -1, TS_DIM, "no samples in this time range");
		return;
	}
	chart_h = (height - 1) * 2 / 3;
	if (chart_h < 6)
		chart_h = height - 1 < 6 ? height - 1 : 6;
	if (c->heat) {
		int hh = chart_h / 2;

		view_metrics_heat_draw(cv, y, hh, c->series, c->nseries, c->start_ms, c->end_ms,
				       c->step_ms, c->cunit);
		y += hh;
		chart_h -= hh;
	}
	/* the lines: every series but a heatmap's buckets */
	for (i = 0, n = 0; i < c->nseries && n < MAX_DRAWN; i++)
		if (!c->heat || isnan(view_metrics_le(c->series[i].labels))) {
			cs[n] = (struct chart_series){ c->series[i].labels, c->series[i].t_ms,
						       c->series[i].v, c->series[i].n,
						       (enum tui_style)(TS_SERVICE0 + n % 8) };
			n++;
		}
	memset(&o, 0, sizeof o);
	o.start_ms = c->start_ms;
	o.end_ms = c->end_ms;
	o.step_ms = c->step_ms;
	o.marker = c->block ? CHART_BLOCK : CHART_BRAILLE;
	o.unit = c->cunit;
	o.stacked = c->stacked;
	if (c->cursor) {
		if (c->cursor_col >= c->lay.plot_w)
			c->cursor_col = c->lay.plot_w > 0 ? c->lay.plot_w - 1 : 0;
		o.cursor = true;
		o.cursor_ms = cursor_ms(c);
	}
	o.mark_t = c->ex_t;
	o.mark_v = c->ex_v;
	o.nmarks = c->nex;
	o.mark_sel = c->ex_sel;
	chart_draw(cv, y, 0, cv->w, chart_h, cs, n, &o, &c->lay);
	y += chart_h;
	if (c->ex_sel >= 0 && (size_t)c->ex_sel < c->nex && y < top + height) {
		const struct tui_exemplar *e = &c->ex[c->ex_sel];
		char hex[33], val[48], when[32];
		time_t sec = (time_t)(e->t_ms / 1000);
		struct tm tm;

		ob_hex_encode(e->trace_id, 16, hex);
		chart_format(e->v, c->ex_v[c->ex_sel] == c->ex_v[c->ex_sel] ? c->cunit : CU_NONE, 0, 0,
			     cv->ascii, val, sizeof val);
		if (localtime_r(&sec, &tm))
			strftime(when, sizeof when, "%H:%M:%S", &tm);
		else
			snprintf(when, sizeof when, "?");
		tui_canvas_printf(cv, y++, 1, -1, TS_MATCH,
				  "exemplar %ld/%zu at %s  value %s  trace %s  (Enter opens it)",
				  c->ex_sel + 1, c->nex, when, val, hex);
	} else if (c->nex && y < top + height) {
		tui_canvas_printf(cv, y++, 1, -1, TS_DIM, "%zu exemplar%s: x selects one", c->nex,
				  c->nex == 1 ? "" : "s");
	}
	if (c->cursor && y < top + height) {
		char when[32];
		time_t sec = (time_t)(o.cursor_ms / 1000);
		struct tm tm;

		if (localtime_r(&sec, &tm))
			strftime(when, sizeof when, "%H:%M:%S", &tm);
		else
			snprintf(when, sizeof when, "?");
		tui_canvas_printf(cv, y++, 1, -1, TS_DIM, "cursor at %s", when);
	}
	for (i = 0; i < n && y < top + height; i++, y++) {
		char val[48];
		struct tui_series one = { "", (int64_t *)cs[i].t_ms, (double *)cs[i].v, cs[i].n };
		double vv = c->cursor ? chart_value_at(&cs[i], o.cursor_ms, c->step_ms / 2)
				      : last_value(&one);

		chart_format(vv, c->cunit, 0, 0, cv->ascii, val, sizeof val);
		tui_canvas_fill(cv, y, 1, 1, cv->ascii ? '#' : 0x25a0, cs[i].style);
		tui_canvas_text(cv, y, 3, 10, TS_NORMAL, val);
		tui_canvas_text(cv, y, 14, -1, TS_NORMAL, cs[i].name[0] ? cs[i].name : "{}");
	}
	if (n == MAX_DRAWN && c->nseries > n && y < top + height)
		tui_canvas_printf(cv, y, 1, -1, TS_DIM, "more series not drawn (at most %d)",
				  MAX_DRAWN);
}

static bool
edit_key(struct tui *t, struct chart_view *c, int k)
{
	size_t n = strlen(c->edit);

	if (k == TK_ESC) {
		c->editing = false;
	} else if (k == TK_ENTER) {
		c->editing = false;
		snprintf(c->filter, sizeof c->filter, "%s", c->edit);
		c->loaded = false;
		ask(t, c);
	} else if (k == TK_BACKSPACE) {
		if (n)
			c->edit[n - 1] = 0;
	} else if (k >= 0x20 && k < 0x7f && n + 1 < sizeof c->edit) {
		c->edit[n] = (char)k;
		c->edit[n + 1] = 0;
	}
	return true;
}

static bool
key(struct tui *t, struct tui_view *v, int k)
{
	struct chart_view *c = (struct chart_view *)v;
	int w = c->lay.plot_w > 0 ? c->lay.plot_w : 1;

	if (c->editing)
		return edit_key(t, c, k);
	switch (k) {
	case TK_LEFT: case 'h':
		if (c->cursor && c->cursor_col > 0)
			c->cursor_col--;
		else if (!c->cursor)
			c->cursor_col = w - 1;
		c->cursor = true;
		return true;
	case TK_RIGHT: case 'l':
		if (!c->cursor)
			c->cursor_col = w - 1;
		else if (c->cursor_col + 1 < w)
			c->cursor_col++;
		c->cursor = true;
		return true;
	case 'c':
		c->cursor = !c->cursor;
		return true;
	case 'x': case 'X':
		if (c->nex == 0)
			return true;
		if (c->ex_sel < 0)
			c->ex_sel = k == 'x' ? 0 : (long)c->nex - 1;
		else
			c->ex_sel = (c->ex_sel + (k == 'x' ? 1 : (long)c->nex - 1)) % (long)c->nex;
		return true;
	case TK_ENTER:
		if (c->ex_sel >= 0 && (size_t)c->ex_sel < c->nex)
			tui_push(t, view_trace_new(t, c->ex[c->ex_sel].trace_id));
		return true;
	case '+': case '=':
		if (c->zoom < 16)
			c->zoom++;
		break;
	case '-':
		if (c->zoom > 0)
			c->zoom--;
		break;
	case '<': case ',':
		c->pan_ms += (c->end_ms - c->start_ms) / 2;
		break;
	case '>': case '.':
		c->pan_ms -= (c->end_ms - c->start_ms) / 2;
		if (c->pan_ms < 0)
			c->pan_ms = 0;
		break;
	case '0':
		c->zoom = 0;
		c->pan_ms = 0;
		break;
	case 's':
		c->stacked = !c->stacked;
		return true;
	case 'b':
		c->block = !c->block;
		return true;
	case 'H':
		if (c->is_expr || (!c->native && (c->type != 3 || !ends_with(c->name, "_bucket"))))
			return true;
		c->heat = !c->heat;
		break;
	case '/':
		if (c->is_expr)
			return true;
		c->editing = true;
		snprintf(c->edit, sizeof c->edit, "%s", c->filter);
		return true;
	default:
		return false;
	}
	ask(t, c);
	return true;
}

static void
result(struct tui *t, struct tui_view *v, struct tui_fetch_result *r)
{
	struct chart_view *c = (struct chart_view *)v;

	if (r->kind == FETCH_EXEMPLARS && r->generation == c->ex_gen) {
		if (r->err == OB_OK)
			take_exemplars(c, r);
		return;
	}
	if (r->kind != FETCH_QUERY || r->generation != c->gen)
		return;
	c->loaded = true;
	if (r->err) {
		snprintf(c->error, sizeof c->error, "%s", r->errbuf);
		return;
	}
	c->error[0] = 0;
	if (!c->is_expr && !c->native && !ends_with(c->name, "_bucket") && r->nseries &&
	    !isnan(view_metrics_le(r->series[r->nseries - 1].labels)) &&
	    isinf(view_metrics_le(r->series[r->nseries - 1].labels))) {
		/* histogram points came back (a native histogram without metadata) */
		c->native = true;
		c->loaded = false;
		ask(t, c);
		return;
	}
	tui_series_free(c->series, c->nseries);
	c->series = r->series;
	c->nseries = r->nseries;
	r->series = NULL;
	r->nseries = 0;
	c->start_ms = r->metric_query.start_ms;
	c->end_ms = r->metric_query.end_ms;
	c->step_ms = r->metric_query.step_ms;
	ask_exemplars(t, c);
}

static void
tick(struct tui *t, struct tui_view *v)
{
	struct chart_view *c = (struct chart_view *)v;

	/* live while the window ends now; a new window (a :since) asks at once */
	if ((c->pan_ms == 0 || !c->loaded || c->want_refetch) &&
	    !tui_fetch_busy(t->fetch, FETCH_QUERY))
		ask(t, c);
}

static void
title(struct tui *t, struct tui_view *v, char *out, size_t cap)
{
	struct chart_view *c = (struct chart_view *)v;
	char range[128];

	view_traces_range_text(t, range, sizeof range);
	snprintf(out, cap, "%s  %zu series%s%s%s", c->is_expr ? "promql" : c->name, c->nseries,
		 c->zoom ? "  zoomed" : "", c->pan_ms ? "  (not live)" : "", range);
}

static void
view_free(struct tui_view *v)
{
	struct chart_view *c = (struct chart_view *)v;

	tui_series_free(c->series, c->nseries);
	free(c->ex);
	free(c->ex_t);
	free(c->ex_v);
	free(c);
}

static const struct tui_binding bindings[] = {
	{ -1, 0, "← → h l", "a cursor: read the values at a time (c hides it)", NULL },
	{ -1, 0, "+ -", "zoom in and out on the time axis", NULL },
	{ -1, 0, "< >", "pan back and forward by half the window (0: back to live)", NULL },
	{ -1, 0, "/", "a label filter: {job=\"api\"}", NULL },
	{ -1, 0, "s b", "stacked; block glyphs instead of braille", NULL },
	{ -1, 0, "x X", "the next / previous exemplar; Enter opens its trace", NULL },
	{ -1, 0, "H", "a histogram: its buckets as a heatmap above the quantiles", NULL },
};

static const struct tui_view_ops ops = {
	.name = "Chart",
	.bindings = bindings,
	.nbindings = sizeof bindings / sizeof bindings[0],
	.draw = draw,
	.key = key,
	.result = result,
	.tick = tick,
	.title = title,
	.free = view_free,
	.follows_range = true,
};

struct tui_view *
view_metrics_chart_new(struct tui *t, const char *name, uint8_t type, const char *unit,
		       const char *expr)
{
	struct chart_view *c = ob_xcalloc(1, sizeof *c);

	c->base.ops = &ops;
	c->ex_sel = -1;
	snprintf(c->name, sizeof c->name, "%s", name ? name : "");
	snprintf(c->unit, sizeof c->unit, "%s", unit ? unit : "");
	c->type = type;
	c->native = !expr && type == 3 && !ends_with(c->name, "_bucket") &&
		    !ends_with(c->name, "_sum") && !ends_with(c->name, "_count");
	if (expr) {
		c->is_expr = true;
		snprintf(c->user_expr, sizeof c->user_expr, "%s", expr);
		c->cunit = CU_NONE;
	} else if (type == 1 || ends_with(c->name, "_total") || ends_with(c->name, "_count")) {
		c->cunit = CU_PER_SECOND;
	} else {
		c->cunit = chart_unit_guess(c->name, c->unit);
	}
	ask(t, c);
	return &c->base;
}

struct tui_view *
view_metrics_promql_new(struct tui *t, const char *expr)
{
	return view_metrics_chart_new(t, NULL, 0, NULL, expr);
}

struct tui_view *
view_metrics_chart_filtered(struct tui *t, const char *name, uint8_t type, const char *unit,
			    const char *filter)
{
	struct tui_view *v = view_metrics_chart_new(t, name, type, unit, NULL);
	struct chart_view *c = (struct chart_view *)v;

	snprintf(c->filter, sizeof c->filter, "%s", filter ? filter : "");
	ask(t, c);      /* again, with the filter: the first answer is dropped by generation */
	return v;
}
