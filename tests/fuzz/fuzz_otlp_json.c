/*
 * fuzz_otlp_json.c - libFuzzer target for the OTLP/JSON codec.
 *
 * Any bytes are decoded as an ExportTraceServiceRequest.  When they
 * decode, the message is written back as JSON and decoded again, and both
 * messages must pack to the same protobuf bytes: JSON is a lossless detour
 * for whatever the decoder accepted.  Failing to decode is fine; crashing,
 * leaking, or a mismatch is not.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "ingest/otlp_json.h"
#include "model/otlp.h"

#define ARENA_CAP (64u << 20)

static uint8_t *
pack(const ProtobufCMessage *m, size_t *n)
{
	uint8_t *p;

	*n = protobuf_c_message_get_packed_size(m);
	p = malloc(*n ? *n : 1);
	if (protobuf_c_message_pack(m, p) != *n)
		abort();
	return p;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char errbuf[OB_ERRLEN];
	struct ob_arena a1, a2;
	ProtobufCMessage *m1, *m2;
	uint8_t *p1 = NULL, *p2 = NULL;
	size_t n1, n2;
	struct ob_buf text;
	enum ob_err err;

	ob_arena_init(&a1, ARENA_CAP);
	ob_arena_init(&a2, ARENA_CAP);
	ob_buf_init(&text, 0);
	if (otlp_json_decode(&otlp_export_request_descriptor, (const char *)data, size, &a1, &m1,
			     errbuf))
		goto out;
	if ((err = otlp_json_encode(m1, &text, errbuf))) {
		fprintf(stderr, "re-encode failed: %s\n", errbuf);
		abort();
	}
	if ((err = otlp_json_decode(&otlp_export_request_descriptor, (const char *)text.data,
				    text.len, &a2, &m2, errbuf))) {
		fprintf(stderr, "re-decode failed: %s\n%s\n", errbuf, (const char *)text.data);
		abort();
	}
	p1 = pack(m1, &n1);
	p2 = pack(m2, &n2);
	if (n1 != n2 || memcmp(p1, p2, n1) != 0) {
		fprintf(stderr, "round trip changed the message:\n%s\n", (const char *)text.data);
		abort();
	}
out:
	free(p1);
	free(p2);
	ob_buf_release(&text);
	ob_arena_release(&a1);
	ob_arena_release(&a2);
	return 0;
}
