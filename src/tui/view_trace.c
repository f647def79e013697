/*
 * view_trace.c - the Trace view: a waterfall over the span tree, and the
 * selected span's details below it.
 *
 * The trace comes decoded (fetch.c decodes it on its thread) as a struct
 * ob_trace (spans in depth-first order, children by start time), so a
 * subtree is a contiguous run: subtree_end[i] is one past span i's last
 * descendant.  Collapsing hides that run; the visible rows are recomputed
 * per draw in O(spans), and only the rows on screen are drawn, so 50,000
 * spans scroll like 50.
 *
 * Bars come from layout_bar over the current time window (the whole
 * trace, or a zoomed span's window; zooms stack).  While the trace is
 * recent it is fetched again every tick; the selection, collapsed spans
 * and zoom survive a reload because they are kept by span id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/mem.h"
#include "core/util.h"
#include "tui/detail.h"
#include "tui/layout.h"
#include "tui/tui.h"

#define LIVE_NS (120ull * 1000000000)   /* refetch while the trace ended this recently */
#define MAX_ZOOM 16
#define DURATION_COLS 8

struct trace_view {
	struct tui_view base;
	uint8_t trace_id[16];
	uint64_t gen;
	bool loaded;
	char error[OB_ERRLEN];
	struct ob_trace trace;
	bool have_trace;
	int *subtree_end;
	bool *collapsed;
	bool *on_path;
	bool critical;
	int *visible;               /* span indexes shown, rebuilt each draw */
	size_t nvisible;
	int cursor;                 /* a span index */
	uint8_t cursor_span[8];     /* the same, by id, across reloads */
	size_t top;                 /* first visible row shown */
	int rows;                   /* waterfall rows at the last draw */
	uint64_t zoom_start[MAX_ZOOM], zoom_end[MAX_ZOOM];
	int nzoom;
	struct detail detail;
	int detail_built_for;
	bool detail_focus;
	size_t detail_cursor, detail_top;
	int detail_rows;
};

#define VIEW(b) ((struct trace_view *)(b))

/* --- the trace ------------------------------------------------------------------ */

static void
index_trace(struct trace_view *v)
{
	const struct ob_trace *t = &v->trace;
	size_t n = t->nspans, i;

	v->subtree_end = ob_xrealloc(v->subtree_end, (n + 1) * sizeof *v->subtree_end);
	v->collapsed = ob_xrealloc(v->collapsed, (n + 1) * sizeof *v->collapsed);
	v->on_path = ob_xrealloc(v->on_path, (n + 1) * sizeof *v->on_path);
	v->visible = ob_xrealloc(v->visible, (n + 1) * sizeof *v->visible);
	memset(v->collapsed, 0, (n + 1) * sizeof *v->collapsed);
	/* depth-first order: a subtree ends where depth comes back to its own */
	for (i = n; i-- > 0;) {
		size_t j = i + 1;

		while (j < n && t->spans[j].depth > t->spans[i].depth)
			j = (size_t)v->subtree_end[j];
		v->subtree_end[i] = (int)j;
	}
	layout_critical_path(t, v->on_path);
}

static int
span_by_id(const struct ob_trace *t, const uint8_t id[8])
{
	size_t i;

	for (i = 0; i < t->nspans; i++)
		if (t->spans[i].span->span_id.len == 8 &&
		    memcmp(t->spans[i].span->span_id.data, id, 8) == 0)
			return (int)i;
	return -1;
}

static void
remember_cursor(struct trace_view *v)
{
	const otlp_span *s;

	if (!v->have_trace || v->cursor < 0 || (size_t)v->cursor >= v->trace.nspans)
		return;
	s = v->trace.spans[v->cursor].span;
	if (s->span_id.len == 8)
		memcpy(v->cursor_span, s->span_id.data, 8);
}

static int
cmp_span_id(const void *a, const void *b)
{
	return memcmp(a, b, 8);
}

/*
 * A new version of the trace: keep the cursor and the collapsed spans by
 * span id (the collapsed ids sorted, so a reload of a large trace with
 * many collapsed spans stays O(n log n)).
 */
