/*
 * test_graph_layout.c - the layered layout of the Services view
 * (src/tui/graph_layout.c): cycles broken by reversing DFS back edges,
 * longest-path layers, dummy points on long edges, crossings counted and
 * reduced by barycenter sweeps, rows and columns that keep boxes apart,
 * orthogonal routes that start and end beside their boxes, and the
 * box-drawing characters a route becomes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/graph_layout.h"

#define E(a, b) { (a), (b), 0 }

static void
cycles_are_broken(void **state)
{
	/* a -> b -> c -> a, and b <-> d */
	const struct graph_edge_in e[] = { E(0, 1), E(1, 2), E(2, 0), E(1, 3), E(3, 1), E(2, 2) };
	bool rev[6];
	int rank[4];
	size_t i, n = 0;

	(void)state;
	graph_layout_acyclic(4, e, 6, rev);
	for (i = 0; i < 6; i++)
		n += rev[i];
	assert_int_equal(n, 2);
	assert_true(rev[2]);            /* c -> a closes the first cycle */
	assert_true(rev[4]);            /* d -> b the second */
	assert_false(rev[5]);           /* a self edge is no cycle of the layout */
	graph_layout_rank(4, e, 6, rev, rank);
	for (i = 0; i < 5; i++) {
		int u = rev[i] ? e[i].to : e[i].from, v = rev[i] ? e[i].from : e[i].to;

		assert_true(rank[v] > rank[u]);
	}
}

static void
longest_path_layers(void **state)
{
	/* a -> b -> c, a -> c, d -> c, e alone */
	const struct graph_edge_in e[] = { E(0, 1), E(1, 2), E(0, 2), E(3, 2) };
	bool rev[4] = { false };
	int rank[5];

	(void)state;
	graph_layout_rank(5, e, 4, rev, rank);
	assert_int_equal(rank[0], 0);
	assert_int_equal(rank[1], 1);
	assert_int_equal(rank[2], 2);   /* after the longest path to it, not the shortest */
	assert_int_equal(rank[3], 0);
	assert_int_equal(rank[4], 0);
}

static long
brute_crossings(const int (*p)[2], size_t n)
{
	long c = 0;
	size_t i, j;

	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if ((p[i][0] < p[j][0] && p[i][1] > p[j][1]) ||
			    (p[i][0] > p[j][0] && p[i][1] < p[j][1]))
				c++;
	return c;
}

static void
bilayer_crossings(void **state)
{
	const int x[][2] = { { 0, 1 }, { 1, 0 } };
	const int fan[][2] = { { 0, 0 }, { 0, 1 }, { 0, 2 } };
	const int k22[][2] = { { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } };
	int r[40][2];
	int round, i;

	(void)state;
	assert_int_equal(graph_layout_bilayer_crossings(x, 2, 2), 1);
	assert_int_equal(graph_layout_bilayer_crossings(fan, 3, 3), 0);
	assert_int_equal(graph_layout_bilayer_crossings(k22, 4, 2), 1);
	assert_int_equal(graph_layout_bilayer_crossings(NULL, 0, 0), 0);
	srand(7);
	for (round = 0; round < 200; round++) {
		int n = rand() % 40;

		for (i = 0; i < n; i++) {
			r[i][0] = rand() % 9;
			r[i][1] = rand() % 7;
		}
		assert_int_equal(graph_layout_bilayer_crossings((const int (*)[2])r, (size_t)n, 7),
				 brute_crossings((const int (*)[2])r, (size_t)n));
	}
}

static bool
inside(const struct graph_box *b, int x, int y)
{
	return x >= b->x && x < b->x + b->w && y >= b->y && y < b->y + b->h;
}

/*
 * What every layout must satisfy: boxes inside the plane and apart, each
 * route orthogonal, outside every box, starting beside its source and
 * ending beside its target (left of it, or right of it when reversed).
 */
