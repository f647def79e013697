/*
 * view_services.c - the Services view (`:services`, Tab): the service
 * graph of the traces list's time range, drawn as boxes and lines.
 *
 * Every tick the view asks the fetch thread for the graph of the window
 * (t->since_ns, t->until_ns), so its numbers follow new spans; the store
 * answers from its rollups, never from spans.  The layout
 * (graph_layout.c) is computed again only when the graph's shape changes
 * (its nodes, its edges, the zoom), so boxes stay put while the numbers
 * move: box and label widths depend on the names only, never on numbers.
 *
 * A box (detail zoom) is four rows: the name in the top border, the
 * request rate and error rate of the calls into it, their p95, the
 * bottom border.  Virtual nodes (databases, peers, "user") have rounded,
 * dashed borders and their kind in the bottom border (compact boxes: the
 * name inside, the kind on top); a node or edge with failed requests
 * is drawn in the error style; the selection in the selection style.  An
 * edge is labelled with its request rate.  When the detail layout does
 * not fit, the compact one (names only) is used; when that does not fit
 * either, the plane pans (H J K L, the wheel, and following the
 * selection).  The last row says what is selected, with its numbers.
 *
 * Rates are requests / window seconds; error rate is failed / requests.
 *
 * This file: the view, its data, its keys and the mouse.  The layout and
 * drawing are view_services_draw.c, the edge table view_services_table.c,
 * the operations view and the TraceQL of edges view_services_ops.c.
 */
#include "tui/view_services.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/mem.h"

#define VIEW(b) ((struct services_view *)(b))

/* --- the window ------------------------------------------------------------------------- */

double
svc_window_seconds(const struct tui *t, uint64_t since_ns, uint64_t until_ns)
{
	uint64_t end = until_ns ? until_ns : ob_now_ns();
	uint64_t start = since_ns ? since_ns : t->status.oldest_ns;

	if (start == 0 || start >= end || (end - start) < 1000000000ull)
		return 1;
	return (double)(end - start) / 1e9;
}

void
svc_graph_query(const struct tui *t, struct tui_graph_query *q)
{
	memset(q, 0, sizeof *q);
	q->since_ns = t->since_ns;
	q->until_ns = t->until_ns;
}

/* --- drawing -------------------------------------------------------------------------- */

static void
select_default(struct services_view *v)
{
	size_t i;
	int best = -1;

	for (i = 0; i < v->nlaid; i++) {
		const struct graph_box *b = &v->lay.boxes[i];

		if (best < 0 || b->layer < v->lay.boxes[best].layer ||
		    (b->layer == v->lay.boxes[best].layer && b->order < v->lay.boxes[best].order))
			best = (int)i;
	}
	if (best >= 0) {
		v->sel_node = v->node_of[best];
		snprintf(v->anchor, sizeof v->anchor, "%s", v->g.nodes[v->sel_node].id);
		snprintf(v->keep_node, sizeof v->keep_node, "%s", v->g.nodes[v->sel_node].id);
	}
}

/* The plane's rectangle of the selection. */
static bool
selection_rect(const struct services_view *v, int *x0, int *y0, int *x1, int *y1)
{
	size_t i;

	if (v->sel_edge >= 0) {
		for (i = 0; i < v->nlaid_edges; i++) {
			const struct graph_route *r = &v->lay.routes[i];

			if (v->edge_of[i] != v->sel_edge || r->npts < 2)
				continue;
			*x0 = r->pts[0].x;
			*y0 = r->pts[0].y;
			*x1 = r->label_y >= 0 ? r->label_x + SVC_LABEL_CELLS : r->pts[0].x + 1;
			*y1 = r->pts[0].y + 1;
			return true;
		}
		return false;
	}
	if (v->sel_node < 0 || v->box_of[v->sel_node] < 0)
		return false;
	i = (size_t)v->box_of[v->sel_node];
	*x0 = v->lay.boxes[i].x;
	*y0 = v->lay.boxes[i].y;
	*x1 = *x0 + v->lay.boxes[i].w;
	*y1 = *y0 + v->lay.boxes[i].h;
	return true;
}

