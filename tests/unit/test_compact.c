/*
 * test_compact.c - trace block compaction (store/compact.c): every trace,
 * search answer and rollup the same before and after; a trace split over
 * blocks becomes one entry; sources recorded and their files deleted after
 * the grace; a crash between the file and the transaction; a store made
 * before compaction; the block count of a day of trickle, simulated with
 * the planner and time-compressed with real blocks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>
#include <zstd.h>

#include "codec/otlp_pb.h"
#include "core/clock.h"
#include "core/mem.h"
#include "core/util.h"
#include "model/svcgraph.h"
#include "model/trace.h"
#include "model/traceql.h"
#include "model/traceql_metrics.h"
#include "otlp_build.h"
#include "store/block.h"
#include "store/fsck.h"
#include "store/store.h"
#include "store/store_int.h"

#define T0 1700000000000000000ull
#define MS 1000000ull

static struct store *
open_store(const char *dir, bool compact)
{
	struct store_options opt;
	struct store *s;
	char errbuf[OB_ERRLEN];

	store_options_init(&opt);
	opt.dir = dir;
	opt.idle_ns = 3600ull * 1000000000ull; /* sealed by hand */
	opt.origin = "unit-test";
	opt.no_compact = !compact;
	assert_int_equal(store_open(&opt, &s, errbuf), OB_OK);
	return s;
}

