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
 */
#include "tui/view_services.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "core/clock.h"
#include "core/mem.h"

#define VIEW(b) ((struct services_view *)(b))
#define NAME_MAX_CELLS 24
#define STATS_CELLS 11          /* "12.3/s 0.5%"; longer numbers are cut */
#define LABEL_CELLS 6           /* a rate: "999k/s" */

/* --- numbers and queries ------------------------------------------------------------ */

void
svc_rate_text(double r, char *out, size_t cap)
{
	if (!(r > 0))
		snprintf(out, cap, "0/s");
	else if (r < 10)
		snprintf(out, cap, "%.2f/s", r);
	else if (r < 100)
		snprintf(out, cap, "%.1f/s", r);
	else if (r < 999.5)
		snprintf(out, cap, "%.0f/s", r);
	else if (r < 9950)
		snprintf(out, cap, "%.1fk/s", r / 1e3);
	else if (r < 999500)
		snprintf(out, cap, "%.0fk/s", r / 1e3);
	else
		snprintf(out, cap, "%.1fM/s", r / 1e6);
}

void
svc_pct_text(uint64_t failed, uint64_t total, char *out, size_t cap)
{
	double p = total ? 100.0 * (double)failed / (double)total : 0;

	if (failed == 0 || total == 0)
		snprintf(out, cap, "0%%");
	else if (p < 0.05)
		snprintf(out, cap, "<.1%%");     /* never "0.0%" when something failed */
	else if (p < 9.95)
		snprintf(out, cap, "%.1f%%", p);
	else
		snprintf(out, cap, "%.0f%%", p);
}

void
svc_ms_text(double ms, char *out, size_t cap)
{
	if (isnan(ms) || ms < 0)
		snprintf(out, cap, "-");
	else
		layout_duration((uint64_t)llround(ms * 1e6), out, cap);
}

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
			 "span.db.name = \"%s\" || span.db.system = \"%s\") }", c, s, s, s, s, s, s);
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

/* --- the layout ----------------------------------------------------------------------- */

static int
cells(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += (*s & 0xc0) != 0x80;
	return n;
}

static int
name_cells(const char *s)
{
	int n = cells(s);

	return n > NAME_MAX_CELLS ? NAME_MAX_CELLS : n;
}

static uint64_t
hash_add(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--)
		h = (h ^ *b++) * 1099511628211ull;
	return h;
}

/* Which nodes are laid out: all, or the busiest SVC_MAX_NODES, in index order. */
static void
choose_nodes(struct services_view *v)
{
	size_t n = v->g.nnodes, i, j;

	free(v->box_of);
	free(v->node_of);
	v->box_of = ob_xcalloc(n + 1, sizeof *v->box_of);
	v->node_of = ob_xcalloc(n + 1, sizeof *v->node_of);
	v->nlaid = 0;
	for (i = 0; i < n; i++) {
		uint64_t mine = v->g.nodes[i].requests + v->g.nodes[i].out_requests;
		size_t busier = 0;

		if (n > SVC_MAX_NODES)
			for (j = 0; j < n && busier < SVC_MAX_NODES; j++) {
				uint64_t other = v->g.nodes[j].requests + v->g.nodes[j].out_requests;

				busier += other > mine || (other == mine && j < i);
			}
		v->box_of[i] = busier < SVC_MAX_NODES ? (int)v->nlaid : -1;
		if (v->box_of[i] >= 0)
			v->node_of[v->nlaid++] = (int)i;
	}
}

static int
box_index(const struct services_view *v, const char *id)
{
	size_t i;

	for (i = 0; i < v->g.nnodes; i++)
		if (strcmp(v->g.nodes[i].id, id) == 0)
			return v->box_of[i];
	return -1;
}

