/*
 * graph_layout.c - the layered layout of graph_layout.h, steps 1 to 5
 * (graph_route.c does step 6 and the drawing helpers).
 *
 * The work is done on a normalized graph (graph_layout_work.h): the real
 * nodes then the dummy points, and segments that each join two adjacent
 * layers.  Sizes are small (a service graph of tens of nodes; the view
 * caps what it lays out at 120 nodes and 400 edges), and a graph whose
 * dummies make it big gets fewer sweeps.
 */
#include "tui/graph_layout.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "tui/graph_layout_work.h"

#define MAX_SWEEPS 32
#define BIG_GRAPH 5000          /* points (dummies included) past which 4 sweeps must do */
#define SWEEPS_WITHOUT_GAIN 4
#define ROW_SWEEPS 8

/* --- 1. cycles ------------------------------------------------------------------ */

static bool
edge_ok(const struct graph_edge_in *e, size_t n)
{
	return e->from >= 0 && e->to >= 0 && (size_t)e->from < n && (size_t)e->to < n &&
	       e->from != e->to;
}

/* CSR of the edges out of each node, by (from, to) or reversed per flip. */
static void
out_csr(size_t n, const struct graph_edge_in *e, size_t m, const bool *flip, int **start,
	int **list)
{
	size_t i;
	int *fill;

	*start = ob_xcalloc(n + 1, sizeof **start);
	*list = ob_xcalloc(m + 1, sizeof **list);
	fill = ob_xcalloc(n + 1, sizeof *fill);
	for (i = 0; i < m; i++)
		if (edge_ok(&e[i], n))
			(*start)[(flip && flip[i] ? e[i].to : e[i].from) + 1]++;
	for (i = 0; i < n; i++)
		(*start)[i + 1] += (*start)[i];
	for (i = 0; i < m; i++) {
		int u;

		if (!edge_ok(&e[i], n))
			continue;
		u = flip && flip[i] ? e[i].to : e[i].from;
		(*list)[(*start)[u] + fill[u]++] = (int)i;
	}
	free(fill);
}

void
graph_layout_acyclic(size_t n, const struct graph_edge_in *e, size_t m, bool *reversed)
{
	int *start, *list, *state, *stack, *cursor;
	size_t root, sp;

	memset(reversed, 0, m * sizeof *reversed);
	out_csr(n, e, m, NULL, &start, &list);
	state = ob_xcalloc(n + 1, sizeof *state);      /* 0 new, 1 on the stack, 2 done */
	stack = ob_xcalloc(n + 1, sizeof *stack);
	cursor = ob_xcalloc(n + 1, sizeof *cursor);
	for (root = 0; root < n; root++) {
		if (state[root])
			continue;
		sp = 0;
		stack[sp++] = (int)root;
		state[root] = 1;
		cursor[root] = start[root];
		while (sp) {
			int v = stack[sp - 1];

			if (cursor[v] < start[v + 1]) {
				int k = list[cursor[v]++], w = e[k].to;

				if (state[w] == 1) {
					reversed[k] = true;     /* closes a cycle */
				} else if (state[w] == 0) {
					state[w] = 1;
					cursor[w] = start[w];
					stack[sp++] = w;
				}
			} else {
				state[v] = 2;
				sp--;
			}
		}
	}
	free(start);
	free(list);
	free(state);
	free(stack);
	free(cursor);
}

/* --- 2. layers ------------------------------------------------------------------ */

void
graph_layout_rank(size_t n, const struct graph_edge_in *e, size_t m, const bool *reversed,
		  int *rank)
{
	int *start, *list, *indeg = ob_xcalloc(n + 1, sizeof *indeg);
	int *queue = ob_xcalloc(n + 1, sizeof *queue);
	size_t i, head = 0, tail = 0;

	out_csr(n, e, m, reversed, &start, &list);
	for (i = 0; i < m; i++)
		if (edge_ok(&e[i], n))
			indeg[reversed[i] ? e[i].from : e[i].to]++;
	for (i = 0; i < n; i++) {
		rank[i] = 0;
		if (indeg[i] == 0)
			queue[tail++] = (int)i;
	}
	while (head < tail) {
		int u = queue[head++], k;

		for (k = start[u]; k < start[u + 1]; k++) {
			int v = reversed[list[k]] ? e[list[k]].from : e[list[k]].to;

			if (rank[v] < rank[u] + 1)
				rank[v] = rank[u] + 1;
			if (--indeg[v] == 0)
				queue[tail++] = v;
		}
	}
	free(start);
	free(list);
	free(indeg);
	free(queue);
}

