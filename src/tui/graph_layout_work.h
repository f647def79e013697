/*
 * graph_layout_work.h - the normalized graph graph_layout.c and
 * graph_route.c share while they lay one out (not for other files).
 *
 * Nodes are the real ones (0 .. nreal-1) then the dummy points; segments
 * each join two adjacent layers, and the segments of one edge are
 * consecutive in segs[], in the layout's direction (left to right), so an
 * edge's route is read off its chain.
 */
#ifndef OB_TUI_GRAPH_LAYOUT_WORK_H
#define OB_TUI_GRAPH_LAYOUT_WORK_H

#include "tui/graph_layout.h"

struct graph_seg {
	int from, to;           /* normalized nodes, layer(to) = layer(from) + 1 */
	int r1, r2;             /* rows it leaves from and arrives at */
	int track;              /* its vertical run's column in the gap; -1: none */
};

struct graph_work {
	size_t nreal, n;
	int *layer, *w, *h, *y, *pos;
	int nlayers;
	int **lay;              /* nodes of each layer, in order */
	int *laylen;
	struct graph_seg *segs;
	size_t nsegs;
	size_t *chain, *chainlen;   /* per input edge: its first segment, how many */
	/* segments out of and into each node (CSR) */
	int *out_start, *out_list, *in_start, *in_list;
};

/* Step 6: the rows edges leave and arrive on, then columns, tracks and routes into out. */
void graph_route_ports(struct graph_work *wk);
void graph_route_columns(struct graph_work *wk, const struct graph_layout_input *in,
			 const bool *reversed, struct graph_layout *out);

#endif
