/*
 * otlp_grpc.h - the OTLP/gRPC receiver:
 * opentelemetry.proto.collector.trace.v1.TraceService/Export, and the
 * metrics and logs services answered UNIMPLEMENTED until obstui stores them.
 *
 * Status codes follow the OTLP specification: OK once the data is durable
 * (an empty ExportTraceServiceResponse); INVALID_ARGUMENT for data that
 * cannot be decoded or has invalid ids; RESOURCE_EXHAUSTED over a size
 * limit; UNAVAILABLE with a RetryInfo of one second in
 * grpc-status-details-bin when the store cannot keep up.
 */
#ifndef OB_INGEST_OTLP_GRPC_H
#define OB_INGEST_OTLP_GRPC_H

#include <stdint.h>

#include "ingest/ingest.h"

struct otlp_grpc;
struct net_guard;
struct ingest_metrics;

struct otlp_grpc_options {
	struct net_guard *guard;    /* TLS (ALPN h2) and bearer tokens (net/guard.h), or NULL */
	uint64_t keepalive_ns;      /* ping idle clients after this (60 s); 0: never */
	struct ingest_metrics *metrics;   /* MetricsService/Export; NULL: UNAVAILABLE */
};

void otlp_grpc_options_init(struct otlp_grpc_options *opt);

/* Start the receiver on addr (lim->max_body caps a message as received). */
enum ob_err otlp_grpc_start(struct store *s, const char *addr, const struct ingest_limits *lim,
			    const struct otlp_grpc_options *opt, struct ingest_stats *stats,
			    struct otlp_grpc **out, char bound[64], char *errbuf);
/* GOAWAY, answer the calls in flight, close, free.  NULL is fine. */
void otlp_grpc_stop(struct otlp_grpc *g);

#endif
