/*
 * view_traces.c - the Traces view: a live list of traces, newest first.
 *
 * The view holds a window of rows: the newest page, refreshed every tick,
 * and older pages fetched as the cursor nears the end of what is loaded
 * (each "before" the oldest row held), so a store of a million traces
 * scrolls by pages and never loads whole.  A refresh merges the new page
 * into the rows (a trace that grew replaces its row), then the cursor is
 * put back on the trace it was on at the same screen row, so traces that
 * arrive never move the row under the cursor; with the cursor on the
 * newest row the view follows new traces instead.  At most MAX_ROWS rows
 * are held; past that the oldest are dropped.
 *
 * The '/' filter becomes TraceQL ({ name =~ "(?i).*x.*" } || { resource.
 * service.name =~ "(?i).*x.*" }), so it matches every span of a trace,
 * not just what the row shows, in any case ("CART" finds cart, as RE2's
 * (?i) says in Tempo too); a ':q' query and the filter combine with &&.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/mem.h"
#include "core/util.h"
#include "tui/cmdline.h"
#include "tui/layout.h"
#include "tui/tui.h"

#define PAGE 200
#define MAX_ROWS 50000

/* SORT_WORST: traces with failed spans first, each group slowest first (from the Services view). */
enum sort_by { SORT_TIME, SORT_DURATION, SORT_WORST };

struct traces_view {
	struct tui_view base;
	char query[1024];           /* from :q */
	char filter[128];           /* from / */
	bool editing;               /* typing the filter */
	enum sort_by sort;
	struct tui_trace_row *rows;
	size_t nrows;
	size_t cursor, top;
	int height;                 /* rows shown at the last draw */
	uint64_t gen_page, gen_more;
	bool more_pending, at_end;
	char error[OB_ERRLEN];
	uint64_t elapsed_ns;
	bool loaded;
};

static struct traces_view *
bottom_view(struct tui *t)
{
	struct tui_view *v = t->view;

	while (v->below)
		v = v->below;
	return (struct traces_view *)v;
}

/* --- queries ----------------------------------------------------------------- */

/*
 * A substring as the inside of a TraceQL string holding a regular
 * expression: regex metacharacters escaped for the regex, then '\\' and
 * '"' escaped for the string.
 */
static void
regex_quote(const char *in, char *out, size_t cap)
{
	size_t o = 0;

	for (; *in && o + 5 < cap; in++) {
		if (strchr("\\.^$|?*+()[]{}", *in)) {
			out[o++] = '\\';      /* the regex's backslash, as the string writes it */
			out[o++] = '\\';
		}
		if (*in == '\\' || *in == '"')
			out[o++] = '\\';
		out[o++] = *in;
	}
	out[o] = 0;
}

static void
build_query(const struct traces_view *v, char *out, size_t cap)
{
	char q[400];

	if (v->filter[0] == 0) {
		snprintf(out, cap, "%s", v->query);
		return;
	}
	regex_quote(v->filter, q, sizeof q);
	if (v->query[0] == 0)
		snprintf(out, cap, "{ name =~ \"(?i).*%s.*\" } ||"
			 " { resource.service.name =~ \"(?i).*%s.*\" }", q, q);
	else
		snprintf(out, cap, "(%s) && ({ name =~ \"(?i).*%s.*\" } ||"
			 " { resource.service.name =~ \"(?i).*%s.*\" })", v->query, q, q);
}

/* A query for the view's rows in the time range every list uses. */
static void
list_query(struct tui *t, const struct traces_view *v, struct tui_list_query *q)
{
	memset(q, 0, sizeof *q);
	build_query(v, q->traceql, sizeof q->traceql);
	q->since_ns = t->since_ns;
	q->until_ns = t->until_ns;
}

static void
ask_page(struct tui *t, struct traces_view *v)
{
	struct tui_list_query q;

	list_query(t, v, &q);
	q.limit = v->height > PAGE / 2 ? (size_t)v->height * 2 : PAGE;
	v->gen_page = tui_next_generation(t);
	tui_fetch_list(t->fetch, &q, v->gen_page);
}

