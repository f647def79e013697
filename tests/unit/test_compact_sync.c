/*
 * test_compact_sync.c - compaction and push/pull through a file:// remote
 * (sync.c's rule): a merged block whose sources are all on the remote is
 * not pushed again; a follower that compacted what it pulled does not pull
 * the sources again, nor push its merged block; a merged block's meta
 * names its sources, and a follower holding them all does not fetch it.
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
#include <unistd.h>

#include "core/mem.h"
#include "core/util.h"
#include "otlp_build.h"
#include "store/store.h"
#include "store_check.h"
#include "sync/blob_int.h"
#include "sync/sync.h"

#define T0 1795000000000000000ull
#define MS 1000000ull

static struct store *
open_store(const char *dir)
{
	struct store_options opt;
	struct store *s;
	char errbuf[OB_ERRLEN];

	store_options_init(&opt);
	opt.dir = dir;
	opt.idle_ns = 3600ull * 1000000000ull;
	opt.origin = "cluster";
	opt.no_compact = true;          /* compacted by hand here */
	assert_int_equal(store_open(&opt, &s, errbuf), OB_OK);
	return s;
}

/* Traces [first, first + n) of 2 spans each, sealed into one block. */
static void
add_block(struct store *s, unsigned first, unsigned n)
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
		uint64_t st = T0 + (first + i) * 1000 * MS;

		sp[2 * i] = tb_span(&a, first + i, 0, 0, "GET /", st, 100 * MS, 0);
		sp[2 * i + 1] = tb_span(&a, first + i, 1, 0, "db", st + MS, 10 * MS, 0);
	}
	rs[0] = tb_resource_spans(&a, "shop", sp, 2 * n);
	assert_int_equal(store_batch_build(s, rs, 1, NULL, &b, errbuf), OB_OK);
	assert_int_equal(store_submit(s, b, errbuf), OB_OK);
	assert_int_equal(store_seal_all(s, errbuf), OB_OK);
	ob_arena_release(&a);
}

static void
push(struct store *s, struct blob_store *bs, const struct remote *r, size_t moved,
     size_t already)
{
	struct sync_result res;
	char errbuf[OB_ERRLEN];

	assert_int_equal(sync_push(s, bs, r, NULL, &res, errbuf), OB_OK);
	assert_int_equal(res.nfailures, 0);
	assert_int_equal(res.moved, moved);
	assert_int_equal(res.already, already);
	sync_result_release(&res);
}

static void
pull(struct store *s, struct blob_store *bs, const struct remote *r, size_t moved,
     size_t already)
{
	struct sync_result res;
	char errbuf[OB_ERRLEN];

	assert_int_equal(sync_pull(s, bs, r, NULL, &res, errbuf), OB_OK);
	assert_int_equal(res.nfailures, 0);
	assert_int_equal(res.moved, moved);
	assert_int_equal(res.already, already);
	sync_result_release(&res);
}

static size_t
compact(struct store *s)
{
	struct store_compact_result res;
	char errbuf[OB_ERRLEN];

	assert_int_equal(store_compact_now(s, &res, errbuf), OB_OK);
	return res.merges;
}

static size_t
nblocks(struct store *s)
{
	struct store_block_info *bi;
	size_t n;
	char errbuf[OB_ERRLEN];

	assert_int_equal(store_blocks_list(s, 0, &bi, &n, errbuf), OB_OK);
	free(bi);
	return n;
}

/* Block files on the remote: its meta files under the blocks prefix. */
static size_t
remote_blocks(struct blob_store *bs, const struct remote *r)
{
	struct blob_entry *e;
	size_t n, i, metas = 0;
	char prefix[1300], errbuf[OB_ERRLEN], id[27];

	snprintf(prefix, sizeof prefix, "%s" REMOTE_BLOCKS, r->prefix);
	assert_int_equal(blob_list(bs, prefix, &e, &n, errbuf), OB_OK);
	for (i = 0; i < n; i++)
		metas += remote_meta_id(r, e[i].name, id);
	blob_entries_free(e, n);
	return metas;
}


static void
merged_blocks_are_not_pushed_twice(void **state)
{
	char root[] = "/tmp/obstui-csync-XXXXXX", *url, *url2, *da, *db, *dc, *dd, *cmd;
	char errbuf[OB_ERRLEN];
	struct remote r, r2;
	struct blob_store *bs, *bs2;
	struct store *a, *b, *d;
	unsigned t;

	(void)state;
	assert_non_null(mkdtemp(root));
	url = ob_xasprintf("file://%s/remote", root);
	da = ob_xasprintf("%s/a", root);
	db = ob_xasprintf("%s/b", root);
	dc = ob_xasprintf("%s/c", root);
	assert_int_equal(remote_parse_url(url, &r, errbuf), OB_OK);
	assert_int_equal(blob_open(&r, &bs, errbuf), OB_OK);
	url2 = ob_xasprintf("file://%s/remote2", root);
	dd = ob_xasprintf("%s/d", root);
	assert_int_equal(remote_parse_url(url2, &r2, errbuf), OB_OK);
	assert_int_equal(blob_open(&r2, &bs2, errbuf), OB_OK);

	a = open_store(da);
	add_block(a, 1, 10);
	add_block(a, 11, 10);
	push(a, bs, &r, 2, 0);
	/* merged from two pushed blocks: recorded as there, not sent */
	assert_int_equal(compact(a), 1);
	assert_int_equal(nblocks(a), 1);
	push(a, bs, &r, 0, 1);
	assert_int_equal(remote_blocks(bs, &r), 2);
	/* a third block is pushed, then merged with the first merge */
	add_block(a, 21, 10);
	push(a, bs, &r, 1, 1);
	assert_int_equal(compact(a), 1);
	push(a, bs, &r, 0, 1);
	assert_int_equal(remote_blocks(bs, &r), 3);

	/* a follower pulls the three, merges them, and neither pulls nor pushes again */
	b = open_store(db);
	pull(b, bs, &r, 3, 0);
	assert_int_equal(compact(b), 1);
	assert_int_equal(nblocks(b), 1);
	pull(b, bs, &r, 0, 3);
	push(b, bs, &r, 0, 1);
	assert_int_equal(remote_blocks(bs, &r), 3);
	for (t = 1; t <= 30; t++)
		same_trace(a, b, t);

	/* a merged block whose sources never went up to this remote is pushed
	 * (its sources went to another one) */
	store_close(b);
	b = open_store(dc);
	add_block(b, 31, 5);
	add_block(b, 36, 5);
	push(b, bs2, &r2, 2, 0);
	assert_int_equal(compact(b), 1);
	push(b, bs, &r, 1, 0);
	assert_int_equal(remote_blocks(bs, &r), 4);

	/* a follower holding its sources (pulled from the other remote) records
	 * the merged block as known without fetching it; a second pull skips it */
	d = open_store(dd);
	pull(d, bs2, &r2, 2, 0);
	pull(d, bs, &r, 3, 1);
	pull(d, bs, &r, 0, 4);
	assert_int_equal(nblocks(d), 5);
	for (t = 1; t <= 30; t++)
		same_trace(a, d, t);
	for (t = 31; t <= 40; t++)
		same_trace(b, d, t);

	store_close(a);
	store_close(b);
	store_close(d);
	blob_close(bs);
	blob_close(bs2);
	cmd = ob_xasprintf("rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(url);
	free(url2);
	free(dd);
	free(da);
	free(db);
	free(dc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(merged_blocks_are_not_pushed_twice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
