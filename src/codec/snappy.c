/*
 * snappy.c - snappy block decoding with a length cap (see snappy.h).
 *
 * A block is:
 *
 *   offset  size     what
 *   0       1..5     uncompressed length, varint (little-endian base 128,
 *                    at most 32 bits)
 *   ...     rest     literal and copy elements (libsnappy decodes them)
 *
 * The length is read and checked here first, then libsnappy decodes
 * straight into out's reserved room: one allocation, of the size that was
 * checked, and libsnappy never writes past the length it was given (it
 * refuses input that would).
 */
#include "codec/snappy.h"

#include <stdbool.h>

#include <snappy-c.h>

/* The uncompressed length at the head of the block; false if malformed. */
static bool
read_length(const uint8_t *p, size_t n, uint64_t *len)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n && i < 5; i++) {
		v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			if (v > UINT32_MAX)
				return false;
			*len = v;
			return true;
		}
	}
	return false;
}

enum ob_err
ob_unsnappy(const uint8_t *p, size_t n, size_t cap, struct ob_buf *out, char *errbuf)
{
	uint64_t len;
	size_t got;
	uint8_t *dst;
	enum ob_err err;

	if (!read_length(p, n, &len))
		return ob_errf(errbuf, OB_EINVAL,
			       "snappy: corrupt input (the length header is malformed)");
	if (out->cap && out->cap - out->len < cap)
		cap = out->cap - out->len;
	if (len > cap)
		return ob_errf(errbuf, OB_ETOOBIG,
			       "snappy: the body would decompress to %llu bytes, more than the "
			       "%zu-byte limit",
			       (unsigned long long)len, cap);
	if (len == 0) {
		/* libsnappy wants room for at least the header's promise: none. */
		if (n != 1)
			return ob_errf(errbuf, OB_EINVAL,
				       "snappy: corrupt input (data after an empty block)");
		return OB_OK;
	}
	if ((err = ob_buf_reserve(out, (size_t)len, &dst)))
		return ob_errf(errbuf, err, "snappy: %llu bytes do not fit the buffer",
			       (unsigned long long)len);
	got = (size_t)len;
	if (snappy_uncompress((const char *)p, n, (char *)dst, &got) != SNAPPY_OK ||
	    got != len)
		return ob_errf(errbuf, OB_EINVAL,
			       "snappy: corrupt input (not a snappy block, or cut short); "
			       "remote write bodies use the block format, not the framed one");
	out->len += got;
	out->data[out->len] = 0;
	return OB_OK;
}

enum ob_err
ob_snappy(const uint8_t *p, size_t n, struct ob_buf *out, char *errbuf)
{
	size_t room = snappy_max_compressed_length(n);
	uint8_t *dst;
	enum ob_err err;

	if ((err = ob_buf_reserve(out, room, &dst)))
		return ob_errf(errbuf, err, "snappy: %zu bytes do not fit the buffer", room);
	if (snappy_compress((const char *)p, n, (char *)dst, &room) != SNAPPY_OK)
		return ob_errf(errbuf, OB_EINTERNAL, "snappy: compression failed");
	out->len += room;
	out->data[out->len] = 0;
	return OB_OK;
}
