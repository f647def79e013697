/*
 * test_msync.c - the listing of metric blocks on a remote (msync_list):
 * grouping a block's files, meta.json making a block count, Thanos's
 * deletion marks, names that are not blocks, the ULID-window listing a
 * follower uses, the record of pushed blocks, and a remote's layout in the
 * config; through a file:// remote
 * (the same calls as on Azure).  Push and pull themselves are tested
 * against Azurite (tests/integration/sync-metrics.test.mjs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/mem.h"
#include "core/util.h"
#include "sync/blob.h"
#include "sync/msync.h"
#include "sync/msync_int.h"

#define MIN_NS (60ull * 1000000000ull)

struct fix {
	char dir[64];
	struct remote r;
	struct blob_store *b;
	char root[1300];
};

static void
fix_open(struct fix *f, const char *layout_thanos)
{
	char url[128], errbuf[OB_ERRLEN];

	snprintf(f->dir, sizeof f->dir, "/tmp/obstui-msync-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(url, sizeof url, "file://%s", f->dir);
	assert_int_equal(remote_parse_url(url, &f->r, errbuf), OB_OK);
	if (layout_thanos)
		f->r.layout = REMOTE_LAYOUT_THANOS;
	assert_int_equal(blob_open(&f->r, &f->b, errbuf), OB_OK);
	msync_root(&f->r, f->root, sizeof f->root);
}

static void
fix_close(struct fix *f)
{
	char *cmd = ob_xasprintf("rm -rf '%s'", f->dir);

	blob_close(f->b);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static void
put(struct fix *f, const char *ulid, const char *rel, const char *data)
{
	char name[1500], errbuf[OB_ERRLEN];
	bool existed;

	snprintf(name, sizeof name, "%s%s/%s", f->root, ulid, rel);
	assert_int_equal(blob_put(f->b, name, (const uint8_t *)data, strlen(data), "x", &existed,
				  errbuf), OB_OK);
}

static void
block(struct fix *f, const char *ulid, bool meta)
{
	put(f, ulid, "index", "0123456789");
	put(f, ulid, "chunks/000001", "abcde");
	if (meta)
		put(f, ulid, "meta.json", "{}");
}

static void
root_follows_the_layout(void **state)
{
	struct fix f;

	fix_open(&f, NULL);
	assert_string_equal(f.root, "obstui/v1/metrics/");
	fix_close(&f);
	fix_open(&f, "thanos");
	assert_string_equal(f.root, "");
	fix_close(&f);
}

static void
list_counts_blocks_with_a_meta(void **state)
{
	struct fix f;
	char a[27], b[27], c[27], d[27], (*ids)[27] = NULL, errbuf[OB_ERRLEN];
	uint64_t *sizes = NULL, now = ob_now_ns();
	size_t n = 0, ndel = 0;

	fix_open(&f, "thanos");
	ob_ulid_new(now - 30 * MIN_NS, a);
	ob_ulid_new(now - 20 * MIN_NS, b);
	ob_ulid_new(now - 10 * MIN_NS, c);
	ob_ulid_new(now - 5 * MIN_NS, d);
	block(&f, a, true);
	block(&f, b, false);            /* no meta yet: not there */
	block(&f, c, true);
	put(&f, c, "deletion-mark.json", "{}");
	block(&f, d, true);
	put(&f, "debug", "metas/x.json", "{}");
	put(&f, "NOTAULID", "meta.json", "{}");
	assert_int_equal(msync_list(f.b, f.root, 0, &ids, &sizes, &n, &ndel, errbuf), OB_OK);
	assert_int_equal(n, 2);
	assert_int_equal(ndel, 1);
	assert_string_equal(ids[0], a);
	assert_string_equal(ids[1], d);
	assert_int_equal(sizes[0], 10 + 5 + 2);
	free(ids);
	free(sizes);
	fix_close(&f);
}

