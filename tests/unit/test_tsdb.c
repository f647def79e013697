/*
 * test_tsdb.c - the Prometheus TSDB block format: chunk encodings round
 * trip; blocks written and read back (select with every matcher op, label
 * names and values); and promtool 2.42 as the oracle both ways (it dumps
 * what obstui wrote; obstui reads what it created from OpenMetrics text).
 * promtool must be installed (make test's setup installs it): a missing
 * promtool fails the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sys/wait.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/crc32c.h"
#include "core/mem.h"
#include "core/util.h"
#include "core/varint.h"
#include "model/series.h"
#include "store/tsdb.h"
#include "store/tsdb_int.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static bool same_bits(double a, double b)
{
	return memcmp(&a, &b, sizeof a) == 0;
}

static void crc_and_varints(void **state)
{
	assert_int_equal(ob_crc32c(0, "123456789", 9), 0xE3069283u);
	/* pieces give the same as the whole */
	uint8_t buf[1000];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)rnd();
	uint32_t whole = ob_crc32c(0, buf, sizeof buf);
	uint32_t c = ob_crc32c(0, buf, 3);
	c = ob_crc32c(c, buf + 3, 500);
	c = ob_crc32c(c, buf + 503, sizeof buf - 503);
	assert_int_equal(c, whole);
	assert_int_equal(ob_crc32c(0, "", 0), 0);

	int64_t vals[] = {0, 1, -1, 63, -64, 64, 1 << 20, -(1ll << 40), INT64_MAX, INT64_MIN};
	for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
		uint8_t b[OB_VARINT_MAX];
		int64_t back;
		size_t n = ob_put_varint(b, vals[i]);
		assert_int_equal(ob_get_varint(b, b + n, &back), n);
		assert_true(back == vals[i]);
		assert_int_equal(ob_get_varint(b, b + n - 1, &back), 0);
	}
	uint8_t one[] = {0x96, 0x01};
	uint64_t u;
	assert_int_equal(ob_get_uvarint(one, one + 2, &u), 2);
	assert_int_equal(u, 150);
}

/* Append n samples, decode, compare bit for bit. */
static void xor_round_trip(const int64_t *ts, const double *vs, size_t n)
{
	struct tsdb_chunk c;
	struct ob_arena a;
	char errbuf[OB_ERRLEN];
	tsdb_chunk_init(&c, TSDB_ENC_XOR);
	for (size_t i = 0; i < n; i++)
		tsdb_chunk_append(&c, ts[i], vs[i]);
	assert_int_equal(c.nsamples, n);
	assert_int_equal(tsdb_chunk_count(c.data, c.len), n);
	if (n) {
		assert_true(c.mint == ts[0]);
		assert_true(c.maxt == ts[n - 1]);
	}
	ob_arena_init(&a, 0);
	struct series_sample *f;
	struct series_histogram *h;
	size_t nf, nh;
	/* decoding while still open, and again after sealing */
	for (int pass = 0; pass < 2; pass++) {
		assert_int_equal(tsdb_chunk_decode(c.enc, c.data, c.len, INT64_MIN, INT64_MAX, &a,
						   &f, &nf, &h, &nh, errbuf),
				 OB_OK);
		assert_int_equal(nf, n);
		for (size_t i = 0; i < n; i++) {
			assert_true(f[i].t == ts[i]);
			assert_true(same_bits(f[i].v, vs[i]));
		}
		tsdb_chunk_seal(&c);
	}
	/* a window: only samples inside come back */
	if (n > 4) {
		int64_t lo = ts[1], hi = ts[n - 2];
		assert_int_equal(tsdb_chunk_decode(c.enc, c.data, c.len, lo, hi, &a, &f, &nf, &h,
						   &nh, errbuf),
				 OB_OK);
		assert_int_equal(nf, n - 2);
		assert_true(f[0].t == lo && f[nf - 1].t == hi);
	}
	/* every truncation fails cleanly or decodes a prefix, never reads past */
	for (size_t cut = 0; cut < c.len; cut++) {
		uint8_t *copy = ob_xmalloc(cut + 1);
		memcpy(copy, c.data, cut);
		enum ob_err err = tsdb_chunk_decode(c.enc, copy, cut, INT64_MIN, INT64_MAX, &a, &f,
						    &nf, &h, &nh, errbuf);
		if (n > 0 && cut + 1 < c.len)
			assert_int_equal(err, OB_ECORRUPT);
		free(copy);
	}
	ob_arena_release(&a);
	tsdb_chunk_release(&c);
}

static void xor_patterns(void **state)
{
	enum { N = 300 };
	int64_t *ts = ob_xmalloc(N * sizeof *ts);
	double *vs = ob_xmalloc(N * sizeof *vs);
	double specials[] = {NAN, series_stale_nan(), INFINITY, -INFINITY, 0.0, -0.0,
			     1e308, -1e-308, 4.9e-324, 1.0};
	for (int pattern = 0; pattern < 9; pattern++) {
		int64_t t = pattern == 3 ? -1000000 : 1700000000000ll;
		double v = 0;
		for (int i = 0; i < N; i++) {
			switch (pattern) {
			case 0: t += 15000; v = 1.0; break;                 /* constant */
			case 1: t += 15000; v += 1; break;                  /* counter */
			case 2: t += 15000 + (int64_t)(rnd() % 7) - 3; v = (double)(rnd() % 1000) / 7; break;
			case 3: t += 1000; v = -(double)i * 0.25; break;    /* negative times */
			case 4: t += (int64_t)(rnd() % 100000000000ll) + 1; v = (double)rnd(); break;
			case 5: t += 15000; v = specials[i % 10]; break;
			case 6: t += i % 2 ? 1 : 1ll << 40; v = i % 3 ? v : -v + 1e-300; break;
			case 7: t += 10000; v = i % 50 ? v : v + 1e12; break;  /* big jumps */
			case 8: {
				uint64_t bits = rnd();
				t += (int64_t)(rnd() % 2000000) - 100000 + 100001;
				memcpy(&v, &bits, 8);
				break;
			}
			}
			ts[i] = t;
			vs[i] = v;
		}
		for (size_t n = 0; n <= 3; n++)
			xor_round_trip(ts, vs, n);
		xor_round_trip(ts, vs, 120);
		xor_round_trip(ts, vs, N);
	}
	/* extreme timestamps and dod buckets at their edges */
	int64_t edge[] = {INT64_MIN + 1, -5, 0, 8192, 8192 + 8193, 30000, 30000 + 65536,
			  200000, 200000 + 524288, 800000, 800001, INT64_MAX - 1};
	double ev[14];
	for (int i = 0; i < 14; i++)
		ev[i] = i;
	xor_round_trip(edge + 1, ev, 10);
	/* deltas whose dods sit on each bucket's edges */
	int64_t deltas[] = {100, 100 + 8192, 101, 101 + 8193, 20, 20 + 65536, 30, 30 + 524288,
			    40, 40 + 524289, 1, 1ll << 50, 3};
	int64_t dods[14] = {0};
	for (int i = 0; i < 13; i++)
		dods[i + 1] = dods[i] + deltas[i];
	xor_round_trip(dods, ev, 12);
	free(ts);
	free(vs);
}

/* --- histogram chunks --- */

struct htest {
	struct series_histogram h;
	struct series_span ps[3], ns[2];
	double pos[16], neg[8], custom[8];
};

/* A histogram with layout `shape` at step i (counts growing with i). */
static void make_hist(struct htest *x, int shape, int i, bool is_int)
{
	memset(x, 0, sizeof *x);
	struct series_histogram *h = &x->h;
	h->t = 1700000000000ll + i * 15000;
	h->is_int = is_int;
	h->schema = shape == 2 ? -53 : shape == 1 ? 3 : 0;
	h->zero_threshold = shape == 1 ? 1e-128 : shape == 2 ? 0 : 0.001953125; /* 2^-9 */
	x->ps[0] = (struct series_span){-2, 3};
	x->ps[1] = (struct series_span){4, 2};
	h->pos_spans = x->ps;
	h->npos_spans = 2;
	h->npos = 5;
	if (shape != 2) {
		x->ns[0] = (struct series_span){1, 2};
		h->neg_spans = x->ns;
		h->nneg_spans = 1;
		h->nneg = 2;
	} else {
		x->ps[0].offset = 0;
		double bounds[] = {0.005, 0.1, 1, 2.5, 1e9 + 0.3, 7};
		memcpy(x->custom, bounds, sizeof bounds);
		h->custom_values = x->custom;
		h->ncustom = 6;
	}
	double total = 0;
	for (size_t b = 0; b < h->npos; b++) {
		x->pos[b] = (double)((b + 1) * i * (b % 2 ? 3 : 1)) + (is_int ? 0 : 0.5);
		total += x->pos[b];
	}
	for (size_t b = 0; b < h->nneg; b++) {
		x->neg[b] = (double)(i * 2 + (int)b);
		total += x->neg[b];
	}
	h->pos = x->pos;
	h->neg = x->neg;
	h->zero_count = is_int ? i : i + 0.25;
	h->count = total + h->zero_count;
	h->sum = i * 1.5 - 3;
}

