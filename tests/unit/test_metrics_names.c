/*
 * test_metrics_names.c - mstore_name_counts: series per metric name in a
 * window, from the head alone, from sealed blocks alone, and from both
 * (a series in the head and in one or two blocks counted once), windows
 * that take a block whole, in part or not at all; every answer checked
 * against the series listing (mstore_series) counted by hand.
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

#include "core/log.h"
#include "core/mem.h"
#include "store/metrics.h"

#define MIN_MS 60000ll
#define T0 1700000400000ll

struct fx {
	char dir[64];
	struct mstore *m;
};

static int
setup(void **state)
{
	struct fx *f = ob_xcalloc(1, sizeof *f);
	struct mstore_options o;
	char errbuf[OB_ERRLEN];

	ob_log_set_level(OB_LOG_ERROR);
	snprintf(f->dir, sizeof f->dir, "/tmp/obstui-mnames-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	mstore_options_init(&o);
	o.dir = f->dir;
	o.no_sealer = true;
	assert_int_equal(mstore_open(&o, &f->m, errbuf), OB_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	mstore_close(f->m);
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Append one sample to name{job=job} at t. */
static void
put(struct mstore *m, const char *name, const char *job, int64_t t)
{
	struct series_label l[2] = { { "__name__", name }, { "job", job } };
	struct series_sample s = { .t = t, .v = 1 };
	struct series_in in = { 0 };
	struct series_write w = { 0 };
	struct mstore_append_result res;
	char errbuf[OB_ERRLEN];

	in.labels.v = l;
	in.labels.n = 2;
	in.samples = &s;
	in.nsamples = 1;
	w.series = &in;
	w.nseries = 1;
	assert_int_equal(mstore_append(m, &w, 0, &res, errbuf), OB_OK);
	assert_int_equal(res.accepted, 1);
}

/* name's count in [mint, maxt] (0 when not listed). */
static uint64_t
count_of(struct mstore *m, const char *name, int64_t mint, int64_t maxt)
{
	struct ob_arena a;
	struct mstore_name_count *v;
	char errbuf[OB_ERRLEN];
	size_t n;
	uint64_t r = 0;

	ob_arena_init(&a, 0);
	assert_int_equal(mstore_name_counts(m, mint, maxt, &a, &v, &n, errbuf), OB_OK);
	for (size_t i = 0; i < n; i++) {
		if (i)
			assert_true(strcmp(v[i - 1].name, v[i].name) < 0);
		if (!strcmp(v[i].name, name))
			r = v[i].series;
	}
	ob_arena_release(&a);
	return r;
}

/* The same from the series listing. */
static uint64_t
listed(struct mstore *m, const char *name, int64_t mint, int64_t maxt)
{
	struct promql_matcher mt = { PROMQL_MATCH_EQ, "__name__", name, NULL };
	struct mstore_selector sel = { &mt, 1 };
	struct series_labels *ls;
	struct ob_arena a;
	char errbuf[OB_ERRLEN];
	size_t n;
	bool truncated;

	ob_arena_init(&a, 0);
	assert_int_equal(mstore_series(m, &sel, 1, mint, maxt, 0, &a, &ls, &n, &truncated, errbuf),
			 OB_OK);
	ob_arena_release(&a);
	return n;
}

static void
expect(struct mstore *m, const char *name, int64_t mint, int64_t maxt, uint64_t want)
{
	uint64_t got = count_of(m, name, mint, maxt);

	if (got != want)
		fprintf(stderr, "%s in [%lld, %lld]: %llu, want %llu\n", name, (long long)mint,
			(long long)maxt, (unsigned long long)got, (unsigned long long)want);
	assert_int_equal(got, want);
	assert_int_equal(listed(m, name, mint, maxt), want);
}

static void
empty_store_lists_nothing(void **state)
{
	struct fx *f = *state;
	struct ob_arena a;
	struct mstore_name_count *v;
	char errbuf[OB_ERRLEN];
	size_t n = 99;

	ob_arena_init(&a, 0);
	assert_int_equal(mstore_name_counts(f->m, INT64_MIN, INT64_MAX, &a, &v, &n, errbuf), OB_OK);
	assert_int_equal(n, 0);
	ob_arena_release(&a);
}

