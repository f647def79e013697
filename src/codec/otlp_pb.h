/*
 * otlp_pb.h - decoding OTLP protobuf requests: bytes in, messages out.
 *
 * Decoding does no I/O and allocates only from the caller's arena, whose
 * cap bounds the decoded tree (OB_ETOOBIG past it).  Before protobuf-c
 * sees the bytes, a wire walk checks that messages nest no deeper than the
 * attribute limit allows, so hostile nesting is a clear 400, never a deep
 * recursion.
 */
#ifndef OB_CODEC_OTLP_PB_H
#define OB_CODEC_OTLP_PB_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "model/otlp.h"

#define OTLP_MAX_ATTR_DEPTH 32

/*
 * Check nesting of a message of type desc: at most max_attr_depth levels
 * of nested attribute values.  OB_EINVAL naming the limit when deeper;
 * malformed wire bytes are left for the decoder to report.
 */
enum ob_err otlp_pb_check_depth(const ProtobufCMessageDescriptor *desc, const uint8_t *p,
				size_t n, int max_attr_depth, char *errbuf);

/* Decode a message of type desc into arena. */
enum ob_err otlp_pb_decode(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t n,
			   struct ob_arena *arena, ProtobufCMessage **out, char *errbuf);

/*
 * Stored TracesData bytes (a trace read back from the store) into the
 * trace view t, through the same guarded decode; t->arena (capped at cap,
 * 0 for none) owns everything.  OB_ECORRUPT when the bytes do not decode.
 */
struct ob_trace;
/* Decode TracesData bytes (capped by an arena of cap bytes) and index them. */
enum ob_err otlp_pb_decode_trace(const uint8_t *p, size_t n, size_t cap, struct ob_trace *t,
			    char *errbuf);

#endif
