/*
 * zipkin_http.h - the Zipkin v2 receiver (the mapping itself is
 * codec/zipkin.h).
 */
#ifndef OB_INGEST_ZIPKIN_HTTP_H
#define OB_INGEST_ZIPKIN_HTTP_H

#include "ingest/ingest.h"

/*
 * The receiver: POST /api/v2/spans on addr (Content-Encoding gzip or none;
 * as a Zipkin server does, any Content-Type but Thrift's and protobuf's is
 * read as JSON).  202 once the spans are durable;
 * 400 with a text message for bad input, 413 over a limit, 415 for Zipkin
 * v1 or other media types, 503 with Retry-After when the store cannot keep
 * up.  stats is shared with the other receivers and must outlive the
 * receiver; bound gets the real address.
 */
struct receiver;
struct net_guard;

enum ob_err zipkin_http_start(struct store *s, const char *addr, const struct ingest_limits *lim,
			      struct net_guard *guard, struct ingest_stats *stats,
			      struct receiver **out, char bound[64], char *errbuf);
/* Stop it with receiver_stop() (receiver.h). */

#endif