static void assert_hist_equal(const struct series_histogram *got,
			      const struct series_histogram *want)
{
	assert_true(got->t == want->t);
	assert_true(same_bits(got->sum, want->sum));
	if (series_is_stale(want->sum))
		return;
	assert_int_equal(got->schema, want->schema);
	assert_true(got->zero_threshold == want->zero_threshold);
	assert_true(got->count == want->count);
	assert_true(got->zero_count == want->zero_count);
	assert_int_equal(got->npos_spans, want->npos_spans);
	for (size_t i = 0; i < want->npos_spans; i++) {
		assert_int_equal(got->pos_spans[i].offset, want->pos_spans[i].offset);
		assert_int_equal(got->pos_spans[i].length, want->pos_spans[i].length);
	}
	assert_int_equal(got->nneg_spans, want->nneg_spans);
	assert_int_equal(got->npos, want->npos);
	assert_int_equal(got->nneg, want->nneg);
	for (size_t i = 0; i < want->npos; i++)
		assert_true(same_bits(got->pos[i], want->pos[i]));
	for (size_t i = 0; i < want->nneg; i++)
		assert_true(same_bits(got->neg[i], want->neg[i]));
	if (want->schema == -53) {
		assert_int_equal(got->ncustom, want->ncustom);
		for (size_t i = 0; i < want->ncustom; i++)
			assert_true(same_bits(got->custom_values[i], want->custom_values[i]));
	}
}

/* What a chunk ending at time last cannot take: a new layout, a reset, a gauge. */
static void cannot_append(struct tsdb_chunk *c, int shape, int64_t last, bool is_int)
{
	struct htest x;
	make_hist(&x, (shape + 1) % 3, 1000, is_int);
	x.h.t = last + 1;
	assert_false(tsdb_chunk_append_hist(c, &x.h));
	make_hist(&x, shape, 1, is_int);
	x.h.t = last + 1;
	assert_false(tsdb_chunk_append_hist(c, &x.h)); /* counts went down */
	make_hist(&x, shape, 1000, is_int);
	x.h.t = last + 1;
	x.h.reset_hint = SERIES_RESET_GAUGE;
	assert_false(tsdb_chunk_append_hist(c, &x.h));
	x.h.reset_hint = SERIES_RESET_YES;
	assert_false(tsdb_chunk_append_hist(c, &x.h));
	if (is_int) {
		x.h.reset_hint = SERIES_RESET_NO;
		x.h.pos[0] += 0.5; /* not an integer any more */
		assert_false(tsdb_chunk_append_hist(c, &x.h));
	}
}

static void hist_chunks(void **state)
{
	char errbuf[OB_ERRLEN];
	struct ob_arena a;
	ob_arena_init(&a, 0);
	for (int enc = TSDB_ENC_HISTOGRAM; enc <= TSDB_ENC_FLOAT_HISTOGRAM; enc++) {
		bool is_int = enc == TSDB_ENC_HISTOGRAM;
		for (int shape = 0; shape < 3; shape++) {
			enum { N = 130 };
			struct htest *want = ob_xcalloc(N, sizeof *want);
			struct tsdb_chunk c;
			tsdb_chunk_init(&c, enc);
			for (int i = 0; i < N; i++) {
				make_hist(&want[i], shape, i + 1, is_int);
				if (i >= N - 2) /* stale markers end it */
					want[i].h.sum = series_stale_nan();
				want[i].h.reset_hint = i == 0 ? SERIES_RESET_UNKNOWN : SERIES_RESET_NO;
				if (i == N - 2)
					cannot_append(&c, shape, want[i - 1].h.t, is_int);
				assert_true(tsdb_chunk_append_hist(&c, &want[i].h));
			}
			assert_int_equal(c.nsamples, N);
			/* after a stale marker, only stale markers */
			struct htest x;
			make_hist(&x, shape, N + 10, is_int);
			assert_false(tsdb_chunk_append_hist(&c, &x.h));
			struct series_histogram *h;
			struct series_sample *f;
			size_t nh, nf;
			assert_int_equal(tsdb_chunk_decode(c.enc, c.data, c.len, INT64_MIN, INT64_MAX,
							   &a, &f, &nf, &h, &nh, errbuf),
					 OB_OK);
			assert_int_equal(nh, N);
			for (int i = 0; i < N; i++) {
				assert_hist_equal(&h[i], &want[i].h);
				assert_int_equal(h[i].is_int, is_int);
			}
			assert_int_equal(h[0].reset_hint, SERIES_RESET_UNKNOWN);
			assert_int_equal(h[5].reset_hint, SERIES_RESET_NO);
			/* truncations fail cleanly */
			for (size_t cut = 0; cut + 2 < c.len; cut += 3) {
				uint8_t *copy = ob_xmalloc(cut + 1);
				memcpy(copy, c.data, cut);
				assert_int_equal(tsdb_chunk_decode(c.enc, copy, cut, INT64_MIN,
								   INT64_MAX, &a, &f, &nf, &h, &nh,
								   errbuf),
						 OB_ECORRUPT);
				free(copy);
			}
			tsdb_chunk_release(&c);
			free(want);
		}
	}
	/* gauge histograms: counts may go down, the hint says gauge */
	struct tsdb_chunk c;
	tsdb_chunk_init(&c, TSDB_ENC_FLOAT_HISTOGRAM);
	struct htest g[3];
	for (int i = 0; i < 3; i++) {
		make_hist(&g[i], 0, 10 - i * 3, false);
		g[i].h.t = 1000 + i;
		g[i].h.reset_hint = SERIES_RESET_GAUGE;
		assert_true(tsdb_chunk_append_hist(&c, &g[i].h));
	}
	struct series_histogram *h;
	size_t nh;
	assert_int_equal(tsdb_chunk_decode(c.enc, c.data, c.len, 1001, 1002, &a, NULL, NULL, &h,
					   &nh, errbuf),
			 OB_OK);
	assert_int_equal(nh, 2);
	assert_hist_equal(&h[0], &g[1].h);
	assert_int_equal(h[1].reset_hint, SERIES_RESET_GAUGE);
	tsdb_chunk_release(&c);
	ob_arena_release(&a);
}

/*
 * Buckets that come and go within a chunk, as Prometheus's appender takes
 * them: new buckets rewrite the chunk in the union layout, missing ones are
 * zeros; a bucket that was counted and is now missing is a reset.
 */
/* Sample i of a series whose buckets grow: 3 .. 3+w(i), and from i = 30 bucket 20 too. */
static void make_growing(struct series_histogram *h, double *vals, struct series_span *sp, int i,
			 bool is_int, bool gauge)
{
	int w = 1 + i / 6;
	memset(h, 0, sizeof *h);
	h->t = 1000 * (i + 1);
	h->schema = 1;
	h->is_int = is_int;
	h->reset_hint = gauge ? SERIES_RESET_GAUGE : SERIES_RESET_NO;
	sp[0] = (struct series_span){3, (uint32_t)w};
	sp[1] = (struct series_span){20 - 3 - w, 1};
	h->pos_spans = sp;
	h->npos_spans = i >= 30 ? 2 : 1;
	h->npos = (size_t)w + (i >= 30);
	h->pos = vals;
	double total = 0;
	for (size_t b = 0; b < h->npos; b++) {
		vals[b] = gauge ? (double)((i * 7 + (int)b) % 5) : (double)(i * (int)(b + 1));
		total += vals[b];
	}
	h->count = total;
	h->sum = i;
}

static void hist_growing_buckets(void **state)
{
	char errbuf[OB_ERRLEN];
	struct ob_arena a;
	ob_arena_init(&a, 0);
	for (int enc = TSDB_ENC_HISTOGRAM; enc <= TSDB_ENC_FLOAT_HISTOGRAM; enc++) {
		for (int gauge = 0; gauge < 2; gauge++) {
			enum { N = 60 };
			struct tsdb_chunk c;
			tsdb_chunk_init(&c, enc);
			/* sample i: buckets 3 .. 3+w(i) and, from i = 30, a second span at 20 */
			double vals[N][16];
			struct series_span sp[N][2];
			struct series_histogram h[N];
			for (int i = 0; i < N; i++) {
				make_growing(&h[i], vals[i], sp[i], i, enc == TSDB_ENC_HISTOGRAM, gauge);
				assert_true(tsdb_chunk_append_hist(&c, &h[i]));
			}
			assert_int_equal(c.nsamples, N); /* one chunk for all */
			struct series_histogram *out;
			size_t n;
			assert_int_equal(tsdb_chunk_decode(c.enc, c.data, c.len, INT64_MIN, INT64_MAX,
							   &a, NULL, NULL, &out, &n, errbuf),
					 OB_OK);
			assert_int_equal(n, N);
			for (int i = 0; i < N; i++) {
				/* the final layout: 3..3+10 and 20 */
				assert_int_equal(out[i].npos_spans, 2);
				assert_int_equal(out[i].pos_spans[0].offset, 3);
				assert_int_equal(out[i].pos_spans[0].length, 10);
				assert_int_equal(out[i].pos_spans[1].offset, 7);
				assert_int_equal(out[i].npos, 11);
				assert_true(out[i].count == h[i].count && out[i].sum == h[i].sum);
				int w = 1 + i / 6;
				for (int b = 0; b < 10; b++)
					assert_true(out[i].pos[b] == (b < w ? vals[i][b] : 0));
				assert_true(out[i].pos[10] == (i >= 30 ? vals[i][w] : 0));
			}
			/* a bucket that had counts goes missing: a reset for counters */
			struct series_histogram x = h[N - 1];
			x.t += 1000;
			x.npos_spans = 1;
			x.npos = 10;
			x.count = 1e9;
			for (int b = 0; b < 10; b++)
				vals[0][b] = vals[N - 1][b] + 1;
			x.pos = vals[0];
			assert_int_equal(tsdb_chunk_append_hist(&c, &x), gauge != 0);
			tsdb_chunk_release(&c);
		}
	}
	/* open chunks have an appender, sealed ones none and take nothing */
	for (int enc = TSDB_ENC_XOR; enc <= TSDB_ENC_FLOAT_HISTOGRAM; enc++) {
		struct tsdb_chunk z;
		struct htest x;
		tsdb_chunk_init(&z, enc);
		assert_non_null(z.appender);
		make_hist(&x, 0, 1, true);
		if (enc == TSDB_ENC_XOR) {
			tsdb_chunk_append(&z, 1, 1);
			assert_false(tsdb_chunk_append_hist(&z, &x.h));
		} else {
			assert_true(tsdb_chunk_append_hist(&z, &x.h));
		}
		tsdb_chunk_seal(&z);
		assert_null(z.appender);
		tsdb_chunk_append(&z, 2, 2);
		x.h.t += 10;
		assert_false(tsdb_chunk_append_hist(&z, &x.h));
		assert_int_equal(z.nsamples, 1);
		tsdb_chunk_release(&z);
	}
	ob_arena_release(&a);
}

