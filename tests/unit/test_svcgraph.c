/*
 * test_svcgraph.c - the service graph: Tempo's pairing rules on spans
 * (sg_collect), the rollup cells and their quantiles, and the store's
 * rollups across seals and adopted blocks (store_service_graph).
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/mem.h"
#include "model/svcgraph.h"
#include "otlp_build.h"
#include "store/store.h"

#define T0 1700000000000000000ull
#define MS 1000000ull

/* A span of kind under parent (span number; -1: a root), with attributes k=v,... */
static otlp_span *
span(struct ob_arena *a, unsigned trace, unsigned id, int parent, int kind, uint64_t start_ms,
     uint64_t dur_ms, bool error, const char *const *attrs)
{
	otlp_span *s = tb_span(a, trace, id, parent < 0 ? 0 : (unsigned)parent, "op",
			       T0 + start_ms * MS, dur_ms * MS, error ? OTLP_STATUS(ERROR) : 0);
	size_t n = 0;

	if (parent < 0) {
		s->parent_span_id.len = 0;
		s->parent_span_id.data = NULL;
	}
	s->kind = kind;
	while (attrs && attrs[2 * n])
		n++;
	s->n_attributes = n;
	s->attributes = ob_arena_alloc(a, (n + 1) * sizeof *s->attributes);
	for (size_t i = 0; i < n; i++)
		s->attributes[i] = tb_attr_str(a, attrs[2 * i], attrs[2 * i + 1]);
	return s;
}

/* A TracesData of one resource per (service, span) pair. */
static otlp_traces_data *
traces(struct ob_arena *a, size_t n, const char *const *services, otlp_span **spans)
{
	otlp_traces_data *td = ob_arena_alloc(a, sizeof *td);

	opentelemetry__proto__trace__v1__traces_data__init(td);
	td->resource_spans = ob_arena_alloc(a, n * sizeof *td->resource_spans);
	td->n_resource_spans = n;
	for (size_t i = 0; i < n; i++)
		td->resource_spans[i] = tb_resource_spans(a, services[i], &spans[i], 1);
	return td;
}

/* The TracesData on the wire, scanned and counted as the store does. */
static void
collect(otlp_traces_data *td, struct sg_agg *g, struct sg_sides *left)
{
	size_t n = opentelemetry__proto__trace__v1__traces_data__get_packed_size(td), ns;
	uint8_t *buf = ob_xmalloc(n + 1);
	struct sg_span *spans;

	opentelemetry__proto__trace__v1__traces_data__pack(td, buf);
	assert_int_equal(sg_scan(buf, n, left->arena, &spans, &ns), OB_OK);
	sg_collect(spans, ns, g, left);
	free(spans);
	free(buf);
}

/* Sum of minute cells of key (kind, a, b, c), any d. */
static struct sg_cell
cell_of(struct sg_agg *g, int kind, const char *a, const char *b, const char *c)
{
	struct sg_cell out = { 0 };

	for (size_t i = 0; i < sg_agg_count(g); i++) {
		const struct sg_agg_entry *e = sg_agg_entry(g, i);

		if (e->res_ns == SG_RES_MINUTE_NS && e->key.kind == kind &&
		    strcmp(e->key.a, a) == 0 && strcmp(e->key.b, b) == 0 &&
		    strcmp(e->key.c, c) == 0) {
			out.n += e->cell.n;
			out.failed += e->cell.failed;
			for (int h = 0; h < 2; h++)
				out.h[h].sum_ns += e->cell.h[h].sum_ns;
		}
	}
	return out;
}

