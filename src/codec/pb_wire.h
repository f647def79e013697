/*
 * pb_wire.h - reading the protobuf wire format by hand, for the decoders
 * that go straight from bytes to obstui's model (remote write) instead of
 * through protobuf-c.  Static inline: these run for every field of every
 * sample.
 *
 *   key = varint (field number << 3 | wire type)
 *   wire type 0 varint, 1 8 bytes little-endian, 2 varint length + bytes,
 *   5 4 bytes little-endian; 3 and 4 (groups) are not used by proto3 and
 *   are refused.
 *
 * Every reader takes a cursor *p below end, moves it past what it read,
 * and returns false (cursor unspecified) when the bytes run out or are
 * malformed.
 */
#ifndef OB_CODEC_PB_WIRE_H
#define OB_CODEC_PB_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum {
	PB_VARINT = 0,
	PB_FIXED64 = 1,
	PB_LEN = 2,
	PB_FIXED32 = 5,
};

static inline bool
pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	const uint8_t *q = *p;
	uint64_t x = 0;

	if (q < end && *q < 0x80) {
		*v = *q;
		*p = q + 1;
		return true;
	}
	for (unsigned shift = 0; shift < 64 && q < end; shift += 7) {
		uint8_t b = *q++;

		x |= (uint64_t)(b & 0x7f) << shift;
		if (b < 0x80) {
			*v = x;
			*p = q;
			return true;
		}
	}
	return false;
}

static inline bool
pb_fixed64(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;

	if (end - *p < 8)
		return false;
	for (int i = 7; i >= 0; i--)
		x = x << 8 | (*p)[i];
	*v = x;
	*p += 8;
	return true;
}

static inline bool
pb_double(const uint8_t **p, const uint8_t *end, double *d)
{
	uint64_t x;

	if (!pb_fixed64(p, end, &x))
		return false;
	memcpy(d, &x, sizeof *d);
	return true;
}

/* A length-delimited payload: *q..*q+*n, with *p moved past it. */
static inline bool
pb_bytes(const uint8_t **p, const uint8_t *end, const uint8_t **q, size_t *n)
{
	uint64_t len;

	if (!pb_varint(p, end, &len) || len > (uint64_t)(end - *p))
		return false;
	*q = *p;
	*n = (size_t)len;
	*p += len;
	return true;
}

/* Skip the value of a field of wire type wt. */
static inline bool
pb_skip(const uint8_t **p, const uint8_t *end, unsigned wt)
{
	uint64_t v;
	const uint8_t *q;
	size_t n;

	switch (wt) {
	case PB_VARINT:
		return pb_varint(p, end, &v);
	case PB_FIXED64:
		if (end - *p < 8)
			return false;
		*p += 8;
		return true;
	case PB_LEN:
		return pb_bytes(p, end, &q, &n);
	case PB_FIXED32:
		if (end - *p < 4)
			return false;
		*p += 4;
		return true;
	default:
		return false;
	}
}

/* The next key: *field (never 0) and *wt. */
static inline bool
pb_key(const uint8_t **p, const uint8_t *end, uint32_t *field, unsigned *wt)
{
	uint64_t k;

	if (!pb_varint(p, end, &k) || (k >> 3) == 0 || (k >> 3) > 0x1fffffff)
		return false;
	*field = (uint32_t)(k >> 3);
	*wt = (unsigned)(k & 7);
	return true;
}

static inline int64_t
pb_zigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

#endif
