/*
 * view_metrics.c - the Metrics view (`:metrics`, Tab): a browser of the
 * metric names with type, unit, series count and help, filtered as you
 * type; Enter charts the metric (view_metrics_chart.c).
 *
 * The list is fetched on open and refreshed every few seconds (new
 * metrics appear while it is open); it follows :since/:range.  The
 * filter is a case-insensitive substring of the name; the cursor stays
 * on the same name when the list changes under it.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "tui/fetch.h"
#include "tui/view_metrics.h"

#define REFRESH_TICKS 5

struct metrics_view {
	struct tui_view base;
	struct tui_metric_row *rows;
	size_t nrows;
	size_t *shown;              /* indexes of rows matching the filter */
	size_t nshown;
	size_t cursor, scroll;
	char filter[128];
	uint64_t gen;
	bool loaded;
	char error[OB_ERRLEN];
	int ticks;
};

const char *
view_metrics_type_name(uint8_t type)
{
	static const char *const names[] = { "unknown", "counter", "gauge", "histogram",
					     "gaugehistogram", "summary", "info", "stateset" };

	return type < sizeof names / sizeof names[0] ? names[type] : "unknown";
}

static void
refilter(struct metrics_view *m)
{
	char keep[128] = "";
	size_t i;

	if (m->cursor < m->nshown)
		snprintf(keep, sizeof keep, "%s", m->rows[m->shown[m->cursor]].name);
	free(m->shown);
	m->shown = ob_xcalloc(m->nrows + 1, sizeof *m->shown);
	m->nshown = 0;
	m->cursor = 0;
	for (i = 0; i < m->nrows; i++) {
		if (m->filter[0] && !strcasestr(m->rows[i].name, m->filter))
			continue;
		if (keep[0] && !strcmp(m->rows[i].name, keep))
			m->cursor = m->nshown;
		m->shown[m->nshown++] = i;
	}
}

static void
ask(struct tui *t, struct metrics_view *m)
{
	struct tui_metric_query q;

	memset(&q, 0, sizeof q);
	q.since_ns = t->since_ns;
	q.until_ns = t->until_ns;
	m->gen = tui_next_generation(t);
	tui_fetch_metric(t->fetch, FETCH_METRICS, &q, m->gen);
}

static void
draw(struct tui *t, struct tui_view *v, struct tui_canvas *c, int top, int height)
{
	struct metrics_view *m = (struct metrics_view *)v;
	int y, rows = height - 2, namew = c->w / 3;
	size_t i;

	(void)t;
	if (namew < 20)
		namew = 20;
	if (namew > 60)
		namew = 60;
	tui_canvas_printf(c, top, 1, -1, m->filter[0] ? TS_MATCH : TS_DIM, "filter: %s%s",
			  m->filter, m->filter[0] ? "" : "(type to filter, Enter charts)");
	tui_canvas_text(c, top + 1, 1, namew, TS_HEADER, "METRIC");
	tui_canvas_text(c, top + 1, namew + 2, 10, TS_HEADER, "TYPE");
	tui_canvas_text(c, top + 1, namew + 13, 8, TS_HEADER, "UNIT");
	tui_canvas_text(c, top + 1, namew + 22, 7, TS_HEADER, "SERIES");
	tui_canvas_text(c, top + 1, namew + 30, -1, TS_HEADER, "HELP");
	if (m->error[0]) {
		tui_canvas_text(c, top + 2, 1, -1, TS_ERROR, m->error);
		return;
	}
	if (m->nshown == 0) {
		tui_canvas_text(c, top + 2, 1, -1, TS_DIM,
				!m->loaded ? "loading..." :
				m->nrows ? "no metric matches the filter" :
				"No metrics in this time range: send some by remote write or OTLP.");
		return;
	}
	if (rows < 1)
		return;
	if (m->cursor < m->scroll)
		m->scroll = m->cursor;
	if (m->cursor >= m->scroll + (size_t)rows)
		m->scroll = m->cursor - (size_t)rows + 1;
	for (i = m->scroll, y = top + 2; i < m->nshown && y < top + height; i++, y++) {
		const struct tui_metric_row *r = &m->rows[m->shown[i]];
		enum tui_style st = i == m->cursor ? TS_SELECTED : TS_NORMAL;

		if (i == m->cursor)
			tui_canvas_fill(c, y, 0, c->w, ' ', TS_SELECTED);
		tui_canvas_text(c, y, 1, namew, st, r->name);
		tui_canvas_text(c, y, namew + 2, 10, i == m->cursor ? st : TS_DIM,
				view_metrics_type_name(r->type));
		tui_canvas_text(c, y, namew + 13, 8, st, r->unit);
		tui_canvas_printf(c, y, namew + 22, 7, st, "%u", r->nseries);
		tui_canvas_text(c, y, namew + 30, -1, i == m->cursor ? st : TS_DIM, r->help);
	}
}

