/*
 * otlp_http.h - the OTLP/HTTP receiver: POST /v1/traces (and, answered
 * with a clear "not yet", /v1/metrics and /v1/logs).
 *
 * Responses follow the OTLP/HTTP specification: 200 with an
 * ExportTraceServiceResponse in the request's encoding once the data is
 * durable; 400 with a google.rpc.Status naming the problem; 413 over a
 * size limit; 415 for other media types or encodings; 503 with
 * Retry-After when the store cannot keep up.
 */
#ifndef OB_INGEST_OTLP_HTTP_H
#define OB_INGEST_OTLP_HTTP_H

#include "ingest/receiver.h"

/* Start the receiver on addr; stop it with receiver_stop(). */
enum ob_err otlp_http_start(struct store *s, const char *addr, const struct ingest_limits *lim,
			    struct ingest_stats *stats, struct receiver **out, char bound[64],
			    char *errbuf);

#endif
