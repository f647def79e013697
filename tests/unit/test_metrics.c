/*
 * test_metrics.c - the metrics store: append rules, query back through the
 * source, out-of-order samples, duplicates, stale markers, histograms,
 * sealing into blocks (no gap, no duplicate), reopen, WAL replay after
 * kill -9, torn and corrupt WAL, retention by age and size, adopt, the
 * memory bound, read-only opens, and concurrent appends and queries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/mem.h"
#include "store/metrics.h"

extern int mstore_fault;        /* metrics_int.h: 1 after the seal record, 2 after the blocks */

#define MIN_MS 60000
#define T0 1700000000000ll      /* ms, a multiple of 2h? no: tests use their own ranges */

struct fx {
	char dir[64];
	struct mstore *m;
	struct ob_arena a;
};

static size_t wal_segment_bytes;      /* 0: the default */

static struct mstore *
open_m(const char *dir, bool ro, int64_t block_ms, int64_t ooo_ms)
{
	struct mstore_options o;
	struct mstore *m = NULL;
	char errbuf[OB_ERRLEN];
	enum ob_err err;

	mstore_options_init(&o);
	o.dir = dir;
	o.read_only = ro;
	o.no_sealer = true;
	if (block_ms)
		o.block_ms = block_ms;
	o.ooo_window_ms = ooo_ms;
	if (wal_segment_bytes)
		o.wal_segment_bytes = wal_segment_bytes;
	err = mstore_open(&o, &m, errbuf);
	if (err)
		fprintf(stderr, "open: %s\n", errbuf);
	assert_int_equal(err, OB_OK);
	return m;
}

