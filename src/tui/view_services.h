/*
 * view_services.h - what the Services view's files share (not for other
 * views): the view's state, the table helpers of its edge table and of
 * the operations view, and how numbers are written.
 *
 * view_services.c holds the view, its graph mode and the keys;
 * view_services_table.c the edge table ('t') and the table drawing both
 * tables use; view_services_ops.c the operations of one service.
 */
#ifndef OB_TUI_VIEW_SERVICES_H
#define OB_TUI_VIEW_SERVICES_H

#include "model/svcgraph.h"
#include "tui/graph_layout.h"
#include "tui/layout.h"
#include "tui/tui.h"

/* At most this many nodes and edges are laid out: the busiest (the table has them all). */
#define SVC_MAX_NODES 120
#define SVC_MAX_EDGES 400
/* Cells of a node's name at most, of its numbers' line, of an edge's label. */
#define SVC_NAME_CELLS 24
#define SVC_STATS_CELLS 11          /* "12.3/s 0.5%"; longer numbers are cut */
#define SVC_LABEL_CELLS 6           /* a rate: "999k/s" */

struct services_view {
	struct tui_view base;
	struct sg_graph g;
	bool loaded;
	char error[OB_ERRLEN];
	uint64_t gen, elapsed_ns;
	double seconds;             /* the window's length, for rates */
	/* the layout of the nodes shown */
	struct graph_layout lay;
	bool have_layout, compact;
	int zoom;                   /* 0: detail when it fits, else compact; 1 detail; 2 compact */
	uint64_t shape;             /* of what was laid out: names, edges, zoom */
	uint64_t detail_shape;      /* the shape whose detail size is known */
	int detail_w, detail_h;
	int *box_of;                /* g.nodes index -> layout node, or -1 */
	int *node_of;               /* layout node -> g.nodes index */
	size_t nlaid;
	int *edge_of;               /* layout edge -> g.edges index */
	size_t nlaid_edges;
	/* the selection: a node, or an edge (whose node 'e' cycles around) */
	long sel_node, sel_edge;
	char anchor[128];           /* the node whose edges 'e' walks */
	char keep_node[128];        /* the selection by name, across refreshes */
	struct { char client[128], server[128], type[20]; } keep_edge;
	int pan_x, pan_y, view_w, view_h, view_top;
	bool follow;                /* pan to the selection at the next draw */
	/* table mode ('t') */
	bool table;
	int sort_col;
	bool sort_asc;
	size_t *rows, nrows, cursor, top;
	int table_height;
};

/*
 * "12.3/s" (at most 6 cells), "0.5%" ("<.1%" when under 0.05% failed; at
 * most 4), "12.3ms" (at most 7; "-" for nothing measured).
 */
void svc_rate_text(double per_s, char *out, size_t cap);
void svc_pct_text(uint64_t failed, uint64_t total, char *out, size_t cap);
void svc_ms_text(double ms, char *out, size_t cap);
/* The window for rates, in seconds (never below 1), as the view asks it now. */
double svc_window_seconds(const struct tui *t, uint64_t since_ns, uint64_t until_ns);
/* The query the source is asked: the traces list's :since/:range. */
void svc_graph_query(const struct tui *t, struct tui_graph_query *q);

/* TraceQL for the spans of an edge, and of one operation; out holds 2048. */
void svc_edge_traceql(const struct sg_graph *g, const struct sg_edge *e, char *out, size_t cap);
void svc_op_traceql(const struct sg_op *op, char *out, size_t cap);

/* --- the graph's layout and drawing (view_services_draw.c) --- */
/* After a new graph: which nodes are laid out. */
void services_choose_nodes(struct services_view *v);
/* The layout for a viewport of vw x vh cells (fit zoom: detail when it fits). */
void services_lay_out(struct services_view *v, int vw, int vh);
/* The layout node of the node named id, or -1 (not laid out, or none). */
int services_box_index(const struct services_view *v, const char *id);
/* The plane's part shown: screen cells and where the pan puts the plane. */
struct svc_clip {
	int x0, y0, x1, y1;         /* screen cells [x0, x1) x [y0, y1) */
	int ox, oy;                 /* screen cell of the plane's (pan_x, pan_y) */
	int pan_x, pan_y;
};
void services_draw_box(struct tui *t, struct services_view *v, struct tui_canvas *c,
		       const struct svc_clip *k, int li);
void services_draw_edges(struct services_view *v, struct tui_canvas *c, const struct svc_clip *k);
/* The last row: what is selected, with every number; the hint to pan when panned. */
void services_draw_info(struct tui *t, struct services_view *v, struct tui_canvas *c, int y,
			bool panned);
void services_draw_empty(struct services_view *v, struct tui_canvas *c, int y);

/* --- tables (view_services_table.c) --- */
struct svc_column {
	const char *name;
	struct layout_column fit;
	bool numeric;               /* right-aligned; sorts high first */
};
/* Header row at y; returns the widths chosen (widths has n entries). */
void svc_table_header(struct tui_canvas *c, int y, const struct svc_column *cols, int n,
		      int sort_col, bool asc, int *widths);
/* Cell i of a row: text in its column, numbers right-aligned. */
int svc_table_cell(struct tui_canvas *c, int y, int x, const struct svc_column *col, int width,
		   enum tui_style style, const char *text);
/* The column a click at x falls in, or -1. */
int svc_table_column_at(const int *widths, int n, int x);

void services_table_build(struct services_view *v);
void services_table_draw(struct tui *t, struct services_view *v, struct tui_canvas *c, int top,
			 int height);
/* Keys of table mode; true when taken. */
bool services_table_key(struct tui *t, struct services_view *v, int key);
void services_table_mouse(struct tui *t, struct services_view *v, enum tui_mouse_kind kind,
			  int y, int x);
void services_open_edge(struct tui *t, struct services_view *v, long edge);

#endif
