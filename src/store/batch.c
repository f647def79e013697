/*
 * batch.c - turning a decoded export request into one head row.
 *
 * Runs in the receiver's thread, so the single writer only does SQLite.
 * Steps: validate every id (a bad one rejects the whole request), sort
 * span references by (trace id, resource, scope, position), then for each
 * trace build a TracesData part from the request's own bytes (see
 * otlp_wire.h: every field, unknown ones and strings holding U+0000
 * included, is kept exactly as sent) and a directory entry summarising it;
 * the parts, one after the other, are compressed with zstd as one.
 * Without wire bytes (a request built in memory) the messages are packed
 * with protobuf-c.
 */
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "core/arena.h"
#include "core/clock.h"
#include "core/mem.h"
#include "core/util.h"
#include "model/otlp_wire.h"
#include "model/trace.h"
#include "store/store_int.h"

#define CHUNK_ZSTD_LEVEL 1
#define TAG_MAX_VALUE 256

struct span_pos {
	const otlp_span *span;
	uint32_t rs, ss, idx;
};

static int
cmp_pos(const void *a, const void *b)
{
	const struct span_pos *x = a, *y = b;
	int c = memcmp(x->span->trace_id.data, y->span->trace_id.data, 16);

	if (c)
		return c;
	if (x->rs != y->rs)
		return x->rs < y->rs ? -1 : 1;
	if (x->ss != y->ss)
		return x->ss < y->ss ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static bool
all_zero(const ProtobufCBinaryData *b)
{
	size_t i;

	for (i = 0; i < b->len; i++)
		if (b->data[i])
			return false;
	return true;
}

static enum ob_err
validate(const otlp_span *sp, size_t r, size_t s, size_t k, char *errbuf)
{
	const char *what = NULL;

	if (sp->trace_id.len != 16)
		what = "trace id must be 16 bytes";
	else if (all_zero(&sp->trace_id))
		what = "trace id is all zeros";
	else if (sp->span_id.len != 8)
		what = "span id must be 8 bytes";
	else if (all_zero(&sp->span_id))
		what = "span id is all zeros";
	else if (sp->parent_span_id.len != 0 && sp->parent_span_id.len != 8)
		what = "parent span id must be empty or 8 bytes";
	if (what == NULL)
		return OB_OK;
	return ob_errf(errbuf, OB_EINVAL,
		       "resourceSpans[%zu].scopeSpans[%zu].spans[%zu]: %s (got %zu bytes)", r, s, k,
		       what, what[0] == 't' ? sp->trace_id.len :
			     what[0] == 's' ? sp->span_id.len : sp->parent_span_id.len);
}

/* Tag values: a small open-addressing set dedups within one batch. */
struct tag_set {
	uint64_t *slots;
	size_t cap;
};

static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ull;
	return h;
}

static bool
tag_set_add(struct tag_set *ts, uint64_t h)
{
	size_t i;

	if (h == 0)
		h = 1;
	for (i = h % ts->cap;; i = (i + 1) % ts->cap) {
		if (ts->slots[i] == h)
			return false;
		if (ts->slots[i] == 0) {
			ts->slots[i] = h;
			return true;
		}
	}
}

static void
note_tags(struct store *st, struct store_batch *b, struct tag_set *ts, size_t *alloc,
	  uint8_t scope, otlp_key_value *const *attrs, size_t n)
{
	char num[64];
	size_t i;

	for (i = 0; i < n && b->ntags < ts->cap / 2; i++) {
		const otlp_any_value *v = attrs[i]->value;
		const char *val = NULL;
		uint8_t type = STORE_TYPE_STRING;
		uint64_t h;

		if (v == NULL || attrs[i]->key == NULL || strlen(attrs[i]->key) > TAG_MAX_VALUE ||
		    (st && tag_key_capped(st, tag_key_hash(scope, attrs[i]->key))))
			continue;
		switch (v->value_case) {
		case OTLP_VALUE(STRING_VALUE):
			val = v->string_value;
			break;
		case OTLP_VALUE(INT_VALUE):
			snprintf(num, sizeof num, "%lld", (long long)v->int_value);
			val = num;
			type = STORE_TYPE_INT;
			break;
		case OTLP_VALUE(BOOL_VALUE):
			val = v->bool_value ? "true" : "false";
			type = STORE_TYPE_BOOL;
			break;
		case OTLP_VALUE(DOUBLE_VALUE):
			snprintf(num, sizeof num, "%.17g", v->double_value);
			val = num;
			type = STORE_TYPE_FLOAT;
			break;
		default:
			continue;
		}
		if (strlen(val) > TAG_MAX_VALUE)
			continue;
		h = fnv(fnv(fnv(0xcbf29ce484222325ull, &scope, 1), attrs[i]->key,
			    strlen(attrs[i]->key) + 1), val, strlen(val));
		if (!tag_set_add(ts, h))
			continue;
		if (b->ntags == *alloc) {
			*alloc = *alloc ? 2 * *alloc : 64;
			b->tags = ob_xrealloc(b->tags, *alloc * sizeof *b->tags);
		}
		b->tags[b->ntags].scope = scope;
		b->tags[b->ntags].type = type;
		b->tags[b->ntags].key = ob_xstrdup(attrs[i]->key);
		b->tags[b->ntags].value = ob_xstrdup(val);
		b->ntags++;
	}
}