static int
setup(void **state)
{
	struct fx *f = ob_xcalloc(1, sizeof *f);

	ob_log_set_level(OB_LOG_ERROR);
	snprintf(f->dir, sizeof f->dir, "/tmp/obstui-mtest-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->m = open_m(f->dir, false, 0, 3600 * 1000);
	ob_arena_init(&f->a, 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	mstore_close(f->m);
	ob_arena_release(&f->a);
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* --- building writes --- */

struct wb {
	struct series_write w;
	struct series_in in[64];
	struct series_label lab[64][4];
	struct series_sample s[64][256];
};

static struct series_in *
wb_series(struct wb *b, const char *name, const char *job, const char *inst)
{
	struct series_in *in = &b->in[b->w.nseries];
	struct series_label *l = b->lab[b->w.nseries];
	size_t n = 0;

	l[n++] = (struct series_label){"__name__", name};
	if (inst)
		l[n++] = (struct series_label){"instance", inst};
	if (job)
		l[n++] = (struct series_label){"job", job};
	memset(in, 0, sizeof *in);
	in->labels.v = l;
	in->labels.n = n;
	in->samples = b->s[b->w.nseries];
	b->w.series = b->in;
	b->w.nseries++;
	return in;
}

static void
wb_sample(struct series_in *in, int64_t t, double v)
{
	in->samples[in->nsamples].t = t;
	in->samples[in->nsamples].v = v;
	in->nsamples++;
}

static void
append_ok(struct mstore *m, struct wb *b, struct mstore_append_result *res)
{
	char errbuf[OB_ERRLEN];
	struct mstore_append_result r;

	if (!res)
		res = &r;
	assert_int_equal(mstore_append(m, &b->w, 0, res, errbuf), OB_OK);
}

/* The samples of name{job=job} in [mint, maxt]. */
static struct series_data *
get(struct mstore *m, struct ob_arena *a, const char *name, const char *job, int64_t mint,
    int64_t maxt, size_t *n)
{
	struct promql_matcher mt[2] = {{PROMQL_MATCH_EQ, "__name__", name, NULL},
				       {PROMQL_MATCH_EQ, "job", job, NULL}};
	struct series_data *out = NULL;
	char errbuf[OB_ERRLEN];
	struct promql_source src;

	*n = 0;
	mstore_source(m, &src);
	assert_int_equal(src.select(src.ctx, mt, job ? 2 : 1, mint, maxt, a, &out, n, errbuf),
			 OB_OK);
	return out;
}

static void
expect_run(const struct series_data *d, int64_t t0, int64_t step, size_t n, double v0)
{
	assert_int_equal(d->nf, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(d->f[i].t, t0 + (int64_t)i * step);
		assert_true(d->f[i].v == v0 + (double)i);
	}
}

static size_t
count_blocks(struct mstore *m, bool ooo_only)
{
	struct mstore_block_info *v;
	size_t n, k = 0;
	char errbuf[OB_ERRLEN];

	assert_int_equal(mstore_blocks_list(m, &v, &n, errbuf), OB_OK);
	for (size_t i = 0; i < n; i++)
		if (!ooo_only || v[i].out_of_order)
			k++;
	free(v);
	return k;
}

/* --- tests --- */

static void
any_series_order_reads_back(void **state)
{
	struct fx *f = *state;
	struct wb *b = ob_xcalloc(1, sizeof *b);
	struct mstore_append_result res;
	size_t n;

	/* three writes, each naming the series in a different order */
	for (int w = 0; w < 3; w++) {
		memset(b, 0, sizeof *b);
		for (int k = 0; k < 5; k++) {
			int s = (k * (w + 2)) % 5;
			char *job = ob_arena_printf(&f->a, "job%d", s);
			struct series_in *in = wb_series(b, "up", job, NULL);
			for (int i = 0; i < 10; i++)
				wb_sample(in, T0 + (w * 10 + i) * 15000, s * 1000 + w * 10 + i);
		}
		append_ok(f->m, b, &res);
		assert_int_equal(res.accepted, 50);
		assert_int_equal(res.rejected, 0);
	}
	for (int s = 0; s < 5; s++) {
		char job[16];
		snprintf(job, sizeof job, "job%d", s);
		struct series_data *d = get(f->m, &f->a, "up", job, T0, T0 + 3600000, &n);
		assert_int_equal(n, 1);
		assert_string_equal(series_label_get(&d->labels, "job"), job);
		expect_run(d, T0, 15000, 30, s * 1000);
	}
	/* a window cuts exactly */
	struct series_data *d = get(f->m, &f->a, "up", "job3", T0 + 15000, T0 + 45000, &n);
	assert_int_equal(n, 1);
	expect_run(d, T0 + 15000, 15000, 3, 3001);
	/* all five by name */
	get(f->m, &f->a, "up", NULL, T0, T0 + 3600000, &n);
	assert_int_equal(n, 5);
	struct mstore_stats st;
	mstore_stats_get(f->m, &st);
	assert_int_equal(st.series, 5);
	assert_int_equal(st.head_samples, 150);
	free(b);
}

static void
rejections_are_counted_and_named(void **state)
{
	struct fx *f = *state;
	struct wb *b = ob_xcalloc(1, sizeof *b);
	struct mstore_append_result res;
	size_t n;

	struct series_in *in = wb_series(b, "temp", "a", NULL);
	for (int i = 0; i < 5; i++)
		wb_sample(in, T0 + 7200000 + i * 1000, i);
	append_ok(f->m, b, &res);
	memset(b, 0, sizeof *b);
	/* too old (2h before the newest, window 1h), duplicate different, duplicate same, valid */
	in = wb_series(b, "temp", "a", NULL);
	wb_sample(in, T0, 99);
	wb_sample(in, T0 + 7200000 + 4000, 77);
	wb_sample(in, T0 + 7200000 + 4000, 4);
	wb_sample(in, T0 + 7200000 + 5000, 5);
	/* unsorted labels: the whole series */
	struct series_in *bad = wb_series(b, "x", NULL, NULL);
	static struct series_label unsorted[2] = {{"zz", "1"}, {"__name__", "x"}};
	bad->labels.v = unsorted;
	bad->labels.n = 2;
	wb_sample(bad, T0 + 7200000, 1);
	wb_sample(bad, T0 + 7200001, 1);
	append_ok(f->m, b, &res);
	assert_int_equal(res.accepted, 1);
	assert_int_equal(res.duplicates, 1);
	assert_int_equal(res.rejected, 4);
	assert_int_equal(res.rejected_series, 2);
	assert_int_equal(res.first_reason, MSTORE_REJECT_TOO_OLD);
	assert_int_equal(res.first_t, T0);
	assert_non_null(strstr(res.first_series, "__name__=\"temp\""));
	assert_string_equal(mstore_reject_str(res.first_reason), "out of bounds");
	struct series_data *d = get(f->m, &f->a, "temp", "a", 0, INT64_MAX, &n);
	assert_int_equal(n, 1);
	expect_run(d, T0 + 7200000, 1000, 6, 0);

	/* labels problems name themselves */
	memset(b, 0, sizeof *b);
	bad = wb_series(b, "x", NULL, NULL);
	bad->labels.v = unsorted;
	bad->labels.n = 2;
	wb_sample(bad, T0 + 7200000, 1);
	append_ok(f->m, b, &res);
	assert_int_equal(res.first_reason, MSTORE_REJECT_LABELS);
	assert_non_null(strstr(res.first_series, "not sorted"));
	memset(b, 0, sizeof *b);
	in = wb_series(b, "bad\xff", NULL, NULL);
	wb_sample(in, T0 + 7200000, 1);
	append_ok(f->m, b, &res);
	assert_int_equal(res.first_reason, MSTORE_REJECT_LABELS);
	assert_non_null(strstr(res.first_series, "UTF-8"));
	memset(b, 0, sizeof *b);
	in = wb_series(b, "", NULL, NULL);
	wb_sample(in, T0 + 7200000, 1);
	append_ok(f->m, b, &res);
	assert_int_equal(res.rejected, 1);
	free(b);
}

static void
out_of_order_goes_to_its_own_block(void **state)
{
	struct fx *f = *state;
	struct wb *b = ob_xcalloc(1, sizeof *b);
	struct mstore_append_result res;
	char errbuf[OB_ERRLEN];
	size_t n;
	int64_t base = 7200000ll * 1000;      /* aligned to 2h */

	struct series_in *in = wb_series(b, "req", "a", NULL);
	for (int i = 0; i < 10; i++)
		wb_sample(in, base + 3600000 + i * 60000, 100 + i);
	append_ok(f->m, b, &res);
	memset(b, 0, sizeof *b);
	in = wb_series(b, "req", "a", NULL);
	/* 30 min behind the newest: within the 1h window */
	for (int i = 0; i < 5; i++)
		wb_sample(in, base + 3600000 + i * 60000 + 30000, 200 + i);
	append_ok(f->m, b, &res);
	assert_int_equal(res.accepted, 5);
	assert_int_equal(res.out_of_order, 5);
	/* a same-value repeat of an OOO sample is a duplicate; another value is rejected */
	memset(b, 0, sizeof *b);
	in = wb_series(b, "req", "a", NULL);
	wb_sample(in, base + 3600000 + 30000, 200);
	wb_sample(in, base + 3600000 + 90000, 999);
	append_ok(f->m, b, &res);
	assert_int_equal(res.duplicates, 1);
	assert_int_equal(res.rejected, 1);
	assert_int_equal(res.first_reason, MSTORE_REJECT_DUPLICATE);

	struct series_data *d = get(f->m, &f->a, "req", "a", 0, INT64_MAX, &n);
	assert_int_equal(n, 1);
	assert_int_equal(d->nf, 15);
	for (size_t i = 1; i < d->nf; i++)
		assert_true(d->f[i].t > d->f[i - 1].t);
	assert_true(d->f[1].t == base + 3600000 + 30000 && d->f[1].v == 200);

	assert_int_equal(mstore_seal_all(f->m, errbuf), OB_OK);
	assert_int_equal(count_blocks(f->m, false), 2);
	assert_int_equal(count_blocks(f->m, true), 1);
	struct mstore_stats st;
	mstore_stats_get(f->m, &st);
	assert_int_equal(st.head_samples, 0);
	assert_int_equal(st.block_samples, 15);
	d = get(f->m, &f->a, "req", "a", 0, INT64_MAX, &n);
	assert_int_equal(n, 1);
	assert_int_equal(d->nf, 15);
	free(b);
}

static void
stale_markers_and_histograms_are_kept(void **state)
{
	struct fx *f = *state;
	struct wb *b = ob_xcalloc(1, sizeof *b);
	struct mstore_append_result res;
	char errbuf[OB_ERRLEN];
	size_t n;

	struct series_in *in = wb_series(b, "g", "a", NULL);
	wb_sample(in, T0, 1);
	wb_sample(in, T0 + 1000, series_stale_nan());
	wb_sample(in, T0 + 2000, NAN);
	struct series_in *h = wb_series(b, "lat", "a", NULL);
	static struct series_span spans[1] = {{0, 3}};
	static double pos[3][3] = {{1, 2, 3}, {2, 3, 4}, {3, 4, 5}};
	struct series_histogram hs[3];
	for (int i = 0; i < 3; i++) {
		memset(&hs[i], 0, sizeof hs[i]);
		hs[i].t = T0 + i * 15000;
		hs[i].schema = 1;
		hs[i].is_int = true;
		hs[i].count = pos[i][0] + pos[i][1] + pos[i][2];
		hs[i].sum = 10.5 * (i + 1);
		hs[i].zero_threshold = 1e-128;
		hs[i].pos_spans = spans;
		hs[i].npos_spans = 1;
		hs[i].pos = pos[i];
		hs[i].npos = 3;
	}
	h->hists = hs;
	h->nhists = 3;
	append_ok(f->m, b, &res);
	assert_int_equal(res.accepted, 6);

	for (int round = 0; round < 2; round++) {
		struct series_data *d = get(f->m, &f->a, "g", "a", 0, INT64_MAX, &n);
		assert_int_equal(n, 1);
		assert_int_equal(d->nf, 3);
		assert_true(series_is_stale(d->f[1].v));
		assert_true(isnan(d->f[2].v) && !series_is_stale(d->f[2].v));
		d = get(f->m, &f->a, "lat", "a", 0, INT64_MAX, &n);
		assert_int_equal(n, 1);
		assert_int_equal(d->nh, 3);
		for (int i = 0; i < 3; i++) {
			assert_int_equal(d->h[i].t, T0 + i * 15000);
			assert_true(d->h[i].sum == 10.5 * (i + 1));
			assert_true(d->h[i].count == hs[i].count);
			assert_int_equal(d->h[i].npos, 3);
			assert_true(d->h[i].pos[2] == pos[i][2]);
		}
		/* and the same after sealing into a block */
		assert_int_equal(mstore_seal_all(f->m, errbuf), OB_OK);
	}
	free(b);
}

static void
seal_then_query_has_no_gap_or_duplicate(void **state)
{
	struct fx *f = *state;
	struct wb *b = ob_xcalloc(1, sizeof *b);
	char errbuf[OB_ERRLEN];
	size_t n;

	for (int w = 0; w < 4; w++) {
		memset(b, 0, sizeof *b);
		for (int s = 0; s < 3; s++) {
			char *job = ob_arena_printf(&f->a, "j%d", s);
			struct series_in *in = wb_series(b, "c", job, NULL);
			for (int i = 0; i < 100; i++)
				wb_sample(in, T0 + (w * 100 + i) * 10000, w * 100 + i);
		}
		append_ok(f->m, b, NULL);
		if (w == 1 || w == 2)
			assert_int_equal(mstore_seal_all(f->m, errbuf), OB_OK);
		for (int s = 0; s < 3; s++) {
			char job[16];
			snprintf(job, sizeof job, "j%d", s);
			struct series_data *d = get(f->m, &f->a, "c", job, 0, INT64_MAX, &n);
			assert_int_equal(n, 1);
			expect_run(d, T0, 10000, (size_t)(w + 1) * 100, 0);
		}
	}
	assert_int_equal(count_blocks(f->m, false), 2);
	/* promtool reads the store as a TSDB: the two blocks (300 samples a series),
	 * and an empty Prometheus WAL */
	if (system("promtool --version >/dev/null 2>&1") == 0) {
		char cmd[256];
		snprintf(cmd, sizeof cmd,
			 "promtool tsdb dump %s 2>/dev/null | grep -c '^{__name__=\"c\"' | "
			 "grep -qx 900", f->dir);
		assert_int_equal(system(cmd), 0);
	}
	/* close seals the rest; reopen reads it all from blocks */
	mstore_close(f->m);
	f->m = open_m(f->dir, false, 0, 3600 * 1000);
	assert_int_equal(count_blocks(f->m, false), 3);
	struct series_data *d = get(f->m, &f->a, "c", "j2", 0, INT64_MAX, &n);
	assert_int_equal(n, 1);
	expect_run(d, T0, 10000, 400, 0);
	/* samples before the sealed end are out of order now, still accepted in the window */
	memset(b, 0, sizeof *b);
	struct mstore_append_result res;
	struct series_in *in = wb_series(b, "c", "j9", NULL);
	wb_sample(in, T0 + 399 * 10000 - 60000, 5);
	append_ok(f->m, b, &res);
	assert_int_equal(res.out_of_order, 1);
	free(b);
}

static void
sealer_thread_cuts_aligned_ranges(void **state)
{
	struct fx *f = *state;
	struct wb *b = ob_xcalloc(1, sizeof *b);
	struct mstore_options o;
	struct mstore *m;
	char errbuf[OB_ERRLEN];
	int64_t block = 60000, base = 1000 * block;
	size_t n;

	mstore_close(f->m);
	mstore_options_init(&o);
	o.dir = f->dir;
	o.block_ms = block;
	assert_int_equal(mstore_open(&o, &m, errbuf), OB_OK);
	f->m = m;
	/* 3.5 ranges of one sample a second */
	for (int w = 0; w < 7; w++) {
		memset(b, 0, sizeof *b);
		struct series_in *in = wb_series(b, "s", "a", NULL);
		for (int i = 0; i < 30; i++)
			wb_sample(in, base + (w * 30 + i) * 1000, w * 30 + i);
		append_ok(m, b, NULL);
	}
	/* the sealer wakes every second; give it at most 10 */
	for (int i = 0; i < 100 && count_blocks(m, false) < 2; i++)
		usleep(100000);
	assert_int_equal(count_blocks(m, false), 2);
	struct mstore_block_info *v;
	assert_int_equal(mstore_blocks_list(m, &v, &n, errbuf), OB_OK);
	assert_int_equal(v[0].min_time, base);
	assert_int_equal(v[0].max_time, base + block);
	assert_int_equal(v[1].min_time, base + block);
	free(v);
	struct series_data *d = get(m, &f->a, "s", "a", 0, INT64_MAX, &n);
	assert_int_equal(n, 1);
	expect_run(d, base, 1000, 210, 0);
	free(b);
}

static void
seal_all_cuts_one_block_per_range(void **state)
{
	struct fx *f = *state;
	struct wb *b = ob_xcalloc(1, sizeof *b);
	char errbuf[OB_ERRLEN];
	int64_t block = 60000, base = 2000 * block;
	struct mstore_block_info *v;
	size_t n;

	mstore_close(f->m);
	f->m = open_m(f->dir, false, block, 3600 * 1000);
	struct series_in *in = wb_series(b, "r", "a", NULL);
	for (int i = 0; i < 150; i++)         /* 2.5 ranges, one sample a second */
		wb_sample(in, base + i * 1000, i);
	append_ok(f->m, b, NULL);
	assert_int_equal(mstore_seal_all(f->m, errbuf), OB_OK);
	assert_int_equal(mstore_blocks_list(f->m, &v, &n, errbuf), OB_OK);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].min_time, base);
	assert_int_equal(v[0].max_time, base + block);
	assert_int_equal(v[0].num_samples, 60);
	assert_int_equal(v[1].min_time, base + block);
	assert_int_equal(v[1].max_time, base + 2 * block);
	assert_int_equal(v[2].min_time, base + 2 * block);
	assert_int_equal(v[2].max_time, base + 149000 + 1);
	assert_int_equal(v[2].num_samples, 30);
	free(v);
	struct series_data *d = get(f->m, &f->a, "r", "a", 0, INT64_MAX, &n);
	assert_int_equal(n, 1);
	expect_run(d, base, 1000, 150, 0);
	free(b);
}

static void
wal_replay_after_kill_9(void **state)
{
	struct fx *f = *state;
	int pfd[2];
	pid_t pid;
	int status, acked = 0;

	mstore_close(f->m);
	f->m = NULL;
	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		wal_segment_bytes = 512;        /* many segments to replay */
		struct mstore *m = open_m(f->dir, false, 0, 3600 * 1000);
		struct wb *b = ob_xcalloc(1, sizeof *b);
		char errbuf[OB_ERRLEN];
		struct mstore_append_result res;
		for (int w = 0; w < 20; w++) {
			memset(b, 0, sizeof *b);
			for (int s = 0; s < 10; s++) {
				char job[16];
				snprintf(job, sizeof job, "k%d", s);
				struct series_in *in = wb_series(b, "killed", ob_xstrdup(job), NULL);
				for (int i = 0; i < 10; i++)
					wb_sample(in, T0 + (w * 10 + i) * 1000, w * 10 + i);
			}
			if (mstore_append(m, &b->w, 0, &res, errbuf) != OB_OK)
				_exit(3);
			/* acknowledged: tell the parent, then keep going */
			int one = 1;
			if (write(pfd[1], &one, sizeof one) != sizeof one)
				_exit(4);
		}
		kill(getpid(), SIGKILL);
		_exit(9);
	}
	close(pfd[1]);
	int x;
	while (read(pfd[0], &x, sizeof x) == sizeof x)
		acked++;
	close(pfd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(acked, 20);

	/* a torn record at the end of the newest segment: cut, not fatal */
	char path[512];
	DIR *d = opendir(ob_arena_printf(&f->a, "%s/obwal", f->dir));
	unsigned last = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strlen(de->d_name) == 8 && (unsigned)atoi(de->d_name) > last)
			last = (unsigned)atoi(de->d_name);
	closedir(d);
	assert_true(last >= 5);
	snprintf(path, sizeof path, "%s/obwal/%08u", f->dir, last);
	int fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	uint8_t torn[12] = {200, 0, 0, 0, 1, 2, 3, 4, 2, 9, 9, 9};
	assert_int_equal(write(fd, torn, sizeof torn), sizeof torn);
	close(fd);

	/* a read-only open sees it all too */
	for (int ro = 1; ro >= 0; ro--) {
		struct mstore *m = open_m(f->dir, ro, 0, 3600 * 1000);
		for (int s = 0; s < 10; s++) {
			char job[16];
			size_t n;
			snprintf(job, sizeof job, "k%d", s);
			struct series_data *sd = get(m, &f->a, "killed", job, 0, INT64_MAX, &n);
			assert_int_equal(n, 1);
			expect_run(sd, T0, 1000, 200, 0);
		}
		if (ro)
			mstore_close(m);
		else
			f->m = m;
	}
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 0);
}

