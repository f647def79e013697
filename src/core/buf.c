/* buf.c - capped growable byte buffer (see buf.h). */
#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

void
ob_buf_init(struct ob_buf *b, size_t cap)
{
	memset(b, 0, sizeof *b);
	b->cap = cap;
}

void
ob_buf_release(struct ob_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->alloc = 0;
}

void
ob_buf_reset(struct ob_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = 0;
}

enum ob_err
ob_buf_reserve(struct ob_buf *b, size_t n, uint8_t **out)
{
	size_t want;

	if (n > SIZE_MAX / 2 - b->len || (b->cap && b->len + n > b->cap))
		return OB_ETOOBIG;
	want = b->len + n + 1;
	if (want > b->alloc) {
		size_t a = b->alloc ? b->alloc : 64;

		while (a < want)
			a *= 2;
		if (b->cap && a > b->cap + 1)
			a = b->cap + 1;
		if (a < want)
			a = want;
		b->data = ob_xrealloc(b->data, a);
		b->alloc = a;
	}
	if (out)
		*out = b->data + b->len;
	return OB_OK;
}

enum ob_err
ob_buf_add(struct ob_buf *b, const void *p, size_t n)
{
	enum ob_err err;
	uint8_t *dst;

	if ((err = ob_buf_reserve(b, n, &dst)))
		return err;
	if (n)
		memcpy(dst, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return OB_OK;
}

enum ob_err
ob_buf_addstr(struct ob_buf *b, const char *s)
{
	return ob_buf_add(b, s, strlen(s));
}

enum ob_err
ob_buf_addf(struct ob_buf *b, const char *fmt, ...)
{
	va_list ap;
	enum ob_err err;
	uint8_t *dst;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return OB_EINTERNAL;
	if ((err = ob_buf_reserve(b, (size_t)n, &dst)))
		return err;
	va_start(ap, fmt);
	vsnprintf((char *)dst, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return OB_OK;
}

uint8_t *
ob_buf_take(struct ob_buf *b, size_t *len)
{
	uint8_t *p = b->data;

	if (len)
		*len = b->len;
	if (p == NULL)
		p = ob_xcalloc(1, 1);
	b->data = NULL;
	b->len = b->alloc = 0;
	return p;
}