/* Span names are the values of the intrinsic tag "name". */
static void
note_name(struct store *st, struct store_batch *b, struct tag_set *ts, size_t *alloc,
	  const char *name)
{
	otlp_any_value v = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
	otlp_key_value kv = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
	otlp_key_value *kvs[1] = { &kv };

	v.value_case = OTLP_VALUE(STRING_VALUE);
	v.string_value = (char *)(name ? name : "");
	kv.key = "name";
	kv.value = &v;
	note_tags(st, b, ts, alloc, STORE_TAG_INTRINSIC, kvs, 1);
}

/* Size of the ScopeSpans payload holding pos[i..k) (one scope). */
static size_t
wire_scope_size(const struct otlp_wire_request *w, const struct span_pos *pos, size_t i,
		size_t k)
{
	const struct otlp_wire_scope *sc = &w->resources[pos[i].rs].scopes[pos[i].ss];
	size_t size = sc->head.len;

	for (; i < k; i++)
		size += otlp_wire_bytes_size(2, sc->spans[pos[i].idx].n);
	return size;
}

/*
 * Write TracesData for pos[0..n) from the request's own bytes: each
 * ResourceSpans and ScopeSpans keeps its encoded head, each span its
 * encoded bytes, so nothing sent is changed (strings with U+0000 included).
 */
static void
build_wire(struct ob_buf *out, const struct otlp_wire_request *w, const struct span_pos *pos,
	   size_t n)
{
	size_t i = 0;

	while (i < n) {
		const struct otlp_wire_resource *r = &w->resources[pos[i].rs];
		size_t j = i, k, rs_size = r->head.len;

		while (j < n && pos[j].rs == pos[i].rs)
			j++;
		for (k = i; k < j;) {
			size_t e = k;

			while (e < j && pos[e].ss == pos[k].ss)
				e++;
			rs_size += otlp_wire_bytes_size(2, wire_scope_size(w, pos, k, e));
			k = e;
		}
		otlp_wire_put_varint(out, 1 << 3 | 2);
		otlp_wire_put_varint(out, rs_size);
		ob_buf_add(out, r->head.data, r->head.len);
		for (k = i; k < j;) {
			const struct otlp_wire_scope *sc = &r->scopes[pos[k].ss];
			size_t e = k;

			while (e < j && pos[e].ss == pos[k].ss)
				e++;
			otlp_wire_put_varint(out, 2 << 3 | 2);
			otlp_wire_put_varint(out, wire_scope_size(w, pos, k, e));
			ob_buf_add(out, sc->head.data, sc->head.len);
			for (; k < e; k++)
				otlp_wire_put_bytes(out, 2, sc->spans[pos[k].idx].p,
						    sc->spans[pos[k].idx].n);
		}
		i = j;
	}
}

/* Does the wire index describe the same tree protobuf-c decoded? */
static bool
wire_matches(const struct otlp_wire_request *w, otlp_resource_spans *const *rs, size_t nrs)
{
	size_t i, j;

	if (w == NULL || w->nresources != nrs)
		return false;
	for (i = 0; i < nrs; i++) {
		if (w->resources[i].nscopes != rs[i]->n_scope_spans)
			return false;
		for (j = 0; j < rs[i]->n_scope_spans; j++)
			if (w->resources[i].scopes[j].nspans != rs[i]->scope_spans[j]->n_spans)
				return false;
	}
	return true;
}

