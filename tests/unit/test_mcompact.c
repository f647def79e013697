/*
 * test_mcompact.c - metric block compaction: every series and sample the
 * same before and after (horizontal merges by range, vertical merges of
 * overlapping blocks with duplicate timestamps), meta.json's level,
 * sources and parents, a crash after the merged block was written (open
 * keeps one copy), retention over merged blocks, and blocks another
 * process puts in picked up by a running store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "store/metrics.h"
#include "store/tsdb.h"
#include "sync/blob.h"
#include "sync/msync.h"
#include "sync/remote.h"
#include "sync/sync.h"

extern int mstore_fault;
#define FAULT_AFTER_WRITE 11    /* metrics_int.h MCOMPACT_FAULT_AFTER_WRITE */

#define HOUR 3600000ll
/* a multiple of 9 hours, in 2023 */
#define T0 (1700000000000ll - 1700000000000ll % (9 * HOUR))

struct fx {
	char dir[64];
};

static struct mstore *
open_m(const char *dir, bool sealer, uint64_t retention_ns)
{
	struct mstore_options o;
	struct mstore *m = NULL;
	char errbuf[OB_ERRLEN];

	mstore_options_init(&o);
	o.dir = dir;
	o.no_sealer = !sealer;
	o.no_compactor = true;
	o.block_ms = HOUR;
	o.retention_ns = retention_ns;
	o.compact_max_ms = 27 * HOUR;
	if (mstore_open(&o, &m, errbuf))
		fprintf(stderr, "open: %s\n", errbuf);
	assert_non_null(m);
	return m;
}