static void
take_trace(struct trace_view *v, struct ob_trace *fresh)
{
	uint8_t (*collapsed_ids)[8] = NULL;
	size_t ncollapsed = 0, i;
	int at;

	if (v->have_trace) {
		remember_cursor(v);
		collapsed_ids = ob_xcalloc(v->trace.nspans + 1, 8);
		for (i = 0; i < v->trace.nspans; i++)
			if (v->collapsed[i] && v->trace.spans[i].span->span_id.len == 8)
				memcpy(collapsed_ids[ncollapsed++], v->trace.spans[i].span->span_id.data, 8);
		qsort(collapsed_ids, ncollapsed, 8, cmp_span_id);
		ob_trace_release(&v->trace);
	}
	v->trace = *fresh;
	v->have_trace = true;
	index_trace(v);
	for (i = 0; ncollapsed && i < v->trace.nspans; i++) {
		const otlp_span *s = v->trace.spans[i].span;

		v->collapsed[i] = s->span_id.len == 8 &&
				  bsearch(s->span_id.data, collapsed_ids, ncollapsed, 8, cmp_span_id);
	}
	free(collapsed_ids);
	at = v->loaded ? span_by_id(&v->trace, v->cursor_span) : -1;
	v->cursor = at >= 0 ? at : (v->trace.root >= 0 ? v->trace.root : 0);
	v->detail_built_for = -1;
	v->loaded = true;
}

/* fetch.c has decoded the trace on its thread; the view takes it. */
static void
on_result(struct tui *t, struct tui_view *b, struct tui_fetch_result *r)
{
	struct trace_view *v = VIEW(b);

	(void)t;
	if (r->kind != FETCH_TRACE || r->generation != v->gen)
		return;
	if (r->err) {
		snprintf(v->error, sizeof v->error, "%s",
			 r->err == OB_ENOTFOUND ? "no such trace in the store" : r->errbuf);
		v->loaded = true;
		return;
	}
	if (!r->have_decoded) {
		snprintf(v->error, sizeof v->error, "cannot decode the trace: %.400s",
			 r->decode_error);
		return;
	}
	v->error[0] = 0;
	take_trace(v, &r->decoded);
	r->have_decoded = false;
}

static void
on_tick(struct tui *t, struct tui_view *b)
{
	struct trace_view *v = VIEW(b);

	if (v->have_trace && v->trace.end_ns + LIVE_NS < ob_now_ns())
		return;     /* an old trace does not change: no need to ask again */
	if (tui_fetch_busy(t->fetch, FETCH_TRACE))
		return;
	v->gen = tui_next_generation(t);
	tui_fetch_trace(t->fetch, v->trace_id, v->gen);
}

/* --- visible rows ---------------------------------------------------------------- */

static void
build_visible(struct trace_view *v)
{
	size_t i = 0;

	v->nvisible = 0;
	while (i < v->trace.nspans) {
		v->visible[v->nvisible++] = (int)i;
		i = v->collapsed[i] ? (size_t)v->subtree_end[i] : i + 1;
	}
}

static size_t
visible_index(const struct trace_view *v, int span)
{
	size_t i;

	for (i = 0; i < v->nvisible; i++)
		if (v->visible[i] >= span)
			return v->visible[i] == span ? i : (i ? i - 1 : 0);
	return v->nvisible ? v->nvisible - 1 : 0;
}

/* Make sure the cursor's span is visible: open its collapsed ancestors. */
static void
reveal(struct trace_view *v, int span)
{
	int p = v->trace.spans[span].parent;

	for (; p >= 0; p = v->trace.spans[p].parent)
		v->collapsed[p] = false;
}

/* --- drawing ---------------------------------------------------------------------- */

static void
window(const struct trace_view *v, uint64_t *start, uint64_t *end)
{
	if (v->nzoom) {
		*start = v->zoom_start[v->nzoom - 1];
		*end = v->zoom_end[v->nzoom - 1];
	} else {
		*start = v->trace.start_ns;
		*end = v->trace.end_ns > v->trace.start_ns ? v->trace.end_ns : v->trace.start_ns + 1;
	}
}