/* Append the spans pos[0..n) (one trace) to raw as TracesData. */
static void
build_part(struct chunk *c, otlp_resource_spans *const *rs, const struct otlp_wire_request *w,
	   const struct span_pos *pos, size_t n, struct ob_arena *arena, struct ob_buf *raw)
{
	otlp_traces_data td = OPENTELEMETRY__PROTO__TRACE__V1__TRACES_DATA__INIT;
	otlp_resource_spans **out_rs;
	size_t i, nrs = 0, len;
	uint8_t *dst;

	c->offset = (uint32_t)raw->len;
	if (w) {
		build_wire(raw, w, pos, n);
		c->len = (uint32_t)(raw->len - c->offset);
		return;
	}
	out_rs = ob_arena_alloc(arena, n * sizeof *out_rs);
	for (i = 0; i < n;) {
		size_t j = i, nss = 0;
		otlp_resource_spans *r = ob_arena_alloc(arena, sizeof *r);

		*r = *rs[pos[i].rs];
		while (j < n && pos[j].rs == pos[i].rs)
			j++;
		r->scope_spans = ob_arena_alloc(arena, (j - i) * sizeof *r->scope_spans);
		while (i < j) {
			size_t k = i;
			otlp_scope_spans *s = ob_arena_alloc(arena, sizeof *s);

			*s = *rs[pos[i].rs]->scope_spans[pos[i].ss];
			while (k < j && pos[k].ss == pos[i].ss)
				k++;
			s->spans = ob_arena_alloc(arena, (k - i) * sizeof *s->spans);
			s->n_spans = 0;
			for (; i < k; i++)
				s->spans[s->n_spans++] = (otlp_span *)pos[i].span;
			r->scope_spans[nss++] = s;
		}
		r->n_scope_spans = nss;
		out_rs[nrs++] = r;
	}
	td.resource_spans = out_rs;
	td.n_resource_spans = nrs;
	len = protobuf_c_message_get_packed_size(&td.base);
	ob_buf_reserve(raw, len, &dst);
	protobuf_c_message_pack(&td.base, dst);
	raw->len += len;
	c->len = (uint32_t)len;
}

static void
summarise(struct chunk *c, otlp_resource_spans *const *rs, const struct span_pos *pos,
	  size_t n)
{
	size_t i;

	memcpy(c->trace_id, pos[0].span->trace_id.data, 16);
	c->start_ns = UINT64_MAX;
	for (i = 0; i < n; i++) {
		const otlp_span *sp = pos[i].span;
		const char *service = ob_resource_service(rs[pos[i].rs]->resource);
		bool error = ob_span_is_error(sp);
		uint64_t end = sp->end_time_unix_nano > sp->start_time_unix_nano
				       ? sp->end_time_unix_nano : sp->start_time_unix_nano;

		if (sp->start_time_unix_nano < c->start_ns)
			c->start_ns = sp->start_time_unix_nano;
		if (end > c->end_ns)
			c->end_ns = end;
		c->nspans++;
		c->nerrors += error;
		if (sp->parent_span_id.len == 0 && c->root_service == NULL) {
			c->root_service = ob_xstrdup(service);
			c->root_name = ob_xstrdup(sp->name ? sp->name : "");
		}
		service_note(&c->services, &c->nservices, service, ob_span_duration(sp), error);
	}
}

/* One compression context per receiver thread, freed when the thread ends. */
static pthread_key_t cctx_key;
static pthread_once_t cctx_once = PTHREAD_ONCE_INIT;

static void
cctx_free(void *p)
{
	ZSTD_freeCCtx(p);
}

static void
cctx_key_make(void)
{
	pthread_key_create(&cctx_key, cctx_free);
}

static ZSTD_CCtx *
thread_cctx(void)
{
	ZSTD_CCtx *c;

	pthread_once(&cctx_once, cctx_key_make);
	c = pthread_getspecific(cctx_key);
	if (c == NULL) {
		c = ZSTD_createCCtx();
		pthread_setspecific(cctx_key, c);
	}
	return c;
}

