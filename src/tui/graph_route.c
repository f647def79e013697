/*
 * graph_route.c - step 6 of the layered layout (graph_layout.h): ports,
 * tracks, columns and the orthogonal route of every edge; and what a
 * route looks like on the screen (graph_route_trace, the glyphs).
 *
 * A box's edges leave from its right side and arrive on its left side,
 * spread over its inner rows in the order of the rows of their other
 * ends (shared when there are more edges than rows: they fan out like a
 * tree's branches).  In the gap after a layer an edge runs right on its
 * source row, down or up on its track, right again on its target row.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "tui/graph_layout_work.h"

static const struct graph_work *sort_wk;

static int
center2(const struct graph_work *wk, int v)
{
	return 2 * wk->y[v] + wk->h[v];
}

static int
cmp_out_seg(const void *a, const void *b)
{
	const struct graph_seg *x = &sort_wk->segs[*(const int *)a], *y = &sort_wk->segs[*(const int *)b];
	int cx = center2(sort_wk, x->to), cy = center2(sort_wk, y->to);

	if (cx != cy)
		return cx - cy;
	return sort_wk->pos[x->to] - sort_wk->pos[y->to];
}

static int
cmp_in_seg(const void *a, const void *b)
{
	const struct graph_seg *x = &sort_wk->segs[*(const int *)a], *y = &sort_wk->segs[*(const int *)b];
	int cx = center2(sort_wk, x->from), cy = center2(sort_wk, y->from);

	if (cx != cy)
		return cx - cy;
	return sort_wk->pos[x->from] - sort_wk->pos[y->from];
}

/* The row of port i of m on a box at y of height h: spread over its inner rows. */
static int
port_row(int y, int h, int i, int m)
{
	int k = h - 2;

	if (h < 3)
		return y;
	if (m == 1)
		return y + h / 2;
	if (m <= k)
		return y + 1 + (int)lround((double)i * (k - 1) / (m - 1));
	return y + 1 + i * k / m;
}

void
graph_route_ports(struct graph_work *wk)
{
	size_t v;

	sort_wk = wk;
	for (v = 0; v < wk->n; v++) {
		int a = wk->out_start[v], b = wk->out_start[v + 1], j;

		qsort(wk->out_list + a, (size_t)(b - a), sizeof *wk->out_list, cmp_out_seg);
		for (j = a; j < b; j++)
			wk->segs[wk->out_list[j]].r1 = port_row(wk->y[v], wk->h[v], j - a, b - a);
		a = wk->in_start[v];
		b = wk->in_start[v + 1];
		qsort(wk->in_list + a, (size_t)(b - a), sizeof *wk->in_list, cmp_in_seg);
		for (j = a; j < b; j++)
			wk->segs[wk->in_list[j]].r2 = port_row(wk->y[v], wk->h[v], j - a, b - a);
	}
}

static int
cmp_run(const void *a, const void *b)
{
	const struct graph_seg *x = &sort_wk->segs[*(const int *)a], *y = &sort_wk->segs[*(const int *)b];
	int xlo = x->r1 < x->r2 ? x->r1 : x->r2, ylo = y->r1 < y->r2 ? y->r1 : y->r2;

	if (xlo != ylo)
		return xlo - ylo;
	return *(const int *)a - *(const int *)b;
}

/* May the vertical runs of a and b share a column? */
static bool
share(const struct graph_seg *a, const struct graph_seg *b)
{
	int alo = a->r1 < a->r2 ? a->r1 : a->r2, ahi = a->r1 < a->r2 ? a->r2 : a->r1;
	int blo = b->r1 < b->r2 ? b->r1 : b->r2, bhi = b->r1 < b->r2 ? b->r2 : b->r1;

	if (ahi < blo || bhi < alo)
		return true;
	/* one port fanning out or in: the runs merge, as a tree's branches */
	return (a->from == b->from && a->r1 == b->r1) || (a->to == b->to && a->r2 == b->r2);
}

/*
 * Tracks of the gap after layer l.  A must come left of B when A leaves
 * on the row B arrives on, or their horizontal runs would overlap.  Each
 * round fills one track, left to right, with the runs whose predecessors
 * all have tracks already, the topmost first, as long as they share with
 * what the track holds.  Returns the number of tracks.
 */
