/*
 * view_services_table.c - the Services view as a table of edges ('t'),
 * and the table drawing it shares with the operations view.
 *
 * One row per edge: client, server, connection type, request rate, error
 * rate, p50 and p95 (server side), p95 on the client side.  's' sorts by
 * the next column, 'S' reverses, a click on a header sorts by that
 * column (again: reversed).  Numbers sort high first, names A to Z.  The
 * cursor is the graph's selected edge, so 't' back shows it selected.
 */
#include "tui/view_services.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

/* --- shared table drawing ---------------------------------------------------------- */

void
svc_table_header(struct tui_canvas *c, int y, const struct svc_column *cols, int n, int sort_col,
		 bool asc, int *widths)
{
	struct layout_column fit[16] = { { 0, 0, 0, false } };
	const char *arrow = c->ascii ? (asc ? "^" : "v") : (asc ? "\xe2\x96\xb4" : "\xe2\x96\xbe");
	int i, x = 0;

	for (i = 0; i < n && i < 16; i++)
		fit[i] = cols[i].fit;
	layout_fit_columns(fit, (size_t)n, c->w, widths);
	for (i = 0; i < n; i++) {
		int len = (int)strlen(cols[i].name) + (i == sort_col);
		int hx = cols[i].numeric && widths[i] > len ? x + widths[i] - len : x;

		if (widths[i] == 0)
			continue;
		if (i == sort_col && cols[i].numeric)
			hx += tui_canvas_text(c, y, hx, 1, TS_KEY, arrow);
		hx += tui_canvas_text(c, y, hx, widths[i], TS_HEADER, cols[i].name);
		if (i == sort_col && !cols[i].numeric)
			tui_canvas_text(c, y, hx, 1, TS_KEY, arrow);
		x += widths[i] + 1;
	}
}

int
svc_table_cell(struct tui_canvas *c, int y, int x, const struct svc_column *col, int width,
	       enum tui_style style, const char *text)
{
	int len = (int)strlen(text);

	if (width == 0)
		return x;
	if (col->numeric && width > len)
		tui_canvas_text(c, y, x + width - len, len, style, text);
	else
		tui_canvas_text(c, y, x, width, style, text);
	return x + width + 1;
}

int
svc_table_column_at(const int *widths, int n, int x)
{
	int i, at = 0;

	for (i = 0; i < n; i++) {
		if (widths[i] == 0)
			continue;
		if (x >= at && x < at + widths[i] + 1)
			return i;
		at += widths[i] + 1;
	}
	return -1;
}

/* --- the edge table ---------------------------------------------------------------- */

enum { C_CLIENT, C_SERVER, C_TYPE, C_RATE, C_ERRORS, C_P50, C_P95, C_CLIENT_P95, NCOLS };

static const struct svc_column columns[NCOLS] = {
	[C_CLIENT] = { "CLIENT", { 8, 24, 9, true }, false },
	[C_SERVER] = { "SERVER", { 8, 24, 9, false }, false },
	[C_TYPE] = { "TYPE", { 7, 16, 3, false }, false },
	[C_RATE] = { "RATE", { 8, 9, 8, false }, true },
	[C_ERRORS] = { "ERRORS", { 6, 7, 7, false }, true },
	[C_P50] = { "P50", { 7, 8, 4, false }, true },
	[C_P95] = { "P95", { 7, 8, 6, false }, true },
	[C_CLIENT_P95] = { "CLIENT P95", { 10, 10, 2, false }, true },
};

static const struct services_view *sorting;

static double
number(const struct sg_edge *e, int col)
{
	double v;

	switch (col) {
	case C_RATE:
		return (double)e->requests;
	case C_ERRORS:
		return e->requests ? (double)e->failed / (double)e->requests : 0;
	case C_P50:
		v = e->p50_ms;
		break;
	case C_P95:
		v = e->p95_ms;
		break;
	default:
		v = e->client_p95_ms;
	}
	return isnan(v) ? -1 : v;
}

