/*
 * rollup_read.c - the service graph and the operations of a window, read
 * from the rollups (rollup.c): hour rows for the window's whole hours,
 * minute rows for the rest; never a span.
 *
 * A node's numbers are those of the edges into it (it as the server), and
 * an edge's p50/p95 its server side's: a peer no span came from has none
 * (NAN; the client side's p95 is there); its
 * kind is what the edges say about the name: a service if it ever sent
 * spans (a client of a real edge, or the server of a plain or messaging
 * edge), else a database, a peer, or the user of root spans.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "model/svcgraph.h"
#include "store/store_int.h"

void
sg_graph_release(struct sg_graph *g)
{
	free(g->nodes);
	free(g->edges);
	g->nodes = NULL;
	g->edges = NULL;
	g->nnodes = g->nedges = 0;
}

enum ob_err
rollup_scan(struct conn *c, uint64_t res_ns, uint64_t from_ns, uint64_t to_ns, int kind,
	    const char *a, rollup_row_fn fn, void *ctx, char *errbuf)
{
	sqlite3_stmt *st;
	enum ob_err err = OB_OK;
	int rc;

	if (from_ns >= to_ns)
		return OB_OK;
	if (sqlite3_prepare_v2(c->db, a ? "SELECT bucket, a, b, c, d, n, failed, latest, data"
					  " FROM sg_roll WHERE res = ?1 AND bucket >= ?2"
					  " AND bucket < ?3 AND kind = ?4 AND a = ?5"
					: "SELECT bucket, a, b, c, d, n, failed, latest, data"
					  " FROM sg_roll WHERE res = ?1 AND bucket >= ?2"
					  " AND bucket < ?3 AND kind = ?4",
			       -1, &st, NULL) != SQLITE_OK)
		return db_err(c, "reading rollups", errbuf);
	sqlite3_bind_int64(st, 1, (int64_t)(res_ns / 1000000000));
	sqlite3_bind_int64(st, 2, (int64_t)from_ns);
	sqlite3_bind_int64(st, 3, (int64_t)(to_ns > INT64_MAX ? INT64_MAX : to_ns));
	sqlite3_bind_int(st, 4, kind);
	if (a)
		sqlite3_bind_text(st, 5, a, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct sg_key k = {
			kind, (const char *)sqlite3_column_text(st, 1),
			(const char *)sqlite3_column_text(st, 2),
			(const char *)sqlite3_column_text(st, 3), sqlite3_column_int(st, 4),
		};
		struct sg_cell cell = { 0 };

		cell.n = sqlite3_column_int64(st, 5);
		cell.failed = sqlite3_column_int64(st, 6);
		cell.latest_ns = (uint64_t)sqlite3_column_int64(st, 7);
		if (sg_cell_decode(&cell, kind, sqlite3_column_blob(st, 8),
				   (size_t)sqlite3_column_bytes(st, 8)) == OB_OK)
			fn(ctx, (uint64_t)sqlite3_column_int64(st, 0), &k, &cell);
		sg_cell_release(&cell);
	}
	if (rc != SQLITE_DONE)
		err = db_err(c, "reading rollups", errbuf);
	sqlite3_finalize(st);
	return err;
}

/* [start, end) as hour rows and minute rows. */
static enum ob_err
window_scan(struct conn *c, uint64_t start, uint64_t end, int kind, const char *a,
	    rollup_row_fn fn, void *ctx, char *errbuf)
{
	uint64_t m0 = start - start % SG_RES_MINUTE_NS;
	uint64_t h0 = (start + SG_RES_HOUR_NS - 1) / SG_RES_HOUR_NS * SG_RES_HOUR_NS;
	uint64_t h1 = end - end % SG_RES_HOUR_NS;
	enum ob_err err;

	if (h0 >= h1)
		return rollup_scan(c, SG_RES_MINUTE_NS, m0, end, kind, a, fn, ctx, errbuf);
	if ((err = rollup_scan(c, SG_RES_MINUTE_NS, m0, h0, kind, a, fn, ctx, errbuf)) ||
	    (err = rollup_scan(c, SG_RES_HOUR_NS, h0, h1, kind, a, fn, ctx, errbuf)))
		return err;
	return rollup_scan(c, SG_RES_MINUTE_NS, h1, end, kind, a, fn, ctx, errbuf);
}

/* Sum every row into one cell per key (d kept or folded to 0). */
struct summer {
	struct sg_agg *agg;
	bool fold_d;
	uint64_t unpaired;
	/* names and what the edges say they are */
	struct name_kind { char *name; unsigned seen; } *names;
	size_t nnames;
};