static void
ask_more(struct tui *t, struct traces_view *v)
{
	struct tui_list_query q;
	uint64_t oldest = UINT64_MAX;
	size_t i;

	if (v->more_pending || v->at_end || v->nrows == 0 || v->nrows >= MAX_ROWS)
		return;
	for (i = 0; i < v->nrows; i++)
		if (v->rows[i].start_ns < oldest)
			oldest = v->rows[i].start_ns;
	list_query(t, v, &q);
	q.before_ns = oldest;
	q.limit = PAGE;
	v->gen_more = tui_next_generation(t);
	v->more_pending = true;
	/* the one list slot: a page asked now replaces this, which is fine */
	tui_fetch_list(t->fetch, &q, v->gen_more);
}

static void
restart(struct tui *t, struct traces_view *v)
{
	free(v->rows);
	v->rows = NULL;
	v->nrows = v->cursor = v->top = 0;
	v->at_end = v->more_pending = v->loaded = false;
	v->error[0] = 0;
	ask_page(t, v);
}

void
view_traces_set_query(struct tui *t, const char *traceql)
{
	struct traces_view *v = bottom_view(t);

	snprintf(v->query, sizeof v->query, "%s", traceql);
	restart(t, v);
}

void
view_traces_refresh(struct tui *t)
{
	restart(t, bottom_view(t));
}

void
view_traces_open_worst(struct tui *t, const char *traceql)
{
	struct traces_view *v = bottom_view(t);

	while (t->view->below)
		tui_pop(t);
	v->filter[0] = 0;
	v->sort = SORT_WORST;
	view_traces_set_query(t, traceql);
}

/* --- merging results ---------------------------------------------------------- */

static int
cmp_time(const void *a, const void *b)
{
	const struct tui_trace_row *x = a, *y = b;

	if (x->start_ns != y->start_ns)
		return x->start_ns > y->start_ns ? -1 : 1;
	return memcmp(x->trace_id, y->trace_id, 16);
}

static int
cmp_duration(const void *a, const void *b)
{
	const struct tui_trace_row *x = a, *y = b;

	if (x->duration_ns != y->duration_ns)
		return x->duration_ns > y->duration_ns ? -1 : 1;
	return cmp_time(a, b);
}

static int
cmp_worst(const void *a, const void *b)
{
	const struct tui_trace_row *x = a, *y = b;

	if ((x->nerrors > 0) != (y->nerrors > 0))
		return x->nerrors > 0 ? -1 : 1;
	return cmp_duration(a, b);
}

static void
sort_rows(struct traces_view *v)
{
	qsort(v->rows, v->nrows, sizeof *v->rows,
	      v->sort == SORT_TIME ? cmp_time : v->sort == SORT_DURATION ? cmp_duration : cmp_worst);
}

static long
find_row(const struct traces_view *v, const uint8_t id[16])
{
	size_t i;

	for (i = 0; i < v->nrows; i++)
		if (memcmp(v->rows[i].trace_id, id, 16) == 0)
			return (long)i;
	return -1;
}

