/*
 * trace.h - one trace as the UI, the query API and TraceQL read it.
 *
 * A struct ob_trace is a flat, tree-linked view over decoded OTLP spans:
 * spans[] in depth-first order (children sorted by start time), each with
 * its parent, depth and the resource and scope it came with.  The OTLP
 * messages stay where they are; the view only points at them.
 *
 * Ownership: otlp_pb_decode_trace() (codec/otlp_pb.h) decodes TracesData bytes into t->arena and
 * the view owns everything; ob_trace_index() indexes messages the caller
 * owns and must keep alive.  ob_trace_release() frees what the trace owns.
 *
 * Spans whose parent is not in the trace (a root, or an orphan whose
 * parent has not arrived) have parent == -1; t->root is the first span
 * with an empty parent_span_id, else the earliest orphan, else -1.
 */
#ifndef OB_MODEL_TRACE_H
#define OB_MODEL_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "model/otlp.h"

struct ob_span_ref {
	const otlp_span *span;
	const otlp_resource_spans *rs;  /* resource and its schema_url */
	const otlp_scope_spans *ss;     /* scope and its schema_url */
	const char *service;            /* service.name of the resource, or "" */
	int parent;                     /* index into spans, or -1 */
	int depth;                      /* 0 for roots */
	int nchildren;
	uint64_t start_ns, end_ns;      /* end >= start, even when sent otherwise */
};

struct ob_trace {
	uint8_t trace_id[16];
	struct ob_span_ref *spans;      /* depth-first, children by start time */
	size_t nspans;
	int root;
	uint64_t start_ns, end_ns;      /* over all spans */
	size_t nerrors;                 /* spans with status ERROR */
	otlp_traces_data *data;         /* when decoded by otlp_pb_decode_trace */
	struct ob_arena arena;
};

/* Index spans of every ResourceSpans of data, which the caller keeps alive. */
void ob_trace_index(struct ob_trace *t, const otlp_traces_data *data);
void ob_trace_release(struct ob_trace *t);

/* The string value of key among attributes, or NULL. */
const char *ob_attr_str(otlp_key_value *const *attrs, size_t n, const char *key);
/* The value of key among attributes, or NULL. */
const otlp_any_value *ob_attr_find(otlp_key_value *const *attrs, size_t n, const char *key);
/* service.name of a resource, "" when unset. */
const char *ob_resource_service(const otlp_resource *r);
bool ob_span_is_error(const otlp_span *s);
uint64_t ob_span_duration(const otlp_span *s);
/* "server", "client", ... and "unspecified"; for TraceQL and display. */
const char *ob_span_kind_name(int kind);
const char *ob_status_name(int code);   /* "unset", "ok", "error" */

/* A ProtobufCAllocator that allocates from arena and never frees. */
struct ProtobufCAllocator;
void ob_arena_protobuf_allocator(struct ob_arena *arena, struct ProtobufCAllocator *out);

#endif