static int
setup(void **state)
{
	struct fx *f = ob_xcalloc(1, sizeof *f);

	ob_log_set_level(OB_LOG_ERROR);
	snprintf(f->dir, sizeof f->dir, "/tmp/obstui-mcompact-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[200];

	snprintf(cmd, sizeof cmd, "rm -rf %s %s-b", f->dir, f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/*
 * Append nser series x samples every step ms from t0 (values differ by
 * series and time); flags MSTORE_APPEND_*; vbias changes the values.
 */
static void
fill(struct mstore *m, int64_t t0, int64_t step, size_t nsamp, size_t nser, double vbias,
     unsigned flags)
{
	struct series_write w = {0};
	struct series_in *in = ob_xcalloc(nser, sizeof *in);
	struct series_label *lab = ob_xcalloc(nser * 3, sizeof *lab);
	struct series_sample *s = ob_xcalloc(nser * nsamp, sizeof *s);
	char (*inst)[32] = ob_xcalloc(nser, sizeof *inst);
	struct mstore_append_result res;
	char errbuf[OB_ERRLEN];

	for (size_t i = 0; i < nser; i++) {
		snprintf(inst[i], sizeof inst[i], "i%03zu", i);
		lab[3 * i] = (struct series_label){"__name__", i % 2 ? "up" : "req_total"};
		lab[3 * i + 1] = (struct series_label){"instance", inst[i]};
		lab[3 * i + 2] = (struct series_label){"job", "api"};
		in[i].labels.v = &lab[3 * i];
		in[i].labels.n = 3;
		in[i].samples = &s[i * nsamp];
		for (size_t k = 0; k < nsamp; k++) {
			s[i * nsamp + k].t = t0 + (int64_t)k * step;
			s[i * nsamp + k].v = (double)(i * 1000 + k) + vbias;
		}
		in[i].nsamples = nsamp;
	}
	w.series = in;
	w.nseries = nser;
	assert_int_equal(mstore_append(m, &w, flags, &res, errbuf), OB_OK);
	assert_int_equal(res.rejected, 0);
	free(in);
	free(lab);
	free(s);
	free(inst);
}

/* One native histogram series, nsamp samples every step ms from t0. */
static void
fill_hist(struct mstore *m, int64_t t0, int64_t step, size_t nsamp)
{
	static struct series_span spans[1] = {{0, 3}};
	static struct series_label lab[2] = {{"__name__", "lat_seconds"}, {"job", "api"}};
	struct series_histogram *hs = ob_xcalloc(nsamp, sizeof *hs);
	double *pos = ob_xcalloc(nsamp * 3, sizeof *pos);
	struct series_in in = {0};
	struct series_write w = {0};
	struct mstore_append_result res;
	char errbuf[OB_ERRLEN];

	for (size_t i = 0; i < nsamp; i++) {
		for (int k = 0; k < 3; k++)
			pos[i * 3 + k] = (double)(i * (k + 1));
		hs[i].t = t0 + (int64_t)i * step;
		hs[i].schema = 1;
		hs[i].is_int = true;
		hs[i].count = pos[i * 3] + pos[i * 3 + 1] + pos[i * 3 + 2];
		hs[i].sum = 0.25 * (double)i;
		hs[i].zero_threshold = 1e-128;
		hs[i].pos_spans = spans;
		hs[i].npos_spans = 1;
		hs[i].pos = &pos[i * 3];
		hs[i].npos = 3;
	}
	in.labels.v = lab;
	in.labels.n = 2;
	in.hists = hs;
	in.nhists = nsamp;
	w.series = &in;
	w.nseries = 1;
	assert_int_equal(mstore_append(m, &w, 0, &res, errbuf), OB_OK);
	assert_int_equal(res.accepted, nsamp);
	free(hs);
	free(pos);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every series and sample the store answers over all time, as sorted text. */
static char *
dump(struct mstore *m, size_t *nsamples)
{
	struct promql_matcher mt = {PROMQL_MATCH_RE, "__name__", ".+", NULL};
	struct series_data *d = NULL;
	size_t n = 0;
	struct ob_arena a;
	char errbuf[OB_ERRLEN];
	char **lines;
	struct ob_buf out;

	ob_arena_init(&a, 0);
	assert_int_equal(mstore_select(m, &mt, 1, INT64_MIN, INT64_MAX, &a, &d, &n, errbuf),
			 OB_OK);
	lines = ob_xcalloc(n + 1, sizeof *lines);
	*nsamples = 0;
	for (size_t i = 0; i < n; i++) {
		struct ob_buf b;
		ob_buf_init(&b, 0);
		for (size_t k = 0; k < d[i].labels.n; k++)
			ob_buf_addf(&b, "%s=%s,", d[i].labels.v[k].name, d[i].labels.v[k].value);
		ob_buf_addf(&b, " :");
		for (size_t k = 0; k < d[i].nf; k++)
			ob_buf_addf(&b, " %lld=%.17g", (long long)d[i].f[k].t, d[i].f[k].v);
		for (size_t k = 0; k < d[i].nh; k++) {
			const struct series_histogram *h = &d[i].h[k];
			ob_buf_addf(&b, " %lld=h(%g,%g,", (long long)h->t, h->count, h->sum);
			for (size_t x = 0; x < h->npos; x++)
				ob_buf_addf(&b, "%g;", h->pos[x]);
			ob_buf_addf(&b, ")");
		}
		*nsamples += d[i].nf + d[i].nh;
		ob_buf_add(&b, "", 1);
		lines[i] = (char *)b.data;
	}
	qsort(lines, n, sizeof *lines, cmp_str);
	ob_buf_init(&out, 0);
	for (size_t i = 0; i < n; i++) {
		ob_buf_addf(&out, "%s\n", lines[i]);
		free(lines[i]);
	}
	ob_buf_add(&out, "", 1);
	free(lines);
	ob_arena_release(&a);
	return (char *)out.data;
}

static struct mstore_block_info *
blocks(struct mstore *m, size_t *n)
{
	struct mstore_block_info *v;
	char errbuf[OB_ERRLEN];

	assert_int_equal(mstore_blocks_list(m, &v, n, errbuf), OB_OK);
	return v;
}

static size_t
dirs_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strlen(de->d_name) == 26)
			n++;
	closedir(d);
	return n;
}

static char *
read_meta(const char *dir, const char *ulid)
{
	char *path = ob_xasprintf("%s/%s/meta.json", dir, ulid);
	uint8_t *data = NULL;
	size_t len = 0;
	char errbuf[OB_ERRLEN];

	assert_int_equal(ob_file_read(path, 1 << 20, &data, &len, errbuf), OB_OK);
	free(path);
	data = ob_xrealloc(data, len + 1);
	data[len] = 0;
	return (char *)data;
}

/* Four hours of 20 series every 30 s (and a native histogram every
 * minute), sealed range by range: 4 blocks. */
static void
four_blocks(const char *dir)
{
	struct mstore *m = open_m(dir, false, 0);
	char errbuf[OB_ERRLEN];

	/* ten minutes at a time: a sample more than half a block range behind
	 * the head's newest would go out of order */
	for (int k = 0; k < 24; k++) {
		fill_hist(m, T0 + k * 600000ll, 60000, 10);
		fill(m, T0 + k * 600000ll, 30000, 20, 20, (double)k, 0);
	}
	assert_int_equal(mstore_seal_all(m, errbuf), OB_OK);
	mstore_close(m);
}

static void
ranges_merge_and_answers_stay_the_same(void **state)
{
	struct fx *f = *state;
	struct mstore_compact_result res;
	struct mstore_stats st;
	char errbuf[OB_ERRLEN], *before, *after;
	size_t n, nb, na;

	four_blocks(f->dir);
	struct mstore *m = open_m(f->dir, false, 0);
	struct mstore_block_info *v = blocks(m, &n);
	assert_int_equal(n, 4);
	free(v);
	before = dump(m, &nb);
	assert_int_equal(nb, 20 * 4 * 120 + 4 * 60);

	assert_int_equal(mstore_compact_now(m, &res, errbuf), OB_OK);
	/* [0,1h) [1h,2h) [2h,3h) fill the 3 h window; the newest is left alone */
	assert_int_equal(res.merges, 1);
	assert_int_equal(res.sources, 3);
	v = blocks(m, &n);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].level, 2);
	assert_int_equal(v[0].min_time, T0);
	assert_int_equal(v[0].max_time, T0 + 3 * HOUR);
	assert_int_equal(v[0].num_series, 21);
	assert_int_equal(v[0].num_samples, 20 * 3 * 120 + 3 * 60);
	assert_int_equal(v[1].level, 1);
	after = dump(m, &na);
	assert_string_equal(before, after);
	mstore_stats_get(m, &st);
	assert_int_equal(st.compacted_blocks, 1);
	/* the parents' directories went with their last reader */
	assert_int_equal(dirs_in(f->dir), 2);

	char *meta = read_meta(f->dir, v[0].ulid);
	struct tsdb_block_meta bm;
	assert_int_equal(tsdb_meta_parse(meta, strlen(meta), &bm, errbuf), OB_OK);
	assert_int_equal(bm.level, 2);
	assert_int_equal(bm.nsources, 3);
	assert_int_equal(bm.nparents, 3);
	assert_int_equal(bm.parents[0].min_time, T0);
	assert_int_equal(bm.parents[2].max_time, T0 + 3 * HOUR);
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(bm.sources[i], bm.parents[i].ulid);
	tsdb_meta_release(&bm);
	free(meta);

	/* a second run finds nothing more to merge */
	assert_int_equal(mstore_compact_now(m, &res, errbuf), OB_OK);
	assert_int_equal(res.merges, 0);
	free(v);
	mstore_close(m);

	/* reopened: the same answers; retention drops merged blocks by age */
	m = open_m(f->dir, false, 0);
	free(after);
	after = dump(m, &na);
	assert_string_equal(before, after);
	mstore_close(m);
	m = open_m(f->dir, false, 24ull * 3600 * 1000000000ull);
	assert_int_equal(mstore_expire(m, &n, errbuf), OB_OK);
	assert_int_equal(n, 2);
	mstore_close(m);
	assert_int_equal(dirs_in(f->dir), 0);
	free(before);
	free(after);
}