/* --- blocks --- */

static char tmp_root[64];

static void make_tmp_root(void)
{
	if (tmp_root[0])
		return;
	strcpy(tmp_root, "/tmp/obstui-tsdb-XXXXXX");
	assert_non_null(mkdtemp(tmp_root));
}

static void rm_rf(const char *path)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
}

/* A generated series: sorted labels and float samples. */
struct gseries {
	struct series_label lab[6];
	char val[6][40];
	struct series_labels ls;
	struct series_sample *s;
	size_t n;
	char key[256];          /* labels as promtool prints them */
};

static int cmp_gseries(const void *a, const void *b)
{
	const struct gseries *x = a, *y = b;
	size_t n = x->ls.n < y->ls.n ? x->ls.n : y->ls.n;
	for (size_t i = 0; i < n; i++) {
		int c = strcmp(x->lab[i].name, y->lab[i].name);
		if (!c)
			c = strcmp(x->val[i], y->val[i]); /* not lab[].value: qsort moves the structs */
		if (c)
			return c;
	}
	return x->ls.n < y->ls.n ? -1 : x->ls.n > y->ls.n;
}

static const char *names_pool[] = {"__name__", "a_zone", "instance", "job", "method", "z"};

/* Series i: a metric name, job, instance, and some optional labels. */
static void gen_series(struct gseries *g, int i, int64_t t0)
{
	memset(g, 0, sizeof *g);
	size_t n = 0;
	for (int k = 0; k < 6; k++) {
		switch (k) {
		case 0: snprintf(g->val[n], 40, "metric_%d", i % 7); break;
		case 1: if (i % 3) continue; snprintf(g->val[n], 40, "zone %d", i % 4); break;
		case 2: snprintf(g->val[n], 40, "host-%d:9100", i); break;
		case 3: snprintf(g->val[n], 40, "job%d", i % 5); break;
		case 4: if (i % 4 != 1) continue; snprintf(g->val[n], 40, i % 8 == 1 ? "GET" : "POST"); break;
		case 5: if (i % 11) continue; snprintf(g->val[n], 40, "x=%d,y", i); break;
		}
		g->lab[n].name = names_pool[k];
		g->lab[n].value = g->val[n];
		n++;
	}
	g->ls.v = g->lab;
	g->ls.n = n;
	size_t off = 0;
	off += (size_t)snprintf(g->key + off, sizeof g->key - off, "{");
	for (size_t k = 0; k < n; k++)
		off += (size_t)snprintf(g->key + off, sizeof g->key - off, "%s%s=\"%s\"",
					k ? ", " : "", g->lab[k].name, g->lab[k].value);
	snprintf(g->key + off, sizeof g->key - off, "}");
	g->n = (size_t)(i * 37 % 290) + 1;
	g->s = ob_xmalloc(g->n * sizeof *g->s);
	int64_t t = t0 + (i % 13) * 1000;
	double v = (double)(i % 100);
	for (size_t k = 0; k < g->n; k++) {
		t += 15000 + (k % 17 == 3 ? (int64_t)(rnd() % 5000) : 0);
		switch ((i + (int)k) % 23) {
		case 0: v = k % 2 ? NAN : series_stale_nan(); break;
		case 1: v = INFINITY; break;
		case 2: v = -INFINITY; break;
		case 3: v = -1.5e-7 * (double)k; break;
		case 4: v = (double)rnd() / 3; break;
		default: if (isfinite(v)) v += (double)(k % 5); else v = (double)k; break;
		}
		g->s[k].t = t;
		g->s[k].v = v;
	}
}

/* Encode g's samples into XOR chunks of 120 and add them to w. */
static void add_series(struct tsdb_block_writer *w, const struct gseries *g)
{
	char errbuf[OB_ERRLEN];
	size_t nch = (g->n + TSDB_SAMPLES_PER_CHUNK - 1) / TSDB_SAMPLES_PER_CHUNK;
	struct tsdb_chunk *ch = ob_xcalloc(nch + 1, sizeof *ch);
	for (size_t c = 0; c < nch; c++) {
		tsdb_chunk_init(&ch[c], TSDB_ENC_XOR);
		for (size_t k = c * TSDB_SAMPLES_PER_CHUNK;
		     k < g->n && k < (c + 1) * TSDB_SAMPLES_PER_CHUNK; k++)
			tsdb_chunk_append(&ch[c], g->s[k].t, g->s[k].v);
		tsdb_chunk_seal(&ch[c]);
	}
	assert_int_equal(tsdb_block_writer_add(w, &g->ls, ch, nch, errbuf), OB_OK);
	free(ch);
}

enum { NSERIES = 3000 };
static const int64_t T0 = 1700000000000ll;

/* Write NSERIES generated series (in a shuffled order) as block id under dir. */
static struct gseries *write_gen_block(const char *dir, const char *id)
{
	char errbuf[OB_ERRLEN];
	struct gseries *g = ob_xcalloc(NSERIES, sizeof *g);
	int *order = ob_xmalloc(NSERIES * sizeof *order);
	for (int i = 0; i < NSERIES; i++) {
		gen_series(&g[i], i, T0);
		order[i] = i;
	}
	for (int i = NSERIES - 1; i > 0; i--) {
		int j = (int)(rnd() % (uint64_t)(i + 1)), x = order[i];
		order[i] = order[j];
		order[j] = x;
	}
	struct tsdb_block_writer *w;
	assert_int_equal(tsdb_block_writer_new(dir, id, &w, errbuf), OB_OK);
	for (int i = 0; i < NSERIES; i++)
		add_series(w, &g[order[i]]);
	struct tsdb_block_meta meta = {0};
	assert_int_equal(tsdb_block_writer_finish(w, &meta, errbuf), OB_OK);
	free(order);
	qsort(g, NSERIES, sizeof *g, cmp_gseries);
	for (int i = 0; i < NSERIES; i++) { /* the structs moved: point into them again */
		g[i].ls.v = g[i].lab;
		for (size_t k = 0; k < g[i].ls.n; k++)
			g[i].lab[k].value = g[i].val[k];
	}
	return g;
}

static void free_gen(struct gseries *g)
{
	for (int i = 0; i < NSERIES; i++)
		free(g[i].s);
	free(g);
}

/* Read one "{labels} value ts" line of promtool tsdb dump. */
static bool parse_dump_line(char *line, char **key, double *v, int64_t *t)
{
	char *end = strrchr(line, '}');
	if (line[0] != '{' || !end)
		return false;
	end[1] = 0;
	*key = line;
	char *rest = end + 2, *sp;
	sp = strchr(rest, ' ');
	if (!sp)
		return false;
	*sp = 0;
	if (strcmp(rest, "NaN") == 0)
		*v = NAN;
	else
		*v = strtod(rest, NULL);
	*t = strtoll(sp + 1, NULL, 10);
	return true;
}

