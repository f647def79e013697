/*
 * mem.h - allocation for small internal objects.
 *
 * These abort with a message when memory runs out: a small internal
 * allocation that fails leaves nothing sensible to do.  Anything whose size
 * comes from the network or a file must be capped before it gets here (see
 * buf.h and arena.h, which fail with OB_ETOOBIG instead).
 */
#ifndef OB_MEM_H
#define OB_MEM_H

#include <stddef.h>

void *ob_xmalloc(size_t n);
void *ob_xcalloc(size_t count, size_t size);
void *ob_xrealloc(void *p, size_t n);
char *ob_xstrdup(const char *s);
char *ob_xstrndup(const char *s, size_t n);
/* printf into a new string the caller frees. */
char *ob_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