static void
overlapping_blocks_merge_vertically(void **state)
{
	struct fx *f = *state;
	struct mstore_compact_result res;
	char errbuf[OB_ERRLEN], *before, *after;
	size_t n, nb, na;
	struct mstore *m = open_m(f->dir, false, 0);

	/* an hour in order, sealed; then late samples over its second half
	 * and past it (a pull or an import): 30 timestamps shared */
	fill(m, T0, 60000, 60, 6, 0, 0);
	assert_int_equal(mstore_seal_all(m, errbuf), OB_OK);
	fill(m, T0 + 30 * 60000, 60000, 60, 6, 0, MSTORE_APPEND_HISTORICAL);
	assert_int_equal(mstore_seal_all(m, errbuf), OB_OK);
	struct mstore_block_info *v = blocks(m, &n);
	assert_true(n >= 2);
	free(v);
	before = dump(m, &nb);
	assert_int_equal(nb, 6 * 90);   /* the query shows each timestamp once */

	assert_int_equal(mstore_compact_now(m, &res, errbuf), OB_OK);
	assert_true(res.merges >= 1);
	/* the in-order hour and the late samples' block over it are one; the
	 * samples past the hour (in order again) are the newest block */
	v = blocks(m, &n);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].level, 2);
	assert_false(v[0].out_of_order);
	assert_int_equal(v[0].num_samples, 6 * 60);   /* duplicates dropped */
	assert_int_equal(v[0].min_time, T0);
	assert_int_equal(v[1].num_samples, 6 * 30);
	after = dump(m, &na);
	assert_string_equal(before, after);
	free(v);
	free(before);
	free(after);
	mstore_close(m);
}

