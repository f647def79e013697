/*
 * view_metrics_series.c - the series of one metric (Enter in the Metrics
 * view): a first row that charts them all, then each series' labels.
 * `/` edits a label filter in PromQL selector syntax ({job="api"}) that
 * narrows the list and the chart.  Enter on the first row charts every
 * series (with the filter), on a series that series alone.
 *
 * Each series' labels text is name{k="v", ...} with values escaped, so
 * its {...} part is the exact selector of that series.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "tui/fetch.h"
#include "tui/view_metrics.h"

struct series_view {
	struct tui_view base;
	char name[128], unit[32];
	uint8_t type;
	char filter[512];
	bool editing;
	char edit[512];
	struct tui_series *series;
	size_t nseries;
	size_t cursor, scroll;      /* 0: the "all series" row */
	uint64_t gen;
	bool loaded;
	char error[OB_ERRLEN];
	int ticks;
};

static void
ask(struct tui *t, struct series_view *s)
{
	struct tui_metric_query q;

	memset(&q, 0, sizeof q);
	snprintf(q.expr, sizeof q.expr, "%s%s", s->name, s->filter);
	q.since_ns = t->since_ns;
	q.until_ns = t->until_ns;
	s->gen = tui_next_generation(t);
	tui_fetch_metric(t->fetch, FETCH_SERIES, &q, s->gen);
}

static void
draw(struct tui *t, struct tui_view *v, struct tui_canvas *c, int top, int height)
{
	struct series_view *s = (struct series_view *)v;
	size_t i, rows;
	int y = top;

	(void)t;
	if (s->editing)
		tui_canvas_printf(c, y++, 1, -1, TS_MATCH, "labels: %s_", s->edit);
	else
		tui_canvas_printf(c, y++, 1, -1, s->filter[0] ? TS_MATCH : TS_DIM, "%s%s%s",
				  s->name, s->filter, s->filter[0] ? "" : "  (/: a label filter)");
	if (s->error[0]) {
		tui_canvas_text(c, y, 1, -1, TS_ERROR, s->error);
		return;
	}
	if (!s->loaded) {
		tui_canvas_text(c, y, 1, -1, TS_DIM, "loading...");
		return;
	}
	rows = (size_t)(top + height - y);
	if (rows == 0)
		return;
	if (s->cursor < s->scroll)
		s->scroll = s->cursor;
	if (s->cursor >= s->scroll + rows)
		s->scroll = s->cursor - rows + 1;
	for (i = s->scroll; i <= s->nseries && y < top + height; i++, y++) {
		enum tui_style st = i == s->cursor ? TS_SELECTED : TS_NORMAL;

		if (i == s->cursor)
			tui_canvas_fill(c, y, 0, c->w, ' ', TS_SELECTED);
		if (i == 0)
			tui_canvas_printf(c, y, 1, -1, i == s->cursor ? st : TS_HEADER,
					  "all %zu series, charted together", s->nseries);
		else
			tui_canvas_text(c, y, 3, -1, st, s->series[i - 1].labels);
	}
}

/* The {...} of a series' labels text: the selector of that series alone. */
static const char *
braces(const char *labels)
{
	const char *p = strchr(labels, '{');

	return p ? p : "";
}

static bool
key(struct tui *t, struct tui_view *v, int k)
{
	struct series_view *s = (struct series_view *)v;
	size_t n;

	if (s->editing) {
		n = strlen(s->edit);
		if (k == TK_ESC) {
			s->editing = false;
		} else if (k == TK_ENTER) {
			s->editing = false;
			snprintf(s->filter, sizeof s->filter, "%s", s->edit);
			s->loaded = false;
			s->cursor = 0;
			ask(t, s);
		} else if (k == TK_BACKSPACE) {
			if (n)
				s->edit[n - 1] = 0;
		} else if (k >= 0x20 && k < 0x7f && n + 1 < sizeof s->edit) {
			s->edit[n] = (char)k;
			s->edit[n + 1] = 0;
		}
		return true;
	}
	switch (k) {
	case TK_UP: case 'k':
		if (s->cursor > 0)
			s->cursor--;
		return true;
	case TK_DOWN: case 'j':
		if (s->cursor < s->nseries)
			s->cursor++;
		return true;
	case TK_HOME: case 'g':
		s->cursor = 0;
		return true;
	case TK_END: case 'G':
		s->cursor = s->nseries;
		return true;
	case '/':
		s->editing = true;
		snprintf(s->edit, sizeof s->edit, "%s", s->filter);
		return true;
	case TK_ENTER:
		if (s->cursor == 0 || s->cursor > s->nseries)
			tui_push(t, view_metrics_chart_filtered(t, s->name, s->type, s->unit,
								s->filter));
		else
			tui_push(t, view_metrics_chart_filtered(t, s->name, s->type, s->unit,
								braces(s->series[s->cursor - 1].labels)));
		return true;
	default:
		return false;
	}
}

static void
result(struct tui *t, struct tui_view *v, struct tui_fetch_result *r)
{
	struct series_view *s = (struct series_view *)v;

	(void)t;
	if (r->kind != FETCH_SERIES || r->generation != s->gen)
		return;
	s->loaded = true;
	if (r->err) {
		snprintf(s->error, sizeof s->error, "%s", r->errbuf);
		return;
	}
	s->error[0] = 0;
	tui_series_free(s->series, s->nseries);
	s->series = r->series;
	s->nseries = r->nseries;
	r->series = NULL;
	r->nseries = 0;
	if (s->cursor > s->nseries)
		s->cursor = s->nseries;
}

static void
tick(struct tui *t, struct tui_view *v)
{
	struct series_view *s = (struct series_view *)v;

	if (s->ticks++ % 5 == 0 && !tui_fetch_busy(t->fetch, FETCH_SERIES))
		ask(t, s);
}

static void
title(struct tui *t, struct tui_view *v, char *out, size_t cap)
{
	struct series_view *s = (struct series_view *)v;
	char range[128];

	view_traces_range_text(t, range, sizeof range);
	snprintf(out, cap, "%s  %zu series  %s%s", s->name, s->nseries,
		 view_metrics_type_name(s->type), range);
}

static void
view_free(struct tui_view *v)
{
	struct series_view *s = (struct series_view *)v;

	tui_series_free(s->series, s->nseries);
	free(s);
}

static const struct tui_binding bindings[] = {
	{ -1, 0, "Enter", "chart them all (first row) or the series", NULL },
	{ -1, 0, "/", "a label filter: {job=\"api\"}", NULL },
};

static const struct tui_view_ops ops = {
	.name = "Series",
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
view_metrics_series_new(struct tui *t, const char *name, uint8_t type, const char *unit)
{
	struct series_view *s = ob_xcalloc(1, sizeof *s);

	s->base.ops = &ops;
	snprintf(s->name, sizeof s->name, "%s", name);
	snprintf(s->unit, sizeof s->unit, "%s", unit ? unit : "");
	s->type = type;
	s->ticks = 1;
	ask(t, s);
	return &s->base;
}