static uint64_t
id_hash(const uint8_t id[16])
{
	uint64_t a, b;

	memcpy(&a, id, 8);
	memcpy(&b, id + 8, 8);
	return (a ^ (b * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
}

/*
 * Drop the rows of traces that rows[0..n) summarise again (a trace that
 * grew): one pass over what is held, with the page's ids in a small hash
 * set, so a tick costs O(held + page), not their product.
 */
static void
drop_replaced(struct traces_view *v, const struct tui_trace_row *rows, size_t n)
{
	size_t cap = 16, i, o = 0, k;
	uint32_t *set;

	while (cap < 2 * n)
		cap *= 2;
	set = ob_xcalloc(cap, sizeof *set);
	for (i = 0; i < n; i++) {
		for (k = id_hash(rows[i].trace_id) & (cap - 1); set[k]; k = (k + 1) & (cap - 1))
			;
		set[k] = (uint32_t)i + 1;
	}
	for (i = 0; i < v->nrows; i++) {
		bool replaced = false;

		for (k = id_hash(v->rows[i].trace_id) & (cap - 1); set[k] && !replaced;
		     k = (k + 1) & (cap - 1))
			replaced = memcmp(rows[set[k] - 1].trace_id, v->rows[i].trace_id, 16) == 0;
		if (!replaced)
			v->rows[o++] = v->rows[i];
	}
	v->nrows = o;
	free(set);
}

/*
 * Put rows in, replacing rows of the same trace; keep the cursor on its
 * trace at the same screen row (or on the newest row when it was there).
 */
static void
merge(struct traces_view *v, const struct tui_trace_row *rows, size_t n)
{
	uint8_t cursor_id[16];
	bool have_cursor = v->nrows > 0, follow = v->cursor == 0 && v->sort == SORT_TIME;
	size_t screen_row = v->cursor - v->top;
	long at;

	if (have_cursor)
		memcpy(cursor_id, v->rows[v->cursor].trace_id, 16);
	drop_replaced(v, rows, n);
	v->rows = ob_xrealloc(v->rows, (v->nrows + n + 1) * sizeof *v->rows);
	if (n)
		memcpy(v->rows + v->nrows, rows, n * sizeof *rows);
	v->nrows += n;
	sort_rows(v);
	if (v->nrows > MAX_ROWS)
		v->nrows = MAX_ROWS;
	if (!have_cursor || follow) {
		v->cursor = v->top = 0;
		return;
	}
	at = find_row(v, cursor_id);
	v->cursor = at >= 0 ? (size_t)at : (v->cursor < v->nrows ? v->cursor : v->nrows - 1);
	v->top = v->cursor >= screen_row ? v->cursor - screen_row : 0;
}

static void
on_result(struct tui *t, struct tui_view *base, struct tui_fetch_result *r)
{
	struct traces_view *v = (struct traces_view *)base;

	(void)t;
	if (r->kind != FETCH_LIST || (r->generation != v->gen_page && r->generation != v->gen_more))
		return;
	if (r->generation == v->gen_more)
		v->more_pending = false;
	if (r->err) {
		snprintf(v->error, sizeof v->error, "%s", r->errbuf);
		return;
	}
	v->error[0] = 0;
	v->loaded = true;
	v->elapsed_ns = r->elapsed_ns;
	/*
	 * Whether older traces remain past the oldest row held: an older page
	 * that came back short says no; the newest page says no when short,
	 * and says "maybe" when full while it is all we hold (a store that
	 * started empty grows past a page, and End must then fetch more).
	 */
	if (r->nrows < r->query.limit)
		v->at_end = true;
	else if (r->generation == v->gen_page && v->nrows <= r->query.limit)
		v->at_end = false;
	merge(v, r->rows, r->nrows);
}

static void
on_tick(struct tui *t, struct tui_view *base)
{
	struct traces_view *v = (struct traces_view *)base;

	if (!tui_fetch_busy(t->fetch, FETCH_LIST))
		ask_page(t, v);
}

/* --- drawing ---------------------------------------------------------------------- */

enum { COL_TIME, COL_SERVICE, COL_NAME, COL_DURATION, COL_SPANS, COL_SERVICES, COL_ERRORS,
       NCOLS };

static const struct layout_column columns[NCOLS] = {
	[COL_TIME] = { 12, 12, 5, false },
	[COL_SERVICE] = { 10, 20, 8, false },
	[COL_NAME] = { 12, 40, 9, true },
	[COL_DURATION] = { 9, 9, 7, false },
	[COL_SPANS] = { 5, 6, 4, false },
	[COL_SERVICES] = { 4, 8, 2, false },
	[COL_ERRORS] = { 3, 6, 6, false },
};
static const char *const headers[NCOLS] = { "TIME", "SERVICE", "ROOT SPAN", "DURATION",
					    "SPANS", "SVCS", "ERR" };

static void
draw_row(struct tui_canvas *c, int y, const int *widths, const struct tui_trace_row *r,
	 bool selected)
{
	char buf[64];
	int x = 0, i;

	for (i = 0; i < NCOLS; i++) {
		enum tui_style st = TS_NORMAL;
		const char *text = buf;

		if (widths[i] == 0)
			continue;
		switch (i) {
		case COL_TIME:
			layout_clock(r->start_ns, buf, sizeof buf);
			st = TS_DIM;
			break;
		case COL_SERVICE:
			text = r->root_service[0] ? r->root_service : "<root not yet>";
			st = r->root_service[0] ? tui_service_style(r->root_service) : TS_DIM;
			break;
		case COL_NAME:
			text = r->root_name;
			break;
		case COL_DURATION:
			layout_duration(r->duration_ns, buf, sizeof buf);
			break;
		case COL_SPANS:
			snprintf(buf, sizeof buf, "%u", r->nspans);
			break;
		case COL_SERVICES:
			snprintf(buf, sizeof buf, "%u", r->nservices);
			break;
		default:
			buf[0] = 0;
			if (r->nerrors)
				snprintf(buf, sizeof buf, "!%u", r->nerrors);
			st = TS_ERROR;
		}
		if (i == COL_DURATION || i == COL_SPANS || i == COL_SERVICES) {
			int len = (int)strlen(text);

			tui_canvas_text(c, y, x + (widths[i] > len ? widths[i] - len : 0), widths[i],
					st, text);
		} else {
			tui_canvas_text(c, y, x, widths[i], st, text);
		}
		x += widths[i] + 1;
	}
	if (selected)
		tui_canvas_restyle(c, y, 0, c->w, TS_SELECTED);
}

static void
draw_empty(struct tui *t, struct traces_view *v, struct tui_canvas *c, int y)
{
	if (v->error[0]) {
		tui_canvas_text(c, y, 2, c->w - 4, TS_ERROR, v->error);
		return;
	}
	if (!v->loaded) {
		tui_canvas_text(c, y, 2, -1, TS_DIM, "loading...");
		return;
	}
	if (v->query[0] || v->filter[0] || t->since_ns) {
		tui_canvas_text(c, y, 2, -1, TS_DIM, "No trace matches.  Esc clears the filter,"
						       " :q alone the query, :since all the range.");
		return;
	}
	tui_canvas_text(c, y, 2, -1, TS_NORMAL, "No traces yet.");
	tui_canvas_text(c, y + 2, 2, -1, TS_DIM, "Point an OpenTelemetry SDK or Collector at the"
						  " receivers on the status line below");
	tui_canvas_text(c, y + 3, 2, -1, TS_DIM, "(grpc: OTLP/gRPC, http: OTLP/HTTP, zipkin: Zipkin"
						  " v2), or run 'obstui demo' to watch a small shop.");
}

static void
draw(struct tui *t, struct tui_view *base, struct tui_canvas *c, int top, int height)
{
	struct traces_view *v = (struct traces_view *)base;
	int widths[NCOLS], x = 0, i, y, list_top = top + 1, rows;

	layout_fit_columns(columns, NCOLS, c->w, widths);
	if (v->editing || v->filter[0]) {
		/* the filter prompt takes the header row */
		x = tui_canvas_text(c, top, 0, -1, TS_KEY, "/");
		x += tui_canvas_text(c, top, x, c->w - 2, TS_MATCH, v->filter);
		if (v->editing)
			tui_canvas_fill(c, top, x, 1, ' ', TS_SELECTED);
		list_top++;
		top++;
		height--;
	}
	for (i = 0, x = 0; i < NCOLS; i++) {
		bool numeric = i == COL_DURATION || i == COL_SPANS || i == COL_SERVICES;
		bool sorted = (i == COL_TIME && v->sort == SORT_TIME) ||
			      (i == COL_DURATION && v->sort != SORT_TIME) ||
			      (i == COL_ERRORS && v->sort == SORT_WORST);
		const char *arrow = c->ascii ? "v" : "\xe2\x96\xbe";
		int len = (int)strlen(headers[i]) + (sorted ? 1 : 0);
		int hx = numeric && widths[i] > len ? x + widths[i] - len : x;

		if (widths[i] == 0)
			continue;
		/* numbers are right-aligned, and so are their headers */
		if (sorted && numeric)
			hx += tui_canvas_text(c, top, hx, 1, TS_KEY, arrow);
		hx += tui_canvas_text(c, top, hx, widths[i], TS_HEADER, headers[i]);
		if (sorted && !numeric)
			tui_canvas_text(c, top, hx, 1, TS_KEY, arrow);
		x += widths[i] + 1;
	}
	rows = height - 1;
	v->height = rows;
	if (v->nrows == 0) {
		draw_empty(t, v, c, list_top + 1);
		return;
	}
	if (v->cursor < v->top)
		v->top = v->cursor;
	if (rows > 0 && v->cursor >= v->top + (size_t)rows)
		v->top = v->cursor - (size_t)rows + 1;
	for (y = 0; y < rows && v->top + (size_t)y < v->nrows; y++)
		draw_row(c, list_top + y, widths, &v->rows[v->top + (size_t)y],
			 v->top + (size_t)y == v->cursor);
	if (v->top + (size_t)rows >= v->nrows && !v->at_end)
		ask_more(t, v);
}

/*
 * A range's end in local time, as the rows show times, with milliseconds
 * when it has them; the date first unless it is shown_date, the date of
 * the end already shown (which it becomes).
 */
#define DATE_LEN 16
static void
range_end(uint64_t ns, char shown_date[DATE_LEN], char *out, size_t cap)
{
	time_t seconds = (time_t)(ns / 1000000000);
	unsigned ms = (unsigned)(ns / 1000000 % 1000);
	char date[DATE_LEN], clock[16];
	struct tm tm;
	size_t o = 0;

	if (localtime_r(&seconds, &tm) == NULL) {
		snprintf(out, cap, "?");
		return;
	}
	strftime(date, sizeof date, "%Y-%m-%d", &tm);
	strftime(clock, sizeof clock, "%H:%M:%S", &tm);
	if (strcmp(date, shown_date) != 0)
		o = (size_t)snprintf(out, cap, "%s ", date);
	snprintf(out + o, cap - o, ms ? "%s.%03u" : "%s", clock, ms);
	memcpy(shown_date, date, DATE_LEN);
}

/* "  since 15m ago", "  range 2025-03-14 09:26:45 to 09:27:15", or "". */
void
view_traces_range_text(const struct tui *t, char *out, size_t cap)
{
	char from[48], to[48] = "now", date[DATE_LEN] = "";

	out[0] = 0;
	if (t->range) {
		range_end(t->since_ns, date, from, sizeof from);
		if (t->until_ns)
			range_end(t->until_ns, date, to, sizeof to);
		snprintf(out, cap, "  range %s to %s", from, to);
	} else if (t->since_ns) {
		layout_ago(t->since_ns, ob_now_ns(), from, sizeof from);
		snprintf(out, cap, "  since %s", from);
	}
}

static void
title(struct tui *t, struct tui_view *base, char *out, size_t cap)
{
	struct traces_view *v = (struct traces_view *)base;
	char range[128], took[32];

	view_traces_range_text(t, range, sizeof range);
	layout_duration(v->elapsed_ns, took, sizeof took);
	snprintf(out, cap, "%zu%s traces%s%s%s  sorted by %s  (%s)", v->nrows,
		 v->at_end ? "" : "+", v->query[0] ? "  q: " : "", v->query, range,
		 v->sort == SORT_TIME ? "time" : v->sort == SORT_DURATION ? "duration" :
		 "failing, slowest", took);
}

/* --- keys ---------------------------------------------------------------------- */

static void
move(struct traces_view *v, long delta)
{
	long c = (long)v->cursor + delta;

	if (c < 0 || v->nrows == 0)
		c = 0;
	else if (c >= (long)v->nrows)
		c = (long)v->nrows - 1;
	v->cursor = (size_t)c;
}

#define VIEW(b) ((struct traces_view *)(b))
static void k_down(struct tui *t, struct tui_view *b) { (void)t; move(VIEW(b), 1); }
static void k_up(struct tui *t, struct tui_view *b) { (void)t; move(VIEW(b), -1); }
static void k_pgdn(struct tui *t, struct tui_view *b) { (void)t; move(VIEW(b), VIEW(b)->height); }
static void k_pgup(struct tui *t, struct tui_view *b) { (void)t; move(VIEW(b), -VIEW(b)->height); }
static void k_top(struct tui *t, struct tui_view *b) { (void)t; VIEW(b)->cursor = 0; }
static void k_bottom(struct tui *t, struct tui_view *b) { (void)t; move(VIEW(b), MAX_ROWS); }

static void
k_open(struct tui *t, struct tui_view *b)
{
	struct traces_view *v = VIEW(b);

	if (v->nrows)
		tui_push(t, view_trace_new(t, v->rows[v->cursor].trace_id));
}

static void
k_filter(struct tui *t, struct tui_view *b)
{
	(void)t;
	VIEW(b)->editing = true;
}

static void
k_sort(struct tui *t, struct tui_view *b)
{
	struct traces_view *v = VIEW(b);
	uint8_t id[16];
	long at;

	(void)t;
	v->sort = v->sort == SORT_TIME ? SORT_DURATION : SORT_TIME;
	if (v->nrows == 0)
		return;
	memcpy(id, v->rows[v->cursor].trace_id, 16);
	sort_rows(v);
	at = find_row(v, id);
	v->cursor = at >= 0 ? (size_t)at : 0;
}

static void
k_clear(struct tui *t, struct tui_view *b)
{
	struct traces_view *v = VIEW(b);

	if (v->filter[0]) {
		v->filter[0] = 0;
		restart(t, v);
	}
}

static void
k_copy(struct tui *t, struct tui_view *b)
{
	struct traces_view *v = VIEW(b);
	char hex[33];

	if (v->nrows == 0)
		return;
	ob_hex_encode(v->rows[v->cursor].trace_id, 16, hex);
	tui_clipboard(t, hex);
}

static void
k_query(struct tui *t, struct tui_view *b)
{
	char text[sizeof VIEW(b)->query + 4];

	snprintf(text, sizeof text, "q %s", VIEW(b)->query);
	cmdline_open(t, text);
}

static void k_refresh(struct tui *t, struct tui_view *b) { restart(t, VIEW(b)); }

static const struct tui_binding bindings[] = {
	{ 'j', TK_DOWN, "j \xe2\x86\x93", "next trace", k_down },
	{ 'k', TK_UP, "k \xe2\x86\x91", "previous trace", k_up },
	{ TK_PGDN, TK_CTRL('f'), "PgDn ^F", "a page down", k_pgdn },
	{ TK_PGUP, TK_CTRL('b'), "PgUp ^B", "a page up", k_pgup },
	{ 'g', TK_HOME, "g Home", "the newest trace (and follow new ones)", k_top },
	{ 'G', TK_END, "G End", "the oldest trace loaded", k_bottom },
	{ TK_ENTER, 'l', "Enter l", "open the trace", k_open },
	{ '/', 0, "/", "filter by service or span name (every span)", k_filter },
	{ 'Q', 0, "Q", "edit the TraceQL query (:q)", k_query },
	{ 's', 0, "s", "sort by time / by duration", k_sort },
	{ TK_ESC, 0, "Esc", "clear the filter", k_clear },
	{ 'r', 0, "r", "reload", k_refresh },
	{ 'y', 0, "y", "copy the trace id (OSC 52)", k_copy },
};

/* Typing the filter: every key edits it, and the list follows as you type. */
static bool
on_key(struct tui *t, struct tui_view *b, int key)
{
	struct traces_view *v = VIEW(b);
	size_t n = strlen(v->filter);

	if (!v->editing)
		return false;
	if (key == TK_ENTER || key == TK_DOWN || key == TK_UP) {
		v->editing = false;
		return key == TK_ENTER;
	}
	if (key == TK_ESC) {
		v->editing = false;
		v->filter[0] = 0;
	} else if (key == TK_BACKSPACE) {
		while (n > 0 && (v->filter[--n] & 0xc0) == 0x80)
			;
		v->filter[n] = 0;
	} else if (key >= 0x20 && key < 0x7f && n + 1 < sizeof v->filter) {
		v->filter[n] = (char)key;
		v->filter[n + 1] = 0;
	} else {
		return true;
	}
	restart(t, v);
	return true;
}

static void
on_mouse(struct tui *t, struct tui_view *b, enum tui_mouse_kind kind, int y, int x)
{
	struct traces_view *v = VIEW(b);
	int first = (v->editing || v->filter[0]) ? 2 : 1;
	long row = (long)v->top + y - first;

	(void)x;
	if (kind == MOUSE_WHEEL_DOWN || kind == MOUSE_WHEEL_UP) {
		move(v, kind == MOUSE_WHEEL_DOWN ? 3 : -3);
		return;
	}
	if (y < first || row >= (long)v->nrows)
		return;
	v->cursor = (size_t)row;
	if (kind == MOUSE_DOUBLE)
		k_open(t, b);
}

static void
view_free(struct tui_view *b)
{
	free(VIEW(b)->rows);
	free(b);
}

static const struct tui_view_ops ops = {
	.name = "Traces",
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
view_traces_new(struct tui *t)
{
	struct traces_view *v = ob_xcalloc(1, sizeof *v);

	(void)t;
	v->base.ops = &ops;
	v->height = 40;
	return &v->base;
}