static void
draw_ruler(struct trace_view *v, struct tui_canvas *c, int y, int x0, int width)
{
	uint64_t start, end;
	char label[16];
	int i, end_x;

	window(v, &start, &end);
	tui_canvas_text(c, y, 0, x0 - 1, TS_HEADER, v->nzoom ? "SPAN (zoomed: - or Z back)"
							     : "SPAN");
	layout_duration(end - v->trace.start_ns, label, sizeof label);
	end_x = x0 + width - (int)strlen(label);
	tui_canvas_text(c, y, end_x, -1, TS_DIM, label);
	for (i = 0; i < 4; i++) {
		int x = x0 + i * width / 4, room = (i == 3 ? end_x : x0 + (i + 1) * width / 4) - x - 1;

		layout_duration((end - start) * (uint64_t)i / 4 + (start - v->trace.start_ns), label,
				sizeof label);
		if ((int)strlen(label) <= room)   /* a label that does not fit is left out */
			tui_canvas_text(c, y, x, room, TS_DIM, label);
	}
}

static void
draw_span_row(struct trace_view *v, struct tui_canvas *c, int y, int span, int x0, int width)
{
	const struct ob_span_ref *r = &v->trace.spans[span];
	bool error = ob_span_is_error(r->span), selected = span == v->cursor;
	int depth = r->depth > 24 ? 24 : r->depth, x = depth * 2;
	const char *mark = r->nchildren == 0 ? " " : v->collapsed[span] ? (c->ascii ? "+" : "\xe2\x96\xb8")
									  : (c->ascii ? "-" : "\xe2\x96\xbe");
	enum tui_style bar_style;
	struct layout_bar bar;
	uint64_t start, end;
	char dur[16];

	x += tui_canvas_text(c, y, x, x0 - x - 1, TS_DIM, mark);
	x += tui_canvas_text(c, y, x + 1, x0 - x - 2, tui_service_style(r->service), r->service) + 2;
	if (error)
		x += tui_canvas_text(c, y, x, x0 - x - 1, TS_ERROR, "!");
	tui_canvas_text(c, y, x, x0 - x - 1, error ? TS_ERROR : TS_NORMAL,
			r->span->name ? r->span->name : "");
	if (selected)
		tui_canvas_restyle(c, y, 0, x0 - 1, TS_SELECTED);
	window(v, &start, &end);
	bar = layout_bar(start, end, r->start_ns, r->end_ns, width);
	if (v->critical)
		bar_style = v->on_path[span] ? TS_CRITICAL : TS_DIM;
	else
		bar_style = error ? TS_ERROR : tui_service_style(r->service);
	if (bar.len > 0)
		tui_canvas_bar(c, y, x0 + bar.x, bar.len, bar_style, NULL);
	layout_duration(r->end_ns - r->start_ns, dur, sizeof dur);
	tui_canvas_text(c, y, c->w - DURATION_COLS + (DURATION_COLS - 1 - (int)strlen(dur)),
			DURATION_COLS, selected ? TS_SELECTED : TS_DIM, dur);
}

static void
draw_detail(struct tui *t, struct trace_view *v, struct tui_canvas *c, int top, int height)
{
	size_t i;
	int y;

	tui_canvas_fill(c, top, 0, c->w, tui_glyph_hline(c), TS_BORDER);
	tui_canvas_text(c, top, 2, -1, v->detail_focus ? TS_KEY : TS_BORDER,
			v->detail_focus ? " Details (Tab: back to the spans) "
					: " Details (Tab: scroll, Enter on a link opens it) ");
	if (v->detail_built_for != v->cursor) {
		detail_build(&v->detail, &v->trace, v->cursor, t->status.origin);
		v->detail_built_for = v->cursor;
		v->detail_cursor = v->detail_top = 0;
	}
	v->detail_rows = height - 1;
	if (v->detail_cursor < v->detail_top)
		v->detail_top = v->detail_cursor;
	if (v->detail_rows > 0 && v->detail_cursor >= v->detail_top + (size_t)v->detail_rows)
		v->detail_top = v->detail_cursor - (size_t)v->detail_rows + 1;
	for (i = v->detail_top, y = top + 1; i < v->detail.n && y < top + height; i++, y++) {
		const struct detail_line *l = &v->detail.lines[i];

		tui_canvas_text(c, y, 1 + 2 * l->indent, c->w - 2 - 2 * l->indent, l->style,
				l->text);
		if (v->detail_focus && i == v->detail_cursor)
			tui_canvas_restyle(c, y, 0, c->w, TS_SELECTED);
	}
}