static void
clamp_pan(struct services_view *v, int vw, int vh)
{
	int x0, y0, x1, y1;

	if (v->follow && selection_rect(v, &x0, &y0, &x1, &y1)) {
		if (x1 > v->pan_x + vw)
			v->pan_x = x1 - vw;
		if (x0 < v->pan_x)
			v->pan_x = x0;
		if (y1 > v->pan_y + vh)
			v->pan_y = y1 - vh;
		if (y0 < v->pan_y)
			v->pan_y = y0;
	}
	v->follow = false;
	if (v->pan_x > v->lay.w - vw)
		v->pan_x = v->lay.w - vw;
	if (v->pan_y > v->lay.h - vh)
		v->pan_y = v->lay.h - vh;
	if (v->pan_x < 0)
		v->pan_x = 0;
	if (v->pan_y < 0)
		v->pan_y = 0;
}

static void
draw(struct tui *t, struct tui_view *base, struct tui_canvas *c, int top, int height)
{
	struct services_view *v = VIEW(base);
	int vw = c->w - 2, vh = height - 1;
	struct svc_clip k;
	size_t i;

	v->view_top = top;
	if (v->table) {
		services_table_draw(t, v, c, top, height);
		return;
	}
	if (v->g.nnodes == 0 || vw < 4 || vh < 3) {
		services_draw_empty(v, c, top + 1);
		return;
	}
	services_lay_out(v, vw, vh);
	if (v->sel_node < 0 && v->sel_edge < 0)
		select_default(v);
	clamp_pan(v, vw, vh);
	v->view_w = vw;
	v->view_h = vh;
	k = (struct svc_clip){ 1, top, 1 + vw, top + vh, 1, top, v->pan_x, v->pan_y };
	services_draw_edges(v, c, &k);
	for (i = 0; i < v->nlaid; i++)
		services_draw_box(t, v, c, &k, (int)i);
	services_draw_info(t, v, c, top + height - 1, v->lay.w > vw || v->lay.h > vh);
	if (v->error[0]) {        /* the last refresh failed: say so over the old graph's numbers */
		tui_canvas_fill(c, top + height - 1, 0, c->w, ' ', TS_NORMAL);
		tui_canvas_text(c, top + height - 1, 1, c->w - 2, TS_ERROR, v->error);
	}
}

static void
title(struct tui *t, struct tui_view *base, char *out, size_t cap)
{
	struct services_view *v = VIEW(base);
	char range[128], took[32];
	size_t services = 0, i;

	for (i = 0; i < v->g.nnodes; i++)
		services += v->g.nodes[i].kind == SG_NODE_SERVICE;
	view_traces_range_text(t, range, sizeof range);
	layout_duration(v->elapsed_ns, took, sizeof took);
	snprintf(out, cap, "%zu services  %zu nodes  %zu edges%s%s%s  (%s)", services, v->g.nnodes,
		 v->g.nedges, range, v->table ? "  table" : "",
		 (v->nlaid < v->g.nnodes || v->nlaid_edges < v->g.nedges) && !v->table ?
		 "  busiest shown" : "", took);
}

/* --- data ----------------------------------------------------------------------------------- */

static void
ask(struct tui *t, struct services_view *v)
{
	struct tui_graph_query q;

	svc_graph_query(t, &q);
	v->gen = tui_next_generation(t);
	tui_fetch_graph(t->fetch, &q, v->gen);
}

static void
on_tick(struct tui *t, struct tui_view *base)
{
	if (!tui_fetch_busy(t->fetch, FETCH_GRAPH))
		ask(t, VIEW(base));
}

/* The selection again, by name, in a new graph. */
static void
reselect(struct services_view *v)
{
	size_t i;

	v->sel_node = v->sel_edge = -1;
	if (v->keep_edge.client[0]) {
		for (i = 0; i < v->g.nedges; i++) {
			const struct sg_edge *e = &v->g.edges[i];

			if (strcmp(e->client, v->keep_edge.client) == 0 &&
			    strcmp(e->server, v->keep_edge.server) == 0 &&
			    strcmp(e->connection_type, v->keep_edge.type) == 0)
				v->sel_edge = (long)i;
		}
		if (v->sel_edge >= 0)
			return;
	}
	for (i = 0; i < v->g.nnodes; i++)
		if (strcmp(v->g.nodes[i].id, v->keep_node) == 0)
			v->sel_node = (long)i;
}