/* --- 3. dummies ------------------------------------------------------------------ */

static int
add_node(struct graph_work *wk, size_t *cap, int layer, int w, int h)
{
	if (wk->n == *cap) {
		*cap = *cap * 2 + 16;
		wk->layer = ob_xrealloc(wk->layer, *cap * sizeof *wk->layer);
		wk->w = ob_xrealloc(wk->w, *cap * sizeof *wk->w);
		wk->h = ob_xrealloc(wk->h, *cap * sizeof *wk->h);
	}
	wk->layer[wk->n] = layer;
	wk->w[wk->n] = w;
	wk->h[wk->n] = h;
	return (int)wk->n++;
}

static void
normalize(struct graph_work *wk, const struct graph_layout_input *in, const bool *reversed,
	  const int *rank)
{
	size_t cap = 0, segcap = 16, i;

	for (i = 0; i < in->nnodes; i++)
		add_node(wk, &cap, rank[i], in->w[i] < 3 ? 3 : in->w[i], in->h[i] < 3 ? 3 : in->h[i]);
	wk->segs = ob_xcalloc(segcap, sizeof *wk->segs);
	wk->chain = ob_xcalloc(in->nedges + 1, sizeof *wk->chain);
	wk->chainlen = ob_xcalloc(in->nedges + 1, sizeof *wk->chainlen);
	for (i = 0; i < in->nedges; i++) {
		const struct graph_edge_in *e = &in->edges[i];
		int u, v, prev, l;

		wk->chain[i] = wk->nsegs;
		if (!edge_ok(e, in->nnodes))
			continue;
		u = reversed[i] ? e->to : e->from;
		v = reversed[i] ? e->from : e->to;
		for (prev = u, l = rank[u] + 1; l <= rank[v]; l++) {
			int next = l == rank[v] ? v : add_node(wk, &cap, l, 1, 1);

			if (wk->nsegs == segcap) {
				segcap *= 2;
				wk->segs = ob_xrealloc(wk->segs, segcap * sizeof *wk->segs);
			}
			wk->segs[wk->nsegs++] = (struct graph_seg){ prev, next, 0, 0, -1 };
			prev = next;
		}
		wk->chainlen[i] = wk->nsegs - wk->chain[i];
	}
}

static void
seg_csr(struct graph_work *wk)
{
	int *of = ob_xcalloc(wk->n + 1, sizeof *of), *inf = ob_xcalloc(wk->n + 1, sizeof *inf);
	size_t i;

	wk->out_start = ob_xcalloc(wk->n + 1, sizeof *wk->out_start);
	wk->in_start = ob_xcalloc(wk->n + 1, sizeof *wk->in_start);
	wk->out_list = ob_xcalloc(wk->nsegs + 1, sizeof *wk->out_list);
	wk->in_list = ob_xcalloc(wk->nsegs + 1, sizeof *wk->in_list);
	for (i = 0; i < wk->nsegs; i++) {
		wk->out_start[wk->segs[i].from + 1]++;
		wk->in_start[wk->segs[i].to + 1]++;
	}
	for (i = 0; i < wk->n; i++) {
		wk->out_start[i + 1] += wk->out_start[i];
		wk->in_start[i + 1] += wk->in_start[i];
	}
	for (i = 0; i < wk->nsegs; i++) {
		int u = wk->segs[i].from, v = wk->segs[i].to;

		wk->out_list[wk->out_start[u] + of[u]++] = (int)i;
		wk->in_list[wk->in_start[v] + inf[v]++] = (int)i;
	}
	free(of);
	free(inf);
}

/* --- 4. order --------------------------------------------------------------------- */

static int
cmp_pair(const void *a, const void *b)
{
	const int *x = a, *y = b;

	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return (x[1] > y[1]) - (x[1] < y[1]);
}