static void
draw(struct tui *t, struct tui_view *b, struct tui_canvas *c, int top, int height)
{
	struct trace_view *v = VIEW(b);
	int wf_height = height * 3 / 5, x0, width, y;
	size_t i, cur;

	(void)t;
	if (!v->have_trace) {
		tui_canvas_text(c, top + 1, 2, c->w - 4, v->error[0] ? TS_ERROR : TS_DIM,
				v->error[0] ? v->error : "loading...");
		return;
	}
	if (wf_height < 3)
		wf_height = height;
	x0 = c->w * 2 / 5 > 60 ? 60 : c->w * 2 / 5;
	width = c->w - x0 - DURATION_COLS;
	if (width < 4)
		width = 4;
	build_visible(v);
	draw_ruler(v, c, top, x0, width);
	v->rows = wf_height - 1;
	cur = visible_index(v, v->cursor);
	if (cur < v->top)
		v->top = cur;
	if (v->rows > 0 && cur >= v->top + (size_t)v->rows)
		v->top = cur - (size_t)v->rows + 1;
	for (i = v->top, y = top + 1; i < v->nvisible && y < top + wf_height; i++, y++)
		draw_span_row(v, c, y, v->visible[i], x0, width);
	if (wf_height < height)
		draw_detail(t, v, c, top + wf_height, height - wf_height);
}

static void
title(struct tui *t, struct tui_view *b, char *out, size_t cap)
{
	struct trace_view *v = VIEW(b);
	char id[33], dur[16];

	(void)t;
	ob_hex_encode(v->trace_id, 16, id);
	if (!v->have_trace) {
		snprintf(out, cap, "%s", id);
		return;
	}
	layout_duration(v->trace.end_ns - v->trace.start_ns, dur, sizeof dur);
	snprintf(out, cap, "%s  %s  %zu spans  %zu errors%s", id, dur, v->trace.nspans,
		 v->trace.nerrors, v->critical ? "  critical path" : "");
}

/* --- keys -------------------------------------------------------------------------- */

static void
move(struct trace_view *v, long delta)
{
	long i;

	if (!v->have_trace)
		return;
	build_visible(v);
	i = (long)visible_index(v, v->cursor) + delta;
	if (i < 0)
		i = 0;
	if (i >= (long)v->nvisible)
		i = (long)v->nvisible - 1;
	v->cursor = v->visible[i];
}

static void k_down(struct tui *t, struct tui_view *b) { (void)t; move(VIEW(b), 1); }
static void k_up(struct tui *t, struct tui_view *b) { (void)t; move(VIEW(b), -1); }
static void k_pgdn(struct tui *t, struct tui_view *b) { (void)t; move(VIEW(b), VIEW(b)->rows); }
static void k_pgup(struct tui *t, struct tui_view *b) { (void)t; move(VIEW(b), -VIEW(b)->rows); }
static void k_top(struct tui *t, struct tui_view *b) { (void)t; move(VIEW(b), -(1L << 30)); }
static void k_bottom(struct tui *t, struct tui_view *b) { (void)t; move(VIEW(b), 1L << 30); }

static void
k_toggle(struct tui *t, struct tui_view *b)
{
	struct trace_view *v = VIEW(b);

	(void)t;
	if (v->have_trace && v->trace.spans[v->cursor].nchildren)
		v->collapsed[v->cursor] = !v->collapsed[v->cursor];
}