static void
rm_rf(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/*
 * Span k (0, 1, 2) of traces [first, last]: k 0 is the frontend root,
 * 1 a cart call under it, 2 a database call under that, each sent on its own.
 */
static void
put_spans(struct store *s, unsigned first, unsigned last, unsigned k, bool seal)
{
	static const char *const svc[] = { "frontend", "cart", "db" };
	static const char *const name[] = { "GET /checkout", "AddItem", "SELECT" };
	struct ob_arena a;
	otlp_span **sp;
	otlp_resource_spans *rs[1];
	struct store_batch *b;
	char errbuf[OB_ERRLEN];
	unsigned t;

	ob_arena_init(&a, 0);
	sp = ob_arena_alloc(&a, (last - first + 1) * sizeof *sp);
	for (t = first; t <= last; t++)
		sp[t - first] = tb_span(&a, t, k, k ? k - 1 : 0, name[k],
					T0 + t * 1000 * MS + k * 5 * MS, (300 - 90 * k + t % 7) * MS,
					t % 9 == 0 && k == 2 ? OTLP_STATUS(ERROR) : OTLP_STATUS(OK));
	rs[0] = tb_resource_spans(&a, svc[k], sp, last - first + 1);
	assert_int_equal(store_batch_build(s, rs, 1, NULL, &b, errbuf), OB_OK);
	assert_int_equal(store_submit(s, b, errbuf), OB_OK);
	if (seal)
		assert_int_equal(store_seal_all(s, errbuf), OB_OK);
	ob_arena_release(&a);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A trace as a sorted list of "service/resource/scope/span bytes" in hex. */
static void
fingerprint(struct store *s, unsigned t, struct ob_buf *out)
{
	uint8_t id[16];
	struct ob_buf b;
	struct ob_trace tr;
	char errbuf[OB_ERRLEN], **lines;
	size_t i;

	tb_trace_id(id, t);
	ob_buf_init(&b, 0);
	ob_buf_reset(out);
	if (store_trace_get(s, id, &b, errbuf) != OB_OK) {
		ob_buf_add(out, "missing", 7);
		ob_buf_release(&b);
		return;
	}
	assert_int_equal(otlp_pb_decode_trace(b.data, b.len, 0, &tr, errbuf), OB_OK);
	lines = ob_xcalloc(tr.nspans + 1, sizeof *lines);
	for (i = 0; i < tr.nspans; i++) {
		const ProtobufCMessage *m[3] = {
			(const ProtobufCMessage *)tr.spans[i].span,
			(const ProtobufCMessage *)tr.spans[i].rs->resource,
			(const ProtobufCMessage *)tr.spans[i].ss->scope,
		};
		struct ob_buf line;

		ob_buf_init(&line, 0);
		ob_buf_add(&line, tr.spans[i].service, strlen(tr.spans[i].service));
		for (int k = 0; k < 3; k++) {
			size_t n = protobuf_c_message_get_packed_size(m[k]);
			uint8_t *p = ob_xmalloc(n + 1);
			char *hex = ob_xmalloc(2 * n + 1);

			protobuf_c_message_pack(m[k], p);
			ob_hex_encode(p, n, hex);
			ob_buf_add(&line, "/", 1);
			ob_buf_add(&line, hex, 2 * n);
			free(p);
			free(hex);
		}
		ob_buf_add(&line, "", 1);
		lines[i] = (char *)ob_buf_take(&line, &(size_t){ 0 });
	}
	qsort(lines, tr.nspans, sizeof *lines, cmp_str);
	for (i = 0; i < tr.nspans; i++) {
		ob_buf_add(out, lines[i], strlen(lines[i]));
		ob_buf_add(out, "\n", 1);
		free(lines[i]);
	}
	free(lines);
	ob_trace_release(&tr);
	ob_buf_release(&b);
}

/* Search answers as text: trace, spans, start, duration, root, matched. */
static void
search_text(struct store *s, const char *q, struct ob_buf *out)
{
	struct store_search_req req = { .traceql = q, .limit = 1000 };
	struct store_search_result r;
	char errbuf[OB_ERRLEN], line[256], hex[33];
	size_t i;

	ob_buf_reset(out);
	assert_int_equal(store_search(s, &req, &r, errbuf), OB_OK);
	assert_false(r.partial);
	for (i = 0; i < r.ntraces; i++) {
		const struct store_trace_hit *h = &r.traces[i];

		ob_hex_encode(h->trace_id, 16, hex);
		snprintf(line, sizeof line, "%s %zu %llu %llu %s %s %zu %zu\n", hex, h->nspans,
			 (unsigned long long)h->start_ns, (unsigned long long)h->duration_ns,
			 h->root_service, h->root_name, h->matched, h->nerrors);
		ob_buf_add(out, line, strlen(line));
	}
	store_search_result_release(&r);
}

static void
ops_text(struct store *s, struct ob_buf *out)
{
	struct sg_op *ops = NULL;
	size_t n = 0, i;
	char errbuf[OB_ERRLEN], line[512];

	ob_buf_reset(out);
	assert_int_equal(store_service_ops(s, NULL, T0 - 3600000 * MS, T0 + 7200000 * MS, &ops,
					   &n, errbuf), OB_OK);
	for (i = 0; i < n; i++) {
		snprintf(line, sizeof line, "%s %s %llu %llu %.3f\n", ops[i].service,
			 ops[i].span_name, (unsigned long long)ops[i].calls,
			 (unsigned long long)ops[i].errors, ops[i].sum_s);
		ob_buf_add(out, line, strlen(line));
	}
	free(ops);
}

/* TraceQL metrics (tqlmetrics.c: service postings, trace parts) as text. */
static void
metrics_text(struct store *s, const char *text, struct ob_buf *out)
{
	struct traceql_query *q;
	struct traceql_metrics *m;
	struct traceql_series_set set;
	struct store_scan_stats stats;
	char errbuf[OB_ERRLEN], line[128];
	size_t i, k;

	assert_int_equal(traceql_parse(text, &q, errbuf), OB_OK);
	assert_int_equal(traceql_metrics_new(q, T0, T0 + 200000 * MS, 10000 * MS, &m, errbuf),
			 OB_OK);
	assert_int_equal(store_traceql_metrics(s, m, 0, &stats, errbuf), OB_OK);
	assert_int_equal(traceql_metrics_finish(m, &set, errbuf), OB_OK);
	for (i = 0; i < set.nseries; i++) {
		ob_buf_add(out, set.series[i].prom_labels, strlen(set.series[i].prom_labels));
		for (k = 0; k < set.npoints; k++) {
			snprintf(line, sizeof line, " %g", set.series[i].values[k]);
			ob_buf_add(out, line, strlen(line));
		}
		ob_buf_add(out, "\n", 1);
	}
	traceql_series_set_release(&set);
	traceql_metrics_free(m);
	traceql_free(q);
}

/* fsck finds nothing wrong (store closed); how many notes it made. */
static size_t
fsck_healthy(const char *dir)
{
	struct fsck_options o = { .dir = dir };
	struct fsck_report rep;
	char errbuf[OB_ERRLEN];
	size_t i, notes;

	memset(&rep, 0, sizeof rep);
	assert_int_equal(store_fsck(&o, &rep, errbuf), OB_OK);
	for (i = 0; i < rep.nproblems; i++)
		print_message("fsck: %s %s: %s\n", rep.problems[i].code, rep.problems[i].object,
			      rep.problems[i].what);
	assert_int_equal(rep.nproblems, 0);
	notes = rep.nnotes;
	fsck_report_release(&rep);
	return notes;
}

static const char *const queries[] = {
	"{}",
	"{ resource.service.name = \"cart\" }",
	"{ span.http.route = \"SELECT\" }",
	"{ status = error }",
	"{ resource.service.name = \"db\" && duration > 100ms }",
};
#define NQ (sizeof queries / sizeof queries[0])
#define NTRACES 111

struct snapshot {
	struct ob_buf trace[NTRACES + 1];
	struct ob_buf search[NQ];
	struct ob_buf ops;
};

static void
snap(struct store *s, struct snapshot *sn)
{
	size_t i;

	for (i = 1; i <= NTRACES; i++) {
		ob_buf_init(&sn->trace[i], 0);
		fingerprint(s, (unsigned)i, &sn->trace[i]);
	}
	for (i = 0; i < NQ; i++) {
		ob_buf_init(&sn->search[i], 0);
		search_text(s, queries[i], &sn->search[i]);
	}
	ob_buf_init(&sn->ops, 0);
	ops_text(s, &sn->ops);
	metrics_text(s, "{ resource.service.name = \"cart\" } | rate()", &sn->ops);
	metrics_text(s, "{ } | count_over_time() by (resource.service.name)", &sn->ops);
}

static void
snap_equal(struct snapshot *a, struct snapshot *b)
{
	size_t i;

	for (i = 1; i <= NTRACES; i++) {
		assert_int_equal(a->trace[i].len, b->trace[i].len);
		assert_memory_equal(a->trace[i].data, b->trace[i].data, a->trace[i].len);
	}
	for (i = 0; i < NQ; i++) {
		assert_true(a->search[i].len > 0);
		assert_int_equal(a->search[i].len, b->search[i].len);
		assert_memory_equal(a->search[i].data, b->search[i].data, a->search[i].len);
	}
	assert_true(a->ops.len > 0);
	/* the metrics part counted spans of every service */
	assert_non_null(memmem(a->ops.data, a->ops.len, "\"db\"}", 5));
	assert_non_null(memmem(a->ops.data, a->ops.len, " 1 ", 3));
	assert_int_equal(a->ops.len, b->ops.len);
	assert_memory_equal(a->ops.data, b->ops.data, a->ops.len);
}

static void
snap_release(struct snapshot *sn)
{
	size_t i;

	for (i = 1; i <= NTRACES; i++)
		ob_buf_release(&sn->trace[i]);
	for (i = 0; i < NQ; i++)
		ob_buf_release(&sn->search[i]);
	ob_buf_release(&sn->ops);
}

/* Four blocks: traces 1-60 in three parts (40-60 in all three), 100-111 whole. */
static void
fill(struct store *s)
{
	put_spans(s, 1, 60, 0, true);
	put_spans(s, 20, 60, 1, true);
	put_spans(s, 40, 60, 2, true);
	put_spans(s, 100, 111, 0, false);
	put_spans(s, 100, 111, 1, false);
	put_spans(s, 100, 111, 2, true);
}

static size_t
blocks_in(const char *dir)
{
	char path[128];
	DIR *d;
	struct dirent *e;
	size_t n = 0;

	snprintf(path, sizeof path, "%s/blocks", dir);
	assert_non_null(d = opendir(path));
	while ((e = readdir(d)) != NULL)
		n += strlen(e->d_name) == 30 && strcmp(e->d_name + 26, ".blk") == 0;
	closedir(d);
	return n;
}

static void
compaction_keeps_every_trace(void **state)
{
	char dir[64] = "/tmp/obstui-compact-XXXXXX", errbuf[OB_ERRLEN];
	struct store *s;
	struct snapshot before, after;
	struct store_compact_result res;
	struct store_block_info *bl, *bl2;
	struct store_stats st;
	struct block_index ix;
	char (*src)[27];
	size_t n, n2, nsrc, i;
	uint8_t id50[16];
	char *path;

	(void)state;
	assert_non_null(mkdtemp(dir));
	s = open_store(dir, false);
	fill(s);
	assert_int_equal(store_blocks_list(s, 0, &bl, &n, errbuf), OB_OK);
	assert_int_equal(n, 4);
	snap(s, &before);
	/* the split trace is read from three blocks before */
	assert_true(strstr((char *)before.trace[50].data, "frontend") != NULL);
	assert_true(strstr((char *)before.trace[50].data, "\ndb/") != NULL);

	assert_int_equal(store_compact_now(s, &res, errbuf), OB_OK);
	assert_int_equal(res.merges, 1);
	assert_int_equal(res.sources, 4);
	assert_int_equal(res.traces_before, 60 + 41 + 21 + 12);
	assert_int_equal(res.traces_after, 60 + 12);
	assert_int_equal(store_stats_get(s, &st, errbuf), OB_OK);
	assert_int_equal(st.blocks, 1);
	assert_int_equal(st.block_spans, 60 + 41 + 21 + 36);
	snap(s, &after);
	snap_equal(&before, &after);

	/* one entry for the split trace, holding its three spans */
	assert_int_equal(store_blocks_list(s, 0, &bl2, &n2, errbuf), OB_OK);
	assert_int_equal(n2, 1);
	path = store_block_file(s, bl2[0].id);
	assert_int_equal(block_index_read(path, &ix, errbuf), OB_OK);
	assert_int_equal(ix.ntraces, 72);
	tb_trace_id(id50, 50);
	for (i = 0; i < ix.ntraces && memcmp(ix.traces[i].trace_id, id50, 16) != 0; i++)
		;
	assert_true(i < ix.ntraces);
	assert_int_equal(ix.traces[i].nspans, 3);
	assert_string_equal(ix.origin, "unit-test");
	block_index_release(&ix);
	{
		/* zstd -d of the merged block is one TracesData of every span */
		uint8_t *data, *raw;
		size_t len, rawlen;
		unsigned long long cap;
		otlp_traces_data *td;
		size_t spans = 0;

		assert_int_equal(ob_file_read(path, 1u << 26, &data, &len, errbuf), OB_OK);
		cap = ZSTD_getFrameContentSize(data, len);
		(void)cap;
		raw = ob_xmalloc(8u << 20);
		rawlen = ZSTD_decompress(raw, 8u << 20, data, len);
		assert_false(ZSTD_isError(rawlen));
		td = opentelemetry__proto__trace__v1__traces_data__unpack(NULL, rawlen, raw);
		assert_non_null(td);
		for (i = 0; i < td->n_resource_spans; i++)
			for (size_t j = 0; j < td->resource_spans[i]->n_scope_spans; j++)
				spans += td->resource_spans[i]->scope_spans[j]->n_spans;
		assert_int_equal(spans, 60 + 41 + 21 + 36);
		opentelemetry__proto__trace__v1__traces_data__free_unpacked(td, NULL);
		free(raw);
		free(data);
	}
	free(path);

	{
		/* the merged block's postings are kept compressed, and search read them */
		sqlite3 *h;
		sqlite3_stmt *q;
		char db[128];

		snprintf(db, sizeof db, "%s/obstui.db", dir);
		assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*), sum(length(entries) % 36 != 0)"
						       " FROM block_services", -1, &q, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(q, 0), 3);
		assert_int_equal(sqlite3_column_int(q, 1), 3);
		sqlite3_finalize(q);
		sqlite3_close(h);
	}
	/* the sources are named, still count as held, and wait out their grace */
	assert_int_equal(store_block_sources(s, bl2[0].id, &src, &nsrc, errbuf), OB_OK);
	assert_int_equal(nsrc, 4);
	for (i = 0; i < 4; i++) {
		size_t k;

		for (k = 0; k < nsrc && strcmp(src[k], bl[i].id) != 0; k++)
			;
		assert_true(k < nsrc);
		assert_true(store_block_exists(s, bl[i].id));
	}
	free(src);
	assert_int_equal(blocks_in(dir), 5);
	assert_int_equal(store_compact_now(s, &res, errbuf), OB_OK);
	assert_int_equal(res.merges, 0);
	store_close(s);

	/* fsck: healthy, the replaced files named as waiting out their grace */
	assert_int_equal(fsck_healthy(dir), 4);
	/* reopened within the grace: the files stay; after it, they go */
	s = open_store(dir, false);
	assert_int_equal(blocks_in(dir), 5);
	store_close(s);
	setenv("OBSTUI_COMPACT_SCALE", "1000000", 1);
	s = open_store(dir, false);
	unsetenv("OBSTUI_COMPACT_SCALE");
	assert_int_equal(blocks_in(dir), 1);
	snap(s, &after);
	snap_equal(&before, &after);
	store_close(s);
	assert_int_equal(fsck_healthy(dir), 0);
	snap_release(&before);
	snap_release(&after);
	free(bl);
	free(bl2);
	rm_rf(dir);
}

