/*
 * fuzz_otlp_pb.c - OTLP trace export requests from arbitrary bytes, down
 * the path a real request takes (ingest_traces_batch, everything but the
 * store's commit): OTLP/JSON transcoding when the input starts with '{',
 * the depth guard, protobuf-c decoding into a capped arena, wire indexing
 * and the store's batch builder (id validation, regrouping, packing).
 * Nothing may crash, leak or read out of bounds.
 */
#include <stddef.h>
#include <stdint.h>

#include "ingest/ingest.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum ingest_format fmt = size && data[0] == '{' ? INGEST_JSON : INGEST_PROTOBUF;
	struct store_batch *b;
	char errbuf[OB_ERRLEN];
	size_t nspans;

	if (ingest_traces_batch(NULL, data, size, fmt, 8u << 20, &b, &nspans, errbuf) == OB_OK)
		store_batch_free(b);
	return 0;
}
