/*
 * tsdb_chunk.c - Prometheus chunk encodings: the XOR float chunk here, the
 * histogram chunks in tsdb_chunk_hist.c, bit streams in tsdb_bits.h.
 * Facts from prometheus/prometheus tsdb/docs/format/chunks.md and
 * tsdb/chunkenc/{xor,bstream}.go; the code is ours.
 *
 * XOR chunk data (what struct tsdb_chunk.data holds for TSDB_ENC_XOR):
 *
 *	num_samples   <uint16 BE>
 *	ts_0          <varint, whole bytes>
 *	v_0           <64 bits, the float's bits>
 *	ts_1 - ts_0   <uvarint, whole bytes, at any bit position>
 *	v_1           <varbit_xor>
 *	then per sample: ts delta-of-delta <varbit_ts>, value <varbit_xor>
 *	padding       0-7 zero bits to the byte
 *
 *	varbit_ts:  dod == 0                 '0'
 *	            -8191 .. 8192            '10'   + 14 bits
 *	            -65535 .. 65536          '110'  + 17 bits
 *	            -524287 .. 524288        '1110' + 20 bits
 *	            otherwise                '1111' + 64 bits
 *	(n-bit fields hold two's complement; a read value above 2^(n-1)
 *	 means value - 2^n.)
 *
 *	varbit_xor: x = bits(v) ^ bits(prev)
 *	            x == 0                   '0'
 *	            fits the last window     '10' + (64-lead-trail) bits of x >> trail
 *	            new window               '11' + lead <5> + sigbits <6, 64 as 0>
 *	                                     + sigbits of x >> trail
 *	            lead is clz(x) capped at 31, trail is ctz(x).
 *
 * The bytes are a valid chunk after every append (the head reads chunks it
 * is still appending to).  The appender state lives behind c->appender and
 * never points into the struct, so a chunk may be moved (realloc'd arrays).
 */
#include "store/tsdb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/varint.h"
#include "store/tsdb_bits.h"
#include "store/tsdb_int.h"

struct xor_app {
	unsigned free;          /* free low bits of the last data byte */
	int64_t t;
	uint64_t tdelta;
	double v;
	uint8_t leading, trailing;
};

void tsdb_chunk_init(struct tsdb_chunk *c, enum tsdb_encoding enc)
{
	memset(c, 0, sizeof *c);
	c->enc = (uint8_t)enc;
	c->alloc = enc == TSDB_ENC_XOR ? 128 : 256;
	c->data = ob_xcalloc(1, c->alloc);
	c->len = enc == TSDB_ENC_XOR ? 2 : TSDB_HIST_HEADER;
	if (enc == TSDB_ENC_XOR) {
		struct xor_app *a = ob_xcalloc(1, sizeof *a);
		a->leading = 0xff;
		c->appender = a;
	} else {
		c->appender = tsdb_hist_app_new();
	}
}

void tsdb_chunk_release(struct tsdb_chunk *c)
{
	tsdb_chunk_seal(c);
	free(c->data);
	c->data = NULL;
	c->len = c->alloc = 0;
	c->nsamples = 0;
}

void tsdb_chunk_seal(struct tsdb_chunk *c)
{
	if (!c->appender)
		return;
	if (c->enc == TSDB_ENC_XOR)
		free(c->appender);
	else
		tsdb_hist_app_free(c);
	c->appender = NULL;
	if (c->data && c->alloc > c->len + 16) {
		c->data = ob_xrealloc(c->data, c->len ? c->len : 1);
		c->alloc = c->len;
	}
}