/* A crash after the merged file is written and before it is recorded. */
static void
crash_before_the_transaction_loses_nothing(void **state)
{
	char dir[64] = "/tmp/obstui-compact-XXXXXX", errbuf[OB_ERRLEN];
	struct store *s;
	struct snapshot before, after;
	struct store_compact_result res;
	struct store_stats st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	s = open_store(dir, false);
	fill(s);
	snap(s, &before);
	setenv("OBSTUI_COMPACT_CRASH", "1", 1);
	assert_int_equal(store_compact_now(s, &res, errbuf), OB_EINTERNAL);
	unsetenv("OBSTUI_COMPACT_CRASH");
	assert_int_equal(blocks_in(dir), 5);     /* 4 recorded + the unrecorded merge */
	snap(s, &after);
	snap_equal(&before, &after);
	snap_release(&after);
	store_close(s);
	s = open_store(dir, false);               /* the orphan goes */
	assert_int_equal(blocks_in(dir), 4);
	assert_int_equal(store_stats_get(s, &st, errbuf), OB_OK);
	assert_int_equal(st.blocks, 4);
	snap(s, &after);
	snap_equal(&before, &after);
	snap_release(&after);
	/* and a compaction afterwards is whole */
	assert_int_equal(store_compact_now(s, &res, errbuf), OB_OK);
	assert_int_equal(res.merges, 1);
	snap(s, &after);
	snap_equal(&before, &after);
	store_close(s);
	snap_release(&before);
	snap_release(&after);
	rm_rf(dir);
}

