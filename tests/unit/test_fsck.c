/*
 * test_fsck.c - gc's planners (the retention rules as pure functions, and
 * the dry run against what retention really removes) and fsck's checkers:
 * trace blocks corrupted each way, the repair, metric blocks and the WAL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/crc32c.h"
#include "core/endian.h"
#include "core/mem.h"
#include "core/util.h"
#include "otlp_build.h"
#include "store/fsck.h"
#include "store/store.h"
#include "store/tsdb.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define HOUR (3600ull * SEC)

static char tmp[64];

static void
make_tmp(void)
{
	snprintf(tmp, sizeof tmp, "/tmp/obstui-fsck-XXXXXX");
	assert_non_null(mkdtemp(tmp));
}

static void
rm_tmp(void)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
	assert_int_equal(system(cmd), 0);
}

/* --- planners ---------------------------------------------------------------------- */

static void
plan_traces_by_age_and_size(void **state)
{
	uint64_t now = 100 * HOUR;
	/* any order in; ends at 99h, 97h, 90h, 50h; 100 bytes each */
	struct gc_block b[4] = {
		{ "C", 0, 90 * HOUR, 100 }, { "A", 0, 99 * HOUR, 100 },
		{ "D", 0, 50 * HOUR, 100 }, { "B", 0, 97 * HOUR, 100 },
	};
	uint8_t why[4];

	(void)state;
	assert_int_equal(gc_plan_traces(b, 4, now, 0, 0, why), 0);
	/* 24h: the block that ended 50h ago goes by age */
	assert_int_equal(gc_plan_traces(b, 4, now, 24 * HOUR, 0, why), 1);
	assert_int_equal(why[2], GC_AGE);
	assert_int_equal(why[0] | why[1] | why[3], GC_KEEP);
	/* 250 bytes: the two newest fit, then everything older goes by size */
	assert_int_equal(gc_plan_traces(b, 4, now, 0, 250, why), 2);
	assert_int_equal(why[1], GC_KEEP);
	assert_int_equal(why[3], GC_KEEP);
	assert_int_equal(why[0], GC_SIZE);
	assert_int_equal(why[2], GC_SIZE);
	/* both: age wins where both apply */
	assert_int_equal(gc_plan_traces(b, 4, now, 24 * HOUR, 250, why), 2);
	assert_int_equal(why[2], GC_AGE);
	assert_int_equal(why[0], GC_SIZE);
}

static void
plan_metrics_by_age_and_size(void **state)
{
	uint64_t now = 100 * HOUR;
	struct gc_block b[3] = {
		{ "M1", 0, 96 * HOUR, 1000 }, { "M2", 0, 98 * HOUR, 1000 }, { "M3", 0, 99 * HOUR, 1000 },
	};
	uint8_t why[3];

	(void)state;
	/* a block ending exactly at the cutoff goes (maxTime <= now - retention) */
	assert_int_equal(gc_plan_metrics(b, 3, now, 4 * HOUR, 0, 0, why), 1);
	assert_int_equal(why[0], GC_AGE);
	assert_int_equal(gc_plan_metrics(b, 3, now, 4 * HOUR + SEC, 0, 0, why), 0);
	/* the other bytes (WAL, traces) count: 3000 + 1500 > 3000, so the one ending first goes */
	assert_int_equal(gc_plan_metrics(b, 3, now, 0, 3000, 1500, why), 2);
	assert_int_equal(why[0], GC_SIZE);
	assert_int_equal(why[1], GC_SIZE);
	assert_int_equal(why[2], GC_KEEP);
	/* other bytes alone past the cap: every block goes, and the loop ends */
	assert_int_equal(gc_plan_metrics(b, 3, now, 0, 100, 5000, why), 3);
}

/* --- a trace store ----------------------------------------------------------------- */

static struct store *
open_store(void)
{
	struct store_options opt;
	struct store *s;
	char errbuf[OB_ERRLEN];

	store_options_init(&opt);
	opt.dir = tmp;
	opt.idle_ns = HOUR;
	opt.origin = "unit-test";
	assert_int_equal(store_open(&opt, &s, errbuf), OB_OK);
	return s;
}