enum { SEEN_SERVICE = 1, SEEN_DATABASE = 2, SEEN_PEER = 4, SEEN_USER = 8 };

static void
note_name(struct summer *s, const char *name, unsigned what)
{
	size_t i;

	for (i = 0; i < s->nnames; i++)
		if (strcmp(s->names[i].name, name) == 0) {
			s->names[i].seen |= what;
			return;
		}
	s->names = ob_xrealloc(s->names, (s->nnames + 1) * sizeof *s->names);
	s->names[s->nnames].name = ob_xstrdup(name);
	s->names[s->nnames++].seen = what;
}

static void
sum_row(void *ctx, uint64_t bucket, const struct sg_key *k, const struct sg_cell *cell)
{
	struct summer *s = ctx;
	struct sg_key key = *k;

	(void)bucket;
	if (k->kind == SG_KIND_UNPAIRED) {
		s->unpaired += cell->n > 0 ? (uint64_t)cell->n : 0;
		return;
	}
	if (k->kind == SG_KIND_EDGE && cell->n > 0) {
		note_name(s, k->a, k->d != SG_VIRTUAL_CLIENT ? SEEN_SERVICE
				   : strcmp(k->a, "user") == 0 ? SEEN_USER : SEEN_PEER);
		note_name(s, k->b, strcmp(k->c, SG_CONN_DATABASE) == 0 ? SEEN_DATABASE
				   : k->d == SG_VIRTUAL_SERVER ? SEEN_PEER : SEEN_SERVICE);
	}
	if (s->fold_d)
		key.d = 0;
	sg_agg_merge(s->agg, 0, 0, &key, cell);
}

static void
summer_release(struct summer *s)
{
	size_t i;

	sg_agg_free(s->agg);
	for (i = 0; i < s->nnames; i++)
		free(s->names[i].name);
	free(s->names);
}

static int
cmp_node(const void *a, const void *b)
{
	return strcmp(((const struct sg_node *)a)->id, ((const struct sg_node *)b)->id);
}

static int
cmp_edge(const void *a, const void *b)
{
	const struct sg_edge *x = a, *y = b;
	int r;

	if ((r = strcmp(x->client, y->client)) || (r = strcmp(x->server, y->server)))
		return r;
	return strcmp(x->connection_type, y->connection_type);
}

enum ob_err
store_service_graph(struct store *s, uint64_t start_ns, uint64_t end_ns, struct sg_graph *out,
		    char *errbuf)
{
	struct summer sum = { .agg = sg_agg_new(), .fold_d = true };
	struct sg_hist *into = NULL;
	struct conn *c;
	enum ob_err err;
	size_t i, j, n;

	memset(out, 0, sizeof *out);
	out->start_ns = start_ns;
	out->end_ns = end_ns;
	if ((c = db_acquire(s, errbuf)) == NULL) {
		summer_release(&sum);
		return OB_EIO;
	}
	err = window_scan(c, start_ns, end_ns, SG_KIND_EDGE, NULL, sum_row, &sum, errbuf);
	if (!err)
		err = window_scan(c, start_ns, end_ns, SG_KIND_UNPAIRED, NULL, sum_row, &sum, errbuf);
	db_release(s, c);
	if (err)
		goto out;
	out->unpaired = sum.unpaired;
	n = sg_agg_count(sum.agg);
	out->edges = ob_xcalloc(n + 1, sizeof *out->edges);
	for (i = 0; i < n; i++) {
		const struct sg_agg_entry *e = sg_agg_entry(sum.agg, i);
		struct sg_edge *g = &out->edges[out->nedges];

		if (e->cell.n <= 0)
			continue;
		snprintf(g->client, sizeof g->client, "%s", e->key.a);
		snprintf(g->server, sizeof g->server, "%s", e->key.b);
		snprintf(g->connection_type, sizeof g->connection_type, "%s", e->key.c);
		g->requests = (uint64_t)e->cell.n;
		g->failed = e->cell.failed > 0 ? (uint64_t)e->cell.failed : 0;
		g->p50_ms = sg_hist_quantile_ms(&e->cell.h[0], 0.5);
		g->p95_ms = sg_hist_quantile_ms(&e->cell.h[0], 0.95);
		g->client_p95_ms = sg_hist_quantile_ms(&e->cell.h[1], 0.95);
		g->server_sum_s = (double)e->cell.h[0].sum_ns / 1e9;
		g->client_sum_s = (double)e->cell.h[1].sum_ns / 1e9;
		out->nedges++;
	}
	qsort(out->edges, out->nedges, sizeof *out->edges, cmp_edge);
	out->nodes = ob_xcalloc(sum.nnames + 1, sizeof *out->nodes);
	into = ob_xcalloc(sum.nnames + 1, sizeof *into);
	for (i = 0; i < sum.nnames; i++) {
		struct sg_node *nd = &out->nodes[i];
		unsigned seen = sum.names[i].seen;

		snprintf(nd->id, sizeof nd->id, "%s", sum.names[i].name);
		nd->kind = seen & SEEN_SERVICE ? SG_NODE_SERVICE : seen & SEEN_DATABASE
			   ? SG_NODE_DATABASE : seen & SEEN_PEER ? SG_NODE_PEER : SG_NODE_USER;
		for (j = 0; j < n; j++) {
			const struct sg_agg_entry *e = sg_agg_entry(sum.agg, j);

			if (e->cell.n <= 0)
				continue;
			if (strcmp(e->key.b, nd->id) == 0) {
				nd->requests += (uint64_t)e->cell.n;
				nd->failed += e->cell.failed > 0 ? (uint64_t)e->cell.failed : 0;
				sg_hist_merge(&into[i], &e->cell.h[0], SG_KIND_EDGE);
			}
			if (strcmp(e->key.a, nd->id) == 0) {
				nd->out_requests += (uint64_t)e->cell.n;
				nd->out_failed += e->cell.failed > 0 ? (uint64_t)e->cell.failed : 0;
			}
		}
		nd->p50_ms = sg_hist_quantile_ms(&into[i], 0.5);
		nd->p95_ms = sg_hist_quantile_ms(&into[i], 0.95);
		sg_hist_release(&into[i]);
	}
	out->nnodes = sum.nnames;
	qsort(out->nodes, out->nnodes, sizeof *out->nodes, cmp_node);
out:
	free(into);
	summer_release(&sum);
	if (err)
		sg_graph_release(out);
	return err;
}

