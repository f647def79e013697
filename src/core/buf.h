/*
 * buf.h - a growable byte buffer with a hard cap.
 *
 * A struct ob_buf owns its bytes.  It is always NUL-terminated one past
 * len (the NUL is not counted), so text can be used as a C string.  Every
 * append that would take len past cap fails with OB_ETOOBIG and leaves the
 * buffer as it was; a cap of 0 means no cap (internal use only: anything
 * sized by a peer must have one).
 *
 *	struct ob_buf b;
 *	ob_buf_init(&b, 16 << 20);
 *	if ((err = ob_buf_add(&b, p, n))) ...
 *	ob_buf_release(&b);
 */
#ifndef OB_BUF_H
#define OB_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct ob_buf {
	uint8_t *data;  /* NULL until the first append */
	size_t len;
	size_t alloc;
	size_t cap;     /* 0: unbounded */
};

void ob_buf_init(struct ob_buf *b, size_t cap);
/* Free the bytes; the buffer is empty and reusable, cap kept. */
void ob_buf_release(struct ob_buf *b);
/* Forget the contents, keep the memory. */
void ob_buf_reset(struct ob_buf *b);
/* Make room for n more bytes; returns a pointer to them (len unchanged). */
enum ob_err ob_buf_reserve(struct ob_buf *b, size_t n, uint8_t **out);
enum ob_err ob_buf_add(struct ob_buf *b, const void *p, size_t n);
enum ob_err ob_buf_addstr(struct ob_buf *b, const char *s);
enum ob_err ob_buf_addf(struct ob_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Hand the bytes to the caller (who frees them); the buffer becomes empty. */
uint8_t *ob_buf_take(struct ob_buf *b, size_t *len);

#endif
