/*
 * remote_write_hist.c - native histograms of remote write (the Histogram
 * message; its wire layout is in the table at the top of remote_write.c).
 *
 * A histogram sends its buckets as spans (offset, length) plus either
 * integer deltas (each bucket's count minus the previous bucket's, the
 * first one absolute) or float absolute counts.  obstui's model holds
 * absolute float counts (struct series_histogram), so deltas are summed
 * here, in 64-bit integers with overflow checked.  What is checked:
 *   - a side (positive, negative) has deltas or counts, not both, and as
 *     many of them as its spans have buckets;
 *   - spans after the first have offsets >= 0 (the first is the starting
 *     bucket index and may be anything);
 *   - absolute counts are >= 0 (or NaN never: a float count that is NaN is
 *     invalid too) and the schema is -4..8, or -53 with strictly
 *     increasing custom_values and no negative buckets.
 * The stale marker (sum = the stale NaN) passes through untouched.
 */
#include <math.h>
#include <string.h>

#include "codec/pb_wire.h"
#include "codec/remote_write_int.h"

struct side {
	size_t nspans, ndeltas, ncounts;
};

struct counts {
	struct side neg, pos;
	size_t ncustom;
};

/* Number of values in a packed run of varints: bytes without the high bit. */
static size_t
packed_varints(const uint8_t *p, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += p[i] < 0x80;
	return k;
}

/* Count a repeated number field: packed (len) or one value. */
static bool
count_repeated(const uint8_t **p, const uint8_t *end, unsigned wt, bool is_double,
	       size_t *count)
{
	const uint8_t *q;
	size_t n;

	if (wt == PB_LEN) {
		if (!pb_bytes(p, end, &q, &n))
			return false;
		if (is_double) {
			if (n % 8)
				return false;
			*count += n / 8;
		} else {
			if (n && q[n - 1] >= 0x80)
				return false;
			*count += packed_varints(q, n);
		}
		return true;
	}
	if (wt != (is_double ? PB_FIXED64 : PB_VARINT))
		return false;
	*count += 1;
	return pb_skip(p, end, wt);
}

static bool
scan(const uint8_t *p, const uint8_t *end, struct counts *k)
{
	uint32_t f;
	unsigned wt;

	memset(k, 0, sizeof *k);
	while (p < end) {
		if (!pb_key(&p, end, &f, &wt))
			return false;
		switch (f) {
		case 8:
		case 11:
			if (wt != PB_LEN)
				return false;
			(f == 8 ? &k->neg : &k->pos)->nspans++;
			if (!pb_skip(&p, end, wt))
				return false;
			break;
		case 9:
			if (!count_repeated(&p, end, wt, false, &k->neg.ndeltas))
				return false;
			break;
		case 12:
			if (!count_repeated(&p, end, wt, false, &k->pos.ndeltas))
				return false;
			break;
		case 10:
			if (!count_repeated(&p, end, wt, true, &k->neg.ncounts))
				return false;
			break;
		case 13:
			if (!count_repeated(&p, end, wt, true, &k->pos.ncounts))
				return false;
			break;
		case 16:
			if (!count_repeated(&p, end, wt, true, &k->ncustom))
				return false;
			break;
		default:
			if (!pb_skip(&p, end, wt))
				return false;
		}
	}
	return true;
}

static bool
read_span(const uint8_t *p, size_t n, struct series_span *s)
{
	const uint8_t *end = p + n;
	uint32_t f;
	unsigned wt;
	uint64_t v;

	s->offset = 0;
	s->length = 0;
	while (p < end) {
		if (!pb_key(&p, end, &f, &wt))
			return false;
		if (f == 1 || f == 2) {
			if (wt != PB_VARINT || !pb_varint(&p, end, &v))
				return false;
			if (f == 1)
				s->offset = (int32_t)pb_zigzag(v & 0xffffffffu);
			else
				s->length = (uint32_t)v;
		} else if (!pb_skip(&p, end, wt)) {
			return false;
		}
	}
	return true;
}

/* Append the values of a repeated number field to vals (as doubles or raw). */
static bool
read_repeated(const uint8_t **p, const uint8_t *end, unsigned wt, bool is_double,
	      uint64_t *vals, size_t *k)
{
	const uint8_t *q, *qend;
	size_t n;

	if (wt != PB_LEN) {
		return is_double ? pb_fixed64(p, end, &vals[(*k)++])
				 : pb_varint(p, end, &vals[(*k)++]);
	}
	if (!pb_bytes(p, end, &q, &n))
		return false;
	qend = q + n;
	while (q < qend)
		if (!(is_double ? pb_fixed64(&q, qend, &vals[(*k)++]) : pb_varint(&q, qend, &vals[(*k)++])))
			return false;
	return true;
}

static double
as_double(uint64_t bits)
{
	double d;

	memcpy(&d, &bits, sizeof d);
	return d;
}

/*
 * Make one side's absolute counts in place (deltas summed, or float counts
 * taken as they are) and check them against the spans.
 */