/* A store written before compaction (schema 1) opens, reads and compacts. */
static void
old_schema_store_opens(void **state)
{
	char dir[64] = "/tmp/obstui-compact-XXXXXX", errbuf[OB_ERRLEN], db[128];
	struct store *s;
	struct snapshot before, after;
	struct store_compact_result res;
	sqlite3 *h;

	(void)state;
	assert_non_null(mkdtemp(dir));
	s = open_store(dir, false);
	fill(s);
	snap(s, &before);
	store_close(s);
	snprintf(db, sizeof db, "%s/obstui.db", dir);
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "ALTER TABLE blocks DROP COLUMN level;"
				      " DROP TABLE block_sources;"
				      " UPDATE meta SET value = 1 WHERE name = 'schema_version'",
				      NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	s = open_store(dir, false);
	snap(s, &after);
	snap_equal(&before, &after);
	snap_release(&after);
	assert_int_equal(store_compact_now(s, &res, errbuf), OB_OK);
	assert_int_equal(res.merges, 1);
	snap(s, &after);
	snap_equal(&before, &after);
	store_close(s);
	snap_release(&before);
	snap_release(&after);
	rm_rf(dir);
}

/*
 * The frame memory bound cuts a run short: only the blocks merged are
 * replaced, and the others' files stay (the background sweeps with no
 * grace meanwhile).
 */
