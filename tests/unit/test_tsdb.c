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
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/crc32c.h"
#include "core/mem.h"
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crc_and_varints),
		cmocka_unit_test(xor_patterns),
		cmocka_unit_test(hist_chunks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
