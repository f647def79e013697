/*
 * tsdb_chunk_hist.c - Prometheus's native histogram chunks, integer
 * (TSDB_ENC_HISTOGRAM) and float (TSDB_ENC_FLOAT_HISTOGRAM).  Facts from
 * tsdb/docs/format/chunks.md and tsdb/chunkenc/{histogram,float_histogram,
 * histogram_meta,varbit}.go; the code is ours.
 *
 *	num_samples     <uint16 BE>
 *	flags           <1 byte>  top two bits: 10 counter reset before this
 *	                chunk, 01 no reset, 00 unknown, 11 gauge histogram
 *	zero_threshold  <1 byte>  0: zero; 1..254: 2^(b-243-1), i.e. a power
 *	                of two 2^-243..2^10; 255: then <64 bits> the float
 *	schema          <varbit_int>
 *	pos spans       <varbit_uint n> then n x (length <varbit_uint>,
 *	                offset <varbit_int>)
 *	neg spans       the same
 *	custom values   schema -53 only: <varbit_uint n>, then n bounds: x*1000
 *	                integral and in 0..33554430 -> <varbit_uint x*1000+1>,
 *	                else '0' + <64 bits> of x
 *	samples:
 *	 integer   #0   t <varbit_int>, count <varbit_uint>, zero_count
 *	                <varbit_uint>, sum <64 bits>, each bucket <varbit_int>
 *	           #1   deltas (t, count, zero_count <varbit_int>), sum
 *	                <varbit_xor>, bucket deltas <varbit_int>
 *	           #2.. delta-of-deltas of the same, sum <varbit_xor>
 *	           (buckets are neighbour deltas: b[0] absolute, b[i] = abs[i] -
 *	            abs[i-1]; their deltas and dods are per bucket over time)
 *	 float     #0   t <varbit_int>, count, zero_count, sum, buckets as
 *	                <64 bits> each (absolute counts)
 *	           #1.. t delta (#1) or dod <varbit_int>; every other value
 *	                <varbit_xor> against its own previous value and window
 *	varbit_int:  '0' = 0; '10'+3, '110'+6, '1110'+9, '11110'+12,
 *	             '111110'+18, '1111110'+25, '11111110'+56, '11111111'+64 bits
 *	             (n-bit range -(2^(n-1)-1) .. 2^(n-1)); varbit_uint alike,
 *	             0 .. 2^n-1.
 *	A stale marker (sum is the stale NaN) is written with no buckets and,
 *	in integer chunks, count and zero_count dods of 0.
 *
 * Appending: a chunk holds one bucket layout (schema, zero threshold,
 * spans, custom bounds).  A histogram with fewer buckets is written in the
 * chunk's layout (zero counts); one with new buckets makes the chunk be
 * written again in the union of the layouts (tsdb_chunk_layout.c), as
 * Prometheus's appender does.  Another schema, zero threshold or custom
 * bounds, a counter reset (a count going down, or reset_hint YES), a
 * change between gauge and counter, or anything but a stale marker after
 * a stale marker ends the chunk: tsdb_chunk_append_hist returns false.
 * The appender mirrors the decoder's state exactly, including after stale
 * markers, so what it writes decodes to what was appended.  Decoding is in
 * tsdb_chunk_hist_decode.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "store/tsdb.h"
#include "store/tsdb_bits.h"
#include "store/tsdb_int.h"


struct hist_app {
	unsigned free;
	bool is_float, gauge, last_stale;
	int64_t t, tdelta;
	int32_t schema;
	double zt;
	struct series_span *pspans, *nspans;
	size_t npspans, nnspans;
	double *custom;
	size_t ncustom;
	size_t npos, nneg;
	/* integer chunks */
	uint64_t cnt, zcnt;
	int64_t cnt_delta, zcnt_delta;
	int64_t *b, *bd;        /* npos + nneg neighbour deltas, and their deltas */
	struct tsdb_xv sum;
	/* float chunks */
	struct tsdb_xv fcnt, fzcnt, *fb;
	/* previous absolute values, for counter reset checks */
	double prev_cnt, prev_zcnt, *prev;
};

void *tsdb_hist_app_new(void)
{
	return ob_xcalloc(1, sizeof(struct hist_app));
}

void tsdb_hist_app_free(struct tsdb_chunk *c)
{
	struct hist_app *a = c->appender;
	if (!a)
		return;
	free(a->pspans);
	free(a->nspans);
	free(a->custom);
	free(a->b);
	free(a->bd);
	free(a->fb);
	free(a->prev);
	free(a);
}

static size_t span_buckets(const struct series_span *s, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += s[i].length;
	return k;
}