static void
move(struct metrics_view *m, long by)
{
	long at = (long)m->cursor + by;

	if (m->nshown == 0)
		return;
	if (at < 0)
		at = 0;
	if (at >= (long)m->nshown)
		at = (long)m->nshown - 1;
	m->cursor = (size_t)at;
}

static void
open_chart(struct tui *t, struct metrics_view *m)
{
	const struct tui_metric_row *r;

	if (m->cursor >= m->nshown)
		return;
	r = &m->rows[m->shown[m->cursor]];
	tui_push(t, view_metrics_series_new(t, r->name, r->type, r->unit));
}

static bool
key(struct tui *t, struct tui_view *v, int k)
{
	struct metrics_view *m = (struct metrics_view *)v;
	size_t n = strlen(m->filter);

	switch (k) {
	case TK_UP: move(m, -1); return true;
	case TK_DOWN: move(m, 1); return true;
	case TK_PGUP: move(m, -20); return true;
	case TK_PGDN: move(m, 20); return true;
	case TK_HOME: move(m, -(long)m->nshown); return true;
	case TK_END: move(m, (long)m->nshown); return true;
	case TK_ENTER: open_chart(t, m); return true;
	case TK_BACKSPACE:
		if (n == 0)
			return false;
		m->filter[n - 1] = 0;
		refilter(m);
		return true;
	default:
		break;
	}
	if (k < 128 && (isalnum(k) || k == '_') && n + 1 < sizeof m->filter) {
		m->filter[n] = (char)k;
		m->filter[n + 1] = 0;
		refilter(m);
		return true;
	}
	return false;
}

static void
result(struct tui *t, struct tui_view *v, struct tui_fetch_result *r)
{
	struct metrics_view *m = (struct metrics_view *)v;

	(void)t;
	if (r->kind != FETCH_METRICS || r->generation != m->gen)
		return;
	m->loaded = true;
	if (r->err) {
		snprintf(m->error, sizeof m->error, "%s", r->errbuf);
		return;
	}
	m->error[0] = 0;
	free(m->rows);
	m->rows = r->metrics;
	m->nrows = r->nmetrics;
	r->metrics = NULL;
	refilter(m);
}

static void
tick(struct tui *t, struct tui_view *v)
{
	struct metrics_view *m = (struct metrics_view *)v;

	if (m->ticks++ % REFRESH_TICKS == 0 || !m->loaded)
		if (!tui_fetch_busy(t->fetch, FETCH_METRICS))
			ask(t, m);
}

static void
title(struct tui *t, struct tui_view *v, char *out, size_t cap)
{
	struct metrics_view *m = (struct metrics_view *)v;
	char range[128];

	view_traces_range_text(t, range, sizeof range);
	snprintf(out, cap, "%zu of %zu metric%s%s", m->nshown, m->nrows, m->nrows == 1 ? "" : "s",
		 range);
}

static void
view_free(struct tui_view *v)
{
	struct metrics_view *m = (struct metrics_view *)v;

	free(m->rows);
	free(m->shown);
	free(m);
}

static const struct tui_binding bindings[] = {
	{ -1, 0, "Enter", "the metric's series; Enter there charts them", NULL },
	{ -1, 0, "a-z 0-9 _", "filter the names; Backspace deletes", NULL },
};

static const struct tui_view_ops ops = {
	.name = "Metrics",
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
view_metrics_new(struct tui *t)
{
	struct metrics_view *m = ob_xcalloc(1, sizeof *m);

	m->base.ops = &ops;
	m->ticks = 1;
	ask(t, m);
	return &m->base;
}