long
graph_layout_bilayer_crossings(const int (*pairs)[2], size_t npairs, size_t nsouth)
{
	int (*p)[2] = ob_xcalloc(npairs + 1, sizeof *p);
	long *tree, total = 0, inserted = 0;
	size_t i, size = 1;

	if (npairs)
		memcpy(p, pairs, npairs * sizeof *p);
	qsort(p, npairs, sizeof *p, cmp_pair);
	while (size < nsouth + 1)
		size *= 2;
	tree = ob_xcalloc(size + 1, sizeof *tree);      /* a Fenwick tree of the lower ends */
	for (i = 0; i < npairs; i++) {
		long at_most = 0;
		size_t k;

		for (k = (size_t)p[i][1] + 1; k > 0; k -= k & -k)
			at_most += tree[k];
		total += inserted - at_most;    /* earlier edges ending further right */
		for (k = (size_t)p[i][1] + 1; k <= size; k += k & -k)
			tree[k]++;
		inserted++;
	}
	free(tree);
	free(p);
	return total;
}

static long
count_crossings(const struct graph_work *wk)
{
	int (*pairs)[2] = ob_xcalloc(wk->nsegs + 1, sizeof *pairs);
	long total = 0;
	int l;

	for (l = 0; l + 1 < wk->nlayers; l++) {
		size_t np = 0;
		int i;

		for (i = 0; i < wk->laylen[l]; i++) {
			int u = wk->lay[l][i], k;

			for (k = wk->out_start[u]; k < wk->out_start[u + 1]; k++) {
				pairs[np][0] = wk->pos[u];
				pairs[np++][1] = wk->pos[wk->segs[wk->out_list[k]].to];
			}
		}
		total += graph_layout_bilayer_crossings((const int (*)[2])pairs, np,
							(size_t)wk->laylen[l + 1]);
	}
	free(pairs);
	return total;
}

/* dagre's initial order: depth first from the nodes of the lowest layers. */
static void
init_order(struct graph_work *wk)
{
	int *stack = ob_xcalloc(wk->n + wk->nsegs + 1, sizeof *stack), *byrank;
	bool *seen = ob_xcalloc(wk->n + 1, sizeof *seen);
	size_t i, sp, nb = 0;
	int l;

	wk->laylen = ob_xcalloc((size_t)wk->nlayers + 1, sizeof *wk->laylen);
	wk->lay = ob_xcalloc((size_t)wk->nlayers + 1, sizeof *wk->lay);
	for (i = 0; i < wk->n; i++)
		wk->laylen[wk->layer[i]]++;
	for (l = 0; l < wk->nlayers; l++) {
		wk->lay[l] = ob_xcalloc((size_t)wk->laylen[l] + 1, sizeof **wk->lay);
		wk->laylen[l] = 0;
	}
	byrank = ob_xcalloc(wk->n + 1, sizeof *byrank);
	for (l = 0; l < wk->nlayers; l++)
		for (i = 0; i < wk->n; i++)
			if (wk->layer[i] == l)
				byrank[nb++] = (int)i;
	for (i = 0; i < nb; i++) {
		if (seen[byrank[i]])
			continue;
		sp = 0;
		stack[sp++] = byrank[i];
		while (sp) {
			int v = stack[--sp], k;

			if (seen[v])
				continue;
			seen[v] = true;
			wk->pos[v] = wk->laylen[wk->layer[v]];
			wk->lay[wk->layer[v]][wk->laylen[wk->layer[v]]++] = v;
			/* pushed in reverse, so the first successor is visited first */
			for (k = wk->out_start[v + 1] - 1; k >= wk->out_start[v]; k--)
				if (!seen[wk->segs[wk->out_list[k]].to])
					stack[sp++] = wk->segs[wk->out_list[k]].to;
		}
	}
	free(byrank);
	free(stack);
	free(seen);
}

struct keyed {
	double key;
	int node, was;
};

static int
cmp_keyed_left(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->was - y->was;
}

static int
cmp_keyed_right(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return y->was - x->was;
}