static void
k_collapse(struct tui *t, struct tui_view *b)
{
	struct trace_view *v = VIEW(b);
	int parent;

	(void)t;
	if (!v->have_trace)
		return;
	if (v->trace.spans[v->cursor].nchildren && !v->collapsed[v->cursor]) {
		v->collapsed[v->cursor] = true;
	} else if ((parent = v->trace.spans[v->cursor].parent) >= 0) {
		v->cursor = parent;   /* as in a file tree: h on a leaf goes up */
	}
}

static void
k_expand(struct tui *t, struct tui_view *b)
{
	struct trace_view *v = VIEW(b);

	(void)t;
	if (v->have_trace)
		v->collapsed[v->cursor] = false;
}

static void
set_all(struct trace_view *v, bool collapsed)
{
	size_t i;

	for (i = 0; v->have_trace && i < v->trace.nspans; i++)
		v->collapsed[i] = collapsed && v->trace.spans[i].nchildren > 0 &&
				  v->trace.spans[i].parent >= 0;
	/* the roots stay open, so the first level shows */
	if (v->have_trace && collapsed && v->trace.spans[v->cursor].parent >= 0) {
		int p = v->cursor;

		while (v->trace.spans[p].parent >= 0 && v->trace.spans[v->trace.spans[p].parent].parent >= 0)
			p = v->trace.spans[p].parent;
		v->cursor = p;
	}
}

static void k_collapse_all(struct tui *t, struct tui_view *b) { (void)t; set_all(VIEW(b), true); }
static void k_expand_all(struct tui *t, struct tui_view *b) { (void)t; set_all(VIEW(b), false); }

static void
next_error(struct tui *t, struct trace_view *v, int step)
{
	long n = (long)v->trace.nspans, i;

	if (!v->have_trace || n == 0)
		return;
	for (i = 1; i <= n; i++) {
		int s = (int)(((long)v->cursor + step * i + n * 2) % n);

		if (ob_span_is_error(v->trace.spans[s].span)) {
			v->cursor = s;
			reveal(v, s);
			return;
		}
	}
	tui_message(t, false, "no error span in this trace");
}

static void k_next_error(struct tui *t, struct tui_view *b) { next_error(t, VIEW(b), 1); }
static void k_prev_error(struct tui *t, struct tui_view *b) { next_error(t, VIEW(b), -1); }

static void
k_critical(struct tui *t, struct tui_view *b)
{
	(void)t;
	VIEW(b)->critical = !VIEW(b)->critical;
}

static void
k_zoom_in(struct tui *t, struct tui_view *b)
{
	struct trace_view *v = VIEW(b);
	const struct ob_span_ref *r;

	(void)t;
	if (!v->have_trace || v->nzoom == MAX_ZOOM)
		return;
	r = &v->trace.spans[v->cursor];
	v->zoom_start[v->nzoom] = r->start_ns;
	v->zoom_end[v->nzoom] = r->end_ns > r->start_ns ? r->end_ns : r->start_ns + 1;
	v->nzoom++;
}

/* m: the RED charts of the selected span's service */
static void
k_red(struct tui *t, struct tui_view *b)
{
	struct trace_view *v = VIEW(b);
	const char *svc;

	if (!v->have_trace)
		return;
	svc = v->trace.spans[v->cursor].service;
	if (svc == NULL || *svc == 0)
		tui_message(t, true, "the span has no service.name");
	else
		tui_push(t, view_metrics_red_new(t, svc));
}

static void
k_zoom_out(struct tui *t, struct tui_view *b)
{
	(void)t;
	if (VIEW(b)->nzoom)
		VIEW(b)->nzoom--;
}

static void
k_focus(struct tui *t, struct tui_view *b)
{
	(void)t;
	VIEW(b)->detail_focus = !VIEW(b)->detail_focus;
}

static void
k_copy(struct tui *t, struct tui_view *b)
{
	char hex[33];

	ob_hex_encode(VIEW(b)->trace_id, 16, hex);
	tui_clipboard(t, hex);
}

