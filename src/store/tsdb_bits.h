/*
 * tsdb_bits.h - the bit streams of Prometheus's chunk encodings
 * (tsdb/chunkenc/bstream.go, varbit.go): bits are written most significant
 * first into bytes filled from their high bit; the last byte is padded
 * with zero bits.  Internal to tsdb_chunk*.c.
 *
 * Writer: appends to a growable byte array (the chunk's data) and keeps
 * how many low bits of the last byte are still free, so the bytes are a
 * complete, readable chunk after every sample.
 *
 * Reader: a 64-bit left-aligned window refilled a byte at a time; every
 * read checks the end of input and returns false rather than read past it.
 */
#ifndef OB_STORE_TSDB_BITS_H
#define OB_STORE_TSDB_BITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/mem.h"

struct tsdb_bw {
	uint8_t **data;
	size_t *len, *alloc;
	unsigned free;          /* unused low bits in the last byte, 0..7 */
};

static inline void tsdb_bw_grow(struct tsdb_bw *w, size_t more)
{
	if (*w->len + more <= *w->alloc)
		return;
	size_t n = *w->alloc ? *w->alloc * 2 : 64;
	while (n < *w->len + more)
		n *= 2;
	*w->data = ob_xrealloc(*w->data, n);
	memset(*w->data + *w->alloc, 0, n - *w->alloc);
	*w->alloc = n;
}

/* Write the low n bits of v (n <= 64), most significant first. */
static inline void tsdb_bw_bits(struct tsdb_bw *w, uint64_t v, unsigned n)
{
	if (n == 0)
		return;
	if (n < 64)
		v &= ((uint64_t)1 << n) - 1;
	tsdb_bw_grow(w, 9);
	uint8_t *d = *w->data;
	size_t len = *w->len;
	if (w->free) {
		unsigned k = n < w->free ? n : w->free;
		d[len - 1] |= (uint8_t)((v >> (n - k)) << (w->free - k));
		w->free -= k;
		n -= k;
	}
	while (n >= 8) {
		n -= 8;
		d[len++] = (uint8_t)(v >> n);
	}
	if (n) {
		d[len++] = (uint8_t)(v << (8 - n));
		w->free = 8 - n;
	}
	*w->len = len;
}

static inline void tsdb_bw_bit(struct tsdb_bw *w, unsigned b)
{
	tsdb_bw_bits(w, b, 1);
}

/* Does x fit the signed n-bit range Prometheus uses: -(2^(n-1)-1) .. 2^(n-1)? */
static inline bool tsdb_bit_range(int64_t x, unsigned n)
{
	return -(((int64_t)1 << (n - 1)) - 1) <= x && x <= ((int64_t)1 << (n - 1));
}

/* <varbit_int>: prefix of 1s ended by a 0 (none after eight 1s), then the bits. */
static const uint8_t tsdb_varbit_sizes[8] = {3, 6, 9, 12, 18, 25, 56, 64};

static inline void tsdb_bw_varbit_int(struct tsdb_bw *w, int64_t v)
{
	if (v == 0) {
		tsdb_bw_bits(w, 0, 1);
		return;
	}
	for (unsigned i = 0; i < 7; i++) {
		unsigned sz = tsdb_varbit_sizes[i];
		if (tsdb_bit_range(v, sz)) {
			/* i+1 ones then a zero: 0b10, 0b110, ... */
			tsdb_bw_bits(w, (((uint64_t)1 << (i + 1)) - 1) << 1, i + 2);
			tsdb_bw_bits(w, (uint64_t)v, sz);
			return;
		}
	}
	tsdb_bw_bits(w, 0xff, 8);
	tsdb_bw_bits(w, (uint64_t)v, 64);
}