static uint64_t
shape_of(struct services_view *v, bool compact)
{
	uint64_t h = 14695981039346656037ull;
	size_t i;

	h = hash_add(h, &compact, sizeof compact);
	for (i = 0; i < v->nlaid; i++) {
		const struct sg_node *n = &v->g.nodes[v->node_of[i]];

		h = hash_add(h, n->id, strlen(n->id) + 1);
		h = hash_add(h, &n->kind, sizeof n->kind);
	}
	for (i = 0; i < v->g.nedges; i++) {
		h = hash_add(h, v->g.edges[i].client, strlen(v->g.edges[i].client) + 1);
		h = hash_add(h, v->g.edges[i].server, strlen(v->g.edges[i].server) + 1);
	}
	return h;
}

static void
lay_out(struct services_view *v, bool compact)
{
	int *w = ob_xcalloc(v->nlaid + 1, sizeof *w), *h = ob_xcalloc(v->nlaid + 1, sizeof *h);
	struct graph_edge_in *e = ob_xcalloc(v->g.nedges + 1, sizeof *e);
	struct graph_layout_input in;
	size_t i, ne = 0;

	for (i = 0; i < v->nlaid; i++) {
		int nc = name_cells(v->g.nodes[v->node_of[i]].id);

		w[i] = (compact ? nc : (nc > STATS_CELLS ? nc : STATS_CELLS)) + 4;
		h[i] = compact ? 3 : 4;
	}
	free(v->edge_of);
	v->edge_of = ob_xcalloc(v->g.nedges + 1, sizeof *v->edge_of);
	for (i = 0; i < v->g.nedges; i++) {
		int a = box_index(v, v->g.edges[i].client), b = box_index(v, v->g.edges[i].server);

		if (a < 0 || b < 0)
			continue;
		e[ne] = (struct graph_edge_in){ a, b, compact ? 0 : LABEL_CELLS };
		v->edge_of[ne++] = (int)i;
	}
	v->nlaid_edges = ne;
	in = (struct graph_layout_input){ v->nlaid, w, h, ne, e };
	if (v->have_layout)
		graph_layout_release(&v->lay);
	graph_layout_compute(&in, &v->lay);
	v->have_layout = true;
	v->compact = compact;
	free(w);
	free(h);
	free(e);
}

/*
 * The layout for a viewport of vw x vh cells, computed again only when
 * the shape changes.  Fit zoom takes the detail layout when it fits.
 */
static void
ensure_layout(struct services_view *v, int vw, int vh)
{
	bool compact = v->zoom == 2;
	uint64_t shape;

	if (v->zoom == 0) {
		shape = shape_of(v, false);
		if (!v->have_layout || v->detail_shape != shape) {
			lay_out(v, false);
			v->shape = v->detail_shape = shape;
			v->detail_w = v->lay.w;
			v->detail_h = v->lay.h;
		}
		compact = v->detail_w > vw || v->detail_h > vh;
	}
	shape = shape_of(v, compact);
	if (!v->have_layout || v->shape != shape) {
		lay_out(v, compact);
		v->shape = shape;
	}
}

/* --- drawing -------------------------------------------------------------------------- */

struct clip {
	int x0, y0, x1, y1;         /* screen cells [x0, x1) x [y0, y1) */
	int ox, oy;                 /* screen cell of the plane's (pan_x, pan_y) */
	int pan_x, pan_y;
};

static void
put(struct tui_canvas *c, const struct clip *k, int py, int px, uint32_t cp, enum tui_style st)
{
	int y = py - k->pan_y + k->oy, x = px - k->pan_x + k->ox;

	if (y < k->y0 || y >= k->y1 || x < k->x0 || x >= k->x1)
		return;
	if (cp < 0x20 || (c->ascii && cp > 0x7e) || (cp > 0x7e && wcwidth((wchar_t)cp) != 1))
		cp = '?';
	tui_canvas_fill(c, y, x, 1, cp, st);
}