static bool is_count_int(double v)
{
	return v >= 0 && v <= 9007199254740992.0 && v == floor(v);
}

static bool hist_is_int(const struct series_histogram *h)
{
	if (!is_count_int(h->count) || !is_count_int(h->zero_count))
		return false;
	for (size_t i = 0; i < h->npos; i++)
		if (!is_count_int(h->pos[i]))
			return false;
	for (size_t i = 0; i < h->nneg; i++)
		if (!is_count_int(h->neg[i]))
			return false;
	return true;
}

static bool same_spans(const struct series_span *a, size_t na, const struct series_span *b,
		       size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (a[i].offset != b[i].offset || a[i].length != b[i].length)
			return false;
	return true;
}

static bool same_layout(const struct hist_app *a, const struct series_histogram *h)
{
	if (a->schema != h->schema || a->zt != h->zero_threshold)
		return false;
	if (!same_spans(a->pspans, a->npspans, h->pos_spans, h->npos_spans) ||
	    !same_spans(a->nspans, a->nnspans, h->neg_spans, h->nneg_spans))
		return false;
	if (h->schema == TSDB_SCHEMA_CUSTOM) {
		if (a->ncustom != h->ncustom)
			return false;
		for (size_t i = 0; i < a->ncustom; i++)
			if (a->custom[i] != h->custom_values[i])
				return false;
	}
	return true;
}

static void *dup_array(const void *p, size_t n, size_t size)
{
	if (!n)
		return NULL;
	void *q = ob_xmalloc(n * size);
	memcpy(q, p, n * size);
	return q;
}

static void put_zero_threshold(struct tsdb_bw *w, double zt)
{
	int exp;
	if (zt == 0) {
		tsdb_bw_bits(w, 0, 8);
		return;
	}
	double frac = frexp(zt, &exp);
	if (frac != 0.5 || exp < -242 || exp > 11) {
		uint64_t bits;
		memcpy(&bits, &zt, 8);
		tsdb_bw_bits(w, 255, 8);
		tsdb_bw_bits(w, bits, 64);
		return;
	}
	tsdb_bw_bits(w, (uint64_t)(exp + 243), 8);
}

static void put_spans(struct tsdb_bw *w, const struct series_span *s, size_t n)
{
	tsdb_bw_varbit_uint(w, n);
	for (size_t i = 0; i < n; i++) {
		tsdb_bw_varbit_uint(w, s[i].length);
		tsdb_bw_varbit_int(w, s[i].offset);
	}
}

static void put_custom_bound(struct tsdb_bw *w, double f)
{
	double tf = f * 1000;
	double r = round(tf);
	/* integral in thousandths: x*1000 rounds to a whole that gives x back */
	if (tf < 0 || tf > 33554430 || r / 1000 != f) {
		uint64_t bits;
		memcpy(&bits, &f, 8);
		tsdb_bw_bits(w, 0, 1);
		tsdb_bw_bits(w, bits, 64);
		return;
	}
	tsdb_bw_varbit_uint(w, (uint64_t)r + 1);
}