static void
check_layout(const struct graph_layout_input *in, const struct graph_layout *l)
{
	uint8_t *bits = calloc((size_t)l->w * (size_t)l->h + 1, 1);
	size_t i, j, k;
	int x, y, top = l->h;

	/* the plane starts at its first row and column */
	for (i = 0; i < in->nnodes; i++)
		if (l->boxes[i].y < top)
			top = l->boxes[i].y;
	for (i = 0; i < in->nedges; i++)
		for (k = 0; k < l->routes[i].npts; k++)
			if (l->routes[i].pts[k].y < top)
				top = l->routes[i].pts[k].y;
	if (in->nnodes)
		assert_int_equal(top, 0);

	/* no line passes through a box */
	for (i = 0; i < in->nedges; i++)
		graph_route_trace(&l->routes[i], 0, 0, l->w, l->h, bits, NULL, 0);
	for (i = 0; i < in->nnodes; i++)
		for (y = l->boxes[i].y; y < l->boxes[i].y + l->boxes[i].h; y++)
			for (x = l->boxes[i].x; x < l->boxes[i].x + l->boxes[i].w; x++)
				assert_int_equal(bits[y * l->w + x], 0);
	free(bits);

	for (i = 0; i < in->nnodes; i++) {
		const struct graph_box *b = &l->boxes[i];

		assert_true(b->x >= 0 && b->y >= 0 && b->x + b->w <= l->w && b->y + b->h <= l->h);
		assert_int_equal(b->w, in->w[i]);
		for (j = 0; j < i; j++) {
			const struct graph_box *o = &l->boxes[j];

			assert_false(b->x < o->x + o->w && o->x < b->x + b->w &&
				     b->y < o->y + o->h && o->y < b->y + b->h);
		}
	}
	for (i = 0; i < in->nedges; i++) {
		const struct graph_route *r = &l->routes[i];
		const struct graph_box *s = &l->boxes[in->edges[i].from], *t = &l->boxes[in->edges[i].to];

		if (in->edges[i].from == in->edges[i].to) {
			assert_int_equal(r->npts, 0);
			continue;
		}
		assert_true(r->npts >= 2);
		for (k = 0; k < r->npts; k++) {
			for (j = 0; j < in->nnodes; j++)
				assert_false(inside(&l->boxes[j], r->pts[k].x, r->pts[k].y));
			if (k)
				assert_true((r->pts[k].x == r->pts[k - 1].x) != (r->pts[k].y == r->pts[k - 1].y));
		}
		if (!r->reversed) {
			assert_int_equal(r->pts[0].x, s->x + s->w);
			assert_true(r->pts[0].y > s->y && r->pts[0].y < s->y + s->h - 1);
			assert_int_equal(r->pts[r->npts - 1].x, t->x - 1);
			assert_true(r->pts[r->npts - 1].y > t->y && r->pts[r->npts - 1].y < t->y + t->h - 1);
			assert_true(s->layer < t->layer);
		} else {
			assert_int_equal(r->pts[0].x, s->x - 1);
			assert_int_equal(r->pts[r->npts - 1].x, t->x + t->w);
			assert_true(s->layer > t->layer);
		}
	}
}

static void
dummies_carry_long_edges(void **state)
{
	/* a -> b -> c -> d and a -> d: a -> d passes through layers 1 and 2 */
	const struct graph_edge_in e[] = { E(0, 1), E(1, 2), E(2, 3), { 0, 3, 6 } };
	const int w[] = { 10, 14, 8, 12 }, h[] = { 5, 5, 5, 5 };
	struct graph_layout_input in = { 4, w, h, 4, e };
	struct graph_layout l;
	const struct graph_route *r;
	int layer;
	size_t k;

	(void)state;
	graph_layout_compute(&in, &l);
	check_layout(&in, &l);
	assert_int_equal(l.nlayers, 4);
	for (k = 0; k < 4; k++)
		assert_int_equal(l.boxes[k].layer, (int)k);
	/* the long edge crosses the columns of layers 1 and 2 on one row each */
	r = &l.routes[3];
	for (layer = 1; layer <= 2; layer++) {
		const struct graph_box *b = &l.boxes[layer];
		bool crossed = false;

		for (k = 0; k + 1 < r->npts; k++)
			if (r->pts[k].y == r->pts[k + 1].y && r->pts[k].x <= b->x &&
			    r->pts[k + 1].x >= b->x + b->w - 1)
				crossed = true;
		assert_true(crossed);
	}
	/* its label sits on its first run, right of a's column */
	assert_int_equal(r->label_y, r->pts[0].y);
	assert_true(r->label_x > l.boxes[0].x + l.boxes[0].w);
	assert_int_equal(l.routes[0].label_y, -1);
	graph_layout_release(&l);
}