static void
memory_bound_merges_fewer_and_loses_nothing(void **state)
{
	char dir[64] = "/tmp/obstui-compact-XXXXXX", errbuf[OB_ERRLEN];
	struct store *s;
	struct snapshot before, after;
	struct store_stats st;
	uint64_t deadline;

	(void)state;
	assert_non_null(mkdtemp(dir));
	s = open_store(dir, false);
	fill(s);
	snap(s, &before);
	store_close(s);
	/* the four blocks are due at once; each run may hold two of them */
	setenv("OBSTUI_COMPACT_SCALE", "1000000", 1);
	setenv("OBSTUI_COMPACT_FRAME_MEM", "1", 1);
	s = open_store(dir, true);
	unsetenv("OBSTUI_COMPACT_SCALE");
	unsetenv("OBSTUI_COMPACT_FRAME_MEM");
	deadline = ob_mono_ns() + 10000 * MS;
	do {
		usleep(50000);
		assert_int_equal(store_stats_get(s, &st, errbuf), OB_OK);
	} while (st.blocks > 1 && ob_mono_ns() < deadline);
	usleep(100000);
	assert_int_equal(st.blocks, 1);
	snap(s, &after);
	snap_equal(&before, &after);
	snap_release(&after);
	store_close(s);
	snap_release(&before);
	rm_rf(dir);
}