static int
tracks(struct graph_work *wk, int l, int height)
{
	int *s = ob_xcalloc(wk->nsegs + 1, sizeof *s), *members = ob_xcalloc(wk->nsegs + 1,
									   sizeof *members);
	int *leaving = ob_xcalloc((size_t)height + 1, sizeof *leaving);
	int ns = 0, left, t = 0, i, j, nm;
	size_t k;

	for (k = 0; k < wk->nsegs; k++)
		if (wk->layer[wk->segs[k].from] == l && wk->segs[k].r1 != wk->segs[k].r2)
			s[ns++] = (int)k;
	/* s in top-down order of their runs, so each round takes the topmost first */
	sort_wk = wk;
	qsort(s, (size_t)ns, sizeof *s, cmp_run);
	for (i = 0; i < ns; i++)
		leaving[wk->segs[s[i]].r1]++;      /* runs without a track leaving on each row */
	for (left = ns; left > 0; t++) {
		bool some_ready = false;

		/* a round where no run is ready: the constraints go round in a circle */
		for (i = 0; i < ns && !some_ready; i++)
			some_ready = wk->segs[s[i]].track < 0 && leaving[wk->segs[s[i]].r2] == 0;
		nm = 0;
		for (i = 0; i < ns; i++) {
			struct graph_seg *b = &wk->segs[s[i]];
			bool fits = b->track < 0 && (!some_ready || leaving[b->r2] == 0);

			for (j = 0; j < nm && fits; j++)
				fits = share(&wk->segs[members[j]], b);
			if (fits)
				members[nm++] = s[i];
		}
		for (j = 0; j < nm; j++) {
			wk->segs[members[j]].track = t;
			leaving[wk->segs[members[j]].r1]--;
			left--;
		}
	}
	free(s);
	free(members);
	free(leaving);
	return t;
}

static void
add_point(struct graph_route *r, size_t *cap, int x, int y)
{
	if (r->npts && r->pts[r->npts - 1].x == x && r->pts[r->npts - 1].y == y)
		return;
	if (r->npts == *cap) {
		*cap = *cap * 2 + 8;
		r->pts = ob_xrealloc(r->pts, *cap * sizeof *r->pts);
	}
	r->pts[r->npts++] = (struct graph_point){ x, y };
}

static void
route(const struct graph_work *wk, const int *X, const int *W, const int *Lw, size_t e,
      const struct graph_edge_in *in, bool reversed, struct graph_layout *out)
{
	struct graph_route *r = &out->routes[e];
	size_t cap = 0, k;

	r->label_x = r->label_y = -1;
	r->reversed = reversed;
	if (wk->chainlen[e] == 0)
		return;
	for (k = wk->chain[e]; k < wk->chain[e] + wk->chainlen[e]; k++) {
		const struct graph_seg *s = &wk->segs[k];
		int l = wk->layer[s->from], c = X[l] + W[l] + 1 + Lw[l];

		if (k == wk->chain[e]) {
			const struct graph_box *b = &out->boxes[s->from];

			add_point(r, &cap, b->x + b->w, s->r1);
			if (in->label_w > 0) {
				r->label_x = X[l] + W[l] + 1;
				r->label_y = s->r1;
			}
		} else {
			add_point(r, &cap, X[l] + W[l], s->r1);    /* out of a dummy */
		}
		if (s->track >= 0) {
			add_point(r, &cap, c + s->track, s->r1);
			add_point(r, &cap, c + s->track, s->r2);
		}
		add_point(r, &cap, X[l + 1] - 1, s->r2);
	}
	if (reversed)
		for (k = 0; k < r->npts / 2; k++) {
			struct graph_point p = r->pts[k];

			r->pts[k] = r->pts[r->npts - 1 - k];
			r->pts[r->npts - 1 - k] = p;
		}
}

void
graph_route_columns(struct graph_work *wk, const struct graph_layout_input *in, const bool *reversed,
	struct graph_layout *out)
{
	int *X = ob_xcalloc((size_t)wk->nlayers + 1, sizeof *X);
	int *W = ob_xcalloc((size_t)wk->nlayers + 1, sizeof *W);
	int *Lw = ob_xcalloc((size_t)wk->nlayers + 1, sizeof *Lw);
	size_t v, e;
	int l, height = 0;

	for (v = 0; v < wk->n; v++) {
		if (wk->w[v] > W[wk->layer[v]])
			W[wk->layer[v]] = wk->w[v];
		if (wk->y[v] + wk->h[v] > height)
			height = wk->y[v] + wk->h[v];
	}
	for (e = 0; e < in->nedges; e++)
		if (wk->chainlen[e] && in->edges[e].label_w + 1 > Lw[wk->layer[wk->segs[wk->chain[e]].from]])
			Lw[wk->layer[wk->segs[wk->chain[e]].from]] = in->edges[e].label_w + 1;
	for (l = 0; l < wk->nlayers; l++) {
		if (Lw[l] == 1)
			Lw[l] = 0;
		if (l + 1 < wk->nlayers)
			X[l + 1] = X[l] + W[l] + 1 + Lw[l] + tracks(wk, l, height) + 1;
	}
	out->h = 0;
	for (v = 0; v < wk->nreal; v++) {
		out->boxes[v] = (struct graph_box){ X[wk->layer[v]], wk->y[v], wk->w[v], wk->h[v],
						    wk->layer[v], wk->pos[v] };
		if (wk->y[v] + wk->h[v] > out->h)
			out->h = wk->y[v] + wk->h[v];
	}
	for (v = wk->nreal; v < wk->n; v++)
		if (wk->y[v] + 1 > out->h)
			out->h = wk->y[v] + 1;
	out->w = wk->nlayers ? X[wk->nlayers - 1] + W[wk->nlayers - 1] : 0;
	for (e = 0; e < in->nedges; e++)
		route(wk, X, W, Lw, e, &in->edges[e], reversed[e], out);
	free(X);
	free(W);
	free(Lw);
}

