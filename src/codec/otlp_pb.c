/*
 * otlp_pb.c - OTLP protobuf decoding with a depth guard (see otlp_pb.h).
 *
 * The depth walk reads the wire format directly: varint keys, and for
 * length-delimited fields whose descriptor says "message", a recursive walk
 * of the payload.  It allocates nothing and stops at the first malformed
 * byte (protobuf-c then gives the real error).  It counts AnyValue levels
 * on the way down: an attribute's value is level 1, a value inside its
 * array or key-value list level 2, and so on.
 */
#include "codec/otlp_pb.h"

#include <stdio.h>
#include <string.h>

#include "model/otlp_wire.h"
#include "model/trace.h"

static const ProtobufCFieldDescriptor *
field_by_number(const ProtobufCMessageDescriptor *d, uint32_t num)
{
	unsigned i;

	for (i = 0; i < d->n_fields; i++)
		if (d->fields[i].id == num)
			return &d->fields[i];
	return NULL;
}

/*
 * Returns 0, or -1 once AnyValues nest more than max deep (values counts
 * AnyValue levels) or messages more than MAX_MESSAGE_DEPTH.
 */
#define MAX_MESSAGE_DEPTH 256

static int
walk(const ProtobufCMessageDescriptor *d, const uint8_t *p, const uint8_t *end, int depth,
     int values, int max)
{
	if (d == &opentelemetry__proto__common__v1__any_value__descriptor)
		values++;
	if (values > max || depth > MAX_MESSAGE_DEPTH)
		return -1;
	while (p < end) {
		uint64_t key, len;
		const ProtobufCFieldDescriptor *f;

		if (!otlp_wire_get_varint(&p, end, &key))
			return 0;
		switch (key & 7) {
		case 0:
			if (!otlp_wire_get_varint(&p, end, &len))
				return 0;
			break;
		case 1:
			if (end - p < 8)
				return 0;
			p += 8;
			break;
		case 5:
			if (end - p < 4)
				return 0;
			p += 4;
			break;
		case 2:
			if (!otlp_wire_get_varint(&p, end, &len) || len > (uint64_t)(end - p))
				return 0;
			f = field_by_number(d, (uint32_t)(key >> 3));
			if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
			    walk(f->descriptor, p, p + len, depth + 1, values, max) < 0)
				return -1;
			p += len;
			break;
		default:
			return 0;
		}
	}
	return 0;
}

enum ob_err
otlp_pb_check_depth(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t n,
		    int max_attr_depth, char *errbuf)
{
	if (walk(desc, p, p + n, 0, 0, max_attr_depth) < 0)
		return ob_errf(errbuf, OB_EINVAL,
			       "attribute values nest deeper than %d levels", max_attr_depth);
	return OB_OK;
}

enum ob_err
otlp_pb_decode(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t n,
	       struct ob_arena *arena, ProtobufCMessage **out, char *errbuf)
{
	ProtobufCAllocator alloc;
	enum ob_err err;

	if ((err = otlp_pb_check_depth(desc, p, n, OTLP_MAX_ATTR_DEPTH, errbuf)))
		return err;
	ob_arena_protobuf_allocator(arena, &alloc);
	*out = protobuf_c_message_unpack(desc, &alloc, n, p);
	if (*out == NULL) {
		if (arena->over)
			return ob_errf(errbuf, OB_ETOOBIG,
				       "the decoded request is larger than the %zu MiB limit",
				       arena->cap >> 20);
		return ob_errf(errbuf, OB_EINVAL,
			       "the body is not a valid protobuf %s (truncated or malformed)",
			       desc->name);
	}
	return OB_OK;
}

enum ob_err
otlp_pb_decode_trace(const uint8_t *p, size_t n, size_t cap, struct ob_trace *t, char *errbuf)
{
	ProtobufCMessage *msg;
	enum ob_err err;

	memset(t, 0, sizeof *t);
	ob_arena_init(&t->arena, cap);
	if ((err = otlp_pb_decode(&otlp_traces_data_descriptor, p, n, &t->arena, &msg, errbuf))) {
		if (err != OB_ETOOBIG && errbuf) {
			char why[OB_ERRLEN];

			snprintf(why, sizeof why, "%s", errbuf);
			err = ob_errf(errbuf, OB_ECORRUPT,
				      "trace data does not decode as OTLP TracesData: %s", why);
		} else if (err != OB_ETOOBIG) {
			err = OB_ECORRUPT;
		}
		ob_arena_release(&t->arena);
		return err;
	}
	t->data = (otlp_traces_data *)msg;
	ob_trace_index(t, t->data);
	return OB_OK;
}