static void
pairs_inside_a_trace(void **state)
{
	struct ob_arena a;
	struct sg_agg *g = sg_agg_new();
	struct sg_sides left = { .arena = &a };
	static const char *const db[] = { "db.system", "postgresql", "server.address", "pg-1", NULL };
	static const char *const db_name[] = { "db.name", "orders", NULL };
	static const char *const peer[] = { "peer.service", "stripe", NULL };
	otlp_span *sp[9];
	struct sg_cell c;

	(void)state;
	ob_arena_init(&a, 0);
	sp[0] = span(&a, 1, 0, -1, OTLP_KIND(SERVER), 0, 100, false, NULL);      /* root */
	sp[1] = span(&a, 1, 1, 0, OTLP_KIND(CLIENT), 10, 50, false, NULL);       /* -> cart */
	sp[2] = span(&a, 1, 2, 1, OTLP_KIND(SERVER), 12, 40, true, NULL);        /* cart fails */
	sp[3] = span(&a, 1, 3, 2, OTLP_KIND(CLIENT), 13, 5, false, db);          /* database */
	sp[4] = span(&a, 1, 4, 2, OTLP_KIND(CLIENT), 20, 7, false, db_name);     /* database */
	sp[5] = span(&a, 1, 5, 0, OTLP_KIND(PRODUCER), 60, 2, false, NULL);      /* messaging */
	sp[6] = span(&a, 1, 6, 5, OTLP_KIND(CONSUMER), 70, 9, false, NULL);
	sp[7] = span(&a, 1, 7, 0, OTLP_KIND(CLIENT), 80, 3, false, peer);        /* waits */
	sp[8] = span(&a, 1, 8, 0, OTLP_KIND(INTERNAL), 90, 1, false, NULL);
	{
		static const char *const services[] = { "frontend", "frontend", "cart", "cart",
							"cart", "frontend", "checkout", "frontend",
							"frontend" };

		collect(traces(&a, 9, services, sp), g, &left);
	}
	c = cell_of(g, SG_KIND_EDGE, "user", "frontend", SG_CONN_VIRTUAL);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.h[0].sum_ns, 100 * MS);
	c = cell_of(g, SG_KIND_EDGE, "frontend", "cart", SG_CONN_PLAIN);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.failed, 1);                  /* the server side failed it */
	assert_int_equal(c.h[0].sum_ns, 40 * MS);       /* server latency */
	assert_int_equal(c.h[1].sum_ns, 50 * MS);       /* client latency */
	c = cell_of(g, SG_KIND_EDGE, "cart", "pg-1", SG_CONN_DATABASE);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.h[0].sum_ns, 5 * MS);
	c = cell_of(g, SG_KIND_EDGE, "cart", "orders", SG_CONN_DATABASE);
	assert_int_equal(c.n, 1);
	c = cell_of(g, SG_KIND_EDGE, "frontend", "checkout", SG_CONN_MESSAGING);
	assert_int_equal(c.n, 1);
	/* the client with a peer waits: not counted yet, left over */
	assert_int_equal(cell_of(g, SG_KIND_EDGE, "frontend", "stripe", SG_CONN_VIRTUAL).n, 0);
	assert_int_equal(left.n, 1);
	assert_false(left.v[0].server);
	assert_string_equal(left.v[0].peer, "stripe");
	/* span metrics: every span, of every kind */
	assert_int_equal(cell_of(g, SG_KIND_OP, "frontend", "op", "").n, 5);
	assert_int_equal(cell_of(g, SG_KIND_OP, "cart", "op", "").n, 3);
	assert_int_equal(cell_of(g, SG_KIND_OP, "checkout", "op", "").n, 1);
	/* counted alone it is a virtual edge to its peer, and taken back exactly */
	sg_count_alone(g, &left.v[0], 1);
	c = cell_of(g, SG_KIND_EDGE, "frontend", "stripe", SG_CONN_VIRTUAL);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.h[1].sum_ns, 3 * MS);
	sg_count_alone(g, &left.v[0], -1);
	assert_int_equal(cell_of(g, SG_KIND_EDGE, "frontend", "stripe", SG_CONN_VIRTUAL).n, 0);
	free(left.v);
	sg_agg_free(g);
	ob_arena_release(&a);
}

static void
database_server_names_in_order(void **state)
{
	static const char *const cases[][9] = {
		{ "db.system", "redis", "peer.service", "cache", "server.address", "x", NULL },
		{ "db.system", "redis", "server.address", "redis-1", NULL },
		{ "db.system", "redis", "network.peer.address", "10.0.0.7", "network.peer.port",
		  "6379", NULL },
		{ "db.namespace", "shop", "db.system", "redis", NULL },
		{ "db.system.name", "mysql", NULL },
	};
	static const char *const want[] = { "cache", "redis-1", "10.0.0.7:6379", "shop", "mysql" };

	(void)state;
	for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
		struct ob_arena a;
		struct sg_agg *g = sg_agg_new();
		struct sg_sides left = { .arena = &a };
		static const char *const svc[] = { "api" };
		otlp_span *sp[1];

		ob_arena_init(&a, 0);
		sp[0] = span(&a, 2, 1, 0, OTLP_KIND(CLIENT), 0, 4, true, cases[i]);
		if (i == 2) {
			/* the port as the int the conventions make it */
			otlp_any_value *v = sp[0]->attributes[2]->value;

			v->value_case = OTLP_VALUE(INT_VALUE);
			v->int_value = 6379;
		}
		collect(traces(&a, 1, svc, sp), g, &left);
		assert_int_equal(cell_of(g, SG_KIND_EDGE, "api", want[i], SG_CONN_DATABASE).n, 1);
		assert_int_equal(cell_of(g, SG_KIND_EDGE, "api", want[i], SG_CONN_DATABASE).failed,
				 1);
		assert_int_equal(left.n, 0);
		free(left.v);
		sg_agg_free(g);
		ob_arena_release(&a);
	}
}

