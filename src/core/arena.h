/*
 * arena.h - a bump allocator for per-request work, with a hard cap.
 *
 * Decoding a request allocates thousands of small objects that all die
 * together; an arena hands them out from large chunks and frees everything
 * at once.  ob_arena_alloc returns NULL (it does not abort) once the total
 * would pass the cap, and sets a->over so the caller can tell "too big"
 * from "malformed" after a decoder gave up.
 *
 * Memory is 16-byte aligned.  An arena is not thread-safe: one request,
 * one thread.
 */
#ifndef OB_ARENA_H
#define OB_ARENA_H

#include <stdbool.h>
#include <stddef.h>

struct ob_arena_chunk;

struct ob_arena {
	struct ob_arena_chunk *head;
	size_t used;    /* bytes handed out, for the cap */
	size_t cap;     /* 0: unbounded */
	bool over;      /* an allocation was refused for the cap */
};

void ob_arena_init(struct ob_arena *a, size_t cap);
/* Free every chunk; the arena is empty and reusable. */
void ob_arena_release(struct ob_arena *a);
/* Keep the first chunk for reuse, forget everything handed out. */
void ob_arena_reset(struct ob_arena *a);
void *ob_arena_alloc(struct ob_arena *a, size_t n);
void *ob_arena_memdup(struct ob_arena *a, const void *p, size_t n);
/* A formatted string in the arena; NULL past the cap. */
char *ob_arena_printf(struct ob_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