static int
cmp_rows(const void *a, const void *b)
{
	const struct sg_edge *x = &sorting->g.edges[*(const size_t *)a];
	const struct sg_edge *y = &sorting->g.edges[*(const size_t *)b];
	int c = 0, col = sorting->sort_col;

	if (col == C_CLIENT || col == C_SERVER || col == C_TYPE) {
		c = strcmp(col == C_CLIENT ? x->client : col == C_SERVER ? x->server :
			   x->connection_type, col == C_CLIENT ? y->client : col == C_SERVER ?
			   y->server : y->connection_type);
		if (!sorting->sort_asc)
			c = -c;
	} else {
		double p = number(x, col), q = number(y, col);

		c = p == q ? 0 : (p > q) == !sorting->sort_asc ? -1 : 1;
	}
	if (c == 0)     /* ties in graph order, which is by client, server */
		c = (*(const size_t *)a > *(const size_t *)b) - (*(const size_t *)a < *(const size_t *)b);
	return c;
}

void
services_table_build(struct services_view *v)
{
	size_t i;

	free(v->rows);
	v->rows = ob_xcalloc(v->g.nedges + 1, sizeof *v->rows);
	for (i = 0; i < v->g.nedges; i++)
		v->rows[i] = i;
	v->nrows = v->g.nedges;
	sorting = v;
	qsort(v->rows, v->nrows, sizeof *v->rows, cmp_rows);
	v->cursor = 0;
	for (i = 0; i < v->nrows; i++)
		if ((long)v->rows[i] == v->sel_edge)
			v->cursor = i;
	if (v->table && v->nrows && v->sel_edge < 0) {
		v->sel_edge = (long)v->rows[0];
		v->sel_node = -1;
	}
}

static void
row_text(const struct services_view *v, const struct sg_edge *e, int col, char *out, size_t cap)
{
	switch (col) {
	case C_CLIENT:
		snprintf(out, cap, "%s", e->client);
		break;
	case C_SERVER:
		snprintf(out, cap, "%s", e->server);
		break;
	case C_TYPE:
		snprintf(out, cap, "%s", e->connection_type[0] ? e->connection_type : "-");
		break;
	case C_RATE:
		svc_rate_text((double)e->requests / v->seconds, out, cap);
		break;
	case C_ERRORS:
		svc_pct_text(e->failed, e->requests, out, cap);
		break;
	case C_P50:
		svc_ms_text(e->p50_ms, out, cap);
		break;
	case C_P95:
		svc_ms_text(e->p95_ms, out, cap);
		break;
	default:
		svc_ms_text(e->client_p95_ms, out, cap);
	}
}

void
services_table_draw(struct tui *t, struct services_view *v, struct tui_canvas *c, int top,
		    int height)
{
	int widths[NCOLS], rows = height - 2, y, i;

	(void)t;
	svc_table_header(c, top, columns, NCOLS, v->sort_col, v->sort_asc, widths);
	v->table_height = rows;
	if (v->nrows == 0) {
		tui_canvas_text(c, top + 2, 2, -1, TS_DIM, v->loaded ? "No edges in this time range." :
							  "loading...");
		return;
	}
	if (v->cursor >= v->nrows)
		v->cursor = v->nrows - 1;
	if (v->cursor < v->top)
		v->top = v->cursor;
	if (rows > 0 && v->cursor >= v->top + (size_t)rows)
		v->top = v->cursor - (size_t)rows + 1;
	for (y = 0; y < rows && v->top + (size_t)y < v->nrows; y++) {
		const struct sg_edge *e = &v->g.edges[v->rows[v->top + (size_t)y]];
		int x = 0;

		for (i = 0; i < NCOLS; i++) {
			char text[160];
			enum tui_style st = TS_NORMAL;

			row_text(v, e, i, text, sizeof text);
			if (i == C_CLIENT || i == C_SERVER)
				st = tui_service_style(i == C_CLIENT ? e->client : e->server);
			else if (i == C_ERRORS)
				st = e->failed ? TS_ERROR : TS_DIM;
			x = svc_table_cell(c, top + 1 + y, x, &columns[i], widths[i], st, text);
		}
		if (v->top + (size_t)y == v->cursor)
			tui_canvas_restyle(c, top + 1 + y, 0, c->w, TS_SELECTED);
	}
	tui_canvas_text(c, top + height - 1, 1, -1, TS_DIM,
			"Enter: the edge's traces   s S: sort   t: the graph");
}

