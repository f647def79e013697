/*
 * test_block_summary.c - the block's summary frame (store/block.h): it
 * round-trips through the writer and block_summaries_read; a block without
 * it (older, or a trace left without a summary) reads as "none"; a
 * malformed one is corrupt; the summaries the sealer writes are exactly
 * what decoding the spans gives (summarise_block); and a pulled block is
 * adopted alike with and without the frame.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/endian.h"
#include "core/mem.h"
#include "core/util.h"
#include "otlp_build.h"
#include "store/block.h"
#include "store/store.h"
#include "store/store_int.h"

#define T0 1795000000000000000ull
#define MS 1000000ull

static char *
tmpdir(void)
{
	char *d = ob_xstrdup("/tmp/obstui-bsum-XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

static void
rmrf(const char *d)
{
	char *cmd = ob_xasprintf("rm -rf '%s'", d);

	assert_int_equal(system(cmd), 0);
	free(cmd);
}

/* Three traces added out of id order; summaries for the first `with`. */
static void
write_block(const char *path, int with)
{
	struct block_writer *w;
	struct block_index ix;
	char errbuf[OB_ERRLEN], sha[65];
	uint64_t bytes;
	static const unsigned order[3] = { 7, 2, 5 };
	int i;

	assert_int_equal(block_writer_new(path, "here", 3, &w, errbuf), OB_OK);
	for (i = 0; i < 3; i++) {
		uint8_t id[16], data[32];
		struct block_service sv[2] = {
			{ "frontend", 1000 * order[i], order[i] % 2 },
			{ order[i] == 2 ? "db" : "checkout", 7 + order[i], 0 },
		};

		tb_trace_id(id, order[i]);
		memset(data, (int)order[i], sizeof data);
		assert_int_equal(block_writer_add(w, id, data, sizeof data, order[i],
						  T0 + order[i], T0 + 10 * order[i], errbuf), OB_OK);
		if (i < with)
			block_writer_summary(w, order[i] % 2, sv, order[i] == 5 ? 1 : 2);
	}
	assert_int_equal(block_writer_finish(w, &ix, sha, &bytes, errbuf), OB_OK);
	block_index_release(&ix);
}

static void
summary_frame_round_trips(void **state)
{
	char *d = tmpdir(), *path = ob_xasprintf("%s/a.blk", d), errbuf[OB_ERRLEN];
	struct block_index ix;
	struct block_summaries bs;
	size_t i;

	(void)state;
	write_block(path, 3);
	assert_int_equal(block_index_read(path, &ix, errbuf), OB_OK);
	assert_int_equal(ix.ntraces, 3);
	assert_int_equal(block_summaries_read(path, &ix, &bs, errbuf), OB_OK);
	assert_int_equal(bs.ntraces, 3);
	for (i = 0; i < 3; i++) {
		/* in index order (sorted by id): 2, 5, 7 */
		unsigned t = ix.traces[i].trace_id[15];
		const struct block_summary *s = &bs.traces[i];

		static const unsigned want[3] = { 2, 5, 7 };

		assert_int_equal(t, want[i]);
		assert_int_equal(s->nerrors, t % 2);
		assert_int_equal(s->nservices, t == 5 ? 1 : 2);
		assert_string_equal(s->services[0].service, "frontend");
		assert_int_equal(s->services[0].max_duration_ns, 1000 * t);
		assert_int_equal(s->services[0].errors, t % 2);
		if (t != 5) {
			assert_string_equal(s->services[1].service, t == 2 ? "db" : "checkout");
			assert_int_equal(s->services[1].max_duration_ns, 7 + t);
		}
	}
	block_summaries_release(&bs);
	/* a planted inconsistency: the frame's trace count is not the index's */
	{
		uint64_t end = ix.frames[ix.nframes - 1].file_off + ix.frames[ix.nframes - 1].comp_len;
		uint8_t four[4];
		int fd = open(path, O_WRONLY);

		assert_true(fd >= 0);
		ob_put_le32(four, 4);
		assert_int_equal(pwrite(fd, four, 4, (off_t)end + 16), 4);
		close(fd);
		assert_int_equal(block_summaries_read(path, &ix, &bs, errbuf), OB_ECORRUPT);
		assert_non_null(strstr(errbuf, "summaries name 4 traces"));
		/* put back, it reads again */
		ob_put_le32(four, 3);
		fd = open(path, O_WRONLY);
		assert_int_equal(pwrite(fd, four, 4, (off_t)end + 16), 4);
		close(fd);
		assert_int_equal(block_summaries_read(path, &ix, &bs, errbuf), OB_OK);
		block_summaries_release(&bs);
		/* a flipped byte in the compressed payload */
		{
			uint8_t x;

			fd = open(path, O_RDWR);
			assert_int_equal(pread(fd, &x, 1, (off_t)end + 8 + 24), 1);
			x ^= 0x5a;
			assert_int_equal(pwrite(fd, &x, 1, (off_t)end + 8 + 24), 1);
			close(fd);
			assert_int_equal(block_summaries_read(path, &ix, &bs, errbuf), OB_ECORRUPT);
		}
	}
	block_index_release(&ix);
	/* an older block (or one a trace of which has no summary): none */
	unlink(path);
	write_block(path, 0);
	assert_int_equal(block_index_read(path, &ix, errbuf), OB_OK);
	assert_int_equal(block_summaries_read(path, &ix, &bs, errbuf), OB_ENOTFOUND);
	block_index_release(&ix);
	unlink(path);
	write_block(path, 2);
	assert_int_equal(block_index_read(path, &ix, errbuf), OB_OK);
	assert_int_equal(block_summaries_read(path, &ix, &bs, errbuf), OB_ENOTFOUND);
	block_index_release(&ix);
	rmrf(d);
	free(path);
	free(d);
}

