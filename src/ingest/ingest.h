/*
 * ingest.h - the one path every trace takes into the store.
 *
 * Receivers (OTLP/HTTP now; gRPC and Zipkin later) and `obstui import`
 * hand bytes to ingest_traces(): decode (protobuf or OTLP/JSON) into a
 * per-request arena, build the store batch, submit it and wait until it
 * is durable.  Counters for /metrics live in struct ingest_stats, shared by
 * all receivers of a process.
 */
#ifndef OB_INGEST_H
#define OB_INGEST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "store/store.h"

enum ingest_format { INGEST_PROTOBUF, INGEST_JSON };

struct ingest_limits {
	size_t max_body;         /* as received (16 MiB) */
	size_t max_decoded;      /* after decompression (64 MiB) */
};

void ingest_limits_init(struct ingest_limits *l);

/*
 * Retry-After, in seconds, of a 503: the store is busy (a queue full: soon)
 * or its disk is full (room comes back in minutes, if at all, so senders
 * should not hammer).
 */
#define INGEST_RETRY_BUSY "1"
#define INGEST_RETRY_FULL "10"

/* The Retry-After of a 503 for err (OB_ENOSPC or another). */
static inline const char *
ingest_retry_after(enum ob_err err)
{
	return err == OB_ENOSPC ? INGEST_RETRY_FULL : INGEST_RETRY_BUSY;
}

enum ingest_reject {
	REJECT_INVALID,          /* undecodable or invalid ids */
	REJECT_TOO_BIG,
	REJECT_BUSY,
	REJECT_MEDIA_TYPE,
	REJECT_INTERNAL,
	REJECT__COUNT
};

struct ingest_stats {
	_Atomic uint64_t requests;
	_Atomic uint64_t requests_ok;
	_Atomic uint64_t spans_accepted;
	_Atomic uint64_t bytes_received;
	_Atomic uint64_t rejected_requests[REJECT__COUNT];
	_Atomic uint64_t rejected_spans[REJECT__COUNT];
	/* metrics: remote write and OTLP metrics requests (metrics_ingest.c) */
	_Atomic uint64_t metric_requests;
	_Atomic uint64_t metric_requests_failed;
	_Atomic uint64_t samples_accepted;
	_Atomic uint64_t samples_rejected;
};

extern const char *const ingest_reject_names[REJECT__COUNT];

/*
 * Decode body (already decompressed) and store it durably.  *nspans gets
 * the span count (also when rejected, when it is known).  Errors:
 * OB_EINVAL (bad input, 400), OB_ETOOBIG (413), OB_EBUSY (retry later),
 * anything else (500).
 */
/*
 * Everything ingest_traces does before the store: decode, validate,
 * regroup into a batch (*out, the caller's).  s may be NULL (the fuzzer
 * runs the whole path of a real request this way).
 */
enum ob_err ingest_traces_batch(struct store *s, const uint8_t *body, size_t len,
				enum ingest_format fmt, size_t max_decoded,
				struct store_batch **out, size_t *nspans, char *errbuf);
enum ob_err ingest_traces(struct store *s, const uint8_t *body, size_t len,
			  enum ingest_format fmt, size_t max_decoded, size_t *nspans,
			  char *errbuf);

/* Count one request's outcome in stats. */
/*
 * The counters in Prometheus text format, appended to out (the API's
 * /metrics calls it; the signature fits api_options.metrics_text).
 */
void ingest_stats_write(void *stats, struct ob_buf *out);

void ingest_count(struct ingest_stats *st, enum ob_err err, size_t nspans, size_t bytes);

#endif