/* Text at plane (py, px), one cell a character, at most maxw cells. */
static int
put_text(struct tui_canvas *c, const struct clip *k, int py, int px, int maxw,
	 enum tui_style st, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int n = 0;

	while (*p && n < maxw) {
		uint32_t cp = *p++;

		if (cp >= 0xc0) {
			int more = cp >= 0xf0 ? 3 : cp >= 0xe0 ? 2 : 1;

			cp &= 0x3f >> more;
			while (more-- && (*p & 0xc0) == 0x80)
				cp = cp << 6 | (*p++ & 0x3f);
		} else if (cp >= 0x80) {
			cp = 0xfffd;
		}
		if (n == maxw - 1 && *p)
			cp = c->ascii ? '~' : 0x2026;   /* cut */
		put(c, k, py, px + n++, cp, st);
	}
	return n;
}

static void
draw_box(struct tui *t, struct services_view *v, struct tui_canvas *c, const struct clip *k,
	 int li)
{
	static const uint32_t solid[6] = { 0x250c, 0x2510, 0x2514, 0x2518, 0x2500, 0x2502 };
	static const uint32_t dashed[6] = { 0x256d, 0x256e, 0x2570, 0x256f, 0x2504, 0x2506 };
	static const uint32_t solid_a[6] = { '+', '+', '+', '+', '-', '|' };
	static const uint32_t dashed_a[6] = { '.', '.', '\'', '\'', '-', ':' };
	static const char *const tags[] = { NULL, " db ", " peer ", " user " };
	const struct sg_node *n = &v->g.nodes[v->node_of[li]];
	const struct graph_box *b = &v->lay.boxes[li];
	bool virt = n->kind != SG_NODE_SERVICE, sel = v->sel_edge < 0 && v->sel_node == v->node_of[li];
	const uint32_t *g = c->ascii ? (virt ? dashed_a : solid_a) : (virt ? dashed : solid);
	enum tui_style border = sel ? TS_KEY : n->failed ? TS_ERROR : TS_BORDER;
	char a[32], e[32];
	int x, y;

	for (y = b->y; y < b->y + b->h; y++)
		for (x = b->x; x < b->x + b->w; x++) {
			uint32_t ch = ' ';

			if (y == b->y || y == b->y + b->h - 1)
				ch = x == b->x ? g[y == b->y ? 0 : 2] :
				     x == b->x + b->w - 1 ? g[y == b->y ? 1 : 3] : g[4];
			else if (x == b->x || x == b->x + b->w - 1)
				ch = g[5];
			put(c, k, y, x, ch, border);
		}
	/* compact: the name inside, the kind on top; detail: the name on top, the kind below */
	if (virt && n->kind != SG_NODE_USER && (int)strlen(tags[n->kind]) + 3 < b->w)
		put_text(c, k, v->compact ? b->y : b->y + b->h - 1, b->x + 2, b->w - 3, border,
			 tags[n->kind]);
	y = v->compact ? b->y + 1 : b->y;
	if (!v->compact)
		put(c, k, y, b->x + 1, ' ', border);
	x = put_text(c, k, y, b->x + 2, b->w - 4,
		     sel ? TS_SELECTED : virt ? TS_NORMAL : tui_service_style(n->id), n->id);
	if (v->compact)
		return;
	put(c, k, y, b->x + 2 + x, ' ', border);
	if (n->requests == 0 && n->out_requests) {
		svc_rate_text((double)n->out_requests / v->seconds, a, sizeof a);
		x = put_text(c, k, b->y + 1, b->x + 2, b->w - 4, TS_DIM, "out ");
		put_text(c, k, b->y + 1, b->x + 2 + x, b->w - 4 - x, TS_NORMAL, a);
		return;
	}
	svc_rate_text((double)n->requests / v->seconds, a, sizeof a);
	svc_pct_text(n->failed, n->requests, e, sizeof e);
	x = put_text(c, k, b->y + 1, b->x + 2, b->w - 4, TS_NORMAL, a) + 1;
	put_text(c, k, b->y + 1, b->x + 2 + x, b->w - 4 - x, n->failed ? TS_ERROR : TS_DIM, e);
	svc_ms_text(n->p95_ms, a, sizeof a);
	x = put_text(c, k, b->y + 2, b->x + 2, b->w - 4, TS_DIM, "p95 ");
	put_text(c, k, b->y + 2, b->x + 2 + x, b->w - 4 - x, TS_NORMAL, a);
	(void)t;
}

