/*
 * remote_write.h - Prometheus remote write 1.0 (and 2.0): request
 * headers, and the protobuf WriteRequest (after snappy, see
 * codec/snappy.h) decoded into a struct series_write (model/series.h).
 * Bytes in, model out, no I/O.
 *
 * The receiver does, in order:
 *
 *	if ((err = remote_write_check_headers(ctype, cenc, version, &proto, errbuf)))
 *		answer 415 (OB_EUNSUPPORTED) with errbuf;
 *	if ((err = ob_unsnappy(body, n, RW_MAX_DECOMPRESSED, &raw, errbuf)))
 *		answer 413 (OB_ETOOBIG) or 400 (OB_EINVAL) with errbuf;
 *	rw_limits_default(&lim);         (or from the configuration)
 *	err = remote_write_decode(raw.data, raw.len, &lim, &arena, &w, &rep, errbuf);
 *	      (remote_write_decode_v2 when proto is RW_PROTO_V2)
 *	OB_EINVAL: 400 with errbuf (nothing in the request is usable);
 *	OB_ETOOBIG: 413 with errbuf (too many series, or the arena's cap);
 *	OB_OK: store w (it may be empty); then 204 when rep.nseries_invalid
 *	       is 0, else 400 with rep.message (the valid series were kept).
 *
 * Policy for a request with bad series (the spec lets a receiver ingest
 * the valid part and answer 400; Prometheus's sender then drops the batch,
 * it never retries a 4xx): each invalid series is left out of w, every
 * valid one is in it, and rep names the FIRST invalid series, its labels
 * written as {a="b",...}, and why.  Malformed protobuf is different: the
 * whole request is refused.
 *
 * What makes a series invalid (the remote write 1.0 spec, which is
 * stricter than Prometheus 2.42's receiver: 2.42 only refuses, through its
 * TSDB, an empty label set and a repeated label name; it does not check
 * order, syntax or UTF-8, and accepts series without __name__):
 *   - labels not sorted by name (byte order), a name given twice, an
 *     empty name;
 *   - a name that does not match [a-zA-Z_][a-zA-Z0-9_]* , or a __name__
 *     value that does not match [a-zA-Z_:][a-zA-Z0-9_:]* ;
 *   - no __name__, or an empty one (the spec says SHOULD; set
 *     lim.allow_no_name to accept such series as Prometheus does);
 *   - a value that is not valid UTF-8;
 *   - more than lim.max_labels labels (counting those with an empty
 *     value, which are otherwise dropped), a name longer than
 *     lim.max_name_len or a value longer than lim.max_value_len bytes;
 *   - a native histogram whose spans and buckets disagree, whose schema
 *     is outside -4..8 (and not -53, custom buckets), or whose absolute
 *     counts come out negative.
 * A label with an empty value is the same as no label (Prometheus drops
 * it) and is left out silently.  Exemplars whose labels break the rules
 * above or pass 128 characters in all (OpenMetrics's limit, which
 * Prometheus applies) are dropped and counted, without failing the series.
 *
 * Decoding goes straight from the wire into the arena: no protobuf-c, no
 * per-sample allocation, nothing interned (the store interns).  Unknown
 * fields are skipped at every level.  Native histograms come out with
 * absolute bucket counts (integer histograms' delta encoding undone).
 * Strings are copied into the arena, NUL-terminated; w and everything it
 * points to live until the arena is reset or released.
 */
#ifndef OB_CODEC_REMOTE_WRITE_H
#define OB_CODEC_REMOTE_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "model/series.h"

/* The decompressed body limit DESIGN.md sets for every receiver. */
#define RW_MAX_DECOMPRESSED (64u << 20)

/* Defaults of struct rw_limits (rw_limits_default). */
#define RW_DEFAULT_MAX_SERIES 1000000   /* per request; more is OB_ETOOBIG */
#define RW_DEFAULT_MAX_LABELS 128       /* per series */
#define RW_DEFAULT_MAX_NAME_LEN 1024    /* bytes of a label name */
#define RW_DEFAULT_MAX_VALUE_LEN 16384  /* bytes of a label value */
#define RW_EXEMPLAR_MAX_RUNES 128       /* label names + values of one exemplar */

