/*
 * fuzz_otlp_pb.c - OTLP protobuf requests from arbitrary bytes: the depth
 * guard, protobuf-c decoding into a capped arena, and the store's batch
 * builder (id validation, regrouping, packing) on whatever decodes.
 * Nothing may crash, leak or read out of bounds.
 */
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "codec/otlp_pb.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ob_arena arena;
	ProtobufCMessage *msg;
	char errbuf[OB_ERRLEN];

	ob_arena_init(&arena, 64u << 20);
	if (otlp_pb_decode(&otlp_export_request_descriptor, data, size, &arena, &msg,
			   errbuf) == OB_OK) {
		otlp_export_request *req = (otlp_export_request *)msg;
		struct store_batch *b;

		if (store_batch_build(NULL, req->resource_spans, req->n_resource_spans, NULL, &b, errbuf) ==
		    OB_OK)
			store_batch_free(b);
	}
	ob_arena_release(&arena);
	return 0;
}