static int
cmp_op(const void *a, const void *b)
{
	const struct sg_op *x = a, *y = b;
	int r;

	if (x->calls != y->calls)
		return x->calls > y->calls ? -1 : 1;
	if ((r = strcmp(x->service, y->service)) || (r = strcmp(x->span_name, y->span_name)))
		return r;
	return x->kind - y->kind;
}

enum ob_err
store_service_ops(struct store *s, const char *service, uint64_t start_ns, uint64_t end_ns,
		  struct sg_op **out, size_t *n, char *errbuf)
{
	struct summer sum = { .agg = sg_agg_new() };
	struct sg_agg *ops = sg_agg_new();
	struct conn *c;
	enum ob_err err;
	size_t i, m;

	*out = NULL;
	*n = 0;
	if ((c = db_acquire(s, errbuf)) == NULL) {
		err = OB_EIO;
		goto out;
	}
	err = window_scan(c, start_ns, end_ns, SG_KIND_OP, service, sum_row, &sum, errbuf);
	db_release(s, c);
	if (err)
		goto out;
	/* statuses of one (service, name, kind) together */
	for (i = 0; i < sg_agg_count(sum.agg); i++) {
		const struct sg_agg_entry *e = sg_agg_entry(sum.agg, i);
		struct sg_key k = e->key;

		k.d = e->key.d / 8;
		sg_agg_merge(ops, 0, 0, &k, &e->cell);
	}
	m = sg_agg_count(ops);
	*out = ob_xcalloc(m + 1, sizeof **out);
	for (i = 0; i < m; i++) {
		const struct sg_agg_entry *e = sg_agg_entry(ops, i);
		struct sg_op *o = &(*out)[*n];

		if (e->cell.n <= 0)
			continue;
		snprintf(o->service, sizeof o->service, "%s", e->key.a);
		snprintf(o->span_name, sizeof o->span_name, "%s", e->key.b);
		o->kind = e->key.d;
		o->calls = (uint64_t)e->cell.n;
		o->errors = e->cell.failed > 0 ? (uint64_t)e->cell.failed : 0;
		o->p50_ms = sg_hist_quantile_ms(&e->cell.h[0], 0.5);
		o->p95_ms = sg_hist_quantile_ms(&e->cell.h[0], 0.95);
		o->p99_ms = sg_hist_quantile_ms(&e->cell.h[0], 0.99);
		o->sum_s = (double)e->cell.h[0].sum_ns / 1e9;
		(*n)++;
	}
	qsort(*out, *n, sizeof **out, cmp_op);
out:
	sg_agg_free(ops);
	summer_release(&sum);
	return err;
}