static void
on_result(struct tui *t, struct tui_view *base, struct tui_fetch_result *r)
{
	struct services_view *v = VIEW(base);

	if (r->kind != FETCH_GRAPH || r->generation != v->gen)
		return;
	v->elapsed_ns = r->elapsed_ns;
	if (r->err) {
		snprintf(v->error, sizeof v->error, "%s", r->errbuf);
		return;
	}
	v->error[0] = 0;
	v->loaded = true;
	sg_graph_release(&v->g);
	v->g = r->graph;
	memset(&r->graph, 0, sizeof r->graph);
	v->seconds = svc_window_seconds(t, r->graph_query.since_ns, r->graph_query.until_ns);
	services_choose_nodes(v);
	reselect(v);
	services_table_build(v);
}

/* Remember the selection by name (for refreshes) and pan to it. */
static void
selected(struct services_view *v)
{
	v->keep_node[0] = v->keep_edge.client[0] = 0;
	if (v->sel_edge >= 0) {
		const struct sg_edge *e = &v->g.edges[v->sel_edge];

		snprintf(v->keep_edge.client, sizeof v->keep_edge.client, "%s", e->client);
		snprintf(v->keep_edge.server, sizeof v->keep_edge.server, "%s", e->server);
		snprintf(v->keep_edge.type, sizeof v->keep_edge.type, "%s", e->connection_type);
	} else if (v->sel_node >= 0) {
		snprintf(v->keep_node, sizeof v->keep_node, "%s", v->g.nodes[v->sel_node].id);
		snprintf(v->anchor, sizeof v->anchor, "%s", v->g.nodes[v->sel_node].id);
	}
	v->follow = true;
}

/* --- keys ----------------------------------------------------------------------------------- */

/* The laid-out node nearest to layer `layer` at center row cy, or -1. */
static int
nearest_in_layer(const struct services_view *v, int layer, int cy)
{
	size_t i;
	int best = -1, bestd = 0;

	for (i = 0; i < v->nlaid; i++) {
		const struct graph_box *b = &v->lay.boxes[i];
		int d = abs(2 * b->y + b->h - cy);

		if (b->layer == layer && (best < 0 || d < bestd)) {
			best = (int)i;
			bestd = d;
		}
	}
	return best;
}

static int
current_box(struct services_view *v)
{
	if (v->sel_node < 0 && v->sel_edge < 0)
		select_default(v);
	if (v->sel_edge >= 0) {
		v->sel_node = -1;
		return services_box_index(v, v->anchor);
	}
	return v->sel_node >= 0 ? v->box_of[v->sel_node] : -1;
}

static void
select_box(struct services_view *v, int li)
{
	if (li < 0)
		return;
	v->sel_edge = -1;
	v->sel_node = v->node_of[li];
	selected(v);
}

static void
move_vertical(struct services_view *v, int step)
{
	int cur = current_box(v), i, best = -1;

	if (cur < 0 || !v->have_layout)
		return;
	for (i = 0; i < (int)v->nlaid; i++) {
		const struct graph_box *b = &v->lay.boxes[i], *c = &v->lay.boxes[cur];

		if (b->layer != c->layer || (step > 0 ? b->order <= c->order : b->order >= c->order))
			continue;
		if (best < 0 || abs(b->order - c->order) < abs(v->lay.boxes[best].order - c->order))
			best = i;
	}
	select_box(v, best >= 0 ? best : cur);
}

static void
move_layer(struct services_view *v, int step)
{
	int cur, layer, li = -1;

	if (v->sel_edge >= 0) {
		/* from an edge: to its client (left) or its server (right) */
		const struct sg_edge *e = &v->g.edges[v->sel_edge];

		select_box(v, services_box_index(v, step < 0 ? e->client : e->server));
		return;
	}
	cur = current_box(v);
	if (cur < 0 || !v->have_layout)
		return;
	for (layer = v->lay.boxes[cur].layer + step; li < 0 && layer >= 0 && layer < v->lay.nlayers;
	     layer += step)
		li = nearest_in_layer(v, layer, 2 * v->lay.boxes[cur].y + v->lay.boxes[cur].h);
	select_box(v, li >= 0 ? li : cur);
}

/* The next (step 1) or previous edge of the anchor node, out-edges and in-edges in graph order. */
static void
cycle_edge(struct services_view *v, int step)
{
	long n = (long)v->g.nedges, i, start = v->sel_edge;

	if (v->sel_edge < 0) {
		if (v->sel_node < 0)
			return;
		snprintf(v->anchor, sizeof v->anchor, "%s", v->g.nodes[v->sel_node].id);
		start = step > 0 ? -1 : n;
	}
	for (i = 1; i <= n + 1; i++) {
		long k = ((start + step * i) % (n + 1) + (n + 1)) % (n + 1);
		const struct sg_edge *e;

		if (k == n)
			continue;
		e = &v->g.edges[k];
		if (strcmp(e->client, v->anchor) == 0 || strcmp(e->server, v->anchor) == 0) {
			v->sel_edge = k;
			v->sel_node = -1;
			selected(v);
			return;
		}
	}
}

