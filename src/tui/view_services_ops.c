/*
 * view_services_ops.c - the operations of one service (Enter on a node in
 * the Services view): its span names and kinds with their RED numbers
 * over the traces list's time range, refreshed every tick.
 *
 * One row per operation: name, kind, calls/s, error rate, p50, p95, p99.
 * Sorted by rate, high first; 's' sorts by the next column, 'S' reverses,
 * a click on a header sorts by it.  Enter opens the traces list filtered
 * to that operation's spans, failing and slowest first.
 *
 * The TraceQL that selects an edge's spans (Enter on an edge, here and in
 * the graph and the table) is here too, beside the operation's.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "tui/view_services.h"

#define VIEW(b) ((struct ops_view *)(b))

/* --- the TraceQL of an edge's and an operation's spans ---------------------------------- */

/* A TraceQL string's inside: '\\' and '"' escaped. */
static void
quote(const char *in, char *out, size_t cap)
{
	size_t o = 0;

	for (; *in && o + 3 < cap; in++) {
		if (*in == '\\' || *in == '"')
			out[o++] = '\\';
		out[o++] = *in;
	}
	out[o] = 0;
}

static const struct sg_node *
find_node(const struct sg_graph *g, const char *id)
{
	size_t i;

	for (i = 0; i < g->nnodes; i++)
		if (strcmp(g->nodes[i].id, id) == 0)
			return &g->nodes[i];
	return NULL;
}

void
svc_edge_traceql(const struct sg_graph *g, const struct sg_edge *e, char *out, size_t cap)
{
	char c[300], s[300];
	const struct sg_node *client = find_node(g, e->client);

	quote(e->client, c, sizeof c);
	quote(e->server, s, sizeof s);
	if (strcmp(e->connection_type, SG_CONN_DATABASE) == 0) {
		/* the client spans, named by the attribute Tempo took the database's name from */
		snprintf(out, cap, "{ resource.service.name = \"%s\" && kind = client && "
			 "(span.peer.service = \"%s\" || span.server.address = \"%s\" || "
			 "span.network.peer.address = \"%s\" || span.db.namespace = \"%s\" || "
			 "span.db.name = \"%s\" || span.db.system = \"%s\" || "
			 "span.db.system.name = \"%s\") }", c, s, s, s, s, s, s, s);
	} else if (strcmp(e->connection_type, SG_CONN_VIRTUAL) == 0 && client &&
		   client->kind != SG_NODE_SERVICE) {
		/* a server span whose caller sent nothing: a root, or one naming its peer */
		if (client->kind == SG_NODE_USER)
			snprintf(out, cap, "{ resource.service.name = \"%s\" && (kind = server || "
				 "kind = consumer) && rootServiceName = \"%s\" }", s, s);
		else
			snprintf(out, cap, "{ resource.service.name = \"%s\" && (kind = server || "
				 "kind = consumer) && span.peer.service = \"%s\" }", s, c);
	} else if (strcmp(e->connection_type, SG_CONN_VIRTUAL) == 0) {
		/* a client span whose server sent nothing: its peer attributes name it */
		snprintf(out, cap, "{ resource.service.name = \"%s\" && (kind = client || "
			 "kind = producer) && (span.peer.service = \"%s\" || span.db.name = \"%s\" || "
			 "span.db.system = \"%s\" || span.db.system.name = \"%s\") }", c, s, s, s, s);
	} else {
		snprintf(out, cap, "{ resource.service.name = \"%s\" && (kind = client || "
			 "kind = producer) } > { resource.service.name = \"%s\" && (kind = server || "
			 "kind = consumer) }", c, s);
	}
}