static void put_be16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void tsdb_chunk_append(struct tsdb_chunk *c, int64_t t, double v)
{
	struct xor_app *a = c->appender;
	/* only an open XOR chunk takes floats; a full one takes no more */
	if (c->enc != TSDB_ENC_XOR || !a || c->nsamples == UINT16_MAX)
		return;
	struct tsdb_bw w = {&c->data, &c->len, &c->alloc, a->free};
	uint64_t tdelta = 0;
	if (c->nsamples == 0) {
		uint8_t tmp[OB_VARINT_MAX];
		size_t n = ob_put_varint(tmp, t);
		for (size_t i = 0; i < n; i++)
			tsdb_bw_bits(&w, tmp[i], 8);
		uint64_t bits = 0;
		memcpy(&bits, &v, 8);
		tsdb_bw_bits(&w, bits, 64);
		c->mint = t;
	} else if (c->nsamples == 1) {
		uint8_t tmp[OB_VARINT_MAX];
		tdelta = (uint64_t)t - (uint64_t)a->t;
		size_t n = ob_put_uvarint(tmp, tdelta);
		for (size_t i = 0; i < n; i++)
			tsdb_bw_bits(&w, tmp[i], 8);
		tsdb_bw_xor(&w, v, a->v, &a->leading, &a->trailing);
	} else {
		tdelta = (uint64_t)t - (uint64_t)a->t;
		int64_t dod = (int64_t)(tdelta - a->tdelta);
		if (dod == 0) {
			tsdb_bw_bits(&w, 0, 1);
		} else if (tsdb_bit_range(dod, 14)) {
			tsdb_bw_bits(&w, 0x2, 2);
			tsdb_bw_bits(&w, (uint64_t)dod, 14);
		} else if (tsdb_bit_range(dod, 17)) {
			tsdb_bw_bits(&w, 0x6, 3);
			tsdb_bw_bits(&w, (uint64_t)dod, 17);
		} else if (tsdb_bit_range(dod, 20)) {
			tsdb_bw_bits(&w, 0xe, 4);
			tsdb_bw_bits(&w, (uint64_t)dod, 20);
		} else {
			tsdb_bw_bits(&w, 0xf, 4);
			tsdb_bw_bits(&w, (uint64_t)dod, 64);
		}
		tsdb_bw_xor(&w, v, a->v, &a->leading, &a->trailing);
	}
	a->free = w.free;
	a->t = t;
	a->v = v;
	a->tdelta = tdelta;
	c->nsamples++;
	c->maxt = t;
	put_be16(c->data, c->nsamples);
}

bool tsdb_chunk_append_hist(struct tsdb_chunk *c, const struct series_histogram *h)
{
	if (c->enc != TSDB_ENC_HISTOGRAM && c->enc != TSDB_ENC_FLOAT_HISTOGRAM)
		return false;
	if (!c->appender)
		return false;   /* sealed */
	if (c->nsamples == UINT16_MAX)
		return false;
	return tsdb_hist_append(c, h);
}

/* One timestamp delta-of-delta of an XOR chunk. */
static bool xor_read_dod(struct tsdb_br *r, int64_t *dod)
{
	unsigned ones;
	uint64_t bits = 0;
	static const uint8_t sizes[5] = {0, 14, 17, 20, 64};
	if (!tsdb_br_ones(r, 4, &ones))
		return false;
	if (ones == 0) {
		*dod = 0;
		return true;
	}
	unsigned sz = sizes[ones];
	if (!tsdb_br_bits(r, sz, &bits))
		return false;
	if (sz < 64 && bits > ((uint64_t)1 << (sz - 1)))
		bits -= (uint64_t)1 << sz;
	*dod = (int64_t)bits;
	return true;
}