static void
root_server_with_peer_and_unpaired_server(void **state)
{
	struct ob_arena a;
	struct sg_agg *g = sg_agg_new();
	struct sg_sides left = { .arena = &a };
	static const char *const peer[] = { "peer.service", "mobile-app", NULL };
	static const char *const svc[] = { "api", "worker", "worker" };
	otlp_span *sp[3];

	(void)state;
	ob_arena_init(&a, 0);
	sp[0] = span(&a, 3, 0, -1, OTLP_KIND(SERVER), 0, 30, false, peer);
	sp[1] = span(&a, 3, 1, 0, OTLP_KIND(SERVER), 5, 10, false, NULL); /* parent is no client */
	sp[2] = span(&a, 3, 2, 7, OTLP_KIND(SERVER), 6, 10, false, NULL); /* parent not here */
	collect(traces(&a, 3, svc, sp), g, &left);
	assert_int_equal(cell_of(g, SG_KIND_EDGE, "mobile-app", "api", SG_CONN_VIRTUAL).n, 1);
	/* the first will never pair: counted now; the second waits for its parent */
	assert_int_equal(cell_of(g, SG_KIND_UNPAIRED, "worker", "", "").n, 1);
	assert_int_equal(left.n, 1);
	assert_true(left.v[0].server);
	sg_count_alone(g, &left.v[0], 1);
	assert_int_equal(cell_of(g, SG_KIND_UNPAIRED, "worker", "", "").n, 2);
	free(left.v);
	sg_agg_free(g);
	ob_arena_release(&a);
}

static void
quantiles_within_the_bucket_error(void **state)
{
	struct sg_hist h = { 0 };
	double want[] = { 0.5, 0.9, 0.95, 0.99 };

	(void)state;
	/* 1000 latencies 1..1000 ms: the q-quantile is about q * 1000 ms */
	for (int i = 1; i <= 1000; i++)
		sg_hist_observe(&h, SG_KIND_OP, (int64_t)i * (int64_t)MS, 1);
	for (size_t i = 0; i < 4; i++) {
		double got = sg_hist_quantile_ms(&h, want[i]);

		assert_true(fabs(got - want[i] * 1000) / (want[i] * 1000) < 0.025);
	}
	assert_int_equal(h.coarse[0], 2);       /* le 0.002 s: 1 and 2 ms */
	assert_int_equal(h.coarse[SG_OP_BUCKETS], 0);
	{
		struct sg_cell c = { .n = 1000 }, d = { 0 };
		struct ob_buf b;

		c.h[0] = h;
		ob_buf_init(&b, 0);
		assert_int_equal(sg_cell_encode(&c, SG_KIND_OP, &b), OB_OK);
		assert_int_equal(sg_cell_decode(&d, SG_KIND_OP, b.data, b.len), OB_OK);
		assert_int_equal(d.h[0].sum_ns, h.sum_ns);
		assert_int_equal(d.h[0].nfine, h.nfine);
		assert_true(fabs(sg_hist_quantile_ms(&d.h[0], 0.95) -
				 sg_hist_quantile_ms(&h, 0.95)) < 1e-9);
		/* truncated or extended bytes are refused, never read past */
		for (size_t cut = 0; cut < b.len; cut++) {
			struct sg_cell e = { 0 };

			assert_int_not_equal(sg_cell_decode(&e, SG_KIND_OP, b.data, cut), OB_OK);
			sg_cell_release(&e);
		}
		sg_cell_release(&d);
		ob_buf_release(&b);
	}
	sg_hist_release(&h);
	assert_true(isnan(sg_hist_quantile_ms(&h, 0.5)));
}

/* --- through the store: seals and adopted blocks --- */

