/*
 * otlp_http.h - the OTLP/HTTP receiver: POST /v1/traces, POST /v1/metrics,
 * and Prometheus remote write at POST /api/v1/write (metrics_ingest.h);
 * /v1/logs is answered with a clear "not yet".
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
struct ingest_metrics;
/* metrics (may be NULL: the metric routes answer 503) outlives the receiver. */
enum ob_err otlp_http_start(struct store *s, struct ingest_metrics *metrics, const char *addr,
			    const struct ingest_limits *lim, struct net_guard *guard,
			    struct ingest_stats *stats, struct receiver **out, char bound[64],
			    char *errbuf);

#endif