/*
 * A WAL write that fails (the file size limit stands in for a full disk)
 * fails its appends with OB_EIO but leaves the log whole: once writes work
 * again the same bytes go out, and a kill -9 later loses nothing.
 */
static void
failed_wal_write_is_retried(void **state)
{
	struct fx *f = *state;
	pid_t pid;
	int status;

	mstore_close(f->m);
	f->m = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct mstore *m = open_m(f->dir, false, 0, 3600 * 1000);
		struct wb *b = ob_xcalloc(1, sizeof *b);
		char errbuf[OB_ERRLEN];
		struct mstore_append_result res;
		struct rlimit rl;
		signal(SIGXFSZ, SIG_IGN);
		for (int w = 0; w < 3; w++) {
			memset(b, 0, sizeof *b);
			for (int s = 0; s < 20; s++) {
				char *job = ob_xasprintf("f%d", s);
				struct series_in *in = wb_series(b, "full", job, NULL);
				for (int i = 0; i < 10; i++)
					wb_sample(in, T0 + (w * 10 + i) * 1000, w * 10 + i);
			}
			if (w == 1) {
				rl.rlim_cur = rl.rlim_max = RLIM_INFINITY;
				getrlimit(RLIMIT_FSIZE, &rl);
				rl.rlim_cur = 64;       /* every WAL segment is past this */
				setrlimit(RLIMIT_FSIZE, &rl);
				if (mstore_append(m, &b->w, 0, &res, errbuf) != OB_EIO)
					_exit(3);
				rl.rlim_cur = rl.rlim_max;
				setrlimit(RLIMIT_FSIZE, &rl);
				continue;
			}
			if (mstore_append(m, &b->w, 0, &res, errbuf) != OB_OK)
				_exit(4);
		}
		kill(getpid(), SIGKILL);
		_exit(9);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	f->m = open_m(f->dir, false, 0, 3600 * 1000);
	for (int s = 0; s < 20; s++) {
		char job[16];
		size_t n;
		snprintf(job, sizeof job, "f%d", s);
		struct series_data *d = get(f->m, &f->a, "full", job, 0, INT64_MAX, &n);
		assert_int_equal(n, 1);
		expect_run(d, T0, 1000, 30, 0);
	}
}