static void
sweeps_remove_crossings(void **state)
{
	/*
	 * u0 -> v2, u0 -> v0, u1 -> v1, u2 -> v0: the depth-first order puts
	 * v2, v0, v1 and u0, u1, u2, with one crossing; a sweep up moves u2
	 * above u1 and none is left.
	 */
	const struct graph_edge_in e[] = { E(0, 5), E(0, 3), E(1, 4), E(2, 3) };
	const int w[] = { 5, 5, 5, 5, 5, 5 }, h[] = { 3, 3, 3, 3, 3, 3 };
	struct graph_layout_input in = { 6, w, h, 4, e };
	struct graph_layout l;

	(void)state;
	graph_layout_compute(&in, &l);
	check_layout(&in, &l);
	assert_int_equal(l.crossings, 0);
	assert_true(l.sweeps >= 1);
	assert_true(l.boxes[2].order < l.boxes[1].order);
	graph_layout_release(&l);

	/* a graph without crossings is not swept at all */
	{
		const struct graph_edge_in chain[] = { E(0, 1), E(1, 2) };

		in.nedges = 2;
		in.edges = chain;
		in.nnodes = 3;
		graph_layout_compute(&in, &l);
		assert_int_equal(l.crossings, 0);
		assert_int_equal(l.sweeps, 0);
		graph_layout_release(&l);
	}
}

/* Random graphs: the invariants hold, the count is right, and it stops. */
static void
random_graphs(void **state)
{
	struct graph_edge_in e[60];
	int w[25], h[25], round;

	(void)state;
	srand(11);
	for (round = 0; round < 150; round++) {
		int n = 1 + rand() % 25, m = rand() % 60, i;
		struct graph_layout_input in = { (size_t)n, w, h, (size_t)m, e };
		struct graph_layout l;

		for (i = 0; i < n; i++) {
			w[i] = 3 + rand() % 20;
			h[i] = rand() % 2 ? 5 : 3;
		}
		for (i = 0; i < m; i++)
			e[i] = (struct graph_edge_in){ rand() % n, rand() % n, rand() % 8 };
		graph_layout_compute(&in, &l);
		check_layout(&in, &l);
		assert_true(l.sweeps <= 32);
		assert_true(l.crossings >= 0);
		graph_layout_release(&l);
	}
}

/* A fan-out of ten callees: one layer of ten boxes right of the caller. */
static void
fan_out(void **state)
{
	struct graph_edge_in e[10];
	int w[11], h[11], i;
	struct graph_layout_input in = { 11, w, h, 10, e };
	struct graph_layout l;

	(void)state;
	for (i = 0; i < 11; i++) {
		w[i] = 12;
		h[i] = 5;
	}
	for (i = 0; i < 10; i++)
		e[i] = (struct graph_edge_in){ 0, i + 1, 7 };
	graph_layout_compute(&in, &l);
	check_layout(&in, &l);
	assert_int_equal(l.nlayers, 2);
	assert_int_equal(l.h, 10 * 6 - 1);
	for (i = 1; i < 11; i++)
		assert_int_equal(l.boxes[i].x, l.boxes[1].x);
	/* the caller sits across from the middle of its callees */
	assert_true(abs(2 * l.boxes[0].y + 5 - l.h) <= 2);
	graph_layout_release(&l);
}