enum ob_err tsdb_xor_decode_into(const uint8_t *data, size_t len, int64_t mint, int64_t maxt,
				 struct series_sample *out, size_t cap, size_t *n, char *errbuf)
{
	if (len < 2)
		return ob_errf(errbuf, OB_ECORRUPT, "XOR chunk of %zu bytes", len);
	unsigned total = tsdb_chunk_count(data, len);
	struct tsdb_br r;
	tsdb_br_init(&r, data + 2, len - 2);
	int64_t t = 0;
	uint64_t tdelta = 0;
	double v = 0;
	uint8_t leading = 0, trailing = 0;
	size_t k = *n;
	bool have_last = k > 0;
	int64_t last = have_last ? out[k - 1].t : 0;
	for (unsigned i = 0; i < total; i++) {
		bool ok;
		if (i == 0) {
			uint64_t bits = 0;
			ok = tsdb_br_varint(&r, &t) && tsdb_br_bits(&r, 64, &bits);
			memcpy(&v, &bits, 8);
		} else if (i == 1) {
			ok = tsdb_br_uvarint(&r, &tdelta) &&
			     tsdb_br_xor(&r, &v, &leading, &trailing);
			t = (int64_t)((uint64_t)t + tdelta);
		} else {
			/* fast paths: an unchanged delta, an unchanged value, a value
			 * in the previous window; the rest through the general readers */
			if (r.valid < 16)
				tsdb_br_fill(&r);
			ok = true;
			if (r.valid && !(r.buf >> 63)) {
				tsdb_br_skip(&r, 1);
			} else {
				int64_t dod = 0;
				ok = xor_read_dod(&r, &dod);
				tdelta += (uint64_t)dod;
			}
			t = (int64_t)((uint64_t)t + tdelta);
			if (r.valid < 16)
				tsdb_br_fill(&r);
			if (ok && r.valid && !(r.buf >> 63)) {
				tsdb_br_skip(&r, 1);
			} else if (ok && r.valid >= 2 && (r.buf >> 62) == 2) {
				unsigned sig = 64 - leading - trailing;
				uint64_t bits = 0;
				tsdb_br_skip(&r, 2);
				if (leading + trailing >= 64 || !tsdb_br_bits(&r, sig, &bits)) {
					ok = false;
				} else {
					uint64_t vb;
					memcpy(&vb, &v, 8);
					vb ^= sig == 64 ? bits : bits << trailing;
					memcpy(&v, &vb, 8);
				}
			} else if (ok && r.valid >= 13 && (r.buf >> 62) == 3) {
				/* '11', leading <5>, significant bits <6>, then the bits */
				unsigned lead = (unsigned)(r.buf >> 57) & 31;
				unsigned sig = (unsigned)(r.buf >> 51) & 63;
				uint64_t bits = 0;
				tsdb_br_skip(&r, 13);
				if (sig == 0)
					sig = 64;
				if (lead + sig > 64 || !tsdb_br_bits(&r, sig, &bits)) {
					ok = false;
				} else {
					leading = (uint8_t)lead;
					trailing = (uint8_t)(64 - lead - sig);
					uint64_t vb;
					memcpy(&vb, &v, 8);
					vb ^= sig == 64 ? bits : bits << trailing;
					memcpy(&v, &vb, 8);
				}
			} else {
				ok = ok && tsdb_br_xor(&r, &v, &leading, &trailing);
			}
		}
		if (!ok)
			return ob_errf(errbuf, OB_ECORRUPT,
				       "XOR chunk ends at sample %u of %u", i, total);
		if (t > maxt)
			break;
		if (t < mint || (have_last && t <= last))
			continue;
		if (k == cap)
			return ob_errf(errbuf, OB_ECORRUPT, "XOR chunk holds more samples than it says");
		out[k].t = t;
		out[k].v = v;
		k++;
		last = t;
		have_last = true;
	}
	*n = k;
	return OB_OK;
}

enum ob_err tsdb_chunk_decode(uint8_t enc, const uint8_t *data, size_t len, int64_t mint,
			      int64_t maxt, struct ob_arena *arena, struct series_sample **f,
			      size_t *nf, struct series_histogram **h, size_t *nh, char *errbuf)
{
	unsigned total = tsdb_chunk_count(data, len);
	if (f) {
		*f = NULL;
		*nf = 0;
	}
	if (h) {
		*h = NULL;
		*nh = 0;
	}
	if (enc == TSDB_ENC_XOR) {
		if (!f)
			return OB_OK;
		if (total == 0)
			return len >= 2 ? OB_OK
					: ob_errf(errbuf, OB_ECORRUPT, "XOR chunk of %zu bytes", len);
		/* after the first two, a sample takes at least two bits */
		if (total > len * 4 + 2)
			total = (unsigned)(len * 4 + 2);
		struct series_sample *s = ob_arena_alloc(arena, total * sizeof *s);
		if (!s)
			return ob_errf(errbuf, OB_ETOOBIG, "decoding a chunk: query memory cap");
		size_t n = 0;
		enum ob_err err = tsdb_xor_decode_into(data, len, mint, maxt, s, total, &n, errbuf);
		if (err)
			return err;
		*f = s;
		*nf = n;
		return OB_OK;
	}
	if (enc == TSDB_ENC_HISTOGRAM || enc == TSDB_ENC_FLOAT_HISTOGRAM) {
		if (!h)
			return OB_OK;
		if (len < TSDB_HIST_HEADER)
			return ob_errf(errbuf, OB_ECORRUPT, "histogram chunk of %zu bytes", len);
		if (total == 0)
			return OB_OK;
		if (total > len * 2 + 2)
			total = (unsigned)(len * 2 + 2);
		struct series_histogram *s = ob_arena_alloc(arena, total * sizeof *s);
		if (!s)
			return ob_errf(errbuf, OB_ETOOBIG, "decoding a chunk: query memory cap");
		size_t n = 0;
		enum ob_err err = tsdb_hist_decode_into(enc, data, len, mint, maxt, arena, s, total,
							&n, errbuf);
		if (err)
			return err;
		*h = s;
		*nh = n;
		return OB_OK;
	}
	return ob_errf(errbuf, OB_EUNSUPPORTED, "chunk encoding %u", enc);
}