/*
 * A crash at each step of a seal (and after it) loses nothing and doubles
 * nothing: head + block samples add up to what was acknowledged.
 */
static void
crash_during_seal_loses_and_doubles_nothing(void **state)
{
	struct fx *f = *state;

	mstore_close(f->m);
	f->m = NULL;
	for (int fault = 0; fault <= 2; fault++) {
		char cmd[128];
		pid_t pid;
		int status;
		snprintf(cmd, sizeof cmd, "rm -rf %s/*", f->dir);
		assert_int_equal(system(cmd), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			wal_segment_bytes = 1024;
			struct mstore *m = open_m(f->dir, false, 0, 3600 * 1000);
			struct wb *b = ob_xcalloc(1, sizeof *b);
			char errbuf[OB_ERRLEN];
			struct mstore_append_result res;
			struct series_in *in = wb_series(b, "sc", "a", NULL);
			for (int i = 0; i < 100; i++)
				wb_sample(in, T0 + i * 1000, i);
			if (mstore_append(m, &b->w, 0, &res, errbuf) || res.accepted != 100)
				_exit(3);
			mstore_fault = fault;
			if (mstore_seal_all(m, errbuf))
				_exit(4);
			/* only without a fault do we get here: more, and one sample below the seal */
			memset(b, 0, sizeof *b);
			in = wb_series(b, "sc", "a", NULL);
			for (int i = 100; i < 200; i++)
				wb_sample(in, T0 + i * 1000, i);
			if (mstore_append(m, &b->w, 0, &res, errbuf) || res.accepted != 100)
				_exit(5);
			memset(b, 0, sizeof *b);
			in = wb_series(b, "sc", "a", NULL);
			wb_sample(in, T0 + 500, 0.5);
			if (mstore_append(m, &b->w, 0, &res, errbuf) || res.out_of_order != 1)
				_exit(6);
			kill(getpid(), SIGKILL);
			_exit(9);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		struct mstore *m = open_m(f->dir, false, 0, 3600 * 1000);
		struct mstore_stats st;
		size_t n, want = fault ? 100 : 201;
		mstore_stats_get(m, &st);
		assert_int_equal(st.head_samples + st.block_samples, want);
		assert_int_equal(st.block_samples, fault == 1 ? 0 : 100);
		struct series_data *d = get(m, &f->a, "sc", "a", 0, INT64_MAX, &n);
		assert_int_equal(n, 1);
		assert_int_equal(d->nf, want);
		/* and the next seal takes the rest */
		char errbuf[OB_ERRLEN];
		assert_int_equal(mstore_seal_all(m, errbuf), OB_OK);
		mstore_stats_get(m, &st);
		assert_int_equal(st.head_samples, 0);
		assert_int_equal(st.block_samples, want);
		/* the segments of samples now in blocks are gone: the one with the
		 * SEAL record (and, after a replay, the one open() started) stay */
		assert_true(st.wal_segments <= 2);
		assert_true(access(ob_arena_printf(&f->a, "%s/obwal/00000001", f->dir), F_OK) != 0);
		mstore_close(m);
	}
	f->m = open_m(f->dir, false, 0, 3600 * 1000);
}

static void
corrupt_wal_record_stops_replay_there(void **state)
{
	struct fx *f = *state;
	struct wb *b = ob_xcalloc(1, sizeof *b);
	char path[512];
	size_t n;

	for (int w = 0; w < 3; w++) {
		memset(b, 0, sizeof *b);
		struct series_in *in = wb_series(b, "cw", "a", NULL);
		for (int i = 0; i < 10; i++)
			wb_sample(in, T0 + (w * 10 + i) * 1000, w * 10 + i);
		append_ok(f->m, b, NULL);
	}
	/* kill -9 is simulated by not closing: copy the WAL aside before close seals it */
	snprintf(path, sizeof path, "cp -r %s/obwal %s/wal.copy", f->dir, f->dir);
	assert_int_equal(system(path), 0);
	mstore_close(f->m);
	snprintf(path, sizeof path, "rm -rf %s/obwal %s/0* %s/metadata && mv %s/wal.copy %s/obwal",
		 f->dir, f->dir, f->dir, f->dir, f->dir);
	assert_int_equal(system(path), 0);
	/* flip one byte inside the last samples record: replay keeps the first two writes */
	snprintf(path, sizeof path, "%s/obwal/00000001", f->dir);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	int fd = open(path, O_RDWR);
	uint8_t c;
	off_t off = st.st_size - 40;
	assert_int_equal(pread(fd, &c, 1, off), 1);
	c ^= 0xff;
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
	f->m = open_m(f->dir, false, 0, 3600 * 1000);
	struct series_data *d = get(f->m, &f->a, "cw", "a", 0, INT64_MAX, &n);
	assert_int_equal(n, 1);
	expect_run(d, T0, 1000, 20, 0);
	free(b);
}

static void
retention_by_age_and_size(void **state)
{
	struct fx *f = *state;
	struct wb *b = ob_xcalloc(1, sizeof *b);
	char errbuf[OB_ERRLEN];
	struct mstore_options o;
	struct mstore *m;
	size_t dropped, n;
	int64_t now_ms = 1800000000000ll;

	mstore_close(f->m);
	mstore_options_init(&o);
	o.dir = f->dir;
	o.no_sealer = true;
	o.ooo_window_ms = 0;
	assert_int_equal(mstore_open(&o, &m, errbuf), OB_OK);
	/* blocks ending 30, 20 and 10 hours ago, with import-style appends */
	for (int k = 0; k < 3; k++) {
		memset(b, 0, sizeof *b);
		struct series_in *in = wb_series(b, "old", "a", NULL);
		for (int i = 0; i < 50; i++)
			wb_sample(in, now_ms - (30 - k * 10) * 3600000ll + i * 1000, i);
		struct mstore_append_result res;
		assert_int_equal(mstore_append(m, &b->w, MSTORE_APPEND_HISTORICAL, &res, errbuf),
				 OB_OK);
		assert_int_equal(res.accepted, 50);
		assert_int_equal(mstore_seal_all(m, errbuf), OB_OK);
	}
	assert_int_equal(count_blocks(m, false), 3);
	mstore_close(m);

	ob_clock_pin((uint64_t)now_ms * 1000000);
	o.retention_ns = 24ull * 3600 * 1000000000ull;
	assert_int_equal(mstore_open(&o, &m, errbuf), OB_OK);
	assert_int_equal(mstore_expire(m, &dropped, errbuf), OB_OK);
	assert_int_equal(dropped, 1);
	assert_int_equal(count_blocks(m, false), 2);
	struct series_data *d = get(m, &f->a, "old", "a", 0, INT64_MAX, &n);
	assert_int_equal(n, 1);
	assert_int_equal(d->nf, 100);
	assert_true(d->f[0].t >= now_ms - 20 * 3600000ll);
	mstore_close(m);

	/* by size: a cap of one byte leaves nothing */
	o.retention_ns = 0;
	o.max_bytes = 1;
	assert_int_equal(mstore_open(&o, &m, errbuf), OB_OK);
	assert_int_equal(mstore_expire(m, &dropped, errbuf), OB_OK);
	assert_int_equal(dropped, 2);
	assert_int_equal(count_blocks(m, false), 0);
	get(m, &f->a, "old", "a", 0, INT64_MAX, &n);
	assert_int_equal(n, 0);
	f->m = m;
	ob_clock_pin(0);
	/* the directories are gone */
	DIR *dir = opendir(f->dir);
	struct dirent *de;
	while ((de = readdir(dir)))
		assert_true(strlen(de->d_name) != 26);
	closedir(dir);
	free(b);
}

static void
adopt_makes_a_block_visible(void **state)
{
	struct fx *f = *state;
	struct wb *b = ob_xcalloc(1, sizeof *b);
	char errbuf[OB_ERRLEN], other[64], *dir;
	struct mstore_block_info *v;
	size_t n;

	snprintf(other, sizeof other, "/tmp/obstui-mtest2-XXXXXX");
	assert_non_null(mkdtemp(other));
	struct mstore *m2 = open_m(other, false, 0, 3600 * 1000);
	struct series_in *in = wb_series(b, "adopted", "a", NULL);
	for (int i = 0; i < 20; i++)
		wb_sample(in, T0 + i * 1000, i);
	append_ok(m2, b, NULL);
	assert_int_equal(mstore_seal_all(m2, errbuf), OB_OK);
	assert_int_equal(mstore_blocks_list(m2, &v, &n, errbuf), OB_OK);
	assert_int_equal(n, 1);
	dir = mstore_block_dir(m2, v[0].ulid);
	mstore_close(m2);

	get(f->m, &f->a, "adopted", "a", 0, INT64_MAX, &n);
	assert_int_equal(n, 0);
	assert_int_equal(mstore_block_adopt(f->m, dir, errbuf), OB_OK);
	struct series_data *d = get(f->m, &f->a, "adopted", "a", 0, INT64_MAX, &n);
	assert_int_equal(n, 1);
	expect_run(d, T0, 1000, 20, 0);
	assert_int_equal(count_blocks(f->m, false), 1);
	struct stat st;
	assert_true(stat(dir, &st) != 0);   /* moved, not copied */
	/* the head overlapping the block: one sample per timestamp, the head's wins */
	memset(b, 0, sizeof *b);
	in = wb_series(b, "adopted", "a", NULL);
	for (int i = 10; i < 30; i++)
		wb_sample(in, T0 + i * 1000, 100 + i);
	append_ok(f->m, b, NULL);
	d = get(f->m, &f->a, "adopted", "a", 0, INT64_MAX, &n);
	assert_int_equal(n, 1);
	assert_int_equal(d->nf, 30);
	for (int i = 0; i < 30; i++) {
		assert_int_equal(d->f[i].t, T0 + i * 1000);
		assert_true(d->f[i].v == (i < 10 ? i : 100 + i));
	}
	/* a directory that is no block changes nothing */
	assert_int_not_equal(mstore_block_adopt(f->m, other, errbuf), OB_OK);
	assert_int_equal(count_blocks(f->m, false), 1);
	free(v);
	free(dir);
	snprintf(other + strlen(other), sizeof other - strlen(other), "%s", "");
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", other);
	assert_int_equal(system(cmd), 0);
	free(b);
}

static void
labels_series_and_metadata(void **state)
{
	struct fx *f = *state;
	struct wb *b = ob_xcalloc(1, sizeof *b);
	char errbuf[OB_ERRLEN];
	struct series_meta meta = {"http_requests", SERIES_TYPE_COUNTER, "Requests.", ""};
	const char **v;
	size_t n;
	bool trunc;

	wb_sample(wb_series(b, "http_requests_total", "api", "h1"), T0, 1);
	wb_sample(wb_series(b, "http_requests_total", "api", "h2"), T0, 1);
	wb_sample(wb_series(b, "up", "db", "h3"), T0, 1);
	b->w.meta = &meta;
	b->w.nmeta = 1;
	append_ok(f->m, b, NULL);
	for (int round = 0; round < 2; round++) {
		assert_int_equal(mstore_label_names(f->m, NULL, 0, INT64_MIN, INT64_MAX, &f->a, &v,
						    &n, errbuf),
				 OB_OK);
		assert_int_equal(n, 3);
		assert_string_equal(v[0], "__name__");
		assert_string_equal(v[2], "job");
		assert_int_equal(mstore_label_values(f->m, "job", NULL, 0, INT64_MIN, INT64_MAX, &f->a,
						     &v, &n, errbuf),
				 OB_OK);
		assert_int_equal(n, 2);
		assert_string_equal(v[0], "api");
		assert_string_equal(v[1], "db");
		assert_int_equal(mstore_label_values(f->m, "job", NULL, 0, INT64_MIN, T0 - 1, &f->a,
						     &v, &n, errbuf),
				 OB_OK);
		assert_int_equal(n, 0);
		struct promql_matcher mt = {PROMQL_MATCH_RE, "job", "a.*", NULL};
		struct mstore_selector sel = {&mt, 1};
		assert_int_equal(mstore_label_values(f->m, "instance", &sel, 1, INT64_MIN, INT64_MAX,
						     &f->a, &v, &n, errbuf),
				 OB_OK);
		assert_int_equal(n, 2);
		assert_string_equal(v[1], "h2");
		struct series_labels *ls;
		assert_int_equal(mstore_series(f->m, &sel, 1, INT64_MIN, INT64_MAX, 1, &f->a, &ls,
					       &n, &trunc, errbuf),
				 OB_OK);
		assert_int_equal(n, 1);
		assert_true(trunc);
		assert_string_equal(series_label_get(&ls[0], "instance"), "h1");
		/* a window with nothing in it */
		assert_int_equal(mstore_series(f->m, &sel, 1, T0 + 1, INT64_MAX, 0, &f->a, &ls, &n,
					       &trunc, errbuf),
				 OB_OK);
		assert_int_equal(n, 0);
		struct promql_source src;
		mstore_source(f->m, &src);
		const struct series_meta *sm = src.meta(src.ctx, "http_requests");
		assert_non_null(sm);
		assert_int_equal(sm->type, SERIES_TYPE_COUNTER);
		assert_string_equal(sm->help, "Requests.");
		assert_null(src.meta(src.ctx, "nope"));
		/* then from blocks and the metadata file */
		mstore_close(f->m);
		f->m = open_m(f->dir, false, 0, 3600 * 1000);
	}
	free(b);
}

static void
exemplars_are_kept_and_replayed(void **state)
{
	struct fx *f = *state;
	struct wb *b = ob_xcalloc(1, sizeof *b);
	struct mstore_append_result res;
	char errbuf[OB_ERRLEN];
	struct series_label el[3][2] = {
		{{"span_id", "00f067aa0ba902b7"}, {"trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"}},
		{{"trace_id", "aaaa"}},
		{{"trace_id", "bbbb"}},
	};
	struct series_exemplar ex[3] = {{{el[0], 2}, 0.25, T0 + 1000},
					{{el[1], 1}, 0.5, 0},       /* no time: the sample's */
					{{el[2], 1}, 0.75, T0}};    /* older than the last: dropped */
	struct promql_matcher mt = {PROMQL_MATCH_EQ, "__name__", "lat_bucket", NULL};

	struct series_in *in = wb_series(b, "lat_bucket", "a", NULL);
	wb_sample(in, T0 + 2000, 5);
	in->exemplars = ex;
	in->nexemplars = 3;
	wb_sample(wb_series(b, "other", "a", NULL), T0 + 2000, 1);
	append_ok(f->m, b, &res);
	assert_int_equal(res.exemplars, 2);
	assert_int_equal(res.exemplars_dropped, 1);
	for (int round = 0; round < 3; round++) {
		struct mstore_exemplar_series *es;
		size_t n;
		assert_int_equal(mstore_exemplars(f->m, &mt, 1, T0, T0 + 5000, &f->a, &es, &n, errbuf),
				 OB_OK);
		assert_int_equal(n, 1);
		assert_string_equal(series_label_get(&es[0].labels, "job"), "a");
		assert_int_equal(es[0].n, 2);
		assert_int_equal(es[0].ex[0].t, T0 + 1000);
		assert_true(es[0].ex[0].v == 0.25);
		assert_string_equal(series_label_get(&es[0].ex[0].labels, "trace_id"),
				    "4bf92f3577b34da6a3ce929d0e0e4736");
		assert_int_equal(es[0].ex[1].t, T0 + 2000);
		assert_string_equal(series_label_get(&es[0].ex[1].labels, "trace_id"), "aaaa");
		/* a window without them */
		assert_int_equal(mstore_exemplars(f->m, &mt, 1, T0 + 3000, T0 + 5000, &f->a, &es, &n,
						  errbuf),
				 OB_OK);
		assert_int_equal(n, 0);
		/* round 0 -> 1: from the WAL (a read-only open); 1 -> 2: after close's seal */
		if (round == 0) {
			struct mstore *ro = open_m(f->dir, true, 0, 3600 * 1000);
			assert_int_equal(mstore_exemplars(ro, &mt, 1, T0, T0 + 5000, &f->a, &es, &n,
							  errbuf),
					 OB_OK);
			assert_int_equal(n, 1);
			assert_int_equal(es[0].n, 2);
			mstore_close(ro);
		} else {
			mstore_close(f->m);
			f->m = open_m(f->dir, false, 0, 3600 * 1000);
		}
	}
	free(b);
}

static void
head_memory_bound_answers_busy(void **state)
{
	struct fx *f = *state;
	struct wb *b = ob_xcalloc(1, sizeof *b);
	struct mstore_options o;
	struct mstore_append_result res;
	char errbuf[OB_ERRLEN];
	enum ob_err err = OB_OK;
	int i;

	mstore_close(f->m);
	mstore_options_init(&o);
	o.dir = f->dir;
	o.no_sealer = true;
	o.head_max_bytes = 256 << 10;
	assert_int_equal(mstore_open(&o, &f->m, errbuf), OB_OK);
	for (i = 0; i < 1000 && err == OB_OK; i++) {
		memset(b, 0, sizeof *b);
		for (int s = 0; s < 50; s++) {
			char *job = ob_arena_printf(&f->a, "w%d-%d", i, s);
			wb_sample(wb_series(b, "mem", job, NULL), T0 + i, 1);
		}
		err = mstore_append(f->m, &b->w, 0, &res, errbuf);
	}
	assert_int_equal(err, OB_EBUSY);
	assert_non_null(strstr(errbuf, "head is full"));
	/* sealing frees the head; appends work again */
	assert_int_equal(mstore_seal_all(f->m, errbuf), OB_OK);
	memset(b, 0, sizeof *b);
	wb_sample(wb_series(b, "mem", "after", NULL), T0 + 5000, 1);
	assert_int_equal(mstore_append(f->m, &b->w, 0, &res, errbuf), OB_OK);
	free(b);
}

/* With the sealer running, a full head is sealed early and appends go on. */
static void
sealer_relieves_a_full_head(void **state)
{
	struct fx *f = *state;
	struct wb *b = ob_xcalloc(1, sizeof *b);
	struct mstore_options o;
	struct mstore_append_result res;
	char errbuf[OB_ERRLEN];
	int busy = 0;
	size_t n;

	mstore_close(f->m);
	mstore_options_init(&o);
	o.dir = f->dir;
	o.head_max_bytes = 512 << 10;
	assert_int_equal(mstore_open(&o, &f->m, errbuf), OB_OK);
	for (int i = 0; i < 100; i++) {
		memset(b, 0, sizeof *b);
		for (int s = 0; s < 50; s++) {
			char *job = ob_arena_printf(&f->a, "w%d-%d", i, s);
			wb_sample(wb_series(b, "full", job, NULL), T0 + i * 1000, s);
		}
		enum ob_err err;
		int tries = 0;
		while ((err = mstore_append(f->m, &b->w, 0, &res, errbuf)) == OB_EBUSY &&
		       tries++ < 200) {
			busy++;
			usleep(50000);  /* what a client does after a 503 */
		}
		assert_int_equal(err, OB_OK);
		assert_int_equal(res.accepted, 50);
	}
	assert_true(busy > 0);
	assert_true(count_blocks(f->m, false) > 0);
	get(f->m, &f->a, "full", NULL, 0, INT64_MAX, &n);
	assert_int_equal(n, 5000);
	free(b);
}

struct conc {
	struct mstore *m;
	int id;
	atomic_bool *stop;
	size_t queries;
};

static void *
appender(void *arg)
{
	struct conc *c = arg;
	struct wb *b = ob_xcalloc(1, sizeof *b);
	char job[32][16];
	struct mstore_append_result res;
	char errbuf[OB_ERRLEN];

	for (int s = 0; s < 32; s++)
		snprintf(job[s], sizeof job[s], "t%d-%d", c->id, s);
	for (int w = 0; w < 50; w++) {
		memset(b, 0, sizeof *b);
		for (int s = 0; s < 32; s++) {
			struct series_in *in = wb_series(b, "conc", job[(s * 7 + w) % 32], NULL);
			for (int i = 0; i < 4; i++)
				wb_sample(in, T0 + (w * 4 + i) * 1000, w * 4 + i);
		}
		if (mstore_append(c->m, &b->w, 0, &res, errbuf) != OB_OK || res.rejected)
			abort();
	}
	free(b);
	return NULL;
}

static void *
querier(void *arg)
{
	struct conc *c = arg;
	struct ob_arena a;

	ob_arena_init(&a, 0);
	while (!atomic_load(c->stop)) {
		size_t n;
		struct series_data *d = get(c->m, &a, "conc", NULL, 0, INT64_MAX, &n);
		/* every series read is a gapless prefix */
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < d[i].nf; k++)
				if (d[i].f[k].t != T0 + (int64_t)k * 1000)
					abort();
		c->queries++;
		ob_arena_reset(&a);
	}
	ob_arena_release(&a);
	return NULL;
}