static inline void tsdb_bw_varbit_uint(struct tsdb_bw *w, uint64_t v)
{
	if (v == 0) {
		tsdb_bw_bits(w, 0, 1);
		return;
	}
	for (unsigned i = 0; i < 7; i++) {
		unsigned sz = tsdb_varbit_sizes[i];
		if (v < ((uint64_t)1 << sz)) {
			tsdb_bw_bits(w, (((uint64_t)1 << (i + 1)) - 1) << 1, i + 2);
			tsdb_bw_bits(w, v, sz);
			return;
		}
	}
	tsdb_bw_bits(w, 0xff, 8);
	tsdb_bw_bits(w, v, 64);
}

/*
 * <varbit_xor>: the XOR of a float with the previous one; *leading is
 * 0xff until a window exists.
 */
static inline void tsdb_bw_xor(struct tsdb_bw *w, double nv, double ov, uint8_t *leading,
			       uint8_t *trailing)
{
	uint64_t a, b;
	memcpy(&a, &nv, 8);
	memcpy(&b, &ov, 8);
	uint64_t delta = a ^ b;
	if (delta == 0) {
		tsdb_bw_bits(w, 0, 1);
		return;
	}
	unsigned lead = (unsigned)__builtin_clzll(delta);
	unsigned trail = (unsigned)__builtin_ctzll(delta);
	if (lead >= 32)
		lead = 31;
	if (*leading != 0xff && lead >= *leading && trail >= *trailing) {
		tsdb_bw_bits(w, 0x2, 2);
		tsdb_bw_bits(w, delta >> *trailing, 64 - *leading - *trailing);
		return;
	}
	*leading = (uint8_t)lead;
	*trailing = (uint8_t)trail;
	unsigned sig = 64 - lead - trail;
	/* '11', 5 bits of leading, 6 bits of significant bits (64 wraps to 0) */
	tsdb_bw_bits(w, (uint64_t)0x3 << 11 | (uint64_t)lead << 6 | (sig & 63), 13);
	tsdb_bw_bits(w, delta >> trail, sig);
}

struct tsdb_br {
	const uint8_t *p, *end;
	uint64_t buf;           /* next bits, left-aligned */
	unsigned valid;
};

static inline void tsdb_br_init(struct tsdb_br *r, const uint8_t *p, size_t n)
{
	r->p = p;
	r->end = p + n;
	r->buf = 0;
	r->valid = 0;
}

/*
 * Top up the window to at least 56 bits where the input allows.  With 8
 * bytes left this is one load: the bits past `valid` that come along are
 * the input's own next bits, so OR-ing them in again later changes nothing.
 */
static inline void tsdb_br_fill(struct tsdb_br *r)
{
	if (r->end - r->p >= 8) {
		uint64_t w;
		memcpy(&w, r->p, 8);
		w = __builtin_bswap64(w);
		r->buf |= r->valid ? w >> r->valid : w;
		unsigned k = (63 - r->valid) >> 3;
		r->p += k;
		r->valid += 8 * k;
		return;
	}
	while (r->valid <= 56 && r->p < r->end) {
		r->buf |= (uint64_t)*r->p++ << (56 - r->valid);
		r->valid += 8;
	}
}

static inline void tsdb_br_skip(struct tsdb_br *r, unsigned n)
{
	r->buf = n >= 64 ? 0 : r->buf << n;
	r->valid -= n;
}

/* Read n <= 64 bits. */
static inline bool tsdb_br_bits(struct tsdb_br *r, unsigned n, uint64_t *out)
{
	if (n == 0) {
		*out = 0;
		return true;
	}
	if (r->valid < n) {
		tsdb_br_fill(r);
		if (r->valid < n) {
			if (n <= 32 || r->p >= r->end)
				return false;
			/* the window holds 56..63 bits: take the rest in two goes */
			uint64_t hi, lo;
			if (!tsdb_br_bits(r, n - 32, &hi) || !tsdb_br_bits(r, 32, &lo))
				return false;
			*out = hi << 32 | lo;
			return true;
		}
	}
	*out = r->buf >> (64 - n);
	tsdb_br_skip(r, n);
	return true;
}

static inline bool tsdb_br_small(struct tsdb_br *r, unsigned n, uint64_t *out)
{
	return tsdb_br_bits(r, n, out);
}