/* One sealed block of n traces (numbers first..), spans starting at t0. */
static void
put_block(struct store *s, unsigned first, unsigned n, uint64_t t0)
{
	struct ob_arena a;
	otlp_span **sp;
	otlp_resource_spans *rs[1];
	struct store_batch *b;
	char errbuf[OB_ERRLEN];
	unsigned i;

	ob_arena_init(&a, 0);
	sp = ob_arena_alloc(&a, 2 * n * sizeof *sp);
	for (i = 0; i < n; i++) {
		sp[2 * i] = tb_span(&a, first + i, 0, 0, "GET /", t0 + i * MS, 50 * MS, 0);
		sp[2 * i + 1] = tb_span(&a, first + i, 1, 0, "SELECT", t0 + i * MS + MS, 20 * MS, 0);
	}
	rs[0] = tb_resource_spans(&a, "web", sp, 2 * n);
	assert_int_equal(store_batch_build(s, rs, 1, NULL, &b, errbuf), OB_OK);
	assert_int_equal(store_submit(s, b, errbuf), OB_OK);
	assert_int_equal(store_seal_all(s, errbuf), OB_OK);
	ob_arena_release(&a);
}

static bool
trace_reads(unsigned t)
{
	struct store_options opt;
	struct store *s;
	struct ob_buf out;
	uint8_t id[16];
	char errbuf[OB_ERRLEN];
	enum ob_err err;

	store_options_init(&opt);
	opt.dir = tmp;
	opt.read_only = true;
	assert_int_equal(store_open(&opt, &s, errbuf), OB_OK);
	tb_trace_id(id, t);
	ob_buf_init(&out, 0);
	err = store_trace_get(s, id, &out, errbuf);
	ob_buf_release(&out);
	store_close(s);
	return err == OB_OK;
}

static char *
block_file(unsigned k, char ids[][27])
{
	return ob_xasprintf("%s/blocks/%s.blk", tmp, ids[k]);
}

static const struct fsck_problem *
find_problem(const struct fsck_report *r, const char *code, const char *object)
{
	for (size_t i = 0; i < r->nproblems; i++)
		if (strcmp(r->problems[i].code, code) == 0 && strcmp(r->problems[i].object, object) == 0)
			return &r->problems[i];
	return NULL;
}

static void
flip(const char *path, long off)
{
	FILE *f = fopen(path, "r+b");
	int c;

	assert_non_null(f);
	fseek(f, off, SEEK_SET);
	c = fgetc(f);
	fseek(f, off, SEEK_SET);
	fputc(c ^ 0x40, f);
	fclose(f);
}

static void
fsck_trace_blocks(void **state)
{
	struct store *s;
	struct store_block_info *bl;
	struct fsck_options opt = { 0 };
	struct fsck_report rep;
	char ids[4][27], errbuf[OB_ERRLEN], *p;
	struct stat st;
	size_t n, k;

	(void)state;
	make_tmp();
	s = open_store();
	for (k = 0; k < 4; k++)
		put_block(s, 100 * (unsigned)k, 5, ob_now_ns() - 60 * SEC);
	assert_int_equal(store_blocks_list(s, 0, &bl, &n, errbuf), OB_OK);
	assert_int_equal(n, 4);
	for (k = 0; k < 4; k++)
		memcpy(ids[k], bl[k].id, 27);
	free(bl);
	store_close(s);

	opt.dir = tmp;
	assert_int_equal(store_fsck(&opt, &rep, errbuf), OB_OK);
	assert_int_equal(rep.nproblems, 0);
	assert_int_equal(rep.trace_blocks, 4);
	assert_int_equal(rep.traces, 20);
	fsck_report_release(&rep);

	/* block 0: a changed byte; 1: truncated; 2: gone; 3 stays sound */
	p = block_file(0, ids);
	stat(p, &st);
	flip(p, st.st_size / 2);
	free(p);
	p = block_file(1, ids);
	stat(p, &st);
	assert_int_equal(truncate(p, st.st_size - 20), 0);
	free(p);
	p = block_file(2, ids);
	assert_int_equal(unlink(p), 0);
	free(p);
	assert_int_equal(store_fsck(&opt, &rep, errbuf), OB_OK);
	assert_int_equal(rep.nproblems, 3);
	assert_non_null(find_problem(&rep, "block-checksum", ids[0]));
	assert_non_null(find_problem(&rep, "block-size", ids[1]));
	assert_non_null(find_problem(&rep, "block-missing", ids[2]));
	assert_int_equal(fsck_unrepaired(&rep), 3);
	fsck_report_release(&rep);

	opt.repair = true;
	assert_int_equal(store_fsck(&opt, &rep, errbuf), OB_OK);
	assert_int_equal(rep.nproblems, 3);
	assert_int_equal(fsck_unrepaired(&rep), 0);
	fsck_report_release(&rep);
	for (k = 0; k < 2; k++) {
		p = ob_xasprintf("%s/lost+found/%s.blk", tmp, ids[k]);
		assert_int_equal(stat(p, &st), 0);
		free(p);
	}
	opt.repair = false;
	assert_int_equal(store_fsck(&opt, &rep, errbuf), OB_OK);
	assert_int_equal(rep.nproblems, 0);
	assert_int_equal(rep.trace_blocks, 1);
	fsck_report_release(&rep);
	assert_true(trace_reads(300));
	assert_true(trace_reads(304));
	assert_false(trace_reads(0));
	rm_tmp();
}