/* The first histogram: the layout, then sample 0. */
static void hist_first(struct hist_app *a, struct tsdb_bw *w, const struct series_histogram *h,
		       bool stale)
{
	static const struct series_histogram empty;
	const struct series_histogram *l = stale ? &empty : h;
	a->schema = l->schema;
	a->zt = l->zero_threshold;
	a->pspans = dup_array(l->pos_spans, l->npos_spans, sizeof *l->pos_spans);
	a->npspans = l->npos_spans;
	a->nspans = dup_array(l->neg_spans, l->nneg_spans, sizeof *l->neg_spans);
	a->nnspans = l->nneg_spans;
	if (l->schema == TSDB_SCHEMA_CUSTOM) {
		a->custom = dup_array(l->custom_values, l->ncustom, sizeof(double));
		a->ncustom = l->ncustom;
	}
	a->npos = l->npos;
	a->nneg = l->nneg;
	size_t nb = a->npos + a->nneg;
	a->prev = ob_xcalloc(nb + 1, sizeof(double));
	put_zero_threshold(w, a->zt);
	tsdb_bw_varbit_int(w, a->schema);
	put_spans(w, a->pspans, a->npspans);
	put_spans(w, a->nspans, a->nnspans);
	if (a->schema == TSDB_SCHEMA_CUSTOM) {
		tsdb_bw_varbit_uint(w, a->ncustom);
		for (size_t i = 0; i < a->ncustom; i++)
			put_custom_bound(w, a->custom[i]);
	}
	tsdb_bw_varbit_int(w, h->t);
	uint64_t sb;
	double sum = h->sum;
	memcpy(&sb, &sum, 8);
	if (!a->is_float) {
		a->b = ob_xcalloc(nb + 1, sizeof(int64_t));
		a->bd = ob_xcalloc(nb + 1, sizeof(int64_t));
		a->cnt = stale ? 0 : (uint64_t)h->count;
		a->zcnt = stale ? 0 : (uint64_t)h->zero_count;
		tsdb_bw_varbit_uint(w, a->cnt);
		tsdb_bw_varbit_uint(w, a->zcnt);
		tsdb_bw_bits(w, sb, 64);
		a->sum.v = sum;
		a->sum.leading = 0xff;
		int64_t prev = 0;
		for (size_t i = 0; i < nb; i++) {
			if (i == a->npos)
				prev = 0;
			int64_t abs = (int64_t)(i < a->npos ? h->pos[i] : h->neg[i - a->npos]);
			a->b[i] = abs - prev;
			prev = abs;
			tsdb_bw_varbit_int(w, a->b[i]);
		}
	} else {
		a->fb = ob_xcalloc(nb + 1, sizeof *a->fb);
		double cnt = stale ? 0 : h->count, zcnt = stale ? 0 : h->zero_count;
		uint64_t bits;
		memcpy(&bits, &cnt, 8);
		tsdb_bw_bits(w, bits, 64);
		memcpy(&bits, &zcnt, 8);
		tsdb_bw_bits(w, bits, 64);
		tsdb_bw_bits(w, sb, 64);
		a->fcnt = (struct tsdb_xv){cnt, 0xff, 0};
		a->fzcnt = (struct tsdb_xv){zcnt, 0xff, 0};
		a->sum = (struct tsdb_xv){sum, 0xff, 0};
		for (size_t i = 0; i < nb; i++) {
			double v = i < a->npos ? h->pos[i] : h->neg[i - a->npos];
			memcpy(&bits, &v, 8);
			tsdb_bw_bits(w, bits, 64);
			a->fb[i] = (struct tsdb_xv){v, 0xff, 0};
		}
	}
}

/* Did a counter go down since the previous (non-stale) histogram? */
static bool hist_reset(const struct hist_app *a, const struct series_histogram *h)
{
	if (a->gauge)
		return false;
	if (h->count < a->prev_cnt || h->zero_count < a->prev_zcnt)
		return true;
	for (size_t i = 0; i < a->npos; i++)
		if (h->pos[i] < a->prev[i])
			return true;
	for (size_t i = 0; i < a->nneg; i++)
		if (h->neg[i] < a->prev[a->npos + i])
			return true;
	return false;
}

static void hist_keep_prev(struct hist_app *a, const struct series_histogram *h)
{
	a->prev_cnt = h->count;
	a->prev_zcnt = h->zero_count;
	for (size_t i = 0; i < a->npos; i++)
		a->prev[i] = h->pos[i];
	for (size_t i = 0; i < a->nneg; i++)
		a->prev[a->npos + i] = h->neg[i];
}

static void hist_next(struct hist_app *a, struct tsdb_bw *w, const struct series_histogram *h,
		      bool stale)
{
	/* after sample 0 the previous delta is 0, so #1 writes the delta itself */
	int64_t tdelta = (int64_t)((uint64_t)h->t - (uint64_t)a->t);
	tsdb_bw_varbit_int(w, (int64_t)((uint64_t)tdelta - (uint64_t)a->tdelta));
	a->tdelta = tdelta;
	a->t = h->t;
	size_t nb = a->npos + a->nneg;
	if (!a->is_float) {
		if (stale) {
			/* the reader keeps its deltas and adds them once more */
			tsdb_bw_varbit_int(w, 0);
			tsdb_bw_varbit_int(w, 0);
			a->cnt = (uint64_t)((int64_t)a->cnt + a->cnt_delta);
			a->zcnt = (uint64_t)((int64_t)a->zcnt + a->zcnt_delta);
			tsdb_bw_xor(w, h->sum, a->sum.v, &a->sum.leading, &a->sum.trailing);
			a->sum.v = h->sum;
			return;
		}
		int64_t cd = (int64_t)((uint64_t)h->count - a->cnt);
		int64_t zd = (int64_t)((uint64_t)h->zero_count - a->zcnt);
		tsdb_bw_varbit_int(w, cd - a->cnt_delta);
		tsdb_bw_varbit_int(w, zd - a->zcnt_delta);
		a->cnt = (uint64_t)h->count;
		a->zcnt = (uint64_t)h->zero_count;
		a->cnt_delta = cd;
		a->zcnt_delta = zd;
		tsdb_bw_xor(w, h->sum, a->sum.v, &a->sum.leading, &a->sum.trailing);
		a->sum.v = h->sum;
		int64_t prev = 0;
		for (size_t i = 0; i < nb; i++) {
			if (i == a->npos)
				prev = 0;
			int64_t abs = (int64_t)(i < a->npos ? h->pos[i] : h->neg[i - a->npos]);
			int64_t b = abs - prev;
			prev = abs;
			int64_t delta = b - a->b[i];
			tsdb_bw_varbit_int(w, delta - a->bd[i]);
			a->bd[i] = delta;
			a->b[i] = b;
		}
		return;
	}
	double cnt = stale ? 0 : h->count, zcnt = stale ? 0 : h->zero_count;
	tsdb_bw_xor(w, cnt, a->fcnt.v, &a->fcnt.leading, &a->fcnt.trailing);
	a->fcnt.v = cnt;
	tsdb_bw_xor(w, zcnt, a->fzcnt.v, &a->fzcnt.leading, &a->fzcnt.trailing);
	a->fzcnt.v = zcnt;
	tsdb_bw_xor(w, h->sum, a->sum.v, &a->sum.leading, &a->sum.trailing);
	a->sum.v = h->sum;
	if (stale)
		return;
	for (size_t i = 0; i < nb; i++) {
		double v = i < a->npos ? h->pos[i] : h->neg[i - a->npos];
		tsdb_bw_xor(w, v, a->fb[i].v, &a->fb[i].leading, &a->fb[i].trailing);
		a->fb[i].v = v;
	}
}

