/*
 * varint.h - Go's encoding/binary varints (protobuf's too): uvarint is
 * 7 bits a byte, low group first, high bit set on every byte but the
 * last; varint is the zig-zag of a signed value as a uvarint.  At most
 * OB_VARINT_MAX bytes.
 *
 * The getters never read past end: they return the number of bytes
 * consumed, or 0 when the input ends first or the value overflows 64 bits.
 */
#ifndef OB_VARINT_H
#define OB_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define OB_VARINT_MAX 10

static inline size_t ob_put_uvarint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static inline size_t ob_put_varint(uint8_t *p, int64_t v)
{
	return ob_put_uvarint(p, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static inline size_t ob_uvarint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static inline size_t ob_get_uvarint(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;
	unsigned s = 0;
	for (size_t i = 0; i < OB_VARINT_MAX && p + i < end; i++) {
		uint8_t b = p[i];
		if (b < 0x80) {
			if (i == OB_VARINT_MAX - 1 && b > 1)
				return 0;
			*v = x | (uint64_t)b << s;
			return i + 1;
		}
		x |= (uint64_t)(b & 0x7f) << s;
		s += 7;
	}
	return 0;
}

static inline size_t ob_get_varint(const uint8_t *p, const uint8_t *end, int64_t *v)
{
	uint64_t u;
	size_t n = ob_get_uvarint(p, end, &u);
	if (n)
		*v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
	return n;
}

#endif