static void
concurrent_appends_and_queries(void **state)
{
	struct fx *f = *state;
	pthread_t t[5];
	struct conc c[5];
	atomic_bool stop = false;
	char errbuf[OB_ERRLEN];
	size_t n;

	for (int i = 0; i < 5; i++) {
		c[i] = (struct conc){f->m, i, &stop, 0};
		pthread_create(&t[i], NULL, i == 4 ? querier : appender, &c[i]);
	}
	/* a seal in the middle of it */
	usleep(20000);
	assert_int_equal(mstore_seal_all(f->m, errbuf), OB_OK);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	atomic_store(&stop, true);
	pthread_join(t[4], NULL);
	assert_true(c[4].queries > 0);
	struct series_data *d = get(f->m, &f->a, "conc", NULL, 0, INT64_MAX, &n);
	assert_int_equal(n, 128);
	for (size_t i = 0; i < n; i++)
		expect_run(&d[i], T0, 1000, 200, 0);
	/* a read-only open beside the writer sees the block and the WAL as one */
	struct mstore *ro = open_m(f->dir, true, 0, 3600 * 1000);
	d = get(ro, &f->a, "conc", NULL, 0, INT64_MAX, &n);
	assert_int_equal(n, 128);
	for (size_t i = 0; i < n; i++)
		expect_run(&d[i], T0, 1000, 200, 0);
	struct mstore_append_result res;
	struct series_write w = {0};
	assert_int_equal(mstore_append(ro, &w, 0, &res, errbuf), OB_EINVAL);
	mstore_close(ro);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(any_series_order_reads_back, setup, teardown),
		cmocka_unit_test_setup_teardown(rejections_are_counted_and_named, setup, teardown),
		cmocka_unit_test_setup_teardown(out_of_order_goes_to_its_own_block, setup, teardown),
		cmocka_unit_test_setup_teardown(stale_markers_and_histograms_are_kept, setup,
						teardown),
		cmocka_unit_test_setup_teardown(seal_then_query_has_no_gap_or_duplicate, setup,
						teardown),
		cmocka_unit_test_setup_teardown(sealer_thread_cuts_aligned_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(seal_all_cuts_one_block_per_range, setup, teardown),
		cmocka_unit_test_setup_teardown(wal_replay_after_kill_9, setup, teardown),
		cmocka_unit_test_setup_teardown(failed_wal_write_is_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(crash_during_seal_loses_and_doubles_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(corrupt_wal_record_stops_replay_there, setup,
						teardown),
		cmocka_unit_test_setup_teardown(retention_by_age_and_size, setup, teardown),
		cmocka_unit_test_setup_teardown(adopt_makes_a_block_visible, setup, teardown),
		cmocka_unit_test_setup_teardown(labels_series_and_metadata, setup, teardown),
		cmocka_unit_test_setup_teardown(exemplars_are_kept_and_replayed, setup, teardown),
		cmocka_unit_test_setup_teardown(head_memory_bound_answers_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(sealer_relieves_a_full_head, setup, teardown),
		cmocka_unit_test_setup_teardown(concurrent_appends_and_queries, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