static void
move(struct services_view *v, long delta)
{
	long c = (long)v->cursor + delta;

	if (v->nrows == 0)
		return;
	if (c < 0)
		c = 0;
	if (c >= (long)v->nrows)
		c = (long)v->nrows - 1;
	v->cursor = (size_t)c;
	v->sel_edge = (long)v->rows[v->cursor];
	v->sel_node = -1;
	snprintf(v->anchor, sizeof v->anchor, "%s", v->g.edges[v->sel_edge].client);
	snprintf(v->keep_edge.client, sizeof v->keep_edge.client, "%s", v->g.edges[v->sel_edge].client);
	snprintf(v->keep_edge.server, sizeof v->keep_edge.server, "%s", v->g.edges[v->sel_edge].server);
	snprintf(v->keep_edge.type, sizeof v->keep_edge.type, "%s",
		 v->g.edges[v->sel_edge].connection_type);
	v->follow = true;
}

static void
sort_by(struct services_view *v, int col)
{
	if (col == v->sort_col)
		v->sort_asc = !v->sort_asc;
	else {
		v->sort_col = col;
		v->sort_asc = !columns[col].numeric;
	}
	services_table_build(v);
}

bool
services_table_key(struct tui *t, struct services_view *v, int key)
{
	switch (key) {
	case 'j':
	case TK_DOWN:
		move(v, 1);
		return true;
	case 'k':
	case TK_UP:
		move(v, -1);
		return true;
	case TK_PGDN:
		move(v, v->table_height);
		return true;
	case TK_PGUP:
		move(v, -v->table_height);
		return true;
	case 'g':
	case TK_HOME:
		move(v, -(long)v->nrows);
		return true;
	case 'G':
	case TK_END:
		move(v, (long)v->nrows);
		return true;
	case 's':
		v->sort_col = (v->sort_col + 1) % NCOLS;
		v->sort_asc = !columns[v->sort_col].numeric;
		services_table_build(v);
		return true;
	case 'S':
		sort_by(v, v->sort_col);
		return true;
	case TK_ENTER:
		if (v->nrows)
			services_open_edge(t, v, (long)v->rows[v->cursor]);
		return true;
	default:
		return false;
	}
}

void
services_table_mouse(struct tui *t, struct services_view *v, enum tui_mouse_kind kind, int y,
		     int x)
{
	struct layout_column fit[NCOLS];
	int widths[NCOLS], i, col;
	long row = (long)v->top + y - 1;

	if (kind == MOUSE_WHEEL_DOWN || kind == MOUSE_WHEEL_UP) {
		move(v, kind == MOUSE_WHEEL_DOWN ? 3 : -3);
		return;
	}
	if (y == 0) {
		for (i = 0; i < NCOLS; i++)
			fit[i] = columns[i].fit;
		layout_fit_columns(fit, NCOLS, t->canvas.w, widths);
		if ((col = svc_table_column_at(widths, NCOLS, x)) >= 0)
			sort_by(v, col);
		return;
	}
	if (row < 0 || row >= (long)v->nrows || y > v->table_height)
		return;
	move(v, row - (long)v->cursor);
	if (kind == MOUSE_DOUBLE)
		services_open_edge(t, v, (long)v->rows[v->cursor]);
}