/* --- drawing ------------------------------------------------------------------------ */

static void
put_bits(int x, int y, int ox, int oy, int w, int h, unsigned b, uint8_t *bits, uint8_t *mark,
	 uint8_t markval)
{
	size_t at;

	x -= ox;
	y -= oy;
	if (x < 0 || y < 0 || x >= w || y >= h)
		return;
	at = (size_t)y * (size_t)w + (size_t)x;
	bits[at] |= (uint8_t)b;
	if (mark && mark[at] < markval)
		mark[at] = markval;
}

void
graph_route_trace(const struct graph_route *r, int ox, int oy, int w, int h, uint8_t *bits,
		  uint8_t *mark, uint8_t markval)
{
	size_t i;

	for (i = 0; i + 1 < r->npts; i++) {
		struct graph_point p = r->pts[i], q = r->pts[i + 1];
		int dx = (q.x > p.x) - (q.x < p.x), dy = (q.y > p.y) - (q.y < p.y);
		unsigned fwd = dx > 0 ? GRAPH_RIGHT : dx < 0 ? GRAPH_LEFT : dy > 0 ? GRAPH_DOWN : GRAPH_UP;
		unsigned back = dx > 0 ? GRAPH_LEFT : dx < 0 ? GRAPH_RIGHT : dy > 0 ? GRAPH_UP : GRAPH_DOWN;
		int x = p.x, y = p.y;

		if (dx == 0 && dy == 0)
			continue;
		for (;;) {
			unsigned b = 0;

			if (x != p.x || y != p.y)
				b |= back;
			if (x != q.x || y != q.y)
				b |= fwd;
			put_bits(x, y, ox, oy, w, h, b, bits, mark, markval);
			if (x == q.x && y == q.y)
				break;
			x += dx;
			y += dy;
		}
	}
}

uint32_t
graph_line_glyph(unsigned bits, bool ascii)
{
	static const uint32_t box[16] = {
		[0] = ' ',
		[GRAPH_UP] = 0x2502, [GRAPH_DOWN] = 0x2502, [GRAPH_UP | GRAPH_DOWN] = 0x2502,
		[GRAPH_LEFT] = 0x2500, [GRAPH_RIGHT] = 0x2500, [GRAPH_LEFT | GRAPH_RIGHT] = 0x2500,
		[GRAPH_DOWN | GRAPH_RIGHT] = 0x250c, [GRAPH_DOWN | GRAPH_LEFT] = 0x2510,
		[GRAPH_UP | GRAPH_RIGHT] = 0x2514, [GRAPH_UP | GRAPH_LEFT] = 0x2518,
		[GRAPH_UP | GRAPH_DOWN | GRAPH_RIGHT] = 0x251c,
		[GRAPH_UP | GRAPH_DOWN | GRAPH_LEFT] = 0x2524,
		[GRAPH_LEFT | GRAPH_RIGHT | GRAPH_DOWN] = 0x252c,
		[GRAPH_LEFT | GRAPH_RIGHT | GRAPH_UP] = 0x2534,
		[GRAPH_UP | GRAPH_DOWN | GRAPH_LEFT | GRAPH_RIGHT] = 0x253c,
	};
	unsigned vertical = bits & (GRAPH_UP | GRAPH_DOWN), horizontal = bits & (GRAPH_LEFT | GRAPH_RIGHT);

	bits &= 15;
	if (!ascii)
		return box[bits];
	if (bits == 0)
		return ' ';
	if (vertical && horizontal)
		return '+';
	return vertical ? '|' : '-';
}

uint32_t
graph_arrow_glyph(const struct graph_route *r, bool ascii)
{
	struct graph_point p, q;

	if (r->npts < 2)
		return ascii ? '>' : 0x25b6;
	p = r->pts[r->npts - 2];
	q = r->pts[r->npts - 1];
	if (q.x > p.x)
		return ascii ? '>' : 0x25b6;
	if (q.x < p.x)
		return ascii ? '<' : 0x25c0;
	if (q.y > p.y)
		return ascii ? 'v' : 0x25bc;
	return ascii ? '^' : 0x25b2;
}