static void
glyphs_of_routes(void **state)
{
	struct graph_point p1[] = { { 0, 0 }, { 3, 0 }, { 3, 2 }, { 5, 2 } };
	struct graph_point p2[] = { { 1, 3 }, { 1, 1 }, { 4, 1 } };
	struct graph_route r1 = { p1, 4, false, -1, -1 }, r2 = { p2, 3, true, -1, -1 };
	uint8_t bits[6 * 4] = { 0 }, mark[6 * 4] = { 0 };
	char rowbuf[4][64];
	int x, y;

	(void)state;
	graph_route_trace(&r1, 0, 0, 6, 4, bits, mark, 2);
	graph_route_trace(&r2, 0, 0, 6, 4, bits, mark, 1);
	for (y = 0; y < 4; y++) {
		size_t o = 0;

		for (x = 0; x < 6; x++) {
			uint32_t g = graph_line_glyph(bits[y * 6 + x], false);

			if (g < 0x80) {
				rowbuf[y][o++] = (char)g;
			} else {
				rowbuf[y][o++] = (char)(0xe0 | g >> 12);
				rowbuf[y][o++] = (char)(0x80 | ((g >> 6) & 0x3f));
				rowbuf[y][o++] = (char)(0x80 | (g & 0x3f));
			}
		}
		rowbuf[y][o] = 0;
	}
	assert_string_equal(rowbuf[0], "\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\xe2\x94\x90  ");  /* ───┐ */
	assert_string_equal(rowbuf[1], " \xe2\x94\x8c\xe2\x94\x80\xe2\x94\xbc\xe2\x94\x80 ");  /* ┌─┼─ */
	assert_string_equal(rowbuf[2], " \xe2\x94\x82 \xe2\x94\x94\xe2\x94\x80\xe2\x94\x80"); /* │ └── */
	assert_string_equal(rowbuf[3], " \xe2\x94\x82    ");
	assert_int_equal(mark[1 * 6 + 3], 2);  /* the crossing keeps the higher mark */
	assert_int_equal(mark[1 * 6 + 4], 1);
	assert_int_equal(mark[0 * 6 + 5], 0);
	assert_int_equal(graph_arrow_glyph(&r1, false), 0x25b6);
	assert_int_equal(graph_arrow_glyph(&r2, true), '>');
	r2.npts = 2;
	assert_int_equal(graph_arrow_glyph(&r2, false), 0x25b2);
	assert_int_equal(graph_line_glyph(GRAPH_UP | GRAPH_RIGHT, true), '+');
	assert_int_equal(graph_line_glyph(GRAPH_LEFT, true), '-');
	assert_int_equal(graph_line_glyph(GRAPH_DOWN, true), '|');
	/* clipped with an offset: only what falls inside is traced */
	memset(bits, 0, sizeof bits);
	graph_route_trace(&r1, 3, 1, 2, 2, bits, NULL, 0);
	assert_int_equal(bits[0], GRAPH_UP | GRAPH_DOWN);
	assert_int_equal(bits[2], GRAPH_UP | GRAPH_RIGHT);
	assert_int_equal(bits[3], GRAPH_LEFT | GRAPH_RIGHT);
}

/* A cycle is drawn with one edge running back, right to left. */
static void
cycle_routes(void **state)
{
	const struct graph_edge_in e[] = { { 0, 1, 4 }, { 1, 2, 4 }, { 2, 0, 4 }, { 1, 1, 4 } };
	const int w[] = { 9, 9, 9 }, h[] = { 5, 5, 5 };
	struct graph_layout_input in = { 3, w, h, 4, e };
	struct graph_layout l;

	(void)state;
	graph_layout_compute(&in, &l);
	check_layout(&in, &l);
	assert_true(l.routes[2].reversed);
	assert_false(l.routes[0].reversed);
	assert_int_equal(graph_arrow_glyph(&l.routes[2], false), 0x25c0);
	assert_int_equal(l.routes[3].npts, 0);
	graph_layout_release(&l);

	/* nothing to lay out */
	in.nnodes = 0;
	in.nedges = 0;
	graph_layout_compute(&in, &l);
	assert_int_equal(l.w, 0);
	assert_int_equal(l.h, 0);
	graph_layout_release(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cycles_are_broken),
		cmocka_unit_test(longest_path_layers),
		cmocka_unit_test(bilayer_crossings),
		cmocka_unit_test(dummies_carry_long_edges),
		cmocka_unit_test(sweeps_remove_crossings),
		cmocka_unit_test(random_graphs),
		cmocka_unit_test(fan_out),
		cmocka_unit_test(glyphs_of_routes),
		cmocka_unit_test(cycle_routes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