static const struct tui_binding bindings[] = {
	{ 'j', TK_DOWN, "j \xe2\x86\x93", "next span", k_down },
	{ 'k', TK_UP, "k \xe2\x86\x91", "previous span", k_up },
	{ TK_PGDN, TK_CTRL('f'), "PgDn ^F", "a page down", k_pgdn },
	{ TK_PGUP, TK_CTRL('b'), "PgUp ^B", "a page up", k_pgup },
	{ 'g', TK_HOME, "g Home", "the first span", k_top },
	{ 'G', TK_END, "G End", "the last span", k_bottom },
	{ ' ', 0, "Space", "collapse or expand the span", k_toggle },
	{ 'h', TK_LEFT, "h \xe2\x86\x90", "collapse; on a leaf, go to the parent", k_collapse },
	{ 'l', TK_RIGHT, "l \xe2\x86\x92", "expand", k_expand },
	{ '[', 0, "[", "collapse all", k_collapse_all },
	{ ']', 0, "]", "expand all", k_expand_all },
	{ 'e', 0, "e", "next error span", k_next_error },
	{ 'E', 0, "E", "previous error span", k_prev_error },
	{ 'c', 0, "c", "highlight the critical path", k_critical },
	{ 'z', '+', "z +", "zoom into the span's time window", k_zoom_in },
	{ 'Z', '-', "Z -", "zoom back out", k_zoom_out },
	{ TK_TAB, 0, "Tab", "move between the spans and the details", k_focus },
	{ 'y', 0, "y", "copy the trace id (OSC 52)", k_copy },
	{ 'm', 0, "m", "the RED charts of the span's service", k_red },
};

/* Keys while the details have the focus: scroll, open links. */
static bool
on_key(struct tui *t, struct tui_view *b, int key)
{
	struct trace_view *v = VIEW(b);
	const struct detail_line *l;

	if (!v->detail_focus)
		return false;
	if ((key == 'j' || key == TK_DOWN) && v->detail_cursor + 1 < v->detail.n) {
		v->detail_cursor++;
	} else if ((key == 'k' || key == TK_UP) && v->detail_cursor > 0) {
		v->detail_cursor--;
	} else if (key == TK_ENTER && v->detail_cursor < v->detail.n) {
		l = &v->detail.lines[v->detail_cursor];
		if (l->is_link)
			tui_push(t, view_trace_new(t, l->link_trace));
	} else if (key == TK_ESC) {
		v->detail_focus = false;
	} else {
		return key == 'j' || key == 'k' || key == TK_DOWN || key == TK_UP;
	}
	return true;
}

static void
on_mouse(struct tui *t, struct tui_view *b, enum tui_mouse_kind kind, int y, int x)
{
	struct trace_view *v = VIEW(b);
	size_t row;

	(void)x;
	if (kind == MOUSE_WHEEL_DOWN || kind == MOUSE_WHEEL_UP) {
		move(v, kind == MOUSE_WHEEL_DOWN ? 3 : -3);
		return;
	}
	if (!v->have_trace || y < 1 || y > v->rows)
		return;
	build_visible(v);
	row = v->top + (size_t)(y - 1);
	if (row >= v->nvisible)
		return;
	v->cursor = v->visible[row];
	if (kind == MOUSE_DOUBLE)
		k_toggle(t, b);
}

static void
view_free(struct tui_view *b)
{
	struct trace_view *v = VIEW(b);

	if (v->have_trace)
		ob_trace_release(&v->trace);
	free(v->subtree_end);
	free(v->collapsed);
	free(v->on_path);
	free(v->visible);
	detail_release(&v->detail);
	free(v);
}

static const struct tui_view_ops ops = {
	.name = "Trace",
	.bindings = bindings,
	.nbindings = sizeof bindings / sizeof bindings[0],
	.draw = draw,
	.key = on_key,
	.mouse = on_mouse,
	.result = on_result,
	.tick = on_tick,
	.title = title,
	.free = view_free,
};

struct tui_view *
view_trace_new(struct tui *t, const uint8_t id[16])
{
	struct trace_view *v = ob_xcalloc(1, sizeof *v);

	(void)t;
	v->base.ops = &ops;
	memcpy(v->trace_id, id, 16);
	v->detail_built_for = -1;
	return &v->base;
}
