/*
 * pb_build.h - writing protobuf wire bytes by hand in tests, field by
 * field, so that a test can send exactly what it means to (unknown
 * fields, packed and unpacked numbers, wrong wire types, cut-short
 * messages).  Each helper appends one field to an ob_buf (no cap).
 */
#ifndef OB_TESTS_PB_BUILD_H
#define OB_TESTS_PB_BUILD_H

#include <stdint.h>
#include <string.h>

#include "core/buf.h"
#include "model/otlp_wire.h"

static inline void
pb_put_key(struct ob_buf *b, uint32_t field, unsigned wt)
{
	otlp_wire_put_varint(b, (uint64_t)field << 3 | wt);
}

static inline void
pb_put_uint(struct ob_buf *b, uint32_t field, uint64_t v)
{
	pb_put_key(b, field, 0);
	otlp_wire_put_varint(b, v);
}

static inline void
pb_put_sint(struct ob_buf *b, uint32_t field, int64_t v)
{
	pb_put_uint(b, field, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static inline void
pb_put_fixed64(struct ob_buf *b, uint32_t field, uint64_t v)
{
	uint8_t le[8];

	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	pb_put_key(b, field, 1);
	ob_buf_add(b, le, 8);
}

static inline void
pb_put_double(struct ob_buf *b, uint32_t field, double d)
{
	uint64_t v;

	memcpy(&v, &d, 8);
	pb_put_fixed64(b, field, v);
}

static inline void
pb_put_bytes(struct ob_buf *b, uint32_t field, const void *p, size_t n)
{
	otlp_wire_put_bytes(b, field, p, n);
}

static inline void
pb_put_str(struct ob_buf *b, uint32_t field, const char *s)
{
	pb_put_bytes(b, field, s, strlen(s));
}

/* Append the message m as field, and empty m for reuse. */
static inline void
pb_put_msg(struct ob_buf *b, uint32_t field, struct ob_buf *m)
{
	pb_put_bytes(b, field, m->data ? m->data : (const uint8_t *)"", m->len);
	ob_buf_reset(m);
}

#endif
