/*
 * fuzz_zipkin.c - Zipkin v2 JSON from arbitrary bytes: zipkin_to_otlp must
 * never crash, leak or read out of bounds, and whatever it accepts must
 * be a valid ExportTraceServiceRequest for protobuf-c.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "codec/zipkin.h"
#include "model/otlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ob_buf wire;
	char errbuf[OB_ERRLEN];

	ob_buf_init(&wire, 64u << 20);
	if (zipkin_to_otlp((const char *)data, size, &wire, errbuf) == OB_OK) {
		otlp_export_request *req =
			opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
				NULL, wire.len, wire.data ? wire.data : (const uint8_t *)"");

		if (req == NULL)
			abort();
		opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(
			req, NULL);
	}
	ob_buf_release(&wire);
	return 0;
}