/* Reorder layer l by the barycenters of its neighbours in the layer above (down) or below. */
static void
sweep_layer(struct graph_work *wk, int l, bool down, bool bias_right)
{
	int k = wk->laylen[l], i, o = 0, s = 0, ns = 0;
	struct keyed *sortable = ob_xcalloc((size_t)k + 1, sizeof *sortable);
	bool *fixed = ob_xcalloc((size_t)k + 1, sizeof *fixed);
	int *next = ob_xcalloc((size_t)k + 1, sizeof *next);

	for (i = 0; i < k; i++) {
		int v = wk->lay[l][i], a, b, j;
		const int *list = down ? wk->in_list : wk->out_list;
		double sum = 0;

		a = down ? wk->in_start[v] : wk->out_start[v];
		b = down ? wk->in_start[v + 1] : wk->out_start[v + 1];
		if (a == b) {
			fixed[i] = true;        /* no neighbour there: it keeps its place */
			continue;
		}
		for (j = a; j < b; j++)
			sum += wk->pos[down ? wk->segs[list[j]].from : wk->segs[list[j]].to];
		sortable[ns++] = (struct keyed){ sum / (b - a), v, i };
	}
	qsort(sortable, (size_t)ns, sizeof *sortable, bias_right ? cmp_keyed_right : cmp_keyed_left);
	for (i = 0; i < k; i++)
		next[o++] = fixed[i] ? wk->lay[l][i] : sortable[s++].node;
	for (i = 0; i < k; i++) {
		wk->lay[l][i] = next[i];
		wk->pos[next[i]] = i;
	}
	free(sortable);
	free(fixed);
	free(next);
}

static void
save_order(const struct graph_work *wk, int *out)
{
	memcpy(out, wk->pos, wk->n * sizeof *out);
}

static void
load_order(struct graph_work *wk, const int *saved)
{
	size_t i;

	memcpy(wk->pos, saved, wk->n * sizeof *saved);
	for (i = 0; i < wk->n; i++)
		wk->lay[wk->layer[i]][wk->pos[i]] = (int)i;
}

static void
order(struct graph_work *wk, long *crossings, int *sweeps)
{
	int *best = ob_xcalloc(wk->n + 1, sizeof *best), i, last_best, l;
	long best_cc, cc;

	init_order(wk);
	best_cc = count_crossings(wk);
	save_order(wk, best);
	for (i = 0, last_best = 0; last_best < SWEEPS_WITHOUT_GAIN && best_cc &&
	     i < (wk->n > BIG_GRAPH ? SWEEPS_WITHOUT_GAIN : MAX_SWEEPS); i++, last_best++) {
		bool down = i % 2 == 0, bias_right = i % 4 >= 2;

		if (down)
			for (l = 1; l < wk->nlayers; l++)
				sweep_layer(wk, l, true, bias_right);
		else
			for (l = wk->nlayers - 2; l >= 0; l--)
				sweep_layer(wk, l, false, bias_right);
		cc = count_crossings(wk);
		if (cc < best_cc) {
			best_cc = cc;
			save_order(wk, best);
			last_best = -1;
		}
	}
	load_order(wk, best);
	*crossings = best_cc;
	*sweeps = i;
	free(best);
}

/* --- 5. rows ---------------------------------------------------------------------- */

/*
 * Put the nodes of a layer as near their desired rows as they can be
 * while keeping their order one blank row apart: with offset_i the rows
 * the boxes above need, z_i = y_i - offset_i must not decrease, and the
 * least-squares z is the isotonic regression of desired - offset (pool
 * adjacent violators).
 */
static void
place_layer(struct graph_work *wk, int l, const double *desired)
{
	int k = wk->laylen[l], i, nb = 0, off = 0;
	double *sum = ob_xcalloc((size_t)k + 1, sizeof *sum);
	int *cnt = ob_xcalloc((size_t)k + 1, sizeof *cnt), *offset = ob_xcalloc((size_t)k + 1,
									  sizeof *offset);

	for (i = 0; i < k; i++) {
		offset[i] = off;
		off += wk->h[wk->lay[l][i]] + 1;
		sum[nb] = desired[i] - offset[i];
		cnt[nb++] = 1;
		while (nb >= 2 && sum[nb - 2] / cnt[nb - 2] > sum[nb - 1] / cnt[nb - 1]) {
			sum[nb - 2] += sum[nb - 1];
			cnt[nb - 2] += cnt[nb - 1];
			nb--;
		}
	}
	for (i = 0, nb = 0; i < k; nb++) {
		long z = lround(sum[nb] / cnt[nb]);
		int j;

		for (j = 0; j < cnt[nb]; j++, i++)
			wk->y[wk->lay[l][i]] = (int)z + offset[i];
	}
	free(sum);
	free(cnt);
	free(offset);
}