static void
open_selection(struct tui *t, struct services_view *v)
{
	if (v->sel_edge >= 0)
		services_open_edge(t, v, v->sel_edge);
	else if (v->sel_node >= 0 && v->g.nodes[v->sel_node].kind == SG_NODE_SERVICE)
		tui_push(t, view_services_ops_new(t, v->g.nodes[v->sel_node].id));
	else if (v->sel_node >= 0)
		tui_message(t, false, "%s sent no spans: 'e' selects its edges, Enter on one lists"
			    " their traces", v->g.nodes[v->sel_node].id);
}

void
services_open_edge(struct tui *t, struct services_view *v, long edge)
{
	char q[2048];

	svc_edge_traceql(&v->g, &v->g.edges[edge], q, sizeof q);
	view_traces_open_worst(t, q);
}

/* m: the selected service's RED charts (an edge: its server's) */
static void
k_red(struct tui *t, struct tui_view *b)
{
	struct services_view *v = VIEW(b);
	long n = v->sel_edge >= 0 ? -1 : v->sel_node;

	if (v->sel_edge >= 0) {
		const char *server = v->g.edges[v->sel_edge].server;
		size_t i;

		for (i = 0; i < v->g.nnodes; i++)
			if (strcmp(v->g.nodes[i].id, server) == 0)
				n = (long)i;
	}
	if (n >= 0 && v->g.nodes[n].kind == SG_NODE_SERVICE)
		tui_push(t, view_metrics_red_new(t, v->g.nodes[n].id));
	else
		tui_message(t, false, "RED charts are for services that send spans");
}

static void k_down(struct tui *t, struct tui_view *b) { (void)t; move_vertical(VIEW(b), 1); }
static void k_up(struct tui *t, struct tui_view *b) { (void)t; move_vertical(VIEW(b), -1); }
static void k_left(struct tui *t, struct tui_view *b) { (void)t; move_layer(VIEW(b), -1); }
static void k_right(struct tui *t, struct tui_view *b) { (void)t; move_layer(VIEW(b), 1); }
static void k_edge(struct tui *t, struct tui_view *b) { (void)t; cycle_edge(VIEW(b), 1); }
static void k_edge_back(struct tui *t, struct tui_view *b) { (void)t; cycle_edge(VIEW(b), -1); }
static void k_open(struct tui *t, struct tui_view *b) { open_selection(t, VIEW(b)); }
static void k_reload(struct tui *t, struct tui_view *b) { ask(t, VIEW(b)); }
static void k_pan_left(struct tui *t, struct tui_view *b) { (void)t; VIEW(b)->pan_x -= VIEW(b)->view_w / 2; }
static void k_pan_right(struct tui *t, struct tui_view *b) { (void)t; VIEW(b)->pan_x += VIEW(b)->view_w / 2; }
static void k_pan_up(struct tui *t, struct tui_view *b) { (void)t; VIEW(b)->pan_y -= VIEW(b)->view_h / 2; }
static void k_pan_down(struct tui *t, struct tui_view *b) { (void)t; VIEW(b)->pan_y += VIEW(b)->view_h / 2; }

static void
k_table(struct tui *t, struct tui_view *b)
{
	(void)t;
	VIEW(b)->table = !VIEW(b)->table;
	services_table_build(VIEW(b));
}

static void
k_zoom(struct tui *t, struct tui_view *b)
{
	static const char *const names[] = { "fit: detail when it fits", "detail", "compact" };
	struct services_view *v = VIEW(b);

	v->zoom = (v->zoom + 1) % 3;
	v->follow = true;
	tui_message(t, false, "zoom: %s", names[v->zoom]);
}