static void
repair_refuses_an_owned_store(void **state)
{
	struct store *s;
	struct fsck_options opt = { 0 };
	struct fsck_report rep;
	char errbuf[OB_ERRLEN];
	int fd;

	(void)state;
	make_tmp();
	s = open_store(); /* owner */
	opt.dir = tmp;
	opt.repair = true;
	assert_int_equal(store_fsck(&opt, &rep, errbuf), OB_EBUSY);
	assert_non_null(strstr(errbuf, "in use"));
	assert_int_equal(store_maint_lock(tmp, &fd, errbuf), OB_EBUSY);
	/* checking without repairing works beside the owner */
	opt.repair = false;
	assert_int_equal(store_fsck(&opt, &rep, errbuf), OB_OK);
	assert_int_equal(rep.nproblems, 0);
	fsck_report_release(&rep);
	store_close(s);
	assert_int_equal(store_maint_lock(tmp, &fd, errbuf), OB_OK);
	store_maint_unlock(fd);
	rm_tmp();
}

static void
gc_dry_run_is_what_retention_removes(void **state)
{
	struct store *s;
	struct gc_options go = { 0 };
	struct gc_result dry, done;
	struct store_block_info *bl;
	char errbuf[OB_ERRLEN];
	uint64_t now = ob_now_ns();
	size_t n, i;

	(void)state;
	make_tmp();
	s = open_store();
	put_block(s, 1, 3, now - 72 * HOUR);
	put_block(s, 10, 3, now - 30 * HOUR);
	put_block(s, 20, 3, now - 60 * SEC);
	store_close(s);
	go.dir = tmp;
	go.retention_ns = 24 * HOUR;
	go.dry_run = true;
	assert_int_equal(store_gc(&go, &dry, errbuf), OB_OK);
	assert_int_equal(dry.trace_blocks, 3);
	n = 0;
	for (i = 0; i < dry.nitems; i++)
		if (dry.items[i].kind == GC_TRACE_BLOCK) {
			assert_int_equal(dry.items[i].why, GC_AGE);
			n++;
		}
	assert_int_equal(n, 2);
	assert_true(trace_reads(1)); /* nothing changed */
	go.dry_run = false;
	assert_int_equal(store_gc(&go, &done, errbuf), OB_OK);
	assert_int_equal(done.nitems, dry.nitems);
	s = open_store();
	assert_int_equal(store_blocks_list(s, 0, &bl, &n, errbuf), OB_OK);
	store_close(s);
	assert_int_equal(n, 1);
	for (i = 0; i < dry.nitems; i++)
		assert_string_not_equal(dry.items[i].id, bl[0].id);
	free(bl);
	assert_false(trace_reads(1));
	assert_false(trace_reads(10));
	assert_true(trace_reads(20));
	gc_result_release(&dry);
	gc_result_release(&done);
	rm_tmp();
}

/* --- metrics ----------------------------------------------------------------------- */

static void
write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
}

/* A WAL record: len, CRC-32C, type, payload (metrics_wal.c): a META record of family. */
static size_t
wal_record(uint8_t *out, const char *family, bool good)
{
	size_t fl = strlen(family), n = 1 + 1 + fl + 3;

	ob_put_le32(out, (uint32_t)n);
	out[8] = 4;                     /* META: family str, type u8, help str, unit str */
	out[9] = (uint8_t)fl;
	memcpy(out + 10, family, fl);
	out[10 + fl] = 2;               /* gauge */
	out[11 + fl] = 0;
	out[12 + fl] = 0;
	ob_put_le32(out + 4, ob_crc32c(0, out + 8, n) ^ (good ? 0 : 1));
	return 8 + n;
}

