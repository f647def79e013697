/*
 * zipkin.h - Zipkin v2 JSON spans in, OTLP out: the decoder that maps
 * them, and the receiver that serves POST /api/v2/spans.
 *
 * The mapping is the OpenTelemetry Collector's Zipkin receiver's
 * (pkg/translator/zipkin/zipkinv2/to_translator.go in
 * opentelemetry-collector-contrib), so data sent here reads the same as
 * data that went through a Collector:
 *
 *   Zipkin v2                      OTLP
 *   -----------------------------  ------------------------------------------
 *   localEndpoint.serviceName      resource service.name (or the key named by
 *                                  the tag otlp.service.name.source); spans
 *                                  are grouped by it, then by the tag
 *                                  otel.library.name, sorted by both; no name:
 *                                  a resource without attributes
 *   resource semconv tags          resource attributes (taken from the first
 *     (host.name, telemetry.sdk.*  span of each group; never span attributes)
 *     service.*, k8s.* ...)
 *   otel.library.name / .version   scope name / version
 *   traceId (16 or 32 hex)         trace_id, a 64-bit id left-padded with 0
 *   id, parentId (16 hex)          span_id, parent_span_id (a parentId equal
 *                                  to id is dropped)
 *   name                           name
 *   kind CLIENT SERVER PRODUCER    kind; absent: the tag span.kind=internal
 *     CONSUMER                     gives INTERNAL, else UNSPECIFIED
 *   timestamp, duration (µs)       start, end (ns); no timestamp: start 0,
 *                                  end = duration and the attribute
 *                                  otel.zipkin.absentField.startTime = true
 *   tags                           string attributes, in the order sent
 *   tag w3c.tracestate             trace_state
 *   tag otel.status_code           status code (STATUS_CODE_OK, Ok, OK ...),
 *     + otel.status_description    status message
 *   tag error                      status ERROR; "true" is dropped, any other
 *                                  value stays an attribute and becomes the
 *                                  status message when there is none
 *   tags otlp.link.0 ... 127       links ("traceid|spanid|tracestate|
 *                                  {json attrs}|dropped")
 *   annotations                    events: timestamp, name = value up to '|'
 *                                  ("name|{json attrs}|dropped" carries
 *                                  attributes)
 *   localEndpoint ipv4/ipv6, port  net.host.ip, net.host.port (int)
 *   remoteEndpoint serviceName,    peer.service, net.peer.ip,
 *     ipv4/ipv6, port              net.peer.port (int)
 *   shared, debug                  ignored, as the Collector does
 *
 * Source locations: src/codec/zipkin.c (the decoder), src/ingest/
 * zipkin_http.c (the receiver); tests in tests/unit/test_zipkin.c,
 * tests/fuzz/fuzz_zipkin.c and tests/integration/zipkin.test.mjs.
 */
#ifndef OB_CODEC_ZIPKIN_H
#define OB_CODEC_ZIPKIN_H

#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

/*
 * Map the Zipkin v2 JSON text json[0..len) (an array of spans; need not
 * end in a NUL) to an OTLP ExportTraceServiceRequest in protobuf wire
 * bytes, appended to wire_out.  The caller owns wire_out before and after;
 * its cap bounds the result (OB_ETOOBIG), and the scratch memory is capped
 * in proportion to len.  An empty array gives an empty request.
 *
 * Returns OB_OK, or OB_EINVAL for input that is not JSON, not an array, or
 * a span with a missing or malformed field; errbuf (OB_ERRLEN bytes, or
 * NULL) then names the span and field, e.g. "spans[2].traceId: expected 16
 * or 32 hex digits, got 15 characters".  On error wire_out is as it was.
 */
enum ob_err zipkin_to_otlp(const char *json, size_t len, struct ob_buf *wire_out, char *errbuf);

#endif