static void
head_blocks_and_both_count_each_series_once(void **state)
{
	struct fx *f = *state;
	char errbuf[OB_ERRLEN];
	const int64_t all0 = INT64_MIN, all1 = INT64_MAX;

	/* phase 1: a{x,y,z} and b{x} for ten minutes, in the head */
	for (int64_t t = T0; t <= T0 + 10 * MIN_MS; t += MIN_MS) {
		put(f->m, "a", "x", t);
		put(f->m, "a", "y", t);
		put(f->m, "a", "z", t);
		put(f->m, "b", "x", t);
	}
	expect(f->m, "a", all0, all1, 3);
	expect(f->m, "b", all0, all1, 1);
	expect(f->m, "a", T0 + 11 * MIN_MS, all1, 0);   /* after every sample */
	/* sealed: the same counts from the block's index alone */
	assert_int_equal(mstore_seal_all(f->m, errbuf), OB_OK);
	expect(f->m, "a", all0, all1, 3);
	expect(f->m, "b", all0, all1, 1);
	/* phase 2, three hours on: a{x} again and a new a{w}, in the head */
	put(f->m, "a", "x", T0 + 180 * MIN_MS);
	put(f->m, "a", "w", T0 + 180 * MIN_MS);
	put(f->m, "c", "x", T0 + 180 * MIN_MS);
	expect(f->m, "a", all0, all1, 4);                       /* x once: head + block */
	expect(f->m, "a", T0 + 100 * MIN_MS, all1, 2);          /* the head's only */
	expect(f->m, "a", T0 - MIN_MS, T0 + 20 * MIN_MS, 3);    /* the block whole */
	expect(f->m, "a", T0 + 5 * MIN_MS, T0 + 20 * MIN_MS, 3); /* the block in part */
	expect(f->m, "b", all0, all1, 1);
	expect(f->m, "c", all0, all1, 1);
	expect(f->m, "c", all0, T0 + 20 * MIN_MS, 0);
	/* a second block holding a{x} and a{w} again, and the head a{y} */
	assert_int_equal(mstore_seal_all(f->m, errbuf), OB_OK);
	put(f->m, "a", "y", T0 + 300 * MIN_MS);
	expect(f->m, "a", all0, all1, 4);
	expect(f->m, "a", T0 + 100 * MIN_MS, all1, 3);          /* block 2 + head */
	expect(f->m, "a", T0 + 250 * MIN_MS, all1, 1);          /* the head's a{y} */
	expect(f->m, "b", all0, all1, 1);
}

/* Many series over many names: head + block, against the listing. */
static void
many_names_match_the_listing(void **state)
{
	struct fx *f = *state;
	char errbuf[OB_ERRLEN], name[32], job[32];

	for (int i = 0; i < 400; i++) {
		snprintf(name, sizeof name, "m%03d", i % 37);
		snprintf(job, sizeof job, "j%d", i);
		put(f->m, name, job, T0 + i);
	}
	assert_int_equal(mstore_seal_all(f->m, errbuf), OB_OK);
	for (int i = 200; i < 600; i++) {
		snprintf(name, sizeof name, "m%03d", i % 37);
		snprintf(job, sizeof job, "j%d", i);
		put(f->m, name, job, T0 + 180 * MIN_MS + i);
	}
	for (int k = 0; k < 37; k++) {
		snprintf(name, sizeof name, "m%03d", k);
		assert_int_equal(count_of(f->m, name, INT64_MIN, INT64_MAX),
				 listed(f->m, name, INT64_MIN, INT64_MAX));
		assert_true(count_of(f->m, name, INT64_MIN, INT64_MAX) >= 15);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(empty_store_lists_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(head_blocks_and_both_count_each_series_once, setup,
						teardown),
		cmocka_unit_test_setup_teardown(many_names_match_the_listing, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