void
svc_op_traceql(const struct sg_op *op, char *out, size_t cap)
{
	static const char *const kinds[] = { "unspecified", "internal", "server", "client",
					     "producer", "consumer" };
	char s[300], n[600];

	quote(op->service, s, sizeof s);
	quote(op->span_name, n, sizeof n);
	snprintf(out, cap, "{ resource.service.name = \"%s\" && name = \"%s\" && kind = %s }", s, n,
		 op->kind >= 0 && op->kind <= 5 ? kinds[op->kind] : "unspecified");
}

/* --- the view ------------------------------------------------------------------------------ */

struct ops_view {
	struct tui_view base;
	char service[128];
	struct sg_op *ops;
	size_t nops;
	size_t *rows, cursor, top;
	int sort_col, height;
	bool sort_asc, loaded;
	uint64_t gen, elapsed_ns;
	double seconds;
	char error[OB_ERRLEN];
};

enum { C_NAME, C_KIND, C_RATE, C_ERRORS, C_P50, C_P95, C_P99, NCOLS };

static const struct svc_column columns[NCOLS] = {
	[C_NAME] = { "OPERATION", { 12, 60, 9, true }, false },
	[C_KIND] = { "KIND", { 8, 8, 3, false }, false },
	[C_RATE] = { "RATE", { 8, 9, 8, false }, true },
	[C_ERRORS] = { "ERRORS", { 6, 7, 7, false }, true },
	[C_P50] = { "P50", { 7, 8, 4, false }, true },
	[C_P95] = { "P95", { 7, 8, 6, false }, true },
	[C_P99] = { "P99", { 7, 8, 5, false }, true },
};

static const char *const kind_names[] = { "unspec", "internal", "server", "client", "producer",
					  "consumer" };

static const char *
kind_name(int kind)
{
	return kind >= 0 && kind <= 5 ? kind_names[kind] : "?";
}

static const struct ops_view *sorting;

static double
number(const struct sg_op *o, int col)
{
	double v;

	switch (col) {
	case C_RATE:
		return (double)o->calls;
	case C_ERRORS:
		return o->calls ? (double)o->errors / (double)o->calls : 0;
	case C_P50:
		v = o->p50_ms;
		break;
	case C_P95:
		v = o->p95_ms;
		break;
	default:
		v = o->p99_ms;
	}
	return isnan(v) ? -1 : v;
}

static int
cmp_rows(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const struct sg_op *x = &sorting->ops[i], *y = &sorting->ops[j];
	int c, col = sorting->sort_col;

	if (col == C_NAME || col == C_KIND) {
		c = col == C_NAME ? strcmp(x->span_name, y->span_name) :
		    strcmp(kind_name(x->kind), kind_name(y->kind));
		if (!sorting->sort_asc)
			c = -c;
	} else {
		double p = number(x, col), q = number(y, col);

		c = p == q ? 0 : (p > q) == !sorting->sort_asc ? -1 : 1;
	}
	return c ? c : (i > j) - (i < j);
}

static void
build(struct ops_view *v)
{
	size_t i, keep = v->nops && v->rows && v->cursor < v->nops ? v->rows[v->cursor] : SIZE_MAX;

	free(v->rows);
	v->rows = ob_xcalloc(v->nops + 1, sizeof *v->rows);
	for (i = 0; i < v->nops; i++)
		v->rows[i] = i;
	sorting = v;
	qsort(v->rows, v->nops, sizeof *v->rows, cmp_rows);
	for (i = 0; i < v->nops; i++)
		if (v->rows[i] == keep)
			v->cursor = i;
}

static void
ask(struct tui *t, struct ops_view *v)
{
	struct tui_graph_query q;

	svc_graph_query(t, &q);
	snprintf(q.service, sizeof q.service, "%s", v->service);
	v->gen = tui_next_generation(t);
	tui_fetch_ops(t->fetch, &q, v->gen);
}

static void
on_tick(struct tui *t, struct tui_view *b)
{
	if (!tui_fetch_busy(t->fetch, FETCH_OPS))
		ask(t, VIEW(b));
}