static void
finish_side(struct rw_ctx *c, const char *name, struct series_span *spans, size_t nspans,
	    uint64_t *raw, const struct side *k, double **out, size_t *nout)
{
	uint64_t total = 0;
	size_t n = k->ndeltas + k->ncounts;
	double *d = (double *)raw;      /* same size: converted in place */
	int64_t run = 0;

	*out = d;
	*nout = n;
	if (k->ndeltas && k->ncounts) {
		rw_invalid(c, "histogram %s buckets have both integer deltas and float counts", name);
		return;
	}
	for (size_t i = 0; i < nspans; i++) {
		if (i > 0 && spans[i].offset < 0) {
			rw_invalid(c, "histogram %s span %zu has a negative offset (%d)", name, i,
				   spans[i].offset);
			return;
		}
		total += spans[i].length;
	}
	if (total != n) {
		rw_invalid(c, "histogram %s spans hold %llu buckets but %zu counts were sent", name,
			   (unsigned long long)total, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (k->ndeltas) {
			if (__builtin_add_overflow(run, pb_zigzag(raw[i]), &run) || run < 0) {
				rw_invalid(c, "histogram %s bucket %zu has a negative count", name, i);
				return;
			}
			d[i] = (double)run;
		} else {
			d[i] = as_double(raw[i]);
			if (!(d[i] >= 0)) {
				rw_invalid(c, "histogram %s bucket %zu has a negative or NaN count", name, i);
				return;
			}
		}
	}
}

enum ob_err
rw_read_histogram(struct rw_ctx *c, const uint8_t *p, size_t n, size_t index,
		  struct series_histogram *h)
{
	const uint8_t *end = p + n, *q;
	struct counts k;
	uint64_t *neg_raw = NULL, *pos_raw = NULL, *custom_raw = NULL, v = 0;
	size_t ineg_span = 0, ipos_span = 0, ineg = 0, ipos = 0, icustom = 0, len;
	bool count_int = true;
	uint32_t f = 0;
	unsigned wt = 0;

	memset(h, 0, sizeof *h);
	if (!scan(p, end, &k))
		return rw_malformed(c, "histograms", index, "a field is malformed or runs past the end");
	if (!RW_ALLOC(c, h->neg_spans, k.neg.nspans) || !RW_ALLOC(c, h->pos_spans, k.pos.nspans) ||
	    !RW_ALLOC(c, neg_raw, k.neg.ndeltas + k.neg.ncounts) ||
	    !RW_ALLOC(c, pos_raw, k.pos.ndeltas + k.pos.ncounts) ||
	    !RW_ALLOC(c, custom_raw, k.ncustom))
		return rw_toobig(c);
	/* scan() checked every key, length and wire type of the repeated fields. */
	while (p < end) {
		pb_key(&p, end, &f, &wt);
		bool ok = true;

		switch (f) {
		case 1:
		case 6:
			ok = wt == PB_VARINT && pb_varint(&p, end, &v);
			if (f == 1) {
				h->count = (double)v;
				count_int = true;
			} else {
				h->zero_count = (double)v;
			}
			break;
		case 2:
		case 3:
		case 5:
		case 7:
			ok = wt == PB_FIXED64 && pb_fixed64(&p, end, &v);
			if (f == 2) {
				h->count = as_double(v);
				count_int = false;
			} else if (f == 3) {
				h->sum = as_double(v);
			} else if (f == 5) {
				h->zero_threshold = as_double(v);
			} else {
				h->zero_count = as_double(v);
			}
			break;
		case 4:
			ok = wt == PB_VARINT && pb_varint(&p, end, &v);
			h->schema = (int32_t)pb_zigzag(v & 0xffffffffu);
			break;
		case 8:
			ok = pb_bytes(&p, end, &q, &len) && read_span(q, len, &h->neg_spans[ineg_span++]);
			break;
		case 11:
			ok = pb_bytes(&p, end, &q, &len) && read_span(q, len, &h->pos_spans[ipos_span++]);
			break;
		case 9:
		case 10:
			ok = read_repeated(&p, end, wt, f == 10, neg_raw, &ineg);
			break;
		case 12:
		case 13:
			ok = read_repeated(&p, end, wt, f == 13, pos_raw, &ipos);
			break;
		case 16:
			ok = read_repeated(&p, end, wt, true, custom_raw, &icustom);
			break;
		case 14:
			ok = wt == PB_VARINT && pb_varint(&p, end, &v);
			h->reset_hint = v <= SERIES_RESET_GAUGE ? (uint8_t)v : SERIES_RESET_UNKNOWN;
			break;
		case 15:
			ok = wt == PB_VARINT && pb_varint(&p, end, &v);
			h->t = (int64_t)v;
			break;
		default:
			ok = pb_skip(&p, end, wt);
		}
		if (!ok)
			return rw_malformed(c, "histograms", index,
					    "a field has the wrong wire type or is malformed");
	}
	h->is_int = count_int;
	h->npos_spans = k.pos.nspans;
	h->nneg_spans = k.neg.nspans;
	finish_side(c, "negative", h->neg_spans, h->nneg_spans, neg_raw, &k.neg, &h->neg, &h->nneg);
	finish_side(c, "positive", h->pos_spans, h->npos_spans, pos_raw, &k.pos, &h->pos, &h->npos);
	if (k.neg.ncounts || k.pos.ncounts)
		h->is_int = false;
	h->custom_values = (double *)custom_raw;
	h->ncustom = k.ncustom;
	for (size_t i = 0; i < k.ncustom; i++)
		h->custom_values[i] = as_double(custom_raw[i]);
	if (h->schema == -53) {
		if (k.ncustom == 0)
			rw_invalid(c, "histogram with custom buckets (schema -53) has no custom_values");
		else if (h->nneg)
			rw_invalid(c, "histogram with custom buckets (schema -53) has negative buckets");
		for (size_t i = 1; i < k.ncustom; i++)
			if (!(h->custom_values[i] > h->custom_values[i - 1])) {
				rw_invalid(c, "histogram custom_values are not strictly increasing");
				break;
			}
	} else if (h->schema < -4 || h->schema > 8) {
		rw_invalid(c, "histogram schema %d is not supported (-4..8, or -53)", h->schema);
	}
	if (!(h->count >= 0) && !series_is_stale(h->sum))
		rw_invalid(c, "histogram count is negative or NaN");
	return OB_OK;
}