/* promtool tsdb dump of dir over [mint, maxt] equals g's samples in that window. */
static void check_dump(const char *dir, struct gseries *g, int64_t mint, int64_t maxt)
{
	char cmd[512], errfile[128], wal[160];
	/* promtool opens the directory as a Prometheus data dir: it wants a WAL */
	snprintf(wal, sizeof wal, "%s/wal", dir);
	mkdir(wal, 0755);
	snprintf(errfile, sizeof errfile, "%s/dump.err", tmp_root);
	snprintf(cmd, sizeof cmd, "promtool tsdb dump --min-time=%lld --max-time=%lld '%s' 2>%s",
		 (long long)mint, (long long)maxt, dir, errfile);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char *line = NULL;
	size_t cap = 0, si = 0, k = 0, lines = 0;
	while (getline(&line, &cap, p) > 0) {
		char *key = NULL;
		double v = 0;
		int64_t t = 0;
		assert_true(parse_dump_line(line, &key, &v, &t));
		lines++;
		/* the next expected sample: skip series and samples outside the window */
		for (;;) {
			assert_true(si < NSERIES);
			while (k < g[si].n && g[si].s[k].t < mint)
				k++;
			if (k < g[si].n && g[si].s[k].t <= maxt)
				break;
			si++;
			k = 0;
		}
		if (strcmp(key, g[si].key) != 0)
			fail_msg("dump says %s, expected %s", key, g[si].key);
		assert_true(t == g[si].s[k].t);
		double want = g[si].s[k].v;
		if (isnan(want))
			assert_true(isnan(v));
		else if (!same_bits(v, want))
			fail_msg("%s at %lld: %.17g, expected %.17g", key, (long long)t, v, want);
		k++;
	}
	free(line);
	int rc = pclose(p);
	if (rc != 0) {
		snprintf(cmd, sizeof cmd, "cat %s >&2", errfile);
		assert_int_equal(system(cmd), 0);
	}
	assert_int_equal(rc, 0);
	/* nothing expected is left */
	size_t want_lines = 0;
	for (size_t i = 0; i < NSERIES; i++)
		for (size_t j = 0; j < g[i].n; j++)
			want_lines += g[i].s[j].t >= mint && g[i].s[j].t <= maxt;
	assert_int_equal(lines, want_lines);
}

static void promtool_reads_ours(void **state)
{
	char dir[128];
	make_tmp_root();
	snprintf(dir, sizeof dir, "%s/ours", tmp_root);
	const char *id = "01HGZ3Q5JX0000000000000001";
	struct gseries *g = write_gen_block(dir, id);
	check_dump(dir, g, INT64_MIN, INT64_MAX);
	check_dump(dir, g, T0 + 600000, T0 + 1800000);

	char cmd[512];
	snprintf(cmd, sizeof cmd, "promtool tsdb analyze --extended '%s' %s 2>&1", dir, id);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char *line = NULL;
	size_t cap = 0;
	bool saw_series = false, saw_names = false, saw_compaction = false;
	char buf[64];
	snprintf(buf, sizeof buf, "Series: %d\n", NSERIES);
	while (getline(&line, &cap, p) > 0) {
		saw_series |= strcmp(line, buf) == 0;
		saw_names |= strcmp(line, "Label names: 6\n") == 0;
		saw_compaction |= strncmp(line, "Compaction analysis", 19) == 0;
	}
	free(line);
	assert_int_equal(pclose(p), 0);
	assert_true(saw_series && saw_names && saw_compaction);
	free_gen(g);
	rm_rf(dir);
}

/* --- reading blocks back --- */

/* Brute force: does g match every matcher (regexes anchored, POSIX ERE)? */
static bool gen_matches(const struct gseries *g, const struct promql_matcher *m, size_t nm)
{
	for (size_t i = 0; i < nm; i++) {
		const char *v = series_label_get(&g->ls, m[i].name);
		if (!v)
			v = "";
		bool ok;
		if (m[i].op == PROMQL_MATCH_EQ || m[i].op == PROMQL_MATCH_NEQ) {
			ok = strcmp(v, m[i].value) == 0;
		} else {
			char pat[256];
			regex_t re;
			snprintf(pat, sizeof pat, "^(%s)$", m[i].value);
			assert_int_equal(regcomp(&re, pat, REG_EXTENDED | REG_NOSUB), 0);
			ok = regexec(&re, v, 0, NULL, 0) == 0;
			regfree(&re);
		}
		if (m[i].op == PROMQL_MATCH_NEQ || m[i].op == PROMQL_MATCH_NRE)
			ok = !ok;
		if (!ok)
			return false;
	}
	return true;
}

static void check_select(struct tsdb_block *b, struct gseries *g,
			 const struct promql_matcher *m, size_t nm, int64_t mint, int64_t maxt)
{
	char errbuf[OB_ERRLEN];
	struct ob_arena a;
	ob_arena_init(&a, 0);
	struct series_data *out = NULL;
	size_t nout = 0;
	assert_int_equal(tsdb_block_select(b, m, nm, mint, maxt, &a, &out, &nout, errbuf), OB_OK);
	size_t k = 0;
	for (size_t i = 0; i < NSERIES; i++) {
		if (!gen_matches(&g[i], m, nm))
			continue;
		size_t lo = 0, n = 0;
		while (lo < g[i].n && g[i].s[lo].t < mint)
			lo++;
		while (lo + n < g[i].n && g[i].s[lo + n].t <= maxt)
			n++;
		if (!n)
			continue;
		assert_true(k < nout);
		struct series_data *d = &out[k++];
		assert_int_equal(d->labels.n, g[i].ls.n);
		for (size_t l = 0; l < d->labels.n; l++) {
			assert_string_equal(d->labels.v[l].name, g[i].lab[l].name);
			assert_string_equal(d->labels.v[l].value, g[i].lab[l].value);
		}
		assert_int_equal(d->nf, n);
		assert_int_equal(d->nh, 0);
		for (size_t j = 0; j < n; j++) {
			assert_true(d->f[j].t == g[i].s[lo + j].t);
			assert_true(same_bits(d->f[j].v, g[i].s[lo + j].v));
		}
	}
	assert_int_equal(k, nout);
	ob_arena_release(&a);
}

static int count_walk(void *arg, const struct series_labels *ls,
		      const struct tsdb_raw_chunk *chunks, size_t nchunks)
{
	size_t *c = arg;
	c[0]++;
	for (size_t i = 0; i < nchunks; i++)
		c[1] += tsdb_chunk_count(chunks[i].data, chunks[i].len);
	return 0;
}

struct conc_arg {
	struct tsdb_block *b;
	int seed;
	int bad;
};

/* Select the same thing many times; every answer must be the first one. */
static void *conc_select(void *arg)
{
	struct conc_arg *ca = arg;
	char errbuf[OB_ERRLEN];
	char job[8];
	snprintf(job, sizeof job, "job%d", ca->seed % 5);
	struct promql_matcher m[2] = {{PROMQL_MATCH_EQ, "job", job, NULL},
				      {PROMQL_MATCH_RE, "instance", "host-[12].*", NULL}};
	size_t first_series = 0, first_samples = 0;
	for (int rep = 0; rep < 20; rep++) {
		struct ob_arena a;
		ob_arena_init(&a, 0);
		struct series_data *out = NULL;
		size_t nout = 0, ns = 0;
		if (tsdb_block_select(ca->b, m, 2, INT64_MIN, INT64_MAX, &a, &out, &nout, errbuf))
			ca->bad++;
		for (size_t i = 0; i < nout; i++)
			ns += out[i].nf;
		if (rep == 0) {
			first_series = nout;
			first_samples = ns;
			if (!nout)
				ca->bad++;
		} else if (nout != first_series || ns != first_samples) {
			ca->bad++;
		}
		ob_arena_release(&a);
	}
	return NULL;
}

