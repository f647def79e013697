/*
 * otlp_wire.h - the wire layout of an OTLP trace export request, so that
 * spans can be regrouped by trace without re-encoding them.
 *
 * protobuf-c turns strings into NUL-terminated C strings, so a string
 * holding U+0000 would come back cut short after a decode and re-encode.
 * obstui therefore stores the bytes it was sent: otlp_wire_index() finds,
 * for an ExportTraceServiceRequest (or TracesData: the same layout), each
 * span's encoded bytes and, for each ResourceSpans and ScopeSpans, the
 * encoded fields other than their children ("heads": resource, scope,
 * schema URLs, unknown fields).  Lists are in wire order, which is the
 * order protobuf-c gives the decoded repeated fields, so index i here is
 * index i there.
 *
 * The index points into the request bytes (which the caller keeps alive)
 * except for the heads, which are copied into index-owned memory.
 */
#ifndef OB_MODEL_OTLP_WIRE_H
#define OB_MODEL_OTLP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

struct otlp_wire_slice {
	const uint8_t *p;
	size_t n;
};

struct otlp_wire_scope {
	struct ob_buf head;              /* fields 1 and 3.. of ScopeSpans, encoded */
	struct otlp_wire_slice *spans;   /* payload of each Span */
	size_t nspans;
};

struct otlp_wire_resource {
	struct ob_buf head;              /* fields 1 and 3.. of ResourceSpans, encoded */
	struct otlp_wire_scope *scopes;
	size_t nscopes;
};

struct otlp_wire_request {
	struct otlp_wire_resource *resources;
	size_t nresources;
};

/* Index p[0..n); OB_EINVAL when the bytes are not well-formed protobuf. */
enum ob_err otlp_wire_index(const uint8_t *p, size_t n, struct otlp_wire_request *req,
			    char *errbuf);
void otlp_wire_release(struct otlp_wire_request *req);

/* Append a length-delimited field (key for field, varint length, bytes). */
void otlp_wire_put_bytes(struct ob_buf *b, uint32_t field, const void *p, size_t n);
/* The size otlp_wire_put_bytes adds for a payload of n bytes. */
size_t otlp_wire_bytes_size(uint32_t field, size_t n);
/* Read a varint at *p (below end), moving *p past it; false if cut short. */
bool otlp_wire_get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v);
/*
 * Read one field at *p (below end): its number, wire type, and value
 * (varint, or fixed64/fixed32 little-endian; may be NULL) or, for type 2,
 * its payload.  *p moves past the field.  False on malformed bytes or a
 * group (types 3 and 4).
 */
bool otlp_wire_next(const uint8_t **p, const uint8_t *end, uint32_t *num, int *type,
		    uint64_t *value, struct otlp_wire_slice *payload);
/* Append a varint. */
void otlp_wire_put_varint(struct ob_buf *b, uint64_t v);

/* Append the TracesData p[0..n) to out with the resource attribute key = value
 * (a string) added to every ResourceSpans; OB_EINVAL when it is not protobuf. */
enum ob_err otlp_wire_add_resource_attr(const uint8_t *p, size_t n, const char *key,
					const char *value, struct ob_buf *out, char *errbuf);

#endif
