/*
 * trace.c - the flat, tree-linked trace view (see trace.h).
 *
 * Building the tree: spans are sorted by span id so each span finds its
 * parent by binary search, then children are grouped by parent and a
 * depth-first walk, children in start-time order, lays them out.  All of it
 * is O(n log n) and allocates from the trace's arena, so a 50,000-span
 * trace indexes in a few milliseconds.
 */
#include "model/trace.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

static void *
arena_pb_alloc(void *data, size_t size)
{
	return ob_arena_alloc(data, size);
}

static void
arena_pb_free(void *data, void *p)
{
	(void)data;
	(void)p;
}

void
ob_arena_protobuf_allocator(struct ob_arena *arena, struct ProtobufCAllocator *out)
{
	out->alloc = arena_pb_alloc;
	out->free = arena_pb_free;
	out->allocator_data = arena;
}

const otlp_any_value *
ob_attr_find(otlp_key_value *const *attrs, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (attrs[i]->key && strcmp(attrs[i]->key, key) == 0)
			return attrs[i]->value;
	return NULL;
}

const char *
ob_attr_str(otlp_key_value *const *attrs, size_t n, const char *key)
{
	const otlp_any_value *v = ob_attr_find(attrs, n, key);

	if (v && v->value_case == OTLP_VALUE(STRING_VALUE))
		return v->string_value;
	return NULL;
}

const char *
ob_resource_service(const otlp_resource *r)
{
	const char *s;

	if (r == NULL)
		return "";
	s = ob_attr_str(r->attributes, r->n_attributes, "service.name");
	return s ? s : "";
}

bool
ob_span_is_error(const otlp_span *s)
{
	return s->status && s->status->code == OTLP_STATUS(ERROR);
}

uint64_t
ob_span_duration(const otlp_span *s)
{
	return s->end_time_unix_nano > s->start_time_unix_nano
		       ? s->end_time_unix_nano - s->start_time_unix_nano
		       : 0;
}

const char *
ob_span_kind_name(int kind)
{
	static const char *const names[] = { "unspecified", "internal", "server",
					      "client", "producer", "consumer" };

	return kind >= 0 && kind <= 5 ? names[kind] : "unspecified";
}

const char *
ob_status_name(int code)
{
	static const char *const names[] = { "unset", "ok", "error" };

	return code >= 0 && code <= 2 ? names[code] : "unset";
}

/*
 * Span ids are sorted as numbers, not through pointers: a key of the id's
 * first 8 bytes (all of an OTLP span id) and its length, with the bytes
 * compared only for the rare longer id.  For a 50,000-span trace this is
 * most of what opening it costs after protobuf decoding.
 */
struct id_key {
	uint64_t key;
	const uint8_t *data;
	uint32_t len;
	int idx;
};

static uint64_t
key_of(const uint8_t *data, size_t len)
{
	uint64_t k = 0;
	size_t i;

	for (i = 0; i < 8; i++)
		k = k << 8 | (i < len ? data[i] : 0);
	return k;
}

static int
cmp_key(uint64_t ka, uint32_t la, const uint8_t *da, uint64_t kb, uint32_t lb,
	const uint8_t *db)
{
	if (ka != kb)
		return ka < kb ? -1 : 1;
	if (la > 8 && lb > 8) {
		int c = memcmp(da + 8, db + 8, (la < lb ? la : lb) - 8);

		if (c)
			return c;
	}
	return (la > lb) - (la < lb);
}

static int
cmp_id_key(const void *a, const void *b)
{
	const struct id_key *x = a, *y = b;

	return cmp_key(x->key, x->len, x->data, y->key, y->len, y->data);
}

struct start_key {
	uint64_t start;
	int idx;
};

static int
cmp_start_key(const void *a, const void *b)
{
	const struct start_key *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->idx - y->idx;
}