static bool same_frame(const struct hist_app *a, const struct series_histogram *h)
{
	if (a->schema != h->schema || a->zt != h->zero_threshold)
		return false;
	if (h->schema != TSDB_SCHEMA_CUSTOM)
		return true;
	if (a->ncustom != h->ncustom)
		return false;
	for (size_t i = 0; i < a->ncustom; i++)
		if (a->custom[i] != h->custom_values[i])
			return false;
	return true;
}

/* Write the chunk again with every sample in layout lm (a superset of its own). */
static bool hist_recode(struct tsdb_chunk *c, const struct tsdb_layout_merge *lm)
{
	struct hist_app *a = c->appender;
	unsigned n = c->nsamples;
	struct ob_arena ar;
	ob_arena_init(&ar, 0);
	struct series_histogram *old = ob_arena_alloc(&ar, n * sizeof *old);
	size_t k = 0;
	bool ok = old && tsdb_hist_decode_into(c->enc, c->data, c->len, INT64_MIN, INT64_MAX, &ar,
						old, n, &k, NULL) == OB_OK && k == n;
	struct tsdb_chunk nc;
	tsdb_chunk_init(&nc, c->enc);
	uint8_t flags = c->data[2];
	size_t nb = lm->npos + lm->nneg;
	for (unsigned i = 0; ok && i < n; i++) {
		struct series_histogram x = old[i];
		if (!series_is_stale(x.sum)) {
			double *v = ob_arena_alloc(&ar, (nb + 1) * sizeof *v);
			ok = v &&
			     tsdb_layout_expand(x.pos_spans, x.npos_spans, x.pos, lm->pspans,
						lm->npspans, v) &&
			     tsdb_layout_expand(x.neg_spans, x.nneg_spans, x.neg, lm->nspans,
						lm->nnspans, v + lm->npos);
			x.pos_spans = lm->pspans;
			x.npos_spans = lm->npspans;
			x.pos = v;
			x.npos = lm->npos;
			x.neg_spans = lm->nspans;
			x.nneg_spans = lm->nnspans;
			x.neg = v + lm->npos;
			x.nneg = lm->nneg;
		}
		x.reset_hint = a->gauge ? SERIES_RESET_GAUGE : SERIES_RESET_NO;
		ok = ok && tsdb_hist_append(&nc, &x);
	}
	ob_arena_release(&ar);
	if (!ok) {
		tsdb_chunk_release(&nc);
		return false;
	}
	nc.data[2] = flags; /* the header the chunk started with */
	tsdb_chunk_release(c);
	*c = nc;
	return true;
}

/*
 * h in a layout the chunk takes (hx, values in *buf, spans in lm): the
 * chunk's own, or the union of both after writing the chunk again.  False
 * when the layouts do not merge or the counters went down (a reset).
 */
