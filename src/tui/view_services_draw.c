/*
 * view_services_draw.c - the Services view's graph laid out and drawn
 * into the canvas: which nodes and edges are laid out (the busiest, when
 * there are too many), the layout computed again only when the graph's
 * shape changes, the boxes, the edges' lines, arrows and labels, the row
 * naming the selection; and how its numbers are written (svc_rate_text &
 * co., which the tables use too).
 *
 * Everything is drawn in plane coordinates through struct svc_clip, which
 * drops what falls outside the part of the plane shown, one cell at a
 * time (a box half panned out keeps its visible half).  Lines are traced
 * into a grid of directions first (graph_route_trace), so crossings and
 * junctions get the right box-drawing characters; the selection and
 * failing edges are marked in a parallel grid and win over plain lines.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "core/mem.h"
#include "tui/view_services.h"

/* --- numbers ------------------------------------------------------------------------- */

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

/* --- the layout -------------------------------------------------------------------------- */

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

	return n > SVC_NAME_CELLS ? SVC_NAME_CELLS : n;
}

static uint64_t
hash_add(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--)
		h = (h ^ *b++) * 1099511628211ull;
	return h;
}

static int
cmp_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y) - (x > y);
}

/*
 * keep[i] for the `max` busiest of n counts (ties: the first ones), all
 * when n <= max.  O(n log n).
 */
static void
keep_busiest(const uint64_t *count, size_t n, size_t max, bool *keep)
{
	uint64_t *sorted, threshold;
	size_t i, above = 0, ties;

	for (i = 0; i < n; i++)
		keep[i] = true;
	if (n <= max)
		return;
	sorted = ob_xcalloc(n, sizeof *sorted);
	memcpy(sorted, count, n * sizeof *sorted);
	qsort(sorted, n, sizeof *sorted, cmp_desc);
	threshold = sorted[max - 1];
	for (i = 0; i < n; i++)
		above += count[i] > threshold;
	ties = max - above;
	for (i = 0; i < n; i++)
		keep[i] = count[i] > threshold || (count[i] == threshold && ties && ties--);
	free(sorted);
}

/* Which nodes are laid out: all, or the busiest SVC_MAX_NODES, in index order. */
void
services_choose_nodes(struct services_view *v)
{
	size_t n = v->g.nnodes, i;
	uint64_t *count = ob_xcalloc(n + 1, sizeof *count);
	bool *keep = ob_xcalloc(n + 1, sizeof *keep);

	free(v->box_of);
	free(v->node_of);
	v->box_of = ob_xcalloc(n + 1, sizeof *v->box_of);
	v->node_of = ob_xcalloc(n + 1, sizeof *v->node_of);
	v->nlaid = 0;
	for (i = 0; i < n; i++)
		count[i] = v->g.nodes[i].requests + v->g.nodes[i].out_requests;
	keep_busiest(count, n, SVC_MAX_NODES, keep);
	for (i = 0; i < n; i++) {
		v->box_of[i] = keep[i] ? (int)v->nlaid : -1;
		if (keep[i])
			v->node_of[v->nlaid++] = (int)i;
	}
	free(count);
	free(keep);
}

int
services_box_index(const struct services_view *v, const char *id)
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
	uint64_t *count = ob_xcalloc(v->g.nedges + 1, sizeof *count);
	bool *keep = ob_xcalloc(v->g.nedges + 1, sizeof *keep);
	struct graph_layout_input in;
	size_t i, ne = 0;

	for (i = 0; i < v->g.nedges; i++)
		count[i] = v->g.edges[i].requests;
	keep_busiest(count, v->g.nedges, SVC_MAX_EDGES, keep);

	for (i = 0; i < v->nlaid; i++) {
		int nc = name_cells(v->g.nodes[v->node_of[i]].id);

		w[i] = (compact ? nc : (nc > SVC_STATS_CELLS ? nc : SVC_STATS_CELLS)) + 4;
		h[i] = compact ? 3 : 4;
	}
	free(v->edge_of);
	v->edge_of = ob_xcalloc(v->g.nedges + 1, sizeof *v->edge_of);
	for (i = 0; i < v->g.nedges; i++) {
		int a = services_box_index(v, v->g.edges[i].client), b = services_box_index(v, v->g.edges[i].server);

		if (a < 0 || b < 0 || !keep[i])
			continue;
		e[ne] = (struct graph_edge_in){ a, b, compact ? 0 : SVC_LABEL_CELLS };
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
	free(count);
	free(keep);
}

/*
 * The layout for a viewport of vw x vh cells, computed again only when
 * the shape changes.  Fit zoom takes the detail layout when it fits.
 */
void
services_lay_out(struct services_view *v, int vw, int vh)
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

/* --- the graph -------------------------------------------------------------------------- */


static void
put(struct tui_canvas *c, const struct svc_clip *k, int py, int px, uint32_t cp, enum tui_style st)
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
put_text(struct tui_canvas *c, const struct svc_clip *k, int py, int px, int maxw,
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

void
services_draw_box(struct tui *t, struct services_view *v, struct tui_canvas *c, const struct svc_clip *k,
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

void
services_draw_edges(struct services_view *v, struct tui_canvas *c, const struct svc_clip *k)
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
			put_text(c, k, r->label_y, r->label_x, SVC_LABEL_CELLS, st, rate);
		}
	}
	free(bits);
	free(mark);
}

/* The last row: what is selected, with every number. */
void
services_draw_info(struct tui *t, struct services_view *v, struct tui_canvas *c, int y, bool panned)
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

void
services_draw_empty(struct services_view *v, struct tui_canvas *c, int y)
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