static void
draw_edges(struct services_view *v, struct tui_canvas *c, const struct clip *k)
{
	int w = k->x1 - k->x0, h = k->y1 - k->y0;
	uint8_t *bits = ob_xcalloc((size_t)w * (size_t)h + 1, 1);
	uint8_t *mark = ob_xcalloc((size_t)w * (size_t)h + 1, 1);
	static const enum tui_style styles[] = { TS_BORDER, TS_DIM, TS_ERROR, TS_SELECTED };
	/* the plane's cell at the clip's top left */
	int px0 = k->pan_x + (k->x0 - k->ox), py0 = k->pan_y + (k->y0 - k->oy);
	size_t i;
	int x, y;

	for (i = 0; i < v->nlaid_edges; i++) {
		const struct sg_edge *e = &v->g.edges[v->edge_of[i]];
		uint8_t m = v->sel_edge == v->edge_of[i] ? 3 : e->failed ? 2 : 1;

		graph_route_trace(&v->lay.routes[i], px0, py0, w, h, bits, mark, m);
	}
	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++)
			if (bits[y * w + x])
				put(c, k, py0 + y, px0 + x, graph_line_glyph(bits[y * w + x], c->ascii),
				    styles[mark[y * w + x]]);
	for (i = 0; i < v->nlaid_edges; i++) {
		const struct graph_route *r = &v->lay.routes[i];
		const struct sg_edge *e = &v->g.edges[v->edge_of[i]];
		bool sel = v->sel_edge == v->edge_of[i];
		enum tui_style st = sel ? TS_SELECTED : e->failed ? TS_ERROR : TS_NORMAL;
		char rate[32];

		if (r->npts < 2)
			continue;
		put(c, k, r->pts[r->npts - 1].y, r->pts[r->npts - 1].x, graph_arrow_glyph(r, c->ascii),
		    sel ? TS_SELECTED : e->failed ? TS_ERROR : TS_BORDER);
		if (r->label_y >= 0) {
			svc_rate_text((double)e->requests / v->seconds, rate, sizeof rate);
			put_text(c, k, r->label_y, r->label_x, LABEL_CELLS, st, rate);
		}
	}
	free(bits);
	free(mark);
}