static void
out_of_order_blocks_beside_each_range_merge(void **state)
{
	struct fx *f = *state;
	struct mstore_compact_result res;
	char errbuf[OB_ERRLEN], *before, *after;
	size_t n, nb, na;
	struct mstore *m = open_m(f->dir, false, 0);

	/* hour by hour, histograms first: each hour's first half of float
	 * samples lags the head by more than half a range and goes out of
	 * order, so every range gets an out-of-order block beside it */
	for (int h = 0; h < 4; h++) {
		fill_hist(m, T0 + h * HOUR, 60000, 60);
		fill(m, T0 + h * HOUR, 30000, 120, 20, (double)h, 0);
	}
	assert_int_equal(mstore_seal_all(m, errbuf), OB_OK);
	struct mstore_block_info *v = blocks(m, &n);
	assert_int_equal(n, 8);
	free(v);
	before = dump(m, &nb);
	assert_int_equal(nb, 4 * (20 * 120 + 60));
	assert_int_equal(mstore_compact_now(m, &res, errbuf), OB_OK);
	/* four vertical merges, then the first three hours into one */
	assert_int_equal(res.merges, 5);
	v = blocks(m, &n);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].level, 3);
	assert_int_equal(v[0].max_time, T0 + 3 * HOUR);
	assert_int_equal(v[1].level, 2);
	free(v);
	after = dump(m, &na);
	assert_string_equal(before, after);
	free(before);
	free(after);
	mstore_close(m);
}

