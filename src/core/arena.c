/*
 * arena.c - bump allocator (see arena.h).
 *
 * Chunks are a singly linked list, newest first.  A request that needs more
 * than a chunk gets a chunk of its own size, so one big string does not
 * waste the rest of a shared chunk.
 */
#include "core/arena.h"

#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

#define CHUNK_SIZE (64 * 1024)

struct ob_arena_chunk {
	struct ob_arena_chunk *next;
	size_t size;
	size_t pos;
	_Alignas(16) unsigned char mem[];
};

void
ob_arena_init(struct ob_arena *a, size_t cap)
{
	memset(a, 0, sizeof *a);
	a->cap = cap;
}

void
ob_arena_release(struct ob_arena *a)
{
	struct ob_arena_chunk *c, *next;

	for (c = a->head; c; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
	a->used = 0;
	a->over = false;
}

void
ob_arena_reset(struct ob_arena *a)
{
	struct ob_arena_chunk *c, *next;

	if (a->head == NULL)
		return;
	for (c = a->head->next; c; c = next) {
		next = c->next;
		free(c);
	}
	a->head->next = NULL;
	a->head->pos = 0;
	a->used = 0;
	a->over = false;
}

void *
ob_arena_alloc(struct ob_arena *a, size_t n)
{
	struct ob_arena_chunk *c = a->head;
	size_t need = (n + 15) & ~(size_t)15;
	void *p;

	if (need < n || (a->cap && (need > a->cap || a->used > a->cap - need))) {
		a->over = true;
		return NULL;
	}
	if (c == NULL || c->size - c->pos < need) {
		size_t size = need > CHUNK_SIZE ? need : CHUNK_SIZE;

		c = ob_xmalloc(sizeof *c + size);
		c->size = size;
		c->pos = 0;
		if (a->head && size == need) {
			/* A big one-off: keep the current chunk in front. */
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	p = c->mem + c->pos;
	c->pos += need;
	a->used += need;
	return p;
}

void *
ob_arena_memdup(struct ob_arena *a, const void *p, size_t n)
{
	void *q = ob_arena_alloc(a, n + 1);

	if (q) {
		memcpy(q, p, n);
		((char *)q)[n] = 0;
	}
	return q;
}

char *
ob_arena_printf(struct ob_arena *a, const char *fmt, ...)
{
	va_list ap;
	char *q;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (q = ob_arena_alloc(a, (size_t)n + 1)) == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(q, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return q;
}