static void
fsck_metric_blocks_and_wal(void **state)
{
	char mdir[128], bdir[200], path[260], errbuf[OB_ERRLEN];
	const char *id = "01HGZ3Q5JX0000000000000007";
	struct tsdb_block_writer *w;
	struct fsck_options opt = { 0 };
	struct fsck_report rep;
	uint8_t wal[256];
	size_t n;

	(void)state;
	make_tmp();
	snprintf(mdir, sizeof mdir, "%s/metrics", tmp);
	assert_int_equal(tsdb_block_writer_new(mdir, id, &w, errbuf), OB_OK);
	for (int s = 0; s < 5; s++) {
		char v[8];
		struct series_label lab[2] = { { "__name__", "up" }, { "i", v } };
		struct series_labels ls = { lab, 2 };
		struct tsdb_chunk ch;

		snprintf(v, sizeof v, "%d", s);
		tsdb_chunk_init(&ch, TSDB_ENC_XOR);
		for (int k = 0; k < 100; k++)
			tsdb_chunk_append(&ch, 1700000000000 + k * 15000, s * 1.5 + k);
		tsdb_chunk_seal(&ch);
		assert_int_equal(tsdb_block_writer_add(w, &ls, &ch, 1, errbuf), OB_OK);
	}
	assert_int_equal(tsdb_block_writer_finish(w, NULL, errbuf), OB_OK);
	snprintf(bdir, sizeof bdir, "%s/%s", mdir, id);

	/* WAL: segment 1 with a bad record in the middle, segment 2 with a torn tail */
	snprintf(path, sizeof path, "%s/obwal", mdir);
	assert_int_equal(mkdir(path, 0755), 0);
	memcpy(wal, "OBMWAL1\n", 8);
	n = 8;
	n += wal_record(wal + n, "first", true);
	n += wal_record(wal + n, "bad", false);
	n += wal_record(wal + n, "after", true);
	snprintf(path, sizeof path, "%s/obwal/00000001", mdir);
	write_file(path, wal, n);
	n = 8;
	n += wal_record(wal + n, "good", true);
	n += wal_record(wal + n, "torn record", true) - 5;
	snprintf(path, sizeof path, "%s/obwal/00000002", mdir);
	write_file(path, wal, n);

	opt.dir = tmp;
	memset(&rep, 0, sizeof rep);
	fsck_metrics(&opt, &rep);
	assert_int_equal(rep.metric_blocks, 1);
	assert_int_equal(rep.metric_series, 5);
	assert_int_equal(rep.metric_chunks, 5);
	assert_int_equal(rep.wal_files, 2);
	assert_int_equal(rep.nproblems, 1);
	assert_non_null(find_problem(&rep, "metrics-wal", "00000001"));
	assert_int_equal(rep.nnotes, 1); /* the torn tail of the newest segment */
	assert_non_null(strstr(rep.notes[0], "00000002"));
	fsck_report_release(&rep);

	/* a changed byte in the chunk data, then in the index's symbol table */
	snprintf(path, sizeof path, "%s/chunks/000001", bdir);
	flip(path, 16);
	memset(&rep, 0, sizeof rep);
	fsck_metrics(&opt, &rep);
	assert_non_null(find_problem(&rep, "metric-chunk", id));
	fsck_report_release(&rep);
	flip(path, 16);
	snprintf(path, sizeof path, "%s/index", bdir);
	flip(path, 14);
	memset(&rep, 0, sizeof rep);
	fsck_metrics(&opt, &rep);
	assert_non_null(find_problem(&rep, "metric-index", id));
	fsck_report_release(&rep);
	/* repaired: the block directory moves to lost+found */
	opt.repair = true;
	memset(&rep, 0, sizeof rep);
	fsck_metrics(&opt, &rep);
	assert_true(find_problem(&rep, "metric-index", id)->repaired);
	/* the WAL: a copy kept, replayed up to the bad record, the rest set aside */
	assert_true(find_problem(&rep, "metrics-wal", "00000001")->repaired);
	assert_int_equal(fsck_unrepaired(&rep), 0);
	fsck_report_release(&rep);
	snprintf(path, sizeof path, "%s/lost+found/metrics-wal-00000001", tmp);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(path, sizeof path, "%s/lost+found/metrics-wal-00000002.corrupt", tmp);
	assert_int_equal(access(path, F_OK), 0);
	opt.repair = false;
	memset(&rep, 0, sizeof rep);
	fsck_metrics(&opt, &rep);
	assert_int_equal(rep.nproblems, 0);
	fsck_report_release(&rep);
	snprintf(path, sizeof path, "%s/lost+found/metrics-%s/meta.json", tmp, id);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_not_equal(access(bdir, F_OK), 0);
	rm_tmp();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plan_traces_by_age_and_size),
		cmocka_unit_test(plan_metrics_by_age_and_size),
		cmocka_unit_test(fsck_trace_blocks),
		cmocka_unit_test(repair_refuses_an_owned_store),
		cmocka_unit_test(gc_dry_run_is_what_retention_removes),
		cmocka_unit_test(fsck_metric_blocks_and_wal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