static void
same_timestamp_other_value_keeps_the_answer(void **state)
{
	struct fx *f = *state;
	struct mstore_compact_result res;
	char errbuf[OB_ERRLEN], *before, *after;
	size_t nb, na, n;
	struct mstore *m = open_m(f->dir, false, 0);

	fill(m, T0, 60000, 60, 4, 0, 0);
	assert_int_equal(mstore_seal_all(m, errbuf), OB_OK);
	/* the same timestamps with other values: two blocks disagree */
	fill(m, T0, 60000, 60, 4, 0.5, MSTORE_APPEND_HISTORICAL);
	assert_int_equal(mstore_seal_all(m, errbuf), OB_OK);
	before = dump(m, &nb);
	assert_int_equal(nb, 4 * 60);
	assert_int_equal(mstore_compact_now(m, &res, errbuf), OB_OK);
	assert_int_equal(res.merges, 1);
	struct mstore_block_info *v = blocks(m, &n);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].num_samples, 4 * 60);
	free(v);
	after = dump(m, &na);
	/* the sample the query showed (the newest block's) is the one kept */
	assert_string_equal(before, after);
	free(before);
	free(after);
	mstore_close(m);
}

static void
a_corrupt_block_is_left_alone(void **state)
{
	struct fx *f = *state;
	struct mstore_compact_result res;
	char errbuf[OB_ERRLEN];
	size_t n;

	four_blocks(f->dir);
	struct mstore *m = open_m(f->dir, false, 0);
	struct mstore_block_info *v = blocks(m, &n);
	assert_int_equal(n, 4);
	/* a flipped byte in the oldest block's first chunk */
	char *path = ob_xasprintf("%s/%s/chunks/000001", f->dir, v[0].ulid);
	FILE *fp = fopen(path, "r+b");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, 12, SEEK_SET), 0);
	int c = fgetc(fp);
	assert_int_equal(fseek(fp, 12, SEEK_SET), 0);
	fputc(c ^ 0x55, fp);
	fclose(fp);
	free(path);
	assert_int_not_equal(mstore_compact_now(m, &res, errbuf), OB_OK);
	assert_non_null(strstr(errbuf, "CRC"));
	free(v);
	v = blocks(m, &n);
	assert_int_equal(n, 4);         /* nothing changed */
	assert_int_equal(dirs_in(f->dir), 4);
	char first[27];
	memcpy(first, v[0].ulid, 27);
	free(v);
	/* the next round leaves the damaged block out and merges the others */
	assert_int_equal(mstore_compact_now(m, &res, errbuf), OB_OK);
	assert_int_equal(res.merges, 1);
	assert_int_equal(res.sources, 2);
	v = blocks(m, &n);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].ulid, first);
	free(v);
	mstore_close(m);
}

static void
crash_after_the_merged_block_keeps_one_copy(void **state)
{
	struct fx *f = *state;
	char *before, *after;
	size_t nb, na, n;
	int status;

	four_blocks(f->dir);
	struct mstore *m = open_m(f->dir, false, 0);
	before = dump(m, &nb);
	mstore_close(m);

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char errbuf[OB_ERRLEN];
		struct mstore_compact_result res;
		m = open_m(f->dir, false, 0);
		mstore_fault = FAULT_AFTER_WRITE;
		mstore_compact_now(m, &res, errbuf);
		_exit(3);       /* not reached: the fault kills */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* the merged block and its three parents are all on disk */
	assert_int_equal(dirs_in(f->dir), 5);

	m = open_m(f->dir, false, 0);
	struct mstore_block_info *v = blocks(m, &n);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].level, 2);
	free(v);
	assert_int_equal(dirs_in(f->dir), 2);
	after = dump(m, &na);
	assert_string_equal(before, after);
	mstore_close(m);
	free(before);
	free(after);
}

static void
crash_before_the_rename_keeps_the_parents(void **state)
{
	struct fx *f = *state;
	char *before, *after, *tmp;
	size_t nb, na, n;

	four_blocks(f->dir);
	struct mstore *m = open_m(f->dir, false, 0);
	before = dump(m, &nb);
	mstore_close(m);
	/* what a crash while writing leaves: a ULID.tmp directory */
	tmp = ob_xasprintf("%s/01HZZZZZZZZZZZZZZZZZZZZZZZ.tmp", f->dir);
	assert_int_equal(mkdir(tmp, 0755), 0);
	m = open_m(f->dir, false, 0);
	struct mstore_block_info *v = blocks(m, &n);
	assert_int_equal(n, 4);
	free(v);
	struct stat st;
	assert_int_not_equal(stat(tmp, &st), 0);
	after = dump(m, &na);
	assert_string_equal(before, after);
	mstore_close(m);
	free(tmp);
	free(before);
	free(after);
}