/* Retention drops a compacted block as it drops any other. */
static void
retention_drops_compacted_blocks(void **state)
{
	char dir[64] = "/tmp/obstui-compact-XXXXXX", errbuf[OB_ERRLEN];
	struct store_options opt;
	struct store *s;
	struct store_compact_result res;
	struct store_stats st;
	struct ob_buf fp;
	size_t dropped;

	(void)state;
	assert_non_null(mkdtemp(dir));
	s = open_store(dir, false);
	fill(s);
	assert_int_equal(store_compact_now(s, &res, errbuf), OB_OK);
	assert_int_equal(res.merges, 1);
	store_close(s);
	/* the spans are from 2023: a day of retention drops the merged block */
	store_options_init(&opt);
	opt.dir = dir;
	opt.idle_ns = 3600ull * 1000000000ull;
	opt.origin = "unit-test";
	opt.no_compact = true;
	opt.retention_ns = 24ull * 3600 * 1000000000ull;
	assert_int_equal(store_open(&opt, &s, errbuf), OB_OK);
	assert_int_equal(store_expire(s, &dropped, errbuf), OB_OK);
	assert_int_equal(store_stats_get(s, &st, errbuf), OB_OK);
	assert_int_equal(st.blocks, 0);
	ob_buf_init(&fp, 0);
	fingerprint(s, 50, &fp);
	assert_int_equal(fp.len, 7);
	assert_memory_equal(fp.data, "missing", 7);
	ob_buf_release(&fp);
	store_close(s);
	rm_rf(dir);
}

/*
 * A day of 100 spans/s: a block sealed every half second, a compaction
 * pass every 5 s, merged blocks ~80 % of their sources' bytes.
 */