static void
rows(struct graph_work *wk)
{
	double *desired = ob_xcalloc(wk->n + 1, sizeof *desired);
	int l, r, i, miny = 0;
	size_t v;

	for (l = 0; l < wk->nlayers; l++) {
		int y = 0;

		for (i = 0; i < wk->laylen[l]; i++) {
			wk->y[wk->lay[l][i]] = y;
			y += wk->h[wk->lay[l][i]] + 1;
		}
	}
	for (r = 0; r < ROW_SWEEPS; r++) {
		bool down = r % 2 == 0;

		for (l = down ? 1 : wk->nlayers - 2; down ? l < wk->nlayers : l >= 0;
		     l += down ? 1 : -1) {
			for (i = 0; i < wk->laylen[l]; i++) {
				int v2 = wk->lay[l][i], a, b, j;
				const int *list = down ? wk->in_list : wk->out_list;
				double sum = 0;

				a = down ? wk->in_start[v2] : wk->out_start[v2];
				b = down ? wk->in_start[v2 + 1] : wk->out_start[v2 + 1];
				desired[i] = wk->y[v2];
				if (a == b)
					continue;
				for (j = a; j < b; j++) {
					int o = down ? wk->segs[list[j]].from : wk->segs[list[j]].to;

					sum += wk->y[o] + wk->h[o] / 2.0;
				}
				desired[i] = sum / (b - a) - wk->h[v2] / 2.0;
			}
			place_layer(wk, l, desired);
		}
	}
	for (v = 0; v < wk->n; v++)
		if (v == 0 || wk->y[v] < miny)
			miny = wk->y[v];
	for (v = 0; v < wk->n; v++)
		wk->y[v] -= miny;
	free(desired);
}

void
graph_layout_compute(const struct graph_layout_input *in, struct graph_layout *out)
{
	struct graph_work wk;
	bool *reversed = ob_xcalloc(in->nedges + 1, sizeof *reversed);
	int *rank = ob_xcalloc(in->nnodes + 1, sizeof *rank);
	size_t i;
	int l;

	memset(out, 0, sizeof *out);
	memset(&wk, 0, sizeof wk);
	out->nnodes = in->nnodes;
	out->nedges = in->nedges;
	out->boxes = ob_xcalloc(in->nnodes + 1, sizeof *out->boxes);
	out->routes = ob_xcalloc(in->nedges + 1, sizeof *out->routes);
	graph_layout_acyclic(in->nnodes, in->edges, in->nedges, reversed);
	graph_layout_rank(in->nnodes, in->edges, in->nedges, reversed, rank);
	wk.nreal = in->nnodes;
	for (i = 0; i < in->nnodes; i++)
		if (rank[i] + 1 > wk.nlayers)
			wk.nlayers = rank[i] + 1;
	normalize(&wk, in, reversed, rank);
	wk.pos = ob_xcalloc(wk.n + 1, sizeof *wk.pos);
	wk.y = ob_xcalloc(wk.n + 1, sizeof *wk.y);
	seg_csr(&wk);
	out->nlayers = wk.nlayers;
	if (wk.n) {
		order(&wk, &out->crossings, &out->sweeps);
		rows(&wk);
		graph_route_ports(&wk);
		graph_route_columns(&wk, in, reversed, out);
	}
	for (l = 0; l < wk.nlayers; l++)
		free(wk.lay ? wk.lay[l] : NULL);
	free(wk.lay);
	free(wk.laylen);
	free(wk.layer);
	free(wk.w);
	free(wk.h);
	free(wk.y);
	free(wk.pos);
	free(wk.segs);
	free(wk.chain);
	free(wk.chainlen);
	free(wk.out_start);
	free(wk.out_list);
	free(wk.in_start);
	free(wk.in_list);
	free(reversed);
	free(rank);
}

void
graph_layout_release(struct graph_layout *l)
{
	size_t i;

	for (i = 0; l->routes && i < l->nedges; i++)
		free(l->routes[i].pts);
	free(l->routes);
	free(l->boxes);
	memset(l, 0, sizeof *l);
}