static inline bool tsdb_br_bit(struct tsdb_br *r, unsigned *b)
{
	if (!r->valid) {
		tsdb_br_fill(r);
		if (!r->valid)
			return false;
	}
	*b = (unsigned)(r->buf >> 63);
	tsdb_br_skip(r, 1);
	return true;
}

/* The unary prefix of a varbit number: how many 1s before a 0 (at most max <= 8). */
static inline bool tsdb_br_ones(struct tsdb_br *r, unsigned max, unsigned *ones)
{
	if (r->valid <= max)
		tsdb_br_fill(r);
	if (r->valid > max) {
		unsigned n = (unsigned)__builtin_clzll(~r->buf | ((uint64_t)1 << (63 - max)));
		*ones = n;
		tsdb_br_skip(r, n < max ? n + 1 : max);
		return true;
	}
	unsigned n = 0, b;
	while (n < max) {
		if (!tsdb_br_bit(r, &b))
			return false;
		if (!b)
			break;
		n++;
	}
	*ones = n;
	return true;
}

static inline bool tsdb_br_varbit_int(struct tsdb_br *r, int64_t *v)
{
	unsigned ones;
	uint64_t bits = 0;
	if (!tsdb_br_ones(r, 8, &ones))
		return false;
	if (ones == 0) {
		*v = 0;
		return true;
	}
	unsigned sz = tsdb_varbit_sizes[ones - 1];
	if (!tsdb_br_bits(r, sz, &bits))
		return false;
	if (sz < 64 && bits > ((uint64_t)1 << (sz - 1)))
		bits -= (uint64_t)1 << sz;
	*v = (int64_t)bits;
	return true;
}

static inline bool tsdb_br_varbit_uint(struct tsdb_br *r, uint64_t *v)
{
	unsigned ones;
	if (!tsdb_br_ones(r, 8, &ones))
		return false;
	if (ones == 0) {
		*v = 0;
		return true;
	}
	return tsdb_br_bits(r, tsdb_varbit_sizes[ones - 1], v);
}

static inline bool tsdb_br_xor(struct tsdb_br *r, double *val, uint8_t *leading,
			       uint8_t *trailing)
{
	unsigned b;
	uint64_t bits = 0;
	if (!tsdb_br_bit(r, &b))
		return false;
	if (!b)
		return true;
	if (!tsdb_br_bit(r, &b))
		return false;
	unsigned lead = *leading, trail = *trailing, sig;
	if (b) {
		if (!tsdb_br_small(r, 11, &bits))
			return false;
		lead = (unsigned)(bits >> 6);
		sig = (unsigned)(bits & 63);
		if (sig == 0)
			sig = 64;
		if (lead + sig > 64)
			return false;
		trail = 64 - lead - sig;
		*leading = (uint8_t)lead;
		*trailing = (uint8_t)trail;
	} else {
		if (lead + trail > 64)
			return false;
		sig = 64 - lead - trail;
	}
	if (!tsdb_br_bits(r, sig, &bits))
		return false;
	uint64_t v;
	memcpy(&v, val, 8);
	v ^= sig == 64 ? bits : bits << trail;
	memcpy(val, &v, 8);
	return true;
}

/* A Go uvarint / varint written as whole bytes into the bit stream. */
static inline bool tsdb_br_uvarint(struct tsdb_br *r, uint64_t *v)
{
	uint64_t x = 0, b;
	for (unsigned s = 0, i = 0; i < 10; i++, s += 7) {
		if (!tsdb_br_small(r, 8, &b))
			return false;
		if (b < 0x80) {
			if (i == 9 && b > 1)
				return false;
			*v = x | b << s;
			return true;
		}
		x |= (b & 0x7f) << s;
	}
	return false;
}

static inline bool tsdb_br_varint(struct tsdb_br *r, int64_t *v)
{
	uint64_t u = 0;
	if (!tsdb_br_uvarint(r, &u))
		return false;
	*v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
	return true;
}

#endif
