/*
 * graph_layout.h - a layered (Sugiyama) layout of a directed graph on a
 * grid of terminal cells, for the Services view: callers left of callees.
 *
 * Pure arithmetic: no curses, no store, no service names.  The caller
 * gives box sizes and edges; graph_layout_compute() answers where each box
 * goes and the orthogonal path of each edge.  The steps are dagre's:
 *
 *   1. cycles broken: the back edges of a depth-first search (nodes in
 *      index order, successors in edge order) are reversed for the layout
 *      and drawn against it (route->reversed);
 *   2. layers: longest path from the sources (a node's layer is one more
 *      than its furthest predecessor's), so every edge points right;
 *   3. an edge spanning k > 1 layers becomes a chain through k - 1 dummy
 *      points, one in each layer between;
 *   4. order within layers: a depth-first initial order, then barycenter
 *      sweeps alternating down and up (tie bias alternating every two
 *      sweeps), crossings counted after each (bilayer accumulator tree,
 *      Barth-Juenger-Mutzel); the best order is kept and sweeping stops
 *      after 4 sweeps without improvement (or 32 in all; 4 in all when
 *      dummies make the graph over 5,000 points);
 *   5. rows: each layer is a column of boxes one blank row apart; nodes
 *      move toward the mean row of their neighbours in alternate sweeps,
 *      keeping their order (isotonic regression, so the least squared
 *      movement that keeps the boxes apart);
 *   6. columns: a layer is as wide as its widest box; the gap after it
 *      is one cell, the edge labels (one cell after the longest), one
 *      column ("track") per vertical run of an edge, and the arrows' cell;
 *      tracks are assigned so that vertical runs on one track never touch
 *      and no horizontal run overlaps another edge's on the same row.
 *
 * Every coordinate is a non-negative integer cell (x column, y row) of a
 * plane of w x h cells.  An edge's route starts in the cell next to its
 * source box and ends in the cell next to its target box, where the arrow
 * goes; consecutive points differ in x or in y, never both.
 */
#ifndef OB_TUI_GRAPH_LAYOUT_H
#define OB_TUI_GRAPH_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct graph_edge_in {
	int from, to;           /* node indexes */
	int label_w;            /* cells of its label, 0 for none */
};

struct graph_layout_input {
	size_t nnodes;
	const int *w, *h;       /* box size of each node; at least 3 x 3 */
	size_t nedges;
	const struct graph_edge_in *edges;
};

struct graph_point {
	int x, y;
};

struct graph_box {
	int x, y, w, h;
	int layer, order;       /* column of layers, position from the top */
};

struct graph_route {
	struct graph_point *pts;    /* from the source's side to the arrow */
	size_t npts;                /* 0: a self edge, not drawn */
	bool reversed;              /* a back edge of a cycle: it runs right to left */
	int label_x, label_y;       /* where its label starts; -1: nowhere */
};

struct graph_layout {
	int w, h;                   /* the plane */
	size_t nnodes, nedges;
	struct graph_box *boxes;    /* one per node */
	struct graph_route *routes; /* one per edge */
	int nlayers;
	long crossings;             /* of the order chosen, dummies included */
	int sweeps;                 /* barycenter sweeps run */
};

/* Lay in out (which the caller releases); never fails. */
void graph_layout_compute(const struct graph_layout_input *in, struct graph_layout *out);
void graph_layout_release(struct graph_layout *l);

/*
 * The steps, for tests.  reversed[i] (nedges entries) says which edges
 * the depth-first search found to close a cycle; rank[v] (nnodes entries)
 * is the layer of each node with those edges reversed (self edges are
 * ignored by both).
 */
void graph_layout_acyclic(size_t nnodes, const struct graph_edge_in *e, size_t nedges,
			  bool *reversed);
void graph_layout_rank(size_t nnodes, const struct graph_edge_in *e, size_t nedges,
		       const bool *reversed, int *rank);
/*
 * Crossings between two adjacent layers: pairs[i] = { position of the
 * upper end in its layer, position of the lower end in its layer };
 * nsouth bounds the lower positions.  Two edges sharing an end never cross.
 */
long graph_layout_bilayer_crossings(const int (*pairs)[2], size_t npairs, size_t nsouth);

/*
 * Drawing.  A cell of a route holds the directions the line leaves it
 * in; graph_route_trace ORs a route's into bits (a w x h grid whose cell
 * (0, 0) is the plane's (ox, oy)), clipping, and where mark is not NULL
 * raises mark[cell] to at least markval on every cell it passes.
 */
enum { GRAPH_UP = 1, GRAPH_DOWN = 2, GRAPH_LEFT = 4, GRAPH_RIGHT = 8 };
void graph_route_trace(const struct graph_route *r, int ox, int oy, int w, int h,
		       uint8_t *bits, uint8_t *mark, uint8_t markval);
/* The box-drawing character for a cell's directions (─│┌┐└┘├┤┬┴┼), or ASCII (-|+). */
uint32_t graph_line_glyph(unsigned bits, bool ascii);
/* The arrow at the end of a route (▶◀▲▼, ASCII ><^v). */
uint32_t graph_arrow_glyph(const struct graph_route *r, bool ascii);

#endif