static struct store *
open_at(const char *dir, const char *origin)
{
	struct store_options opt;
	struct store *s;
	char errbuf[OB_ERRLEN];

	store_options_init(&opt);
	opt.dir = dir;
	opt.idle_ns = 3600ull * 1000000000ull;
	opt.origin = origin;
	assert_int_equal(store_open(&opt, &s, errbuf), OB_OK);
	return s;
}

/* ntraces traces of three spans in two services, errors on odd ones; sealed. */
static void
fill(struct store *s, unsigned ntraces)
{
	struct ob_arena arena;
	otlp_span **a, **b;
	otlp_resource_spans *rs[2];
	struct store_batch *batch;
	char errbuf[OB_ERRLEN];
	unsigned i;

	ob_arena_init(&arena, 0);
	a = ob_arena_alloc(&arena, 2 * ntraces * sizeof *a);
	b = ob_arena_alloc(&arena, ntraces * sizeof *b);
	for (i = 0; i < ntraces; i++) {
		uint64_t st = T0 + i * 1000 * MS;

		a[2 * i] = tb_span(&arena, i + 1, 0, 0, "GET /", st, (100 + i) * MS, 0);
		a[2 * i + 1] = tb_span(&arena, i + 1, 1, 0, "child", st + MS, 10 * MS,
				       i % 2 ? OTLP_STATUS(ERROR) : 0);
		b[i] = tb_span(&arena, i + 1, 2, 1, "db", st + 2 * MS, (5 + i % 7) * MS,
			       i % 3 ? 0 : OTLP_STATUS(ERROR));
	}
	rs[0] = tb_resource_spans(&arena, "frontend", a, 2 * ntraces);
	rs[1] = tb_resource_spans(&arena, "postgres", b, ntraces);
	assert_int_equal(store_batch_build(s, rs, 2, NULL, &batch, errbuf), OB_OK);
	assert_int_equal(store_submit(s, batch, errbuf), OB_OK);
	assert_int_equal(store_seal_all(s, errbuf), OB_OK);
	ob_arena_release(&arena);
}

static const struct chunk_service *
find_service(const struct seal_trace *t, const char *name)
{
	for (size_t i = 0; i < t->nservices; i++)
		if (strcmp(t->services[i].service, name) == 0)
			return &t->services[i];
	return NULL;
}

/* Copy the file at from to the store's blocks/<id>.pull and adopt it. */
static enum ob_err
adopt_copy(struct store *s, const char *from, const char *id, char *errbuf)
{
	char sha[65], *pull = store_block_pull_path(s, id);
	char *cmd = ob_xasprintf("cp '%s' '%s'", from, pull);
	enum ob_err err;

	assert_int_equal(system(cmd), 0);
	assert_int_equal(block_file_sha256(pull, sha, errbuf), OB_OK);
	err = store_block_adopt(s, id, sha, errbuf);
	free(cmd);
	free(pull);
	return err;
}