/* The last row: what is selected, with every number. */
static void
draw_info(struct tui *t, struct services_view *v, struct tui_canvas *c, int y, bool panned)
{
	char a[32], b[32], d[32], e[32], line[640];
	int x = 1;

	(void)t;
	tui_canvas_fill(c, y, 0, c->w, ' ', TS_NORMAL);
	if (v->sel_edge >= 0) {
		const struct sg_edge *ed = &v->g.edges[v->sel_edge];

		svc_rate_text((double)ed->requests / v->seconds, a, sizeof a);
		svc_pct_text(ed->failed, ed->requests, b, sizeof b);
		svc_ms_text(ed->p50_ms, d, sizeof d);
		svc_ms_text(ed->p95_ms, e, sizeof e);
		x += tui_canvas_printf(c, y, x, -1, TS_HEADER, "%s %s %s", ed->client,
				       c->ascii ? "->" : "\xe2\x86\x92", ed->server);
		snprintf(line, sizeof line, "  %s%s%s  %s errors  p50 %s  p95 %s", a,
			 ed->connection_type[0] ? "  " : "", ed->connection_type, b, d, e);
		x += tui_canvas_text(c, y, x, -1, ed->failed ? TS_ERROR : TS_NORMAL, line);
		tui_canvas_text(c, y, x, -1, TS_DIM, "   Enter: its traces");
	} else if (v->sel_node >= 0) {
		const struct sg_node *n = &v->g.nodes[v->sel_node];
		static const char *const kinds[] = { "service", "database", "peer", "user" };

		svc_rate_text((double)n->requests / v->seconds, a, sizeof a);
		svc_pct_text(n->failed, n->requests, b, sizeof b);
		svc_ms_text(n->p50_ms, d, sizeof d);
		svc_ms_text(n->p95_ms, e, sizeof e);
		x += tui_canvas_text(c, y, x, -1, TS_HEADER, n->id);
		x += tui_canvas_printf(c, y, x, -1, TS_NORMAL, "  %s", kinds[n->kind]);
		snprintf(line, sizeof line, "  in %s  %s errors  p50 %s  p95 %s", a, b, d, e);
		if (n->requests)
			x += tui_canvas_text(c, y, x, -1, n->failed ? TS_ERROR : TS_NORMAL, line);
		svc_rate_text((double)n->out_requests / v->seconds, a, sizeof a);
		x += tui_canvas_printf(c, y, x, -1, TS_NORMAL, "  out %s", a);
		tui_canvas_text(c, y, x, -1, TS_DIM, n->kind == SG_NODE_SERVICE ?
				"   Enter: operations  e: edges" : "   e: edges");
	}
	if (panned) {
		snprintf(line, sizeof line, " H J K L pan ");
		tui_canvas_text(c, y, c->w - (int)strlen(line), -1, TS_KEY, line);
	}
}

static void
draw_empty(struct services_view *v, struct tui_canvas *c, int y)
{
	if (v->error[0]) {
		tui_canvas_text(c, y, 2, c->w - 4, TS_ERROR, v->error);
		return;
	}
	if (!v->loaded) {
		tui_canvas_text(c, y, 2, -1, TS_DIM, "loading...");
		return;
	}
	tui_canvas_text(c, y, 2, -1, TS_NORMAL, "No service graph in this time range.");
	tui_canvas_text(c, y + 2, 2, -1, TS_DIM, "Edges come from client and server spans (and"
						  " database calls) once their traces are sealed;");
	tui_canvas_text(c, y + 3, 2, -1, TS_DIM, ":since all widens the range; 'obstui demo'"
						  " shows a small shop's graph.");
}

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
			*x1 = r->label_y >= 0 ? r->label_x + LABEL_CELLS : r->pts[0].x + 1;
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
	struct clip k;
	size_t i;

	v->view_top = top;
	if (v->table) {
		services_table_draw(t, v, c, top, height);
		return;
	}
	if (v->g.nnodes == 0 || vw < 4 || vh < 3) {
		draw_empty(v, c, top + 1);
		return;
	}
	ensure_layout(v, vw, vh);
	if (v->sel_node < 0 && v->sel_edge < 0)
		select_default(v);
	clamp_pan(v, vw, vh);
	v->view_w = vw;
	v->view_h = vh;
	k = (struct clip){ 1, top, 1 + vw, top + vh, 1, top, v->pan_x, v->pan_y };
	draw_edges(v, c, &k);
	for (i = 0; i < v->nlaid; i++)
		draw_box(t, v, c, &k, (int)i);
	draw_info(t, v, c, top + height - 1, v->lay.w > vw || v->lay.h > vh);
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
		 v->nlaid < v->g.nnodes && !v->table ? "  busiest shown" : "", took);
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
	choose_nodes(v);
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
		return box_index(v, v->anchor);
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

		select_box(v, box_index(v, step < 0 ? e->client : e->server));
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
	{ 'e', 0, "e E", "the node's next / previous edge", k_edge },
	{ 'E', 0, "E", "the node's previous edge", k_edge_back },
	{ TK_ENTER, 0, "Enter", "a service: its operations; an edge: its traces, failing and"
				" slowest first", k_open },
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

		if (r->label_y == py && px >= r->label_x && px < r->label_x + LABEL_CELLS)
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