static void
on_result(struct tui *t, struct tui_view *b, struct tui_fetch_result *r)
{
	struct ops_view *v = VIEW(b);
	char name[256] = "";
	int kind = -1;
	size_t i;

	if (r->kind != FETCH_OPS || r->generation != v->gen)
		return;
	v->elapsed_ns = r->elapsed_ns;
	if (r->err) {
		snprintf(v->error, sizeof v->error, "%s", r->errbuf);
		return;
	}
	/* the cursor stays on its operation */
	if (v->nops && v->cursor < v->nops) {
		snprintf(name, sizeof name, "%s", v->ops[v->rows[v->cursor]].span_name);
		kind = v->ops[v->rows[v->cursor]].kind;
	}
	v->error[0] = 0;
	v->loaded = true;
	free(v->ops);
	v->ops = r->ops;
	v->nops = r->nops;
	r->ops = NULL;
	r->nops = 0;
	v->seconds = svc_window_seconds(t, r->graph_query.since_ns, r->graph_query.until_ns);
	free(v->rows);
	v->rows = NULL;
	v->cursor = 0;
	build(v);
	for (i = 0; i < v->nops; i++)
		if (strcmp(v->ops[v->rows[i]].span_name, name) == 0 && v->ops[v->rows[i]].kind == kind)
			v->cursor = i;
}

static void
draw(struct tui *t, struct tui_view *b, struct tui_canvas *c, int top, int height)
{
	struct ops_view *v = VIEW(b);
	int widths[NCOLS], rows = height - 2, y, i;

	(void)t;
	svc_table_header(c, top, columns, NCOLS, v->sort_col, v->sort_asc, widths);
	v->height = rows;
	if (v->nops == 0) {
		tui_canvas_text(c, top + 2, 2, c->w - 4, v->error[0] ? TS_ERROR : TS_DIM,
				v->error[0] ? v->error : v->loaded ?
				"No operations of this service in this time range." : "loading...");
		return;
	}
	if (v->cursor >= v->nops)
		v->cursor = v->nops - 1;
	if (v->cursor < v->top)
		v->top = v->cursor;
	if (rows > 0 && v->cursor >= v->top + (size_t)rows)
		v->top = v->cursor - (size_t)rows + 1;
	for (y = 0; y < rows && v->top + (size_t)y < v->nops; y++) {
		const struct sg_op *o = &v->ops[v->rows[v->top + (size_t)y]];
		int x = 0;

		for (i = 0; i < NCOLS; i++) {
			char text[300];
			enum tui_style st = TS_NORMAL;

			switch (i) {
			case C_NAME:
				snprintf(text, sizeof text, "%s", o->span_name);
				break;
			case C_KIND:
				snprintf(text, sizeof text, "%s", kind_name(o->kind));
				st = TS_DIM;
				break;
			case C_RATE:
				svc_rate_text((double)o->calls / v->seconds, text, sizeof text);
				break;
			case C_ERRORS:
				svc_pct_text(o->errors, o->calls, text, sizeof text);
				st = o->errors ? TS_ERROR : TS_DIM;
				break;
			default:
				svc_ms_text(i == C_P50 ? o->p50_ms : i == C_P95 ? o->p95_ms : o->p99_ms,
					    text, sizeof text);
			}
			x = svc_table_cell(c, top + 1 + y, x, &columns[i], widths[i], st, text);
		}
		if (v->top + (size_t)y == v->cursor)
			tui_canvas_restyle(c, top + 1 + y, 0, c->w, TS_SELECTED);
	}
	tui_canvas_text(c, top + height - 1, 1, -1, TS_DIM,
			"Enter: the operation's traces   s S: sort   Esc: the graph");
}

static void
title(struct tui *t, struct tui_view *b, char *out, size_t cap)
{
	struct ops_view *v = VIEW(b);
	char range[128], took[32];

	view_traces_range_text(t, range, sizeof range);
	layout_duration(v->elapsed_ns, took, sizeof took);
	snprintf(out, cap, "%s  %zu operations%s  (%s)", v->service, v->nops, range, took);
}