static void
list_since_lists_only_recent_windows(void **state)
{
	struct fix f;
	char old[27], mid[27], recent[27], (*ids)[27] = NULL, errbuf[OB_ERRLEN];
	uint64_t *sizes = NULL, now = ob_now_ns();
	size_t n = 0, ndel = 0;

	fix_open(&f, NULL);
	ob_ulid_new(now - 48 * 60 * MIN_NS, old);
	ob_ulid_new(now - 3 * 60 * MIN_NS, mid);
	ob_ulid_new(now - 2 * MIN_NS, recent);
	block(&f, old, true);
	block(&f, mid, true);
	block(&f, recent, true);
	/* since 4 h ago: the windows from then to now */
	assert_int_equal(msync_list(f.b, f.root, now - 4 * 60 * MIN_NS, &ids, &sizes, &n, &ndel,
				    errbuf), OB_OK);
	assert_int_equal(n, 2);
	assert_string_equal(ids[0], mid);
	assert_string_equal(ids[1], recent);
	free(ids);
	free(sizes);
	/* since a minute ago: the window holding now (2^20 ms, ~17 min) */
	assert_int_equal(msync_list(f.b, f.root, now - MIN_NS / 2, &ids, &sizes, &n, &ndel, errbuf),
			 OB_OK);
	assert_true(n <= 1);
	if (n == 1)
		assert_string_equal(ids[0], recent);
	free(ids);
	free(sizes);
	assert_int_equal(msync_list(f.b, f.root, 0, &ids, &sizes, &n, &ndel, errbuf), OB_OK);
	assert_int_equal(n, 3);
	free(ids);
	free(sizes);
	fix_close(&f);
}

static void
known_records_and_reads_back(void **state)
{
	struct fix f;
	struct msync_known k;
	char mdir[128], a[27], b[27];

	fix_open(&f, NULL);
	snprintf(mdir, sizeof mdir, "%s/store/metrics", f.dir);
	{
		char errbuf[OB_ERRLEN];

		assert_int_equal(ob_mkdirs(mdir, errbuf), OB_OK);
	}
	ob_ulid_new(ob_now_ns(), a);
	ob_ulid_new(ob_now_ns() + 1000000, b);
	msync_known_load(mdir, &f.r, &k);
	assert_false(msync_known_has(&k, a));
	msync_known_add(&k, a);
	msync_known_free(&k);
	msync_known_load(mdir, &f.r, &k);
	assert_true(msync_known_has(&k, a));
	assert_false(msync_known_has(&k, b));
	msync_known_free(&k);
	fix_close(&f);
}

static void
layout_round_trips_through_the_config(void **state)
{
	struct fix f;
	struct ob_remote_conf rc = { 0 };
	struct ob_config cfg;
	struct remote r;
	char path[128], errbuf[OB_ERRLEN];
	FILE *fp;

	fix_open(&f, NULL);
	snprintf(path, sizeof path, "%s/config", f.dir);
	snprintf(rc.name, sizeof rc.name, "th");
	snprintf(rc.url, sizeof rc.url, "https://acct.blob.core.windows.net/thanos/tenant");
	snprintf(rc.layout, sizeof rc.layout, "thanos");
	assert_int_equal(ob_config_remote_add(path, &rc, errbuf), OB_OK);
	snprintf(rc.name, sizeof rc.name, "plain");
	rc.layout[0] = '\0';
	assert_int_equal(ob_config_remote_add(path, &rc, errbuf), OB_OK);
	assert_int_equal(ob_config_load(path, &cfg, errbuf), OB_OK);
	assert_int_equal(remote_resolve("th", &cfg, &r, errbuf), OB_OK);
	assert_int_equal(r.layout, REMOTE_LAYOUT_THANOS);
	assert_string_equal(r.prefix, "tenant/");
	assert_int_equal(remote_resolve("plain", &cfg, &r, errbuf), OB_OK);
	assert_int_equal(r.layout, REMOTE_LAYOUT_OBSTUI);
	ob_config_release(&cfg);
	/* a layout obstui does not know is an error, not obstui's layout */
	fp = fopen(path, "a");
	assert_non_null(fp);
	fputs("\n[remote \"odd\"]\nurl = https://acct.blob.core.windows.net/ctr\nlayout = cortex\n", fp);
	fclose(fp);
	assert_int_equal(ob_config_load(path, &cfg, errbuf), OB_OK);
	assert_int_equal(remote_resolve("odd", &cfg, &r, errbuf), OB_EINVAL);
	assert_non_null(strstr(errbuf, "unknown layout"));
	ob_config_release(&cfg);
	fix_close(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(root_follows_the_layout),
		cmocka_unit_test(list_counts_blocks_with_a_meta),
		cmocka_unit_test(list_since_lists_only_recent_windows),
		cmocka_unit_test(known_records_and_reads_back),
		cmocka_unit_test(layout_round_trips_through_the_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