struct rw_limits {
	size_t max_series;
	size_t max_labels;
	size_t max_name_len;
	size_t max_value_len;
	bool allow_no_name;     /* accept series without __name__ (Prometheus 2.42 does) */
};

void rw_limits_default(struct rw_limits *lim);

/* What a decode kept and left out; message is "" when nothing was left out. */
struct rw_report {
	size_t nseries;                 /* series kept (as w->nseries) */
	size_t nsamples;                /* float samples kept */
	size_t nhistograms;             /* histogram samples kept */
	size_t nexemplars;              /* exemplars kept */
	size_t nseries_invalid;         /* series left out */
	size_t nsamples_invalid;        /* float + histogram samples in them */
	size_t nexemplars_dropped;      /* exemplars left out (bad labels, too long) */
	/*
	 * The first invalid series and why, for the 400 answer, e.g.
	 * 'series {__name__="up",job="a",job="b"}: label name "job" is repeated'.
	 * Long label sets are cut with "...".
	 */
	char message[OB_ERRLEN];
};

/* The message type a request says it carries (Content-Type's proto=). */
enum rw_proto {
	RW_PROTO_V1 = 1,        /* prometheus.WriteRequest (remote write 1.0) */
	RW_PROTO_V2 = 2,        /* io.prometheus.write.v2.Request */
};

/*
 * Check the headers of a remote write request.  Any of the three may be
 * NULL (not sent).  Accepted: Content-Type application/x-protobuf (any
 * case, optional parameters) with no proto=, proto=prometheus.WriteRequest
 * (1.0) or proto=io.prometheus.write.v2.Request (2.0), or no Content-Type
 * at all (1.0); Content-Encoding snappy, or none (Prometheus 2.42 assumes
 * snappy too).  The version header is informative and not checked.
 * *proto is set to the message the type names: decode RW_PROTO_V1 with
 * remote_write_decode and RW_PROTO_V2 with remote_write_decode_v2.  With
 * proto NULL the caller cannot tell them apart, so 2.0 is then refused.
 * Returns OB_OK, or OB_EUNSUPPORTED (answer 415) with errbuf naming what
 * was sent and what is accepted.
 */
enum ob_err remote_write_check_headers(const char *content_type, const char *content_encoding,
				       const char *version_header, enum rw_proto *proto,
				       char *errbuf);

/*
 * Decode the (already decompressed) WriteRequest p[0..n) into *out, in
 * arena; lim may be NULL for the defaults.  See the top of this file for
 * what is valid and what happens to invalid series; *rep (required) says
 * what was kept and left out.
 *
 * Returns OB_OK (*out holds the valid series, maybe none; check
 * rep->nseries_invalid), or:
 *   OB_EINVAL   the bytes are not a protobuf WriteRequest (errbuf says
 *               where: "timeseries[3].samples[0]: ...");
 *   OB_ETOOBIG  more than lim->max_series series, or the arena's cap.
 * On error *out is empty; what was allocated stays in the arena.
 */
enum ob_err remote_write_decode(const uint8_t *p, size_t n, const struct rw_limits *lim,
				struct ob_arena *arena, struct series_write *out,
				struct rw_report *rep, char *errbuf);

/*
 * The same for a remote write 2.0 Request (symbols table + labels_refs),
 * with the same rules, limits, policy and errors; each series' metadata
 * becomes a series_meta whose family is the series' __name__.  2.0
 * receivers answer with X-Prometheus-Remote-Write-Samples-Written,
 * -Histograms-Written and -Exemplars-Written: rep->nsamples, nhistograms
 * and nexemplars.
 */
enum ob_err remote_write_decode_v2(const uint8_t *p, size_t n, const struct rw_limits *lim,
				   struct ob_arena *arena, struct series_write *out,
				   struct rw_report *rep, char *errbuf);

#endif