static void
running_store_picks_up_blocks_put_in(void **state)
{
	struct fx *f = *state;
	char other[80], *from, *to, *after;
	size_t n;
	struct mstore_block_info *v;

	/* blocks written by another store, moved in while this one runs */
	snprintf(other, sizeof other, "%s-b", f->dir);
	assert_int_equal(mkdir(other, 0755), 0);
	four_blocks(other);
	struct mstore *m = open_m(f->dir, true, 0);
	v = blocks(m, &n);
	assert_int_equal(n, 0);
	free(v);
	struct mstore *o = open_m(other, false, 0);
	v = blocks(o, &n);
	mstore_close(o);
	assert_int_equal(n, 4);
	from = ob_xasprintf("%s/%s", other, v[0].ulid);
	to = ob_xasprintf("%s/%s", f->dir, v[0].ulid);
	assert_int_equal(rename(from, to), 0);
	size_t got = 0;
	for (int i = 0; i < 100 && got == 0; i++) {
		usleep(100000);
		after = dump(m, &got);
		free(after);
	}
	assert_int_equal(got, 20 * 120 + 60);
	free(v);
	free(from);
	free(to);
	mstore_close(m);
}

struct reader {
	struct mstore *m;
	atomic_bool stop;
	size_t want;
	atomic_size_t queries, wrong;
};

static void *
reader_main(void *arg)
{
	struct reader *r = arg;

	while (!atomic_load(&r->stop)) {
		size_t n;
		char *d = dump(r->m, &n);
		free(d);
		r->queries++;
		if (n != r->want)
			r->wrong++;
	}
	return NULL;
}

static void
queries_during_compaction_see_every_sample_once(void **state)
{
	struct fx *f = *state;
	struct mstore_compact_result res;
	char errbuf[OB_ERRLEN];
	pthread_t th[2];
	struct reader r = {0};

	four_blocks(f->dir);
	r.m = open_m(f->dir, false, 0);
	r.want = 20 * 4 * 120 + 4 * 60;
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reader_main, &r), 0);
	usleep(20000);
	assert_int_equal(mstore_compact_now(r.m, &res, errbuf), OB_OK);
	assert_int_equal(res.merges, 1);
	usleep(20000);
	atomic_store(&r.stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	assert_true(r.queries > 2);
	assert_int_equal(r.wrong, 0);
	mstore_close(r.m);
	assert_int_equal(dirs_in(f->dir), 2);
}

/* STORE/metrics under base/name; the path (malloc'd). */
static char *
mk_store(const char *base, const char *name)
{
	char *d = ob_xasprintf("%s/%s/metrics", base, name);
	char errbuf[OB_ERRLEN];

	assert_int_equal(ob_mkdirs(d, errbuf), OB_OK);
	return d;
}