static int
find_by_id(const struct id_key *by_id, size_t n, ProtobufCBinaryData id)
{
	uint64_t k;
	size_t lo = 0, hi = n;

	if (id.len == 0)
		return -1;
	k = key_of(id.data, id.len);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = cmp_key(by_id[mid].key, by_id[mid].len, by_id[mid].data, k,
				(uint32_t)id.len, id.data);

		if (c == 0)
			return by_id[mid].idx;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

void
ob_trace_index(struct ob_trace *t, const otlp_traces_data *data)
{
	struct ob_span_ref *refs;
	size_t n = 0, i, j, k, out;
	struct id_key *by_id;
	struct start_key *by_start;
	int *order, *child_start, *children, *stack;
	size_t sp;

	for (i = 0; i < data->n_resource_spans; i++)
		for (j = 0; j < data->resource_spans[i]->n_scope_spans; j++)
			n += data->resource_spans[i]->scope_spans[j]->n_spans;
	t->nspans = n;
	t->root = -1;
	t->nerrors = 0;
	t->start_ns = UINT64_MAX;
	t->end_ns = 0;
	if (n == 0) {
		t->spans = NULL;
		t->start_ns = 0;
		return;
	}
	refs = ob_xcalloc(n, sizeof *refs);
	n = 0;
	for (i = 0; i < data->n_resource_spans; i++) {
		const otlp_resource_spans *rs = data->resource_spans[i];
		const char *service = ob_resource_service(rs->resource);

		for (j = 0; j < rs->n_scope_spans; j++) {
			const otlp_scope_spans *ss = rs->scope_spans[j];

			for (k = 0; k < ss->n_spans; k++) {
				struct ob_span_ref *r = &refs[n++];
				const otlp_span *s = ss->spans[k];

				r->span = s;
				r->rs = rs;
				r->ss = ss;
				r->service = service;
				r->start_ns = s->start_time_unix_nano;
				r->end_ns = s->end_time_unix_nano > r->start_ns
						    ? s->end_time_unix_nano : r->start_ns;
				if (n == 1 && s->trace_id.len == 16)
					memcpy(t->trace_id, s->trace_id.data, 16);
				if (r->start_ns < t->start_ns)
					t->start_ns = r->start_ns;
				if (r->end_ns > t->end_ns)
					t->end_ns = r->end_ns;
				if (ob_span_is_error(s))
					t->nerrors++;
			}
		}
	}

	by_id = ob_xmalloc(n * sizeof *by_id);
	by_start = ob_xmalloc(n * sizeof *by_start);
	order = ob_xmalloc(n * sizeof *order);
	for (i = 0; i < n; i++) {
		const ProtobufCBinaryData *id = &refs[i].span->span_id;

		by_id[i].key = key_of(id->data, id->len);
		by_id[i].data = id->data;
		by_id[i].len = (uint32_t)id->len;
		by_id[i].idx = (int)i;
		by_start[i].start = refs[i].start_ns;
		by_start[i].idx = (int)i;
	}
	qsort(by_id, n, sizeof *by_id, cmp_id_key);
	qsort(by_start, n, sizeof *by_start, cmp_start_key);
	for (i = 0; i < n; i++)
		order[i] = by_start[i].idx;
	free(by_start);

	for (i = 0; i < n; i++) {
		int p = find_by_id(by_id, n, refs[i].span->parent_span_id);

		refs[i].parent = p == (int)i ? -1 : p;
		if (refs[i].parent >= 0)
			refs[refs[i].parent].nchildren++;
	}
	/* Children of each parent, in start order: counting sort on parent. */
	child_start = ob_xcalloc(n + 2, sizeof *child_start);
	children = ob_xmalloc(n * sizeof *children);
	for (i = 0; i < n; i++)
		child_start[refs[i].parent + 1 + 1]++;
	for (i = 1; i < n + 2; i++)
		child_start[i] += child_start[i - 1];
	for (i = 0; i < n; i++) {
		int s = order[i];

		children[child_start[refs[s].parent + 1]++] = s;
	}
	/* child_start[p+1] now ends p's run; shift back to starts. */
	for (i = n + 1; i > 0; i--)
		child_start[i] = child_start[i - 1];
	child_start[0] = 0;

	/* Depth-first walk; a cycle cannot occur since every span is pushed once. */
	{
		struct ob_span_ref *laid = ob_xmalloc(n * sizeof *laid);
		int *newidx = ob_xmalloc(n * sizeof *newidx);
		bool *seen = ob_xcalloc(n, sizeof *seen);

		stack = ob_xmalloc((n + 1) * sizeof *stack);
		out = 0;
		/* roots are the children of "-1", i.e. bucket 0 */
		for (k = (size_t)child_start[0]; k < (size_t)child_start[1]; k++) {
			sp = 0;
			stack[sp++] = children[k];
			while (sp) {
				int s = stack[--sp];
				size_t c;

				if (seen[s])
					continue;
				seen[s] = true;
				newidx[s] = (int)out;
				laid[out++] = refs[s];
				for (c = (size_t)child_start[s + 2]; c > (size_t)child_start[s + 1]; c--)
					stack[sp++] = children[c - 1];
			}
		}
		/* Spans caught in a parent cycle have no root: add them as roots. */
		for (i = 0; i < n; i++)
			if (!seen[order[i]]) {
				int s = order[i];

				refs[s].parent = -1;
				newidx[s] = (int)out;
				laid[out++] = refs[s];
				seen[s] = true;
			}
		for (i = 0; i < n; i++) {
			laid[i].parent = laid[i].parent >= 0 ? newidx[laid[i].parent] : -1;
			laid[i].depth = laid[i].parent >= 0 ? laid[laid[i].parent].depth + 1 : 0;
		}
		for (i = 0; i < n && t->root < 0; i++)
			if (laid[i].parent < 0 && laid[i].span->parent_span_id.len == 0)
				t->root = (int)i;
		if (t->root < 0)
			t->root = 0;
		free(seen);
		free(newidx);
		free(refs);
		refs = laid;
	}
	t->spans = refs;
	free(stack);
	free(children);
	free(child_start);
	free(order);
	free(by_id);
}

void
ob_trace_release(struct ob_trace *t)
{
	free(t->spans);
	t->spans = NULL;
	t->nspans = 0;
	t->data = NULL;
	ob_arena_release(&t->arena);
}