static void
sealed_summaries_match_the_spans_and_adopt(void **state)
{
	char *d = tmpdir(), *src = ob_xasprintf("%s/src", d), *dst = ob_xasprintf("%s/dst", d);
	char *old = ob_xasprintf("%s/dst-old", d), *plain = ob_xasprintf("%s/plain.blk", d);
	char errbuf[OB_ERRLEN], id_old[27];
	struct store *s = open_at(src, "here"), *s2, *s3;
	struct store_block_info *v;
	struct block_index ix;
	struct block_summaries bs;
	struct seal_item *sip = ob_xcalloc(1, sizeof *sip);
	size_t n, i;
	char *path;

	(void)state;
	fill(s, 40);
	assert_int_equal(store_blocks_list(s, 0, &v, &n, errbuf), OB_OK);
	assert_int_equal(n, 1);
	path = store_block_file(s, v[0].id);
	assert_int_equal(block_index_read(path, &ix, errbuf), OB_OK);
	assert_int_equal(block_summaries_read(path, &ix, &bs, errbuf), OB_OK);
	/* what the sealer wrote is what decoding the spans says */
#define si (*sip)
	writer_item_init(&si.item, ITEM_SEAL);
	si.ix = ix;
	memset(&ix, 0, sizeof ix);
	assert_int_equal(summarise_block(path, v[0].id, &si, false, errbuf), OB_OK);
	assert_int_equal(si.ntraces, 40);
	for (i = 0; i < si.ntraces; i++) {
		const struct seal_trace *t = &si.traces[i];
		const struct block_summary *b = &bs.traces[i];

		assert_int_equal(t->nerrors, b->nerrors);
		assert_int_equal(t->nservices, b->nservices);
		assert_int_equal(t->start_ns, si.ix.traces[i].start_ns);
		assert_int_equal(t->end_ns, si.ix.traces[i].end_ns);
		assert_int_equal(t->nspans, si.ix.traces[i].nspans);
		for (size_t k = 0; k < b->nservices; k++) {
			const struct chunk_service *c = find_service(t, b->services[k].service);

			assert_non_null(c);
			assert_int_equal(c->max_duration_ns, b->services[k].max_duration_ns);
			assert_int_equal(c->errors, b->services[k].errors);
		}
	}
	/* the same traces in a block without the frame, as an older obstui wrote */
	{
		struct block_writer *w;
		struct block_index wix;
		struct ob_buf tr;
		uint64_t bytes;
		char sha[65];
		ob_buf_init(&tr, 0);
		assert_int_equal(block_writer_new(plain, "here", 3, &w, errbuf), OB_OK);
		for (i = 0; i < si.ix.ntraces; i++) {
			const struct block_trace *bt = &si.ix.traces[i];

			ob_buf_reset(&tr);
			assert_int_equal(store_trace_get(s, bt->trace_id, &tr, errbuf), OB_OK);
			assert_int_equal(block_writer_add(w, bt->trace_id, tr.data, tr.len, bt->nspans,
							  bt->start_ns, bt->end_ns, errbuf), OB_OK);
		}
		assert_int_equal(block_writer_finish(w, &wix, sha, &bytes, errbuf), OB_OK);
		struct block_summaries none;

		assert_int_equal(block_summaries_read(plain, &wix, &none, errbuf), OB_ENOTFOUND);
		block_index_release(&wix);
		ob_buf_release(&tr);
	}
	/* adopted with the frame, and without it: the same traces and search */
	s2 = open_at(dst, "there");
	s3 = open_at(old, "there");
	assert_int_equal(adopt_copy(s2, path, v[0].id, errbuf), OB_OK);
	ob_ulid_new(ob_now_ns(), id_old);
	assert_int_equal(adopt_copy(s3, plain, id_old, errbuf), OB_OK);
	for (i = 0; i < si.ix.ntraces; i++) {
		struct ob_buf x, y;

		ob_buf_init(&x, 0);
		ob_buf_init(&y, 0);
		assert_int_equal(store_trace_get(s2, si.ix.traces[i].trace_id, &x, errbuf), OB_OK);
		assert_int_equal(store_trace_get(s3, si.ix.traces[i].trace_id, &y, errbuf), OB_OK);
		assert_int_equal(x.len, y.len);
		assert_memory_equal(x.data, y.data, x.len);
		ob_buf_release(&x);
		ob_buf_release(&y);
	}
	{
		struct store_search_req q;
		struct store_search_result r2 = { 0 }, r3 = { 0 };

		memset(&q, 0, sizeof q);
		static const struct { const char *q; size_t n; } qs[] = {
			/* i % 3 == 0 of 40 */
			{ "{ resource.service.name = \"postgres\" && status = error }", 14 },
			/* db spans of 5 + i % 7 ms: i % 7 is 5 or 6 */
			{ "{ resource.service.name = \"postgres\" && duration > 9ms }", 10 },
			{ "{ resource.service.name = \"frontend\" }", 40 },
		};

		for (i = 0; i < sizeof qs / sizeof qs[0]; i++) {
			memset(&q, 0, sizeof q);
			q.traceql = qs[i].q;
			q.start_ns = T0 - 1000 * MS;
			q.end_ns = T0 + 100000 * MS;
			q.limit = 100;
			assert_int_equal(store_search(s2, &q, &r2, errbuf), OB_OK);
			assert_int_equal(store_search(s3, &q, &r3, errbuf), OB_OK);
			assert_int_equal(r2.ntraces, qs[i].n);
			assert_int_equal(r3.ntraces, r2.ntraces);
			store_search_result_release(&r2);
			store_search_result_release(&r3);
			memset(&r2, 0, sizeof r2);
			memset(&r3, 0, sizeof r3);
		}
	}
	block_summaries_release(&bs);
	seal_item_free(sip);
#undef si
	store_close(s3);
	store_close(s2);
	store_close(s);
	free(v);
	free(path);
	rmrf(d);
	free(plain);
	free(old);
	free(dst);
	free(src);
	free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(summary_frame_round_trips),
		cmocka_unit_test(sealed_summaries_match_the_spans_and_adopt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
