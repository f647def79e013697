/*
 * receiver.h - what every HTTP receiver (OTLP/HTTP, Zipkin) is: an HTTP
 * server with its routes, the store it writes to, the request limits and
 * the shared counters.  Each receiver file keeps only its route table and
 * handlers; starting and stopping are here.
 */
#ifndef OB_INGEST_RECEIVER_H
#define OB_INGEST_RECEIVER_H

#include <stdbool.h>
#include <stddef.h>

#include "net/http_server.h"
#include "ingest/ingest.h"

struct ingest_metrics;

struct receiver {
	struct http_server *srv;
	struct store *store;
	struct ingest_metrics *metrics;     /* NULL when the receiver takes no metrics */
	struct ingest_limits lim;
	struct ingest_stats *stats;
};

/*
 * Listen on addr with routes (a const table that outlives the receiver);
 * handlers get the struct receiver as their ctx.  guard (may be NULL)
 * gives TLS and bearer tokens (net/guard.h); name ("otlp-http") is for
 * logs.  *out is the caller's, for receiver_stop.
 */
enum ob_err receiver_start(const struct http_route *routes, size_t nroutes, struct store *s,
			   struct ingest_metrics *metrics,
			   const char *addr, const struct ingest_limits *lim,
			   struct net_guard *guard, const char *name,
			   struct ingest_stats *stats, struct receiver **out, char bound[64],
			   char *errbuf);
/* Stop listening, finish requests in flight, free.  NULL is fine. */
void receiver_stop(struct receiver *r);


#endif