static struct store *
open_store_opt(const char *dir, bool no_rollups)
{
	struct store_options opt;
	struct store *s;
	char errbuf[OB_ERRLEN];

	store_options_init(&opt);
	opt.dir = dir;
	opt.no_rollups = no_rollups;
	opt.idle_ns = 3600ull * 1000000000ull;  /* sealed by hand */
	opt.origin = "unit-test";
	assert_int_equal(store_open(&opt, &s, errbuf), OB_OK);
	return s;
}

static struct store *
open_store(const char *dir)
{
	return open_store_opt(dir, false);
}

static void
send(struct store *s, otlp_traces_data *td)
{
	struct store_batch *b;
	char errbuf[OB_ERRLEN];

	assert_int_equal(store_batch_build(s, td->resource_spans, td->n_resource_spans, NULL, &b,
					   errbuf), OB_OK);
	assert_int_equal(store_submit(s, b, errbuf), OB_OK);
	assert_int_equal(store_seal_all(s, errbuf), OB_OK);
}

static const struct sg_edge *
edge(const struct sg_graph *g, const char *client, const char *server)
{
	for (size_t i = 0; i < g->nedges; i++)
		if (strcmp(g->edges[i].client, client) == 0 &&
		    strcmp(g->edges[i].server, server) == 0)
			return &g->edges[i];
	return NULL;
}

