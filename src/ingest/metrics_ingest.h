/*
 * metrics_ingest.h - the one path every metric sample takes into the
 * metrics store: Prometheus remote write (on the OTLP/HTTP port and the
 * API port) and OTLP metrics (OTLP/HTTP and OTLP/gRPC).
 *
 * A receiver hands the request body to ingest_remote_write() or
 * ingest_otlp_metrics(): decode into a per-request arena (codec/),
 * mstore_append(), which returns once the samples are durable; the
 * answer says what happened in the receiver's own terms:
 *
 *	outcome                      remote write          OTLP
 *	everything stored            204                   200, no partial_success
 *	some series/points refused   400 naming the first  200 + partial_success
 *	                             (the rest is stored)  (rejected_data_points)
 *	undecodable                  400                   400 / INVALID_ARGUMENT
 *	over a size limit            413                   413 / RESOURCE_EXHAUSTED
 *	wrong type or encoding       415                   415
 *	store cannot keep up         503 + Retry-After     503 / UNAVAILABLE
 *
 * Overload is never a 4xx: Prometheus drops a batch on a 4xx and retries a
 * 5xx, so a sample is only refused with 400 when it is really bad.
 */
#ifndef OB_INGEST_METRICS_INGEST_H
#define OB_INGEST_METRICS_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/otlp_metrics.h"
#include "codec/remote_write.h"
#include "core/err.h"
#include "ingest/ingest.h"
#include "net/http_server.h"

struct mstore;

/* What the metrics receivers share; made by node.c, outlives them. */
struct ingest_metrics {
	struct mstore *store;
	struct otlp_metrics_state *state;   /* delta -> cumulative, for OTLP */
	struct rw_limits rw;
	struct ingest_limits lim;
	struct ingest_stats *stats;
};

/*
 * What a metrics request came to.  http is the status to answer (200,
 * 204, 400 ...); message says why when it is not a success, or, with
 * partial set, what OTLP's partial_success should carry.
 */
struct ingest_metrics_answer {
	int http;
	int64_t rejected;               /* samples or points not stored */
	size_t accepted;
	bool partial;
	const char *retry_after;        /* of a 503 (INGEST_RETRY_...) */
	bool v2;                        /* remote write 2.0: say what was written */
	size_t samples_written, histograms_written, exemplars_written;
	char message[OB_ERRLEN];
};

/*
 * A remote write request: body as received with its headers (NULL when
 * not sent).
 */
void ingest_remote_write(struct ingest_metrics *im, const uint8_t *body, size_t len,
			 const char *content_type, const char *content_encoding,
			 const char *version, struct ingest_metrics_answer *ans);

/*
 * An OTLP metrics export: body already un-gzipped, protobuf or JSON.
 */
void ingest_otlp_metrics(struct ingest_metrics *im, const uint8_t *body, size_t len,
			 enum ingest_format fmt, struct ingest_metrics_answer *ans);

/*
 * The HTTP handler of POST /api/v1/write, for a route whose ctx is a
 * struct ingest_metrics (the API port's).
 */
void ingest_remote_write_handler(void *ctx, struct http_request *req,
				 struct http_response *resp);

/* Answer a remote write request from ans (also used by otlp_http.c). */
void ingest_remote_write_reply(const struct ingest_metrics_answer *ans,
			       struct http_response *resp);

#endif