static void
move(struct ops_view *v, long delta)
{
	long c = (long)v->cursor + delta;

	if (c >= (long)v->nops)
		c = (long)v->nops - 1;
	if (c < 0)
		c = 0;
	v->cursor = (size_t)c;
}

static void
sort_by(struct ops_view *v, int col)
{
	if (col == v->sort_col)
		v->sort_asc = !v->sort_asc;
	else {
		v->sort_col = col;
		v->sort_asc = !columns[col].numeric;
	}
	build(v);
}

static void
k_open(struct tui *t, struct tui_view *b)
{
	struct ops_view *v = VIEW(b);
	char q[2048];

	if (v->nops == 0)
		return;
	svc_op_traceql(&v->ops[v->rows[v->cursor]], q, sizeof q);
	view_traces_open_worst(t, q);
}

static void k_down(struct tui *t, struct tui_view *b) { (void)t; move(VIEW(b), 1); }
static void k_up(struct tui *t, struct tui_view *b) { (void)t; move(VIEW(b), -1); }
static void k_pgdn(struct tui *t, struct tui_view *b) { (void)t; move(VIEW(b), VIEW(b)->height); }
static void k_pgup(struct tui *t, struct tui_view *b) { (void)t; move(VIEW(b), -VIEW(b)->height); }
static void k_reload(struct tui *t, struct tui_view *b) { ask(t, VIEW(b)); }

static void
k_sort(struct tui *t, struct tui_view *b)
{
	struct ops_view *v = VIEW(b);

	(void)t;
	v->sort_col = (v->sort_col + 1) % NCOLS;
	v->sort_asc = !columns[v->sort_col].numeric;
	build(v);
}

static void k_reverse(struct tui *t, struct tui_view *b) { (void)t; sort_by(VIEW(b), VIEW(b)->sort_col); }

static const struct tui_binding bindings[] = {
	{ 'j', TK_DOWN, "j \xe2\x86\x93", "next operation", k_down },
	{ 'k', TK_UP, "k \xe2\x86\x91", "previous operation", k_up },
	{ TK_PGDN, TK_CTRL('f'), "PgDn ^F", "a page down", k_pgdn },
	{ TK_PGUP, TK_CTRL('b'), "PgUp ^B", "a page up", k_pgup },
	{ TK_ENTER, 0, "Enter", "the operation's traces, failing and slowest first", k_open },
	{ 's', 0, "s", "sort by the next column", k_sort },
	{ 'S', 0, "S", "reverse the order", k_reverse },
	{ 'r', 0, "r", "reload", k_reload },
};

static void
on_mouse(struct tui *t, struct tui_view *b, enum tui_mouse_kind kind, int y, int x)
{
	struct ops_view *v = VIEW(b);
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
	if (row < 0 || row >= (long)v->nops || y > v->height)
		return;
	v->cursor = (size_t)row;
	if (kind == MOUSE_DOUBLE)
		k_open(t, b);
}

static void
view_free(struct tui_view *b)
{
	free(VIEW(b)->ops);
	free(VIEW(b)->rows);
	free(b);
}

static const struct tui_view_ops ops = {
	.name = "Operations",
	.bindings = bindings,
	.nbindings = sizeof bindings / sizeof bindings[0],
	.draw = draw,
	.mouse = on_mouse,
	.result = on_result,
	.tick = on_tick,
	.title = title,
	.free = view_free,
	.follows_range = true,
};

struct tui_view *
view_services_ops_new(struct tui *t, const char *service)
{
	struct ops_view *v = ob_xcalloc(1, sizeof *v);

	(void)t;
	v->base.ops = &ops;
	snprintf(v->service, sizeof v->service, "%s", service);
	v->sort_col = C_RATE;
	v->seconds = 1;
	return &v->base;
}