static void
push_and_pull_after_compaction(void **state)
{
	struct fx *f = *state;
	char *origin = mk_store(f->dir, "origin"), *origin2 = mk_store(f->dir, "origin2");
	char *follower = mk_store(f->dir, "follower"), *rdir = ob_xasprintf("%s/remote", f->dir);
	char url[200], errbuf[OB_ERRLEN], *want, *got;
	struct remote r;
	struct blob_store *b;
	struct sync_result res;
	struct mstore_compact_result cres;
	size_t n, nw, ng;

	assert_int_equal(mkdir(rdir, 0755), 0);
	snprintf(url, sizeof url, "file://%s", rdir);
	memset(&r, 0, sizeof r);
	assert_int_equal(remote_parse_url(url, &r, errbuf), OB_OK);
	assert_int_equal(blob_open(&r, &b, errbuf), OB_OK);

	/* sources pushed, then merged: the merged block is not pushed again */
	four_blocks(origin);
	assert_int_equal(msync_push(origin, b, &r, NULL, &res, errbuf), OB_OK);
	assert_int_equal(res.moved, 4);
	sync_result_release(&res);
	struct mstore *m = open_m(origin, false, 0);
	assert_int_equal(mstore_compact_now(m, &cres, errbuf), OB_OK);
	assert_int_equal(cres.merges, 1);
	mstore_close(m);
	assert_int_equal(msync_push(origin, b, &r, NULL, &res, errbuf), OB_OK);
	assert_int_equal(res.moved, 0);
	assert_int_equal(res.skipped, 1);
	assert_int_equal(res.nfailures, 0);
	sync_result_release(&res);

	/* another origin merges before pushing: the merged block goes up; a
	 * follower holding one of its sources pulls it and counts nothing twice */
	four_blocks(origin2);
	m = open_m(origin2, false, 0);
	struct mstore_block_info *v = blocks(m, &n);
	mstore_close(m);
	char *cmd = ob_xasprintf("cp -r %s/%s %s/", origin2, v[0].ulid, follower);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(v);
	m = open_m(origin2, false, 0);
	assert_int_equal(mstore_compact_now(m, &cres, errbuf), OB_OK);
	assert_int_equal(cres.merges, 1);
	want = dump(m, &nw);
	mstore_close(m);
	blob_close(b);
	free(rdir);
	rdir = ob_xasprintf("%s/remote2", f->dir);
	assert_int_equal(mkdir(rdir, 0755), 0);
	snprintf(url, sizeof url, "file://%s", rdir);
	assert_int_equal(remote_parse_url(url, &r, errbuf), OB_OK);
	assert_int_equal(blob_open(&r, &b, errbuf), OB_OK);
	assert_int_equal(msync_push(origin2, b, &r, NULL, &res, errbuf), OB_OK);
	assert_int_equal(res.moved, 2);
	sync_result_release(&res);

	m = open_m(follower, false, 0);
	v = blocks(m, &n);
	assert_int_equal(n, 1);
	free(v);
	assert_int_equal(msync_pull(m, follower, b, &r, NULL, &res, errbuf), OB_OK);
	assert_int_equal(res.moved, 2);
	sync_result_release(&res);
	v = blocks(m, &n);
	assert_int_equal(n, 2);         /* the merged block covers the source held */
	assert_int_equal(v[0].level, 2);
	free(v);
	got = dump(m, &ng);
	assert_int_equal(ng, nw);
	assert_string_equal(want, got);
	mstore_close(m);
	assert_int_equal(dirs_in(follower), 2);

	blob_close(b);
	free(want);
	free(got);
	free(origin);
	free(origin2);
	free(follower);
	free(rdir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(ranges_merge_and_answers_stay_the_same, setup,
						teardown),
		cmocka_unit_test_setup_teardown(overlapping_blocks_merge_vertically, setup, teardown),
		cmocka_unit_test_setup_teardown(out_of_order_blocks_beside_each_range_merge, setup,
						teardown),
		cmocka_unit_test_setup_teardown(same_timestamp_other_value_keeps_the_answer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_corrupt_block_is_left_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(crash_after_the_merged_block_keeps_one_copy, setup,
						teardown),
		cmocka_unit_test_setup_teardown(crash_before_the_rename_keeps_the_parents, setup,
						teardown),
		cmocka_unit_test_setup_teardown(running_store_picks_up_blocks_put_in, setup,
						teardown),
		cmocka_unit_test_setup_teardown(queries_during_compaction_see_every_sample_once,
						setup, teardown),
		cmocka_unit_test_setup_teardown(push_and_pull_after_compaction, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