static bool hist_merge(struct tsdb_chunk *c, const struct series_histogram *h,
		       struct series_histogram *hx, double **buf, struct tsdb_layout_merge *lm)
{
	struct hist_app *a = c->appender;
	if (!tsdb_layout_union(a->pspans, a->npspans, a->nspans, a->nnspans, h, lm))
		return false;
	size_t nb = lm->npos + lm->nneg;
	double *v = ob_xmalloc((2 * nb + 1) * sizeof *v), *pv = v + nb;
	*buf = v;
	bool ok = tsdb_layout_expand(h->pos_spans, h->npos_spans, h->pos, lm->pspans, lm->npspans,
				     v) &&
		  tsdb_layout_expand(h->neg_spans, h->nneg_spans, h->neg, lm->nspans, lm->nnspans,
				     v + lm->npos) &&
		  tsdb_layout_expand(a->pspans, a->npspans, a->prev, lm->pspans, lm->npspans, pv) &&
		  tsdb_layout_expand(a->nspans, a->nnspans, a->prev + a->npos, lm->nspans,
				     lm->nnspans, pv + lm->npos);
	/* a counter that went down anywhere is a reset: check before recoding */
	if (ok && !a->gauge) {
		ok = h->count >= a->prev_cnt && h->zero_count >= a->prev_zcnt;
		for (size_t i = 0; ok && i < nb; i++)
			ok = v[i] >= pv[i];
	}
	if (ok && lm->grew)
		ok = hist_recode(c, lm);
	*hx = *h;
	hx->pos_spans = lm->pspans;
	hx->npos_spans = lm->npspans;
	hx->pos = v;
	hx->npos = lm->npos;
	hx->neg_spans = lm->nspans;
	hx->nneg_spans = lm->nnspans;
	hx->neg = v + lm->npos;
	hx->nneg = lm->nneg;
	return ok;
}

bool tsdb_hist_append(struct tsdb_chunk *c, const struct series_histogram *h)
{
	bool stale = series_is_stale(h->sum);
	bool is_float = c->enc == TSDB_ENC_FLOAT_HISTOGRAM;
	if (!stale) {
		if (h->npos != span_buckets(h->pos_spans, h->npos_spans) ||
		    h->nneg != span_buckets(h->neg_spans, h->nneg_spans) ||
		    (h->schema == TSDB_SCHEMA_CUSTOM && h->ncustom && !h->custom_values))
			return false;
		if (!is_float && !hist_is_int(h))
			return false;
	}
	bool gauge = h->reset_hint == SERIES_RESET_GAUGE;
	struct hist_app *a = c->appender;
	struct series_histogram hx; /* h in the chunk's layout; h may point here */
	if (c->nsamples == 0) {
		if (!a) {
			a = ob_xcalloc(1, sizeof *a);
			c->appender = a;
		}
		a->is_float = is_float;
		a->gauge = gauge;
		struct tsdb_bw w = {&c->data, &c->len, &c->alloc, 0};
		c->len = TSDB_HIST_HEADER;
		memset(c->data, 0, TSDB_HIST_HEADER);
		c->data[2] = gauge ? TSDB_HFLAG_GAUGE
			   : h->reset_hint == SERIES_RESET_YES ? TSDB_HFLAG_RESET
			   : h->reset_hint == SERIES_RESET_NO ? TSDB_HFLAG_NORESET : 0;
		hist_first(a, &w, h, stale);
		a->free = w.free;
		a->t = h->t;
		a->tdelta = 0;
		c->mint = h->t;
	} else {
		struct tsdb_layout_merge lm = {0};
		double *buf = NULL;
		if (!stale) {
			/* as Prometheus: after a stale marker only stale markers */
			if (a->last_stale)
				return false;
			if (gauge != a->gauge || (!gauge && h->reset_hint == SERIES_RESET_YES))
				return false;
			if (!same_layout(a, h)) {
				bool ok = same_frame(a, h) && hist_merge(c, h, &hx, &buf, &lm);
				a = c->appender;
				h = &hx;
				if (!ok || !same_layout(a, h)) {
					free(buf);
					tsdb_layout_merge_free(&lm);
					return false;
				}
			}
			if (hist_reset(a, h)) {
				free(buf);
				tsdb_layout_merge_free(&lm);
				return false;
			}
		}
		struct tsdb_bw w = {&c->data, &c->len, &c->alloc, a->free};
		hist_next(a, &w, h, stale);
		a->free = w.free;
		a->last_stale = stale;
		if (!stale)
			hist_keep_prev(a, h);
		free(buf);
		tsdb_layout_merge_free(&lm);
		goto done;
	}
	a->last_stale = stale;
	if (!stale)
		hist_keep_prev(a, h);
done:
	c->nsamples++;
	c->maxt = h->t;
	c->data[0] = (uint8_t)(c->nsamples >> 8);
	c->data[1] = (uint8_t)c->nsamples;
	return true;
}