static const struct tui_binding bindings[] = {
	{ 'j', TK_DOWN, "j \xe2\x86\x93", "the node below (table: next row)", k_down },
	{ 'k', TK_UP, "k \xe2\x86\x91", "the node above (table: previous row)", k_up },
	{ 'h', TK_LEFT, "h \xe2\x86\x90", "the nearest caller-side node; on an edge, its client",
	  k_left },
	{ 'l', TK_RIGHT, "l \xe2\x86\x92", "the nearest callee-side node; on an edge, its server",
	  k_right },
	{ 'e', 0, "e", "the node's next edge", k_edge },
	{ 'E', 0, "E", "the node's previous edge", k_edge_back },
	{ TK_ENTER, 0, "Enter", "a service: its operations; an edge: its traces, failing and"
				" slowest first", k_open },
	{ 'm', 0, "m", "the service's RED charts: rate, errors, duration", k_red },
	{ 't', 0, "t", "the edges as a table (s, S: sort) / back to the graph", k_table },
	{ 'z', 0, "z", "zoom: fit / detail / compact", k_zoom },
	{ 'H', 0, "H", "pan left", k_pan_left },
	{ 'L', 0, "L", "pan right", k_pan_right },
	{ 'K', 0, "K", "pan up", k_pan_up },
	{ 'J', 0, "J", "pan down", k_pan_down },
	{ 'r', 0, "r", "reload", k_reload },
};

static bool
on_key(struct tui *t, struct tui_view *b, int key)
{
	struct services_view *v = VIEW(b);

	if (v->table)
		return services_table_key(t, v, key);
	return false;
}

/* Which laid-out edge passes through plane cell (px, py) or has its label there, or -1. */
static long
edge_at(const struct services_view *v, int px, int py)
{
	size_t i;

	for (i = 0; i < v->nlaid_edges; i++) {
		const struct graph_route *r = &v->lay.routes[i];
		uint8_t bit = 0;

		if (r->label_y == py && px >= r->label_x && px < r->label_x + SVC_LABEL_CELLS)
			return v->edge_of[i];
		graph_route_trace(r, px, py, 1, 1, &bit, NULL, 0);
		if (bit || (r->npts && r->pts[r->npts - 1].x == px && r->pts[r->npts - 1].y == py))
			return v->edge_of[i];
	}
	return -1;
}

static void
on_mouse(struct tui *t, struct tui_view *b, enum tui_mouse_kind kind, int y, int x)
{
	struct services_view *v = VIEW(b);
	int px, py;
	size_t i;
	long e;

	if (v->table) {
		services_table_mouse(t, v, kind, y, x);
		return;
	}
	if (kind == MOUSE_WHEEL_DOWN || kind == MOUSE_WHEEL_UP) {
		v->pan_y += kind == MOUSE_WHEEL_DOWN ? 3 : -3;
		return;
	}
	if (!v->have_layout || v->g.nnodes == 0)
		return;
	px = x - 1 + v->pan_x;
	py = y + v->pan_y;
	if (y < 0 || y >= v->view_h || x < 1 || x > v->view_w)
		return;
	for (i = 0; i < v->nlaid; i++) {
		const struct graph_box *bx = &v->lay.boxes[i];

		if (px >= bx->x && px < bx->x + bx->w && py >= bx->y && py < bx->y + bx->h) {
			select_box(v, (int)i);
			v->follow = false;
			if (kind == MOUSE_DOUBLE)
				open_selection(t, v);
			return;
		}
	}
	if ((e = edge_at(v, px, py)) < 0)
		return;
	v->sel_edge = e;
	v->sel_node = -1;
	snprintf(v->anchor, sizeof v->anchor, "%s", v->g.edges[e].client);
	selected(v);
	v->follow = false;
	if (kind == MOUSE_DOUBLE)
		open_selection(t, v);
}

static void
view_free(struct tui_view *b)
{
	struct services_view *v = VIEW(b);

	sg_graph_release(&v->g);
	if (v->have_layout)
		graph_layout_release(&v->lay);
	free(v->box_of);
	free(v->node_of);
	free(v->edge_of);
	free(v->rows);
	free(v);
}

static const struct tui_view_ops ops = {
	.name = "Services",
	.bindings = bindings,
	.nbindings = sizeof bindings / sizeof bindings[0],
	.draw = draw,
	.key = on_key,
	.mouse = on_mouse,
	.result = on_result,
	.tick = on_tick,
	.title = title,
	.free = view_free,
	.follows_range = true,
};

struct tui_view *
view_services_new(struct tui *t)
{
	struct services_view *v = ob_xcalloc(1, sizeof *v);

	(void)t;
	v->base.ops = &ops;
	v->sel_node = v->sel_edge = -1;
	v->seconds = 1;
	v->sort_col = 3;        /* the table: by rate */
	return &v->base;
}
