/*
 * demo.h - traffic from a small microservice shop, sent to obstui's own
 * OTLP/HTTP receiver, for `obstui demo` and the UI's demo mode.
 *
 * The shop (src/demo/shop.c) has seven instrumented services: frontend
 * (HTTP), catalog, cart, checkout and payment (gRPC), and shipping and
 * email, which consume the "orders" Kafka topic that checkout publishes
 * to.  PostgreSQL, Redis, Kafka and two third-party APIs appear as the
 * peers of CLIENT and PRODUCER spans (server.address, peer.service), as
 * they do for real SDKs, which do not instrument the other side.
 * About 2% of the requests fail (a declined card, a Redis timeout in the
 * cart) and about 1% are slow (one PostgreSQL query of 0.5 to 1.5 s).
 *
 * One sender thread, every DEMO_PERIOD_MS, builds the traces due since the
 * last time (in requests of at most 1,000, about 5 MB) and POSTs them as
 * protobuf to http://ADDR/v1/traces on one keep-alive connection, as an
 * SDK's exporter does.  A 503 or 429 is retried after its
 * Retry-After (at most DEMO_ATTEMPTS times); anything else counts as a
 * failed request.  demo_stop lets a request in flight finish for up to a
 * second, then cuts the connection: it returns within about a second.
 *
 *	struct demo_options o;
 *	struct demo *d;
 *	demo_options_init(&o);
 *	o.otlp_http = "127.0.0.1:4318";
 *	if ((err = demo_start(&o, &d, errbuf))) ...
 *	...
 *	demo_stop(d);
 */
#ifndef OB_DEMO_H
#define OB_DEMO_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define DEMO_SERVICES 7
#define DEMO_PERIOD_MS 200      /* one request this often */
#define DEMO_ATTEMPTS 5         /* tries per request, the first included */
#define DEMO_MAX_RATE 10000.0   /* traces per second */
#define DEMO_MAX_TRACES 10000   /* user requests in one demo_build */

struct demo;

struct demo_options {
	const char *otlp_http;      /* "host:port" or "[v6]:port" of the receiver */
	double traces_per_second;   /* user requests per second, > 0; default 5 */
	uint64_t seed;              /* 0: from the clock */
};

struct demo_counts {
	uint64_t traces_sent;       /* acknowledged (HTTP 200), email traces included */
	uint64_t spans_sent;
	uint64_t requests_failed;   /* given up: an error answer, or DEMO_ATTEMPTS busy answers */
};

/* otlp_http 127.0.0.1:4318, 5 traces per second, seed 0. */
void demo_options_init(struct demo_options *o);

/*
 * Start the sender thread.  OB_EINVAL for a bad address or rate (errbuf
 * says which); the receiver need not be up yet: the sender connects when
 * it first sends, and again after a failure.  *out is the caller's, for
 * demo_stop.  The thread inherits the caller's signal mask.
 */
enum ob_err demo_start(const struct demo_options *o, struct demo **out, char *errbuf);

/* Stop the sender (within about a second), join it and free d.  NULL is fine. */
void demo_stop(struct demo *d);

/* What the sender did so far; safe from any thread while d lives. */
void demo_counts_get(struct demo *d, struct demo_counts *out);

/*
 * One ExportTraceServiceRequest, as protobuf, appended to out: the user
 * requests seq .. seq + ntraces - 1 of the stream of this seed, plus the
 * email trace of each order among them.  The traces end, in order, within
 * the DEMO_PERIOD_MS before now_ns.  Request number n is a function of
 * (seed, n) alone, so a stream is the same however it is cut into
 * requests; the bytes depend on (seed, seq, now_ns, ntraces) only.
 * OB_EINVAL when ntraces > DEMO_MAX_TRACES or now_ns is before 10 s;
 * OB_ETOOBIG when out's cap is too small (out unchanged).  ntraces 0 gives
 * an empty request, which is valid.
 */
enum ob_err demo_build(uint64_t seed, uint64_t seq, uint64_t now_ns, size_t ntraces,
		       struct ob_buf *out, char *errbuf);

#endif