static void
planner_day_of_trickle(void **state)
{
	struct compact_rules r;
	struct compact_cand *v = ob_xcalloc(4096, sizeof *v);
	size_t n = 0, most = 0, merges = 0;
	uint64_t now = T0, end = T0 + 24ull * 3600 * 1000000000ull, step = 500 * MS;
	uint64_t next_pass = T0;

	(void)state;
	compact_rules_default(&r, 1);
	for (; now < end; now += step) {
		v[n++] = (struct compact_cand){ .seq = (int64_t)n, .level = 0, .origin = 1,
						.created_ns = now, .min_ns = now - 10000 * MS,
						.max_ns = now, .bytes = 2000, .traces = 5 };
		assert_true(n < 4096);
		if (now >= next_pass) {
			size_t first, run, k;

			next_pass = now + r.every_ns;
			while ((run = compact_plan(v, n, now, false, &r, &first)) > 0) {
				struct compact_cand m = v[first];

				for (k = first + 1; k < first + run; k++) {
					m.bytes += v[k].bytes;
					m.traces += v[k].traces;
					m.min_ns = v[k].min_ns < m.min_ns ? v[k].min_ns : m.min_ns;
					m.max_ns = v[k].max_ns > m.max_ns ? v[k].max_ns : m.max_ns;
				}
				m.bytes = m.bytes * 8 / 10;
				m.level++;
				m.created_ns = now;
				memmove(&v[first], &v[first + run], (n - first - run) * sizeof *v);
				n -= run;
				/* keep (origin, level, seq) order: insert among its level */
				for (k = 0; k < n && (v[k].level < m.level ||
						      (v[k].level == m.level && v[k].seq < m.seq)); k++)
					;
				memmove(&v[k + 1], &v[k], (n - k) * sizeof *v);
				v[k] = m;
				n++;
				merges++;
			}
		}
		if (n > most)
			most = n;
	}
	print_message("a simulated day of trickle: %zu blocks at the end, at most %zu,"
		      " %zu merges\n", n, most, merges);
	assert_true(n <= 50);
	assert_true(most <= 60);
	free(v);
}

/* Real blocks, a trickle compressed 1000-fold: the count stays small. */
static void
trickle_compacts_in_the_background(void **state)
{
	char dir[64] = "/tmp/obstui-compact-XXXXXX", errbuf[OB_ERRLEN];
	struct store *s;
	struct store_stats st;
	struct ob_buf fp;
	unsigned i, nseals = 240;
	uint64_t deadline;

	(void)state;
	assert_non_null(mkdtemp(dir));
	setenv("OBSTUI_COMPACT_SCALE", "1000", 1);
	s = open_store(dir, true);
	unsetenv("OBSTUI_COMPACT_SCALE");
	for (i = 0; i < nseals; i++) {
		put_spans(s, 1000 + 3 * i, 1000 + 3 * i + 2, 0, true);
		usleep(10000);
	}
	/* a few passes more for the tail */
	deadline = ob_mono_ns() + 10000 * MS;
	do {
		usleep(100000);
		assert_int_equal(store_stats_get(s, &st, errbuf), OB_OK);
	} while (st.blocks > 12 && ob_mono_ns() < deadline);
	print_message("%u seals became %llu blocks\n", nseals, (unsigned long long)st.blocks);
	assert_true(st.blocks <= 12);
	assert_int_equal(st.block_spans, 3 * nseals);
	ob_buf_init(&fp, 0);
	for (i = 0; i < 3 * nseals; i += 7) {
		fingerprint(s, 1000 + i, &fp);
		assert_true(strstr((char *)fp.data, "frontend/") == (char *)fp.data);
	}
	ob_buf_release(&fp);
	store_close(s);
	rm_rf(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(compaction_keeps_every_trace),
		cmocka_unit_test(crash_before_the_transaction_loses_nothing),
		cmocka_unit_test(old_schema_store_opens),
		cmocka_unit_test(memory_bound_merges_fewer_and_loses_nothing),
		cmocka_unit_test(retention_drops_compacted_blocks),
		cmocka_unit_test(planner_day_of_trickle),
		cmocka_unit_test(trickle_compacts_in_the_background),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