static void
sides_pair_across_seals(void **state)
{
	char dir[64] = "/tmp/obstui-sg-XXXXXX", cmd[128], errbuf[OB_ERRLEN];
	static const char *const peer[] = { "peer.service", "payments", NULL };
	static const char *const c1[] = { "shop" }, *const c2[] = { "payments" };
	struct store *s;
	struct ob_arena a;
	struct sg_graph g;
	otlp_span *sp[1];

	(void)state;
	assert_non_null(mkdtemp(dir));
	ob_arena_init(&a, 0);
	s = open_store(dir);
	/* the client alone: a virtual edge to its peer meanwhile */
	sp[0] = span(&a, 4, 1, 0, OTLP_KIND(CLIENT), 0, 80, false, peer);
	send(s, traces(&a, 1, c1, sp));
	assert_int_equal(store_service_graph(s, T0, T0 + 3600000 * MS, &g, errbuf), OB_OK);
	assert_non_null(edge(&g, "shop", "payments"));
	assert_string_equal(edge(&g, "shop", "payments")->connection_type, SG_CONN_VIRTUAL);
	sg_graph_release(&g);
	/* its server in a later seal, after a reopen: one plain edge, nothing virtual */
	store_close(s);
	s = open_store(dir);
	sp[0] = span(&a, 4, 2, 1, OTLP_KIND(SERVER), 5, 60, true, NULL);
	send(s, traces(&a, 1, c2, sp));
	assert_int_equal(store_service_graph(s, T0, T0 + 3600000 * MS, &g, errbuf), OB_OK);
	assert_int_equal(g.nedges, 1);
	assert_string_equal(g.edges[0].connection_type, SG_CONN_PLAIN);
	assert_int_equal(g.edges[0].requests, 1);
	assert_int_equal(g.edges[0].failed, 1);
	assert_true(fabs(g.edges[0].p50_ms - 60) / 60 < 0.03);
	assert_true(fabs(g.edges[0].client_p95_ms - 80) / 80 < 0.03);
	assert_int_equal(g.unpaired, 0);
	sg_graph_release(&g);
	/* a server whose client never comes stays unpaired; outside the window, nothing */
	sp[0] = span(&a, 5, 2, 1, OTLP_KIND(SERVER), 5, 60, false, NULL);
	send(s, traces(&a, 1, c2, sp));
	assert_int_equal(store_service_graph(s, T0, T0 + 3600000 * MS, &g, errbuf), OB_OK);
	assert_int_equal(g.unpaired, 1);
	sg_graph_release(&g);
	assert_int_equal(store_service_graph(s, T0 + 7200000 * MS, T0 + 9000000 * MS, &g,
					     errbuf), OB_OK);
	assert_int_equal(g.nedges, 0);
	assert_int_equal(g.unpaired, 0);
	sg_graph_release(&g);
	store_close(s);
	ob_arena_release(&a);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void
hours_and_minutes_read_alike(void **state)
{
	char dir[64] = "/tmp/obstui-sg-XXXXXX", cmd[128], errbuf[OB_ERRLEN];
	static const char *const svc[] = { "a", "b" };
	struct store *s;
	struct ob_arena a;
	struct sg_graph g;
	struct sg_op *ops;
	size_t nops;

	(void)state;
	assert_non_null(mkdtemp(dir));
	ob_arena_init(&a, 0);
	s = open_store(dir);
	/* 30 requests a -> b spread over 3 hours, 10..300 ms */
	for (unsigned i = 0; i < 30; i++) {
		otlp_span *sp[2];

		sp[0] = span(&a, 100 + i, 1, 0, OTLP_KIND(CLIENT), i * 360000ull, 10 * (i + 1) + 2,
			     false, NULL);
		sp[1] = span(&a, 100 + i, 2, 1, OTLP_KIND(SERVER), i * 360000ull + 1, 10 * (i + 1),
			     i % 10 == 0, NULL);
		send(s, traces(&a, 2, svc, sp));
	}
	/* a window of whole hours inside (hour rows) and one of odd minutes agree */
	assert_int_equal(store_service_graph(s, T0 - 3600000 * MS, T0 + 4 * 3600000 * MS, &g,
					     errbuf), OB_OK);
	assert_int_equal(g.nedges, 1);
	assert_int_equal(g.edges[0].requests, 30);
	assert_int_equal(g.edges[0].failed, 3);
	assert_true(fabs(g.edges[0].p95_ms - 290) / 290 < 0.05);
	sg_graph_release(&g);
	assert_int_equal(store_service_graph(s, T0 + 17 * 60000 * MS, T0 + 137 * 60000 * MS, &g,
					     errbuf), OB_OK);
	/* requests 3..22 start in [17 min, 137 min) and end a little later */
	assert_int_equal(g.edges[0].requests, 20);
	sg_graph_release(&g);
	assert_int_equal(store_service_ops(s, "b", T0, T0 + 4 * 3600000 * MS, &ops, &nops,
					   errbuf), OB_OK);
	assert_int_equal(nops, 1);
	assert_int_equal(ops[0].calls, 30);
	assert_int_equal(ops[0].errors, 3);
	assert_int_equal(ops[0].kind, OTLP_KIND(SERVER));
	free(ops);
	store_close(s);
	ob_arena_release(&a);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* A store whose blocks were sealed before rollups existed gets them counted once. */
static void
older_blocks_are_counted_once(void **state)
{
	char dir[64] = "/tmp/obstui-sg-XXXXXX", cmd[256], errbuf[OB_ERRLEN];
	static const char *const svc[] = { "a", "b" };
	struct store *s;
	struct ob_arena a;
	struct sg_graph g;
	sqlite3 *db;

	(void)state;
	assert_non_null(mkdtemp(dir));
	ob_arena_init(&a, 0);
	s = open_store_opt(dir, true);
	for (unsigned i = 0; i < 3; i++) {
		otlp_span *sp[2];

		sp[0] = span(&a, 200 + i, 1, 0, OTLP_KIND(CLIENT), i * 1000ull, 20, false, NULL);
		sp[1] = span(&a, 200 + i, 2, 1, OTLP_KIND(SERVER), i * 1000ull + 1, 10, false,
			     NULL);
		send(s, traces(&a, 2, svc, sp));
	}
	store_close(s);
	/* as an older obstui left it: no rollups, blocks before the marker */
	snprintf(cmd, sizeof cmd, "%s/obstui.db", dir);
	assert_int_equal(sqlite3_open(cmd, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE meta SET value = 100 WHERE name ="
					  " 'rollups_since_seq'", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	for (int round = 0; round < 2; round++) {
		int tries;

		s = open_store(dir);
		for (tries = 0; tries < 100; tries++) {
			assert_int_equal(store_service_graph(s, T0, T0 + 3600000 * MS, &g, errbuf),
					 OB_OK);
			if (g.nedges == 1 && g.edges[0].requests == 3)
				break;
			sg_graph_release(&g);
			usleep(50000);
		}
		assert_int_equal(g.nedges, 1);
		assert_int_equal(g.edges[0].requests, 3);       /* and not 6 the second time */
		sg_graph_release(&g);
		store_close(s);
	}
	ob_arena_release(&a);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pairs_inside_a_trace),
		cmocka_unit_test(database_server_names_in_order),
		cmocka_unit_test(root_server_with_peer_and_unpaired_server),
		cmocka_unit_test(quantiles_within_the_bucket_error),
		cmocka_unit_test(sides_pair_across_seals),
		cmocka_unit_test(hours_and_minutes_read_alike),
		cmocka_unit_test(older_blocks_are_counted_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