static void read_ours(void **state)
{
	char dir[160], errbuf[OB_ERRLEN];
	make_tmp_root();
	snprintf(dir, sizeof dir, "%s/read", tmp_root);
	const char *id = "01HGZ3Q5JX0000000000000002";
	struct gseries *g = write_gen_block(dir, id);
	char bdir[200];
	snprintf(bdir, sizeof bdir, "%s/%s", dir, id);
	struct tsdb_block *b;
	assert_int_equal(tsdb_block_open(bdir, &b, errbuf), OB_OK);
	const struct tsdb_block_meta *meta = tsdb_block_meta_get(b);
	assert_string_equal(meta->ulid, id);
	assert_int_equal(meta->num_series, NSERIES);
	assert_int_equal(meta->level, 1);
	assert_int_equal(meta->nsources, 1);

	struct promql_matcher m[3];
	const int64_t all0 = INT64_MIN, all1 = INT64_MAX;
	m[0] = (struct promql_matcher){PROMQL_MATCH_EQ, "__name__", "metric_3", NULL};
	check_select(b, g, m, 1, all0, all1);
	m[1] = (struct promql_matcher){PROMQL_MATCH_EQ, "job", "job2", NULL};
	check_select(b, g, m, 2, all0, all1);
	check_select(b, g, m, 2, T0 + 300000, T0 + 900000);
	m[1] = (struct promql_matcher){PROMQL_MATCH_NEQ, "job", "job2", NULL};
	check_select(b, g, m, 2, all0, all1);
	m[1] = (struct promql_matcher){PROMQL_MATCH_RE, "instance", "host-1[0-9]*:9100", NULL};
	check_select(b, g, m, 2, all0, all1);
	m[1] = (struct promql_matcher){PROMQL_MATCH_NRE, "job", "job[12]", NULL};
	m[2] = (struct promql_matcher){PROMQL_MATCH_RE, "a_zone", "zone [0-2]", NULL};
	check_select(b, g, m, 3, all0, all1);
	/* matchers on absent labels: = "" and != "" and =~ "" */
	m[1] = (struct promql_matcher){PROMQL_MATCH_EQ, "method", "", NULL};
	check_select(b, g, m, 2, all0, all1);
	m[1] = (struct promql_matcher){PROMQL_MATCH_NEQ, "method", "", NULL};
	check_select(b, g, m, 2, all0, all1);
	m[1] = (struct promql_matcher){PROMQL_MATCH_RE, "z", "|x=1.*", NULL};
	check_select(b, g, m, 2, all0, all1);
	m[0] = (struct promql_matcher){PROMQL_MATCH_RE, "__name__", ".+", NULL};
	check_select(b, g, m, 1, T0 + 2000000, T0 + 2100000);
	m[0] = (struct promql_matcher){PROMQL_MATCH_EQ, "nosuch", "x", NULL};
	check_select(b, g, m, 1, all0, all1);
	m[0] = (struct promql_matcher){PROMQL_MATCH_EQ, "job", "nosuch", NULL};
	check_select(b, g, m, 1, all0, all1);

	struct ob_arena a;
	ob_arena_init(&a, 0);
	const char **v;
	size_t n;
	assert_int_equal(tsdb_block_label_names(b, &a, &v, &n, errbuf), OB_OK);
	assert_int_equal(n, 6);
	for (size_t i = 0; i < 6; i++)
		assert_string_equal(v[i], names_pool[i]);
	assert_int_equal(tsdb_block_label_values(b, "job", &a, &v, &n, errbuf), OB_OK);
	assert_int_equal(n, 5);
	assert_string_equal(v[0], "job0");
	assert_string_equal(v[4], "job4");
	assert_int_equal(tsdb_block_label_values(b, "instance", &a, &v, &n, errbuf), OB_OK);
	assert_int_equal(n, NSERIES);
	assert_int_equal(tsdb_block_label_values(b, "nosuch", &a, &v, &n, errbuf), OB_OK);
	assert_int_equal(n, 0);
	ob_arena_release(&a);

	/* four threads selecting at once see what one sees */
	pthread_t th[4];
	struct conc_arg ca[4];
	for (int i = 0; i < 4; i++) {
		ca[i] = (struct conc_arg){b, i, 0};
		assert_int_equal(pthread_create(&th[i], NULL, conc_select, &ca[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(ca[i].bad, 0);
	}

	size_t counts[2] = {0, 0}, samples = 0;
	assert_int_equal(tsdb_block_walk(b, count_walk, counts, errbuf), OB_OK);
	for (size_t i = 0; i < NSERIES; i++)
		samples += g[i].n;
	assert_int_equal(counts[0], NSERIES);
	assert_int_equal(counts[1], samples);
	assert_int_equal(meta->num_samples, samples);
	tsdb_block_close(b);

	/* a flipped byte in the index is found at open; in a chunk, at select */
	char path[300];
	snprintf(path, sizeof path, "%s/index", bdir);
	FILE *f = fopen(path, "r+");
	assert_non_null(f);
	fseek(f, 20, SEEK_SET);
	int c = fgetc(f);
	fseek(f, 20, SEEK_SET);
	fputc(c ^ 0x40, f);
	fclose(f);
	assert_int_equal(tsdb_block_open(bdir, &b, errbuf), OB_ECORRUPT);
	assert_non_null(strstr(errbuf, "index"));
	f = fopen(path, "r+");
	fseek(f, 20, SEEK_SET);
	fputc(c, f);
	fclose(f);
	snprintf(path, sizeof path, "%s/chunks/000001", bdir);
	f = fopen(path, "r+");
	assert_non_null(f);
	fseek(f, 40, SEEK_SET);
	c = fgetc(f);
	fseek(f, 40, SEEK_SET);
	fputc(c ^ 0x01, f);
	fclose(f);
	assert_int_equal(tsdb_block_open(bdir, &b, errbuf), OB_OK);
	m[0] = (struct promql_matcher){PROMQL_MATCH_RE, "__name__", ".+", NULL};
	ob_arena_init(&a, 0);
	struct series_data *out = NULL;
	size_t nout = 0;
	assert_int_equal(tsdb_block_select(b, m, 1, all0, all1, &a, &out, &nout, errbuf),
			 OB_ECORRUPT);
	ob_arena_release(&a);
	tsdb_block_close(b);
	free_gen(g);
	rm_rf(dir);
}

/* --- promtool's blocks read by obstui --- */

enum { OM_FAMILIES = 3, OM_SERIES = 40, OM_SAMPLES = 150 };

struct om_series {
	char name[32], job[16], inst[32];
	int64_t t[OM_SAMPLES];
	double v[OM_SAMPLES];
	size_t got;
};

static void ours_reads_promtool(void **state)
{
	char dir[160], file[200], cmd[600], errbuf[OB_ERRLEN];
	make_tmp_root();
	snprintf(dir, sizeof dir, "%s/imported", tmp_root);
	snprintf(file, sizeof file, "%s/input.om", tmp_root);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	struct om_series *sv = ob_xcalloc(OM_FAMILIES * OM_SERIES, sizeof *sv);
	/* starts 20 minutes before a 2h boundary, so promtool cuts two blocks */
	int64_t start = (1700000000000ll / 7200000 + 1) * 7200000 - 1200000;
	for (int fam = 0; fam < OM_FAMILIES; fam++) {
		fprintf(f, "# HELP fam_%d a family\n# TYPE fam_%d gauge\n", fam, fam);
		for (int i = 0; i < OM_SERIES; i++) {
			struct om_series *x = &sv[fam * OM_SERIES + i];
			snprintf(x->name, sizeof x->name, "fam_%d", fam);
			snprintf(x->job, sizeof x->job, "job%d", i % 4);
			snprintf(x->inst, sizeof x->inst, "10.0.%d.%d:80", fam, i);
			int64_t t = start + i * 7;
			for (int k = 0; k < OM_SAMPLES; k++) {
				t += 10000 + (k % 9 == 4 ? 1234 : 0);
				double v;
				switch ((k + i) % 13) {
				case 0: v = NAN; break;
				case 1: v = INFINITY; break;
				case 2: v = -1.0 / 3; break;
				case 3: v = 1e21 * k; break;
				default: v = k * (i + 1) + 0.5 * (k % 3); break;
				}
				char vs[40];
				if (isnan(v))
					strcpy(vs, "NaN");
				else if (isinf(v))
					strcpy(vs, v > 0 ? "+Inf" : "-Inf");
				else
					snprintf(vs, sizeof vs, "%.17g", v);
				x->t[k] = t;
				x->v[k] = isnan(v) || isinf(v) ? v : strtod(vs, NULL);
				fprintf(f, "%s{instance=\"%s\",job=\"%s\"} %s %lld.%03lld\n", x->name,
					x->inst, x->job, vs, (long long)(t / 1000), (long long)(t % 1000));
			}
		}
	}
	fprintf(f, "# EOF\n");
	fclose(f);
	snprintf(cmd, sizeof cmd,
		 "promtool tsdb create-blocks-from openmetrics '%s' '%s' >%s/import.log 2>&1 || "
		 "(cat %s/import.log >&2; exit 1)",
		 file, dir, tmp_root, tmp_root);
	assert_int_equal(system(cmd), 0);

	/* every block promtool made, every sample in it */
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	int nblocks = 0;
	size_t total = 0;
	while ((e = readdir(d))) {
		if (strlen(e->d_name) != 26)
			continue;
		char bdir[512];
		snprintf(bdir, sizeof bdir, "%s/%s", dir, e->d_name);
		struct tsdb_block *b;
		if (tsdb_block_open(bdir, &b, errbuf) != OB_OK)
			fail_msg("open %s: %s", bdir, errbuf);
		nblocks++;
		const struct tsdb_block_meta *meta = tsdb_block_meta_get(b);
		struct promql_matcher m = {PROMQL_MATCH_RE, "__name__", "fam_.*", NULL};
		struct ob_arena a;
		ob_arena_init(&a, 0);
		struct series_data *out = NULL;
		size_t nout = 0;
		assert_int_equal(tsdb_block_select(b, &m, 1, INT64_MIN, INT64_MAX, &a, &out, &nout,
						   errbuf),
				 OB_OK);
		assert_int_equal(nout, meta->num_series);
		for (size_t i = 0; i < nout; i++) {
			const char *name = series_label_get(&out[i].labels, "__name__");
			const char *inst = series_label_get(&out[i].labels, "instance");
			const char *job = series_label_get(&out[i].labels, "job");
			assert_non_null(name);
			assert_non_null(inst);
			assert_non_null(job);
			assert_int_equal(out[i].labels.n, 3);
			struct om_series *x = NULL;
			for (size_t k = 0; k < OM_FAMILIES * OM_SERIES && !x; k++)
				if (!strcmp(sv[k].name, name) && !strcmp(sv[k].inst, inst))
					x = &sv[k];
			assert_non_null(x);
			assert_string_equal(x->job, job);
			for (size_t k = 0; k < out[i].nf; k++) {
				/* the sample with this time, wherever it is */
				size_t at = 0;
				while (at < OM_SAMPLES && x->t[at] != out[i].f[k].t)
					at++;
				assert_true(at < OM_SAMPLES);
				assert_true(out[i].f[k].t >= meta->min_time &&
					    out[i].f[k].t < meta->max_time);
				if (isnan(x->v[at]))
					assert_true(isnan(out[i].f[k].v));
				else
					assert_true(same_bits(out[i].f[k].v, x->v[at]));
				x->got++;
				total++;
			}
		}
		ob_arena_release(&a);
		tsdb_block_close(b);
	}
	closedir(d);
	assert_true(nblocks >= 2);
	for (size_t k = 0; k < OM_FAMILIES * OM_SERIES; k++)
		assert_int_equal(sv[k].got, OM_SAMPLES);
	assert_int_equal(total, OM_FAMILIES * OM_SERIES * OM_SAMPLES);
	free(sv);
	rm_rf(dir);
}


/*
 * Prometheus 2.42 itself as the oracle for histogram chunks (promtool 2.42
 * cannot dump them): serve the block from a private Prometheus on
 * 127.0.0.1 and compare what its query API says, bucket by bucket.
 */
static pid_t prom_pid;

static void prom_stop(void)
{
	if (prom_pid > 0) {
		kill(prom_pid, SIGTERM);
		waitpid(prom_pid, NULL, 0);
		prom_pid = 0;
	}
}

/* Run curl on url with the query parameters; the body as JSON, or NULL. */
static json_t *prom_get(int port, const char *query, const char *time)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
		 "curl -s -m 20 -G 'http://127.0.0.1:%d/api/v1/query' --data-urlencode 'query=%s' "
		 "--data-urlencode 'time=%s'",
		 port, query, time);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	json_error_t je;
	json_t *j = json_loadf(p, 0, &je);
	pclose(p);
	return j;
}

static int prom_start(const char *datadir)
{
	char cfg[200], log[200], flag_cfg[256], flag_data[300], flag_addr[64];
	snprintf(cfg, sizeof cfg, "%s/prom.yml", tmp_root);
	snprintf(log, sizeof log, "%s/prom.log", tmp_root);
	FILE *f = fopen(cfg, "w");
	assert_non_null(f);
	fputs("global:\n  scrape_interval: 1h\n", f);
	fclose(f);
	int port = 20000 + (int)(getpid() % 20000);
	snprintf(flag_cfg, sizeof flag_cfg, "--config.file=%s", cfg);
	snprintf(flag_data, sizeof flag_data, "--storage.tsdb.path=%s", datadir);
	snprintf(flag_addr, sizeof flag_addr, "--web.listen-address=127.0.0.1:%d", port);
	prom_pid = fork();
	assert_true(prom_pid >= 0);
	if (prom_pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execlp("prometheus", "prometheus", flag_cfg, flag_data, flag_addr,
		       "--enable-feature=native-histograms", "--storage.tsdb.retention.time=36500d",
		       (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 150; i++) {
		char cmd[256];
		snprintf(cmd, sizeof cmd,
			 "curl -sf -m 2 -o /dev/null http://127.0.0.1:%d/-/ready 2>/dev/null", port);
		if (system(cmd) == 0)
			return port;
		if (waitpid(prom_pid, NULL, WNOHANG) == prom_pid) {
			prom_pid = 0;
			snprintf(cmd, sizeof cmd, "cat %s >&2", log);
			(void)system(cmd);
			fail_msg("prometheus exited (is it installed?)");
		}
		usleep(100000);
	}
	prom_stop();
	fail_msg("prometheus did not get ready in 15 s");
	return -1;
}

static double jnum(json_t *s)
{
	assert_true(json_is_string(s));
	const char *t = json_string_value(s);
	if (!strcmp(t, "NaN"))
		return NAN;
	return strtod(t, NULL);
}

static void near(double got, double want)
{
	if (!(fabs(got - want) <= 1e-12 * fabs(want)))
		fail_msg("bucket bound %.17g, expected %.17g", got, want);
}

/* One histogram as the API prints it: count, sum, buckets [rule, lo, hi, count]. */
static void prom_check_hist(json_t *j, const struct series_histogram *h)
{
	assert_true(json_is_object(j));
	assert_true(jnum(json_object_get(j, "count")) == h->count);
	assert_true(same_bits(jnum(json_object_get(j, "sum")), h->sum));
	json_t *bk = json_object_get(j, "buckets");
	size_t k = 0;
	double base = pow(2, pow(2, -h->schema));
	/* negative buckets from the most negative, the zero bucket, positive ones */
	for (int side = 0; side < 3; side++) {
		const struct series_span *sp = side == 0 ? h->neg_spans : h->pos_spans;
		size_t nsp = side == 0 ? h->nneg_spans : h->npos_spans;
		const double *cnt = side == 0 ? h->neg : h->pos;
		if (side == 1) {
			if (h->zero_count > 0) {
				json_t *b = json_array_get(bk, k++);
				near(jnum(json_array_get(b, 1)), -h->zero_threshold);
				near(jnum(json_array_get(b, 2)), h->zero_threshold);
				assert_true(jnum(json_array_get(b, 3)) == h->zero_count);
			}
			continue;
		}
		size_t nb = side == 0 ? h->nneg : h->npos;
		int32_t *idx = ob_xmalloc((nb + 1) * sizeof *idx);
		int32_t at = 0;
		size_t n = 0;
		for (size_t s = 0; s < nsp; s++) {
			at += sp[s].offset;
			for (uint32_t l = 0; l < sp[s].length; l++)
				idx[n++] = at++;
		}
		for (size_t q = 0; q < nb; q++) {
			size_t b_i = side == 0 ? nb - 1 - q : q;
			if (cnt[b_i] == 0)
				continue;
			json_t *b = json_array_get(bk, k++);
			double up = pow(base, idx[b_i]), lo = pow(base, idx[b_i] - 1);
			near(jnum(json_array_get(b, 1)), side == 0 ? -up : lo);
			near(jnum(json_array_get(b, 2)), side == 0 ? -lo : up);
			assert_true(jnum(json_array_get(b, 3)) == cnt[b_i]);
		}
		free(idx);
	}
	assert_int_equal(k, json_array_size(bk));
}

/* Histogram series (integer and float chunks, custom buckets) through a block. */
static void hist_block(void **state)
{
	char dir[160], bdir[220], errbuf[OB_ERRLEN];
	make_tmp_root();
	snprintf(dir, sizeof dir, "%s/hist", tmp_root);
	const char *id = "01HGZ3Q5JX0000000000000003";
	struct tsdb_block_writer *w;
	assert_int_equal(tsdb_block_writer_new(dir, id, &w, errbuf), OB_OK);
	enum { NS = 30, NH = 200 };
	struct htest *want = ob_xcalloc((size_t)NS * NH, sizeof *want);
	struct series_label lab[NS][2];
	char names[NS][16];
	for (int s = 0; s < NS; s++) {
		snprintf(names[s], sizeof names[s], "h%02d", s);
		lab[s][0] = (struct series_label){"__name__", "req_seconds"};
		lab[s][1] = (struct series_label){"shard", names[s]};
		struct series_labels ls = {lab[s], 2};
		bool is_int = s % 2 == 0;
		int shape = s % 3;
		struct tsdb_chunk ch[8];
		size_t nch = 0;
		for (int i = 0; i < NH; i++) {
			struct htest *x = &want[s * NH + i];
			/* the layout changes half-way, and counts reset at i = 150 */
			make_hist(x, i < 100 ? shape : (shape + 1) % 3, i < 150 ? i + 1 : i - 140,
				  is_int);
			x->h.t = T0 + (int64_t)i * 10000 + s;
			if (nch == 0 || ch[nch - 1].nsamples == TSDB_SAMPLES_PER_CHUNK ||
			    !tsdb_chunk_append_hist(&ch[nch - 1], &x->h)) {
				if (nch)
					tsdb_chunk_seal(&ch[nch - 1]);
				tsdb_chunk_init(&ch[nch++], is_int ? TSDB_ENC_HISTOGRAM
								 : TSDB_ENC_FLOAT_HISTOGRAM);
				assert_true(tsdb_chunk_append_hist(&ch[nch - 1], &x->h));
			}
		}
		assert_true(nch >= 3); /* 120 samples, layout change, reset */
		assert_int_equal(tsdb_block_writer_add(w, &ls, ch, nch, errbuf), OB_OK);
	}
	/* two series whose buckets grow inside their chunk (rewritten in the union layout) */
	static double gvals[2][60][16];
	static struct series_span gsp[2][60][2];
	static struct series_histogram gh[2][60];
	static struct series_label glab[2][2] = {{{"__name__", "grow"}, {"kind", "int"}},
						 {{"__name__", "grow"}, {"kind", "float"}}};
	for (int k = 0; k < 2; k++) {
		struct tsdb_chunk gc;
		tsdb_chunk_init(&gc, k == 0 ? TSDB_ENC_HISTOGRAM : TSDB_ENC_FLOAT_HISTOGRAM);
		for (int i = 0; i < 60; i++) {
			make_growing(&gh[k][i], gvals[k][i], gsp[k][i], i, k == 0, false);
			gh[k][i].t += T0;
			assert_true(tsdb_chunk_append_hist(&gc, &gh[k][i]));
		}
		struct series_labels gls = {glab[k], 2};
		assert_int_equal(tsdb_block_writer_add(w, &gls, &gc, 1, errbuf), OB_OK);
	}
	assert_int_equal(tsdb_block_writer_finish(w, NULL, errbuf), OB_OK);
	snprintf(bdir, sizeof bdir, "%s/%s", dir, id);
	struct tsdb_block *b;
	assert_int_equal(tsdb_block_open(bdir, &b, errbuf), OB_OK);
	struct promql_matcher m = {PROMQL_MATCH_EQ, "__name__", "req_seconds", NULL};
	struct ob_arena a;
	ob_arena_init(&a, 0);
	struct series_data *out = NULL;
	size_t nout = 0;
	assert_int_equal(tsdb_block_select(b, &m, 1, INT64_MIN, INT64_MAX, &a, &out, &nout, errbuf),
			 OB_OK);
	assert_int_equal(nout, NS);
	for (int s = 0; s < NS; s++) {
		assert_string_equal(series_label_get(&out[s].labels, "shard"), names[s]);
		assert_int_equal(out[s].nf, 0);
		assert_int_equal(out[s].nh, NH);
		for (int i = 0; i < NH; i++)
			assert_hist_equal(&out[s].h[i], &want[s * NH + i].h);
	}
	/* a window in the middle */
	nout = 0;
	assert_int_equal(tsdb_block_select(b, &m, 1, T0 + 500000, T0 + 1000000, &a, &out, &nout,
					   errbuf),
			 OB_OK);
	assert_int_equal(nout, NS);
	assert_int_equal(out[0].nh, 51); /* 50..100, both ends */
	assert_hist_equal(&out[0].h[0], &want[50].h);
	ob_arena_release(&a);
	/* promtool reads the chunks' framing (it cannot decode histograms in 2.42) */
	char cmd[512];
	snprintf(cmd, sizeof cmd, "promtool tsdb analyze --extended '%s' %s >/dev/null 2>&1", dir,
		 id);
	assert_int_equal(system(cmd), 0);
	tsdb_block_close(b);

	/* Prometheus 2.42 decodes the same histograms (schemas 0 and 3; it
	 * predates custom buckets, so series that have them are left out) */
	int port = prom_start(dir);
	char query[600], when[40];
	snprintf(when, sizeof when, "%lld.5", (long long)((T0 + NH * 10000) / 1000));
	for (int s = 0; s < NS; s += 3) {
		snprintf(query, sizeof query, "req_seconds{shard=\"%s\"}[%ds]", names[s],
			 NH * 10 + 5);
		json_t *r = prom_get(port, query, when);
		if (!r)
			fail_msg("no answer from prometheus for %s", query);
		json_t *res = json_object_get(json_object_get(r, "data"), "result");
		assert_int_equal(json_array_size(res), 1);
		json_t *hs = json_object_get(json_array_get(res, 0), "histograms");
		assert_int_equal(json_array_size(hs), NH);
		for (int i = 0; i < NH; i++) {
			json_t *pt = json_array_get(hs, (size_t)i);
			double ts = json_number_value(json_array_get(pt, 0));
			assert_true(llround(ts * 1000) == want[s * NH + i].h.t);
			prom_check_hist(json_array_get(pt, 1), &want[s * NH + i].h);
		}
		json_decref(r);
	}
	/* the growing series: Prometheus and our reader agree, sample by sample */
	struct tsdb_block *b2;
	assert_int_equal(tsdb_block_open(bdir, &b2, errbuf), OB_OK);
	struct promql_matcher gm = {PROMQL_MATCH_EQ, "__name__", "grow", NULL};
	ob_arena_init(&a, 0);
	nout = 0;
	assert_int_equal(tsdb_block_select(b2, &gm, 1, INT64_MIN, INT64_MAX, &a, &out, &nout,
					   errbuf),
			 OB_OK);
	assert_int_equal(nout, 2);
	snprintf(when, sizeof when, "%lld", (long long)(T0 / 1000 + 61));
	for (size_t k = 0; k < 2; k++) {
		snprintf(query, sizeof query, "grow{kind=\"%s\"}[70s]",
			 series_label_get(&out[k].labels, "kind"));
		json_t *r = prom_get(port, query, when);
		assert_non_null(r);
		json_t *res = json_object_get(json_object_get(r, "data"), "result");
		json_t *hs = json_object_get(json_array_get(res, 0), "histograms");
		assert_int_equal(json_array_size(hs), 60);
		assert_int_equal(out[k].nh, 60);
		for (size_t i = 0; i < 60; i++)
			prom_check_hist(json_array_get(json_array_get(hs, i), 1), &out[k].h[i]);
		json_decref(r);
	}
	ob_arena_release(&a);
	tsdb_block_close(b2);
	prom_stop();
	free(want);
	rm_rf(dir);
}

/* Segments cut small: chunk references across several files, read by promtool and us. */
static void small_segments(void **state)
{
	char dir[160], bdir[220], errbuf[OB_ERRLEN];
	make_tmp_root();
	snprintf(dir, sizeof dir, "%s/segs", tmp_root);
	tsdb_segment_max = 64 << 10;
	struct gseries *g = write_gen_block(dir, "01HGZ3Q5JX0000000000000004");
	tsdb_segment_max = TSDB_SEGMENT_MAX;
	snprintf(bdir, sizeof bdir, "%s/01HGZ3Q5JX0000000000000004/chunks/000005", dir);
	struct stat st;
	assert_int_equal(stat(bdir, &st), 0);
	assert_true(st.st_size <= 64 << 10);
	check_dump(dir, g, INT64_MIN, INT64_MAX);
	snprintf(bdir, sizeof bdir, "%s/01HGZ3Q5JX0000000000000004", dir);
	struct tsdb_block *b;
	assert_int_equal(tsdb_block_open(bdir, &b, errbuf), OB_OK);
	struct promql_matcher m = {PROMQL_MATCH_NEQ, "job", "job1", NULL};
	check_select(b, g, &m, 1, INT64_MIN, INT64_MAX);
	tsdb_block_close(b);
	free_gen(g);
	rm_rf(dir);
}

/* meta.json: what we write parses back; Thanos's section and compaction survive. */
static void meta_json(void **state)
{
	char errbuf[OB_ERRLEN];
	const char *text =
		"{\"ulid\":\"01HGZ3Q5JX0000000000000005\",\"minTime\":-5,\"maxTime\":7200000,"
		"\"stats\":{\"numSamples\":10,\"numSeries\":2,\"numChunks\":3},"
		"\"compaction\":{\"level\":3,\"sources\":[\"01HGZ3Q5JX0000000000000001\","
		"\"01HGZ3Q5JX0000000000000002\"],\"hints\":[\"from-out-of-order\"]},"
		"\"version\":1,\"thanos\":{\"labels\":{\"replica\":\"a\"},\"downsample\":"
		"{\"resolution\":0},\"source\":\"sidecar\"}}";
	struct tsdb_block_meta m, back;
	assert_int_equal(tsdb_meta_parse(text, strlen(text), &m, errbuf), OB_OK);
	assert_string_equal(m.ulid, "01HGZ3Q5JX0000000000000005");
	assert_true(m.min_time == -5 && m.max_time == 7200000);
	assert_int_equal(m.num_samples, 10);
	assert_int_equal(m.num_series, 2);
	assert_int_equal(m.num_chunks, 3);
	assert_int_equal(m.level, 3);
	assert_int_equal(m.nsources, 2);
	assert_string_equal(m.sources[1], "01HGZ3Q5JX0000000000000002");
	assert_true(m.out_of_order);
	assert_non_null(strstr(m.thanos_json, "\"replica\":\"a\""));
	char *out = tsdb_meta_format(&m, errbuf);
	assert_non_null(out);
	assert_int_equal(tsdb_meta_parse(out, strlen(out), &back, errbuf), OB_OK);
	assert_string_equal(back.thanos_json, m.thanos_json);
	assert_int_equal(back.level, 3);
	assert_int_equal(back.nsources, 2);
	assert_true(back.out_of_order);
	free(out);
	tsdb_meta_release(&back);
	tsdb_meta_release(&m);
	const char *bad[] = {"", "[]", "{\"ulid\":\"x\",\"minTime\":1,\"maxTime\":2,\"version\":1}",
			     "{\"ulid\":\"01HGZ3Q5JX0000000000000005\",\"minTime\":1,\"maxTime\":2,"
			     "\"version\":2}"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_not_equal(tsdb_meta_parse(bad[i], strlen(bad[i]), &m, errbuf), OB_OK);
}

/* A series added twice is one series; an empty block opens; a bad id is refused. */
static void writer_edges(void **state)
{
	char dir[160], bdir[220], errbuf[OB_ERRLEN];
	make_tmp_root();
	snprintf(dir, sizeof dir, "%s/edges", tmp_root);
	struct tsdb_block_writer *w;
	assert_int_equal(tsdb_block_writer_new(dir, "not-a-ulid", &w, errbuf), OB_EINVAL);
	struct series_label l[2] = {{"job", "x"}, {"__name__", "up"}}; /* unsorted on purpose */
	struct series_labels ls = {l, 2};
	struct tsdb_chunk c[2];
	assert_int_equal(tsdb_block_writer_new(dir, "01HGZ3Q5JX0000000000000006", &w, errbuf),
			 OB_OK);
	for (int k = 1; k >= 0; k--) {
		tsdb_chunk_init(&c[0], TSDB_ENC_XOR);
		for (int i = 0; i < 10; i++)
			tsdb_chunk_append(&c[0], k * 100000 + i * 1000, k * 10 + i);
		assert_int_equal(tsdb_block_writer_add(w, &ls, c, 1, errbuf), OB_OK);
	}
	struct tsdb_block_meta meta = {.level = 2, .min_time = 0, .max_time = 7200000};
	char src[2][27] = {"01HGZ3Q5JX0000000000000001", "01HGZ3Q5JX0000000000000002"};
	meta.sources = src;
	meta.nsources = 2;
	assert_int_equal(tsdb_block_writer_finish(w, &meta, errbuf), OB_OK);
	snprintf(bdir, sizeof bdir, "%s/01HGZ3Q5JX0000000000000006", dir);
	struct tsdb_block *b;
	assert_int_equal(tsdb_block_open(bdir, &b, errbuf), OB_OK);
	const struct tsdb_block_meta *mm = tsdb_block_meta_get(b);
	assert_int_equal(mm->num_series, 1);
	assert_int_equal(mm->num_chunks, 2);
	assert_int_equal(mm->level, 2);
	assert_int_equal(mm->nsources, 2);
	assert_true(mm->max_time == 7200000);
	struct promql_matcher m = {PROMQL_MATCH_EQ, "__name__", "up", NULL};
	struct ob_arena a;
	ob_arena_init(&a, 0);
	struct series_data *out = NULL;
	size_t nout = 0;
	assert_int_equal(tsdb_block_select(b, &m, 1, INT64_MIN, INT64_MAX, &a, &out, &nout, errbuf),
			 OB_OK);
	assert_int_equal(nout, 1);
	assert_int_equal(out[0].nf, 20);
	assert_string_equal(out[0].labels.v[0].name, "__name__");
	for (int i = 0; i < 20; i++)
		assert_true(out[0].f[i].t == (i / 10) * 100000 + (i % 10) * 1000);
	/* the same block again is refused; overlapping chunks of one series are too */
	assert_int_equal(tsdb_block_writer_new(dir, "01HGZ3Q5JX0000000000000006", &w, errbuf),
			 OB_EINVAL);
	tsdb_block_close(b);

	assert_int_equal(tsdb_block_writer_new(dir, "01HGZ3Q5JX0000000000000008", &w, errbuf),
			 OB_OK);
	for (int k = 0; k < 2; k++) {
		tsdb_chunk_init(&c[k], TSDB_ENC_XOR);
		tsdb_chunk_append(&c[k], 5000, 1);
	}
	assert_int_equal(tsdb_block_writer_add(w, &ls, c, 2, errbuf), OB_EINVAL);
	tsdb_block_writer_abort(w);
	snprintf(bdir, sizeof bdir, "%s/01HGZ3Q5JX0000000000000008.tmp", dir);
	struct stat st;
	assert_int_not_equal(stat(bdir, &st), 0); /* abort leaves nothing */

	/* a series that switched between floats and histograms: chunks of the
	 * two kinds overlap in time, and both come back */
	assert_int_equal(tsdb_block_writer_new(dir, "01HGZ3Q5JX000000000000000A", &w, errbuf),
			 OB_OK);
	struct tsdb_chunk mix[3];
	tsdb_chunk_init(&mix[0], TSDB_ENC_XOR);
	tsdb_chunk_append(&mix[0], 1000, 1);
	tsdb_chunk_append(&mix[0], 9000, 2);
	tsdb_chunk_init(&mix[1], TSDB_ENC_FLOAT_HISTOGRAM);
	struct htest hx;
	make_hist(&hx, 0, 3, false);
	hx.h.t = 5000;
	assert_true(tsdb_chunk_append_hist(&mix[1], &hx.h));
	tsdb_chunk_init(&mix[2], TSDB_ENC_XOR);
	tsdb_chunk_append(&mix[2], 10000, 3);
	assert_int_equal(tsdb_block_writer_add(w, &ls, mix, 3, errbuf), OB_OK);
	assert_int_equal(tsdb_block_writer_finish(w, NULL, errbuf), OB_OK);
	snprintf(bdir, sizeof bdir, "%s/01HGZ3Q5JX000000000000000A", dir);
	assert_int_equal(tsdb_block_open(bdir, &b, errbuf), OB_OK);
	nout = 0;
	assert_int_equal(tsdb_block_select(b, &m, 1, INT64_MIN, INT64_MAX, &a, &out, &nout, errbuf),
			 OB_OK);
	assert_int_equal(nout, 1);
	assert_int_equal(out[0].nf, 3);
	assert_int_equal(out[0].nh, 1);
	assert_true(out[0].f[1].t == 9000 && out[0].f[2].t == 10000 && out[0].h[0].t == 5000);
	tsdb_block_close(b);

	/* an empty block */
	assert_int_equal(tsdb_block_writer_new(dir, "01HGZ3Q5JX0000000000000009", &w, errbuf),
			 OB_OK);
	assert_int_equal(tsdb_block_writer_finish(w, NULL, errbuf), OB_OK);
	snprintf(bdir, sizeof bdir, "%s/01HGZ3Q5JX0000000000000009", dir);
	assert_int_equal(tsdb_block_open(bdir, &b, errbuf), OB_OK);
	nout = 0;
	assert_int_equal(tsdb_block_select(b, &m, 1, INT64_MIN, INT64_MAX, &a, &out, &nout, errbuf),
			 OB_OK);
	assert_int_equal(nout, 0);
	const char **v;
	size_t n;
	assert_int_equal(tsdb_block_label_names(b, &a, &v, &n, errbuf), OB_OK);
	assert_int_equal(n, 0);
	tsdb_block_close(b);
	ob_arena_release(&a);
	rm_rf(dir);
}

/*
 * Deleted samples: a tombstones file (written here in the format
 * tombstones.md gives) makes promtool and our reader leave out the same
 * samples.
 */
static void tombstones(void **state)
{
	char dir[160], bdir[220], path[300], errbuf[OB_ERRLEN];
	make_tmp_root();
	snprintf(dir, sizeof dir, "%s/tomb", tmp_root);
	const char *id = "01HGZ3Q5JX000000000000000B";
	struct gseries *g = write_gen_block(dir, id);
	snprintf(bdir, sizeof bdir, "%s/%s", dir, id);
	/* series ids in index order, which is g's order */
	uint8_t *ixdata;
	size_t ixlen;
	snprintf(path, sizeof path, "%s/index", bdir);
	assert_int_equal(ob_file_read(path, 1 << 30, &ixdata, &ixlen, errbuf), OB_OK);
	struct tsdb_index ix;
	assert_int_equal(tsdb_index_parse(ixdata, ixlen, &ix, errbuf), OB_OK);
	const uint8_t *refs;
	uint32_t nrefs;
	assert_true(tsdb_index_postings(&ix, ix.all_off, &refs, &nrefs));
	assert_int_equal(nrefs, NSERIES);
	uint8_t body[64 * 1024];
	size_t n = 0;
	for (int i = 0; i < NSERIES; i += 7) {
		uint32_t ref = (uint32_t)refs[4 * i] << 24 | (uint32_t)refs[4 * i + 1] << 16 |
			       (uint32_t)refs[4 * i + 2] << 8 | refs[4 * i + 3];
		/* delete a middle stretch of series i, and all of every 21st */
		int64_t lo = i % 21 ? g[i].s[g[i].n / 3].t : INT64_MIN;
		int64_t hi = i % 21 ? g[i].s[g[i].n / 2].t : INT64_MAX;
		n += ob_put_uvarint(body + n, ref);
		n += ob_put_varint(body + n, lo);
		n += ob_put_varint(body + n, hi);
		size_t k = 0;
		for (size_t j = 0; j < g[i].n; j++)
			if (g[i].s[j].t < lo || g[i].s[j].t > hi)
				g[i].s[k++] = g[i].s[j];
		g[i].n = k;
	}
	tsdb_index_release(&ix);
	free(ixdata);
	snprintf(path, sizeof path, "%s/tombstones", bdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	uint8_t head[5] = {0x01, 0x30, 0xBA, 0x30, 1}, crc[4];
	uint32_t c = ob_crc32c(0, body, n);
	crc[0] = (uint8_t)(c >> 24);
	crc[1] = (uint8_t)(c >> 16);
	crc[2] = (uint8_t)(c >> 8);
	crc[3] = (uint8_t)c;
	fwrite(head, 1, 5, f);
	fwrite(body, 1, n, f);
	fwrite(crc, 1, 4, f);
	fclose(f);
	/* series left with no samples are not in promtool's output nor ours */
	check_dump(dir, g, INT64_MIN, INT64_MAX);
	struct tsdb_block *b;
	assert_int_equal(tsdb_block_open(bdir, &b, errbuf), OB_OK);
	struct promql_matcher m = {PROMQL_MATCH_RE, "__name__", ".*", NULL};
	check_select(b, g, &m, 1, INT64_MIN, INT64_MAX);
	size_t counts[2] = {0, 0};
	assert_int_equal(tsdb_block_walk(b, count_walk, counts, errbuf), OB_EUNSUPPORTED);
	tsdb_block_close(b);
	free_gen(g);
	rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crc_and_varints),
		cmocka_unit_test(xor_patterns),
		cmocka_unit_test(hist_chunks),
		cmocka_unit_test(hist_growing_buckets),
		cmocka_unit_test(promtool_reads_ours),
		cmocka_unit_test(read_ours),
		cmocka_unit_test(ours_reads_promtool),
		cmocka_unit_test(hist_block),
		cmocka_unit_test(small_segments),
		cmocka_unit_test(meta_json),
		cmocka_unit_test(writer_edges),
		cmocka_unit_test(tombstones),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (tmp_root[0] && !getenv("KEEP"))
		rm_rf(tmp_root);
	return rc;
}