enum ob_err
store_batch_build(struct store *st, otlp_resource_spans *const *rs, size_t nrs,
		  const struct otlp_wire_request *wire, struct store_batch **out, char *errbuf)
{
	ZSTD_CCtx *cctx;
	struct store_batch *b = ob_xcalloc(1, sizeof *b);
	struct span_pos *pos = NULL;
	struct ob_arena arena;
	struct tag_set ts = { 0 };
	struct ob_buf raw;
	size_t n = 0, i, r, s, k, tags_alloc = 0;
	enum ob_err err = OB_OK;

	writer_item_init(&b->item, ITEM_BATCH);
	ob_buf_init(&b->dir, 0);
	ob_arena_init(&arena, 0);
	for (r = 0; r < nrs; r++)
		for (s = 0; s < rs[r]->n_scope_spans; s++)
			n += rs[r]->scope_spans[s]->n_spans;
	if (n == 0)
		goto out;
	pos = ob_xmalloc(n * sizeof *pos);
	ts.cap = 4096;
	ts.slots = ob_xcalloc(ts.cap, sizeof *ts.slots);
	n = 0;
	for (r = 0; r < nrs; r++) {
		if (rs[r]->resource)
			note_tags(st, b, &ts, &tags_alloc, STORE_TAG_RESOURCE,
				  rs[r]->resource->attributes, rs[r]->resource->n_attributes);
		for (s = 0; s < rs[r]->n_scope_spans; s++) {
			const otlp_scope_spans *ss = rs[r]->scope_spans[s];

			for (k = 0; k < ss->n_spans; k++) {
				const otlp_span *sp = ss->spans[k];

				if ((err = validate(sp, r, s, k, errbuf)))
					goto out;
				note_tags(st, b, &ts, &tags_alloc, STORE_TAG_SPAN, sp->attributes,
					  sp->n_attributes);
				note_name(st, b, &ts, &tags_alloc, sp->name);
				pos[n].span = sp;
				pos[n].rs = (uint32_t)r;
				pos[n].ss = (uint32_t)s;
				pos[n].idx = (uint32_t)k;
				n++;
			}
		}
	}
	qsort(pos, n, sizeof *pos, cmp_pos);
	if (!wire_matches(wire, rs, nrs))
		wire = NULL;
	cctx = thread_cctx();
	b->chunks = ob_xcalloc(n, sizeof *b->chunks);
	ob_buf_init(&raw, 0);
	for (i = 0; i < n;) {
		size_t j = i + 1;
		struct chunk *c = &b->chunks[b->nchunks++];

		while (j < n && memcmp(pos[j].span->trace_id.data, pos[i].span->trace_id.data, 16) == 0)
			j++;
		summarise(c, rs, pos + i, j - i);
		build_part(c, rs, wire, pos + i, j - i, &arena, &raw);
		head_dir_add(&b->dir, c);
		i = j;
	}
	b->nspans = n;
	b->raw_len = raw.len;
	{
		size_t bound = ZSTD_compressBound(raw.len), z;

		b->data = ob_xmalloc(bound);
		z = ZSTD_compressCCtx(cctx, b->data, bound, raw.data, raw.len, CHUNK_ZSTD_LEVEL);
		ob_buf_release(&raw);
		if (ZSTD_isError(z)) {
			err = ob_errf(errbuf, OB_EINTERNAL, "zstd: %s", ZSTD_getErrorName(z));
			goto out;
		}
		b->len = z;
		b->bytes = z + b->dir.len;
	}
out:
	free(ts.slots);
	free(pos);
	ob_arena_release(&arena);
	if (err) {
		store_batch_free(b);
		return err;
	}
	*out = b;
	return OB_OK;
}

size_t
store_batch_spans(const struct store_batch *b)
{
	return b->nspans;
}

size_t
store_batch_bytes(const struct store_batch *b)
{
	return b->bytes;
}

void
store_batch_free(struct store_batch *b)
{
	size_t i, j;

	if (b == NULL)
		return;
	for (i = 0; i < b->nchunks; i++) {
		struct chunk *c = &b->chunks[i];

		free(c->root_service);
		free(c->root_name);
		for (j = 0; j < c->nservices; j++)
			free(c->services[j].service);
		free(c->services);
	}
	free(b->chunks);
	free(b->data);
	ob_buf_release(&b->dir);
	for (i = 0; i < b->ntags; i++) {
		free(b->tags[i].key);
		free(b->tags[i].value);
	}
	free(b->tags);
	writer_item_release(&b->item);
	free(b);
}
